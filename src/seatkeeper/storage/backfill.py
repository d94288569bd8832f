"""Bulk inserts of past sessions, interactions and denials (the demo's history).

Functions take a connection inside the caller's transaction and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select

from seatkeeper.domain.events import HistoryWritten
from seatkeeper.domain.model import AgentSession, EndReason, Interaction
from seatkeeper.storage.sessions import session_row
from seatkeeper.storage.tables import agent_sessions, denials, interactions, users
from seatkeeper.storage.unit import record

BATCH_ROWS = 2000


def user_ids(conn: Connection, account_id: int, usernames: Iterable[str]) -> dict[str, int]:
    """The ids of those of these usernames that are users of the account."""
    wanted = list(usernames)
    rows = conn.execute(
        select(users.c.username, users.c.id).where(
            users.c.account_id == account_id, users.c.username.in_(wanted)
        )
    )
    return {row.username: row.id for row in rows}


def insert_sessions(
    conn: Connection,
    sessions: Sequence[AgentSession],
    *,
    now: datetime,
    ended_by: int | None = None,
) -> int:
    """Insert past sessions as they are; `ended_by` is recorded on the terminated ones."""
    for account_id in {s.account_id for s in sessions}:
        since = min(s.started_at for s in sessions if s.account_id == account_id)
        record(conn, HistoryWritten(account_id, now, since))
    rows = [
        session_row(s, ended_by=ended_by if s.end_reason is EndReason.TERMINATED else None)
        for s in sessions
    ]
    return _insert(conn, agent_sessions, rows)


def insert_interactions(conn: Connection, items: Sequence[Interaction]) -> int:
    """Insert past interactions of sessions already inserted."""
    rows = [
        {
            "id": i.id,
            "session_id": i.session_id,
            "flow": i.flow,
            "opened_at": i.opened_at,
            "closed_at": i.closed_at,
            "step": i.step,
        }
        for i in items
    ]
    return _insert(conn, interactions, rows)


def insert_denials(
    conn: Connection,
    account_id: int,
    refused: Sequence[tuple[int | None, datetime]],
    *,
    now: datetime,
) -> int:
    """Insert past denials, each as (user id or None for a Guest, instant)."""
    if refused:
        record(conn, HistoryWritten(account_id, now, min(at for _, at in refused)))
    rows = [{"account_id": account_id, "user_id": user_id, "at": at} for user_id, at in refused]
    return _insert(conn, denials, rows)


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> int:
    # A list of parameter sets runs as executemany; batches bound the memory of each call.
    for start in range(0, len(rows), BATCH_ROWS):
        conn.execute(table.insert(), rows[start : start + BATCH_ROWS])
    return len(rows)
