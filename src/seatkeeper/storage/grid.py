"""The Active Agents grid: one page of open sessions, sorted and searched in the database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, func, literal, or_, select

from seatkeeper.domain.model import GUEST, GridRow, GridView
from seatkeeper.storage.sessions import OPEN
from seatkeeper.storage.tables import agent_sessions, interactions, users


def active_session_rows(
    conn: Connection,
    account_id: int,
    *,
    now: datetime,
    view: GridView,
) -> tuple[list[GridRow], int]:
    """One page of the account's open sessions, sorted and searched in the database, with
    their open interactions; and how many sessions match in all."""
    s = agent_sessions.c
    open_count = (
        select(func.count())
        .where(interactions.c.session_id == s.id, interactions.c.closed_at.is_(None))
        .correlate(agent_sessions)
        .scalar_subquery()
        .label("open_count")
    )
    agent = func.lower(func.coalesce(users.c.username, literal(GUEST)))
    matching = [s.account_id == account_id, OPEN, s.expires_at > now]
    if view.search:
        pattern = "%" + _escape_like(view.search.lower()) + "%"
        # One pass over the open interactions, not one lookup for each session.
        flow_matches = select(interactions.c.session_id).where(
            interactions.c.closed_at.is_(None),
            func.lower(interactions.c.flow).like(pattern, escape="\\"),
        )
        matching.append(or_(agent.like(pattern, escape="\\"), s.id.in_(flow_matches)))
    key = {"agent_id": agent, "session_start": s.started_at, "open_interactions_count": open_count}[
        view.sort
    ]
    order = [key.desc() if view.descending else key.asc(), s.started_at, s.id]
    joined = agent_sessions.outerjoin(users, users.c.id == s.user_id)
    total = conn.execute(select(func.count()).select_from(joined).where(*matching)).scalar_one()
    rows = conn.execute(
        select(s.id, users.c.username, s.started_at, open_count)
        .select_from(joined)
        .where(*matching)
        .order_by(*order)
        .limit(view.per_page)
        .offset((view.page - 1) * view.per_page)
    ).all()
    flows = _open_flows(conn, [r.id for r in rows])
    return [
        GridRow(r.id, r.username, r.started_at, flows.get(r.id, ()), r.open_count) for r in rows
    ], total


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _open_flows(conn: Connection, session_ids: Sequence[UUID]) -> dict[UUID, tuple[str, ...]]:
    names: dict[UUID, set[str]] = defaultdict(set)
    for start in range(0, len(session_ids), 500):
        batch = session_ids[start : start + 500]
        rows = conn.execute(
            select(interactions.c.session_id, interactions.c.flow)
            .where(interactions.c.session_id.in_(batch), interactions.c.closed_at.is_(None))
            .distinct()
        )
        for session_id, flow in rows:
            names[session_id].add(flow)
    return {sid: tuple(sorted(flows)) for sid, flows in names.items()}
