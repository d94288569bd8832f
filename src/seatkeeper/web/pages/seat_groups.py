"""Account Settings' seat groups section: the groups (and the Guests group) with their
reserved licenses, maximum and members, and forms to create, change and delete them. Each
form answers with a 303 back to Account Settings, saying what was done, or why nothing was
(with what was typed)."""

from __future__ import annotations

import msgspec
from litestar import post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect

from seatkeeper.domain.errors import Conflict, GroupNotFound, InvalidInput
from seatkeeper.domain.model import Account, SeatGroup
from seatkeeper.services import groups
from seatkeeper.web.deps import Managed, Now, Runtime, RuntimeDep, Source, Visitor, VisitorDep
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.pages.flash import Flash, see_other

GROUPS_FORM = "/accounts/{account:str}/settings/groups"
GUESTS_FORM = "/accounts/{account:str}/settings/groups/guests"
GROUP_FORM = "/accounts/{account:str}/settings/groups/{group_id:int}"
GROUP_DELETE = "/accounts/{account:str}/settings/groups/{group_id:int}/delete"
Refused = (
    InvalidInput | Conflict | GroupNotFound
)  # shown on the page; other refusals are the page's
MARK = "groups"  # a flash carrying this in its form's "form" is this section's


class GroupForm(msgspec.Struct):
    name: str = ""
    reserved: str = ""
    maximum: str = ""  # empty: no maximum
    target: str = ""  # which form was sent: "new", "guests" or a group's id


def _as_stored(group: SeatGroup) -> GroupForm:
    most = "" if group.maximum is None else str(group.maximum)
    return GroupForm(group.name, str(group.reserved), most, str(group.id))


def section(runtime: Runtime, who: Visitor, account: Account, flash: Flash) -> dict[str, object]:
    """What the page's seat groups section shows: each group as stored (or as typed, for the
    form that was refused), the refusal, and what was done."""
    found = groups.list_groups(runtime.db, who.user, account.slug)
    ours = mine(flash)
    typed = msgspec.convert(flash.form, GroupForm) if ours and flash.error else None
    forms = {
        "guests" if r.group.guests else str(r.group.id): _as_stored(r.group) for r in found.rows
    }
    forms["new"] = GroupForm(reserved="0", target="new")
    if typed is not None:
        forms[typed.target] = typed
    return {
        "seat_groups": found.teams,
        "guests_group": found.guests,
        "reserved_total": sum(r.group.reserved for r in found.rows),
        "group_forms": forms,
        "group_notice": flash.notice if ours else "",
        "group_error": flash.error if ours else "",
        "group_target": typed.target if typed is not None else "",
    }


def mine(flash: Flash) -> bool:
    """Whether the flash is this section's (other sections then say nothing)."""
    return flash.form.get("form") == MARK


def _count(text: str, what: str) -> int:
    try:
        return int(text.strip() or "0")
    except ValueError:
        raise InvalidInput(f"{what} is a whole number, such as 5.") from None


def _maximum(text: str) -> int | None:
    return None if not text.strip() else _count(text, "A maximum")


def _back(request: AnyRequest, account: Account, data: GroupForm, done: str | Refused) -> Redirect:
    path = f"/accounts/{account.slug}/settings#seat-groups"
    if isinstance(done, str):
        return see_other(request, path, Flash(notice=done, form={"form": MARK}))
    typed = {**msgspec.structs.asdict(data), "form": MARK}
    return see_other(request, path, Flash(error=done.message, form=typed))


@post(GROUPS_FORM, sync_to_thread=True, include_in_schema=False)
def create_group(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    data: URLEncodedBody[GroupForm],
) -> Redirect:
    data.target = "new"
    try:
        made = groups.create_group(
            runtime.db, visitor.user, managed.slug, name=data.name,
            reserved=_count(data.reserved, "Reserved licenses"), maximum=_maximum(data.maximum),
            now=now, source=source,
        )  # fmt: skip
    except (InvalidInput, Conflict, GroupNotFound) as exc:
        return _back(request, managed, data, exc)
    return _back(request, managed, data, f"Group {made.name!r} created.")


@post(GUESTS_FORM, sync_to_thread=True, include_in_schema=False)
def change_guests(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    data: URLEncodedBody[GroupForm],
) -> Redirect:
    data.target, data.name = "guests", groups.GUESTS
    try:
        groups.set_guests(
            runtime.db, visitor.user, managed.slug,
            reserved=_count(data.reserved, "Reserved licenses"), maximum=_maximum(data.maximum),
            now=now, source=source,
        )  # fmt: skip
    except (InvalidInput, Conflict, GroupNotFound) as exc:
        return _back(request, managed, data, exc)
    return _back(request, managed, data, "The Guests group saved.")


@post(GROUP_FORM, sync_to_thread=True, include_in_schema=False)
def change_group(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    group_id: FromPath[int],
    data: URLEncodedBody[GroupForm],
) -> Redirect:
    data.target = str(group_id)
    try:
        changed = groups.change_group(
            runtime.db, visitor.user, managed.slug, group_id, name=data.name or None,
            reserved=_count(data.reserved, "Reserved licenses"), maximum=_maximum(data.maximum),
            now=now, source=source,
        )  # fmt: skip
    except (InvalidInput, Conflict, GroupNotFound) as exc:
        return _back(request, managed, data, exc)
    return _back(request, managed, data, f"Group {changed.name!r} saved.")


@post(GROUP_DELETE, sync_to_thread=True, include_in_schema=False)
def delete_group(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    group_id: FromPath[int],
) -> Redirect:
    data = GroupForm(target=str(group_id))
    try:
        gone = groups.delete_group(
            runtime.db, visitor.user, managed.slug, group_id, now=now, source=source
        )
    except (InvalidInput, Conflict, GroupNotFound) as exc:
        return _back(request, managed, data, exc)
    return _back(request, managed, data, f"Group {gone.name!r} deleted.")
