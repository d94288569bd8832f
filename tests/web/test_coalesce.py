"""Calls that go to the database together (the heartbeat's read)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from seatkeeper.web.coalesce import MAX_BATCH, Coalesced
from tests.waiting import PATIENCE

T = TypeVar("T")


def on_own_loop(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `scenario` on an event loop of its own, in a thread of its own (a browser test
    before it in this process may have left an event loop running in this one)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, scenario()).result()


async def until(event: threading.Event) -> None:
    """Until another thread sets `event`, the event loop running on meanwhile."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while not event.is_set():
        assert asyncio.get_running_loop().time() < deadline, "gave up waiting"
        await asyncio.sleep(0.01)


class Recorder:
    """A blocking `run` that records its batches; the first one says it is running
    (`entered`) and waits for a signal (`release`)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.threads: set[int] = set()

    def run(self, items: Sequence[int]) -> list[int | Exception]:
        self.threads.add(threading.get_ident())
        if not self.batches:
            self.entered.set()
            assert self.release.wait(PATIENCE)
        self.batches.append(list(items))
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


def test_calls_arriving_while_a_batch_runs_go_together_and_get_their_own_answers() -> None:
    recorder = Recorder()
    coalesced: Coalesced[int, int] = Coalesced(recorder.run)

    loop_thread = 0

    async def scenario() -> list[int | BaseException]:
        nonlocal loop_thread
        loop_thread = threading.get_ident()
        first = asyncio.ensure_future(coalesced(0))
        await until(recorder.entered)  # the first batch is in its thread, waiting
        rest = [asyncio.ensure_future(coalesced(i)) for i in range(1, 8)]
        await asyncio.sleep(0)  # the calls, scheduled before this task's next step, arrive
        recorder.release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    answers = on_own_loop(scenario)
    assert recorder.batches == [[0], [1, 2, 3, 4, 5, 6, 7]]
    assert loop_thread not in recorder.threads  # never on the event loop
    for i, answer in enumerate(answers):
        if i % 2:
            assert isinstance(answer, ValueError) and str(answer) == f"odd {i}"
        else:
            assert answer == i * 10


def test_a_batch_is_never_larger_than_the_limit() -> None:
    recorder = Recorder()
    recorder.release.set()
    coalesced: Coalesced[int, int] = Coalesced(recorder.run)

    async def scenario() -> list[int | BaseException]:
        calls = [coalesced(2 * i) for i in range(MAX_BATCH * 2 + 1)]
        return await asyncio.gather(*calls)

    answers = on_own_loop(scenario)
    assert answers == [20 * i for i in range(MAX_BATCH * 2 + 1)]
    assert [len(b) for b in recorder.batches] == [MAX_BATCH, MAX_BATCH, 1]


def test_a_failing_batch_fails_each_of_its_calls_and_the_next_ones_still_run() -> None:
    calls = 0

    def run(items: Sequence[int]) -> list[int | Exception]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("the database went away")
        return list(items)

    coalesced: Coalesced[int, int] = Coalesced(run)

    async def scenario() -> tuple[tuple[int | BaseException, ...], int]:
        failed = await asyncio.gather(coalesced(1), coalesced(2), return_exceptions=True)
        return failed, await coalesced(3)

    failed, later = on_own_loop(scenario)
    assert [type(f) for f in failed] == [ConnectionError, ConnectionError]
    assert later == 3


def test_a_cancelled_call_does_not_disturb_the_others() -> None:
    recorder = Recorder()
    coalesced: Coalesced[int, int] = Coalesced(recorder.run)

    async def scenario() -> int:
        first = asyncio.ensure_future(coalesced(0))
        await until(recorder.entered)
        gone, kept = asyncio.ensure_future(coalesced(2)), asyncio.ensure_future(coalesced(4))
        await asyncio.sleep(0)
        gone.cancel()
        recorder.release.set()
        await first
        with pytest.raises(asyncio.CancelledError):
            await gone
        return await kept

    assert on_own_loop(scenario) == 40
