"""The line's usage figures from the places: each counted on its own day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from seatkeeper.domain.usage import DayUsage, UsageReport
from seatkeeper.domain.waiting import DayWaits, WaitSpan, daily_waits, with_waits

DAY1 = datetime(2026, 3, 10, tzinfo=UTC)
STARTS = [DAY1, DAY1 + timedelta(days=1)]
ENDS = [DAY1 + timedelta(days=1), DAY1 + timedelta(days=2)]
S = timedelta(seconds=1)


def test_asked_seated_and_taken_count_on_their_own_days() -> None:
    late = DAY1 + timedelta(hours=23, minutes=59)
    spans = [
        WaitSpan(late, late + 90 * S, late + 90 * S, late + 100 * S),  # seated the next day
        WaitSpan(DAY1 + 5 * S, DAY1 + 35 * S, DAY1 + 30 * S, None),  # seated, never taken
        WaitSpan(DAY1 + 9 * S, None, None, None),  # left, or still waiting
        WaitSpan(DAY1 - 60 * S, DAY1 + 3 * S, DAY1, DAY1 + 4 * S),  # asked before the days
        WaitSpan(ENDS[-1], None, None, None),  # after them
    ]
    assert daily_waits(spans, STARTS, ENDS) == [
        DayWaits(3, 63 * S, 4 * S),
        DayWaits(0, 90 * S, 10 * S),
    ]
    assert daily_waits([], STARTS, ENDS) == [DayWaits(), DayWaits()]


def test_the_report_takes_whole_seconds_and_none_when_there_was_none() -> None:
    days = tuple(DayUsage(date(2026, 3, 10 + n), 1, 0, account_existed=True) for n in range(2))
    report = UsageReport(current=0, total=3, daily_average=1.0, daily_max=1, days=days)
    shown = with_waits(report, [DayWaits(2, timedelta(seconds=61.9), None), DayWaits()])
    figures = [(d.waited, d.longest_wait_seconds, d.longest_seating_seconds) for d in shown.days]
    assert figures == [(2, 61, None), (0, None, None)]
