"""Agent-side use cases: open or join a session, keep it alive, work in Interactions, log out.

Each use case writes in one transaction. Refusals that must be recorded (a denial,
a timeout noticed on the way) are committed before the error is raised. Opening and
logging out change how many licenses are held: they are decided under the account's
lock by services.seats, one at a time here, or many together (the web API's).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from sqlalchemy import Connection

from seatkeeper.clock import Clock
from seatkeeper.domain import pool, work
from seatkeeper.domain.errors import (
    AccountNotFound,
    InteractionClosed,
    InteractionNotFound,
    InvalidToken,
    SessionNotFound,
)
from seatkeeper.domain.model import Account, AgentSession, Interaction, User
from seatkeeper.services import accounts, logins, seats
from seatkeeper.services.access import note_use
from seatkeeper.services.pace import OpenPace
from seatkeeper.services.secrets import Passwords, token_hash
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import flows as stored_flows
from seatkeeper.storage import keys, sessions, users
from seatkeeper.storage.db import Database

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Asking:
    """Who asks for a session beyond their credentials: the pace their address keeps
    (None: unlimited, for the command line and tests), and their browser (User-Agent)."""

    pace: OpenPace | None = None
    browser: str | None = None


def requester(source: str | None, browser: str | None) -> str | None:
    """The address and browser an open came from, hashed (a refusal keeps only this): one
    browser refused again and again counts once in the demand (domain.usage.asker)."""
    if source is None and browser is None:
        return None
    seen = f"{source or ''}\n{browser or ''}".encode()
    return hashlib.blake2b(seen, digest_size=16, person=b"seatkeeper-ask").hexdigest()


OpenedSession = seats.Opened

# Who the agent is, proven another way than a password (an ID token from the account's
# provider, a sign-in the console finished there): the user, for the account found.
Identify = Callable[[Account], User]


def open_session(
    db: Database,
    passwords: Passwords,
    *,
    application_key: str,
    credentials: tuple[str, str] | None,
    clock: Clock,
    source: str | None = None,
    asking: Asking = Asking(),
    identify: Identify | None = None,
) -> OpenedSession:
    """Open a session (taking a license), or join the agent's open one (taking none)."""
    claim = seat_claim(
        db,
        passwords,
        seats.Claim(key_hash=token_hash(application_key)),
        credentials,
        clock=clock,
        source=source,
        asking=asking,
        identify=identify,
    )
    return settled(seats.decide(db, clock, [claim])[0])


def open_console_session(
    db: Database,
    passwords: Passwords,
    *,
    account_slug: str,
    credentials: tuple[str, str] | None,
    clock: Clock,
    source: str | None = None,
    asking: Asking = Asking(),
    identify: Identify | None = None,
) -> OpenedSession:
    """Open (or join) a session for seatkeeper's own agent console, which needs no key."""
    claim = seat_claim(
        db,
        passwords,
        seats.Claim(console=account_slug),
        credentials,
        clock=clock,
        source=source,
        asking=asking,
        identify=identify,
    )
    return settled(seats.decide(db, clock, [claim])[0])


def seat_claim(
    db: Database,
    passwords: Passwords,
    door: seats.Claim,
    credentials: tuple[str, str] | None,
    *,
    clock: Clock,
    source: str | None,
    asking: Asking,
    identify: Identify | None = None,
) -> seats.Claim:
    """What an open through `door` (a claim naming only its key or console) asks for,
    with who the agent is proven. A Guest's claim is made at once: its account is found,
    and its pace kept, when claims are decided. An agent's password or ID token is checked
    first, which blocks (argon2 is slow by design and must not hold the lock), throttled
    like every login; opens from one address beyond its pace are refused before that,
    and cost neither a hash nor a write."""
    claim = replace(door, asker=requester(source, asking.browser), pace=asking.pace, source=source)
    if credentials is None and identify is None:
        return claim
    with db.read() as conn:
        if door.key_hash is not None:
            account = _account_for_key(conn, door.key_hash, clock.now())
        else:
            account = _console_account(conn, door.console or "")
    if asking.pace is not None:
        asking.pace.take(account, source, clock.now())
    if identify is not None:
        user = identify(account)
    else:
        assert credentials is not None
        _, user = logins.check_password(
            db,
            passwords,
            account_slug=account.slug,
            username=credentials[0],
            password=credentials[1],
            source=source,
            now=clock.now(),
        )
    return replace(claim, user=user, pace=None)


def settled(answer: seats.Answer | Exception) -> OpenedSession:
    """The session a claim opened or joined; or its refusal, raised."""
    if isinstance(answer, Exception):
        raise answer
    if isinstance(answer, seats.Refused):
        raise answer.error()
    assert answer is not None
    assert not isinstance(answer, seats.Waiting), "only a claim that asks to wait waits"
    return answer


def _console_account(conn: Connection, account_slug: str) -> Account:
    """An account whose agent console is on; any other is answered as unknown."""
    account = accounts.account_named(conn, account_slug)
    if not account.console_enabled:
        raise AccountNotFound
    return account


def _account_for_key(conn: Connection, key_hash: str, now: datetime) -> Account:
    """The account of a working application key."""
    found = keys.application_key_in_use(conn, key_hash, now)
    if found is None:
        raise InvalidToken(seats.BAD_KEY)
    return found[0]


