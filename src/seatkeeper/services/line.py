"""Waiting in line for a license: following a ticket, taking the session it was seated in,
leaving the line, and who waits now.

A place is seated in the transaction that frees a license for it (storage.waits); its
session exists from then on, and lasts as long as the ticket would have until the ticket
takes it: only then is its token made (and shown once), and the session's timeout runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from seatkeeper.clock import Clock
from seatkeeper.domain import pool, seating
from seatkeeper.domain.errors import (
    InvalidToken,
    WaitCollected,
    WaitEnded,
    WaitLeft,
    WaitNotFound,
    WaitTimedOut,
)
from seatkeeper.domain.model import Account, EndReason, Wait, WaitOutcome
from seatkeeper.services import alerts
from seatkeeper.services.access import Actor, authorize
from seatkeeper.services.seats import Opened
from seatkeeper.services.secrets import SESSION_TOKEN_PREFIX, new_token, token_hash
from seatkeeper.storage import accounts, sessions, users, waits
from seatkeeper.storage.db import Database

TICKET_TIMEOUT = timedelta(seconds=60)  # a place not followed for this long leaves the line
SLACK = timedelta(seconds=5)  # kept beyond that when written: a follow within it only reads


@dataclass(frozen=True, slots=True)
class Place:
    """A place in line as its ticket sees it."""

    wait: Wait
    ahead: int  # how many wait before it
    estimate: timedelta | None  # at the pace of recent departures; None: none lately

    @property
    def position(self) -> int:
        return self.ahead + 1


def follow(
    db: Database,
    clock: Clock,
    ticket: str,
    wait_id: int,
    *,
    keep: timedelta = TICKET_TIMEOUT,
    polling: timedelta = timedelta(0),
    pace: Departures | None = None,
) -> Place | Opened:
    """The ticket's place now, or the session it was seated in, taken: its token is made
    and shown this once. Following keeps the place in line for `keep` after the follow's
    own `polling` ends. A place is kept a little longer each time it is written (SLACK),
    so that a place already kept that long is only read: waiters follow often."""
    pace = pace or Departures()
    with db.read() as conn:
        wait = _wait_of(conn, ticket, wait_id)
        now = clock.now()
        if wait.outcome is None and wait.expires_at >= now + polling + keep:
            return place_of(conn, wait, now, pace)
    with db.write() as conn:
        wait = _wait_of(conn, ticket, wait_id)
        now = clock.now()
        if wait.outcome is WaitOutcome.SEATED:
            return _collect(conn, wait, now)
        _still_waiting(conn, wait, now)
        kept = replace(wait, expires_at=now + polling + keep + min(keep / 4, SLACK))
        waits.followed(conn, wait.id, expires_at=kept.expires_at)
        return place_of(conn, kept, now, pace)


Look = tuple[WaitOutcome | None, int, int]  # ended (and how), how many ahead, departures


def states(
    db: Database, clock: Clock, pace: Departures, wait_ids: Sequence[int]
) -> list[Look | Exception]:
    """For each place: whether it has ended (and how), how many wait before it, and how
    many sessions of its account ended lately; one read for every ticket waiting on this
    instance (they look whenever the account changes)."""
    now = clock.now()
    with db.read() as conn:
        found = waits.states(conn, wait_ids, now)
        departed = {a: pace.count(conn, a, now) for a in {a for a, _, _ in found.values()}}
    return [
        (found[i][1], found[i][2], departed[found[i][0]]) if i in found else WaitNotFound()
        for i in wait_ids
    ]


def leave(db: Database, clock: Clock, ticket: str, wait_id: int) -> None:
    """The waiter leaves the line (a place already ended is refused as ended)."""
    with db.write() as conn:
        wait = _wait_of(conn, ticket, wait_id)
        now = clock.now()
        if wait.outcome is WaitOutcome.SEATED and wait.collected_at is None:
            # Seated meanwhile, before the ticket took it: the license goes back (under the
            # account's lock, as every change to the licenses held).
            assert wait.session_id is not None
            accounts.lock_account(conn, wait.account_id)
            if waits.collect(conn, wait.id, now):
                sessions.end_session(conn, wait.session_id, at=now, reason=EndReason.LOGOUT)
                alerts.settle(conn, wait.account_id, now)
            return
        _still_waiting(conn, wait, now)
        waits.end_waits(conn, wait.account_id, [wait.id], at=now, outcome=WaitOutcome.LEFT)


def moved(place: Place, ahead: int, departures: int) -> Place:
    """The place with `ahead` before it now, and its estimate at the pace of `departures`."""
    return Place(place.wait, ahead, seating.estimate(ahead, departures))


def keep(db: Database, now: datetime) -> int:
    """Seat the lines a license freed for unnoticed (sessions that timed out, a license a
    busy transaction could not give), and let go of places not followed; how many were
    seated. With nobody waiting it is one small read, so every instance runs it every
    second."""
    with db.read() as conn:
        waiting_in = waits.accounts_waiting(conn)
    seated = 0
    for account_id in waiting_in:
        with db.write() as conn:
            if not accounts.try_lock_account(conn, account_id):
                continue  # its holder seats the line as it commits
            if sessions.expire_overdue_sessions(conn, now, account_id=account_id):
                alerts.settle(conn, account_id, now)
            seated += waits.settle_line(conn, account_id, now, now)
    return seated


@dataclass(frozen=True, slots=True)
class Line:
    """Who waits in an account's line now, first first, each with their username (None: a
    Guest): what the Active Agents page and the admin API show."""

    account: Account
    places: tuple[tuple[Wait, str | None], ...]

    def __len__(self) -> int:
        return len(self.places)


def line_of(conn: Connection, account: Account, now: datetime) -> Line:
    """The account's line now (places whose tickets are still followed)."""
    return Line(account, tuple(waits.waiting_list(conn, account.id, now)))


