"""Login throttling: after too many wrong passwords, logins for that username wait a while.

Failures count per username from one address (so that a busy office behind one
address is not locked out by one person's typos, nor an admin by a stranger's
guesses from elsewhere), and per username from anywhere, with a higher limit (so
that guessing from many addresses is bounded too). Failures from one address also
count across usernames, with a limit above a busy office's typos: a stranger trying
many usernames from one address is paused whatever the names.

An attempt counts as a failure from the moment it is tried until its password turns out
right: parallel guesses cannot slip past the limits. While some of the attempts that
count are still being checked, they are not yet failures: an attempt that they alone
would put over a limit waits for them (LoginsChecking, a second) rather than being
paused for wrong passwords nobody has typed yet, as many right logins of a busy office
would otherwise be.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from seatkeeper.domain.errors import AddressPaused, LoginsChecking, TooManyAttempts

WINDOW = timedelta(minutes=15)
FROM_ONE_ADDRESS = 5  # wrong passwords for one username from one address, within the window
FROM_ANYWHERE = 50  # wrong passwords for one username from all addresses together
FROM_ADDRESS = 30  # wrong passwords from one address, whatever the usernames and accounts
# How long an attempt counts as being checked at most: a check takes well under a
# second, so one still unsettled after this was cut short (its server stopped) and
# counts as a failure.
CHECKING = timedelta(minutes=1)
CHECKING_RETRY = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Recent:
    """The attempts that count in one of the limits: the failures (oldest first) and how
    many attempts are being checked."""

    failures: Sequence[datetime] = ()
    checking: int = 0


def recent(attempts: Iterable[tuple[datetime, datetime | None]], now: datetime) -> Recent:
    """Attempts (when, and until when their password is being checked: None once known to
    be wrong) as the limits count them; one still unsettled past CHECKING is a failure."""
    failures, checking = [], 0
    for at, checking_until in attempts:
        if checking_until is not None and checking_until > now:
            checking += 1
        else:
            failures.append(at)
    return Recent(failures, checking)


def locked_until(failures: Sequence[datetime], *, limit: int, now: datetime) -> datetime | None:
    """Until when logins wait, given failures (oldest first): while `limit` of them lie
    within the last WINDOW, that is until the oldest of the last `limit` leaves it."""
    recent = [at for at in failures if at > now - WINDOW]
    if len(recent) < limit:
        return None
    return recent[-limit] + WINDOW


def ensure_allowed(
    from_here: Recent,
    from_anywhere: Recent,
    *,
    username: str,
    now: datetime,
    from_address: Recent = Recent(),
) -> None:
    """Refuse a login attempt while its username, or its address (`from_address`: its
    attempts whatever the usernames), is paused, saying why and for how long; or, while
    the attempts being checked might pause it, ask it to wait a moment."""
    everywhere = locked_until(from_anywhere.failures, limit=FROM_ANYWHERE, now=now)
    if everywhere is not None:
        raise TooManyAttempts(username, retry_after=everywhere - now, from_anywhere=True)
    here = locked_until(from_here.failures, limit=FROM_ONE_ADDRESS, now=now)
    if here is not None:
        raise TooManyAttempts(username, retry_after=here - now, from_anywhere=False)
    address = locked_until(from_address.failures, limit=FROM_ADDRESS, now=now)
    if address is not None:
        raise AddressPaused(retry_after=address - now)
    limits = ((from_anywhere, FROM_ANYWHERE), (from_here, FROM_ONE_ADDRESS))
    if any(_crowded(recent, limit, now) for recent, limit in limits):
        raise LoginsChecking(username, retry_after=CHECKING_RETRY)
    if _crowded(from_address, FROM_ADDRESS, now):
        raise LoginsChecking(None, retry_after=CHECKING_RETRY)


def _crowded(recent: Recent, limit: int, now: datetime) -> bool:
    """Whether the attempts being checked, if all turned out wrong, would reach `limit`."""
    failures = sum(1 for at in recent.failures if at > now - WINDOW)
    return recent.checking > 0 and failures + recent.checking >= limit
