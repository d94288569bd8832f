"""The seating rules against a brute-force oracle that keeps every open session's seat and
tries every group and the unreserved licenses for each claim; and each refusal's sentence."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seatkeeper.domain.errors import (
    GroupLimitReached,
    LicenseLimitReached,
    ReservationsExceedLicenses,
    UnreservedLicensesInUse,
)
from seatkeeper.domain.model import SeatGroup
from seatkeeper.domain.seating import Holdings, Seat, check_reservations, seat

GUEST = None
USERS = range(5)
NAMES = ["Alpha", "Billing", "Guests"]  # the groups' ids are 0, 1, 2; 2 is the Guests group


def group(gid: int, reserved: int = 0, maximum: int | None = None) -> SeatGroup:
    return SeatGroup(gid, 1, NAMES[gid], gid == 2, reserved, maximum)


@dataclass
class Held:
    user: int | None
    group_id: int | None
    reserved: bool


@dataclass
class World:
    """The oracle: the account, its groups and memberships, and each open session's seat."""

    licenses: int
    overdraft: int
    groups: dict[int, SeatGroup]
    members: dict[int, set[int]]  # user: the ids of their groups
    open: list[Held] = field(default_factory=list)

    def member_of(self, user: int | None) -> list[SeatGroup]:
        ids = {2} if user is None else self.members[user]
        return [self.groups[g] for g in sorted(ids) if g in self.groups]

    def is_member(self, user: int | None, gid: int) -> bool:
        return any(g.id == gid for g in self.member_of(user))

    def held_reserved(self, gid: int) -> int:
        return sum(1 for s in self.open if s.reserved and s.group_id == gid)

    def unreserved(self) -> int:
        return sum(1 for s in self.open if not s.reserved)

    def members_held(self, gid: int) -> int:
        return sum(1 for s in self.open if self.is_member(s.user, gid))

    def promised(self) -> int:
        """Licenses the reservations keep (a group holding more keeps what it holds)."""
        gids = set(self.groups) | {s.group_id for s in self.open if s.reserved}
        return sum(
            max(self.groups[g].reserved if g in self.groups else 0, self.held_reserved(g))
            for g in gids
            if g is not None
        )

    def holdings(self) -> Holdings:
        """The counts a turn reads from the database."""
        held = Holdings()
        for s in self.open:
            if s.reserved:
                assert s.group_id is not None
                held.reserved[s.group_id] += 1
            else:
                held.unreserved += 1
        for g in self.groups.values():
            if g.maximum is not None:
                held.members[g.id] = self.members_held(g.id)
        return held

    def fits(self, claim: Held) -> bool:
        """Whether opening `claim` breaks no rule (and no promise further than it was)."""
        cap = self.licenses + self.overdraft
        self.open.append(claim)
        try:
            mine = self.member_of(claim.user)
            return (
                len(self.open) <= cap
                and all(g.maximum is None or self.members_held(g.id) <= g.maximum for g in mine)
                and (
                    not claim.reserved
                    or (
                        claim.group_id is not None
                        and self.is_member(claim.user, claim.group_id)
                        and self.held_reserved(claim.group_id)
                        <= self.groups[claim.group_id].reserved
                    )
                )
                # An unreserved license is one no reservation keeps.
                and (claim.reserved or self.promised() + self.unreserved() <= cap)
            )
        finally:
            self.open.pop()

    def options(self, user: int | None) -> list[Held]:
        """Every seat the claim could be given without breaking a rule."""
        mine = self.member_of(user)
        first = mine[0].id if mine else None
        tried = [Held(user, g.id, True) for g in mine] + [Held(user, first, False)]
        return [h for h in tried if self.fits(h)]


def check_claim(world: World, user: int | None, held: Holdings) -> None:
    """The rules' answer to one claim, checked against the oracle's options; then applied."""
    options = world.options(user)
    was_open = len(world.open)
    try:
        got = seat(
            licenses=world.licenses,
            overdraft=world.overdraft,
            groups=list(world.groups.values()),
            member_of=world.member_of(user),
            held=held,
        )
    except LicenseLimitReached as refusal:
        assert options == [], (refusal, options)
        at_maximum = any(
            g.maximum is not None and world.members_held(g.id) >= g.maximum
            for g in world.member_of(user)
        )
        assert isinstance(refusal, GroupLimitReached) == at_maximum
        return
    placed = Held(user, got.group_id, got.reserved)
    assert placed in options
    reserved = [o for o in options if o.reserved]
    assert placed == (reserved[0] if reserved else options[-1])  # its reservation first
    assert got.overdraft == (was_open >= world.licenses)
    world.open.append(placed)
    held.count(got.group_id, got.reserved, world.member_of(user))


