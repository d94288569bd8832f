"""Agent sessions, their tokens, refused opens, and the Interactions open in them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Connection, Row, bindparam, case, func, select, update

from seatkeeper.domain.events import (
    InteractionClosed,
    InteractionOpened,
    OpenDenied,
    SessionEnded,
    SessionOpened,
)
from seatkeeper.domain.model import AgentSession, EndReason, Interaction
from seatkeeper.storage.tables import (
    UTCDateTime,
    accounts,
    agent_sessions,
    denials,
    interactions,
    session_tokens,
)
from seatkeeper.storage.unit import record


def session_of(row: Row[Any]) -> AgentSession:
    """An agent session as its row stores it."""
    return AgentSession(
        id=row.id,
        account_id=row.account_id,
        user_id=row.user_id,
        started_at=row.started_at,
        last_activity_at=row.last_activity_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        end_reason=None if row.end_reason is None else EndReason(row.end_reason),
        overdraft=row.overdraft,
        group_id=row.group_id,
        reserved=row.reserved,
    )


def session_row(s: AgentSession, *, ended_by: int | None = None) -> dict[str, Any]:
    """The row that stores a session (`ended_by`: who terminated it, if anyone)."""
    return {
        "id": s.id,
        "account_id": s.account_id,
        "user_id": s.user_id,
        "started_at": s.started_at,
        "last_activity_at": s.last_activity_at,
        "expires_at": s.expires_at,
        "ended_at": s.ended_at,
        "end_reason": None if s.end_reason is None else s.end_reason.value,
        "ended_by": ended_by,
        "overdraft": s.overdraft,
        "group_id": s.group_id,
        "reserved": s.reserved,
    }


OPEN = agent_sessions.c.ended_at.is_(None)

# The statements a batch of claims runs (services.seats), built once: building a statement
# costs SQLAlchemy more than running it, and a claim batch runs a dozen.
_s = agent_sessions.c
_SEAT_USE = select(
    func.count().filter(_s.expires_at > bindparam("now")),
    func.count().filter(_s.expires_at <= bindparam("now")),
).where(_s.account_id == bindparam("account_id"), OPEN)
_OF_USERS = select(agent_sessions).where(
    _s.account_id == bindparam("account_id"), _s.user_id.in_(bindparam("ids", expanding=True)), OPEN
)
_INSERT_SESSIONS = agent_sessions.insert()
_INSERT_TOKENS = session_tokens.insert()
_INSERT_DENIALS = denials.insert()
_BY_TOKENS = (
    select(agent_sessions, session_tokens.c.token_hash)
    .join(session_tokens, session_tokens.c.session_id == agent_sessions.c.id)
    .where(session_tokens.c.token_hash.in_(bindparam("hashes", expanding=True)))
)
_WHEN = bindparam("at", type_=UTCDateTime)
_END = (
    update(agent_sessions)
    .where(_s.id.in_(bindparam("ids", expanding=True)), OPEN)
    .values(
        ended_at=case((_s.started_at > _WHEN, _s.started_at), else_=_WHEN),
        end_reason=bindparam("reason"),
        ended_by=bindparam("by"),
    )
    .returning(_s.id, _s.account_id, _s.ended_at)
)
_CLOSE_INTERACTIONS = (
    update(interactions)
    .where(
        interactions.c.session_id.in_(bindparam("ids", expanding=True)),
        interactions.c.closed_at.is_(None),
    )
    .values(closed_at=bindparam("at"))
)


def count_open_sessions(conn: Connection, account_id: int, now: datetime) -> int:
    """Sessions holding a license at `now` (an unswept expired session holds none)."""
    return conn.execute(
        select(func.count())
        .select_from(agent_sessions)
        .where(agent_sessions.c.account_id == account_id, OPEN, agent_sessions.c.expires_at > now)
    ).scalar_one()


def seat_use(conn: Connection, account_id: int, now: datetime) -> tuple[int, int]:
    """The account's unended sessions holding a license at `now`, and those past their
    expiry that nobody has ended yet, in one read."""
    row = conn.execute(_SEAT_USE, {"now": now, "account_id": account_id}).one()
    return row[0], row[1]


def count_ended_between(conn: Connection, account_id: int, after: datetime, until: datetime) -> int:
    """How many of the account's sessions ended after `after`, up to `until`."""
    return conn.execute(
        select(func.count()).where(
            _s.account_id == account_id, _s.ended_at > after, _s.ended_at <= until
        )
    ).scalar_one()


