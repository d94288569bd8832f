"""Races of real processes and connections against one database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from tests.waiting import PATIENCE, RACE_DEADLINE, wait_until


def max_concurrent(rows: Iterable[tuple[datetime, datetime | None]]) -> int:
    """The most sessions ever open at once in a recorded history of (start, end) pairs.

    Ends sort before starts at the same instant: touching sessions do not overlap.
    """
    rows = list(rows)
    events = sorted([(start, 1) for start, _ in rows] + [(end, -1) for _, end in rows if end])
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def race(
    threads: list[threading.Thread],
    stop: threading.Event,
    *,
    done: Callable[[], bool],
    work: Callable[[], object],
    deadline: float = RACE_DEADLINE,
) -> float:
    """Run the threads until `done()`: until they have done the work that proves the
    race's point, however long a busy machine makes that take (up to `deadline` seconds).
    Then tell them to stop and wait for them; returns the seconds the race took.

    A racer that ends before it is told to (it failed) ends the race at once: the
    caller's assertions say what went wrong. `work()` describes the work done so far,
    for the message when the deadline passes first.
    """
    began = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        wait_until(
            lambda: done() or not all(t.is_alive() for t in threads),
            "the race to do its work",
            timeout=deadline,
            interval=0.05,
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; done so far: {work()}") from None
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=PATIENCE)
    assert not any(t.is_alive() for t in threads), "a racer did not stop"
    return time.monotonic() - began
