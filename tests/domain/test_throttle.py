"""Login throttling rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.domain import throttle
from seatkeeper.domain.errors import AddressPaused, LoginsChecking, TooManyAttempts
from seatkeeper.domain.throttle import Recent

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
        throttle.ensure_allowed(Recent(failures), Recent(failures), username="alice", now=NOW)
    assert refused.value.retry_after == timedelta(minutes=5)
    assert refused.value.message == (
        "Too many wrong passwords for 'alice' from this address: logins for it are paused "
        "for a while. Try again in 5 minutes."
    )


def test_failures_from_other_addresses_pause_the_username_only_in_great_numbers() -> None:
    elsewhere = [NOW - timedelta(seconds=10 * n) for n in range(throttle.FROM_ANYWHERE, 0, -1)]
    throttle.ensure_allowed(Recent(), Recent(elsewhere[1:]), username="alice", now=NOW)
    with pytest.raises(TooManyAttempts) as refused:
        throttle.ensure_allowed(Recent(), Recent(elsewhere), username="alice", now=NOW)
    assert "'alice' lately" in refused.value.message


def test_failures_from_one_address_pause_it_whatever_the_usernames() -> None:
    failures = [NOW - timedelta(seconds=10 * n) for n in range(throttle.FROM_ADDRESS, 0, -1)]
    throttle.ensure_allowed(
        Recent(), Recent(), username="alice", now=NOW, from_address=Recent(failures[1:])
    )
    with pytest.raises(AddressPaused) as refused:
        throttle.ensure_allowed(
            Recent(), Recent(), username="alice", now=NOW, from_address=Recent(failures)
        )
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
            Recent(failures),
            Recent(failures),
            username="alice",
            now=NOW,
            from_address=Recent(failures),
        )
    assert not isinstance(refused.value, AddressPaused)
    assert "'alice' from this address" in refused.value.message


def test_attempts_being_checked_make_the_next_wait_only_when_they_could_pause_it() -> None:
    failures = minutes_ago(1, 2)
    # Two failures and two being checked: a fifth attempt may be tried.
    throttle.ensure_allowed(Recent(failures, 2), Recent(failures, 2), username="alice", now=NOW)
    # With three being checked, all five might turn out wrong: it waits a second, and is
    # not told of wrong passwords nobody may have typed.
    with pytest.raises(LoginsChecking) as waits:
        throttle.ensure_allowed(Recent(failures, 3), Recent(failures, 3), username="alice", now=NOW)
    assert waits.value.code == "logins_busy"
    assert waits.value.retry_after == timedelta(seconds=1)
    assert waits.value.message == (
        "Other logins for 'alice' are being checked. Nothing was tried: try again in 1 second."
    )
    # Failures that alone reach the limit pause it, whatever is being checked.
    with pytest.raises(TooManyAttempts):
        throttle.ensure_allowed(
            Recent(minutes_ago(1, 2, 3, 4, 5), 3), Recent(), username="alice", now=NOW
        )


def test_an_address_with_many_logins_being_checked_waits_and_is_not_paused() -> None:
    crowd = Recent(minutes_ago(1), throttle.FROM_ADDRESS - 2)  # a busy office at 9:00
    throttle.ensure_allowed(Recent(), Recent(), username="alice", now=NOW, from_address=crowd)
    crowded = Recent(minutes_ago(1), throttle.FROM_ADDRESS - 1)
    with pytest.raises(LoginsChecking) as waits:
        throttle.ensure_allowed(Recent(), Recent(), username="alice", now=NOW, from_address=crowded)
    assert "Other logins from this address are being checked." in waits.value.message


def test_an_attempt_is_being_checked_until_it_settles_or_its_check_is_overdue() -> None:
    a, b, c = minutes_ago(3, 2, 1)
    counted = throttle.recent(
        [(a, None), (b, NOW + timedelta(seconds=30)), (c, NOW)],  # wrong; being checked; cut short
        NOW,
    )
    assert counted == Recent([a, c], 1)
