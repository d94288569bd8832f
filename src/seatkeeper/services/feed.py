"""Following the change feed: every instance hears of changes made on any instance."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from seatkeeper.storage import changes
from seatkeeper.storage.db import Database

log = logging.getLogger("seatkeeper.feed")
POLL_SECONDS = 0.1  # SQLite: how soon another process's change is heard (a read of an index)
KEEP = timedelta(minutes=5)  # how long SQLite keeps change rows for slow followers
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)


def follow(
    db: Database,
    on_change: Callable[[int], None],
    stop: threading.Event,
    *,
    now: Callable[[], datetime],
    on_resync: Callable[[], None] = lambda: None,
    ready: threading.Event | None = None,
) -> None:
    """Call `on_change(account_id)` for every change any instance makes, until `stop` is set.

    `ready` is set once changes are followed: every change committed after that is
    reported. After the feed was interrupted (a database restart, a lost connection),
    `on_resync()` is called once it is followed again: whatever changed meanwhile was
    not reported, so everything watched must be refreshed.
    """
    ready = ready or threading.Event()
    failures = 0
    position: list[int] = []  # SQLite: the last change row seen, kept across failures

    def listening() -> None:
        nonlocal failures
        if failures:
            log.warning("The change feed is back after %d failed attempts", failures)
            on_resync()
        failures = 0
        ready.set()

    while not stop.is_set():
        try:
            if db.engine.dialect.name == "postgresql":
                changes.listen(db, on_change, stop, listening=listening)
            else:
                _poll(db, on_change, stop, now=now, position=position, listening=listening)
        except Exception as exc:  # the feed must outlive a database restart: retry
            wait = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
            (log.exception if failures == 0 else log.warning)(
                "The change feed stopped (%s); trying again in %.0f s", exc, wait
            )
            failures += 1
            stop.wait(wait)


def _poll(
    db: Database,
    on_change: Callable[[int], None],
    stop: threading.Event,
    *,
    now: Callable[[], datetime],
    position: list[int],
    listening: Callable[[], None],
) -> None:
    if not position:
        with db.read() as conn:
            position.append(changes.latest_change(conn))
    listening()
    pruned_at = now()
    while not stop.wait(POLL_SECONDS):
        with db.read() as conn:
            accounts, position[0] = changes.changes_since(conn, position[0])
        for account_id in accounts:
            on_change(account_id)
        if now() - pruned_at > KEEP:
            pruned_at = now()
            with db.write() as conn:
                changes.prune_changes(conn, before=pruned_at - KEEP)
