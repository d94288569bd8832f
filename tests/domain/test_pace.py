"""The pace of session opens from one address: a token bucket, per account and address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from seatkeeper.domain import pace

T0 = datetime(2026, 3, 10, 9, tzinfo=UTC)


def run(count: int, *, capacity: int, every: timedelta = timedelta(0)) -> list[bool]:
    """Whether each of `count` opens, `every` apart, is allowed."""
    bucket, allowed = None, []
    for n in range(count):
        bucket, wait = pace.take(bucket, now=T0 + n * every, capacity=capacity)
        allowed.append(wait is None)
    return allowed


def test_the_allowance_follows_the_licenses_with_a_floor() -> None:
    assert pace.opens_allowed(0) == pace.opens_allowed(5) == pace.FLOOR == 20
    assert pace.opens_allowed(300) == 600  # a shift, and a second browser each


def test_a_burst_beyond_the_allowance_is_refused_with_when_to_retry() -> None:
    assert run(300, capacity=20).count(True) == 20
    bucket = None
    for _ in range(20):
        bucket, _wait = pace.take(bucket, now=T0, capacity=20)
    _, wait = pace.take(bucket, now=T0, capacity=20)
    assert wait == timedelta(seconds=3)  # one more open every 60/20 seconds


def test_the_bucket_refills_at_the_allowance_per_minute() -> None:
    assert all(run(200, capacity=20, every=timedelta(seconds=3)))  # 20 a minute, forever
    refused = run(200, capacity=20, every=timedelta(seconds=1))  # 60 a minute
    assert 0 < refused.count(True) < 200
    bucket, _ = pace.take(None, now=T0, capacity=1)
    assert pace.take(bucket, now=T0 + timedelta(minutes=1), capacity=1)[1] is None


def test_a_clock_going_back_refills_nothing() -> None:
    bucket, _ = pace.take(None, now=T0, capacity=1)
    bucket, wait = pace.take(bucket, now=T0 - timedelta(hours=1), capacity=1)
    assert wait == timedelta(minutes=1)
