"""Who held licenses and timeout waste against a brute-force oracle, across DST changes."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seatkeeper.domain.holders import (
    CANDIDATE_MINUTES,
    GUESTS,
    DayFigures,
    Span,
    day_figures,
    holdings,
    settled,
)
from seatkeeper.domain.usage import day_start
from seatkeeper.domain.waste import waste

SLOT = timedelta(minutes=5)  # every instant drawn is on this grid, and so is every day start
# Zones with both kinds of change, and 2026's changes: (23-hour day, 25-hour day).
CHANGES = {
    "Europe/Paris": (date(2026, 3, 29), date(2026, 10, 25)),
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
    "Australia/Lord_Howe": (date(2026, 10, 4), date(2026, 4, 5)),  # 23.5 and 24.5 hours
}


Plain = tuple[int, dict[int, tuple[timedelta, timedelta, int, timedelta]], tuple[object, ...]]


@st.composite
def histories(draw: st.DrawFn) -> tuple[ZoneInfo, list[date], list[Span], datetime]:
    """Random sessions over a few days around a DST change, and a `now` among them."""
    name = draw(st.sampled_from(sorted(CHANGES)))
    tz = ZoneInfo(name)
    change = draw(st.sampled_from(CHANGES[name]))
    first = change - timedelta(days=draw(st.integers(0, 2)))
    days = [first + timedelta(days=n) for n in range(draw(st.integers(1, 4)))]
    earliest = day_start(first, tz) - timedelta(hours=6)
    latest = day_start(days[-1] + timedelta(days=1), tz) + timedelta(hours=6)
    slots = int((latest - earliest) / SLOT)
    now = earliest + SLOT * draw(st.integers(slots // 2, slots))
    spans = []
    for _ in range(draw(st.integers(0, 20))):
        start = earliest + SLOT * draw(st.integers(0, int((now - earliest) / SLOT)))
        active = min(start + SLOT * draw(st.integers(0, 12 * 10)), now)  # up to 10 hours
        timeout = SLOT * draw(st.sampled_from([1, 3, 6, 12, 24]))  # 5 minutes to 2 hours
        how = draw(st.sampled_from(["timeout", "logout", "terminated"]))
        holder = draw(st.sampled_from([GUESTS, 7, 8, 9]))
        if how == "timeout" and active + timeout > now:  # not timed out yet: still open
            spans.append(Span(holder, start, active, None, timed_out=False))
        elif how == "timeout":
            spans.append(Span(holder, start, active, active + timeout, timed_out=True))
        else:  # ended at some instant after its last activity, before its timeout
            end = min(now, active + SLOT * draw(st.integers(0, 2)))
            spans.append(Span(holder, start, active, end, timed_out=False))
    return tz, days, spans, now


def is_open(start: datetime, end: datetime | None, at: datetime) -> bool:
    return start <= at and (end is None or at < end)


def shortened(s: Span, minutes: int) -> datetime | None:
    if s.timed_out and s.end is not None:
        return min(s.end, s.last_activity + timedelta(minutes=minutes))
    return s.end


def oracle_day(day: date, tz: ZoneInfo, spans: list[Span], now: datetime) -> Plain:
    """The day's figures, five minutes at a time: every instant is on the grid, so whether
    a session holds its license is the same throughout each slot."""
    start, end = day_start(day, tz), day_start(day + timedelta(days=1), tz)
    held: dict[int, timedelta] = defaultdict(timedelta)
    idle: dict[int, timedelta] = defaultdict(timedelta)
    peaks = dict.fromkeys((0, *CANDIDATE_MINUTES), 0)
    freed = dict.fromkeys(CANDIDATE_MINUTES, timedelta(0))
    for at in (start + SLOT * n for n in range(int((end - start) / SLOT))):
        past = at < now  # time is only held up to now
        holding = [s for s in spans if is_open(s.start, s.end, at)]
        peaks[0] = max(peaks[0], len(holding))
        for s in holding:
            held[s.holder] += SLOT if past else timedelta(0)
            if s.timed_out and at >= s.last_activity and past:
                idle[s.holder] += SLOT
        for m in CANDIDATE_MINUTES:
            still = [s for s in spans if is_open(s.start, shortened(s, m), at)]
            peaks[m] = max(peaks[m], len(still))
            freed[m] += SLOT * (len(holding) - len(still)) if past else timedelta(0)
    lengths: dict[int, list[timedelta]] = defaultdict(list)
    for s in spans:
        if start <= s.start < end:
            lengths[s.holder].append((now if s.end is None else s.end) - s.start)
    holders = {
        h: (held[h], idle[h], len(lengths[h]), max(lengths[h], default=timedelta(0)))
        for h in held.keys() | lengths.keys()
        if held[h] or lengths[h]
    }
    return peaks[0], holders, tuple((m, peaks[m], freed[m]) for m in CANDIDATE_MINUTES)


def plain(figures: DayFigures) -> Plain:
    return (
        figures.peak,
        {h.holder: (h.held, h.idle, h.sessions, h.longest) for h in figures.holders},
        tuple((t.minutes, t.peak, t.freed) for t in figures.timeouts),
    )


def figures_of(day: date, tz: ZoneInfo, spans: list[Span], now: datetime) -> DayFigures:
    start, end = day_start(day, tz), day_start(day + timedelta(days=1), tz)
    return day_figures(day, spans, start=start, end=end, now=now)


def test_the_histories_cross_23_and_25_hour_days() -> None:
    for name, (short, long) in CHANGES.items():
        tz = ZoneInfo(name)
        assert day_start(short + timedelta(days=1), tz) - day_start(short, tz) < timedelta(hours=24)
        assert day_start(long + timedelta(days=1), tz) - day_start(long, tz) > timedelta(hours=24)
        assert (day_start(short, tz) - datetime(2026, 1, 1, tzinfo=UTC)) % SLOT == timedelta(0)


# No time limit on an example, nor on drawing them: a busy machine only takes longer.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_each_day_matches_the_oracle(
    history: tuple[ZoneInfo, list[date], list[Span], datetime],
) -> None:
    tz, days, spans, now = history
    for day in days:
        assert plain(figures_of(day, tz, spans, now)) == oracle_day(day, tz, spans, now), day


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_a_period_sums_its_days_as_the_oracle_sees_the_whole_period(
    history: tuple[ZoneInfo, list[date], list[Span], datetime],
) -> None:
    tz, days, spans, now = history
    found = [figures_of(day, tz, spans, now) for day in days]
    oracle = [oracle_day(day, tz, spans, now) for day in days]
    by_holder = {h.holder: h for h in holdings(found)}
    for holder in {h for _, day, _ in oracle for h in day}:
        rows = [day[holder] for _, day, _ in oracle if holder in day]
        h = by_holder.pop(holder)
        assert h.held == sum((r[0] for r in rows), timedelta(0))
        assert h.idle == sum((r[1] for r in rows), timedelta(0))
        assert h.sessions == sum(r[2] for r in rows)
        assert h.longest == max(r[3] for r in rows)
    assert not by_holder
    result = waste(found, timeout=timedelta(minutes=17))
    assert result.peak == max(peak for peak, _, _ in oracle)
    assert result.idle == sum((r[1] for _, day, _ in oracle for r in day.values()), timedelta(0))
    assert [c.minutes for c in result.candidates] == [5, 10, 15]
    for n, candidate in enumerate(result.candidates):
        assert candidate.peak == max(t[n][1] for _, _, t in oracle)  # type: ignore[index]
        assert candidate.freed == sum((t[n][2] for _, _, t in oracle), timedelta(0))  # type: ignore[index]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.integers(1, 48))
def test_a_settled_day_does_not_change_later(
    history: tuple[ZoneInfo, list[date], list[Span], datetime], hours: int
) -> None:
    """A day called settled has the same figures whatever the open sessions do next:
    each is worked on, or left to time out, or ends by logout, at any later instant."""
    tz, days, spans, now = history
    later = now + timedelta(hours=hours)
    futures = [
        [finish(s, now, later, how) for s in spans] for how in ("timeout", "active", "logout")
    ]
    for day in days:
        start, end = day_start(day, tz), day_start(day + timedelta(days=1), tz)
        if settled(spans, start=start, end=end, now=now):
            figures = plain(figures_of(day, tz, spans, now))
            for future in futures:
                assert plain(figures_of(day, tz, future, later)) == figures, day


def finish(s: Span, now: datetime, later: datetime, how: str) -> Span:
    """An open session as it may look at `later`: timed out with no more activity, still
    worked on, or logged out just now."""
    if s.end is not None:
        return s
    if how == "timeout":
        return Span(s.holder, s.start, s.last_activity, now + timedelta(minutes=1), True)
    if how == "active":
        return Span(s.holder, s.start, later, None, timed_out=False)
    return Span(s.holder, s.start, s.last_activity, later, timed_out=False)


PARIS = ZoneInfo("Europe/Paris")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def test_a_day_open_to_a_session_that_may_still_time_out_into_it_is_not_settled() -> None:
    day = date(2026, 3, 10)
    start, end = day_start(day, PARIS), day_start(day + timedelta(days=1), PARIS)
    now = at(day + timedelta(days=1), 0, 10)
    # Started the day before, worked on until 23:50, open now (its 30-minute timeout at 00:20).
    waiting = Span(7, at(day - timedelta(days=1), 22), at(day, 23, 50), None, timed_out=False)
    assert not settled([waiting], start=start, end=end, now=now)
    worked = Span(7, waiting.start, at(day + timedelta(days=1), 0, 5), None, timed_out=False)
    assert settled([worked], start=start, end=end, now=now)
    begun = Span(8, at(day, 23), at(day + timedelta(days=1), 0, 5), None, timed_out=False)
    assert not settled([worked, begun], start=start, end=end, now=now)  # not whole yet
    assert not settled([], start=start, end=end, now=at(day, 23, 59))  # not over


def test_the_figures_of_a_25_hour_day() -> None:
    day = date(2026, 10, 25)  # Paris goes back an hour: 25 hours
    start, end = day_start(day, PARIS), day_start(day + timedelta(days=1), PARIS)
    spans = [
        # All day, from the day before, to the day after: 25 hours held, none idle.
        Span(
            7, at(day, 0) - timedelta(hours=1), at(day, 23), at(day + timedelta(days=1), 1), False
        ),
        # Worked 09:00-10:00, timed out at 10:30 (a 30-minute timeout).
        Span(8, at(day, 9), at(day, 10), at(day, 10, 30), True),
        # A Guest from 09:30, still open at noon.
        Span(GUESTS, at(day, 9, 30), at(day, 11), None, False),
    ]
    figures = day_figures(day, spans, start=start, end=end, now=at(day, 12))
    assert figures.peak == 3
    by_holder = {h.holder: h for h in figures.holders}
    assert by_holder[7].held == timedelta(hours=13)  # 00:00 to 12:00 is 13 hours today
    assert (by_holder[7].sessions, by_holder[7].longest) == (0, timedelta(0))
    assert (by_holder[8].held, by_holder[8].idle) == (timedelta(minutes=90), timedelta(minutes=30))
    assert (by_holder[8].sessions, by_holder[8].longest) == (1, timedelta(minutes=90))
    assert by_holder[GUESTS].held == by_holder[GUESTS].longest == timedelta(hours=2, minutes=30)
    # A 5-minute timeout ends agent 8 at 10:05: 25 minutes freed, and the peak stays 3
    # (all three held at 09:30); a 30-minute one changes nothing.
    assert [(t.minutes, t.peak, t.freed) for t in figures.timeouts] == [
        (5, 3, timedelta(minutes=25)),
        (10, 3, timedelta(minutes=20)),
        (15, 3, timedelta(minutes=15)),
        (20, 3, timedelta(minutes=10)),
        (30, 3, timedelta(0)),
    ]
    whole = day_figures(day, spans, start=start, end=end, now=at(day + timedelta(days=2), 0))
    assert {h.holder: h.held for h in whole.holders}[7] == timedelta(hours=25)


def test_a_session_row_is_read_as_it_stands_at_now() -> None:
    day = date(2026, 3, 10)
    now = at(day, 12)
    started, active, expires = at(day, 9), at(day, 10), at(day, 10, 30)
    assert Span.of(None, started, active, expires, None, None, now=now) == Span(
        GUESTS, started, active, expires, timed_out=True
    )  # past its expiry, nobody swept it: it timed out then
    assert Span.of(5, started, active, at(day, 13), None, None, now=now).end is None
    logout = Span.of(5, started, active, expires, at(day, 10, 1), "logout", now=now)
    assert (logout.end, logout.timed_out, logout.cut(5)) == (at(day, 10, 1), False, logout.end)
    swept = Span.of(5, started, active, expires, expires, "timeout", now=now)
    assert (swept.timed_out, swept.cut(5), swept.cut(60)) == (True, at(day, 10, 5), expires)
