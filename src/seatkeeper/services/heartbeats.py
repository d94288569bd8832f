"""Heartbeats at the rate thousands of agents send them.

A heartbeat must say at once whether its session is still open (a termination on any
instance is answered 410 at once), but it changes nothing anyone reads for a while: a
session whose expiry is minutes away stays open either way. So a heartbeat reads its
session's row (no lock), answers, and the new activity is written with the others in
one transaction a moment later. A session near its expiry, or one that ended, goes
through the full path (agents.heartbeat), which writes (or refuses) at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, TypeVar
from uuid import UUID

from sqlalchemy import Connection

from seatkeeper.clock import Clock
from seatkeeper.domain import pool
from seatkeeper.domain.errors import DomainError, InvalidToken, SessionNotFound
from seatkeeper.services import agents
from seatkeeper.services.secrets import token_hash
from seatkeeper.storage import heartbeats as stored_heartbeats
from seatkeeper.storage import sessions
from seatkeeper.storage.db import Database

log = logging.getLogger("seatkeeper.heartbeats")
T = TypeVar("T")
MARGIN = timedelta(minutes=1)  # closer to its expiry than this, a heartbeat writes at once
CACHE_SIZE = 100_000  # tokens remembered (what a token opens never changes)


@dataclass(frozen=True, slots=True)
class _Known:
    session_id: UUID
    key: str  # the id as written in addresses
    timeout: timedelta


class Beat(NamedTuple):
    session_id: UUID
    expires_at: datetime  # the session's new expiry


class Heartbeats:
    """Heartbeats for one server process; `batch_seconds` 0 writes each one at once."""

    def __init__(self, db: Database, clock: Clock, *, batch_seconds: float) -> None:
        self.db = db
        self.clock = clock
        self.batch_seconds = batch_seconds
        self._tokens: dict[str, _Known] = {}
        self._pending: dict[UUID, tuple[datetime, datetime]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self._read_lock = threading.Lock()
        self._conn: Connection | None = None

    def beat(self, token: str, session_id: str) -> Beat:
        """Record activity for the token's session (or refuse)."""
        (answer,) = self.quick_beats([(token, session_id)])
        if isinstance(answer, DomainError):
            raise answer
        return answer if answer is not None else self.full_beat(token, session_id)

    def quick_beats(self, calls: Sequence[tuple[str, str]]) -> list[Beat | DomainError | None]:
        """Heartbeats (token, session id) answered from one quick read of all their sessions.

        Each is answered with a Beat (written with the others a moment later), with the
        refusal to raise, or with None: then `full_beat` must answer it (the session
        ended, or is close to its expiry). Takes no lock any other call holds for long.
        """
        found = [self._known(token, session_id) for token, session_id in calls]
        if not self.batch_seconds:
            return [k if isinstance(k, DomainError) else None for k in found]
        ids = {k.session_id for k in found if isinstance(k, _Known)}
        states = self._read(lambda conn: stored_heartbeats.session_states(conn, ids)) if ids else {}
        now = self.clock.now()
        answers: list[Beat | DomainError | None] = []
        with self._lock:
            for known in found:
                if isinstance(known, DomainError):
                    answers.append(known)
                    continue
                state = states.get(known.session_id)
                if state is None or state[0] is not None or state[1] - now <= MARGIN:
                    answers.append(None)  # ended, or close to its expiry: written at once
                    continue
                expires_at = pool.expiry(now, known.timeout)
                self._pending[known.session_id] = (now, expires_at)
                answers.append(Beat(known.session_id, expires_at))
        return answers

    def full_beat(self, token: str, session_id: str) -> Beat:
        """A heartbeat written at once, under the session's lock."""
        expires_at = agents.heartbeat(self.db, token=token, session_id=session_id, clock=self.clock)
        return Beat(UUID(session_id), expires_at)

    def _known(self, token: str, session_id: str) -> _Known | DomainError:
        """What the token opens, if it opens this session; else the refusal."""
        key = token_hash(token)
        known = self._tokens.get(key)  # a plain read: the dict changes only under the lock
        if known is None:
            found = self._read(lambda conn: sessions.session_by_token(conn, key))
            if found is None:
                return InvalidToken()
            known = _Known(found[0].id, str(found[0].id), found[1])
            with self._lock:
                self._tokens[key] = known
                if len(self._tokens) > CACHE_SIZE:  # the oldest remembered goes first
                    del self._tokens[next(iter(self._tokens))]
        if session_id != known.key and _normal(session_id) != known.key:
            return SessionNotFound()
        return known

    def _read(self, read: Callable[[Connection], T]) -> T:
        """`read` on the connection kept for quick reads (taking one from the pool for each
        would cost as much as the read). A connection that fails (the database restarted,
        say) is dropped and the read tried once more on a new one: the quick reads go
        straight to the driver, so nothing else would notice it is dead."""
        with self._read_lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed or self._conn.invalidated:
                    self._conn = self.db.reader()
                try:
                    return read(self._conn)
                except Exception:
                    self._conn.invalidate()
                    self._conn = None
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

    def flush(self) -> int:
        """Write the heartbeats received so far; returns how many sessions were touched."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        # In session id order, the order terminations lock in: the two cannot deadlock.
        beats = sorted((sid, now, expires) for sid, (now, expires) in pending.items())
        try:
            with self.db.write() as conn:
                stored_heartbeats.record_activity(conn, beats)
        except Exception:
            with self._lock:  # kept for the next batch, unless a newer beat came meanwhile
                for sid, beat in pending.items():
                    if sid not in self._pending or self._pending[sid][0] < beat[0]:
                        self._pending[sid] = beat
            raise
        return len(pending)

    def start(self) -> None:
        if self.batch_seconds and self._writer is None:
            self._writer = threading.Thread(
                target=self._run, name="seatkeeper-heartbeats", daemon=True
            )
            self._writer.start()

    def stop(self) -> None:
        self._stop.set()
        if self._writer is not None:
            self._writer.join(5)
        self.flush()
        with self._read_lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _run(self) -> None:
        while not self._stop.wait(self.batch_seconds):
            try:
                self.flush()
            except Exception:  # a busy or restarting database: try again next time
                log.exception("Heartbeats could not be written; trying again")


def _normal(session_id: str) -> str | None:
    try:
        return str(UUID(session_id))
    except ValueError:
        return None
