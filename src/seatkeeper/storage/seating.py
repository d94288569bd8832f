"""What a claim on an account with seat groups reads: its groups, the claimants'
memberships, and its open sessions counted as the seating rules need them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import Connection, and_, bindparam, func, select

from seatkeeper.domain.model import SeatGroup
from seatkeeper.domain.seating import Holdings
from seatkeeper.storage.groups import group_of
from seatkeeper.storage.sessions import OPEN
from seatkeeper.storage.tables import agent_sessions, seat_group_members, seat_groups

_g, _m, _s = seat_groups.c, seat_group_members.c, agent_sessions.c

# Built once, as the claim path's other statements are (storage.sessions).
_GROUPS = (
    select(seat_groups, _m.user_id)
    .select_from(
        seat_groups.outerjoin(
            seat_group_members,
            and_(_m.group_id == _g.id, _m.user_id.in_(bindparam("ids", expanding=True))),
        )
    )
    .where(_g.account_id == bindparam("account_id"))
    .order_by(_g.name_key, _g.id)
)
_HELD = (
    select(_s.group_id, _s.reserved, _s.user_id.is_(None), func.count())
    .where(_s.account_id == bindparam("account_id"), OPEN)
    .group_by(_s.group_id, _s.reserved, _s.user_id.is_(None))
)
_MEMBERS_HELD = (
    select(_m.group_id, func.count())
    .join(agent_sessions, _s.user_id == _m.user_id)
    .where(
        _m.group_id.in_(bindparam("groups", expanding=True)),
        _s.account_id == bindparam("account_id"),
        OPEN,
    )
    .group_by(_m.group_id)
)


def seat_groups_of(
    conn: Connection, account_id: int, user_ids: Collection[int]
) -> tuple[list[SeatGroup], dict[int, list[SeatGroup]]]:
    """The account's groups in name order, and those each of `user_ids` is a member of (in
    the same order), in one read."""
    groups: dict[int, SeatGroup] = {}
    members: dict[int, list[SeatGroup]] = defaultdict(list)
    rows = conn.execute(_GROUPS, {"account_id": account_id, "ids": sorted(user_ids)})
    for row in rows:
        if row.id not in groups:
            groups[row.id] = group_of(row)
        if row.user_id is not None:
            members[row.user_id].append(groups[row.id])
    return list(groups.values()), dict(members)


def holdings(conn: Connection, account_id: int, groups: Sequence[SeatGroup]) -> Holdings:
    """The account's open sessions by the group whose reservation they hold, unreserved,
    and by the groups with a maximum their agents are members of now."""
    held = Holdings(reserved=Counter(), members=Counter())
    guests = 0
    for group_id, reserved, guest, count in conn.execute(_HELD, {"account_id": account_id}):
        if reserved and group_id is not None:
            held.reserved[group_id] += count
        else:
            held.unreserved += count
        guests += count if guest else 0
    limited = [g.id for g in groups if g.maximum is not None and not g.guests]
    if limited:
        params = {"account_id": account_id, "groups": limited}
        held.members.update(dict(conn.execute(_MEMBERS_HELD, params).all()))
    for group in groups:
        if group.guests and group.maximum is not None:
            held.members[group.id] = guests
    return held
