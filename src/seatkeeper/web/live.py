"""Live updates: each instance follows the change feed and pushes to the pages it serves."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence

import anyio

from seatkeeper.clock import Clock
from seatkeeper.domain.events import Event
from seatkeeper.services import feed
from seatkeeper.storage.db import Database

READY_SECONDS = 10.0


class Hub:
    """Who is watching which account on this instance, and a nudge when it changes."""

    def __init__(self) -> None:
        self._watchers: dict[int, set[asyncio.Queue[None]]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, account_id: int) -> None:
        """Tell the account's watchers something changed (callable from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._nudge, account_id)

    def publish_events(self, events: Sequence[Event]) -> None:
        """Tell the watchers of every account these writes changed (from any thread)."""
        for account_id in {event.account_id for event in events}:
            self.publish(account_id)

    def publish_all(self) -> None:
        """Tell every watcher to refresh (changes may have been missed)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._nudge_all)

    def _nudge_all(self) -> None:
        for account_id in list(self._watchers):
            self._nudge(account_id)

    def _nudge(self, account_id: int) -> None:
        for queue in self._watchers.get(account_id, ()):
            if queue.empty():  # one pending nudge says it all
                queue.put_nowait(None)

    @contextlib.contextmanager
    def watch(self, account_id: int) -> Iterator[asyncio.Queue[None]]:
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self._watchers[account_id].add(queue)
        try:
            yield queue
        finally:
            self._watchers[account_id].discard(queue)
            if not self._watchers[account_id]:
                del self._watchers[account_id]


@contextlib.asynccontextmanager
async def following(db: Database, clock: Clock, hub: Hub) -> AsyncIterator[None]:
    """Follow the change feed from startup to shutdown, telling `hub` of every change."""
    hub.attach(asyncio.get_running_loop())
    stop, ready = threading.Event(), threading.Event()
    follower = threading.Thread(
        target=feed.follow,
        args=(db, hub.publish, stop),
        kwargs={"now": clock.now, "on_resync": hub.publish_all, "ready": ready},
        name="seatkeeper-change-feed",
        daemon=True,
    )
    follower.start()
    # Pages served from now on hear of every change (unless the database is down).
    await anyio.to_thread.run_sync(ready.wait, READY_SECONDS)
    try:
        yield
    finally:
        stop.set()
        await anyio.to_thread.run_sync(follower.join, 5)
