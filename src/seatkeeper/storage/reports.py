"""The reports' rows: the sessions that held a license on a day, the kept figures of who
held licenses and of shorter timeouts, and the names of the holders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, func, select

from seatkeeper.domain.holders import DayFigures, HolderDay, Span, TimeoutDay
from seatkeeper.storage.tables import agent_sessions, usage_day_holders, usage_day_timeouts, users
from seatkeeper.storage.tables import usage_days as usage_days_table

_s = agent_sessions.c
_SPAN = (
    _s.user_id,
    _s.started_at,
    _s.last_activity_at,
    _s.expires_at,
    _s.ended_at,
    _s.end_reason,
)
MICRO = timedelta(microseconds=1)


def _spans(conn: Connection, query: Select[Any], now: datetime) -> list[Span]:
    return [
        Span.of(r.user_id, r.started_at, r.last_activity_at, r.expires_at, r.ended_at,
                r.end_reason, now=now)
        for r in conn.execute(query)
    ]  # fmt: skip


def day_spans(
    conn: Connection,
    account_id: int,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    open_at_start: int | None = None,
) -> list[Span]:
    """The sessions that held a license at some instant of [start, end), as of `now`.

    Each part is read by an index: those started within it (by their start), those that
    began before and ended within it (by their end), those still open (few). Those held
    through the whole day, from before to after it, are read by their start from the
    day's beginning back, and the read stops once it has them all: `open_at_start`
    (how many held a license at `start`, as the day before's kept usage day says) tells
    how many there are; unknown (None), every earlier session is looked at."""
    started = select(*_SPAN).where(
        _s.account_id == account_id, _s.started_at >= start, _s.started_at < end
    )
    ended = select(*_SPAN).where(
        _s.account_id == account_id,
        _s.ended_at > start,
        _s.ended_at <= end,
        _s.started_at < start,
    )
    still_open = select(*_SPAN).where(
        _s.account_id == account_id, _s.ended_at.is_(None), _s.started_at < start
    )
    spans = _spans(conn, started, now) + _spans(conn, ended, now)
    spans += [s for s in _spans(conn, still_open, now) if s.end is None or s.end > start]
    through = open_at_start
    if through is not None:  # less those held at `start` found already
        through -= sum(1 for s in spans if s.start <= start and (s.end is None or s.end > start))
    if through is None or through > 0:
        query = select(*_SPAN).where(
            _s.account_id == account_id, _s.started_at < start, _s.ended_at > end
        )
        if through is not None:
            query = query.order_by(_s.started_at.desc()).limit(through)
        spans += _spans(conn, query, now)
    return spans


def figured(
    conn: Connection, account_id: int, time_zone: str, *, first: date, last: date
) -> set[date]:
    """The days in [first, last] whose figures are kept."""
    t = usage_day_timeouts.c
    return set(
        conn.execute(
            select(t.day)
            .distinct()
            .where(t.account_id == account_id, t.time_zone == time_zone, t.day.between(first, last))
        ).scalars()
    )


def figured_days(
    conn: Connection, account_id: int, time_zone: str, *, first: date, last: date
) -> dict[date, DayFigures]:
    """The kept figures of the days in [first, last] that have them (their timeouts rows),
    with each day's peak from its usage day."""
    t, h, u = usage_day_timeouts.c, usage_day_holders.c, usage_days_table.c
    within = (t.account_id == account_id, t.time_zone == time_zone, t.day.between(first, last))
    timeouts: dict[date, list[TimeoutDay]] = defaultdict(list)
    peaks: dict[date, int] = {}
    joined = usage_day_timeouts.join(
        usage_days_table,
        and_(u.account_id == t.account_id, u.time_zone == t.time_zone, u.day == t.day),
    )
    rows = conn.execute(
        select(t.day, t.minutes, t.peak, t.freed_micros, u.max_concurrent)
        .select_from(joined)
        .where(*within)
        .order_by(t.day, t.minutes)
    )
    for r in rows:
        timeouts[r.day].append(TimeoutDay(r.minutes, r.peak, r.freed_micros * MICRO))
        peaks[r.day] = r.max_concurrent
    holders: dict[date, list[HolderDay]] = defaultdict(list)
    rows = conn.execute(
        select(h.day, h.holder_id, h.held_micros, h.idle_micros, h.sessions, h.longest_micros)
        .where(h.account_id == account_id, h.time_zone == time_zone, h.day.between(first, last))
        .order_by(h.day, h.holder_id)
    )
    for r in rows:
        holders[r.day].append(
            HolderDay(
                r.holder_id, r.held_micros * MICRO, r.idle_micros * MICRO, r.sessions,
                r.longest_micros * MICRO,
            )
        )  # fmt: skip
    return {
        day: DayFigures(day, peaks[day], tuple(holders[day]), tuple(timeouts[day]))
        for day in timeouts
    }


def figured_sum(
    conn: Connection, account_id: int, time_zone: str, *, first: date, last: date
) -> tuple[DayFigures | None, set[date]]:
    """The kept figures of the days in [first, last] that have them, summed by the
    database as a period's reports sum days (per holder: time held and idle and sessions
    added, the longest session the longest; per candidate: time freed added, the peak the
    highest); and which days those are. A year of a busy account's holders is a million
    rows or more: they are added where they are."""
    t, h, u = usage_day_timeouts.c, usage_day_holders.c, usage_days_table.c
    days = set(
        conn.execute(
            select(t.day)
            .distinct()
            .where(t.account_id == account_id, t.time_zone == time_zone, t.day.between(first, last))
        ).scalars()
    )
    if not days:
        return None, days
    peak = conn.execute(
        select(func.max(u.max_concurrent)).where(
            u.account_id == account_id, u.time_zone == time_zone, u.day.in_(days)
        )
    ).scalar_one()
    timeouts = conn.execute(
        select(t.minutes, func.max(t.peak), func.sum(t.freed_micros))
        .where(t.account_id == account_id, t.time_zone == time_zone, t.day.in_(days))
        .group_by(t.minutes)
        .order_by(t.minutes)
    )
    holders = conn.execute(
        select(
            h.holder_id,
            func.sum(h.held_micros),
            func.sum(h.idle_micros),
            func.sum(h.sessions),
            func.max(h.longest_micros),
        )
        .where(h.account_id == account_id, h.time_zone == time_zone, h.day.in_(days))
        .group_by(h.holder_id)
        .order_by(h.holder_id)
    )
    return DayFigures(
        first,
        int(peak or 0),
        tuple(
            HolderDay(holder, int(held) * MICRO, int(idle) * MICRO, int(n), int(longest) * MICRO)
            for holder, held, idle, n, longest in holders
        ),
        tuple(TimeoutDay(m, int(top), int(freed) * MICRO) for m, top, freed in timeouts),
    ), days


def earlier_figured_days(
    conn: Connection, account_id: int, time_zone: str, *, first: date, last: date
) -> dict[date, DayFigures]:
    """The kept figures of the final days in [first, last] (their rows are gone) kept in
    time zones other than `time_zone`: the account's before it changed."""
    u = usage_days_table.c
    finals = conn.execute(
        select(u.time_zone, u.day).where(
            u.account_id == account_id,
            u.time_zone != time_zone,
            u.final.is_(True),
            u.day.between(first, last),
        )
    ).all()
    found: dict[date, DayFigures] = {}
    for zone in sorted({zone for zone, _ in finals}):
        days = figured_days(conn, account_id, zone, first=first, last=last)
        found.update((day, days[day]) for z, day in finals if z == zone and day in days)
    return found


def store_figures(
    conn: Connection, account_id: int, time_zone: str, days: Sequence[DayFigures]
) -> None:
    """Keep these days' figures. Each belongs to its kept usage day, and goes with it."""
    key = {"account_id": account_id, "time_zone": time_zone}
    holders = [
        {
            **key,
            "day": d.day,
            "holder_id": h.holder,
            "held_micros": h.held // MICRO,
            "idle_micros": h.idle // MICRO,
            "sessions": h.sessions,
            "longest_micros": h.longest // MICRO,
        }
        for d in days
        for h in d.holders
    ]
    timeouts = [
        {
            **key,
            "day": d.day,
            "minutes": t.minutes,
            "peak": t.peak,
            "freed_micros": t.freed // MICRO,
        }
        for d in days
        for t in d.timeouts
    ]
    if holders:
        conn.execute(usage_day_holders.insert(), holders)
    if timeouts:
        conn.execute(usage_day_timeouts.insert(), timeouts)


def holder_names(conn: Connection, account_id: int, holders: Collection[int]) -> dict[int, str]:
    """The usernames of these holders (user ids) in the account."""
    wanted = sorted(holders)
    names: dict[int, str] = {}
    for n in range(0, len(wanted), 1000):  # a bounded IN list, however many agents
        rows = conn.execute(
            select(users.c.id, users.c.username).where(
                users.c.account_id == account_id, users.c.id.in_(wanted[n : n + 1000])
            )
        )
        names.update((r.id, r.username) for r in rows)
    return names


def first_start(conn: Connection, account_id: int) -> datetime | None:
    """When the account's oldest session row began (None: it has none)."""
    found: datetime | None = conn.execute(
        select(_s.started_at).where(_s.account_id == account_id).order_by(_s.started_at).limit(1)
    ).scalar_one_or_none()
    return found
