"""Seat groups as the service manages them: each rule, each refusal changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import (
    AccountNotFound,
    Conflict,
    GroupNotFound,
    InvalidInput,
    NotAllowed,
    UserNotFound,
)
from seatkeeper.services import access, groups
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage import accounts, audit
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions
from tests.conftest import World, insert_guests

ACTIONS = ["group_created", "group_changed", "group_deleted", "group_members_set"]


def _state(db: Database, slug: str = "acme") -> Any:
    """Everything a refused change must leave as it was."""
    found = groups.list_groups(db, OPERATOR, slug)
    with db.read() as conn:
        rows = audit.events(conn, found.account.id, [*ACTIONS, "user_groups_set"])
    return found.rows, found.memberships, found.account.has_groups, len(rows)


def test_a_group_is_created_listed_and_audited(
    db: Database, world: World, clock: FrozenClock
) -> None:
    admin = access.authenticate_token(db, world.admin_token)
    made = groups.create_group(
        db, admin, "acme", name="Billing", reserved=2, maximum=3, now=clock.now()
    )
    found = groups.list_groups(db, admin, "acme")
    assert [(r.group, r.members) for r in found.rows] == [(made, 0)]
    assert (made.name, made.reserved, made.maximum, made.guests) == ("Billing", 2, 3, False)
    assert found.account.has_groups
    with db.read() as conn:
        (row,) = audit.events(conn, world.acme.id, ACTIONS)
    assert (row["action"], row["actor"]) == ("group_created", "admin")
    assert row["details"] == {"group": "Billing", "reserved": 2, "maximum": 3}


def test_reservations_never_add_up_to_more_than_the_licenses(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    groups.create_group(db, OPERATOR, "acme", name="Billing", reserved=2, now=now)
    before = _state(db)
    with pytest.raises(Conflict) as refused:
        groups.create_group(db, OPERATOR, "acme", name="Sales", reserved=2, now=now)
    assert refused.value.message == (
        "Reservations would add up to 4 licenses, more than the account's 3."
    )
    with pytest.raises(Conflict, match="add up to 5 licenses"):
        groups.change_group(db, OPERATOR, "acme", "billing", reserved=5, now=now)
    with pytest.raises(Conflict, match="add up to 4 licenses"):
        groups.set_guests(db, OPERATOR, "acme", reserved=2, now=now)
    assert _state(db) == before
    # Lowering is always allowed; up to the licenses is fine.
    assert groups.change_group(db, OPERATOR, "acme", "Billing", reserved=3, now=now).reserved == 3


def test_a_change_is_audited_setting_by_setting(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    made = groups.create_group(db, OPERATOR, "acme", name="Billing", maximum=4, now=now)
    changed = groups.change_group(
        db, OPERATOR, "acme", made.id, name="Accounts", reserved=1, maximum=None, now=now
    )
    assert (changed.name, changed.reserved, changed.maximum) == ("Accounts", 1, None)
    with db.read() as conn:
        rows = audit.events(conn, world.acme.id, ["group_changed"])
    assert sorted(
        (r["details"]["setting"], r["details"]["from"], r["details"]["to"]) for r in rows
    ) == [
        ("maximum", 4, None),
        ("name", "Billing", "Accounts"),
        ("reserved", 0, 1),
    ]
    # The same values again change nothing, and say nothing.
    groups.change_group(db, OPERATOR, "acme", made.id, reserved=1, now=now)
    with db.read() as conn:
        assert len(audit.events(conn, world.acme.id, ["group_changed"])) == 3


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "must not be blank"),
        ("   ", "must not be blank"),
        ("Bil\x00ling", "control characters"),
        ("Bil\nling", "control characters"),
        ("x" * 101, "at most 100 characters"),
        ("guests", "is the Guests group's name"),
        ("ＧＵＥＳＴＳ", "is the Guests group's name"),
    ],
)
def test_a_bad_name_is_refused_and_changes_nothing(
    db: Database, world: World, clock: FrozenClock, name: str, problem: str
) -> None:
    made = groups.create_group(db, OPERATOR, "acme", name="Billing", now=clock.now())
    before = _state(db)
    with pytest.raises(InvalidInput, match=problem):
        groups.create_group(db, OPERATOR, "acme", name=name, now=clock.now())
    with pytest.raises(InvalidInput, match=problem):
        groups.change_group(db, OPERATOR, "acme", made.id, name=name, now=clock.now())
    assert _state(db) == before


def test_names_are_unique_as_usernames_are_and_markup_is_kept_as_text(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    hostile = "<script>alert('x')</script> & Co"
    made = groups.create_group(db, OPERATOR, "acme", name=hostile, now=now)
    assert made.name == hostile
    groups.create_group(db, OPERATOR, "acme", name="Billing", now=now)
    before = _state(db)
    with pytest.raises(Conflict, match="already has a group 'Billing'"):
        groups.create_group(db, OPERATOR, "acme", name="ＢＩＬＬＩＮＧ", now=now)
    with pytest.raises(Conflict, match="already has a group 'Billing'"):
        groups.change_group(db, OPERATOR, "acme", made.id, name="billing", now=now)
    assert _state(db) == before
    # Another account may use the name.
    groups.create_group(db, OPERATOR, "globex", name="Billing", now=now)


@pytest.mark.parametrize(
    ("reserved", "maximum"), [(-1, None), (0, -1), (10**12, None), (0, 10**12)]
)
def test_counts_out_of_range_are_refused(
    db: Database, world: World, clock: FrozenClock, reserved: int, maximum: int | None
) -> None:
    before = _state(db)
    with pytest.raises(InvalidInput, match="must be between 0 and 1,000,000"):
        groups.create_group(
            db,
            OPERATOR,
            "acme",
            name="Billing",
            reserved=reserved,
            maximum=maximum,
            now=clock.now(),
        )
    with pytest.raises(InvalidInput, match="must be between 0 and 1,000,000"):
        groups.set_guests(db, OPERATOR, "acme", reserved=reserved, maximum=maximum, now=clock.now())
    assert _state(db) == before


def test_members_are_set_from_the_accounts_users_only(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    made = groups.create_group(db, OPERATOR, "acme", name="Billing", now=now)
    _, names = groups.set_members(db, OPERATOR, "acme", made.id, ["alice", "BOB"], now=now)
    assert names == ["alice", "bob"]
    before = _state(db)
    for stranger in ("gina", "nobody"):  # gina is Globex's
        with pytest.raises(UserNotFound, match=stranger):
            groups.set_members(db, OPERATOR, "acme", made.id, ["carol", stranger], now=now)
    assert _state(db) == before
    groups.set_members(db, OPERATOR, "acme", "billing", ["bob", "carol"], now=now)
    found = groups.list_groups(db, OPERATOR, "acme")
    assert found.rows[0].members == 2
    with db.read() as conn:
        row = audit.events(conn, world.acme.id, ["group_members_set"])[0]
    assert row["details"] == {"group": "Billing", "added": ["carol"], "removed": ["alice"]}


def test_a_users_groups_are_set_among_the_accounts_teams(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    billing = groups.create_group(db, OPERATOR, "acme", name="Billing", now=now)
    sales = groups.create_group(db, OPERATOR, "acme", name="Sales", now=now)
    guests = groups.set_guests(db, OPERATOR, "acme", maximum=2, now=now)
    theirs = groups.create_group(db, OPERATOR, "globex", name="Theirs", now=now)
    assert groups.set_user_groups(
        db, OPERATOR, "acme", "alice", [sales.id, billing.id], now=now
    ) == [
        "Billing",
        "Sales",
    ]
    before = _state(db)
    for other in (theirs.id, guests.id, 10**9):
        with pytest.raises(GroupNotFound):
            groups.set_user_groups(db, OPERATOR, "acme", "alice", [other], now=now)
    assert _state(db) == before
    groups.set_user_groups(db, OPERATOR, "acme", "alice", [sales.id], now=now)
    found = groups.list_groups(db, OPERATOR, "acme")
    alice = next(u for u in found.memberships)
    assert found.memberships == {alice: frozenset({sales.id})}


def test_the_guests_group_is_made_on_first_setting_and_has_no_users(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    made = groups.set_guests(db, OPERATOR, "acme", maximum=3, now=now)
    assert (made.name, made.guests, made.maximum, made.reserved) == ("Guests", True, 3, 0)
    again = groups.set_guests(db, OPERATOR, "acme", reserved=1, now=now)
    assert (again.id, again.maximum, again.reserved) == (made.id, 3, 1)
    with pytest.raises(InvalidInput, match="Guest sessions, not users"):
        groups.set_members(db, OPERATOR, "acme", made.id, ["alice"], now=now)
    with pytest.raises(InvalidInput, match="keeps its name"):
        groups.change_group(db, OPERATOR, "acme", made.id, name="Visitors", now=now)
    assert groups.list_groups(db, OPERATOR, "acme").guests is not None


def test_deleting_a_group_frees_its_reserved_licenses_and_members(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    billing = groups.create_group(db, OPERATOR, "acme", name="Billing", reserved=2, now=now)
    sales = groups.create_group(db, OPERATOR, "acme", name="Sales", now=now)
    groups.set_members(db, OPERATOR, "acme", billing.id, ["alice"], now=now)
    first, second = insert_guests(db, world.acme.id, now, 2)
    with db.write() as conn:
        for session, group in ((first, billing), (second, sales)):
            conn.execute(
                update(agent_sessions)
                .where(agent_sessions.c.id == session.id)
                .values(group_id=group.id, reserved=True)
            )
    groups.delete_group(db, OPERATOR, "acme", "Billing", now=now)
    with db.read() as conn:
        rows = dict(conn.execute(select(agent_sessions.c.id, agent_sessions.c.group_id)).all())
        assert accounts.account_by_id(conn, world.acme.id).has_groups
    assert rows == {first.id: None, second.id: sales.id}
    found = groups.list_groups(db, OPERATOR, "acme")
    assert [r.group.name for r in found.rows] == ["Sales"] and found.memberships == {}
    groups.delete_group(db, OPERATOR, "acme", sales.id, now=now)
    assert not groups.list_groups(db, OPERATOR, "acme").account.has_groups
    with pytest.raises(GroupNotFound):
        groups.delete_group(db, OPERATOR, "acme", sales.id, now=now)


def test_only_account_admins_manage_their_own_accounts_groups(
    db: Database, world: World, clock: FrozenClock
) -> None:
    now = clock.now()
    agent = access.authenticate_token(db, world.agent_token)
    other_admin = access.authenticate_token(db, world.globex_admin_token)
    root = access.authenticate_token(db, world.super_token)
    with pytest.raises(NotAllowed):
        groups.create_group(db, agent, "acme", name="Billing", now=now)
    with pytest.raises(AccountNotFound):
        groups.create_group(db, other_admin, "acme", name="Billing", now=now)
    made = groups.create_group(db, root, "acme", name="Billing", now=now)
    with pytest.raises(GroupNotFound):  # a group id of another account is not found
        groups.delete_group(db, other_admin, "globex", made.id, now=now)
