"""Post/Redirect/Get: a form's answer is a 303 to the page it belongs to, and what the page
must say then (done, or refused and why, with what was typed) rides along in a cookie.

The cookie is sent only to that page's address, lasts a minute, is signed with the
browser's CSRF secret (no other browser, nor another page, can be handed it) and is
dropped by the page that shows it. It never holds a password or a one-time link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from urllib.parse import urlsplit

import msgspec
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from seatkeeper.web.deps import csrf_secret
from seatkeeper.web.errors import AnyRequest

FLASH_COOKIE = "seatkeeper_flash"
LIFETIME_SECONDS = 60
# A browser drops a cookie over 4 KB (name and attributes included), and the page would
# then say nothing: what was typed is cut to more than any field may hold (the rest was
# refused anyway), and left out if the cookie would still be too long.
MAX_TYPED = 300
MAX_COOKIE_VALUE = 3500


class Flash(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a page says about the form it was sent back from."""

    notice: str = ""  # what was done
    error: str = ""  # why it was refused, for the whole form
    errors: dict[str, str] = msgspec.field(default_factory=dict)  # each wrong field's problem
    form: dict[str, str] = msgspec.field(default_factory=dict)  # what was typed, to correct


def _signature(secret: str, path: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), path.encode() + b"\n" + payload, hashlib.sha256).hexdigest()


def see_other(request: AnyRequest, to: str, flash: Flash | None = None) -> Redirect:
    """A 303 to `to` (an address on this site), carrying `flash` to that page."""
    answer = Redirect(to, status_code=HTTP_303_SEE_OTHER)
    secret = csrf_secret(request)
    if flash is None or secret is None:
        return answer
    path = urlsplit(to).path
    payload, value = _sealed(_cut(flash))
    if len(value) > MAX_COOKIE_VALUE:
        payload, value = _sealed(_cut(msgspec.structs.replace(flash, form={}), MAX_TYPED // 3))
    answer.set_cookie(
        FLASH_COOKIE,
        f"{value}.{_signature(secret, path, payload)}",
        path=path,
        max_age=LIFETIME_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return answer


def _cut(flash: Flash, most: int = MAX_TYPED) -> Flash:
    return Flash(
        notice=flash.notice[:most],
        error=flash.error[:most],
        errors={field: text[:most] for field, text in flash.errors.items()},
        form={field: text[:most] for field, text in flash.form.items()},
    )


def _sealed(flash: Flash) -> tuple[bytes, str]:
    """The flash as JSON, and as the cookie carries it."""
    payload = msgspec.json.encode(flash)
    return payload, base64.urlsafe_b64encode(payload).decode().rstrip("=")


def received(request: AnyRequest) -> Flash:
    """What the form sent back to this page says; nothing if there is none, or if it is not
    genuinely this browser's for this page."""
    sealed = request.cookies.get(FLASH_COOKIE, "")
    value, _, signature = sealed.partition(".")
    secret = csrf_secret(request)
    if not signature or secret is None:
        return Flash()
    try:
        payload = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return Flash()
    expected = _signature(secret, request.url.path, payload)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return Flash()
    try:
        return msgspec.json.decode(payload, type=Flash)
    except msgspec.DecodeError:
        return Flash()


def shown(request: AnyRequest, page: Template) -> Template:
    """The page, which drops the flash it showed (reloading it shows it no more)."""
    if FLASH_COOKIE in request.cookies:
        page.delete_cookie(FLASH_COOKIE, path=request.url.path)
    return page