def check_cap(world: World) -> None:
    """What the rules promise while nothing is changed but opens and ends."""
    cap = world.licenses + world.overdraft
    assert len(world.open) <= cap
    assert world.unreserved() <= cap - sum(g.reserved for g in world.groups.values())
    for g in world.groups.values():
        assert world.held_reserved(g.id) <= g.reserved
        assert g.maximum is None or world.members_held(g.id) <= g.maximum
    for s in world.open:
        assert not s.reserved or (s.group_id is not None and world.is_member(s.user, s.group_id))


@st.composite
def worlds(draw: st.DrawFn) -> World:
    licenses = draw(st.integers(0, 6))
    overdraft = draw(st.integers(0, 3))
    groups: dict[int, SeatGroup] = {}
    left = licenses
    for gid in draw(st.sets(st.sampled_from([0, 1, 2]))):
        reserved = draw(st.integers(0, left))
        left -= reserved
        groups[gid] = group(gid, reserved, draw(st.none() | st.integers(0, 4)))
    members = {u: draw(st.sets(st.sampled_from([0, 1]))) for u in USERS}
    return World(licenses, overdraft, groups, members)


claimants = st.sampled_from([GUEST, *USERS])
kinds = st.sampled_from(["open", "open", "open", "end"])  # opens fill the account; some end
opens_and_ends = st.lists(st.tuples(kinds, claimants, st.integers(0, 9)))


def step(world: World, held: Holdings, kind: str, user: int | None, n: int) -> None:
    if kind == "open":
        if user is not None and any(s.user == user for s in world.open):
            return  # the agent's second browser joins their session: no claim
        check_claim(world, user, held)
    elif world.open:
        gone = world.open.pop(n % len(world.open))
        held.count(gone.group_id, gone.reserved, world.member_of(gone.user), step=-1)
    assert held == world.holdings()  # counted as the turn goes, as read afresh


@settings(max_examples=400, deadline=None)
@given(worlds(), opens_and_ends)
def test_opens_and_ends_keep_every_rule(
    world: World, steps: list[tuple[str, int | None, int]]
) -> None:
    held = world.holdings()
    for kind, user, n in steps:
        step(world, held, kind, user, n)
        check_cap(world)


changes = st.one_of(
    st.tuples(st.just("licenses"), st.integers(0, 6), st.none()),
    st.tuples(st.just("reserved"), st.sampled_from([0, 1, 2]), st.integers(0, 6)),
    st.tuples(st.just("maximum"), st.sampled_from([0, 1, 2]), st.none() | st.integers(0, 4)),
    st.tuples(st.just("member"), st.sampled_from(USERS), st.sampled_from([0, 1])),
    st.tuples(st.just("delete"), st.sampled_from([0, 1, 2]), st.none()),
)


def change(world: World, what: str, a: int, b: int | None) -> None:
    """An admin's change, refused as the service refuses it when reservations pass licenses."""
    reserved = {g.id: g.reserved for g in world.groups.values()}
    if what == "licenses":
        try:
            check_reservations(a, sum(reserved.values()))
        except ReservationsExceedLicenses:
            assert sum(reserved.values()) > a
            return
        world.licenses = a
    elif what == "member":
        assert b is not None
        world.members[a] ^= {b}
    elif what == "delete":
        world.groups.pop(a, None)
        for s in world.open:  # its sessions' licenses become unreserved ones
            if s.group_id == a:
                s.group_id, s.reserved = None, False
    elif a in world.groups and what == "reserved":
        assert b is not None
        try:
            check_reservations(world.licenses, sum((reserved | {a: b}).values()))
        except ReservationsExceedLicenses:
            assert sum((reserved | {a: b}).values()) > world.licenses
            return
        world.groups[a] = replace(world.groups[a], reserved=b)
    elif a in world.groups:
        world.groups[a] = replace(world.groups[a], maximum=b)


@settings(max_examples=400, deadline=None)
@given(
    worlds(),
    st.lists(
        st.one_of(
            st.tuples(st.just("step"), st.tuples(kinds, claimants)),
            st.tuples(st.just("step"), st.tuples(kinds, claimants)),
            st.tuples(st.just("change"), changes),
        ),
        max_size=60,
    ),
)
# Guests' reservation lowered below what they hold, while Alpha's is free: a rare draw.
@example(
    World(4, 0, {0: group(0, 2), 2: group(2, 2)}, {u: set() for u in USERS}),
    [
        ("step", ("open", GUEST)),
        ("step", ("open", GUEST)),
        ("change", ("reserved", 2, 0)),
        ("step", ("open", 0)),
    ],
)
def test_claims_after_changes_are_seated_exactly_when_a_seat_exists(
    world: World, steps: list[tuple[str, tuple[Any, ...]]]
) -> None:
    held = world.holdings()
    for i, (kind, what) in enumerate(steps):
        if kind == "change":
            change(world, *what)
            held = world.holdings()  # the next turn reads them afresh
        else:
            step(world, held, what[0], what[1], i)