def license_use(conn: Connection, now: datetime) -> list[tuple[int, str, int, int]]:
    """Every account's (id, slug, licenses in use at `now`, licenses owned)."""
    s = agent_sessions.c
    used = (
        select(s.account_id, func.count().label("used"))
        .where(OPEN, s.expires_at > now)
        .group_by(s.account_id)
        .subquery()
    )
    rows = conn.execute(
        select(accounts.c.id, accounts.c.slug, func.coalesce(used.c.used, 0), accounts.c.licenses)
        .select_from(accounts.outerjoin(used, used.c.account_id == accounts.c.id))
        .order_by(accounts.c.slug)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def open_sessions(conn: Connection, account_id: int) -> list[AgentSession]:
    """The account's unended sessions."""
    rows = conn.execute(
        select(agent_sessions)
        .where(agent_sessions.c.account_id == account_id, OPEN)
        .order_by(agent_sessions.c.id)  # the order rows are locked in, when they are
    )
    return [session_of(r) for r in rows]


def open_session_of_user(conn: Connection, account_id: int, user_id: int) -> AgentSession | None:
    """The agent's unended session, if any (it may have expired unswept)."""
    row = conn.execute(
        select(agent_sessions).where(
            agent_sessions.c.account_id == account_id, agent_sessions.c.user_id == user_id, OPEN
        )
    ).one_or_none()
    return None if row is None else session_of(row)


def open_sessions_of_users(
    conn: Connection, account_id: int, user_ids: Iterable[int]
) -> dict[int, AgentSession]:
    """The agents' unended sessions, by user id (they may have expired unswept)."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = conn.execute(_OF_USERS, {"account_id": account_id, "ids": list(wanted)})
    return {row.user_id: session_of(row) for row in rows}


def insert_session(
    conn: Connection, *, account_id: int, user_id: int | None, now: datetime, expires_at: datetime
) -> AgentSession:
    """Record a new open session."""
    session = AgentSession(uuid4(), account_id, user_id, now, now, expires_at, None, None)
    insert_sessions(conn, [session])
    return session


def insert_sessions(conn: Connection, opened: Sequence[AgentSession]) -> None:
    """Record new open sessions, in one statement."""
    if not opened:
        return
    conn.execute(_INSERT_SESSIONS, [session_row(s) for s in opened])
    for s in opened:
        record(conn, SessionOpened(s.account_id, s.started_at))


def insert_session_tokens(
    conn: Connection, tokens: Sequence[tuple[str, UUID]], *, now: datetime
) -> None:
    """Store the hashes of tokens, each opening its session: (token hash, session id)."""
    if tokens:
        conn.execute(
            _INSERT_TOKENS,
            [{"token_hash": h, "session_id": sid, "created_at": now} for h, sid in tokens],
        )


def sessions_by_tokens(conn: Connection, token_hashes: Sequence[str]) -> dict[str, AgentSession]:
    """The sessions these tokens open, by token hash (unknown tokens are left out)."""
    if not token_hashes:
        return {}
    rows = conn.execute(_BY_TOKENS, {"hashes": list(set(token_hashes))})
    return {row.token_hash: session_of(row) for row in rows}


def session_by_token(
    conn: Connection, token_hash: str, *, lock: bool = False
) -> tuple[AgentSession, timedelta] | None:
    """The session a token opens, with its account's session timeout.

    With `lock`, the session's row stays locked until the transaction ends, so that on
    PostgreSQL a call for the session, the timeout sweep and a termination never
    interleave (SQLite's write transactions are serialized already).
    """
    query = (
        select(agent_sessions, accounts.c.session_timeout_seconds)
        .join(session_tokens, session_tokens.c.session_id == agent_sessions.c.id)
        .join(accounts, accounts.c.id == agent_sessions.c.account_id)
        .where(session_tokens.c.token_hash == token_hash)
    )
    if lock:
        query = query.with_for_update(of=agent_sessions)
    row = conn.execute(query).one_or_none()
    if row is None:
        return None
    return session_of(row), timedelta(seconds=row.session_timeout_seconds)


def touch_session(
    conn: Connection, session_id: UUID, *, now: datetime, expires_at: datetime
) -> None:
    """Record activity on an open session. Activity never moves back: a call (or a batch
    of heartbeats) that committed a later instant meanwhile is kept."""
    conn.execute(
        update(agent_sessions)
        .where(agent_sessions.c.id == session_id, OPEN, agent_sessions.c.last_activity_at < now)
        .values(last_activity_at=now, expires_at=expires_at)
    )


def set_session_expiry(conn: Connection, session_id: UUID, expires_at: datetime) -> None:
    """Move an open session's expiry (after the account's timeout changed)."""
    conn.execute(
        update(agent_sessions)
        .where(agent_sessions.c.id == session_id, OPEN)
        .values(expires_at=expires_at)
    )


def end_session(
    conn: Connection,
    session_id: UUID,
    *,
    at: datetime,
    reason: EndReason,
    by: int | None = None,
) -> bool:
    """End a session unless it already ended, closing its interactions. True if it was open."""
    return bool(end_sessions(conn, [session_id], at=at, reason=reason, by=by))


def end_sessions(
    conn: Connection,
    session_ids: Sequence[UUID],
    *,
    at: datetime,
    reason: EndReason,
    by: int | None = None,
) -> int:
    """End the sessions among these that are open, closing their interactions; returns
    how many ended. Give the ids in order: rows are locked in id order.

    A session never ends before it started: an instance whose clock is a little behind
    the one that opened it ends it at its start instead.
    """
    if not session_ids:
        return 0
    ended = conn.execute(
        _END, {"ids": list(session_ids), "at": at, "reason": reason.value, "by": by}
    ).all()
    by_end: dict[datetime, list[UUID]] = defaultdict(list)  # one instant, nearly always
    for row in ended:
        by_end[row.ended_at].append(row.id)
        record(conn, SessionEnded(row.account_id, at, reason))
    for ended_at, ids in by_end.items():
        _close_interactions(conn, ids, ended_at)
    return len(ended)


def expire_session(conn: Connection, session_id: UUID, now: datetime) -> bool:
    """Record a session as timed out at its expiry, if that has passed and it is still unended.

    The expiry is checked in the UPDATE itself, so that activity committed meanwhile
    (which moved the expiry) keeps the session open.
    """
    ended = conn.execute(
        update(agent_sessions)
        .where(agent_sessions.c.id == session_id, OPEN, agent_sessions.c.expires_at <= now)
        .values(ended_at=agent_sessions.c.expires_at, end_reason=EndReason.TIMEOUT.value)
        .returning(agent_sessions.c.ended_at, agent_sessions.c.account_id)
    ).one_or_none()
    if ended is None:
        return False
    _close_interactions(conn, [session_id], ended.ended_at)
    record(conn, SessionEnded(ended.account_id, now, EndReason.TIMEOUT))
    return True


def _close_interactions(conn: Connection, session_ids: Sequence[UUID], at: datetime) -> None:
    conn.execute(_CLOSE_INTERACTIONS, {"ids": list(session_ids), "at": at})


def expire_overdue_sessions(conn: Connection, now: datetime, *, account_id: int) -> int:
    """Record as timed out every session of the account past its expiry, ended at that expiry.

    Call it holding the account's lock; rows are then locked in id order, the one order
    every transaction that locks several sessions follows, so none waits on another
    in a cycle.
    """
    overdue = conn.execute(
        select(agent_sessions.c.id)
        .where(agent_sessions.c.account_id == account_id, OPEN, agent_sessions.c.expires_at <= now)
        .order_by(agent_sessions.c.id)
    ).scalars()
    return sum(expire_session(conn, session_id, now) for session_id in overdue.all())


def accounts_with_overdue_sessions(conn: Connection, now: datetime) -> list[int]:
    """The accounts that have unended sessions past their expiry."""
    return list(
        conn.execute(
            select(agent_sessions.c.account_id)
            .where(OPEN, agent_sessions.c.expires_at <= now)
            .distinct()
        ).scalars()
    )


def sessions_by_id(
    conn: Connection, account_id: int, session_ids: Iterable[UUID], *, lock: bool = False
) -> dict[UUID, AgentSession]:
    """The account's sessions among these ids; with `lock`, their rows stay locked."""
    query = select(agent_sessions).where(
        agent_sessions.c.account_id == account_id, agent_sessions.c.id.in_(list(session_ids))
    )
    if lock:  # in id order, like every lock on several sessions
        query = query.order_by(agent_sessions.c.id).with_for_update()
    return {row.id: session_of(row) for row in conn.execute(query)}


def insert_denials(
    conn: Connection,
    account_id: int,
    refused: Sequence[tuple[int | None, str | None]],
    at: datetime,
) -> None:
    """Record refused opens, each (user id, requester), in one statement."""
    if not refused:
        return
    conn.execute(
        _INSERT_DENIALS,
        [{"account_id": account_id, "user_id": u, "at": at, "requester": r} for u, r in refused],
    )
    for _ in refused:
        record(conn, OpenDenied(account_id, at))


def interaction_of(row: Row[Any]) -> Interaction:
    """An Interaction as its row stores it."""
    return Interaction(
        id=row.id,
        session_id=row.session_id,
        flow=row.flow,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        step=row.step,
    )


def insert_interaction(
    conn: Connection, session: AgentSession, *, flow: str, now: datetime
) -> Interaction:
    """Open a Flow in a session."""
    record(conn, InteractionOpened(session.account_id, now))
    row = conn.execute(
        interactions.insert()
        .values(id=uuid4(), session_id=session.id, flow=flow, opened_at=now)
        .returning(*interactions.c)
    ).one()
    return interaction_of(row)


def interaction_in_session(
    conn: Connection, session_id: UUID, interaction_id: UUID
) -> Interaction | None:
    """An interaction of this session."""
    row = conn.execute(
        select(interactions).where(
            interactions.c.id == interaction_id, interactions.c.session_id == session_id
        )
    ).one_or_none()
    return None if row is None else interaction_of(row)


def open_interactions(conn: Connection, session_id: UUID) -> list[Interaction]:
    """A session's open interactions, oldest first."""
    rows = conn.execute(
        select(interactions)
        .where(interactions.c.session_id == session_id, interactions.c.closed_at.is_(None))
        .order_by(interactions.c.opened_at, interactions.c.id)
    )
    return [interaction_of(r) for r in rows]


def set_interaction_step(conn: Connection, interaction_id: UUID, step: str) -> None:
    conn.execute(update(interactions).where(interactions.c.id == interaction_id).values(step=step))


def close_interaction(
    conn: Connection, session: AgentSession, interaction_id: UUID, now: datetime
) -> None:
    """Close an open Interaction of the session."""
    record(conn, InteractionClosed(session.account_id, now))
    conn.execute(
        update(interactions)
        .where(interactions.c.id == interaction_id, interactions.c.closed_at.is_(None))
        .values(closed_at=now)
    )
