"""Login throttling rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.domain import throttle
from seatkeeper.domain.errors import AddressPaused, TooManyAttempts

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


def test_five_failures_from_one_address_pause_that_address_and_say_so() -> None:
    failures = minutes_ago(1, 2, 3, 4, 10)
    with pytest.raises(TooManyAttempts) as refused:
        throttle.ensure_allowed(failures, failures, username="alice", now=NOW)
    assert refused.value.retry_after == timedelta(minutes=5)
    assert refused.value.message == (
        "Too many wrong passwords for 'alice' from this address: logins for it are paused "
        "for a while. Try again in 5 minutes."
    )


def test_failures_from_other_addresses_pause_the_username_only_in_great_numbers() -> None:
    elsewhere = [NOW - timedelta(seconds=10 * n) for n in range(throttle.FROM_ANYWHERE, 0, -1)]
    throttle.ensure_allowed([], elsewhere[1:], username="alice", now=NOW)
    with pytest.raises(TooManyAttempts) as refused:
        throttle.ensure_allowed([], elsewhere, username="alice", now=NOW)
    assert "'alice' lately" in refused.value.message


def test_failures_from_one_address_pause_it_whatever_the_usernames() -> None:
    failures = [NOW - timedelta(seconds=10 * n) for n in range(throttle.FROM_ADDRESS, 0, -1)]
    throttle.ensure_allowed([], [], username="alice", now=NOW, from_address=failures[1:])
    with pytest.raises(AddressPaused) as refused:
        throttle.ensure_allowed([], [], username="alice", now=NOW, from_address=failures)
    assert refused.value.code == "too_many_attempts"
    assert refused.value.retry_after == throttle.WINDOW - timedelta(seconds=300)
    assert refused.value.message == (
        "Too many wrong passwords from this address: logins from it are paused for a "
        "while. Try again in 10 minutes."
    )


def test_a_paused_username_is_named_before_a_paused_address() -> None:
    failures = minutes_ago(*range(1, throttle.FROM_ADDRESS + 1))
    with pytest.raises(TooManyAttempts) as refused:
        throttle.ensure_allowed(
            failures, failures, username="alice", now=NOW, from_address=failures
        )
    assert not isinstance(refused.value, AddressPaused)
    assert "'alice' from this address" in refused.value.message
