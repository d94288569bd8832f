"""The grid's search: sessions whose agent id, or the name of a Flow open in them, contains
the words searched for (any case), found without reading every open session.

Each half first looks for its few candidates through an index: the usernames through a
trigram index (pg_trgm on PostgreSQL, an FTS5 trigram table on SQLite; migration 0020),
the Flow names by stepping through the names of open Interactions. When they are few,
the sessions are looked up by them; when they are many, the grid walks its sort's index
and tests each session instead, which finds a page in few steps because matches are then
dense. The test itself is always the grid's plain one, so the answer never depends on
which way was taken.
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    column,
    exists,
    false,
    func,
    or_,
    select,
    table,
)

from seatkeeper.domain.model import GUEST
from seatkeeper.storage.tables import agent_sessions, interactions, users

# Up to this many candidates, the sessions are looked up by them.
FEW = 1_000
# The trigram index finds only searches of at least three characters.
TRIGRAM = 3

# SQLite only: FTS5's trigram index over the usernames (kept by triggers on users).
users_search = table("users_search", column("rowid"), column("username"))


def matching(conn: Connection, account_id: int, search: str) -> ColumnElement[bool]:
    """The test a session passes when its agent id or an open Flow's name contains `search`."""
    pattern = "%" + _escape_like(search.lower()) + "%"
    s = agent_sessions.c
    found: list[ColumnElement[bool]] = []
    user_ids = _matching_users(conn, account_id, search, pattern)
    if user_ids is None:
        found.append(s.agent_key.like(pattern, escape="\\"))
    elif user_ids:
        # The plain test too: a trigram index may find a few names more than it.
        found.append(and_(s.user_id.in_(user_ids), s.agent_key.like(pattern, escape="\\")))
    if search.lower() in GUEST.lower():
        found.append(s.user_id.is_(None))
    flows = _matching_flows(conn, pattern)
    if flows:
        i = interactions.c
        with_flow = select(i.session_id).where(i.closed_at.is_(None), i.flow.in_(flows))
        session_ids = conn.execute(with_flow.limit(FEW + 1)).scalars().all()
        if len(session_ids) > FEW:
            found.append(exists(with_flow.where(i.session_id == s.id)))
        else:
            found.append(s.id.in_(session_ids))
    return or_(*found) if found else false()


def _matching_users(
    conn: Connection, account_id: int, search: str, pattern: str
) -> list[int] | None:
    """The account's users whose name contains the search, when a trigram index finds them
    and they are few; None when the sessions must be tested one by one instead."""
    if len(search) < TRIGRAM:
        return None
    dialect = conn.dialect.name
    if dialect == "sqlite":
        if any(c in search for c in "%_\\"):
            return None  # FTS5 uses its index for a plain LIKE only, without ESCAPE
        # Its LIKE folds ASCII case as lower() does, so it finds the same names.
        named = select(users_search.c.rowid).where(
            users_search.c.username.like("%" + search.lower() + "%")
        )
        query = select(users.c.id).where(users.c.id.in_(named), users.c.account_id == account_id)
    elif dialect == "postgresql" and _has_trigram_index(conn):
        query = select(users.c.id).where(
            users.c.account_id == account_id,
            func.lower(users.c.username).like(pattern, escape="\\"),
        )
    else:
        return None
    ids = conn.execute(query.limit(FEW + 1)).scalars().all()
    return None if len(ids) > FEW else list(ids)


def _has_trigram_index(conn: Connection) -> bool:
    """Whether migration 0020 could make the usernames' trigram index (pg_trgm may be
    missing: the search then tests each session, and is slower, not wrong)."""
    return bool(
        conn.execute(
            select(func.count())
            .select_from(table("pg_indexes", column("indexname")))
            .where(column("indexname") == "ix_users_username_trigrams")
        ).scalar_one()
    )


def _matching_flows(conn: Connection, pattern: str) -> list[str]:
    """The names of open Interactions' Flows that match: a few, found by stepping from
    one name to the next through the index of open Interactions by Flow."""
    i = interactions.c
    names = select(func.min(i.flow).label("flow")).where(i.closed_at.is_(None)).cte(recursive=True)
    following = (
        select(func.min(i.flow)).where(i.closed_at.is_(None), i.flow > names.c.flow)
    ).scalar_subquery()
    names = names.union_all(select(following).where(names.c.flow.is_not(None)))
    return list(
        conn.execute(
            select(names.c.flow).where(
                names.c.flow.is_not(None), func.lower(names.c.flow).like(pattern, escape="\\")
            )
        ).scalars()
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
