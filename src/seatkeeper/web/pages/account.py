"""The Account Settings and Users pages, and the page a one-time link opens to set a
password. Forms post back with the login's CSRF token; the services do the checking."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from seatkeeper.domain import validation
from seatkeeper.domain.errors import (
    AccountNotFound,
    DomainError,
    InvalidFields,
    InvalidInput,
)
from seatkeeper.domain.model import Role
from seatkeeper.services import settings, users
from seatkeeper.storage.db import Database
from seatkeeper.web import presenters as shown
from seatkeeper.web.deps import Now, RuntimeDep, Source, login_token, require_csrf
from seatkeeper.web.errors import AnyRequest, status_of
from seatkeeper.web.pages.common import Visitor, required_visitor

SETTINGS_PAGE = "/accounts/{account:str}/settings"
USERS_PAGE = "/accounts/{account:str}/users"


def _checked_form(request: AnyRequest, now: datetime, csrf_token: str) -> Visitor:
    """The logged-in visitor behind a form, its CSRF token checked."""
    runtime = request.app.state.runtime
    who = required_visitor(request, runtime, now)
    token = login_token(request)
    assert token is not None  # a visitor has one
    require_csrf(request, token, csrf_token)
    return who


# --- Account Settings ---------------------------------------------------------------------


class SettingsForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""
    time_zone: str = ""
    session_timeout_minutes: str = ""
    guests_allowed: str = ""  # a checkbox: "on", or absent
    licenses: str = ""  # only a super_admin's form has it


def may_license(who: Visitor) -> bool:
    return who.user.role is Role.SUPER_ADMIN


def _local_time(zone: str, now: datetime) -> str:
    """The time now in the zone the form shows (a refused form keeps what was typed)."""
    try:
        return now.astimezone(validation.time_zone(zone)).strftime("%H:%M")
    except InvalidInput:
        return "unknown zone"


def _settings_page(
    who: Visitor,
    found: settings.AccountSettings,
    now: datetime,
    *,
    form: SettingsForm | None = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status: int = 200,
) -> Template:
    account = found.account
    values = form or SettingsForm(
        name=account.name,
        time_zone=account.time_zone,
        session_timeout_minutes=f"{shown.timeout_minutes(account):g}",
        guests_allowed="on" if account.guests_allowed else "",
        licenses=str(account.licenses),
    )
    context = {
        "account": account,
        "form": values,
        "errors": errors or {},
        "saved": saved,
        "zones": sorted(validation.zone_names()),
        "local_time": _local_time(values.time_zone.strip(), now),
        "may_change_licenses": may_license(who),
        "history": [shown.license_total(c, account) for c in found.license_history],
        "nav": who.nav("settings", viewing=account),
    }
    return Template(template_name="account_settings.html", context=context, status_code=status)


@get(SETTINGS_PAGE, sync_to_thread=True, include_in_schema=False)
def settings_page(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    account: FromPath[str],
    saved: FromQuery[bool] = False,
) -> Template:
    who = required_visitor(request, runtime, now)
    found = settings.account_settings(runtime.db, who.user, account)
    return _settings_page(who, found, now, saved=saved)


def _minutes(text: str) -> timedelta | str | None:
    """The timeout the form gives, None if left empty, or the sentence saying what is wrong."""
    if not text.strip():
        return None
    try:
        return timedelta(minutes=float(text))
    except (ValueError, OverflowError):
        return "The session timeout is a number of minutes, such as 30."


def _whole(text: str) -> int | str | None:
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        return "The license total is a whole number, such as 25."


@post(SETTINGS_PAGE, sync_to_thread=True, include_in_schema=False)
def save_settings(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    account: FromPath[str],
    data: URLEncodedBody[SettingsForm],
) -> Response[Any] | Template:
    who = _checked_form(request, now, data.csrf_token)
    timeout, licenses = _minutes(data.session_timeout_minutes), _whole(data.licenses)
    unreadable = {
        field: problem
        for field, problem in (("session_timeout", timeout), ("licenses", licenses))
        if isinstance(problem, str)
    }
    change = settings.Change(
        name=data.name,
        time_zone=data.time_zone.strip(),
        session_timeout=timeout if isinstance(timeout, timedelta) else None,
        guests_allowed=data.guests_allowed == "on",
        licenses=licenses
        if isinstance(licenses, int) and who.user.role is Role.SUPER_ADMIN
        else None,
    )
    try:
        settings.check(change, problems=unreadable)  # every field's problem at once
        settings.change_settings(runtime.db, who.user, account, change, now=now, source=source)
    except InvalidFields as exc:
        found = settings.account_settings(runtime.db, who.user, account)
        return _settings_page(who, found, now, form=data, errors=exc.fields, status=400)
    return Redirect(f"/accounts/{account}/settings?saved=true", status_code=HTTP_303_SEE_OTHER)


# --- Users --------------------------------------------------------------------------------


class UserForm(msgspec.Struct):
    csrf_token: str = ""
    action: str = ""  # create, role, disable, enable, password
    username: str = ""
    role: str = ""
    password: str = ""


def _users_page(
    who: Visitor,
    db: Database,
    account_slug: str,
    *,
    notice: str | None = None,
    link: str | None = None,
    error: str | None = None,
    form: UserForm | None = None,
    status: int = 200,
) -> Template:
    account, rows = users.list_users(db, who.user, account_slug)
    context = {
        "account": account,
        "users": [
            {
                "user": shown.person(u, account),
                "manageable": u.role.rank <= who.user.role.rank,
            }
            for u in rows
        ],
        "roles": [r for r in Role if r.rank <= who.user.role.rank],
        "notice": notice,
        "link": link,
        "error": error,
        "form": form or UserForm(role=Role.AGENT.value),
        "nav": who.nav("users", viewing=account),
    }
    return Template(template_name="users.html", context=context, status_code=status)


@get(USERS_PAGE, sync_to_thread=True, include_in_schema=False)
def users_page(
    request: AnyRequest, runtime: RuntimeDep, now: Now, account: FromPath[str]
) -> Template:
    who = required_visitor(request, runtime, now)
    return _users_page(who, runtime.db, account)


def _role(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        raise InvalidInput(f"Unknown role {name!r}.") from None


@post(USERS_PAGE, sync_to_thread=True, include_in_schema=False)
def change_users(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    account: FromPath[str],
    data: URLEncodedBody[UserForm],
) -> Template:
    who = _checked_form(request, now, data.csrf_token)
    db, name = runtime.db, data.username.strip()
    try:
        if data.action == "create":
            handed = users.add_user(
                db, runtime.passwords, who.user, account, username=name, role=_role(data.role),
                password=data.password or None, now=now, source=source,
            )  # fmt: skip
            notice = f"User {name} was created as {handed.user.role.label}."
        elif data.action == "role":
            handed = users.change_user(
                db, who.user, account, name, role=_role(data.role), now=now, source=source
            )
            notice = f"{name} is now {handed.user.role.label}."
        elif data.action in ("disable", "enable"):
            enabled = data.action == "enable"
            handed = users.change_user(
                db, who.user, account, name, enabled=enabled, now=now, source=source
            )
            notice = f"{name} was {'enabled' if enabled else 'disabled'}."
        elif data.action == "password":
            handed = users.reset_password(
                db, runtime.passwords, who.user, account, name,
                password=data.password or None, now=now, source=source,
            )  # fmt: skip
            notice = f"{name}'s password was reset."
        else:
            raise InvalidInput(f"Unknown action {data.action!r}.")
    except AccountNotFound:
        raise  # answered as every page answers an account that is not the visitor's
    except DomainError as exc:
        keep = data if data.action == "create" else None
        return _users_page(
            who, db, account, error=exc.message, form=keep, status=status_of(type(exc))
        )
    token = handed.link_token
    return _users_page(
        who,
        db,
        account,
        notice=notice,
        link=None if token is None else shown.link_url(str(request.base_url), token),
    )
