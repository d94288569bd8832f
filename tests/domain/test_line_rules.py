"""The line for a license against a brute-force oracle (test_seating's, which tries every
seat for a claim): random opens (waiting or not), places left, sessions ended and admin
changes on one account, the line settled after each as the server settles it.

The model keeps what the server keeps: the open sessions with their seats (the oracle's
World) and the line, first asked first. A claim settles the line first, then joins the
agent's open session, takes a seat or is refused; refused, one asking to wait takes a
place at the end of the line (an agent already in it keeps theirs). After every event the
line is settled again (`seat_line`), as every transaction that frees a license does; but
a session may end while another transaction holds the account ("end, busy"), and then the
line waits for the next claim (or event) to be seated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from seatkeeper.domain.seating import Holdings, Seat, Waiter, seat_line
from tests.domain.test_seating import (
    GUEST,
    USERS,
    Held,
    World,
    change,
    changes,
    check_cap,
    check_claim,
    group,
    worlds,
)

ALPHA, BILLING, GUESTS = 0, 1, 2


@dataclass(frozen=True)
class Place:
    """A place in the line: who waits (None: a Guest)."""

    id: int
    user: int | None


@dataclass
class Line:
    """The account (the oracle's World) and its line, first asked first."""

    world: World
    places: list[Place] = field(default_factory=list)
    asked: int = 0  # places ever taken: the next one's id
    # How far past each rule the last admin change left the account (0: not past it): the
    # sessions opened since never go further, and what ends brings it down.
    slack: dict[str, int] = field(default_factory=dict)

    def users(self) -> list[int | None]:
        return [p.user for p in self.places]

    def waiter(self, place: Place) -> Waiter:
        return Waiter(place.id, self.world.member_of(place.user))


def settle(line: Line, held: Holdings) -> list[Seated]:
    """`seat_line` over the line, each seat replayed against the oracle in turn."""
    world = line.world
    by_id = {p.id: p for p in line.places}
    seated = seat_line(
        licenses=world.licenses,
        overdraft=world.overdraft,
        groups=list(world.groups.values()),
        line=[line.waiter(p) for p in line.places],
        held=held,
    )
    out = []
    for waiter, got in seated:
        place = by_id[waiter.id]
        out.append(Seated(place.user, got))
        replay(line, place, got)
    for place in line.places:  # nobody left could be seated now
        assert world.options(place.user) == [], (place, world.options(place.user))
    return out


@dataclass(frozen=True)
class Seated:
    user: int | None
    seat: Seat


def replay(line: Line, place: Place, got: Seat) -> None:
    """One waiter seated: a seat the oracle gives them at that moment, and nobody before
    them in line could have had one."""
    world = line.world
    ahead = line.places[: line.places.index(place)]  # those seated before are gone
    for earlier in ahead:
        assert world.options(earlier.user) == [], (earlier, "passed over by", place)
    options = world.options(place.user)
    placed = Held(place.user, got.group_id, got.reserved)
    assert placed in options, (placed, options)
    reserved = [o for o in options if o.reserved]
    assert placed == (reserved[0] if reserved else options[-1])  # its reservation first
    assert got.overdraft == (len(world.open) >= world.licenses)
    world.open.append(placed)
    line.places.remove(place)


def claim(line: Line, held: Holdings, user: int | None, wait: bool) -> None:
    """An open, as the claim batch decides it once the line was settled."""
    world = line.world
    if user is not None and any(s.user == user for s in world.open):
        assert user not in line.users()  # an agent seated leaves the line
        return  # the agent's second browser joins their session
    before = len(world.open)
    check_claim(world, user, held)  # seat() against the oracle, applied
    if len(world.open) > before:
        # Taken while people wait: a seat none of them could have had.
        mine = world.member_of(user)
        taken = world.open.pop()
        for place in line.places:
            assert world.options(place.user) == [], (place, "passed over by", taken)
            assert world.member_of(place.user) != mine  # their rules would seat them
        world.open.append(taken)
        if not world.groups:
            assert line.places == []  # with no groups, refused whenever anyone waits
    elif wait and (user is None or user not in line.users()):
        line.places.append(Place(line.asked, user))
        line.asked += 1


def excess(world: World) -> dict[str, int]:
    """How far past each rule the account is (0 or less: within it)."""
    cap = world.licenses + world.overdraft
    past = {
        "cap": len(world.open) - cap,
        "unreserved": world.promised() + world.unreserved() - cap,
        "outsiders": sum(
            1
            for s in world.open
            if s.reserved and (s.group_id is None or not world.is_member(s.user, s.group_id))
        ),
    }
    for g in world.groups.values():
        past[f"reserved {g.name}"] = world.held_reserved(g.id) - g.reserved
        if g.maximum is not None:
            past[f"maximum {g.name}"] = world.members_held(g.id) - g.maximum
    return past


def check_limits(line: Line, changed: bool) -> None:
    """The cap, the reservations and the maxima: never passed by a seat, only by an
    admin's change (kept then, never furthered)."""
    past = excess(line.world)
    if not changed:
        for rule, by in past.items():
            assert by <= line.slack.get(rule, 0), (rule, by, line.slack)
    line.slack = {rule: max(0, by) for rule, by in past.items()}


def event(line: Line, kind: str, what: tuple[Any, ...]) -> list[Seated]:
    """One event and the settle after it: whoever the line seated."""
    world = line.world
    if kind == "change":
        change(world, *what)
        check_limits(line, changed=True)
    held = world.holdings()  # what the transaction reads
    seated = []
    if kind == "open":
        seated += settle(line, held)  # those who asked before come first
        claim(line, held, *what)
    elif kind in ("end", "end, busy") and world.open:
        gone = world.open.pop(what[0] % len(world.open))
        held.count(gone.group_id, gone.reserved, world.member_of(gone.user), step=-1)
    elif kind == "leave" and line.places:
        line.places.pop(what[0] % len(line.places))
    if kind != "end, busy":  # else the account was locked: the next claim seats the line
        seated += settle(line, held)
    assert held == world.holdings()  # counted as the transaction goes, as read afresh
    check_limits(line, changed=False)
    agents = [p.user for p in line.places if p.user is not None]
    assert len(agents) == len(set(agents))  # an agent has one place
    assert not set(agents) & {s.user for s in world.open}  # and no session meanwhile
    return seated


claimants = st.sampled_from([GUEST, *USERS])
opens = st.tuples(st.just("open"), st.tuples(claimants, st.booleans()))
waits = st.tuples(st.just("open"), st.tuples(claimants, st.just(True)))
ends = st.tuples(st.sampled_from(["end", "end", "end, busy"]), st.tuples(st.integers(0, 9)))
leaves = st.tuples(st.just("leave"), st.tuples(st.integers(0, 9)))
# Opens fill the account and the line; ends free licenses; a few leave.
events = st.one_of(opens, opens, waits, ends, ends, leaves)
admin = st.tuples(st.just("change"), changes)
grouped = worlds().filter(lambda w: len(w.groups) >= 2)  # where a waiter is passed over


@settings(max_examples=200, deadline=None)
@given(worlds(), st.lists(events, min_size=20, max_size=40))
def test_the_line_is_seated_first_come_first_served_within_the_rules(
    world: World, steps: list[tuple[str, tuple[Any, ...]]]
) -> None:
    line = Line(world)
    for kind, what in steps:
        event(line, kind, what)
        check_cap(world)


@settings(max_examples=200, deadline=None)
@given(grouped, st.lists(st.one_of(events, admin), min_size=20, max_size=40))
def test_admin_changes_seat_the_line_and_never_pass_a_rule(
    world: World, steps: list[tuple[str, tuple[Any, ...]]]
) -> None:
    line = Line(world)
    for kind, what in steps:
        event(line, kind, what)


def account(licenses: int, *groups: Any, **members: set[int]) -> Line:
    """An account with `groups`, agents 0..4 (`members`: "u0"={BILLING}...) and no line."""
    of = {u: members.get(f"u{u}", set()) for u in USERS}
    return Line(World(licenses, 0, {g.id: g for g in groups}, of))


def run(line: Line, *steps: tuple[str, tuple[Any, ...]]) -> list[Seated]:
    """The events in turn: whoever the last one seated."""
    seated: list[Seated] = []
    for kind, what in steps:
        seated = event(line, kind, what)
    return seated


def test_a_freed_license_goes_to_the_first_in_line_and_the_others_keep_their_order() -> None:
    line = account(2)
    run(line, ("open", (0, False)), ("open", (1, False)))
    run(line, ("open", (2, True)), ("open", (GUEST, True)), ("open", (3, True)))
    assert line.users() == [2, GUEST, 3]
    # Someone not waiting is refused; asking again keeps the place.
    run(line, ("open", (4, False)), ("open", (2, True)))
    assert line.users() == [2, GUEST, 3]
    assert [s.user for s in line.world.open] == [0, 1]

    seated = run(line, ("end", (0,)))  # agent 0 logs out
    assert seated == [Seated(2, Seat(None, False, False))]
    assert line.users() == [GUEST, 3]
    assert sorted(s.user for s in line.world.open if s.user is not None) == [1, 2]


def test_a_license_freed_unseen_goes_to_the_line_at_the_next_claim_not_to_the_claimant() -> None:
    line = account(1)
    run(line, ("open", (0, False)), ("open", (1, True)))
    run(line, ("end, busy", (0,)))  # the logout could not lock the account: nobody seated
    assert line.users() == [1]
    seated = run(line, ("open", (2, False)))
    assert seated == [Seated(1, Seat(None, False, False))]
    assert [s.user for s in line.world.open] == [1]  # agent 2 was refused


def test_a_license_raise_seats_as_many_as_it_frees_first_asked_first() -> None:
    line = account(1)
    run(line, ("open", (0, False)), ("open", (1, True)), ("open", (GUEST, True)))
    run(line, ("open", (2, True)))
    seated = run(line, ("change", ("licenses", 3, None)))
    assert [s.user for s in seated] == [1, GUEST]
    assert line.users() == [2]


def test_a_guest_at_the_guests_maximum_keeps_their_place_and_holds_nobody_back() -> None:
    line = account(2, group(GUESTS, maximum=1))
    run(line, ("open", (GUEST, False)), ("open", (0, False)))
    run(line, ("open", (GUEST, True)), ("open", (1, True)))
    assert line.users() == [GUEST, 1]

    seated = run(line, ("end", (1,)))  # agent 0 logs out; the Guests hold their 1
    assert seated == [Seated(1, Seat(None, False, False))]
    assert line.users() == [GUEST]

    seated = run(line, ("end", (0,)))  # the Guest logs out: the one waiting is next
    assert seated == [Seated(GUEST, Seat(GUESTS, False, False))]
    assert line.users() == []


def test_a_member_behind_a_non_member_takes_the_reserved_license_freed() -> None:
    # 3 licenses, 1 of them reserved for Billing; agents 0 and 4 are in Billing.
    line = account(3, group(BILLING, reserved=1), u0={BILLING}, u4={BILLING})
    run(line, ("open", (4, False)), ("open", (2, False)), ("open", (3, False)))
    assert [(s.user, s.reserved) for s in line.world.open] == [(4, True), (2, False), (3, False)]
    run(line, ("open", (1, True)), ("open", (0, True)))
    assert line.users() == [1, 0]

    seated = run(line, ("end", (0,)))  # agent 4 gives Billing's license back
    assert seated == [Seated(0, Seat(BILLING, True, False))]
    assert line.users() == [1]  # agent 1 may not hold it, and keeps the first place

    seated = run(line, ("end", (0,)))  # agent 2 gives an unreserved one back
    assert seated == [Seated(1, Seat(None, False, False))]
