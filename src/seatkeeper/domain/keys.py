"""Application keys and user API tokens: what they are worth at an instant, and the rules
for making, rotating and taking them back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from seatkeeper.domain.errors import InvalidInput
from seatkeeper.domain.model import KeyKind
from seatkeeper.domain.validation import is_printable

MAX_KEY_NAME = 100
MAX_LIFETIME = timedelta(days=3650)  # an expiry further away is a typing mistake
MAX_GRACE = timedelta(days=30)  # a rotated key works at most this long beside the new one
# "Last used" is written at most this often per key: the agent API must not write on
# every call it authenticates.
LAST_USED_EVERY = timedelta(minutes=1)


class KeyState(StrEnum):
    """Whether a key works, and if not, why."""

    ACTIVE = "active"
    ROTATED = "rotated"  # replaced by a new key; works until its grace period ends
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key or token as its admins see it: never its secret (only a hash is kept)."""

    id: int
    account_id: int
    kind: KeyKind
    name: str
    username: str | None  # the user a token acts as; None for an application key
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None  # when it stopped (or, rotated, will stop) working
    replaced_by: int | None  # the key it was rotated to

    def state(self, now: datetime) -> KeyState:
        """What the key is worth at `now`."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return KeyState.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return KeyState.EXPIRED
        if self.revoked_at is not None:
            return KeyState.ROTATED
        return KeyState.ACTIVE

    def works(self, now: datetime) -> bool:
        return self.state(now) in (KeyState.ACTIVE, KeyState.ROTATED)

    def ends_at(self) -> datetime | None:
        """When it stops working (revoked, rotated or expiring), whichever comes first."""
        ends = [t for t in (self.revoked_at, self.expires_at) if t is not None]
        return min(ends) if ends else None


def key_name(name: str) -> str:
    """A key's label, as admins read it in the list."""
    name = name.strip()
    if not name or len(name) > MAX_KEY_NAME:
        raise InvalidInput(f"A key's name must be 1 to {MAX_KEY_NAME} characters long.")
    if not is_printable(name):
        raise InvalidInput("A key's name must not contain control characters.")
    return name


def expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    """A new key's expiry: in the future, at most ten years away; None never expires."""
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise InvalidInput("An expiry must say its time zone (an offset such as +02:00 or Z).")
    if expires_at <= now:
        raise InvalidInput("An expiry must be in the future.")
    if expires_at - now > MAX_LIFETIME:
        raise InvalidInput(f"An expiry may be at most {MAX_LIFETIME.days} days away.")
    return expires_at


def expiry_in_days(days: float | None, now: datetime) -> datetime | None:
    """An expiry `days` from now (the CLI's and the page's way of saying it)."""
    if days is None:
        return None
    if not 0 < days <= MAX_LIFETIME.days:
        raise InvalidInput(
            f"A key expires after more than 0 and at most {MAX_LIFETIME.days} days (or never)."
        )
    return now + timedelta(days=days)


def grace(period: timedelta) -> timedelta:
    """How long a rotated key keeps working: 0 (it stops at once) up to 30 days."""
    if not timedelta(0) <= period <= MAX_GRACE:
        raise InvalidInput(
            f"The grace period must be 0 to {MAX_GRACE.days * 24 * 60} minutes "
            f"({MAX_GRACE.days} days)."
        )
    return period


def stale(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a key's "last used" is old enough to be written again."""
    return last_used_at is None or now - last_used_at >= LAST_USED_EVERY
