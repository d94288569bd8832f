"""The periods a usage report covers, and the requests refused with a clear sentence."""

from __future__ import annotations

from datetime import date

import pytest

from seatkeeper.domain.errors import InvalidInput, InvalidPeriod
from seatkeeper.domain.periods import MOST_DAYS, Asked, Period, named, parse

TODAY = date(2026, 3, 31)


def test_no_period_is_the_last_30_days() -> None:
    period = parse(TODAY)
    assert (period.first, period.last, period.length) == (date(2026, 3, 2), TODAY, 30)
    assert period.step == "day"
    assert period.label == "the last 30 days"


def test_twelve_months_are_twelve_calendar_months_ending_with_this_one() -> None:
    period = named(TODAY, "12m")
    assert (period.first, period.last) == (date(2025, 4, 1), TODAY)
    assert period.step == "month"
    assert named(date(2026, 11, 5), "12m").first == date(2025, 12, 1)
    assert named(date(2026, 12, 1), "12m").first == date(2026, 1, 1)


def test_days_are_shown_up_to_92_and_months_beyond() -> None:
    assert Period(date(2026, 1, 1), date(2026, 4, 2)).step == "day"  # 92 days
    assert Period(date(2026, 1, 1), date(2026, 4, 3)).step == "month"
    assert named(TODAY, "90d").step == "day"


def test_dates_given_are_a_custom_period() -> None:
    period = parse(TODAY, first="2025-10-26", last="2025-10-26")
    assert period.days == [date(2025, 10, 26)]
    assert period.label == "26 Oct 2025 to 26 Oct 2025"
    assert period.name == "custom"


@pytest.mark.parametrize(
    ("asked", "sentence"),
    [
        ({"name": "7d"}, "must be one of 30d, 90d, 12m"),
        ({"name": "<script>alert(1)</script>"}, "must be one of"),
        ({"first": "2026-01-01"}, "both from and to"),
        ({"name": "30d", "first": "2026-01-01", "last": "2026-01-02"}, "not both"),
        ({"first": "2026-02-01", "last": "2026-01-01"}, "must not be after the to date"),
        ({"first": "2026-01-01", "last": "2026-04-01"}, "must not be after today (2026-03-31)"),
        ({"first": "2026-02-30", "last": "2026-03-01"}, "from date must be a date"),
        ({"first": "2026-01-01", "last": "20260301"}, "to date must be a date"),
        ({"first": "2026-01-01\x00", "last": "2026-03-01"}, "from date must be a date"),
        ({"first": "9" * 5000, "last": "2026-03-01"}, "from date must be a date"),
        ({"first": "2026-W01-1", "last": "2026-03-01"}, "from date must be a date"),
        ({"first": "20260101  ", "last": "2026-03-01"}, "from date must be a date"),
        ({"first": "2026-01-01", "last": "2026-03-0\u0661"}, "to date must be a date"),
        ({"first": "2022-01-01", "last": "2026-03-01"}, f"at most {MOST_DAYS} days"),
        ({"first": "0001-01-01", "last": "0001-01-02"}, "not be before 2000-01-01"),
    ],
)
def test_a_period_that_cannot_be_is_refused_saying_why(
    asked: dict[str, str], sentence: str
) -> None:
    with pytest.raises(InvalidPeriod) as refused:
        parse(TODAY, **asked)
    assert sentence in refused.value.message
    assert refused.value.code == "invalid_period"


def test_a_request_asks_for_a_period_and_how_to_show_it() -> None:
    asked = Asked("12m")
    period = asked.period(TODAY)
    assert (period.first, asked.step(period)) == (date(2025, 4, 1), "month")
    assert Asked("12m", by="day").step(period) == "day"
    assert Asked(by="month").step(Asked().period(TODAY)) == "month"
    assert Asked().period(TODAY) == parse(TODAY)
    custom = Asked(first="2026-03-01", last="2026-03-31").period(TODAY)
    assert custom.over == "from 1 Mar 2026 to 31 Mar 2026"
    assert period.over == "over the last 12 months"


@pytest.mark.parametrize("by", ["week", "", "Month", "<b>", "d" * 10_000])
def test_showing_a_period_by_anything_but_days_or_months_is_refused(by: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        Asked(by=by)
    assert refused.value.message == "by must be day or month."
    assert refused.value.code == "invalid_request"
