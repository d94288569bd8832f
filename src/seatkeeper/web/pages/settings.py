"""The Account Settings page: its form answers with a 303 back to the page, saying it saved
the settings, or what was wrong with each field (and nothing saved)."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from litestar import get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from seatkeeper.domain import validation
from seatkeeper.domain.errors import Conflict, InvalidFields, InvalidInput
from seatkeeper.domain.model import Account, Role, SettingsChange
from seatkeeper.services import settings
from seatkeeper.web import presenters as shown
from seatkeeper.web.deps import Managed, Now, RuntimeDep, Source, Visitor, VisitorDep
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.pages import seat_groups, sso_settings
from seatkeeper.web.pages.common import page
from seatkeeper.web.pages.flash import Flash, received, see_other
from seatkeeper.web.pages.views import nav

SETTINGS_PAGE = "/accounts/{account:str}/settings"


class SettingsForm(msgspec.Struct):
    name: str = ""
    time_zone: str = ""
    session_timeout_minutes: str = ""
    guests_allowed: str = ""  # a checkbox: "on", or absent
    licenses: str = ""  # only a super_admin's form has it
    overdraft: str = ""  # only a super_admin's form has it
    max_interactions: str = ""
    retention_days: str = ""
    # The settings as the form showed them when it was opened (JSON of the fields above):
    # only the fields typed differently are changed, and if someone changed the account
    # since, nothing is.
    opened: str = ""


FIELDS = (
    "name",
    "time_zone",
    "session_timeout_minutes",
    "guests_allowed",
    "licenses",
    "overdraft",
    "max_interactions",
    "retention_days",
)
CONFLICT_AGAIN = " The form now shows the current settings."


def _path(account: Account) -> str:
    return f"/accounts/{account.slug}/settings"


def _as_stored(account: Account) -> SettingsForm:
    return SettingsForm(
        name=account.name,
        time_zone=account.time_zone,
        session_timeout_minutes=f"{shown.timeout_minutes(account):g}",
        guests_allowed="on" if account.guests_allowed else "",
        licenses=str(account.licenses),
        overdraft=str(account.overdraft),
        max_interactions=str(account.max_interactions),
        retention_days=str(account.retention_days),
    )


def _opened(form: SettingsForm) -> str:
    """What the form shows, as its `opened` field keeps it."""
    return msgspec.json.encode({f: getattr(form, f) for f in FIELDS}).decode()


def _as_opened(text: str) -> SettingsForm | None:
    """The settings a sent form was opened with, or None when it does not say."""
    if not text:
        return None
    try:
        return msgspec.json.decode(text, type=SettingsForm)
    except msgspec.DecodeError:
        return None


def _local_time(zone: str, now: datetime) -> str:
    """The time now in the zone the form shows (a refused form keeps what was typed)."""
    try:
        return now.astimezone(validation.time_zone(zone)).strftime("%H:%M")
    except InvalidInput:
        return "unknown zone"


@get(SETTINGS_PAGE, sync_to_thread=True, include_in_schema=False)
def settings_page(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    visitor: VisitorDep,
    account: FromPath[str],
    saved: FromQuery[bool] = False,
) -> Template:
    found = settings.account_settings(runtime.db, visitor.user, account)
    flash = received(request)  # a refused form: each field's problem, and what was typed
    seat_groups_section = seat_groups.section(runtime, visitor, found.account, flash)
    if seat_groups.mine(flash):  # the seat groups section's flash: no other section's
        flash = Flash()
    single_sign_on = sso_settings.section(request, runtime, visitor, found.account, flash)
    if single_sign_on["sso_errors"] or flash.notice:  # the single sign-on form's flash
        flash = Flash()
    values = msgspec.convert(flash.form, SettingsForm) if flash.form else None
    if values is None:
        values = _as_stored(found.account)
        values.opened = _opened(values)
    context = _context(visitor, found, now, form=values)
    return page(
        request,
        "account_settings.html",
        {
            **context,
            **single_sign_on,
            **seat_groups_section,
            "errors": flash.errors,
            "saved": saved,
            "conflict": flash.error,
        },
    )


def _context(
    who: Visitor, found: settings.AccountSettings, now: datetime, *, form: SettingsForm
) -> dict[str, object]:
    account = found.account
    return {
        "account": account,
        "form": form,
        "zones": sorted(validation.zone_names()),
        "local_time": _local_time(form.time_zone.strip(), now),
        "may_change_licenses": who.user.role is Role.SUPER_ADMIN,
        "history": [shown.license_total(c, account) for c in found.license_history],
        "nav": nav(who, "settings", viewing=account),
    }


def _minutes(text: str) -> timedelta | str | None:
    """The timeout the form gives, None if left empty, or the sentence saying what is wrong."""
    if not text.strip():
        return None
    try:
        return timedelta(minutes=float(text))
    except (ValueError, OverflowError):
        return "The session timeout is a number of minutes, such as 30."


def _whole(text: str, what: str = "The license total", example: int = 25) -> int | str | None:
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        return f"{what} is a whole number, such as {example}."


@post(SETTINGS_PAGE, sync_to_thread=True, include_in_schema=False)
def save_settings(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    data: URLEncodedBody[SettingsForm],
) -> Redirect:
    super_admin = visitor.user.role is Role.SUPER_ADMIN
    change = _typed(data, super_admin=super_admin)
    opened = _as_opened(data.opened)
    expected = None if opened is None else _typed(opened, super_admin=super_admin)
    try:
        checked = settings.check(change, problems=_unreadable(data))  # every problem at once
        # A form that does not say what it was opened with (sent by a program) changes
        # every setting it gives, as the API does.
        was = {} if expected is None else expected.given()
        edited = {k: v for k, v in checked.given().items() if k not in was or was[k] != v}
        if edited:
            settings.change_settings(
                runtime.db, visitor.user, managed.slug, SettingsChange(**edited),
                now=now, source=source, expected=expected,
            )  # fmt: skip
    except InvalidFields as exc:
        typed = msgspec.structs.asdict(data)
        return see_other(request, _path(managed), Flash(errors=exc.fields, form=typed))
    except Conflict as exc:  # the page shows the current settings, and why nothing was saved
        return see_other(request, _path(managed), Flash(error=exc.message + CONFLICT_AGAIN))
    return see_other(request, f"{_path(managed)}?saved=true")


def _unreadable(data: SettingsForm) -> dict[str, str]:
    """Each field that is not even a number, and why."""
    timeout, licenses = _minutes(data.session_timeout_minutes), _whole(data.licenses)
    most = _whole(data.max_interactions, "The open Interactions per session", 10)
    return {
        field: problem
        for field, problem in (
            ("session_timeout", timeout),
            ("licenses", licenses),
            ("overdraft", _overdraft(data.overdraft)),
            ("max_interactions", most),
            ("retention_days", _retention(data.retention_days)),
        )
        if isinstance(problem, str)
    }


def _retention(text: str) -> int | str | None:
    return _whole(text, "The days rows are kept", 400)


def _overdraft(text: str) -> int | str | None:
    return _whole(text, "The overdraft", 5)


def _typed(data: SettingsForm, *, super_admin: bool) -> SettingsChange:
    """The settings a form holds (the license total and overdraft only in a super_admin's)."""
    timeout, licenses = _minutes(data.session_timeout_minutes), _whole(data.licenses)
    most = _whole(data.max_interactions, "The open Interactions per session", 10)
    kept, overdraft = _retention(data.retention_days), _overdraft(data.overdraft)
    return SettingsChange(
        name=data.name,
        time_zone=data.time_zone.strip(),
        session_timeout=timeout if isinstance(timeout, timedelta) else None,
        guests_allowed=data.guests_allowed == "on",
        licenses=licenses if isinstance(licenses, int) and super_admin else None,
        overdraft=overdraft if isinstance(overdraft, int) and super_admin else None,
        max_interactions=most if isinstance(most, int) else None,
        retention_days=kept if isinstance(kept, int) else None,
    )
