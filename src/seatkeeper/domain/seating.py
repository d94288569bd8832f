"""Seat groups' rules: which license a new session takes, or why it gets none.

A group's reserved licenses are held only by its members, and a group's members never hold
more than its maximum at once. The unreserved licenses are what the reservations leave of
the licenses and the overdraft. A reservation lowered below what its group holds keeps the
licenses held: they count against the unreserved ones until they are given back, so the
licenses and the overdraft are never passed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from seatkeeper.domain.errors import (
    DomainError,
    GroupLimitReached,
    LicenseLimitReached,
    ReservationsExceedLicenses,
    ReservedLicensesInUse,
    UnreservedLicensesInUse,
)
from seatkeeper.domain.model import SeatGroup
from seatkeeper.domain.pool import has_free_seat, opens_overdraft


@dataclass(frozen=True, slots=True)
class Seat:
    """What a new session counts under."""

    group_id: int | None  # the group whose reserved license it holds, else the first
    reserved: bool
    overdraft: bool  # opened while all the licenses were held


@dataclass(slots=True)
class Holdings:
    """The account's open sessions, counted as the rules read them."""

    reserved: Counter[int] = field(default_factory=Counter)  # group: its reserved ones held
    unreserved: int = 0
    members: Counter[int] = field(default_factory=Counter)  # group with a maximum: held

    @property
    def open(self) -> int:
        """Every open session."""
        return sum(self.reserved.values()) + self.unreserved

    def taken(self, groups: Iterable[SeatGroup]) -> int:
        """Licenses an unreserved claim cannot have: each group's reservation (or what it
        holds, if more) and the unreserved ones held."""
        promised = {g.id: g.reserved for g in groups}
        kept = promised.keys() | self.reserved.keys()
        return sum(max(promised.get(g, 0), self.reserved[g]) for g in kept) + self.unreserved

    def count(
        self, group_id: int | None, reserved: bool, member_of: Iterable[SeatGroup], step: int = 1
    ) -> None:
        """A session opened (`step` 1) or given back (-1) by a member of `member_of`."""
        if reserved:
            assert group_id is not None
            self.reserved[group_id] += step
        else:
            self.unreserved += step
        for group in member_of:
            if group.maximum is not None:
                self.members[group.id] += step


def seat(
    *,
    licenses: int,
    overdraft: int,
    groups: Sequence[SeatGroup],
    member_of: Sequence[SeatGroup],
    held: Holdings,
) -> Seat:
    """The seat of one new session for a member of `member_of` (in name order), among the
    account's `groups`; or its refusal, raised."""
    for group in member_of:
        if group.maximum is not None and held.members[group.id] >= group.maximum:
            raise GroupLimitReached(group.name, group.maximum)
    beyond = opens_overdraft(held.open, licenses)
    if has_free_seat(held.open, licenses, overdraft):
        for group in member_of:
            if held.reserved[group.id] < group.reserved:
                return Seat(group.id, True, beyond)
        if has_free_seat(held.taken(groups), licenses, overdraft):
            return Seat(member_of[0].id if member_of else None, False, beyond)
    raise _refusal(licenses, overdraft, groups, member_of, held)


@dataclass(frozen=True, slots=True)
class Waiter:
    """A place in the account's line: the waiter's groups, in name order."""

    id: int
    member_of: Sequence[SeatGroup] = ()


def seat_line(
    *,
    licenses: int,
    overdraft: int,
    groups: Sequence[SeatGroup],
    line: Sequence[Waiter],
    held: Holdings,
) -> list[tuple[Waiter, Seat]]:
    """Seat whoever in the `line` (first come first) the rules give a seat now, counting
    each in `held`. A waiter the rules give none (all the licenses held, or their group's
    maximum, or a reservation not theirs) keeps their place and holds nobody back: those
    behind them take only seats they could not have."""
    seated: list[tuple[Waiter, Seat]] = []
    for waiter in line:
        if not has_free_seat(held.open, licenses, overdraft):
            break  # nobody behind can be seated either
        try:
            place = seat(
                licenses=licenses,
                overdraft=overdraft,
                groups=groups,
                member_of=waiter.member_of,
                held=held,
            )
        except LicenseLimitReached:  # GroupLimitReached too
            continue
        held.count(place.group_id, place.reserved, waiter.member_of)
        seated.append((waiter, place))
    return seated


RECENT = timedelta(minutes=15)  # the departures a place's estimate is made from


def estimate(ahead: int, departures: int) -> timedelta | None:
    """How long until a license frees for a place with `ahead` waiting before it, at the
    pace of the `departures` (sessions ended) of the last RECENT; None with none."""
    return RECENT * (ahead + 1) / departures if departures else None


def _refusal(
    licenses: int,
    overdraft: int,
    groups: Sequence[SeatGroup],
    member_of: Sequence[SeatGroup],
    held: Holdings,
) -> DomainError:
    """Why no seat: the claimant's reservation is held, or the unreserved licenses are."""
    reserving = [g for g in member_of if g.reserved > 0]
    if reserving and all(held.reserved[g.id] >= g.reserved for g in reserving):
        return ReservedLicensesInUse(reserving[0].name, reserving[0].reserved)
    promised = sum(g.reserved for g in groups)
    if promised and not reserving:
        return UnreservedLicensesInUse(licenses + overdraft - promised)
    return LicenseLimitReached(licenses, overdraft)


def check_reservations(licenses: int, reserved: int) -> None:
    """Refuse reservations adding up to more than the licenses."""
    if reserved > licenses:
        raise ReservationsExceedLicenses(reserved, licenses)
