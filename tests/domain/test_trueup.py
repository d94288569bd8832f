"""The true-up table: a report's days by calendar month, against a brute force that works
each month out from the sessions and refusals themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings

from seatkeeper.domain.trueup import MonthUsage, month_end, months
from seatkeeper.domain.usage import (
    DayUsage,
    Denial,
    Interval,
    day_start,
    report_from_intervals,
)
from tests.domain.test_usage import (
    clock_changes,
    long_histories,
    oracle_at_cap,
    oracle_demand,
    oracle_overdraft,
    oracle_peak,
    seeded_history,
)

LICENSES = 3


def oracle_months(
    spans: list[Interval],
    denials: list[Denial],
    *,
    now: datetime,
    tz: ZoneInfo,
    created: datetime,
    calendar: list[date],
) -> list[MonthUsage]:
    """Each calendar month of the period, worked out day by day from the rows."""
    found = []
    for key in sorted({(d.year, d.month) for d in calendar}):
        days = [d for d in calendar if (d.year, d.month) == key]
        bounds = [(day_start(d, tz), day_start(d + timedelta(days=1), tz)) for d in days]
        peaks = [oracle_peak(spans, start, end) for start, end in bounds]
        existed = [end > created for _, end in bounds]
        counted = [p for p, there in zip(peaks, existed, strict=True) if there]
        at_cap = [int(oracle_at_cap(spans, s, min(e, now), LICENSES)) for s, e in bounds]
        over = [int(oracle_overdraft(spans, s, min(e, now), LICENSES)) for s, e in bounds]
        demands = [
            oracle_demand(spans, denials, s, e, p)
            for (s, e), p, there in zip(bounds, peaks, existed, strict=True)
            if there
        ]
        found.append(
            MonthUsage(
                month=date(*key, 1),
                first=days[0],
                last=days[-1],
                peak=max(peaks),
                peak_day=days[peaks.index(max(peaks))],
                average=sum(counted) / len(counted) if counted else 0.0,
                minutes_at_cap=sum(at_cap),
                days_at_cap=sum(1 for m in at_cap if m),
                denials=sum(1 for at, _ in denials if bounds[0][0] <= at < bounds[-1][1]),
                licenses_needed=max(demands, default=0),
                account_existed=any(existed),
                overdraft_peak=max(0, max(peaks) - LICENSES),
                overdraft_minutes=sum(over),
            )
        )
    return found


def assert_months_match(
    spans: list[Interval],
    denials: list[Denial],
    *,
    now: datetime,
    tz: ZoneInfo,
    created: datetime,
    calendar: list[date],
) -> list[MonthUsage]:
    report = report_from_intervals(
        spans,
        denials,
        now=now,
        tz=tz,
        licenses=LICENSES,
        account_created_at=created,
        calendar=calendar,
    )
    got = list(months(report.days))
    assert got == oracle_months(spans, denials, now=now, tz=tz, created=created, calendar=calendar)
    return got


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_histories())
def test_months_match_brute_force_over_any_period(
    history: tuple[datetime, ZoneInfo, list[Interval], list[Denial], datetime, list[date]],
) -> None:
    now, tz, spans, denials, created, calendar = history
    got = assert_months_match(spans, denials, now=now, tz=tz, created=created, calendar=calendar)
    assert sum(m.days for m in got) == len(calendar)


def test_months_over_both_clock_changes_of_three_zones_match_brute_force() -> None:
    for zone in ("Europe/Paris", "America/New_York", "Australia/Lord_Howe"):
        tz = ZoneInfo(zone)
        first, last = date(2026, 2, 14), date(2026, 11, 20)
        assert len(clock_changes(tz, first, last)) == 2
        now = day_start(last, tz) + timedelta(hours=15)
        calendar = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        for seed in range(2):
            spans, denials = seeded_history(tz, first, last, seed)
            got = assert_months_match(
                spans, denials, now=now, tz=tz, created=day_start(first, tz), calendar=calendar
            )
            assert [m.month.month for m in got] == list(range(2, 12))
            assert (got[0].partial, got[1].partial, got[-1].partial) == (True, False, True)


def day(when: date, peak: int, **figures: int | bool) -> DayUsage:
    return DayUsage(
        when,
        peak,
        int(figures.get("denials", 0)),
        account_existed=bool(figures.get("existed", True)),
        minutes_at_cap=int(figures.get("at_cap", 0)),
        peak_demand=int(figures.get("demand", peak)),
    )


def test_months_of_28_29_30_and_31_days_are_whole_when_every_day_is_there() -> None:
    for first, length in [
        (date(2026, 2, 1), 28),
        (date(2028, 2, 1), 29),
        (date(2026, 4, 1), 30),
        (date(2026, 12, 1), 31),
    ]:
        days = [day(first + timedelta(days=n), n % 5) for n in range(length)]
        (month,) = months(days)
        assert (month.month, month.days, month.partial) == (first, length, False)
        assert month_end(first) == first + timedelta(days=length - 1)
        assert month.peak == 4
        assert month.peak_day == first + timedelta(days=4)  # the first day of the peak
        with_next = months([*days, day(first + timedelta(days=length), 9)])
        assert [m.days for m in with_next] == [length, 1]
        assert with_next[1].partial


def test_a_month_sums_its_days_and_averages_only_those_the_account_existed() -> None:
    first = date(2026, 3, 28)
    days = [
        day(first, 0, existed=False),
        day(first + timedelta(days=1), 0, existed=False, demand=9),  # not counted
        day(first + timedelta(days=2), 3, denials=2, at_cap=15, demand=5),
        day(first + timedelta(days=3), 1),
        day(first + timedelta(days=4), 3, denials=1, at_cap=40, demand=4),  # 1 April
        day(first + timedelta(days=5), 2),
    ]
    march, april = months(days)
    assert march == MonthUsage(
        month=date(2026, 3, 1),
        first=first,
        last=date(2026, 3, 31),
        peak=3,
        peak_day=date(2026, 3, 30),
        average=2.0,  # (3 + 1) / 2: the days before the account do not count
        minutes_at_cap=15,
        days_at_cap=1,
        denials=2,
        licenses_needed=5,
        account_existed=True,
        overdraft_peak=0,
        overdraft_minutes=0,
    )
    assert (march.partial, march.days, march.label) == (True, 4, "Mar 2026")
    assert (april.peak, april.average, april.licenses_needed, april.denials) == (3, 2.5, 4, 1)
    assert (april.first, april.last, april.partial) == (date(2026, 4, 1), date(2026, 4, 2), True)


def test_a_month_before_the_account_existed_says_so() -> None:
    (month,) = months([day(date(2026, 1, n), 0, existed=False) for n in range(1, 32)])
    assert not month.account_existed
    assert (month.peak, month.average, month.licenses_needed) == (0, 0.0, 0)
    assert month.peak_day == date(2026, 1, 1)
    assert months([]) == ()


def test_a_year_of_months_from_a_report_of_utc_days() -> None:
    now = datetime(2026, 12, 31, 12, tzinfo=UTC)
    spans = [Interval(datetime(2026, m, 15, 9, tzinfo=UTC), None) for m in range(1, 13)]
    calendar = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    report = report_from_intervals(
        spans,
        [],
        now=now,
        tz=ZoneInfo("UTC"),
        licenses=20,
        account_created_at=datetime(2025, 1, 1, tzinfo=UTC),
        calendar=calendar,
    )
    got = months(report.days)
    assert [m.peak for m in got] == list(range(1, 13))  # one more open from each 15th
    assert [m.peak_day for m in got] == [date(2026, m, 15) for m in range(1, 13)]
    assert [m.days for m in got] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
