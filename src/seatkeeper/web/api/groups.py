"""Admin API for seat groups: licenses reserved for a team, the most it holds at once, its
members, and the Guests group's settings."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Router, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from seatkeeper.domain import errors as e
from seatkeeper.domain import validation
from seatkeeper.domain.model import SeatGroup
from seatkeeper.services import groups
from seatkeeper.web.api.admin import ADMIN_TOKEN, REFUSALS
from seatkeeper.web.api.people import Username
from seatkeeper.web.deps import ADMIN_DEPENDENCIES, ADMIN_GUARDS, ApiUser, Now, RuntimeDep, Source
from seatkeeper.web.errors import responses

# Documented here, checked by the service (whose refusal names the rule).
Count = Annotated[int, msgspec.Meta(ge=0, le=validation.MAX_LICENSES)]
GroupName = Annotated[str, msgspec.Meta(min_length=1, max_length=groups.MAX_NAME)]
MAX_MEMBERS = 100_000
CHANGES = (*REFUSALS, e.InvalidInput, e.GroupNotFound, e.Conflict)


class GroupBody(msgspec.Struct):
    id: int
    name: str
    guests: bool  # the Guests group: every Guest session is its member
    reserved: int  # licenses only its members may hold
    maximum: int | None  # the most sessions its members hold at once; null: no maximum
    members: int  # users who are members (none for the Guests group)


class GroupsBody(msgspec.Struct):
    account: str
    licenses: int
    reserved: int  # all the groups' reservations together (never more than the licenses)
    groups: list[GroupBody]  # by name


class NewGroup(msgspec.Struct, forbid_unknown_fields=True):
    name: GroupName
    reserved: Count = 0
    maximum: Count | None = None  # null: no maximum


class GroupChange(msgspec.Struct, forbid_unknown_fields=True):
    """What to change; what is left out stays as it is (a null maximum: no maximum)."""

    name: GroupName | None = None
    reserved: Count | None = None
    maximum: Count | msgspec.UnsetType | None = msgspec.UNSET


class GuestsChange(msgspec.Struct, forbid_unknown_fields=True):
    """What to change; what is left out stays as it is (a null maximum: no maximum)."""

    reserved: Count | None = None
    maximum: Count | msgspec.UnsetType | None = msgspec.UNSET


class Members(msgspec.Struct, forbid_unknown_fields=True):
    usernames: Annotated[list[Username], msgspec.Meta(max_length=MAX_MEMBERS)]


class MembersBody(msgspec.Struct):
    group: str
    usernames: list[str]  # by username


def group_body(group: SeatGroup, members: int) -> GroupBody:
    return GroupBody(group.id, group.name, group.guests, group.reserved, group.maximum, members)


def _maximum(value: int | msgspec.UnsetType | None) -> int | groups.Keep | None:
    return groups.KEEP if value is msgspec.UNSET else value


def _with_members(
    runtime: RuntimeDep, admin_user: ApiUser, account: str, found: SeatGroup
) -> GroupBody:
    listed = groups.list_groups(runtime.db, admin_user, account)
    members = next((r.members for r in listed.rows if r.group.id == found.id), 0)
    return group_body(found, members)


@get(
    "/groups",
    summary="The account's seat groups, with their reservations, maximums and member counts",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS),
    sync_to_thread=True,
)
def list_groups(runtime: RuntimeDep, admin_user: ApiUser, account: FromPath[str]) -> GroupsBody:
    found = groups.list_groups(runtime.db, admin_user, account)
    return GroupsBody(
        found.account.slug,
        found.account.licenses,
        sum(r.group.reserved for r in found.rows),
        [group_body(r.group, r.members) for r in found.rows],
    )


@post(
    "/groups",
    summary="Create a seat group, with licenses reserved for its members and a maximum",
    description="Names are unique per account, compared as usernames are; 'Guests' is the "
    "Guests group's. Reservations never add up to more than the licenses (409).",
    security=ADMIN_TOKEN,
    responses=responses(*CHANGES),
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
)
def create_group(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    data: JSONBody[NewGroup],
) -> GroupBody:
    made = groups.create_group(
        runtime.db, admin_user, account, name=data.name, reserved=data.reserved,
        maximum=data.maximum, now=now, source=source,
    )  # fmt: skip
    return group_body(made, 0)


@patch(
    "/groups/guests",
    summary="Set the Guests group's reservation or maximum (made on first setting)",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.InvalidInput, e.Conflict),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def change_guests(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    data: JSONBody[GuestsChange],
) -> GroupBody:
    changed = groups.set_guests(
        runtime.db, admin_user, account, reserved=data.reserved,
        maximum=_maximum(data.maximum), now=now, source=source,
    )  # fmt: skip
    return group_body(changed, 0)


@patch(
    "/groups/{group_id:int}",
    summary="Rename a seat group, or change its reservation or maximum",
    security=ADMIN_TOKEN,
    responses=responses(*CHANGES),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def change_group(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    group_id: FromPath[int],
    data: JSONBody[GroupChange],
) -> GroupBody:
    changed = groups.change_group(
        runtime.db, admin_user, account, group_id, name=data.name, reserved=data.reserved,
        maximum=_maximum(data.maximum), now=now, source=source,
    )  # fmt: skip
    return _with_members(runtime, admin_user, account, changed)


@delete(
    "/groups/{group_id:int}",
    summary="Delete a seat group",
    description="Its members stay users; the licenses its open sessions hold count as "
    "unreserved ones from now on.",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.GroupNotFound),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def delete_group(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    group_id: FromPath[int],
) -> GroupBody:
    gone = groups.delete_group(runtime.db, admin_user, account, group_id, now=now, source=source)
    return group_body(gone, 0)


@put(
    "/groups/{group_id:int}/members",
    summary="Make these users, and only them, a seat group's members",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.InvalidInput, e.GroupNotFound, e.UserNotFound),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def set_members(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    group_id: FromPath[int],
    data: JSONBody[Members],
) -> MembersBody:
    group, names = groups.set_members(
        runtime.db, admin_user, account, group_id, data.usernames, now=now, source=source
    )
    return MembersBody(group.name, names)


groups_router = Router(
    path="/api/v1/accounts/{account:str}",
    route_handlers=[
        list_groups,
        create_group,
        change_guests,
        change_group,
        delete_group,
        set_members,
    ],
    dependencies=ADMIN_DEPENDENCIES,
    guards=ADMIN_GUARDS,
    tags=["Seat groups"],
)
