"""Opens and logouts decided together: in arrival order, each with its own answer."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import (
    AccountNotFound,
    InvalidCredentials,
    InvalidToken,
    SessionExpired,
    SessionLoggedOut,
    SessionNotFound,
)
from seatkeeper.services import agents, seats
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords, token_hash
from seatkeeper.services.users import change_user
from seatkeeper.storage import users
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, denials, interactions
from tests.conftest import World


def guest(world: World, key: str | None = None) -> seats.Claim:
    return seats.Claim(key_hash=token_hash(key or world.app_key))


def agent(db: Database, world: World, username: str) -> seats.Claim:
    with db.read() as conn:
        found = users.user_login(conn, world.acme.id, username)
    assert found is not None
    return seats.Claim(key_hash=token_hash(world.app_key), user=found[0])


def release(opened: seats.Answer | Exception) -> seats.Release:
    assert isinstance(opened, seats.Opened)
    return seats.Release(opened.token, str(opened.session.id))


def counts(db: Database, account_id: int) -> tuple[int, int]:
    """(open sessions, denials) of the account."""
    with db.read() as conn:
        s = agent_sessions.c
        open_now = conn.execute(
            select(func.count()).where(s.account_id == account_id, s.ended_at.is_(None))
        ).scalar_one()
        refused = conn.execute(
            select(func.count()).where(denials.c.account_id == account_id)
        ).scalar_one()
    return open_now, refused


def test_claims_beyond_the_free_licenses_are_refused_in_arrival_order_and_recorded(
    db: Database, world: World, clock: FrozenClock
) -> None:
    answers = seats.decide(db, clock, [guest(world) for _ in range(5)])  # acme has 3
    assert [type(a) for a in answers] == [seats.Opened] * 3 + [seats.Refused] * 2
    assert {a.licenses for a in answers if isinstance(a, seats.Refused)} == {3}
    assert counts(db, world.acme.id) == (3, 2)
    assert len({a.token for a in answers if isinstance(a, seats.Opened)}) == 3


def test_a_logout_frees_its_seat_for_the_claims_after_it_not_before(
    db: Database, world: World, clock: FrozenClock
) -> None:
    first = seats.decide(db, clock, [guest(world) for _ in range(3)])
    clock.advance(timedelta(seconds=1))
    answers = seats.decide(db, clock, [guest(world), release(first[0]), guest(world)])
    assert isinstance(answers[0], seats.Refused)
    assert answers[1] is None
    assert isinstance(answers[2], seats.Opened)
    assert counts(db, world.acme.id) == (3, 1)


def test_one_agent_in_two_browsers_at_once_holds_one_session(
    db: Database, world: World, clock: FrozenClock
) -> None:
    one, two = seats.decide(db, clock, [agent(db, world, "alice"), agent(db, world, "alice")])
    assert isinstance(one, seats.Opened) and isinstance(two, seats.Opened)
    assert (one.joined, two.joined) == (False, True)
    assert one.session.id == two.session.id and one.token != two.token
    assert counts(db, world.acme.id) == (1, 0)
    clock.advance(timedelta(minutes=5))
    (three,) = seats.decide(db, clock, [agent(db, world, "alice")])
    assert isinstance(three, seats.Opened) and three.joined
    assert three.session.last_activity_at == clock.now()
    assert three.session.expires_at == clock.now() + timedelta(minutes=30)


def test_a_request_refused_for_itself_changes_nothing_for_the_others(
    db: Database, world: World, clock: FrozenClock, passwords: Passwords
) -> None:
    bob = agent(db, world, "bob")
    change_user(db, OPERATOR, "acme", "bob", enabled=False, now=clock.now())
    answers = seats.decide(
        db,
        clock,
        [
            guest(world, key="not-a-key"),
            bob,
            seats.Claim(console="globex"),  # globex has no console
            seats.Release("no-such-token", "x"),
            guest(world),
        ],
    )
    assert isinstance(answers[0], InvalidToken)
    assert isinstance(answers[1], InvalidCredentials)
    assert isinstance(answers[2], AccountNotFound)
    assert isinstance(answers[3], InvalidToken)
    assert isinstance(answers[4], seats.Opened)
    assert counts(db, world.acme.id) == (1, 0)


def test_a_logout_is_answered_as_any_call_for_an_ended_session(
    db: Database, world: World, clock: FrozenClock
) -> None:
    a, b = seats.decide(db, clock, [guest(world), guest(world)])
    assert isinstance(a, seats.Opened) and isinstance(b, seats.Opened)
    wrong_id = seats.Release(a.token, str(b.session.id))
    answers = seats.decide(db, clock, [wrong_id, release(a), release(a)])
    assert isinstance(answers[0], SessionNotFound)
    assert answers[1] is None
    assert isinstance(answers[2], SessionLoggedOut)
    clock.advance(timedelta(minutes=31))  # b timed out, unswept
    (late,) = seats.decide(db, clock, [release(b)])
    assert isinstance(late, SessionExpired)
    with db.read() as conn:
        row = conn.execute(select(agent_sessions).where(agent_sessions.c.id == b.session.id)).one()
    assert row.end_reason == "timeout" and row.ended_at == b.session.expires_at


def test_a_logout_closes_the_sessions_interactions(
    db: Database, world: World, clock: FrozenClock, passwords: Passwords
) -> None:
    opened = agents.open_session(
        db, passwords, application_key=world.app_key, credentials=None, clock=clock
    )
    for flow in ("Password Reset", "Password Reset"):
        agents.open_interaction(
            db, token=opened.token, session_id=str(opened.session.id), flow=flow, clock=clock
        )
    clock.advance(timedelta(minutes=1))
    agents.logout(db, token=opened.token, session_id=str(opened.session.id), clock=clock)
    with db.read() as conn:
        closed = conn.execute(select(interactions.c.closed_at)).scalars().all()
    assert closed == [clock.now(), clock.now()]


def test_each_account_is_capped_on_its_own_in_one_batch(
    db: Database, world: World, clock: FrozenClock
) -> None:
    mixed = [guest(world, key=k) for k in [world.app_key, world.globex_app_key] * 6]
    answers = seats.decide(db, clock, mixed)
    acme, globex = answers[0::2], answers[1::2]
    assert sum(isinstance(a, seats.Opened) for a in acme) == 3
    assert sum(isinstance(a, seats.Opened) for a in globex) == 5
    assert counts(db, world.acme.id) == (3, 3)
    assert counts(db, world.globex.id) == (5, 1)