@dataclass(frozen=True, slots=True)
class _Call:
    """One call for an open session, inside its transaction."""

    conn: Connection
    session: AgentSession
    now: datetime
    expires_at: datetime  # the session's expiry after this call's activity


def _for_session(
    db: Database,
    *,
    token: str,
    session_id: str,
    clock: Clock,
    action: Callable[[_Call], T],
) -> T:
    """Run `action` on the token's session if it is still open; every call is activity.

    A session that has ended answers with the reason; one that timed out unnoticed
    is recorded as ended at its expiry before the refusal.
    """
    with db.write() as conn:
        session, timeout = _authorized(conn, token, session_id, lock=True)
        now = clock.now()
        ended = pool.end_of(session, now)
        if ended is None:
            expires_at = pool.expiry(now, timeout)
            sessions.touch_session(conn, session.id, now=now, expires_at=expires_at)
            return action(_Call(conn, session, now, expires_at))
        if session.ended_at is None:
            sessions.expire_session(conn, session.id, now)
    raise pool.ended_error(ended[1])


def _authorized(
    conn: Connection, token: str, session_id: str, *, lock: bool = False
) -> tuple[AgentSession, timedelta]:
    found = sessions.session_by_token(conn, token_hash(token), lock=lock)
    if found is None:
        raise InvalidToken
    if found[0].id != _uuid(session_id):
        raise SessionNotFound
    return found


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def heartbeat(db: Database, *, token: str, session_id: str, clock: Clock) -> datetime:
    """Record activity; returns the session's new expiry."""
    return _for_session(
        db, token=token, session_id=session_id, clock=clock, action=lambda call: call.expires_at
    )


def open_interaction(
    db: Database, *, token: str, session_id: str, flow: str, clock: Clock
) -> Interaction:
    """Open a Flow as a new Interaction in the session."""

    def action(call: _Call) -> Interaction:
        account = stored_accounts.account_by_id(call.conn, call.session.account_id)
        opened = work.flow_to_open(
            flow,
            stored_flows.account_flows(call.conn, account.id),
            open_now=len(sessions.open_interactions(call.conn, call.session.id)),
            limit=account.max_interactions,
        )
        return sessions.insert_interaction(call.conn, call.session, flow=opened.name, now=call.now)

    return _for_session(db, token=token, session_id=session_id, clock=clock, action=action)


def step_interaction(
    db: Database, *, token: str, session_id: str, interaction_id: str, step: str, clock: Clock
) -> Interaction:
    """Navigate within an open Interaction."""

    def action(call: _Call) -> Interaction:
        interaction = _open_interaction(call, interaction_id)
        offered = stored_flows.flow_named(call.conn, call.session.account_id, interaction.flow)
        if offered is not None:  # a Flow removed since: its open Interactions keep working
            work.step_of(offered, step)
        sessions.set_interaction_step(call.conn, interaction.id, step)
        return Interaction(
            interaction.id,
            interaction.session_id,
            interaction.flow,
            interaction.opened_at,
            None,
            step,
        )

    return _for_session(db, token=token, session_id=session_id, clock=clock, action=action)


def close_interaction(
    db: Database, *, token: str, session_id: str, interaction_id: str, clock: Clock
) -> None:
    """Close an open Interaction."""

    def action(call: _Call) -> None:
        interaction = _open_interaction(call, interaction_id)
        sessions.close_interaction(call.conn, call.session, interaction.id, call.now)

    _for_session(db, token=token, session_id=session_id, clock=clock, action=action)


def _open_interaction(call: _Call, interaction_id: str) -> Interaction:
    wanted = _uuid(interaction_id)
    found = (
        None
        if wanted is None
        else sessions.interaction_in_session(call.conn, call.session.id, wanted)
    )
    if found is None:
        raise InteractionNotFound
    if found.closed_at is not None:
        raise InteractionClosed
    return found


def logout(db: Database, *, token: str, session_id: str, clock: Clock) -> None:
    """End the session for every browser that joined it; its license is free at once."""
    answer = seats.decide(db, clock, [seats.Release(token, session_id)])[0]
    if isinstance(answer, Exception):
        raise answer


@dataclass(frozen=True, slots=True)
class SessionDetails:
    session: AgentSession
    agent_id: str | None  # the username, None for a Guest
    interactions: list[Interaction]  # open ones, from every browser that joined


def session_details(db: Database, *, token: str, session_id: str, clock: Clock) -> SessionDetails:
    """The session as it stands, with its open Interactions (a joining browser shows them)."""

    def action(call: _Call) -> SessionDetails:
        s = call.session
        return SessionDetails(
            replace(s, last_activity_at=call.now, expires_at=call.expires_at),
            None if s.user_id is None else users.username_of(call.conn, s.user_id),
            sessions.open_interactions(call.conn, s.id),
        )

    return _for_session(db, token=token, session_id=session_id, clock=clock, action=action)


def application_account(db: Database, application_key: str, *, clock: Clock) -> Account:
    """The account a working application key belongs to."""
    now = clock.now()
    with db.read() as conn:
        found = keys.application_key_in_use(conn, token_hash(application_key), now)
    if found is None:
        raise InvalidToken("The application key is not valid, or has been revoked or expired.")
    note_use(db, found[1], now)
    return found[0]
