"""Login throttling rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.domain import throttle
from seatkeeper.domain.errors import TooManyAttempts

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def minutes_ago(*values: float) -> list[datetime]:
    return [NOW - timedelta(minutes=v) for v in sorted(values, reverse=True)]


def test_four_failures_do_not_lock() -> None:
    assert throttle.locked_until(minutes_ago(1, 2, 3, 4), limit=5, now=NOW) is None


def test_the_fifth_failure_locks_until_the_oldest_of_them_leaves_the_window() -> None:
    failures = minutes_ago(1, 2, 3, 4, 10)
    assert throttle.locked_until(failures, limit=5, now=NOW) == NOW + timedelta(minutes=5)


def test_failures_older_than_the_window_do_not_count() -> None:
    assert throttle.locked_until(minutes_ago(1, 2, 3, 4, 16, 20), limit=5, now=NOW) is None


def test_the_refusal_says_how_long_to_wait() -> None:
    with pytest.raises(TooManyAttempts) as refused:
        throttle.ensure_allowed(minutes_ago(1, 2, 3, 4, 10), [], username="alice", now=NOW)
    assert refused.value.retry_after == timedelta(minutes=5)
    assert "Try again in 5 minutes." in refused.value.message
    assert "'alice'" in refused.value.message


def test_an_address_with_many_failures_is_locked_whatever_the_username() -> None:
    many = [NOW - timedelta(seconds=10 * n) for n in range(throttle.PER_SOURCE, 0, -1)]
    with pytest.raises(TooManyAttempts):
        throttle.ensure_allowed([], many, username="zed", now=NOW)
    throttle.ensure_allowed([], many[1:], username="zed", now=NOW)
