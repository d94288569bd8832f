"""The usage advice counts in the singular too: 1 license, 1 open, 1 day."""

from __future__ import annotations

from datetime import date, timedelta

from seatkeeper.domain.usage import Interval, advice, report_from_intervals
from tests.domain.test_usage import PARIS, at

TODAY = date(2026, 3, 10)
NOW, CREATED = at(TODAY, 18), at(TODAY - timedelta(days=60), 9)


def test_one_license_held_once_is_said_in_the_singular() -> None:
    spans = [Interval(at(TODAY, 9), at(TODAY, 10))]
    quiet = report_from_intervals(
        spans, [], now=NOW, tz=PARIS, licenses=1, account_created_at=CREATED
    )
    assert advice(quiet) == (
        "No open was refused in the past 30 days; at most 1 of the 1 license was in use at once."
    )


def test_one_refusal_that_one_license_would_have_avoided_is_said_in_the_singular() -> None:
    full = report_from_intervals(
        [], [(at(TODAY, 9), "user 7")], now=NOW, tz=PARIS, licenses=0, account_created_at=CREATED
    )
    assert advice(full) == (
        "1 open was refused on 1 day of the past 30; 1 license would have avoided every "
        "refusal (1 more than the 0 the account has)."
    )
