"""Usage statistics against a brute-force oracle, across time zones and DST changes."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seatkeeper.domain.usage import (
    DEMAND_WINDOW,
    Denial,
    Interval,
    advice,
    asker,
    day_start,
    report_from_intervals,
    window_days,
)

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "America/Santiago",  # DST changes at midnight: some days start at 01:00
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Kolkata",
    "Pacific/Chatham",
]
# Around the 2026 DST changes of both hemispheres.
NOWS = st.sampled_from(
    [
        datetime(2026, m, d, h, tzinfo=UTC)
        for m, d in [(3, 9), (3, 30), (4, 6), (11, 2), (11, 27)]
        for h in (0, 5, 13, 23)
    ]
)
GRID = timedelta(minutes=30)  # a coarse grid makes touching and shared instants common


def oracle_peak(spans: list[Interval], start: datetime, end: datetime) -> int:
    """The most intervals open at once in [start, end), by checking every candidate instant."""
    candidates = {start} | {s.start for s in spans if start < s.start < end}

    def open_at(t: datetime) -> int:
        return sum(1 for s in spans if s.start <= t and (s.end is None or t < s.end))

    return max(open_at(t) for t in candidates)


def oracle_at_cap(spans: list[Interval], start: datetime, stop: datetime, licenses: int) -> float:
    """Minutes in [start, stop) with at least `licenses` open, piece by piece."""
    points = sorted(
        {start, stop}
        | {t for s in spans for t in (s.start, s.end) if t is not None and start < t < stop}
    )
    minutes = 0.0
    for left, right in pairwise(points):
        if sum(1 for s in spans if s.start <= left and (s.end is None or left < s.end)) >= licenses:
            minutes += (right - left) / timedelta(minutes=1)
    return minutes


def oracle_overdraft(
    spans: list[Interval], start: datetime, stop: datetime, licenses: int
) -> float:
    """Session-minutes in [start, stop) beyond `licenses`, piece by piece."""
    points = sorted(
        {start, stop}
        | {t for s in spans for t in (s.start, s.end) if t is not None and start < t < stop}
    )
    minutes = 0.0
    for left, right in pairwise(points):
        held = sum(1 for s in spans if s.start <= left and (s.end is None or left < s.end))
        minutes += max(0, held - licenses) * ((right - left) / timedelta(minutes=1))
    return minutes


def oracle_demand(
    spans: list[Interval], denials: list[Denial], start: datetime, end: datetime, peak: int
) -> int:
    """The day's peak, or at a refusal the sessions open then plus everyone refused in the
    window before it, whichever is most."""
    demands = [peak]
    for at, _ in denials:
        if start <= at < end:
            open_then = sum(1 for s in spans if s.start <= at and (s.end is None or at < s.end))
            waiting = {who for t, who in denials if at - DEMAND_WINDOW < t <= at}
            demands.append(open_then + len(waiting))
    return max(demands)


@st.composite
def histories(
    draw: st.DrawFn,
) -> tuple[datetime, ZoneInfo, list[Interval], list[Denial], datetime]:
    now = draw(NOWS)
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    earliest = now - timedelta(days=33)
    steps = int((now - earliest) / GRID)
    spans = []
    for _ in range(draw(st.integers(0, 25))):
        start = earliest + GRID * draw(st.integers(0, steps))
        length = GRID * draw(st.integers(0, 4 * 48))
        still_open = draw(st.booleans()) and start + length >= now
        end = None if still_open else min(start + length, now)
        spans.append(Interval(start, end))
    # Refusals on the grid or a minute after it, some of one agent twice, some of Guests.
    denials = [
        (
            earliest
            + GRID * draw(st.integers(0, steps))
            + timedelta(minutes=draw(st.sampled_from([0, 1]))),
            draw(st.sampled_from(["user 1", "user 2", "guest 1", "guest 2", "guest 3"])),
        )
        for _ in range(draw(st.integers(0, 8)))
    ]
    created = now - timedelta(days=draw(st.integers(0, 40)), hours=draw(st.integers(0, 23)))
    return now, tz, spans, denials, created


def assert_matches_oracle(
    spans: list[Interval],
    denials: list[Denial],
    *,
    now: datetime,
    tz: ZoneInfo,
    created: datetime,
    calendar: list[date] | None = None,
) -> None:
    """The report of `calendar` (the last 30 days if None) agrees with the brute force."""
    report = report_from_intervals(
        spans,
        denials,
        now=now,
        tz=tz,
        licenses=3,
        account_created_at=created,
        calendar=calendar or (),
    )
    days = calendar or window_days(now, tz)
    assert [d.day for d in report.days] == days
    peaks = []
    for day, got in zip(days, report.days, strict=True):
        start, end = day_start(day, tz), day_start(day + timedelta(days=1), tz)
        peaks.append(oracle_peak(spans, start, end))
        assert got.max_concurrent == peaks[-1], day
        assert got.denials == sum(1 for d, _ in denials if start <= d < end)
        assert got.account_existed == (end > created)
        assert got.minutes_at_cap == int(oracle_at_cap(spans, start, min(end, now), 3)), day
        assert got.peak_demand == oracle_demand(spans, denials, start, end, peaks[-1]), day
        assert got.overdraft_peak == max(0, peaks[-1] - 3), day
        assert got.overdraft_minutes == int(oracle_overdraft(spans, start, min(end, now), 3)), day
    counted = [p for p, d in zip(peaks, report.days, strict=True) if d.account_existed]
    assert report.daily_average == (sum(counted) / len(counted) if counted else 0.0)
    assert report.daily_max == max(peaks)
    assert report.current == sum(
        1 for s in spans if s.start <= now and (s.end is None or now < s.end)
    )
    assert report.total == 3
    assert report.licenses_needed == max(
        (d.peak_demand for d in report.days if d.account_existed), default=0
    )


# No time limit on an example, nor on drawing them: a busy machine only takes longer.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_report_matches_brute_force(
    history: tuple[datetime, ZoneInfo, list[Interval], list[Denial], datetime],
) -> None:
    now, tz, spans, denials, created = history
    assert window_days(now, tz)[-1] == now.astimezone(tz).date()
    assert_matches_oracle(spans, denials, now=now, tz=tz, created=created)


def clock_changes(tz: ZoneInfo, first: date, last: date) -> list[date]:
    """The days from `first` to `last` that are not 24 hours long in `tz`."""
    return [
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if day_start(first + timedelta(days=n + 1), tz) - day_start(first + timedelta(days=n), tz)
        != timedelta(days=1)
    ]


# Far enough after both changes of either hemisphere for a history to hold them.
LATE_NOWS = st.sampled_from(
    [
        datetime(2026, m, d, h, tzinfo=UTC)
        for m, d in [(4, 10), (11, 2), (11, 27), (12, 20)]
        for h in (0, 5, 13, 23)
    ]
)


@st.composite
def long_histories(
    draw: st.DrawFn, *, most_days: int = 300
) -> tuple[datetime, ZoneInfo, list[Interval], list[Denial], datetime, list[date]]:
    """A history of up to `most_days` days, its sessions and refusals crowded around the
    zone's clock changes and the starts of months, and a period of it."""
    now = draw(LATE_NOWS)
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    today = now.astimezone(tz).date()
    oldest = today - timedelta(days=draw(st.integers(20, most_days)))
    earliest = day_start(oldest, tz)
    steps = int((now - earliest) / GRID)
    # Around these midnights days are 23 or 25 hours long (or 23.5), or months turn.
    changes = clock_changes(tz, oldest, today)
    month_starts = [oldest + timedelta(days=n) for n in range((today - oldest).days)]
    marks = [day_start(d, tz) for d in changes + [d for d in month_starts if d.day == 1]]

    def instant() -> datetime:
        if bool(marks) and draw(st.booleans()):
            near = draw(st.sampled_from(marks)) + GRID * draw(st.integers(-8, 8))
            return min(max(near, earliest), now)
        return earliest + GRID * draw(st.integers(0, steps))

    spans = []
    for _ in range(draw(st.integers(0, 30))):
        start = instant()
        length = GRID * draw(st.integers(0, 3 * 48))
        still_open = draw(st.booleans()) and start + length >= now
        spans.append(Interval(start, None if still_open else min(start + length, now)))
    who = st.sampled_from(["user 1", "user 2", "guest 1", "guest 2", "guest 3"])
    denials = [
        (instant() + timedelta(minutes=draw(st.sampled_from([0, 1]))), draw(who))
        for _ in range(draw(st.integers(0, 10)))
    ]
    created = earliest + timedelta(hours=draw(st.integers(-48, 24 * 40)))
    if bool(changes) and draw(st.booleans()):  # a period over every clock change of the history
        first = oldest + timedelta(days=draw(st.integers(0, (changes[0] - oldest).days)))
        last = changes[-1] + timedelta(days=draw(st.integers(0, (today - changes[-1]).days)))
    else:
        first = oldest + timedelta(days=draw(st.integers(0, (today - oldest).days)))
        last = first + timedelta(days=draw(st.integers(0, (today - first).days)))
    calendar = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return now, tz, spans, denials, created, calendar


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_histories())
def test_any_period_matches_brute_force(
    history: tuple[datetime, ZoneInfo, list[Interval], list[Denial], datetime, list[date]],
) -> None:
    now, tz, spans, denials, created, calendar = history
    assert_matches_oracle(spans, denials, now=now, tz=tz, created=created, calendar=calendar)


