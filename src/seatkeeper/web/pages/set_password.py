"""The page a one-time link opens: the user chooses their password. The link works once;
its form, like every form, carries the browser's CSRF token."""

from __future__ import annotations

from urllib.parse import urlencode

import msgspec
from litestar import get, post
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from seatkeeper.domain.errors import InvalidInput
from seatkeeper.services import users
from seatkeeper.web.deps import Now, RuntimeDep
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.pages.common import page
from seatkeeper.web.pages.flash import Flash, received, see_other

PAGE = "/set-password/{token:str}"
# The address holds the token: no other site may be told it.
NO_REFERRER = [ResponseHeader(name="Referrer-Policy", value="no-referrer")]
DONE = "Your password is set: log in with it."


class PasswordForm(msgspec.Struct):
    password: str = ""
    confirm: str = ""


@get(PAGE, sync_to_thread=True, include_in_schema=False, response_headers=NO_REFERRER)
def set_password_page(
    request: AnyRequest, runtime: RuntimeDep, now: Now, token: FromPath[str]
) -> Template:
    account, user = users.link_holder(runtime.db, token, now=now)
    context = {"account": account.slug, "username": user.username, "error": received(request).error}
    return page(request, "set_password.html", context)


@post(PAGE, sync_to_thread=True, include_in_schema=False, response_headers=NO_REFERRER)
def set_password(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    token: FromPath[str],
    data: URLEncodedBody[PasswordForm],
) -> Redirect:
    """Set the password, and on to the login page; a refused one goes back to the form."""
    account, user = users.link_holder(runtime.db, token, now=now)
    try:
        if data.password != data.confirm:
            raise InvalidInput("The two passwords are not the same.")
        users.set_password_by_link(runtime.db, runtime.passwords, token, data.password, now=now)
    except InvalidInput as exc:
        return see_other(request, request.url.path, Flash(error=exc.message))
    login = "/login?" + urlencode({"account": account.slug, "username": user.username})
    return see_other(request, login, Flash(notice=DONE))
