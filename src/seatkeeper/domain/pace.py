"""How fast one address may open sessions: a token bucket per account and address.

An account's agents may all sit behind one address (a contact center's NAT), and each may
open a second browser: so the bucket holds twice the account's licenses (at least `FLOOR`,
which the operator may change), and refills that many a minute. Beyond it opens are
refused at once, before any password is checked or any seat is looked at, and nothing is
recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

PERIOD = timedelta(minutes=1)
FLOOR = 20  # opens a minute from one address, whatever the account's licenses


def opens_allowed(licenses: int, floor: int = FLOOR) -> int:
    """Opens one address may make at once, and again every PERIOD."""
    return max(floor, 2 * licenses)


@dataclass(frozen=True, slots=True)
class Bucket:
    tokens: float
    at: datetime


def take(bucket: Bucket | None, *, now: datetime, capacity: int) -> tuple[Bucket, timedelta | None]:
    """The bucket after one more open, and None; or as it was, and how long until one
    more open is allowed."""
    if bucket is None:
        bucket = Bucket(float(capacity), now)
    elapsed = max(timedelta(0), now - bucket.at)
    tokens = min(float(capacity), bucket.tokens + capacity * (elapsed / PERIOD))
    if tokens >= 1:
        return Bucket(tokens - 1, now), None
    return Bucket(tokens, now), PERIOD * ((1 - tokens) / capacity)
