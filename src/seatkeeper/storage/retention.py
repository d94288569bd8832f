"""Deleting the rows an account's retention no longer keeps, one small batch at a time:
ended sessions with their Interactions and tokens, and refusals. Open sessions and the
audit trail are never deleted; a session an audit row names stays (its Interactions and
tokens go), so that the trail still says whose session it was."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, delete, exists, func, select, true, update

from seatkeeper.storage.tables import (
    agent_sessions,
    audit_events,
    denials,
    interactions,
    session_tokens,
    usage_day_timeouts,
    usage_days,
)


def oldest_deletable(
    conn: Connection, account_id: int, *, ended_before: datetime, denied_before: datetime
) -> datetime | None:
    """The earliest instant a deletable row of the account speaks of: the start of its
    oldest session ended before `ended_before` (that no audit row names), or its oldest
    refusal before `denied_before`; None when there is nothing to delete."""
    started = conn.execute(
        select(func.min(agent_sessions.c.started_at)).where(
            *_ended(account_id, ended_before, audited=False)
        )
    ).scalar_one()
    d = denials.c
    refused = conn.execute(
        select(func.min(d.at)).where(d.account_id == account_id, d.at < denied_before)
    ).scalar_one()
    found: list[datetime] = [at for at in (started, refused) if at is not None]
    return min(found, default=None)


def pruned_through(conn: Connection, account_id: int, *, besides: str) -> datetime | None:
    """Where the final days kept in time zones other than `besides` (the account's zones
    before it changed) end: rows before it may be gone."""
    u = usage_days.c
    through: datetime | None = conn.execute(
        select(func.max(u.through)).where(
            u.account_id == account_id, u.time_zone != besides, u.final.is_(True)
        )
    ).scalar_one()
    return through


def mark_final(conn: Connection, account_id: int, time_zone: str, first: date, last: date) -> int:
    """Make the kept days from `first` to `last` that have their figures of who held
    licenses final: never dropped or computed again."""
    u, t = usage_days.c, usage_day_timeouts.c
    figured = exists().where(
        t.account_id == u.account_id, t.time_zone == u.time_zone, t.day == u.day
    )
    done = conn.execute(
        update(usage_days)
        .where(
            u.account_id == account_id,
            u.time_zone == time_zone,
            u.day >= first,
            u.day <= last,
            u.final.is_(False),
            figured,
        )
        .values(final=true())
    )
    return done.rowcount


def _ended(account_id: int, before: datetime, *, audited: bool) -> list[ColumnElement[bool]]:
    """Sessions of the account ended before `before`, that an audit row names or not."""
    s = agent_sessions.c
    named = exists().where(audit_events.c.session_id == s.id)
    return [s.account_id == account_id, s.ended_at < before, named if audited else ~named]


def delete_sessions(
    conn: Connection, account_id: int, *, ended_before: datetime, batch: int
) -> tuple[int, int]:
    """Delete up to `batch` sessions ended before `ended_before` that no audit row names,
    with their Interactions and tokens: (sessions, Interactions) deleted."""
    chosen = list(
        conn.execute(
            select(agent_sessions.c.id)
            .where(*_ended(account_id, ended_before, audited=False))
            .order_by(agent_sessions.c.ended_at)
            .limit(batch)
        ).scalars()
    )
    if not chosen:
        return 0, 0
    gone = conn.execute(delete(interactions).where(interactions.c.session_id.in_(chosen)))
    conn.execute(delete(session_tokens).where(session_tokens.c.session_id.in_(chosen)))
    sessions = conn.execute(delete(agent_sessions).where(agent_sessions.c.id.in_(chosen)))
    return sessions.rowcount, gone.rowcount


def delete_audited_interactions(
    conn: Connection, account_id: int, *, ended_before: datetime, batch: int
) -> tuple[int, int]:
    """Delete up to `batch` Interactions and tokens of sessions ended before `ended_before`
    that an audit row names (the audit row keeps what was open): (Interactions, tokens)
    deleted."""
    s = agent_sessions.c
    kept = select(s.id).where(*_ended(account_id, ended_before, audited=True)).scalar_subquery()
    i = interactions.c
    chosen = select(i.id).where(i.session_id.in_(kept)).limit(batch).scalar_subquery()
    gone = conn.execute(delete(interactions).where(i.id.in_(chosen)))
    t = session_tokens.c
    tokens = select(t.token_hash).where(t.session_id.in_(kept)).limit(batch).scalar_subquery()
    spent = conn.execute(delete(session_tokens).where(t.token_hash.in_(tokens)))
    return gone.rowcount, spent.rowcount


def delete_denials(conn: Connection, account_id: int, *, before: datetime, batch: int) -> int:
    """Delete up to `batch` of the account's refusals before `before`: how many."""
    d = denials.c
    chosen = (
        select(d.id)
        .where(d.account_id == account_id, d.at < before)
        .order_by(d.at)
        .limit(batch)
        .scalar_subquery()
    )
    return conn.execute(delete(denials).where(d.id.in_(chosen))).rowcount
