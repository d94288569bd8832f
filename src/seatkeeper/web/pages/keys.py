"""The Applications and keys page and its actions, one route each: make a key or token,
revoke one, rotate an application key. Revoking answers with a 303 back to the page,
which says what was done or why it was refused; making or rotating answers with the page
itself (200), since the new key is shown this once and goes in no cookie."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath, Parameter, URLEncodedBody
from litestar.response import Template

from seatkeeper.domain import keys as key_rules
from seatkeeper.domain.errors import DomainError, InvalidInput
from seatkeeper.domain.model import Account, KeyKind
from seatkeeper.domain.words import plural
from seatkeeper.services import keys, users
from seatkeeper.storage.db import Database
from seatkeeper.web import presenters as shown
from seatkeeper.web.deps import Managed, Now, RuntimeDep, Source, Visitor, VisitorDep
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.pages.common import page
from seatkeeper.web.pages.flash import Flash, received, see_other
from seatkeeper.web.pages.views import nav

KEYS_PAGE = "/accounts/{account:str}/keys"
KEY = KEYS_PAGE + "/{key_id:int}"
KeyId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]


class NewKeyForm(msgspec.Struct):
    kind: str = KeyKind.APPLICATION.value
    name: str = ""
    username: str = ""  # the user a token acts as
    expires_in_days: str = ""  # empty: never


class RotateForm(msgspec.Struct):
    grace_minutes: str = "0"
    expires_in_days: str = ""


def _path(account: Account) -> str:
    return f"/accounts/{account.slug}/keys"


def _page(
    request: AnyRequest,
    who: Visitor,
    runtime_db: Database,
    account_slug: str,
    flash: Flash,
    *,
    now: datetime,
    made: keys.Made | None = None,
) -> Template:
    found = keys.list_keys(runtime_db, who.user, account_slug)
    account = found.account
    _, people = users.list_users(runtime_db, who.user, account_slug)
    context = {
        "account": account,
        "keys": [shown.api_key(k, account, now) for k in found.keys],
        "usernames": [
            p.username
            for p in people
            if p.role.rank <= who.user.role.rank and p.disabled_at is None
        ],
        "notice": flash.notice,
        "error": flash.error,
        "made": None if made is None else shown.api_key(made.key, account, now),
        "secret": "" if made is None else made.secret,
        "form": msgspec.convert(flash.form, NewKeyForm) if flash.form else NewKeyForm(),
        "max_grace": int(key_rules.MAX_GRACE.total_seconds() / 60),
        "nav": nav(who, "keys", viewing=account),
    }
    return page(request, "keys.html", context)


@get(KEYS_PAGE, sync_to_thread=True, include_in_schema=False)
def keys_page(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    visitor: VisitorDep,
    account: FromPath[str],
) -> Template:
    return _page(request, visitor, runtime.db, account, received(request), now=now)


def _days(text: str, now: datetime) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        days = float(text)
    except ValueError:
        raise InvalidInput(f"Expires after: {text[:20]!r} is not a number of days.") from None
    return key_rules.expiry_in_days(days, now)


def _kind(value: str) -> KeyKind:
    try:
        return KeyKind(value)
    except ValueError:
        raise InvalidInput(f"Unknown kind of key {value[:20]!r}.") from None


@post(KEYS_PAGE, sync_to_thread=True, include_in_schema=False)
def make_key(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    data: URLEncodedBody[NewKeyForm],
) -> Response[None] | Template:
    try:
        kind = _kind(data.kind)
        made = keys.make_key(
            runtime.db, visitor.user, managed.slug, kind=kind, name=data.name,
            username=data.username.strip() or None if kind is KeyKind.USER else None,
            expires_at=_days(data.expires_in_days, now), now=now, source=source,
        )  # fmt: skip
    except DomainError as exc:  # back to the form, with what was typed
        typed = {f: getattr(data, f) for f in NewKeyForm.__struct_fields__}
        return see_other(request, _path(managed), Flash(error=exc.message, form=typed))
    label = shown.api_key(made.key, made.account, now).kind_label
    notice = f"{label} {made.key.name} was made."
    return _page(
        request, visitor, runtime.db, managed.slug, Flash(notice=notice), now=now, made=made
    )


@post(KEY + "/revoke", sync_to_thread=True, include_in_schema=False)
def revoke_key(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    key_id: KeyId,
) -> Response[None]:
    try:
        _, key = keys.revoke_key(
            runtime.db, visitor.user, managed.slug, key_id, now=now, source=source
        )
    except DomainError as exc:
        return see_other(request, _path(managed), Flash(error=exc.message))
    label = shown.api_key(key, managed, now).kind_label
    notice = f"{label} {key.name} was revoked: it is refused from now on."
    return see_other(request, _path(managed), Flash(notice=notice))


@post(KEY + "/rotate", sync_to_thread=True, include_in_schema=False)
def rotate_key(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    visitor: VisitorDep,
    managed: Managed,
    key_id: KeyId,
    data: URLEncodedBody[RotateForm],
) -> Response[None] | Template:
    try:
        minutes = _minutes(data.grace_minutes)
        made = keys.rotate_key(
            runtime.db, visitor.user, managed.slug, key_id, grace=timedelta(minutes=minutes),
            expires_at=_days(data.expires_in_days, now), now=now, source=source,
        )  # fmt: skip
    except DomainError as exc:
        return see_other(request, _path(managed), Flash(error=exc.message))
    old = "stopped at once" if not minutes else f"works {plural(minutes, 'more minute')}"
    notice = f"Application key {made.key.name} was rotated: the old key {old}."
    return _page(
        request, visitor, runtime.db, managed.slug, Flash(notice=notice), now=now, made=made
    )


def _minutes(text: str) -> float:
    try:
        minutes = float(text.strip() or "0")
    except ValueError:
        raise InvalidInput(f"Grace period: {text[:20]!r} is not a number of minutes.") from None
    # Checked by the service; clamped so that a huge number cannot overflow a timedelta.
    return max(-1.0, min(minutes, 1e6))