def seeded_history(
    tz: ZoneInfo, first: date, last: date, seed: int
) -> tuple[list[Interval], list[Denial]]:
    """Sessions and refusals on each of the zone's clock changes in [first, last] (both
    sides of their midnights and of the hour that repeats or is skipped), and elsewhere."""
    rng = random.Random(seed)
    changes = clock_changes(tz, first, last)
    spans: list[Interval] = []
    denials: list[Denial] = []
    for day in changes:
        midnight = day_start(day, tz)
        for _ in range(12):
            start = midnight + timedelta(minutes=rng.randrange(-180, 26 * 60, 15))
            spans.append(Interval(start, start + timedelta(minutes=rng.randrange(0, 600, 15))))
            denials.append((start + timedelta(minutes=1), rng.choice(["user 1", "guest 1"])))
    for _ in range(40):
        start = day_start(first, tz) + timedelta(
            minutes=rng.randrange(0, (last - first).days * 1440, 15)
        )
        spans.append(Interval(start, start + timedelta(minutes=rng.randrange(0, 3000, 15))))
    return spans, denials


@pytest.mark.parametrize(
    ("zone", "first", "last", "lengths"),
    [
        ("Europe/Paris", date(2026, 3, 20), date(2026, 11, 5), {23, 25}),
        ("America/New_York", date(2026, 2, 25), date(2026, 11, 10), {23, 25}),
        ("Australia/Lord_Howe", date(2026, 3, 25), date(2026, 10, 15), {23.5, 24.5}),
    ],
)
def test_a_period_over_both_clock_changes_matches_brute_force(
    zone: str, first: date, last: date, lengths: set[float]
) -> None:
    tz = ZoneInfo(zone)
    changes = clock_changes(tz, first, last)
    hours = {
        (day_start(d + timedelta(days=1), tz) - day_start(d, tz)) / timedelta(hours=1)
        for d in changes
    }
    assert hours == lengths  # a short day and a long one, both in the period
    now = day_start(last + timedelta(days=1), tz) - timedelta(hours=3)
    for seed in range(3):
        spans, denials = seeded_history(tz, first, last, seed)
        calendar = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        assert_matches_oracle(
            spans,
            denials,
            now=now,
            tz=tz,
            created=day_start(first, tz) - timedelta(days=1),
            calendar=calendar,
        )


