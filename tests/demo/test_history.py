"""The demo's made-up history: plausible, and never breaking the license rules."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from seatkeeper.demo.account import DEMO_ALERT_LEVELS
from seatkeeper.demo.history import (
    DEMO_AGENTS,
    FLOWS,
    Demand,
    History,
    PastSession,
    generate_history,
    through_pool,
)
from seatkeeper.domain.alerts import raised_at
from seatkeeper.domain.model import EndReason
from seatkeeper.domain.usage import Interval, report_from_intervals, window_days

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 10, 21, 0, tzinfo=UTC)  # a Tuesday, 17:00 in New York (just after DST)
LICENSES = 25
TIMEOUT = timedelta(minutes=30)
DAYS = window_days(NOW, TZ)
SEEDS = [1, 2, 3, 4, 5]


def make(seed: int, **overrides: object) -> History:
    options: dict[str, object] = {
        "tz": TZ,
        "now": NOW,
        "licenses": LICENSES,
        "timeout": TIMEOUT,
        "agents": DEMO_AGENTS,
        "seed": seed,
    }
    options.update(overrides)
    return generate_history(DAYS, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=SEEDS)
def history(request: pytest.FixtureRequest) -> History:
    return make(request.param)


def local_day(at: datetime) -> date:
    return at.astimezone(TZ).date()


def open_at(sessions: tuple[PastSession, ...], at: datetime) -> int:
    return sum(1 for s in sessions if s.started_at <= at < s.ended_at)


def daily_peaks(history: History) -> dict[date, int]:
    report = report_from_intervals(
        [Interval(s.started_at, s.ended_at) for s in history.sessions],
        [(d.at, f"refusal {n}") for n, d in enumerate(history.denials)],
        now=NOW,
        tz=TZ,
        licenses=LICENSES,
        account_created_at=NOW - timedelta(days=31),
    )
    return {d.day: d.max_concurrent for d in report.days}


def test_history_never_holds_more_sessions_than_licenses(history: History) -> None:
    # Brute force: the count only rises when a session starts.
    assert max(open_at(history.sessions, s.started_at) for s in history.sessions) <= LICENSES
    assert max(daily_peaks(history).values()) <= LICENSES


def test_denials_happen_exactly_on_the_over_demand_days(history: History) -> None:
    assert 2 <= len(history.over_demand_days) <= 4
    assert {local_day(d.at) for d in history.denials} == history.over_demand_days
    assert all(day.weekday() < 5 for day in history.over_demand_days)
    # The pool was full at each refusal, which is why it was refused.
    assert all(open_at(history.sessions, d.at) == LICENSES for d in history.denials)


def test_weekdays_are_busy_and_weekends_quiet(history: History) -> None:
    peaks = daily_peaks(history)
    weekdays = [p for day, p in peaks.items() if day.weekday() < 5 and day != DAYS[-1]]
    weekends = [p for day, p in peaks.items() if day.weekday() >= 5]
    assert max(weekends) < min(weekdays)
    assert min(weekends) >= 1 and max(weekends) <= 8
    assert min(weekdays) >= 12
    assert max(peaks[day] for day in history.over_demand_days) == LICENSES


def test_most_ordinary_days_stay_below_the_demo_alert_level(history: History) -> None:
    first = raised_at(min(DEMO_ALERT_LEVELS), LICENSES)  # 20 of 25 licenses
    peaks = daily_peaks(history)
    ordinary = [p for day, p in peaks.items() if day not in history.over_demand_days]
    assert sum(p >= first for p in ordinary) <= len(ordinary) // 6


def test_a_named_agent_never_holds_two_sessions_at_once(history: History) -> None:
    by_agent: dict[str, list[PastSession]] = defaultdict(list)
    for session in history.sessions:
        if session.agent is not None:
            by_agent[session.agent].append(session)
    assert set(by_agent) <= set(DEMO_AGENTS)
    assert any(s.agent is None for s in history.sessions)  # Guests fill the rest
    for sessions in by_agent.values():
        sessions.sort(key=lambda s: s.started_at)
        for before, after in pairwise(sessions):
            assert before.ended_at <= after.started_at


def test_every_session_ended_before_now_as_its_reason_says(history: History) -> None:
    reasons = {s.end_reason for s in history.sessions}
    assert reasons == {EndReason.LOGOUT, EndReason.TIMEOUT, EndReason.TERMINATED}
    for s in history.sessions:
        assert s.started_at <= s.last_activity_at <= s.ended_at < NOW
        assert s.expires_at == s.last_activity_at + TIMEOUT
        if s.end_reason is EndReason.TIMEOUT:
            assert s.ended_at == s.last_activity_at + TIMEOUT == s.expires_at
        elif s.end_reason is EndReason.LOGOUT:
            assert s.ended_at == s.last_activity_at
        else:
            assert s.ended_at < s.expires_at
    assert all(d.at < NOW for d in history.denials)
    logouts = sum(s.end_reason is EndReason.LOGOUT for s in history.sessions)
    assert logouts > 0.7 * len(history.sessions)


def test_interactions_lie_within_their_session(history: History) -> None:
    assert sum(len(s.interactions) for s in history.sessions) > len(history.sessions)
    for s in history.sessions:
        for i in s.interactions:
            assert s.started_at <= i.opened_at < i.closed_at <= s.ended_at
            assert i.step in FLOWS[i.flow]


def test_the_same_seed_gives_the_same_history() -> None:
    assert make(11) == make(11)
    assert make(11) != make(12)


def test_busy_time_and_the_time_before_the_account_are_left_alone() -> None:
    busy = [
        Interval(datetime(2026, 3, 2, 14, tzinfo=UTC), datetime(2026, 3, 2, 16, tzinfo=UTC)),
        Interval(datetime(2026, 3, 10, 15, tzinfo=UTC), None),  # a session open now
    ]
    created = datetime(2026, 2, 20, 12, tzinfo=UTC)
    history = make(5, busy=busy, not_before=created)
    assert history.sessions
    for s in history.sessions:
        assert s.started_at >= created
        for b in busy:
            assert s.ended_at <= b.start or (b.end is not None and b.end <= s.started_at)


def test_a_short_window_has_no_over_demand_days() -> None:
    history = generate_history(
        DAYS[-4:],
        tz=TZ,
        now=NOW,
        licenses=LICENSES,
        timeout=TIMEOUT,
        agents=DEMO_AGENTS,
        seed=1,
    )
    assert history.over_demand_days == frozenset()
    assert history.denials == ()


def test_the_pool_refuses_what_does_not_fit_and_frees_seats_at_the_instant() -> None:
    t = datetime(2026, 3, 2, 14, tzinfo=UTC)
    hour = timedelta(hours=1)

    def demand(start: datetime, stop: datetime) -> Demand:
        return Demand(None, start, stop, EndReason.LOGOUT, stop)

    first, second = demand(t, t + hour), demand(t, t + 2 * hour)
    refused = demand(t + hour / 2, t + 3 * hour)
    touching = demand(t + hour, t + 3 * hour)  # starts as `first` ends
    granted, denied = through_pool([touching, refused, second, first], 2)
    assert denied == [refused]
    assert set(granted) == {first, second, touching}
