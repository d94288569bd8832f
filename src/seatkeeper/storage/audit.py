"""The audit trail (written once, never changed) and the history of ended sessions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, func, select

from seatkeeper.domain.events import AccountChanged
from seatkeeper.domain.model import EndedSession, EndReason
from seatkeeper.storage.tables import agent_sessions, audit_events, interactions, users
from seatkeeper.storage.unit import record as record_event

SESSION_TERMINATED = "session_terminated"
BATCH = 500


def what_was_open(conn: Connection, session_ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
    """What an audit row keeps of each session ended now: who held it, since when, and
    the Interactions open in it (Flow, step, opened at), oldest first."""
    found: dict[UUID, dict[str, Any]] = {}
    open_items: dict[UUID, list[dict[str, str | None]]] = defaultdict(list)
    s, i = agent_sessions.c, interactions.c
    for start in range(0, len(session_ids), BATCH):
        batch = session_ids[start : start + BATCH]
        held = conn.execute(
            select(s.id, users.c.username, s.started_at, s.last_activity_at)
            .select_from(agent_sessions.outerjoin(users, users.c.id == s.user_id))
            .where(s.id.in_(batch))
        )
        for row in held:
            found[row.id] = {
                "agent_id": row.username,
                "started_at": row.started_at.isoformat(),
                "last_activity_at": row.last_activity_at.isoformat(),
            }
        items = conn.execute(
            select(i.session_id, i.flow, i.step, i.opened_at)
            .where(i.session_id.in_(batch), i.closed_at.is_(None))
            .order_by(i.opened_at, i.id)
        )
        for row in items:
            open_items[row.session_id].append(
                {"flow": row.flow, "step": row.step, "opened_at": row.opened_at.isoformat()}
            )
    return {sid: {**held, "open_interactions": open_items[sid]} for sid, held in found.items()}


def record_terminations(
    conn: Connection,
    account_id: int,
    *,
    actor_id: int | None,  # the user who terminated them; None for an operator
    actor: str,
    at: datetime,
    source: str | None,
    sessions: dict[UUID, dict[str, Any]],
) -> None:
    """One audit row for each session `actor` terminated, with what was open in it."""
    if sessions:
        conn.execute(
            audit_events.insert(),
            [
                {
                    "account_id": account_id,
                    "at": at,
                    "action": SESSION_TERMINATED,
                    "actor_id": actor_id,
                    "actor": actor,
                    "source": source,
                    "session_id": session_id,
                    "details": details,
                }
                for session_id, details in sessions.items()
            ],
        )


def record(
    conn: Connection,
    account_id: int,
    action: str,
    *,
    actor_id: int | None,
    actor: str,
    at: datetime,
    source: str | None,
    details: dict[str, Any],
) -> None:
    """One audit row: `actor` did `action` (a setting or a user changed, say) with `details`.
    Every audited change is one the account's pages show."""
    record_event(conn, AccountChanged(account_id, at))
    conn.execute(
        audit_events.insert().values(
            account_id=account_id,
            at=at,
            action=action,
            actor_id=actor_id,
            actor=actor,
            source=source,
            details=details,
        )
    )


def events(conn: Connection, account_id: int, actions: Sequence[str]) -> list[dict[str, Any]]:
    """The account's audit rows of these kinds, latest first (for tests and reports)."""
    rows = conn.execute(
        select(audit_events)
        .where(audit_events.c.account_id == account_id, audit_events.c.action.in_(actions))
        .order_by(audit_events.c.id.desc())
    )
    return [dict(r._mapping) for r in rows]


def ended_sessions(
    conn: Connection,
    account_id: int,
    *,
    since: datetime,
    reason: EndReason | None,
    page: int,
    per_page: int,
) -> tuple[list[EndedSession], int]:
    """The account's sessions ended since `since`, newest end first: one page, and how many
    there are in all."""
    s, a = agent_sessions.c, audit_events.c
    matching = [s.account_id == account_id, s.ended_at >= since]
    if reason is not None:
        matching.append(s.end_reason == reason.value)
    total = conn.execute(select(func.count()).where(*matching)).scalar_one()
    agent, ender = users.alias("agent"), users.alias("ender")
    joined = (
        agent_sessions.outerjoin(agent, agent.c.id == s.user_id)
        .outerjoin(ender, ender.c.id == s.ended_by)
        .outerjoin(audit_events, and_(a.session_id == s.id, a.action == SESSION_TERMINATED))
    )
    rows = conn.execute(
        select(s.id, agent.c.username, s.started_at, s.ended_at, s.end_reason)
        .add_columns(func.coalesce(a.actor, ender.c.username).label("actor"), a.source, a.details)
        .select_from(joined)
        .where(*matching)
        .order_by(s.ended_at.desc(), s.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [
        EndedSession(
            r.id,
            r.username,
            r.started_at,
            r.ended_at,
            EndReason(r.end_reason),
            r.actor,
            r.source,
            tuple(item["flow"] for item in (r.details or {}).get("open_interactions", [])),
        )
        for r in rows
    ], total
