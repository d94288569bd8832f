"""Seat groups of an account, their members, and the account's `has_groups` mark."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, exists, func, select, update

from seatkeeper.domain.credentials import username_key
from seatkeeper.domain.model import SeatGroup
from seatkeeper.storage.tables import accounts, agent_sessions, seat_group_members, seat_groups

GUESTS = "Guests"


def group_of(row: Row[Any]) -> SeatGroup:
    """A seat group as its row stores it."""
    return SeatGroup(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        guests=row.guests,
        reserved=row.reserved,
        maximum=row.maximum,
    )


def groups_of(conn: Connection, account_id: int) -> list[tuple[SeatGroup, int]]:
    """The account's groups by name, each with how many users are its members."""
    members = (
        select(func.count())
        .where(seat_group_members.c.group_id == seat_groups.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(seat_groups, members.label("members"))
        .where(seat_groups.c.account_id == account_id)
        .order_by(seat_groups.c.name_key, seat_groups.c.id)
    )
    return [(group_of(r), r.members) for r in rows]


def group_by_id(conn: Connection, account_id: int, group_id: int) -> SeatGroup | None:
    """The account's group with this id."""
    row = conn.execute(
        select(seat_groups).where(
            seat_groups.c.account_id == account_id, seat_groups.c.id == group_id
        )
    ).one_or_none()
    return None if row is None else group_of(row)


def group_named(conn: Connection, account_id: int, name: str) -> SeatGroup | None:
    """The account's group of this name (compared as usernames are)."""
    row = conn.execute(
        select(seat_groups).where(
            seat_groups.c.account_id == account_id, seat_groups.c.name_key == username_key(name)
        )
    ).one_or_none()
    return None if row is None else group_of(row)


def guests_group(conn: Connection, account_id: int) -> SeatGroup | None:
    """The account's Guests group, if it has one."""
    row = conn.execute(
        select(seat_groups).where(seat_groups.c.account_id == account_id, seat_groups.c.guests)
    ).one_or_none()
    return None if row is None else group_of(row)


def insert_group(
    conn: Connection,
    *,
    account_id: int,
    name: str,
    guests: bool = False,
    reserved: int,
    maximum: int | None,
    created_at: datetime,
) -> SeatGroup:
    """Create a group; the account has groups from now on."""
    row = conn.execute(
        seat_groups.insert()
        .values(
            account_id=account_id,
            name=name,
            name_key=username_key(name),
            guests=guests,
            reserved=reserved,
            maximum=maximum,
            created_at=created_at,
        )
        .returning(*seat_groups.c)
    ).one()
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(has_groups=True))
    return group_of(row)


def update_group(
    conn: Connection, group_id: int, *, name: str, reserved: int, maximum: int | None
) -> SeatGroup:
    """Give a group its name, reservation and maximum."""
    row = conn.execute(
        update(seat_groups)
        .where(seat_groups.c.id == group_id)
        .values(name=name, name_key=username_key(name), reserved=reserved, maximum=maximum)
        .returning(*seat_groups.c)
    ).one()
    return group_of(row)


def delete_group(conn: Connection, group: SeatGroup) -> None:
    """Delete a group and its memberships; its sessions count under no group from now on
    (cleared on ended ones too: SQLite may give a deleted id to the next group)."""
    conn.execute(
        update(agent_sessions)
        .where(agent_sessions.c.account_id == group.account_id)
        .where(agent_sessions.c.group_id == group.id)
        .values(group_id=None, reserved=False)
    )
    conn.execute(delete(seat_group_members).where(seat_group_members.c.group_id == group.id))
    conn.execute(delete(seat_groups).where(seat_groups.c.id == group.id))
    left = exists().where(seat_groups.c.account_id == group.account_id)
    conn.execute(update(accounts).where(accounts.c.id == group.account_id).values(has_groups=left))


def total_reserved(conn: Connection, account_id: int) -> int:
    """The licenses reserved for all the account's groups together."""
    total: int = conn.execute(
        select(func.coalesce(func.sum(seat_groups.c.reserved), 0)).where(
            seat_groups.c.account_id == account_id
        )
    ).scalar_one()
    return total


def memberships(conn: Connection, account_id: int) -> dict[int, frozenset[int]]:
    """The groups each member of the account's groups belongs to (user id: group ids)."""
    rows = conn.execute(
        select(seat_group_members.c.user_id, seat_group_members.c.group_id)
        .join(seat_groups, seat_groups.c.id == seat_group_members.c.group_id)
        .where(seat_groups.c.account_id == account_id)
    )
    found: dict[int, set[int]] = {}
    for user_id, group_id in rows:
        found.setdefault(user_id, set()).add(group_id)
    return {user_id: frozenset(ids) for user_id, ids in found.items()}


def members_of(conn: Connection, group_id: int) -> frozenset[int]:
    """The ids of a group's members."""
    rows = conn.execute(
        select(seat_group_members.c.user_id).where(seat_group_members.c.group_id == group_id)
    )
    return frozenset(rows.scalars())


def set_members(conn: Connection, group_id: int, user_ids: Iterable[int]) -> None:
    """Make these users, and only them, the group's members."""
    wanted = set(user_ids)
    old = members_of(conn, group_id)
    _remove(conn, [(group_id, u) for u in old - wanted])
    _add(conn, [(group_id, u) for u in wanted - old])


def set_user_groups(
    conn: Connection, user_id: int, group_ids: Iterable[int], *, among: Iterable[int]
) -> None:
    """Make the user a member of these groups and of no other group `among` them."""
    wanted = set(group_ids)
    old = set(
        conn.execute(
            select(seat_group_members.c.group_id).where(seat_group_members.c.user_id == user_id)
        ).scalars()
    ) & set(among)
    _remove(conn, [(g, user_id) for g in old - wanted])
    _add(conn, [(g, user_id) for g in wanted - old])


def _add(conn: Connection, pairs: list[tuple[int, int]]) -> None:
    if pairs:
        conn.execute(seat_group_members.insert(), [{"group_id": g, "user_id": u} for g, u in pairs])


def _remove(conn: Connection, pairs: list[tuple[int, int]]) -> None:
    for group_id, user_id in pairs:
        conn.execute(
            delete(seat_group_members).where(
                seat_group_members.c.group_id == group_id, seat_group_members.c.user_id == user_id
            )
        )