def account_line(db: Database, user: Actor, account_slug: str, *, now: datetime) -> Line:
    """Who waits in the line of an account the actor may administer."""
    with db.read() as conn:
        return line_of(conn, authorize(conn, user, account_slug), now)


def place_of(conn: Connection, wait: Wait, now: datetime, pace: Departures) -> Place:
    ahead = waits.ahead_of(conn, wait, now)
    return Place(wait, ahead, seating.estimate(ahead, pace.count(conn, wait.account_id, now)))


@dataclass
class Departures:
    """How many sessions of each account ended lately, counted at most once a second (of
    this process's own time): an estimate needs no more, and places are followed often."""

    fresh: float = 1.0  # seconds
    _counted: dict[int, tuple[float, int]] = field(default_factory=dict)

    def count(self, conn: Connection, account_id: int, now: datetime) -> int:
        at, counted = self._counted.get(account_id, (None, 0))
        if at is None or time.monotonic() - at >= self.fresh:
            counted = sessions.count_ended_between(conn, account_id, now - seating.RECENT, now)
            self._counted[account_id] = (time.monotonic(), counted)
        return counted


def _wait_of(conn: Connection, ticket: str, wait_id: int) -> Wait:
    wait = waits.wait_by_token(conn, token_hash(ticket))
    if wait is None:
        raise InvalidToken
    if wait.id != wait_id:
        raise WaitNotFound
    return wait


def _still_waiting(conn: Connection, wait: Wait, now: datetime) -> None:
    """Refuse a place that has ended, or whose ticket was not followed in time (it leaves)."""
    if wait.outcome is WaitOutcome.LEFT:
        raise WaitLeft
    if wait.outcome is not None:
        raise WaitCollected if wait.outcome is WaitOutcome.SEATED else WaitTimedOut
    if wait.expires_at <= now:
        waits.end_waits(conn, wait.account_id, [wait.id], at=now, outcome=WaitOutcome.TIMED_OUT)
        raise WaitTimedOut


def _collect(conn: Connection, wait: Wait, now: datetime) -> Opened:
    """The session the place was seated in, taken by its ticket (once), with a new token;
    its timeout runs from now."""
    assert wait.session_id is not None
    account = accounts.lock_account(conn, wait.account_id)
    found = sessions.sessions_by_id(conn, wait.account_id, {wait.session_id}, lock=True)
    session = found.get(wait.session_id)
    if wait.collected_at is not None or not waits.collect(conn, wait.id, now):
        raise WaitCollected
    if session is None or pool.end_of(session, now) is not None:
        raise WaitEnded("The session this place was given has ended. Ask for a license again.")
    expires_at = pool.expiry(now, account.session_timeout)
    sessions.touch_session(conn, session.id, now=now, expires_at=expires_at)
    token = new_token(SESSION_TOKEN_PREFIX)
    sessions.insert_session_tokens(conn, [(token_hash(token), session.id)], now=now)
    username = None
    if session.user_id is not None:
        users.record_logins(conn, [session.user_id], now)
        user = users.user_by_id(conn, session.user_id)
        username = None if user is None else user.username
    taken = replace(session, last_activity_at=now, expires_at=expires_at)
    return Opened(taken, token, username, joined=False)
