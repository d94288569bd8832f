"""Calls that go to the database together: one thread hop and one query for many requests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

import anyio

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 500


class Coalesced(Generic[T, R]):
    """`await coalesced(item)` answers one item of `run(items)`, a blocking function run
    in a worker thread.

    While a batch is in the thread, the calls arriving wait together and go in the next
    one, so under load each batch carries many calls (as a group commit does), and when
    calls are few each goes almost alone. The event loop never waits on the database.
    `run` answers each item with a result or with the exception to raise for it.
    """

    def __init__(self, run: Callable[[Sequence[T]], Sequence[R | Exception]]) -> None:
        self._run = run
        self._queues: WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[T, R]] = (
            WeakKeyDictionary()
        )

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue(self._run)
        return await queue.put(loop, item)


class _Queue(Generic[T, R]):
    """The calls waiting on one event loop, and the task taking them to the thread."""

    def __init__(self, run: Callable[[Sequence[T]], Sequence[R | Exception]]) -> None:
        self.run = run
        self.waiting: list[tuple[T, asyncio.Future[R]]] = []
        self.drain: asyncio.Task[None] | None = None

    def put(self, loop: asyncio.AbstractEventLoop, item: T) -> asyncio.Future[R]:
        future: asyncio.Future[R] = loop.create_future()
        self.waiting.append((item, future))
        if self.drain is None:
            self.drain = loop.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
                try:
                    answers = await anyio.to_thread.run_sync(self.run, [item for item, _ in batch])
                except Exception as exc:  # the database is down, say: every call hears it
                    answers = [exc] * len(batch)
                for (_, future), answer in zip(batch, answers, strict=True):
                    if future.done():  # its request was cancelled meanwhile
                        continue
                    if isinstance(answer, Exception):
                        future.set_exception(answer)
                    else:
                        future.set_result(answer)
        finally:
            self.drain = None
