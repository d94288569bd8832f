"""Account Settings' single sign-on section: the account's provider, a form that sets it
and a button that removes it. Each form answers with a 303 back to Account Settings, saying
what was done, or what was wrong with each field (and nothing saved)."""

from __future__ import annotations

import msgspec
from litestar import post
from litestar.params import URLEncodedBody
from litestar.response import Redirect

from seatkeeper.domain import sso as rules
from seatkeeper.domain.errors import InvalidFields, NoProvider, ProviderUnavailable
from seatkeeper.domain.model import Account, Role
from seatkeeper.services import sso
from seatkeeper.web import presenters as shown
from seatkeeper.web.deps import (
    Managed,
    Now,
    Runtime,
    RuntimeDep,
    Source,
    Visitor,
    VisitorDep,
    base_url,
)
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.pages.flash import Flash, see_other

SSO_FORM = "/accounts/{account:str}/settings/sso"
SSO_REMOVE = "/accounts/{account:str}/settings/sso/remove"
MARK = "sso"  # a flash carrying this in its form's "form" is the single sign-on form's
GIVEN_ROLES = [r for r in Role if rules.HIGHEST_ROLE.at_least(r)]
RULES_FORM = "Each line of the role rules is a value, =, and a role: admins = account_admin."


class SsoForm(msgspec.Struct):
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""  # empty: the stored one is kept; never sent back to the page
    display_name: str = ""
    username_claim: str = rules.DEFAULT_USERNAME_CLAIM
    roles_claim: str = ""
    role_rules: str = ""  # one "value = role" a line
    default_role: str = Role.AGENT.value
    audiences: str = ""  # one client id a line
    passwords_allowed: str = ""  # a checkbox: "on", or absent


def _settings_path(account: Account) -> str:
    return f"/accounts/{account.slug}/settings"


def _as_stored(view: sso.ProviderView | None) -> SsoForm:
    if view is None:
        return SsoForm(passwords_allowed="on")
    found = view.settings
    return SsoForm(
        issuer=found.issuer,
        client_id=found.client_id,
        display_name=found.display_name,
        username_claim=found.username_claim,
        roles_claim=found.roles_claim or "",
        role_rules="\n".join(f"{v} = {r.value}" for v, r in found.role_map.items()),
        default_role=found.default_role.value,
        audiences="\n".join(found.audiences),
        passwords_allowed="on" if found.passwords_allowed else "",
    )


def section(
    request: AnyRequest, runtime: Runtime, who: Visitor, account: Account, flash: Flash
) -> dict[str, object]:
    """What the page's single sign-on section shows: the provider, the form (as stored, or
    as typed when refused), each field's refusal, and the addresses to register."""
    view = sso.provider(runtime.db, who.user, account.slug)
    mine = flash.form.get("form") == MARK
    form = msgspec.convert(flash.form, SsoForm) if mine else _as_stored(view)
    redirect, logout = shown.sso_addresses(base_url(request), account)
    return {
        "sso": view,
        "sso_form": form,
        "sso_errors": flash.errors if mine else {},
        "sso_notice": flash.notice,
        "sso_roles": [r.value for r in GIVEN_ROLES],
        "sso_redirect_uri": redirect,
        "sso_logout_uri": logout,
        "sso_updated": None if view is None else shown.local(view.updated_at, account),
    }


def _role_rules(text: str) -> dict[str, str] | None:
    """The rules the lines give, or None when a line is not `value = role`."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        value, sep, role = line.rpartition("=")
        if not sep or not value.strip():
            return None
        found[value.strip()] = role.strip()
    return found


def _checked(data: SsoForm, kept: rules.ProviderSettings | None) -> rules.ProviderSettings:
    """The settings the form gives, every wrong field named at once (InvalidFields)."""
    role_map = _role_rules(data.role_rules)
    try:
        settings = rules.provider_settings(
            issuer=data.issuer, client_id=data.client_id, display_name=data.display_name,
            username_claim=data.username_claim, roles_claim=data.roles_claim,
            role_map=role_map or {}, default_role=data.default_role,
            passwords_allowed=data.passwords_allowed == "on",
            audiences=data.audiences.splitlines(),
            scopes=rules.DEFAULT_SCOPES if kept is None else kept.scopes,
        )  # fmt: skip
    except InvalidFields as exc:
        problems = exc.fields
    else:
        problems = {}
    if role_map is None:
        problems = {**problems, "role_map": RULES_FORM}
    if problems:
        raise InvalidFields(problems)
    return settings


@post(SSO_FORM, sync_to_thread=True, include_in_schema=False)
def save_sso(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    data: URLEncodedBody[SsoForm],
) -> Redirect:
    path = _settings_path(managed)
    kept = sso.provider(runtime.db, visitor.user, managed.slug)
    try:
        settings = _checked(data, None if kept is None else kept.settings)
        sso.set_provider(
            runtime.db, runtime.sso, visitor.user, managed.slug, settings,
            client_secret=data.client_secret or None, now=now, source=source,
        )  # fmt: skip
    except (InvalidFields, ProviderUnavailable) as exc:
        problems = exc.fields if isinstance(exc, InvalidFields) else {"issuer": exc.message}
        typed = {**msgspec.structs.asdict(data), "client_secret": "", "form": MARK}
        return see_other(request, f"{path}#sso", Flash(errors=problems, form=typed))
    return see_other(request, f"{path}#sso", Flash(notice="Single sign-on saved."))


@post(SSO_REMOVE, sync_to_thread=True, include_in_schema=False)
def remove_sso(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
) -> Redirect:
    path = _settings_path(managed)
    try:
        sso.remove_provider(runtime.db, visitor.user, managed.slug, now=now, source=source)
    except NoProvider:
        return see_other(request, f"{path}#sso", Flash(notice="Single sign-on was not set up."))
    notice = "Single sign-on removed: the account's users log in with passwords."
    return see_other(request, f"{path}#sso", Flash(notice=notice))
