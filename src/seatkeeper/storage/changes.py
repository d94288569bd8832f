"""The change feed's storage: which accounts changed, so every instance can push to its pages.

On PostgreSQL a change is a NOTIFY, delivered to every instance that LISTENs when the
transaction commits. On SQLite (one machine, any number of processes) a change is a
row in account_changes that every instance polls: SQLite commits one writer at a time,
so the ids appear in order and none is missed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, func, insert, select, text

from seatkeeper.storage.tables import account_changes

if TYPE_CHECKING:
    from seatkeeper.storage.db import Database

CHANNEL = "seatkeeper_changes"
LISTENER = "seatkeeper-change-feed"  # the application_name of the LISTEN connections
PING_SECONDS = 30.0  # a silent LISTEN connection is checked this often
WAKE_SECONDS = 0.5


def changed(conn: Connection, account_id: int, *, at: datetime) -> None:
    """Announce, with the transaction's commit, that something in the account changed."""
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY, {"channel": CHANNEL, "account": str(account_id)})
    else:
        conn.execute(_INSERT, {"account_id": account_id, "at": at})


# Built once: every write transaction runs one.
_NOTIFY = text("SELECT pg_notify(:channel, :account)")
_INSERT = insert(account_changes)


def latest_change(conn: Connection) -> int:
    """The id of the newest change row (SQLite's feed), 0 when there is none."""
    latest: int = conn.execute(
        select(func.coalesce(func.max(account_changes.c.id), 0))
    ).scalar_one()
    return latest


def changes_since(conn: Connection, last: int) -> tuple[set[int], int]:
    """The accounts changed after change `last`, and the newest change's id."""
    rows = conn.execute(
        select(account_changes.c.account_id, func.max(account_changes.c.id))
        .where(account_changes.c.id > last)
        .group_by(account_changes.c.account_id)
    ).all()
    return {account for account, _ in rows}, max((newest for _, newest in rows), default=last)


def prune_changes(conn: Connection, *, before: datetime) -> None:
    """Forget change rows older than any follower still needs."""
    conn.execute(delete(account_changes).where(account_changes.c.at < before))


def listen(
    db: Database,
    on_change: Callable[[int], None],
    stop: threading.Event,
    *,
    listening: Callable[[], None],
) -> None:
    """Report PostgreSQL's notifications until `stop` is set (or the connection fails).

    `listening` is called once notifications are being received.
    """
    import psycopg  # only installations on PostgreSQL have it

    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    # Keepalives and a timeout: a connection lost in a failover must fail, not hang.
    with psycopg.connect(
        url,
        autocommit=True,
        connect_timeout=10,
        keepalives=1,
        keepalives_idle=30,
        keepalives_interval=10,
        keepalives_count=3,
        application_name=LISTENER,
    ) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        listening()
        pinged = time.monotonic()
        while not stop.is_set():
            for note in conn.notifies(timeout=WAKE_SECONDS):  # wakes up to notice `stop`
                on_change(int(note.payload))
            if time.monotonic() - pinged > PING_SECONDS:
                conn.execute("SELECT 1")  # raises if the connection is gone
                pinged = time.monotonic()