def refusal_of(
    licenses: int,
    overdraft: int,
    groups: list[SeatGroup],
    mine: list[SeatGroup],
    held: Holdings,
) -> str:
    with pytest.raises(LicenseLimitReached) as refused:
        seat(licenses=licenses, overdraft=overdraft, groups=groups, member_of=mine, held=held)
    return str(refused.value)


def test_a_group_at_its_maximum_is_refused_by_name() -> None:
    guests = group(2, maximum=3)
    held = Holdings(unreserved=3, members=Counter({2: 3}))
    said = refusal_of(10, 0, [guests], [guests], held)
    assert said == "Guests may hold at most 3 licenses."
    one = group(1, maximum=1)
    assert refusal_of(10, 0, [one], [one], Holdings(unreserved=1, members=Counter({1: 1}))) == (
        "Billing may hold at most 1 license."
    )


def test_a_member_whose_reservation_is_held_is_told_so() -> None:
    billing = group(1, reserved=5)
    held = Holdings(reserved=Counter({1: 5}), unreserved=5)
    assert refusal_of(10, 0, [billing], [billing], held) == (
        "All 5 licenses reserved for Billing are in use and no unreserved license is free."
    )
    single = group(1, reserved=1)
    held = Holdings(reserved=Counter({1: 1}), unreserved=1)
    assert refusal_of(2, 0, [single], [single], held) == (
        "The only license reserved for Billing is in use and no unreserved license is free."
    )


def test_others_are_told_the_unreserved_licenses_are_in_use() -> None:
    billing = group(1, reserved=5)
    held = Holdings(unreserved=20)
    assert refusal_of(25, 0, [billing], [], held) == "All 20 unreserved licenses are in use."
    assert refusal_of(5, 1, [billing], [], Holdings(unreserved=1)) == (
        "The only unreserved license is in use."
    )
    assert refusal_of(5, 0, [billing], [], Holdings()) == (
        "Every license is reserved for a group this agent is not in."
    )


def test_without_reservations_the_refusal_is_the_licenses_and_overdraft() -> None:
    alpha = group(0, maximum=9)
    assert refusal_of(2, 1, [alpha], [alpha], Holdings(unreserved=3)) == (
        "All 2 licenses and the overdraft of 1 are in use. Try again when an agent logs out, "
        "or ask your administrator to free a session."
    )


def test_a_member_takes_a_reserved_license_first_then_an_unreserved_one() -> None:
    alpha, billing = group(0, reserved=1), group(1, reserved=2)
    groups = [alpha, billing]
    held = Holdings(reserved=Counter({0: 1}))
    assert seat(licenses=4, overdraft=0, groups=groups, member_of=groups, held=held) == Seat(
        1, True, False
    )
    held = Holdings(reserved=Counter({0: 1, 1: 2}))
    assert seat(licenses=4, overdraft=1, groups=groups, member_of=groups, held=held) == Seat(
        0, False, False
    )
    held.unreserved = 1
    assert seat(licenses=4, overdraft=1, groups=groups, member_of=groups, held=held) == Seat(
        0, False, True
    )


def test_a_reservation_lowered_below_its_holding_keeps_the_cap() -> None:
    # Billing's reservation was lowered from 5, which it still holds; Alpha's 3 are free.
    alpha, billing = group(0, reserved=3), group(1, reserved=2)
    held = Holdings(reserved=Counter({1: 5}), unreserved=2)
    # 7 of 10 open, but Alpha's 3 are kept for it: counting Billing's reservation as 2 would
    # let 3 more unreserved ones open, and Alpha's members then pass the licenses.
    with pytest.raises(UnreservedLicensesInUse):
        seat(licenses=10, overdraft=0, groups=[alpha, billing], member_of=[], held=held)
    got = seat(licenses=10, overdraft=0, groups=[alpha, billing], member_of=[alpha], held=held)
    assert got == Seat(0, True, False)


def test_reservations_may_add_up_to_the_licenses_and_no_more() -> None:
    check_reservations(25, 20 + 5)
    with pytest.raises(ReservationsExceedLicenses) as refused:
        check_reservations(25, 20 + 10)
    assert str(refused.value) == (
        "Reservations would add up to 30 licenses, more than the account's 25."
    )
    assert refused.value.code == "reservations_exceed_licenses"
