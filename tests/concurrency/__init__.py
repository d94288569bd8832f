"""Races of real processes and connections against one database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import datetime


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


def race(threads: list[threading.Thread], stop: threading.Event, seconds: float) -> None:
    """Run the threads for `seconds`, then tell them to stop and wait for them."""
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racer did not stop"
