"""Login throttling: after too many wrong passwords, logins for that username wait a while.

Failures count per username from one address (so that a busy office behind one
address is not locked out by one person's typos, nor an admin by a stranger's
guesses from elsewhere), and per username from anywhere, with a higher limit (so
that guessing from many addresses is bounded too). Failures from one address also
count across usernames, with a limit above a busy office's typos: a stranger trying
many usernames from one address is paused whatever the names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from seatkeeper.domain.errors import AddressPaused, TooManyAttempts

WINDOW = timedelta(minutes=15)
FROM_ONE_ADDRESS = 5  # wrong passwords for one username from one address, within the window
FROM_ANYWHERE = 50  # wrong passwords for one username from all addresses together
FROM_ADDRESS = 30  # wrong passwords from one address, whatever the usernames and accounts


def locked_until(failures: Sequence[datetime], *, limit: int, now: datetime) -> datetime | None:
    """Until when logins wait, given failures (oldest first): while `limit` of them lie
    within the last WINDOW, that is until the oldest of the last `limit` leaves it."""
    recent = [at for at in failures if at > now - WINDOW]
    if len(recent) < limit:
        return None
    return recent[-limit] + WINDOW


def ensure_allowed(
    from_here: Sequence[datetime],
    from_anywhere: Sequence[datetime],
    *,
    username: str,
    now: datetime,
    from_address: Sequence[datetime] = (),
) -> None:
    """Refuse a login attempt while its username, or its address (`from_address`: its
    failures whatever the usernames), is paused, saying why and for how long."""
    everywhere = locked_until(from_anywhere, limit=FROM_ANYWHERE, now=now)
    if everywhere is not None:
        raise TooManyAttempts(username, retry_after=everywhere - now, from_anywhere=True)
    here = locked_until(from_here, limit=FROM_ONE_ADDRESS, now=now)
    if here is not None:
        raise TooManyAttempts(username, retry_after=here - now, from_anywhere=False)
    address = locked_until(from_address, limit=FROM_ADDRESS, now=now)
    if address is not None:
        raise AddressPaused(retry_after=address - now)
