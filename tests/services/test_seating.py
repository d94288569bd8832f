"""Seat groups in the claim: reserved licenses for members first, then unreserved ones, each
group within its maximum; a join never refused; the license total kept above reservations."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, update

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import (
    DomainError,
    GroupLimitReached,
    InvalidFields,
    LicenseLimitReached,
    ReservedLicensesInUse,
)
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services import agents, seats
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import users
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import accounts, agent_sessions, seat_group_members, seat_groups
from tests.conftest import World
from tests.services.test_seats import agent, counts, guest, release


def add_group(
    db: Database,
    account_id: int,
    name: str,
    *,
    reserved: int = 0,
    maximum: int | None = None,
    guests: bool = False,
    members: Sequence[str] = (),
) -> int:
    """A seat group, written straight into the tables (and the account marked as having one)."""
    with db.write() as conn:
        group_id = conn.execute(
            insert(seat_groups).returning(seat_groups.c.id),
            {
                "account_id": account_id,
                "name": name,
                "name_key": name.casefold(),
                "guests": guests,
                "reserved": reserved,
                "maximum": maximum,
                "created_at": stored_accounts.account_by_id(conn, account_id).created_at,
            },
        ).scalar_one()
        for username in members:
            found = users.user_login(conn, account_id, username)
            assert found is not None
            conn.execute(insert(seat_group_members), {"group_id": group_id, "user_id": found[0].id})
        conn.execute(update(accounts).where(accounts.c.id == account_id).values(has_groups=True))
    return int(group_id)


def seat_of(answer: seats.Answer | Exception) -> tuple[int | None, bool]:
    opened = agents.settled(answer)
    return opened.session.group_id, opened.session.reserved


def refusal(answer: seats.Answer | Exception) -> DomainError:
    with pytest.raises(LicenseLimitReached) as e:
        agents.settled(answer)
    return e.value


def stored(db: Database, world: World) -> set[tuple[int | None, int | None, bool]]:
    """Each open session of acme: (user id, group id, reserved)."""
    s = agent_sessions.c
    with db.read() as conn:
        rows = conn.execute(
            select(s.user_id, s.group_id, s.reserved).where(
                s.account_id == world.acme.id, s.ended_at.is_(None)
            )
        )
        return {(r.user_id, r.group_id, r.reserved) for r in rows}


def test_a_member_takes_a_reserved_license_and_others_the_unreserved_ones(
    db: Database, world: World, clock: FrozenClock
) -> None:
    billing = add_group(db, world.acme.id, "Billing", reserved=1, members=["alice"])
    alpha = add_group(db, world.acme.id, "Alpha", members=["bob", "alice"])  # first by name
    claims = [agent(db, world, name) for name in ("bob", "alice", "carol", "dave")]
    answers = seats.decide(db, clock, claims)
    assert [seat_of(a) for a in answers[:3]] == [(alpha, False), (billing, True), (None, False)]
    # acme's 3 licenses: 1 reserved for Billing, held; the 2 unreserved ones are too.
    assert str(refusal(answers[3])) == "All 2 unreserved licenses are in use."
    ids = [c.user.id for c in claims if c.user is not None]
    assert stored(db, world) == {
        (ids[0], alpha, False),
        (ids[1], billing, True),
        (ids[2], None, False),
    }
    assert counts(db, world.acme.id) == (3, 1)


def test_a_reservation_is_never_taken_by_others_and_is_kept_for_its_members(
    db: Database, world: World, clock: FrozenClock
) -> None:
    billing = add_group(db, world.acme.id, "Billing", reserved=2, members=["alice", "bob"])
    answers = seats.decide(db, clock, [guest(world), guest(world), agent(db, world, "carol")])
    assert seat_of(answers[0]) == (None, False)
    assert str(refusal(answers[1])) == "The only unreserved license is in use."
    assert str(refusal(answers[2])) == "The only unreserved license is in use."
    later = seats.decide(db, clock, [agent(db, world, "alice"), agent(db, world, "bob")])
    assert [seat_of(a) for a in later] == [(billing, True), (billing, True)]


def test_a_member_whose_reservation_is_held_is_told_so(
    db: Database, world: World, clock: FrozenClock
) -> None:
    add_group(db, world.acme.id, "Billing", reserved=1, members=["alice", "bob"])
    names = ("alice", "carol", "dave", "bob")
    answers = seats.decide(db, clock, [agent(db, world, n) for n in names])
    assert str(refusal(answers[3])) == (
        "The only license reserved for Billing is in use and no unreserved license is free."
    )
    assert refusal(answers[3]).code == "license_limit_reached"


def test_a_license_given_back_is_taken_again_in_the_same_turn(
    db: Database, world: World, clock: FrozenClock
) -> None:
    billing = add_group(db, world.acme.id, "Billing", reserved=1, members=["alice", "bob"])
    first = seats.decide(db, clock, [agent(db, world, n) for n in ("alice", "carol", "dave")])
    clock.advance(timedelta(seconds=1))
    again = seats.decide(db, clock, [agent(db, world, "bob"), release(first[0])])
    assert isinstance(refusal(again[0]), ReservedLicensesInUse)
    last = seats.decide(db, clock, [release(first[1]), agent(db, world, "bob"), guest(world)])
    assert seat_of(last[1]) == (billing, True)  # Billing's license, freed a turn before
    assert seat_of(last[2]) == (None, False)  # carol's, freed in this one


def test_guests_and_members_stay_within_their_maximum(
    db: Database, world: World, clock: FrozenClock
) -> None:
    guests = add_group(db, world.acme.id, "Guests", guests=True, maximum=1)
    add_group(db, world.acme.id, "Team", maximum=1, members=["alice", "bob"])
    answers = seats.decide(
        db, clock, [guest(world), guest(world), agent(db, world, "alice"), agent(db, world, "bob")]
    )
    assert seat_of(answers[0]) == (guests, False)
    assert str(refusal(answers[1])) == "Guests may hold at most 1 license."
    assert str(refusal(answers[3])) == "Team may hold at most 1 license."
    assert refusal(answers[3]).code == "group_limit_reached"
    # A join takes no license: never refused. A seat given back counts at once.
    clock.advance(timedelta(seconds=1))
    later = seats.decide(
        db, clock, [agent(db, world, "alice"), release(answers[0]), guest(world), guest(world)]
    )
    assert agents.settled(later[0]).joined
    assert seat_of(later[2]) == (guests, False)
    assert isinstance(refusal(later[3]), GroupLimitReached)
    assert counts(db, world.acme.id) == (2, 3)


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The statements run while the block runs."""
    seen: list[str] = []

    def noted(*args: Any) -> None:
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", noted)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", noted)


