"""The heartbeat's fast path, straight through the driver."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import (
    Connection,
)


def session_states(
    conn: Connection, session_ids: Collection[UUID]
) -> dict[UUID, tuple[datetime | None, datetime]]:
    """Sessions' (ended_at, expires_at), read without a lock; unknown ids are left out.

    Every heartbeat runs this read, so it goes straight to the driver: through
    SQLAlchemy it cost more than all the rest of the heartbeat (bench/RESULTS.md).
    """
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "sqlite":  # ids are stored as 32 hex digits, times as text
            marks = ", ".join("?" * len(session_ids))
            cursor.execute(f"{_STATES_SQL} IN ({marks})", [i.hex for i in session_ids])
            return {
                UUID(hex=i): (_sqlite_time(ended), _utc(_sqlite_time(expires)))
                for i, ended, expires in cursor.fetchall()
            }
        cursor.execute(f"{_STATES_SQL} = ANY(%s)", (list(session_ids),))
        return {
            i: (ended and _utc(ended), _utc(expires)) for i, ended, expires in cursor.fetchall()
        }
    finally:
        cursor.close()


_STATES_SQL = "SELECT id, ended_at, expires_at FROM agent_sessions WHERE id"


def _sqlite_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _utc(at: datetime | None) -> datetime:
    assert at is not None
    return at.astimezone(UTC)


def record_activity(conn: Connection, beats: Sequence[tuple[UUID, datetime, datetime]]) -> None:
    """Heartbeats written together: (session, when, new expiry) each.

    A session that ended meanwhile, or had expired by the heartbeat's time, is left as
    it is; activity never moves back. Written straight through the driver, like the
    heartbeat's read: these are the most frequent writes of all.
    """
    sql = (
        "UPDATE agent_sessions SET last_activity_at = %(at)s, expires_at = %(until)s"
        " WHERE id = %(sid)s AND ended_at IS NULL AND expires_at > %(at)s"
        " AND last_activity_at < %(at)s"
    )
    rows: list[dict[str, object]]
    if conn.dialect.name == "sqlite":  # its own parameter style, ids and times as text
        sql = sql.replace("%(", ":").replace(")s", "")
        rows = [
            {"sid": sid.hex, "at": _sqlite_text(at), "until": _sqlite_text(until)}
            for sid, at, until in beats
        ]
    else:
        rows = [{"sid": sid, "at": at, "until": until} for sid, at, until in beats]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _sqlite_text(at: datetime) -> str:
    """An instant as SQLAlchemy stores it in SQLite (naive UTC, microseconds)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
