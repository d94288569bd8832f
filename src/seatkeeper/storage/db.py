"""Engines and transactions. SQLite gets WAL and a real write lock; PostgreSQL works as is."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from seatkeeper.domain.events import Event
from seatkeeper.storage import changes, unit, waits
from seatkeeper.storage.usage import forget_usage

_WRITE = "seatkeeper_write"
_PEEK = "seatkeeper_peek"
SQLITE_BUSY_TIMEOUT_MS = 30_000
ANALYSIS_LIMIT = 1000  # rows of each index ANALYZE reads on SQLite: a sample, SQLite's advice
log = logging.getLogger("seatkeeper.db")


class Database:
    """One engine and the two kinds of transaction the services run in."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Told what each write transaction did once it has committed (the metrics).
        self.after_commit: Callable[[Sequence[Event]], None] = lambda _events: None
        self.engine = make_engine(url)
        # SQLite lets one writer in at a time; the others wait in its busy handler,
        # which sleeps in growing steps (up to 100 ms) and lets no one queue. Writers of
        # this process queue here instead and go in the moment the last one commits;
        # other processes still meet at the file lock.
        self._writers = threading.Lock() if self.is_sqlite else nullcontext()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that holds the write lock from its first statement (commits on exit).

        What storage records on its unit is announced and settled before COMMIT, and
        handed to `after_commit` once COMMIT has returned (a rollback hands nothing).
        """
        with self._writers, self.engine.connect() as conn:
            writer = conn.execution_options(**{_WRITE: True})
            with writer.begin():
                done = unit.begin(writer)
                yield writer
                _settle(writer, done)
        if done.events:
            try:
                self.after_commit(done.events)
            except Exception:  # the change is made: counting it must not undo the answer
                log.exception("What a committed transaction did could not be counted")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction; on SQLite it never blocks writers."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def reader(self) -> Connection:
        """A connection for quick reads outside any transaction, kept by its caller."""
        return self.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT", **{_PEEK: True}
        )

    def refresh_statistics(self) -> int:
        """On SQLite, ANALYZE from a sample of each index (milliseconds, whatever the size),
        so that the planner knows the tables as they have grown; how many tables it knows.
        PostgreSQL's autovacuum does this itself: nothing is done there (0)."""
        if not self.is_sqlite:
            return 0
        with self.write() as conn:
            conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            conn.exec_driver_sql("ANALYZE")
            known: int = conn.exec_driver_sql(
                "SELECT count(DISTINCT tbl) FROM sqlite_stat1"
            ).scalar_one()
        return known

    def dispose(self) -> None:
        self.engine.dispose()


def _settle(conn: Connection, done: unit.Unit) -> None:
    """Inside the transaction: a license it freed goes to the first in line who may hold
    it, pages hear of the change with its commit, and kept usage days that it makes
    wrong are dropped."""
    for account_id, (at, freed_at) in done.freeing().items():
        waits.settle_line(conn, account_id, at, freed_at)
    for account_id, at in done.announced().items():
        changes.changed(conn, account_id, at=at)
    for account_id, since in done.stale_days().items():
        forget_usage(conn, account_id, since=since)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their folder, WAL mode and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True
        )
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArgumentError(f"cannot create the folder {folder}: {exc.strerror}") from exc
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=10,
        max_overflow=20,
        hide_parameters=True,  # errors are logged: never with tokens' hashes or passwords'
    )
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 would issue its own deferred BEGIN; we issue ours in _sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # BEGIN IMMEDIATE takes the database's write lock at once, so a check-and-insert
    # (the seat claim) cannot interleave with another writer in any process.
    options = conn.get_execution_options()
    if options.get(_PEEK):
        return  # one statement, which SQLite runs in a transaction of its own
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE) else "BEGIN")
