"""Use beyond the licenses in the usage figures: each day's overdraft peak and minutes, and
each month's, worked out by hand and against a minute-by-minute brute force."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seatkeeper.domain.trueup import months
from seatkeeper.domain.usage import (
    DayUsage,
    Interval,
    Tally,
    UsageDay,
    UsageReport,
    day_start,
    report_from_intervals,
    tally,
)
from tests.domain.test_usage import ZONES

PARIS = ZoneInfo("Europe/Paris")
MINUTE = timedelta(minutes=1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def report(
    spans: list[Interval], calendar: list[date], *, licenses: int, now: datetime
) -> UsageReport:
    return report_from_intervals(
        spans,
        [],
        now=now,
        tz=PARIS,
        licenses=licenses,
        account_created_at=day_start(calendar[0], PARIS) - timedelta(days=1),
        calendar=calendar,
    )


def test_minutes_count_every_session_beyond_the_licenses() -> None:
    day = date(2026, 3, 10)
    four = [Interval(at(day, 10), at(day, 10, 30)) for _ in range(4)]
    late = Interval(at(day, 10, 15), at(day, 11))
    (got,) = report([*four, late], [day], licenses=2, now=at(day, 23)).days
    # 10:00-10:15: 4 open, 2 beyond for 15 minutes; 10:15-10:30: 5 open, 3 beyond for 15.
    assert (got.overdraft_peak, got.overdraft_minutes) == (3, 2 * 15 + 3 * 15)
    assert got.minutes_at_cap == 30  # at or above the licenses: 10:00-10:30


def test_use_up_to_the_licenses_is_no_overdraft() -> None:
    day = date(2026, 3, 10)
    spans = [Interval(at(day, 9), at(day, 17)) for _ in range(3)]
    (got,) = report(spans, [day], licenses=3, now=at(day, 23)).days
    assert (got.overdraft_peak, got.overdraft_minutes, got.minutes_at_cap) == (0, 0, 8 * 60)


def test_days_of_23_and_25_hours_count_every_minute_they_have() -> None:
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)  # Paris changes its clocks
    for day, hours in [(spring, 23), (autumn, 25)]:
        before, after = day - timedelta(days=1), day + timedelta(days=1)
        spans = [Interval(at(before, 12), at(after, 12)) for _ in range(3)]
        got = report(spans, [before, day, after], licenses=1, now=at(after, 23)).days
        assert [d.overdraft_peak for d in got] == [2, 2, 2]
        # Two sessions beyond the license, from noon the day before to noon the day after.
        assert [d.overdraft_minutes for d in got] == [2 * 12 * 60, 2 * hours * 60, 2 * 12 * 60]


def test_a_session_still_open_counts_up_to_now_only() -> None:
    day = date(2026, 3, 10)
    spans = [Interval(at(day, 8), None), Interval(at(day, 9), None)]
    (got,) = report(spans, [day], licenses=1, now=at(day, 9, 20)).days
    assert (got.overdraft_peak, got.overdraft_minutes) == (1, 20)


def test_a_tally_carried_in_two_steps_counts_as_one() -> None:
    start = datetime(2026, 3, 10, tzinfo=UTC)
    events = [(start + timedelta(hours=h), 1) for h in (1, 2, 3)]
    events.append((start + timedelta(hours=5), -1))
    whole = tally(Tally.opening(start, 1), events, [], until=start + timedelta(days=1), licenses=2)
    half = tally(
        Tally.opening(start, 1),
        events[:2],
        [],
        until=start + timedelta(days=1),
        now=start + timedelta(hours=2, minutes=30),
        licenses=2,
    )
    kept = UsageDay.of(date(2026, 3, 10), half, 0, 2)
    rest = tally(kept.tally, events[2:], [], until=start + timedelta(days=1), licenses=2)
    # 02:00-03:00 one beyond, 03:00-05:00 two, then one until midnight.
    assert whole.overdraft == rest.overdraft == timedelta(hours=1 + 4 + 19)
    assert whole.overdraft_peak == rest.overdraft_peak == 2


def day_of(when: date, peak: int, over: int, minutes: int | None) -> DayUsage:
    return DayUsage(
        when, peak, 0, account_existed=True, overdraft_peak=over, overdraft_minutes=minutes
    )


def test_a_month_has_the_highest_peak_of_its_days_and_the_sum_of_their_minutes() -> None:
    march, april = months(
        [
            day_of(date(2026, 3, 30), 7, 2, 45),
            day_of(date(2026, 3, 31), 9, 4, 10),
            day_of(date(2026, 4, 1), 5, 0, 0),
            day_of(date(2026, 4, 2), 6, 1, None),  # kept before overdraft was counted
        ]
    )
    assert (march.overdraft_peak, march.overdraft_minutes) == (4, 55)
    assert (april.overdraft_peak, april.overdraft_minutes) == (1, None)  # not made up


@st.composite
def crowded_days(
    draw: st.DrawFn,
) -> tuple[ZoneInfo, list[date], list[Interval], int, datetime]:
    """A few days around a clock change, crowded with sessions on a minute grid, and a
    license total small enough to be passed."""
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    first = draw(st.sampled_from([date(2026, 3, 28), date(2026, 4, 4), date(2026, 10, 24)]))
    first += timedelta(days=draw(st.integers(0, 2)))
    calendar = [first + timedelta(days=n) for n in range(draw(st.integers(1, 3)))]
    earliest = day_start(first, tz) - timedelta(hours=6)
    latest = day_start(calendar[-1] + timedelta(days=1), tz) + timedelta(hours=6)
    minutes = int((latest - earliest) / MINUTE)
    spans = []
    for _ in range(draw(st.integers(0, 12))):
        start = earliest + MINUTE * draw(st.integers(0, minutes))
        length = MINUTE * draw(st.integers(0, 36 * 60))
        spans.append(Interval(start, None if draw(st.booleans()) else start + length))
    now = earliest + MINUTE * draw(st.integers(0, minutes))
    spans = [s for s in spans if s.start <= now]
    spans = [s if s.end is None or s.end <= now else Interval(s.start, None) for s in spans]
    return tz, calendar, spans, draw(st.integers(0, 3)), now


def minute_by_minute(
    spans: list[Interval], start: datetime, stop: datetime, licenses: int
) -> tuple[int, int]:
    """The overdraft peak and minutes of [start, stop), one minute at a time."""
    peak = minutes = 0
    t = start
    while t < stop:
        held = sum(1 for s in spans if s.start <= t and (s.end is None or t < s.end))
        peak, minutes = max(peak, held - licenses), minutes + max(0, held - licenses)
        t += MINUTE
    return peak, minutes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowded_days())
def test_overdraft_matches_a_minute_by_minute_count(
    case: tuple[ZoneInfo, list[date], list[Interval], int, datetime],
) -> None:
    tz, calendar, spans, licenses, now = case
    got = report_from_intervals(
        spans,
        [],
        now=now,
        tz=tz,
        licenses=licenses,
        account_created_at=day_start(calendar[0], tz),
        calendar=calendar,
    )
    for day in got.days:
        start, end = day_start(day.day, tz), day_start(day.day + timedelta(days=1), tz)
        # The peak is the whole day's (a session open now holds on); minutes run up to now.
        peak, _ = minute_by_minute(spans, start, end, licenses)
        _, minutes = minute_by_minute(spans, start, min(end, now), licenses)
        assert (day.overdraft_peak, day.overdraft_minutes) == (max(0, peak), minutes), day.day
    by_month = months(got.days)
    assert sum(m.overdraft_minutes or 0 for m in by_month) == sum(
        d.overdraft_minutes or 0 for d in got.days
    )
    assert max(m.overdraft_peak for m in by_month) == max(d.overdraft_peak for d in got.days)