PARIS = ZoneInfo("Europe/Paris")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def test_a_session_starting_as_another_ends_does_not_overlap() -> None:
    day = date(2026, 3, 10)
    spans = [Interval(at(day, 9), at(day, 10)), Interval(at(day, 10), at(day, 11))]
    report = report_from_intervals(
        spans, [], now=at(day, 12), tz=PARIS, licenses=1, account_created_at=at(day, 0)
    )
    assert report.days[-1].max_concurrent == 1


def test_days_follow_the_time_zone_across_the_spring_change() -> None:
    # 29 March 2026 has 23 hours in Paris: the session at 23:30 local belongs to it,
    # and one at 00:30 local the next day does not.
    change = date(2026, 3, 29)
    assert day_start(change + timedelta(days=1), PARIS) - day_start(change, PARIS) == timedelta(
        hours=23
    )
    spans = [
        Interval(at(change, 23, 30), at(change, 23, 45)),
        Interval(at(change + timedelta(days=1), 0, 30), at(change + timedelta(days=1), 1)),
        Interval(at(change + timedelta(days=1), 0, 40), at(change + timedelta(days=1), 1)),
    ]
    now = at(change + timedelta(days=1), 12)
    report = report_from_intervals(spans, [], now=now, tz=PARIS, licenses=5, account_created_at=now)
    by_day = {d.day: d for d in report.days}
    assert by_day[change].max_concurrent == 1
    assert by_day[change + timedelta(days=1)].max_concurrent == 2


