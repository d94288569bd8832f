"""Login throttling: after too many wrong passwords, logins wait for a while."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from seatkeeper.domain.errors import TooManyAttempts

WINDOW = timedelta(minutes=15)
PER_USER = 5  # wrong passwords for one username within the window
PER_SOURCE = 30  # wrong passwords from one address, whatever the username


def locked_until(failures: Sequence[datetime], *, limit: int, now: datetime) -> datetime | None:
    """Until when logins are refused, given the failures within the window (oldest first).

    Logins wait while `limit` failures lie within the last WINDOW: the lock lifts when
    the oldest of the last `limit` failures leaves the window.
    """
    recent = [at for at in failures if at > now - WINDOW]
    if len(recent) < limit:
        return None
    return recent[-limit] + WINDOW


def ensure_allowed(
    user_failures: Sequence[datetime],
    source_failures: Sequence[datetime],
    *,
    username: str,
    now: datetime,
) -> None:
    """Refuse a login attempt while its username or its address is locked."""
    until = max(
        (
            t
            for t in (
                locked_until(user_failures, limit=PER_USER, now=now),
                locked_until(source_failures, limit=PER_SOURCE, now=now),
            )
            if t is not None
        ),
        default=None,
    )
    if until is not None:
        raise TooManyAttempts(username, retry_after=until - now)
