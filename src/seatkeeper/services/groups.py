"""Seat groups, as an account's admins manage them: licenses reserved for a team, the most
a team holds at once, who belongs to which team, and the Guests group. Each change is one
transaction under the account's lock (claims read the groups under it) and is audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Connection

from seatkeeper.domain import seating, validation
from seatkeeper.domain.credentials import username_key
from seatkeeper.domain.errors import Conflict, GroupNotFound, InvalidInput, UserNotFound
from seatkeeper.domain.model import Account, SeatGroup, UserRow
from seatkeeper.services.access import Actor, audited, authorize
from seatkeeper.services.users import unique
from seatkeeper.storage import accounts
from seatkeeper.storage import groups as stored
from seatkeeper.storage import users as stored_users
from seatkeeper.storage.db import Database

GUESTS = stored.GUESTS
MAX_NAME = 100  # the column's length


class Keep(Enum):
    """A value left as it is (a maximum of None means: no maximum)."""

    KEEP = "keep"


KEEP = Keep.KEEP
GroupRef = int | str  # a group's id, or its name


@dataclass(frozen=True, slots=True)
class GroupRow:
    group: SeatGroup
    members: int  # users who are members (the Guests group has none)


@dataclass(frozen=True, slots=True)
class Groups:
    account: Account
    rows: list[GroupRow]  # by name
    memberships: dict[int, frozenset[int]]  # user id: the ids of their groups

    @property
    def teams(self) -> list[GroupRow]:
        """The groups users belong to (all but the Guests group)."""
        return [r for r in self.rows if not r.group.guests]

    @property
    def guests(self) -> GroupRow | None:
        """The Guests group, if the account has one."""
        return next((r for r in self.rows if r.group.guests), None)


def list_groups(db: Database, actor: Actor, account_slug: str) -> Groups:
    """The account's groups with their member counts, and each user's groups."""
    with db.read() as conn:
        account = authorize(conn, actor, account_slug)
        rows = [GroupRow(g, n) for g, n in stored.groups_of(conn, account.id)]
        return Groups(account, rows, stored.memberships(conn, account.id))


def group_name(value: str) -> str:
    """A team's name: printable, unique per account, and not the Guests group's."""
    name = validation.text("A group's name", value, MAX_NAME)
    if username_key(name) == username_key(GUESTS):
        raise InvalidInput(f"{GUESTS!r} is the Guests group's name: choose another one.")
    return name


def count(what: str, value: int) -> int:
    """A number of licenses or sessions a group is given."""
    if not 0 <= value <= validation.MAX_LICENSES:
        raise InvalidInput(
            f"{what} must be between 0 and {validation.MAX_LICENSES:,}; got {value}."
        )
    return value


def _checked(reserved: int | None, maximum: int | Keep | None) -> None:
    if reserved is not None:
        count("A group's reserved licenses", reserved)
    if isinstance(maximum, int):
        count("A group's maximum", maximum)


def _taken(name: str) -> str:
    return (
        f"The account already has a group {name!r}: group names must be unique, whatever "
        "their case or width."
    )


def create_group(
    db: Database,
    actor: Actor,
    account_slug: str,
    *,
    name: str,
    reserved: int = 0,
    maximum: int | None = None,
    now: datetime,
    source: str | None = None,
) -> SeatGroup:
    """Create a team with `reserved` licenses only its members may hold, and a maximum."""
    name = group_name(name)
    _checked(reserved, maximum)
    with unique(_taken(name)), db.write() as conn:
        account = accounts.lock_account(conn, authorize(conn, actor, account_slug).id)
        found = stored.group_named(conn, account.id, name)
        if found is not None:
            raise Conflict(_taken(found.name))
        total = stored.total_reserved(conn, account.id) + reserved
        seating.check_reservations(account.licenses, total)
        group = stored.insert_group(
            conn, account_id=account.id, name=name, reserved=reserved, maximum=maximum,
            created_at=now,
        )  # fmt: skip
        audited(
            conn, account.id, "group_created", actor, at=now, source=source,
            group=name, reserved=reserved, maximum=maximum,
        )  # fmt: skip
        return group


def change_group(
    db: Database,
    actor: Actor,
    account_slug: str,
    group: GroupRef,
    *,
    name: str | None = None,
    reserved: int | None = None,
    maximum: int | Keep | None = KEEP,
    now: datetime,
    source: str | None = None,
) -> SeatGroup:
    """Rename a team, or change a group's reservation or maximum; all or nothing."""
    name = None if name is None else group_name(name)
    _checked(reserved, maximum)
    with unique(_taken(name or "")), db.write() as conn:
        account = accounts.lock_account(conn, authorize(conn, actor, account_slug).id)
        found = _group(conn, account, group)
        if name is not None and found.guests:
            raise InvalidInput("The Guests group keeps its name.")
        if name is not None and username_key(name) != username_key(found.name):
            other = stored.group_named(conn, account.id, name)
            if other is not None:
                raise Conflict(_taken(other.name))
        return _update(
            conn, account, found, actor, now=now, source=source,
            name=name, reserved=reserved, maximum=maximum,
        )  # fmt: skip


