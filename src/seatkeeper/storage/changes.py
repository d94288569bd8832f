"""The change feed: which accounts changed, so that every instance can push to its pages.

On PostgreSQL a change is a NOTIFY, delivered to every instance that LISTENs when the
transaction commits. On SQLite (one machine, any number of processes) a change is a
row in account_changes that every instance polls: SQLite commits one writer at a time,
so the ids appear in order and none is missed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, text

from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import account_changes

log = logging.getLogger("seatkeeper.changes")
CHANNEL = "seatkeeper_changes"
POLL_SECONDS = 0.25
KEEP = timedelta(minutes=5)  # how long SQLite keeps change rows for slow followers
RETRY_SECONDS = 2.0


def changed(conn: Connection, account_id: int, *, at: datetime) -> None:
    """Announce, with the transaction's commit, that something in the account changed."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_notify(:channel, :account)"),
            {"channel": CHANNEL, "account": str(account_id)},
        )
    else:
        conn.execute(insert(account_changes).values(account_id=account_id, at=at))


def follow(
    db: Database,
    on_change: Callable[[int], None],
    stop: threading.Event,
    *,
    now: Callable[[], datetime],
    ready: threading.Event | None = None,
) -> None:
    """Call `on_change(account_id)` for every change any instance makes, until `stop` is set.

    `ready` is set once changes are followed: every change committed after that is reported.
    """
    ready = ready or threading.Event()
    while not stop.is_set():
        try:
            if db.engine.dialect.name == "postgresql":
                _listen(db, on_change, stop, ready)
            else:
                _poll(db, on_change, stop, now, ready)
        except Exception:  # the feed must outlive a database restart: retry
            log.exception("The change feed failed; retrying in %.0f s", RETRY_SECONDS)
            stop.wait(RETRY_SECONDS)


def _listen(
    db: Database, on_change: Callable[[int], None], stop: threading.Event, ready: threading.Event
) -> None:
    import psycopg  # only installations on PostgreSQL have it

    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        ready.set()
        while not stop.is_set():
            for note in conn.notifies(timeout=0.5):
                on_change(int(note.payload))


def _poll(
    db: Database,
    on_change: Callable[[int], None],
    stop: threading.Event,
    now: Callable[[], datetime],
    ready: threading.Event,
) -> None:
    with db.read() as conn:
        last = conn.execute(select(func.coalesce(func.max(account_changes.c.id), 0))).scalar_one()
    ready.set()
    pruned_at = now()
    while not stop.wait(POLL_SECONDS):
        with db.read() as conn:
            rows = conn.execute(
                select(account_changes.c.account_id, func.max(account_changes.c.id))
                .where(account_changes.c.id > last)
                .group_by(account_changes.c.account_id)
            ).all()
        for account_id, newest in rows:
            last = max(last, newest)
            on_change(account_id)
        if now() - pruned_at > KEEP:
            pruned_at = now()
            with db.write() as conn:
                conn.execute(delete(account_changes).where(account_changes.c.at < pruned_at - KEEP))
