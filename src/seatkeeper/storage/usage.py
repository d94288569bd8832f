"""Usage history: session intervals and events, refused opens, and the kept usage days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, func, or_, select

from seatkeeper.domain.model import Account
from seatkeeper.domain.usage import Denial, Interval, UsageDay, asker
from seatkeeper.storage.accounts import account_of
from seatkeeper.storage.sessions import OPEN
from seatkeeper.storage.tables import accounts, agent_sessions, denials
from seatkeeper.storage.tables import usage_days as usage_days_table


def session_intervals(
    conn: Connection,
    account_id: int,
    *,
    since: datetime,
    now: datetime,
    group_id: int | None = None,
) -> list[Interval]:
    """Every session that held a license at some instant in [since, now] (with `group_id`,
    every one that counted under that seat group)."""
    s = agent_sessions.c
    query = select(s.started_at, s.ended_at, s.expires_at).where(
        s.account_id == account_id,
        s.started_at <= now,
        or_(s.ended_at > since, and_(s.ended_at.is_(None), s.expires_at > since)),
    )
    rows = conn.execute(query if group_id is None else query.where(s.group_id == group_id))
    intervals = []
    for started_at, ended_at, expires_at in rows:
        end = ended_at if ended_at is not None else (expires_at if expires_at <= now else None)
        intervals.append(Interval(started_at, end))
    return intervals


def open_count_at(conn: Connection, account_id: int, at: datetime) -> int:
    """Sessions holding a license at instant `at` (started by then, not yet ended)."""
    s = agent_sessions.c
    count: int = conn.execute(
        select(func.count())
        .select_from(agent_sessions)
        .where(
            s.account_id == account_id,
            s.started_at <= at,
            or_(s.ended_at > at, and_(s.ended_at.is_(None), s.expires_at > at)),
        )
    ).scalar_one()
    return count


def session_events(
    conn: Connection, account_id: int, *, after: datetime, until: datetime
) -> list[tuple[datetime, int]]:
    """Starts (+1) and ends (-1) of the account's sessions in (after, until]; a session
    past its expiry that nothing recorded yet ends at that expiry."""
    s = agent_sessions.c
    starts = select(s.started_at).where(
        s.account_id == account_id, s.started_at > after, s.started_at <= until
    )
    ended = select(s.ended_at).where(
        s.account_id == account_id, s.ended_at > after, s.ended_at <= until
    )
    lapsed = select(s.expires_at).where(
        s.account_id == account_id, OPEN, s.expires_at > after, s.expires_at <= until
    )
    return (
        [(at, 1) for at in conn.execute(starts).scalars()]
        + [(at, -1) for at in conn.execute(ended).scalars()]
        + [(at, -1) for at in conn.execute(lapsed).scalars()]
    )


def count_denials(conn: Connection, account_id: int, *, since: datetime, until: datetime) -> int:
    """Refused opens in [since, until)."""
    count: int = conn.execute(
        select(func.count())
        .select_from(denials)
        .where(denials.c.account_id == account_id, denials.c.at >= since, denials.c.at < until)
    ).scalar_one()
    return count


def usage_days(
    conn: Connection, account_id: int, time_zone: str, first: date, *, last: date | None = None
) -> dict[date, UsageDay]:
    """The cached days of the account, in that time zone, from `first` on (to `last`)."""
    u = usage_days_table.c
    within = [u.account_id == account_id, u.time_zone == time_zone, u.day >= first]
    if last is not None:
        within.append(u.day <= last)
    return {r.day: _usage_day(r) for r in conn.execute(select(usage_days_table).where(*within))}


def final_days(
    conn: Connection, account_id: int, first: date, last: date, *, besides: str
) -> dict[date, UsageDay]:
    """The final days (their rows are gone) from `first` to `last` kept in time zones other
    than `besides`, the account's zone before it changed: of a date kept final in several,
    the one kept last."""
    u = usage_days_table.c
    rows = conn.execute(
        select(usage_days_table)
        .where(
            u.account_id == account_id,
            u.time_zone != besides,
            u.final.is_(True),
            u.day >= first,
            u.day <= last,
        )
        .order_by(u.day, u.through)
    )
    return {r.day: _usage_day(r) for r in rows}  # the latest of a date comes last


def _usage_day(r: Row[Any]) -> UsageDay:
    return UsageDay(
        r.day,
        r.through,
        r.max_concurrent,
        r.denials,
        r.open_at_through,
        timedelta(microseconds=r.micros_at_cap),
        r.peak_demand,
        r.licenses,
        r.final,
        None if r.micros_overdraft is None else timedelta(microseconds=r.micros_overdraft),
    )


def store_usage_days(
    conn: Connection,
    account_id: int,
    time_zone: str,
    days: Sequence[UsageDay],
    *,
    replace_all: bool = False,
) -> None:
    """Replace these cached days; with `replace_all`, every day the account had kept (in
    any time zone) goes. A final day (its rows are gone) is never replaced: it stays, and a
    day computed for its date is not stored."""
    u = usage_days_table.c
    gone = usage_days_table.delete().where(u.account_id == account_id, u.final.is_(False))
    if not replace_all:
        gone = gone.where(u.time_zone == time_zone, u.day.in_([d.day for d in days]))
    if days or replace_all:
        conn.execute(gone)
    if days:
        final = set(
            conn.execute(
                select(u.day).where(
                    u.account_id == account_id,
                    u.time_zone == time_zone,
                    u.final.is_(True),
                    u.day >= min(d.day for d in days),
                    u.day <= max(d.day for d in days),
                )
            ).scalars()
        )
        days = [d for d in days if d.day not in final]
    if not days:
        return
    conn.execute(
        usage_days_table.insert(),
        [
            {
                "account_id": account_id,
                "time_zone": time_zone,
                "day": d.day,
                "through": d.through,
                "max_concurrent": d.max_concurrent,
                "denials": d.denials,
                "open_at_through": d.open_at_through,
                "micros_at_cap": d.at_cap // timedelta(microseconds=1),
                "peak_demand": d.peak_demand,
                "licenses": d.licenses,
                "micros_overdraft": (
                    None if d.overdraft is None else d.overdraft // timedelta(microseconds=1)
                ),
            }
            for d in days
        ],
    )


def accounts_behind(conn: Connection, *, before: datetime) -> list[Account]:
    """Accounts whose kept usage days stop before `before` (or that have none), for
    warming them ahead of anyone's first look."""
    u = usage_days_table.c
    latest = (
        select(u.account_id, func.max(u.through).label("through")).group_by(u.account_id).subquery()
    )
    rows = conn.execute(
        select(accounts)
        .select_from(accounts.outerjoin(latest, latest.c.account_id == accounts.c.id))
        .where(or_(latest.c.through.is_(None), latest.c.through < before))
        .order_by(accounts.c.id)
    )
    return [account_of(r) for r in rows]


def forget_usage(conn: Connection, account_id: int, *, since: datetime | None = None) -> None:
    """Drop cached days that a change at `since` (or any change: None) makes wrong; never a
    final day, whose rows are gone: nothing could compute it again."""
    if since is None:
        conn.execute(_FORGET, {"account_id": account_id})
    else:
        conn.execute(_FORGET_SINCE, {"account_id": account_id, "since": since})


# Built once: nearly every write transaction runs one of them.
_FORGET = usage_days_table.delete().where(
    usage_days_table.c.account_id == bindparam("account_id"), usage_days_table.c.final.is_(False)
)
_FORGET_SINCE = _FORGET.where(usage_days_table.c.through >= bindparam("since"))


def denials_in(
    conn: Connection, account_id: int, *, since: datetime, until: datetime
) -> list[Denial]:
    """Refused opens in [since, until): when, and who asked (domain.usage.asker)."""
    d = denials.c
    rows = conn.execute(
        select(d.at, d.user_id, d.requester, d.id).where(
            d.account_id == account_id, d.at >= since, d.at < until
        )
    )
    return [(r.at, asker(r.user_id, r.requester, r.id)) for r in rows]
