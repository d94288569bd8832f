"""The heartbeat's fast path: the two statements every heartbeat runs, straight through
the driver.

Through SQLAlchemy's execution the read cost more than all the rest of a heartbeat
(bench/RESULTS.md), so each statement is written with SQLAlchemy, compiled once for the
dialect, and run on the driver's cursor; its values are converted by the columns' own
types (the same conversions SQLAlchemy applies), so the rows read and written here are
exactly those the rest of seatkeeper reads and writes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Connection, Dialect, bindparam, select, update
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from seatkeeper.storage.tables import agent_sessions

_s = agent_sessions.c
Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement in the dialect's own SQL, and how to hand it values."""

    sql: str
    order: tuple[str, ...] | None  # parameter names in order, for positional styles
    binds: Mapping[str, Convert]  # each parameter's conversion to what the driver takes

    @classmethod
    def of(cls, statement: ClauseElement, dialect: Dialect) -> _Compiled:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        binds = {
            name: param.type.dialect_impl(dialect).bind_processor(dialect) or _identity
            for name, param in compiled.binds.items()
        }
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        return cls(str(compiled), order, binds)

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        converted = {name: self.binds[name](value) for name, value in values.items()}
        return converted if self.order is None else [converted[name] for name in self.order]


@lru_cache(maxsize=8)
def _state_columns(dialect: Dialect) -> tuple[Convert, Convert, Convert]:
    """How the states' columns come back from the driver, as SQLAlchemy would read them."""
    id_, ended_at, expires_at = (
        column.type.dialect_impl(dialect).result_processor(dialect, None) or _identity
        for column in (_s.id, _s.ended_at, _s.expires_at)
    )
    return id_, ended_at, expires_at


@lru_cache(maxsize=256)
def _states(dialect: Dialect, count: int) -> _Compiled:
    ids = [bindparam(f"id{n}", type_=_s.id.type) for n in range(count)]
    return _Compiled.of(select(_s.id, _s.ended_at, _s.expires_at).where(_s.id.in_(ids)), dialect)


@lru_cache(maxsize=8)
def _activity(dialect: Dialect) -> _Compiled:
    at = bindparam("at", type_=_s.last_activity_at.type)
    return _Compiled.of(
        update(agent_sessions)
        .where(
            _s.id == bindparam("sid", type_=_s.id.type),
            _s.ended_at.is_(None),
            _s.expires_at > at,
            _s.last_activity_at < at,
        )
        .values(last_activity_at=at, expires_at=bindparam("until", type_=_s.expires_at.type)),
        dialect,
    )


def session_states(
    conn: Connection, session_ids: Collection[UUID]
) -> dict[UUID, tuple[datetime | None, datetime]]:
    """Sessions' (ended_at, expires_at), read without a lock; unknown ids are left out."""
    dialect = conn.dialect
    statement = _states(dialect, len(session_ids))
    values = {f"id{n}": session_id for n, session_id in enumerate(session_ids)}
    session_id, ended_at, expires_at = _state_columns(dialect)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement.sql, statement.parameters(values))
        return {
            session_id(i): (ended_at(ended), expires_at(expires))
            for i, ended, expires in cursor.fetchall()
        }
    finally:
        cursor.close()


def record_activity(conn: Connection, beats: Sequence[tuple[UUID, datetime, datetime]]) -> None:
    """Heartbeats written together: (session, when, new expiry) each.

    A session that ended meanwhile, or had expired by the heartbeat's time, is left as
    it is; activity never moves back. These are the most frequent writes of all.
    """
    statement = _activity(conn.dialect)
    rows: list[Any] = [
        statement.parameters({"sid": sid, "at": at, "until": until}) for sid, at, until in beats
    ]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(statement.sql, rows)
    finally:
        cursor.close()
