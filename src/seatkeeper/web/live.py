"""Live updates: each instance follows the change feed and pushes to the pages it serves,
and sweeps timed-out sessions now and then."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator

import anyio
from litestar import Litestar

from seatkeeper.services import alerts, expiry, feed, history, webhooks
from seatkeeper.web.deps import Runtime

log = logging.getLogger("seatkeeper.live")
READY_SECONDS = 10.0
WEBHOOK_SECONDS = 1.0


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
async def running(app: Litestar) -> AsyncIterator[None]:
    """The instance's background work, from startup to shutdown."""
    runtime: Runtime = app.state.runtime
    hub: Hub = app.state.hub
    hub.attach(asyncio.get_running_loop())
    stop, ready = threading.Event(), threading.Event()
    follower = threading.Thread(
        target=feed.follow,
        args=(runtime.db, hub.publish, stop),
        kwargs={"now": runtime.clock.now, "on_resync": hub.publish_all, "ready": ready},
        name="seatkeeper-change-feed",
        daemon=True,
    )
    follower.start()
    # Pages served from now on hear of every change (unless the database is down).
    await anyio.to_thread.run_sync(ready.wait, READY_SECONDS)
    sweeper = (
        asyncio.create_task(_sweep(runtime, runtime.sweep_seconds))
        if runtime.sweep_seconds
        else None
    )
    runtime.heartbeats.start()
    sender = asyncio.create_task(_send_webhooks(runtime)) if runtime.sweep_seconds else None
    try:
        yield
    finally:
        if sender is not None:
            sender.cancel()
        await anyio.to_thread.run_sync(runtime.heartbeats.stop)  # nothing received is lost
        stop.set()
        if sweeper is not None:
            sweeper.cancel()
        await anyio.to_thread.run_sync(follower.join, 5)


async def _sweep(runtime: Runtime, seconds: float) -> None:
    """End timed-out sessions every `seconds`, clear (or raise) capacity alerts as use
    has moved, and keep the usage days of accounts that have none kept lately; every
    instance may do so at once."""
    while True:
        await asyncio.sleep(seconds)
        try:
            ended = await anyio.to_thread.run_sync(
                lambda: expiry.sweep_expired(runtime.db, now=runtime.clock.now())
            )
            if ended:
                log.info("Recorded %d timed-out sessions", ended)
            await anyio.to_thread.run_sync(lambda: alerts.evaluate(runtime.db, runtime.clock.now()))
            warmed = await anyio.to_thread.run_sync(
                lambda: history.warm(runtime.db, runtime.clock.now())
            )
            if warmed:
                log.info("Kept the usage days of %d accounts", warmed)
        except Exception:
            log.exception("The timeout sweep failed; it will run again")


async def _send_webhooks(runtime: Runtime) -> None:
    """Send the webhook deliveries that are due, every second; any instance may."""
    while True:
        await asyncio.sleep(WEBHOOK_SECONDS)
        try:
            await anyio.to_thread.run_sync(
                lambda: webhooks.deliver_due(runtime.db, runtime.clock.now())
            )
        except Exception:
            log.exception("Sending webhooks failed; they will be tried again")
