"""The usage graph's figures at scale: each day is computed once from the session rows and
kept (storage's usage_days); a request only reads what changed since the last day kept.

The cache follows the session rows exactly: a day is kept only once it is over (or, for
today, up to a couple of minutes ago), computed from the sessions' recorded or implied
ends, and whatever writes in the past drops the days it touches (storage's unit of work).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seatkeeper.domain import periods, usage, waiting
from seatkeeper.domain.model import Account
from seatkeeper.domain.periods import Period
from seatkeeper.domain.usage import UsageDay
from seatkeeper.storage import sessions as stored_sessions
from seatkeeper.storage import usage as stored_usage
from seatkeeper.storage import waits as stored_waits
from seatkeeper.storage.db import Database

log = logging.getLogger("seatkeeper.history")

# Today is kept only up to this long ago: a session another instance opens "now" by a
# clock a little behind ours still lands after what is kept.
SETTLE = timedelta(minutes=2)
WINDOW = usage.WINDOW_DAYS  # the Active Agents page's period, in days


@dataclass(frozen=True, slots=True)
class _Window:
    """The period's days in the account's zone, and the instants each starts and ends."""

    calendar: list[date]
    starts: list[datetime]
    ends: list[datetime]

    @classmethod
    def of(cls, account: Account, period: Period) -> _Window:
        tz = account.zone
        calendar = period.days
        starts = [usage.day_start(d, tz) for d in calendar]
        ends = [*starts[1:], usage.day_start(calendar[-1] + timedelta(days=1), tz)]
        return cls(calendar, starts, ends)


def usage_report(
    conn: Connection,
    account: Account,
    now: datetime,
    *,
    period: Period | None = None,
    on_day: Callable[[], None] | None = None,
    use_kept: bool = True,
) -> tuple[usage.UsageReport, list[UsageDay]]:
    """The usage figures of `period` (the last 30 days by default) as of `now`, and the
    days worth keeping that were not kept yet (every day, without `use_kept`). `on_day` is
    told of each day as it is done (kept days at once)."""
    tick = on_day or (lambda: None)
    window = _Window.of(account, period or periods.last_days(_today(account, now), WINDOW))
    kept = _kept(conn, account, window, use_kept=use_kept)
    tallies, denied, current = _from_kept(conn, account, window, kept)
    first = len(tallies)  # the first day to compute: only final days are used from here on
    fresh: list[UsageDay] = []
    settled = now - SETTLE
    for n in range(first, len(window.calendar)):
        start, end, day = window.starts[n], window.ends[n], window.calendar[n]
        row = kept.get(day)
        if row is not None and row.final:  # its rows are gone: as it was kept
            current = row.tally
            tallies.append(current)
            denied.append(row.denials)
            tick()
            continue
        if n > first:  # sessions open at midnight count on the new day
            current = _opening(conn, account, current, start)
        if end <= settled:  # a day that is over: keep all of it
            current = _advance(conn, account, current, end, end)
            denials = stored_usage.count_denials(conn, account.id, since=start, until=end)
            fresh.append(UsageDay.of(day, current, denials, account.licenses))
        else:  # today (or a day just over): keep it up to `settled`, read the rest
            if current.at < settled < end:
                current = _advance(conn, account, current, end, settled)
                fresh.append(UsageDay.of(day, current, 0, account.licenses))
            current = _advance(conn, account, current, end, now)
            denials = stored_usage.count_denials(conn, account.id, since=start, until=end)
        tallies.append(current)
        denied.append(denials)
        tick()
    for _ in range(first):  # the kept days, done at once
        tick()
    if window.ends[-1] <= now:  # a period in the past: Current is still now (read from
        # the open sessions' index, not from every session row started before now)
        current = usage.Tally.opening(
            now, stored_sessions.count_open_sessions(conn, account.id, now)
        )
    report = usage.summarize(
        window.calendar,
        tallies,
        denied,
        current=current.count,
        licenses=account.licenses,
        existed=[end > account.created_at for end in window.ends],
    )
    return report, fresh


def group_usage_report(
    conn: Connection, account: Account, now: datetime, *, period: Period, group_id: int
) -> usage.UsageReport:
    """The usage figures of `period` from only the sessions that counted under a seat group,
    computed from their rows (the kept days are the whole account's). Refused opens count
    under no group: the group's days have none."""
    window = _Window.of(account, period)
    intervals = stored_usage.session_intervals(
        conn, account.id, since=window.starts[0], now=now, group_id=group_id
    )
    return usage.report_from_intervals(
        intervals,
        (),
        now=now,
        tz=account.zone,
        licenses=account.licenses,
        account_created_at=account.created_at,
        calendar=window.calendar,
    )


def with_line(
    conn: Connection, account: Account, report: usage.UsageReport, *, period: Period
) -> usage.UsageReport:
    """The report with each day's line figures: places asked, the longest wait and the
    longest seating, counted from the places in the account's zone (never kept)."""
    window = _Window.of(account, period)
    spans = stored_waits.wait_spans(conn, account.id, since=window.starts[0], until=window.ends[-1])
    return waiting.with_waits(report, waiting.daily_waits(spans, window.starts, window.ends))


def _today(account: Account, now: datetime) -> date:
    return now.astimezone(account.zone).date()


def _kept(
    conn: Connection, account: Account, window: _Window, *, use_kept: bool = True
) -> dict[date, UsageDay]:
    """The kept days of the window that still hold (without `use_kept`, final days only):
    time at the cap depends on the total, but a final day (its session rows are gone) is
    as it was kept; a day kept without its overdraft (by an earlier version) is counted
    again. After a change of time zone, a date whose rows are gone in the new
    zone shows the final day the earlier zone kept for it (its figures as they were then,
    by the earlier zone's calendar day)."""
    first, last = window.calendar[0], window.calendar[-1]
    stored = stored_usage.usage_days(conn, account.id, account.time_zone, first, last=last)
    kept = {
        day: row
        for day, row in stored.items()
        if row.final
        or (use_kept and row.licenses == account.licenses and row.overdraft is not None)
    }
    earlier = stored_usage.final_days(conn, account.id, first, last, besides=account.time_zone)
    return {**earlier, **kept}


def _from_kept(
    conn: Connection, account: Account, window: _Window, kept: dict[date, UsageDay]
) -> tuple[list[usage.Tally], list[int], usage.Tally]:
    """The whole days kept from the window's first on, and the tally to go on from."""
    tallies: list[usage.Tally] = []
    denied: list[int] = []
    for day, end in zip(window.calendar, window.ends, strict=True):
        row = kept.get(day)
        if row is None or not (row.final or row.through == end):
            break
        tallies.append(row.tally)
        denied.append(row.denials)
    first = len(tallies)
    if first == len(window.calendar):  # all kept, today too (by a clock ahead of ours)
        return tallies, denied, tallies[-1]
    row = kept.get(window.calendar[first])
    partly = row is not None and row.through < window.ends[first]
    if row is not None and partly and (first > 0 or row.through >= window.starts[0]):
        return tallies, denied, row.tally
    start = window.starts[first]
    if first:
        return tallies, denied, _opening(conn, account, tallies[-1], start)
    return tallies, denied, _opening(conn, account, _day_before(conn, account, window), start)


def _day_before(conn: Connection, account: Account, window: _Window) -> usage.Tally:
    """The tally the day before the window ended with, if it is kept (a period that follows
    another need not count the sessions held across their edge from the session rows)."""
    before = window.calendar[0] - timedelta(days=1)
    row = stored_usage.usage_days(conn, account.id, account.time_zone, before, last=before)
    if before in row:
        return row[before].tally
    return usage.Tally.opening(window.starts[0] - timedelta(days=1), 0)  # never its start


def _opening(
    conn: Connection, account: Account, before: usage.Tally, start: datetime
) -> usage.Tally:
    """A day's tally at its start, from the day before's: the sessions open at midnight
    count on the new day. After a day kept final in an earlier time zone (which ends at
    another instant), they are counted from the session rows."""
    if before.at == start:
        return usage.Tally.opening(start, before.count)
    return usage.Tally.opening(start, stored_usage.open_count_at(conn, account.id, start))


def _advance(
    conn: Connection, account: Account, tally: usage.Tally, until: datetime, upto: datetime
) -> usage.Tally:
    """The tally carried through what happened from `tally.at` up to `upto`."""
    return usage.tally(
        tally,
        stored_usage.session_events(conn, account.id, after=tally.at, until=min(until, upto)),
        stored_usage.denials_in(conn, account.id, since=tally.at, until=min(until, upto)),
        until=until,
        now=upto,
        licenses=account.licenses,
        recent=stored_usage.denials_in(
            conn, account.id, since=tally.at - usage.DEMAND_WINDOW, until=tally.at
        ),
    )


def keep(
    db: Database, account: Account, days: Sequence[UsageDay], *, replace_all: bool = False
) -> None:
    """Store computed days, so that the next requests need not compute them again (with
    `replace_all`, in place of every day kept before)."""
    if not days and not replace_all:
        return
    try:
        with db.write() as conn:
            stored_usage.store_usage_days(
                conn, account.id, account.time_zone, days, replace_all=replace_all
            )
    except IntegrityError:
        # Another request (or instance) kept these days at the same moment, from the same
        # rows: PostgreSQL lets both delete, then refuses the second insert.
        log.info("Usage days of account %s were kept by another transaction", account.slug)


WARM_BEHIND = timedelta(days=1)


def warm(db: Database, now: datetime, *, budget: timedelta = timedelta(seconds=5)) -> int:
    """Compute and keep the days of accounts that have none kept lately (after an upgrade,
    or a quiet spell), so that no one's first look waits for them. Stops once `budget`
    has passed; returns how many accounts it brought up to date."""
    began = time.monotonic()
    with db.read() as conn:
        behind = stored_usage.accounts_behind(conn, before=now - WARM_BEHIND)
    warmed = 0
    for account in behind:
        if time.monotonic() - began > budget.total_seconds():
            break
        with db.read() as conn:
            _, fresh = usage_report(conn, account, now)
        keep(db, account, fresh)
        warmed += 1
    return warmed


def keep_period(db: Database, account: Account, period: Period, now: datetime) -> int:
    """Compute and keep the days of `period` not kept yet; returns how many were kept."""
    with db.read() as conn:
        _, fresh = usage_report(conn, account, now, period=period)
    keep(db, account, fresh)
    return len(fresh)


def rebuild(
    db: Database, account: Account, now: datetime, *, on_day: Callable[[], None] | None = None
) -> None:
    """Compute the account's days again from the session rows, whatever was kept, and keep
    them in place of every day kept before (in any time zone, and days since gone from
    the window)."""
    with db.read() as conn:
        _, fresh = usage_report(conn, account, now, on_day=on_day, use_kept=False)
    keep(db, account, fresh, replace_all=True)
