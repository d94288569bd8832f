"""Concurrency history: daily peaks in the account's time zone, and the figures built on them."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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


@dataclass(frozen=True, slots=True)
class UsageReport:
    current: int
    total: int
    daily_average: float
    daily_max: int
    days: tuple[DayUsage, ...]


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


def usage_report(
    intervals: Iterable[Interval],
    denials: Iterable[datetime],
    *,
    now: datetime,
    tz: ZoneInfo,
    licenses: int,
    account_created_at: datetime,
    days: int = WINDOW_DAYS,
) -> UsageReport:
    """Daily peaks, denials, Current, Daily Average and Daily Max as of `now`.

    Intervals are half-open, so a session that starts at the very instant
    another ends does not overlap it.
    """
    calendar = window_days(now, tz, days)
    starts = [day_start(d, tz) for d in calendar]
    ends = [*starts[1:], day_start(calendar[-1] + timedelta(days=1), tz)]
    spans = list(intervals)
    current = sum(1 for s in spans if s.start <= now and (s.end is None or s.end > now))
    return summarize(
        calendar,
        _daily_peaks(spans, starts, ends),
        _daily_counts(denials, starts, ends),
        current=current,
        licenses=licenses,
        existed=[end > account_created_at for end in ends],
    )


def summarize(
    calendar: Sequence[date],
    peaks: Sequence[int],
    denials: Sequence[int],
    *,
    current: int,
    licenses: int,
    existed: Sequence[bool],
) -> UsageReport:
    """The report from each day's peak and denials (days before the account are not averaged)."""
    report_days = tuple(
        DayUsage(day, peak, count, account_existed=there)
        for day, peak, count, there in zip(calendar, peaks, denials, existed, strict=True)
    )
    counted = [d.max_concurrent for d in report_days if d.account_existed]
    return UsageReport(
        current=current,
        total=licenses,
        daily_average=sum(counted) / len(counted) if counted else 0.0,
        daily_max=max(peaks, default=0),
        days=report_days,
    )


def _daily_peaks(
    spans: Sequence[Interval], starts: Sequence[datetime], ends: Sequence[datetime]
) -> list[int]:
    """The maximum number of intervals open at once within each [start, end) day."""
    # Ends sort before starts at the same instant (-1 < +1): touching intervals never overlap.
    events = sorted(
        [(s.start, 1) for s in spans] + [(s.end, -1) for s in spans if s.end is not None]
    )
    peaks: list[int] = []
    open_now = 0
    i = 0
    for start, end in zip(starts, ends, strict=True):
        while i < len(events) and events[i][0] <= start:
            open_now += events[i][1]
            i += 1
        peak = open_now
        while i < len(events) and events[i][0] < end:
            open_now += events[i][1]
            peak = max(peak, open_now)
            i += 1
        peaks.append(peak)
    return peaks


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


def sweep(
    events: Iterable[tuple[datetime, int]],
    *,
    start_count: int,
    start_peak: int,
    until: datetime,
) -> tuple[int, int]:
    """Carry a concurrency count through events (+1 a start, -1 an end).

    `start_count` is the count at the segment's start (after every event at that
    instant). Returns the peak over the events before `until` (at least `start_peak`)
    and the count after every event, those at `until` included. Ends come before starts
    at the same instant, so touching sessions never overlap.
    """
    count, peak = start_count, start_peak
    for at, delta in sorted(events):
        count += delta
        if at < until:
            peak = max(peak, count)
    return peak, count