def test_daily_figures_skip_days_before_the_account_existed() -> None:
    today = date(2026, 3, 10)
    created = at(today - timedelta(days=1), 15)  # existed for part of yesterday
    spans = [
        Interval(at(today - timedelta(days=1), 16), at(today - timedelta(days=1), 17)),
        Interval(at(today, 9), None),
        Interval(at(today, 9, 30), None),
        Interval(at(today, 9, 45), at(today, 10)),
    ]
    report = report_from_intervals(
        spans,
        [(at(today, 9, 50), "guest 1")],
        now=at(today, 11),
        tz=PARIS,
        licenses=3,
        account_created_at=created,
    )
    assert [d.account_existed for d in report.days].count(True) == 2
    assert report.days[-1].max_concurrent == 3
    assert report.days[-1].denials == 1
    assert report.daily_max == 3
    assert report.daily_average == 2.0  # (1 + 3) / 2: earlier days do not count
    assert report.current == 2


def test_a_session_open_for_days_counts_on_each_of_them() -> None:
    today = date(2026, 3, 10)
    spans = [Interval(at(today - timedelta(days=3), 22), None)]
    report = report_from_intervals(
        spans,
        [],
        now=at(today, 8),
        tz=PARIS,
        licenses=3,
        account_created_at=at(today - timedelta(days=40), 0),
    )
    assert [d.max_concurrent for d in report.days[-5:]] == [0, 1, 1, 1, 1]
    assert report.daily_average == 4 / 30


def test_the_advice_says_how_many_licenses_would_have_refused_no_one() -> None:
    today = date(2026, 3, 10)
    now, created = at(today, 18), at(today - timedelta(days=60), 9)
    spans = [Interval(at(today, 9), at(today, 10)), Interval(at(today, 9), at(today, 11))]
    quiet = report_from_intervals(
        spans, [], now=now, tz=PARIS, licenses=3, account_created_at=created
    )
    assert advice(quiet) == (
        "No open was refused in the past 30 days; at most 2 of the 3 licenses were in use at once."
    )
    assert (quiet.days[-1].minutes_at_cap, quiet.licenses_needed) == (0, 2)

    refused = [(at(today, 9, 30), "user 7"), (at(today, 9, 31), "user 7")]  # one agent, twice
    full = report_from_intervals(
        spans, refused, now=now, tz=PARIS, licenses=2, account_created_at=created
    )
    assert (full.days[-1].minutes_at_cap, full.days[-1].peak_demand) == (60, 3)
    assert advice(full) == (
        "2 opens were refused on 1 day of the past 30; 3 licenses would have avoided every "
        "refusal (1 more than the 2 the account has)."
    )
    raised = report_from_intervals(
        spans, refused, now=now, tz=PARIS, licenses=4, account_created_at=created
    )
    assert advice(raised).endswith(
        "3 licenses would have avoided every refusal (the account has 4 now)."
    )


def test_a_guest_browser_refused_again_and_again_counts_once_in_the_demand() -> None:
    today = date(2026, 3, 10)
    now, created = at(today, 18), at(today - timedelta(days=60), 9)
    spans = [Interval(at(today, 9), None) for _ in range(5)]  # every license in use
    one = asker(None, "a1b2", 1)
    flood = [(at(today, 9, 30) + n * timedelta(seconds=1), one) for n in range(300)]
    report = report_from_intervals(
        spans, flood, now=now, tz=PARIS, licenses=5, account_created_at=created
    )
    assert report.licenses_needed == 6  # not 305
    assert report.days[-1].denials == 300  # every refusal is still counted as one
    other = [
        (at(today, 9, 31), asker(None, "c3d4", 301)),
        (at(today, 9, 32), asker(7, "a1b2", 302)),
    ]
    report = report_from_intervals(
        spans, flood + other, now=now, tz=PARIS, licenses=5, account_created_at=created
    )
    assert report.licenses_needed == 8  # another browser, and an agent, each once more
    # Past the demand window the same browser asking counts anew, but not twice at once.
    later = [(at(today, 11), one), (at(today, 11, 1), one)]
    assert (
        report_from_intervals(
            spans, later, now=now, tz=PARIS, licenses=5, account_created_at=created
        ).licenses_needed
        == 6
    )


def test_who_asked_is_an_agent_a_browser_or_each_refusal_on_its_own() -> None:
    assert asker(7, "a1b2", 1) == asker(7, None, 2) == "user 7"  # wherever they asked from
    assert asker(None, "a1b2", 1) == asker(None, "a1b2", 2) != asker(None, "c3d4", 3)
    assert asker(None, None, 1) != asker(None, None, 2)  # nothing tells them apart
    assert asker(None, "1", 5) != asker(5, None, 1) != asker(None, None, 1)
