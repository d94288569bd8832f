"""Waiting in line for a license: following a ticket, taking the session it was seated in,
leaving the line, and who waits now.

A place is seated in the transaction that frees a license for it (storage.waits); its
session exists from then on, and lasts as long as the ticket would have until the ticket
takes it: only then is its token made (and shown once), and the session's timeout runs.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
from seatkeeper.domain.model import EndReason, Wait, WaitOutcome
from seatkeeper.services.seats import Opened
from seatkeeper.services.secrets import SESSION_TOKEN_PREFIX, new_token, token_hash
from seatkeeper.storage import accounts, sessions, users, waits
from seatkeeper.storage.db import Database

TICKET_TIMEOUT = timedelta(seconds=60)  # a place not followed for this long leaves the line


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
    db: Database, clock: Clock, ticket: str, wait_id: int, keep: timedelta = TICKET_TIMEOUT
) -> Place | Opened:
    """The ticket's place now (kept in line `keep` longer, or at least three quarters of it:
    a place followed within the last quarter is only read), or the session it was seated
    in, taken: its token is made and shown this once."""
    with db.read() as conn:  # a long poll follows again at once after each answer: no write
        wait = _wait_of(conn, ticket, wait_id)
        now = clock.now()
        if wait.outcome is None and wait.expires_at - now > keep * 3 / 4:
            return place_of(conn, wait, now)
    with db.write() as conn:
        wait = _wait_of(conn, ticket, wait_id)
        now = clock.now()
        if wait.outcome is WaitOutcome.SEATED:
            return _collect(conn, wait, now)
        _still_waiting(conn, wait, now)
        waits.followed(conn, wait.id, expires_at=now + keep)
        return place_of(conn, replace(wait, expires_at=now + keep), now)


def peeks(
    db: Database, clock: Clock, wait_ids: Sequence[int]
) -> list[tuple[WaitOutcome | None, int] | Exception]:
    """For each place, whether it has ended (and how) and how many wait before it (or
    WaitNotFound): a read for tickets that follow their places while they wait, one for
    every long poll a change wakes at once (one look at the places, one at each line)."""
    answers: list[tuple[WaitOutcome | None, int] | Exception] = []
    with db.read() as conn:
        now = clock.now()
        found = waits.waits_by_ids(conn, wait_ids)
        lines: dict[int, list[int]] = {}  # each account's places followed in time, by id
        for wait_id in wait_ids:
            wait = found.get(wait_id)
            if wait is None:
                answers.append(WaitNotFound())
            elif wait.outcome is not None:
                answers.append((wait.outcome, 0))
            else:
                if wait.account_id not in lines:
                    live = waits.line(conn, wait.account_id)
                    lines[wait.account_id] = [w.id for w in live if w.expires_at > now]
                answers.append((None, bisect_left(lines[wait.account_id], wait.id)))
    return answers


def leave(db: Database, clock: Clock, ticket: str, wait_id: int) -> None:
    """The waiter leaves the line (a place already ended is refused as ended)."""
    with db.write() as conn:
        wait = _wait_of(conn, ticket, wait_id)
        now = clock.now()
        if wait.outcome is WaitOutcome.SEATED and wait.collected_at is None:
            # Seated meanwhile, before the ticket took it: the license goes back.
            assert wait.session_id is not None
            waits.collect(conn, wait.id, now)
            sessions.end_session(conn, wait.session_id, at=now, reason=EndReason.LOGOUT)
            return
        _still_waiting(conn, wait, now)
        waits.end_waits(conn, wait.account_id, [wait.id], at=now, outcome=WaitOutcome.LEFT)


def waiting(db: Database, account_id: int, now: datetime) -> list[tuple[Wait, str | None]]:
    """Who waits in the account's line now, first first, with their usernames."""
    with db.read() as conn:
        return waits.waiting_list(conn, account_id, now)


def place_of(conn: Connection, wait: Wait, now: datetime) -> Place:
    ahead = waits.ahead_of(conn, wait, now)
    departures = sessions.count_ended_between(conn, wait.account_id, now - seating.RECENT, now)
    return Place(wait, ahead, seating.estimate(ahead, departures))


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