def set_guests(
    db: Database,
    actor: Actor,
    account_slug: str,
    *,
    reserved: int | None = None,
    maximum: int | Keep | None = KEEP,
    now: datetime,
    source: str | None = None,
) -> SeatGroup:
    """Set the Guests group's reservation or maximum; the group is made on first setting."""
    _checked(reserved, maximum)
    with db.write() as conn:
        account = accounts.lock_account(conn, authorize(conn, actor, account_slug).id)
        found = stored.guests_group(conn, account.id)
        if found is None:
            found = stored.insert_group(
                conn, account_id=account.id, name=GUESTS, guests=True, reserved=0,
                maximum=None, created_at=now,
            )  # fmt: skip
            audited(
                conn, account.id, "group_created", actor, at=now, source=source,
                group=GUESTS, reserved=0, maximum=None,
            )  # fmt: skip
        return _update(
            conn, account, found, actor, now=now, source=source,
            name=None, reserved=reserved, maximum=maximum,
        )  # fmt: skip


def _update(
    conn: Connection,
    account: Account,
    group: SeatGroup,
    actor: Actor,
    *,
    now: datetime,
    source: str | None,
    name: str | None,
    reserved: int | None,
    maximum: int | Keep | None,
) -> SeatGroup:
    """Store what changed in a group, once its reservation is checked, and audit each."""
    new: dict[str, Any] = {
        "name": group.name if name is None else name,
        "reserved": group.reserved if reserved is None else reserved,
        "maximum": group.maximum if maximum is KEEP else maximum,
    }
    if new["reserved"] > group.reserved:
        total = stored.total_reserved(conn, account.id) - group.reserved + new["reserved"]
        seating.check_reservations(account.licenses, total)
    changed = {k: v for k, v in new.items() if getattr(group, k) != v}
    if not changed:
        return group
    updated = stored.update_group(conn, group.id, **new)
    for setting, value in changed.items():
        audited(
            conn, account.id, "group_changed", actor, at=now, source=source,
            group=updated.name, setting=setting, **{"from": getattr(group, setting), "to": value},
        )  # fmt: skip
    return updated


def delete_group(
    db: Database,
    actor: Actor,
    account_slug: str,
    group: GroupRef,
    *,
    now: datetime,
    source: str | None = None,
) -> SeatGroup:
    """Delete a group: its members stay users, its sessions' licenses become unreserved."""
    with db.write() as conn:
        account = accounts.lock_account(conn, authorize(conn, actor, account_slug).id)
        found = _group(conn, account, group)
        stored.delete_group(conn, found)
        audited(
            conn, account.id, "group_deleted", actor, at=now, source=source,
            group=found.name, reserved=found.reserved, maximum=found.maximum,
        )  # fmt: skip
        return found


def set_members(
    db: Database,
    actor: Actor,
    account_slug: str,
    group: GroupRef,
    usernames: Iterable[str],
    *,
    now: datetime,
    source: str | None = None,
) -> tuple[SeatGroup, list[str]]:
    """Make these users, and only them, a team's members; the members, by username."""
    with db.write() as conn:
        account = accounts.lock_account(conn, authorize(conn, actor, account_slug).id)
        found = _group(conn, account, group)
        if found.guests:
            raise InvalidInput("The Guests group's members are the Guest sessions, not users.")
        wanted = {u.id: u.username for u in (_user(conn, account, n) for n in usernames)}
        old = stored.members_of(conn, found.id)
        stored.set_members(conn, found.id, wanted)
        gone = stored_users.users_by_id(conn, account.id, old - set(wanted))
        names = {**wanted, **{i: u.username for i, u in gone.items()}}
        audited(
            conn, account.id, "group_members_set", actor, at=now, source=source,
            group=found.name, added=sorted(names[i] for i in set(wanted) - old),
            removed=sorted(names[i] for i in old - set(wanted)),
        )  # fmt: skip
        return found, sorted(wanted.values())


def set_user_groups(
    db: Database,
    actor: Actor,
    account_slug: str,
    username: str,
    group_ids: Iterable[int],
    *,
    now: datetime,
    source: str | None = None,
) -> list[str]:
    """Make a user a member of these teams and of no other; their groups' names."""
    with db.write() as conn:
        account = accounts.lock_account(conn, authorize(conn, actor, account_slug).id)
        user = _user(conn, account, username)
        teams = {g.id: g.name for g, _ in stored.groups_of(conn, account.id) if not g.guests}
        wanted = set(group_ids)
        if wanted - set(teams):
            raise GroupNotFound
        old = stored.memberships(conn, account.id).get(user.id, frozenset())
        stored.set_user_groups(conn, user.id, wanted, among=teams)
        audited(
            conn, account.id, "user_groups_set", actor, at=now, source=source,
            username=user.username, added=sorted(teams[i] for i in wanted - old),
            removed=sorted(teams[i] for i in old - wanted),
        )  # fmt: skip
        return sorted(teams[i] for i in wanted)


def _group(conn: Connection, account: Account, ref: GroupRef) -> SeatGroup:
    found = (
        stored.group_by_id(conn, account.id, ref)
        if isinstance(ref, int)
        else stored.group_named(conn, account.id, ref)
    )
    if found is None:
        raise GroupNotFound(
            GroupNotFound.message if isinstance(ref, int) else f"The account has no group {ref!r}."
        )
    return found


def _user(conn: Connection, account: Account, username: str) -> UserRow:
    found = stored_users.user_named(conn, account.id, username)
    if found is None:
        raise UserNotFound(f"The account has no user {username!r}.")
    return found
