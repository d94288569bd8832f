"""The Active Agents grid: one page of open sessions, sorted and searched in the database.

Each sort reads a partial index on the open sessions (migration 0020) from one end, so a
page costs about as much with 100,000 sessions open as with 100: the session keeps its
agent key and its count of open Interactions for that. The search is grid_search's. A
seat group's filter is a test on each session the walk meets (no index has the group):
cheap for a group that holds many of the sessions, a longer walk for one that holds few.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    func,
    literal,
    select,
)

from seatkeeper.domain.model import GridRow, GridView
from seatkeeper.storage import grid_search
from seatkeeper.storage.sessions import OPEN
from seatkeeper.storage.tables import agent_sessions, interactions, seat_groups, users

T = TypeVar("T")

# Counting every match would cost as much as the sessions open, so the count stops at a
# cap, and says so. Counting an open session is a step in an index; a search tests each
# session it counts, so it stops sooner.
COUNT_CAP = 10_000
SEARCH_COUNT_CAP = 1_000


def active_session_rows(
    conn: Connection,
    account_id: int,
    *,
    now: datetime,
    view: GridView,
    groups: dict[int, str] | None = None,
) -> tuple[list[GridRow], int, bool]:
    """One page of the account's open sessions, sorted and searched in the database, with
    their open interactions and the name of their seat group (from `groups`); how many
    sessions match, and whether that is all of them (beyond a cap, the count stops there:
    it is then at least that many)."""
    s = agent_sessions.c
    matching: list[ColumnElement[bool]] = [s.account_id == account_id, OPEN, s.expires_at > now]
    if view.search:
        matching.append(grid_search.matching(conn, account_id, view.search))
    if view.group is not None:
        matching.append(s.group_id == view.group)
    page = _ordered(
        select(
            s.id, s.user_id, s.started_at, s.open_interactions, s.overdraft, s.group_id, s.reserved
        ),
        view,
    )
    skipped = (view.page - 1) * view.per_page
    # The expiry, wrapped, is tested on each row rather than searched in its index: else
    # SQLite, before any ANALYZE, reads every open session by expiry and sorts them all.
    unexpired = func.coalesce(s.expires_at, s.expires_at) > now
    rows = conn.execute(
        page.where(*matching[:2], unexpired, *matching[3:]).limit(view.per_page).offset(skipped)
    ).all()
    if len(rows) < view.per_page and (rows or view.page == 1):
        # The last page: the pages before it and its rows are every match.
        total, exact = skipped + len(rows), True
    else:
        total, exact = _count(conn, matching, cap=SEARCH_COUNT_CAP if view.search else COUNT_CAP)
        if rows:  # a page past the cap: at least this many
            total = max(total, skipped + len(rows))
    names = _usernames(conn, [r.user_id for r in rows if r.user_id is not None])
    flows = _open_flows(conn, [r.id for r in rows])
    return (
        [
            GridRow(
                r.id,
                None if r.user_id is None else names[r.user_id],
                r.started_at,
                flows.get(r.id, ()),
                r.open_interactions,
                r.overdraft,
                None if r.group_id is None else (groups or {}).get(r.group_id),
                r.reserved and r.group_id is not None,
            )
            for r in rows
        ],
        total,
        exact,
    )


def group_names(conn: Connection, account_id: int) -> dict[int, str]:
    """The account's seat groups' names by id, in the order of their names."""
    g = seat_groups.c
    query = select(g.id, g.name).where(g.account_id == account_id).order_by(g.name_key, g.id)
    return {row.id: row.name for row in conn.execute(query)}


def _count(conn: Connection, matching: list[ColumnElement[bool]], *, cap: int) -> tuple[int, bool]:
    """How many sessions match, counted up to `cap`; and whether that is all of them."""
    found = select(literal(1)).select_from(agent_sessions).where(*matching).limit(cap + 1)
    counted = conn.execute(select(func.count()).select_from(found.subquery())).scalar_one()
    return min(counted, cap), counted <= cap


def _ordered(query: Select[Any], view: GridView) -> Select[Any]:
    """The query in the grid's order: the sort key, then start and id to break ties, all
    reversed for a descending sort so that one index serves both orders."""
    s = agent_sessions.c
    keys = {
        "agent_id": [s.agent_key, s.started_at, s.id],
        "session_start": [s.started_at, s.id],
        "open_interactions_count": [s.open_interactions, s.started_at, s.id],
    }[view.sort]
    return query.order_by(*(k.desc() if view.descending else k.asc() for k in keys))


def _batches(ids: Sequence[T]) -> Iterator[Sequence[T]]:
    """The ids 500 at a time (an export asks for every row), each batch one IN list."""
    for start in range(0, len(ids), 500):
        yield ids[start : start + 500]


def _usernames(conn: Connection, user_ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for batch in _batches(user_ids):
        rows = conn.execute(select(users.c.id, users.c.username).where(users.c.id.in_(batch)))
        found.update((user_id, username) for user_id, username in rows)
    return found


def _open_flows(conn: Connection, session_ids: Sequence[UUID]) -> dict[UUID, tuple[str, ...]]:
    names: dict[UUID, set[str]] = defaultdict(set)
    for batch in _batches(session_ids):
        rows = conn.execute(
            select(interactions.c.session_id, interactions.c.flow)
            .where(interactions.c.session_id.in_(batch), interactions.c.closed_at.is_(None))
            .distinct()
        )
        for session_id, flow in rows:
            names[session_id].add(flow)
    return {sid: tuple(sorted(flows)) for sid, flows in names.items()}