def test_a_claim_reads_groups_only_on_an_account_that_has_some(
    db: Database, world: World, clock: FrozenClock
) -> None:
    add_group(db, world.globex.id, "Elsewhere", reserved=1)
    with statements(db) as plain:
        seats.decide(db, clock, [guest(world), agent(db, world, "alice")])
    assert plain and not [s for s in plain if "seat_group" in s]
    add_group(db, world.acme.id, "Team", maximum=2, members=["bob"])
    with statements(db) as grouped:
        seats.decide(db, clock, [guest(world), agent(db, world, "bob")])
    assert len([s for s in grouped if "seat_group" in s]) == 2  # groups, members' holdings


def test_licenses_below_the_reservations_are_refused_and_nothing_changes(
    db: Database, world: World, clock: FrozenClock
) -> None:
    add_group(db, world.acme.id, "Billing", reserved=2)
    add_group(db, world.acme.id, "Sales", reserved=1)
    with pytest.raises(InvalidFields) as refused:
        change_settings(db, OPERATOR, "acme", SettingsChange(licenses=2), now=clock.now())
    assert refused.value.fields == {
        "licenses": "Reservations would add up to 3 licenses, more than the account's 2."
    }
    with db.read() as conn:
        assert stored_accounts.account_by_id(conn, world.acme.id).licenses == 3
        assert conn.execute(select(func.count()).select_from(seat_groups)).scalar_one() == 2
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=4), now=clock.now())
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=3), now=clock.now())
