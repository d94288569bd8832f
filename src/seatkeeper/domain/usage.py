"""Concurrency history: daily peaks in the account's time zone, and the figures built on them."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from seatkeeper.domain.words import plural

WINDOW_DAYS = 30


@dataclass(frozen=True, slots=True)
class Interval:
    """When a session held its license: [start, end), end None while it is still open."""

    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: date
    max_concurrent: int
    denials: int
    account_existed: bool  # days before the account existed do not count in the average
    minutes_at_cap: int = 0  # whole minutes with every license in use
    peak_demand: int = 0  # the most licenses wanted at once, refused opens counted
    overdraft_peak: int = 0  # the most sessions open at once beyond the licenses
    # Session-minutes beyond the licenses (2 sessions over for 30 minutes: 60); None when
    # unknown (a day kept before they were counted, whose session rows are gone).
    overdraft_minutes: int | None = 0
    # The line for a license (domain.waiting), counted from the places, never kept: places
    # asked; the longest wait of those seated, and the longest from a license freeing to
    # its waiter taking the session (seconds; None when there was none).
    waited: int = 0
    longest_wait_seconds: int | None = None
    longest_seating_seconds: int | None = None


Denial = tuple[datetime, str]  # when an open was refused, and who asked (see `asker`)


def asker(user_id: int | None, requester: str | None, denial_id: int) -> str:
    """Who asked, in a refused open, as the demand counts people (see `tally`): an agent
    by their user, wherever they asked from; a Guest by the address and browser they
    asked from (`requester`, hashed), so that one browser asking again and again counts
    once; a Guest refusal that knows neither, on its own."""
    if user_id is not None:
        return f"user {user_id}"
    if requester is not None:
        return f"browser {requester}"
    return f"guest {denial_id}"


@dataclass(frozen=True, slots=True)
class UsageReport:
    current: int
    total: int
    daily_average: float
    daily_max: int
    days: tuple[DayUsage, ...]
    licenses_needed: int = 0  # the peak demand over the window: none refused with this many


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a calendar day begins in `tz` (23 or 25 hours apart across DST)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def window_days(now: datetime, tz: ZoneInfo, days: int = WINDOW_DAYS) -> list[date]:
    """The `days` calendar days ending today in `tz`, oldest first."""
    today = now.astimezone(tz).date()
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def window_bounds(
    now: datetime, tz: ZoneInfo, days: int = WINDOW_DAYS
) -> tuple[datetime, datetime]:
    """The UTC instants the usage window begins and ends (the end of today in `tz`)."""
    calendar = window_days(now, tz, days)
    return day_start(calendar[0], tz), day_start(calendar[-1] + timedelta(days=1), tz)


def report_from_intervals(
    intervals: Iterable[Interval],
    denials: Iterable[Denial],
    *,
    now: datetime,
    tz: ZoneInfo,
    licenses: int,
    account_created_at: datetime,
    days: int = WINDOW_DAYS,
    calendar: Sequence[date] = (),
) -> UsageReport:
    """Daily peaks, denials, time at the cap and demand, Current, Daily Average and Daily
    Max as of `now`, straight from the sessions and the refused opens: the plain
    computation that the kept days (services.history.usage_report) are checked against.

    Intervals are half-open, so a session that starts at the very instant
    another ends does not overlap it. `calendar` (consecutive days, oldest first) is the
    period reported, the `days` ending today unless given.
    """
    calendar = list(calendar) or window_days(now, tz, days)
    starts = [day_start(d, tz) for d in calendar]
    ends = [*starts[1:], day_start(calendar[-1] + timedelta(days=1), tz)]
    spans = list(intervals)
    refused = sorted(denials)
    current = sum(1 for s in spans if s.start <= now and (s.end is None or s.end > now))
    tallies = []
    for start, end in zip(starts, ends, strict=True):
        open_then = sum(1 for s in spans if s.start <= start and (s.end is None or s.end > start))
        events = [(s.start, 1) for s in spans if start < s.start <= end]
        events += [(s.end, -1) for s in spans if s.end is not None and start < s.end <= end]
        tallies.append(
            tally(
                Tally.opening(start, open_then),
                events,
                [r for r in refused if start <= r[0] < end],
                until=end,
                now=now,
                licenses=licenses,
                recent=[r for r in refused if start - DEMAND_WINDOW < r[0] < start],
            )
        )
    return summarize(
        calendar,
        tallies,
        _daily_counts((at for at, _ in refused), starts, ends),
        current=current,
        licenses=licenses,
        existed=[end > account_created_at for end in ends],
    )


def summarize(
    calendar: Sequence[date],
    tallies: Sequence[Tally],
    denials: Sequence[int],
    *,
    current: int,
    licenses: int,
    existed: Sequence[bool],
) -> UsageReport:
    """The report from each day's tally and denials (days before the account are not
    averaged, nor counted in the licenses needed)."""
    report_days = tuple(
        DayUsage(
            day,
            t.peak,
            count,
            account_existed=there,
            minutes_at_cap=t.at_cap // timedelta(minutes=1),
            peak_demand=t.demand,
            overdraft_peak=t.overdraft_peak,
            overdraft_minutes=None if t.overdraft is None else t.overdraft // timedelta(minutes=1),
        )
        for day, t, count, there in zip(calendar, tallies, denials, existed, strict=True)
    )
    counted = [d for d in report_days if d.account_existed]
    return UsageReport(
        current=current,
        total=licenses,
        daily_average=sum(d.max_concurrent for d in counted) / len(counted) if counted else 0.0,
        daily_max=max((d.max_concurrent for d in report_days), default=0),
        days=report_days,
        licenses_needed=max((d.peak_demand for d in counted), default=0),
    )


def advice(report: UsageReport, *, over: str | None = None) -> str:
    """The right-sizing hint, in one sentence; `over` names the period ("over the last 12
    months"), the past so many days if None."""
    counted = [d for d in report.days if d.account_existed]
    refused = sum(d.denials for d in counted)
    days = sum(1 for d in counted if d.denials)
    total, needed = report.total, report.licenses_needed
    if not refused:
        peak = max((d.max_concurrent for d in counted), default=0)
        past = f"in the past {plural(len(report.days), 'day')}"
        return (
            f"No open was refused {over or past}; "
            f"at most {peak} of the {plural(total, 'license')} {'was' if peak == 1 else 'were'} "
            "in use at once."
        )
    opens = plural(refused, "open was", "opens were")
    when = f"on {plural(days, 'day')} {over or f'of the past {len(report.days)}'}"
    if needed > total:
        more = f"{needed - total} more than the {total} the account has"
    else:
        more = f"the account has {total} now"
    would = plural(needed, "license would", "licenses would")
    return f"{opens} refused {when}; {would} have avoided every refusal ({more})."


def _daily_counts(
    instants: Iterable[datetime], starts: Sequence[datetime], ends: Sequence[datetime]
) -> list[int]:
    """How many instants fall within each [start, end) day."""
    counts = [0] * len(starts)
    for at in instants:
        n = bisect_right(starts, at) - 1
        if n >= 0 and at < ends[n]:
            counts[n] += 1
    return counts


DEMAND_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Tally:
    """A day's figures, carried through its events in time order up to `at`."""

    at: datetime
    count: int  # sessions open at `at`, after every event at that instant
    peak: int  # the most open at once since the day began
    at_cap: timedelta  # how long every license was in use
    demand: int  # the most licenses wanted at once (see `tally`)
    overdraft_peak: int  # the most open at once beyond the licenses (0 if never more)
    overdraft: timedelta | None  # session-time beyond the licenses; None when unknown

    @classmethod
    def opening(cls, at: datetime, count: int) -> Tally:
        """A day's tally at its start: the sessions open at midnight count on the new day
        (its overdraft peak is set by `tally`, which knows the licenses)."""
        return cls(at, count, count, timedelta(0), count, 0, timedelta(0))


def tally(
    start: Tally,
    sessions: Iterable[tuple[datetime, int]],
    denials: Iterable[Denial],
    *,
    until: datetime,
    licenses: int,
    now: datetime | None = None,
    recent: Iterable[Denial] = (),
) -> Tally:
    """Carry a day's tally from `start.at` through its events, up to `until`.

    `sessions` are starts (+1) and ends (-1) in (start.at, until]: those at `until`
    change the count that the next tally starts from, not this day's figures. Ends
    come before starts at the same instant, so touching sessions never overlap.
    `denials` are the refused opens in [start.at, until), and `recent` those in the
    `DEMAND_WINDOW` before `start.at`. Time at the cap runs while the count is at least
    `licenses`, up to `until` (or `now`, if sooner). The demand at a refused open is
    the sessions open then plus everyone refused in the window before it (each `asker`
    once: an agent, or a Guest's address and browser); the day's demand is the most of
    these, and never less than its peak. The overdraft is the session-time beyond
    `licenses` (each session over them counts), over the same span as time at the cap.
    """
    stop = until if now is None else min(until, now)
    count, peak, at_cap, demand = start.count, start.peak, start.at_cap, start.demand
    over = start.overdraft
    position = start.at
    # The denials of the last DEMAND_WINDOW, oldest first, and how often each asked in it:
    # one pass over the day, however many denials pile up in the window.
    window = deque(sorted(recent))
    asking = Counter(who for _, who in window)
    # Ends (0), then starts (1), then denials (2) at the same instant.
    events = sorted(
        [(at, 0 if delta < 0 else 1, delta, "") for at, delta in sessions]
        + [(at, 2, 0, who) for at, who in denials]
    )
    later = 0  # the sessions' events at `until`
    for at, kind, delta, who in events:
        if at >= until:
            later += delta
            continue
        at_cap, over = _held(at_cap, over, count - licenses, min(at, stop) - position)
        position = max(position, min(at, stop))
        if kind < 2:
            count += delta
            peak = max(peak, count)
        else:
            demand = max(demand, count + _asking(window, asking, at, who))
    at_cap, over = _held(at_cap, over, count - licenses, stop - position)
    return Tally(
        max(position, stop),
        count + later,
        peak,
        at_cap,
        max(demand, peak),
        max(0, peak - licenses),
        over,
    )


def _held(
    at_cap: timedelta, over: timedelta | None, beyond: int, span: timedelta
) -> tuple[timedelta, timedelta | None]:
    """Time at the cap and the overdraft carried through `span`, with `beyond` sessions
    open beyond the licenses (at the cap from 0 on, over them above it)."""
    if beyond < 0 or span <= timedelta(0):
        return at_cap, over
    return at_cap + span, None if over is None else over + span * beyond


def _asking(window: deque[Denial], asking: Counter[str], at: datetime, who: str) -> int:
    """How many asked in the `DEMAND_WINDOW` up to `at`, once `who` asked then."""
    window.append((at, who))
    asking[who] += 1
    while window[0][0] <= at - DEMAND_WINDOW:
        _, gone = window.popleft()
        asking[gone] -= 1
        if not asking[gone]:
            del asking[gone]
    return len(asking)


@dataclass(frozen=True, slots=True)
class UsageDay:
    """A cached day of the usage graph (see tables.usage_days)."""

    day: date
    through: datetime
    max_concurrent: int
    denials: int
    open_at_through: int
    at_cap: timedelta
    peak_demand: int
    licenses: int  # the total the day was computed against (its time at the cap)
    final: bool = False  # its session rows are gone (retention): kept as it is, for good
    overdraft: timedelta | None = timedelta(0)  # session-time beyond the licenses

    @classmethod
    def of(cls, day: date, tally: Tally, denials: int, licenses: int) -> UsageDay:
        return cls(
            day,
            tally.at,
            tally.peak,
            denials,
            tally.count,
            tally.at_cap,
            tally.demand,
            licenses,
            overdraft=tally.overdraft,
        )

    @property
    def tally(self) -> Tally:
        return Tally(
            self.through,
            self.open_at_through,
            self.max_concurrent,
            self.at_cap,
            self.peak_demand,
            max(0, self.max_concurrent - self.licenses),
            self.overdraft,
        )
