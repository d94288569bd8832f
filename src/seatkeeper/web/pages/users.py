"""The Users page and its actions, one route each: create a user, change a role, disable,
enable, reset a password. Each answers with a 303 back to the page, which says what was
done or why it was refused; only an answer that holds a one-time link to set a password
is the page itself (200), since the link is shown once and goes in no cookie."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from seatkeeper.domain.errors import DomainError, InvalidInput
from seatkeeper.domain.model import Account, Role
from seatkeeper.domain.words import plural
from seatkeeper.services import groups, page_logins, users
from seatkeeper.storage.db import Database
from seatkeeper.web import presenters as shown
from seatkeeper.web.deps import (
    Managed,
    Now,
    Runtime,
    RuntimeDep,
    Source,
    Visitor,
    VisitorDep,
)
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.pages.common import page
from seatkeeper.web.pages.flash import Flash, received, see_other
from seatkeeper.web.pages.views import nav

USERS_PAGE = "/accounts/{account:str}/users"
USER = USERS_PAGE + "/{username:str}"


class NewUserForm(msgspec.Struct):
    username: str = ""
    role: str = Role.AGENT.value
    password: str = ""  # none: a one-time link to set one


class RoleForm(msgspec.Struct):
    role: str = ""


class PasswordForm(msgspec.Struct):
    password: str = ""  # none: a one-time link to set one


class GroupsForm(msgspec.Struct):
    # The ids of the ticked groups (a form with one ticked sends one value, not a list).
    group: list[str] | str = msgspec.field(default_factory=list)


def _path(account: Account) -> str:
    return f"/accounts/{account.slug}/users"


def _page(
    request: AnyRequest, who: Visitor, db: Database, account_slug: str, flash: Flash, link: str = ""
) -> Template:
    account, rows = users.list_users(db, who.user, account_slug)
    found = groups.list_groups(db, who.user, account_slug)
    context = {
        "account": account,
        "users": [
            {
                "user": shown.person(u, account),
                "manageable": u.role.rank <= who.user.role.rank,
                "groups": found.memberships.get(u.id, frozenset()),
            }
            for u in rows
        ],
        "teams": [r.group for r in found.teams],
        "roles": [r for r in Role if r.rank <= who.user.role.rank],
        "notice": flash.notice,
        "error": flash.error,
        "link": link,
        "form": msgspec.convert(flash.form, NewUserForm) if flash.form else NewUserForm(),
        "nav": nav(who, "users", viewing=account),
    }
    return page(request, "users.html", context)


@get(USERS_PAGE, sync_to_thread=True, include_in_schema=False)
def users_page(
    request: AnyRequest, runtime: RuntimeDep, visitor: VisitorDep, account: FromPath[str]
) -> Template:
    return _page(request, visitor, runtime.db, account, received(request))


def _role(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        raise InvalidInput(f"Unknown role {name!r}.") from None


Act = Callable[[], tuple[str, users.Handed]]  # does an action; what it did, and to whom


def _answer(
    request: AnyRequest, db: Database, who: Visitor, account: Account, notice: str,
    handed: users.Handed,
) -> Response[None] | Template:  # fmt: skip
    """Back to the Users page, saying what was done; or the page itself, when it shows a
    one-time link."""
    if handed.link_token is None:
        return see_other(request, _path(account), Flash(notice=notice))
    runtime: Runtime = request.app.state.runtime
    link = shown.link_url(runtime.public_url, handed.link_token)
    return _page(request, who, db, account.slug, Flash(notice=notice), link)


def _act(
    request: AnyRequest, db: Database, who: Visitor, account: Account, act: Act
) -> Response[None] | Template:
    """Do what a row's form asks, and answer with what was done or why it was refused (the
    visitor may manage the account: `managed` saw to that)."""
    try:
        notice, handed = act()
    except DomainError as exc:
        return see_other(request, _path(account), Flash(error=exc.message))
    return _answer(request, db, who, account, notice, handed)


@post(USERS_PAGE, sync_to_thread=True, include_in_schema=False)
def create_user(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    data: URLEncodedBody[NewUserForm],
) -> Response[None] | Template:
    name = data.username.strip()
    try:
        handed = users.add_user(
            runtime.db, runtime.passwords, visitor.user, managed.slug, username=name,
            role=_role(data.role), password=data.password or None, now=now, source=source,
        )  # fmt: skip
    except DomainError as exc:  # back to the form, with what was typed (not the password)
        typed = {"username": data.username, "role": data.role}
        return see_other(request, _path(managed), Flash(error=exc.message, form=typed))
    notice = f"User {name} was created as {handed.user.role.label}."
    return _answer(request, runtime.db, visitor, managed, notice, handed)


@post(USER + "/role", sync_to_thread=True, include_in_schema=False)
def change_role(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    username: FromPath[str],
    data: URLEncodedBody[RoleForm],
) -> Response[None] | Template:
    def act() -> tuple[str, users.Handed]:
        role = _role(data.role)
        handed = users.change_user(
            runtime.db, visitor.user, managed.slug, username, role=role, now=now, source=source
        )
        return f"{username} is now {handed.user.role.label}.", handed

    return _act(request, runtime.db, visitor, managed, act)


def _enabled(
    request: AnyRequest, runtime: Runtime, now: datetime, source: str | None, visitor: Visitor,
    managed: Account, username: str, *, enabled: bool,
) -> Response[None] | Template:  # fmt: skip
    def act() -> tuple[str, users.Handed]:
        handed = users.change_user(
            runtime.db, visitor.user, managed.slug, username, enabled=enabled, now=now,
            source=source,
        )  # fmt: skip
        return f"{username} was {'enabled' if enabled else 'disabled'}.", handed

    return _act(request, runtime.db, visitor, managed, act)


@post(USER + "/disable", sync_to_thread=True, include_in_schema=False)
def disable_user(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    username: FromPath[str],
) -> Response[None] | Template:
    return _enabled(request, runtime, now, source, visitor, managed, username, enabled=False)


@post(USER + "/enable", sync_to_thread=True, include_in_schema=False)
def enable_user(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    username: FromPath[str],
) -> Response[None] | Template:
    return _enabled(request, runtime, now, source, visitor, managed, username, enabled=True)


@post(USER + "/password", sync_to_thread=True, include_in_schema=False)
def reset_password(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    username: FromPath[str],
    data: URLEncodedBody[PasswordForm],
) -> Response[None] | Template:
    def act() -> tuple[str, users.Handed]:
        handed = users.reset_password(
            runtime.db, runtime.passwords, visitor.user, managed.slug, username,
            password=data.password or None, now=now, source=source,
        )  # fmt: skip
        return f"{username}'s password was reset.", handed

    return _act(request, runtime.db, visitor, managed, act)


@post(USER + "/end-logins", sync_to_thread=True, include_in_schema=False)
def end_user_logins(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    username: FromPath[str],
) -> Response[None]:
    """End every login of the user to the pages (the visitor's own too, if it is theirs)."""
    try:
        _, ended = page_logins.end_user_logins(
            runtime.db, visitor.user, managed.slug, username, now=now, source=source
        )
    except DomainError as exc:
        return see_other(request, _path(managed), Flash(error=exc.message))
    notice = f"{plural(ended, 'login')} of {username} ended."
    return see_other(request, _path(managed), Flash(notice=notice))


@post(USER + "/groups", sync_to_thread=True, include_in_schema=False)
def set_user_groups(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    username: FromPath[str],
    data: URLEncodedBody[GroupsForm],
) -> Response[None]:
    """Make the user a member of the ticked seat groups, and of no other."""
    try:
        ids = [int(g) for g in ([data.group] if isinstance(data.group, str) else data.group)]
    except ValueError:
        return see_other(request, _path(managed), Flash(error="A group is named by its number."))
    try:
        names = groups.set_user_groups(
            runtime.db, visitor.user, managed.slug, username, ids, now=now, source=source
        )
    except DomainError as exc:
        return see_other(request, _path(managed), Flash(error=exc.message))
    member = f"a member of {', '.join(names)}" if names else "in no seat group"
    return see_other(request, _path(managed), Flash(notice=f"{username} is {member}."))
