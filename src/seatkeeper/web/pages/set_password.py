"""The page a one-time link opens: the user chooses their password. The link works once;
its form, like every form, carries the browser's CSRF token.

The link's token travels in the address's fragment (`/set-password#sk_pw_...`), which a
browser never sends: the page's script moves it into the form and out of the address bar,
and it reaches the server only in the form's body. No access log, proxy or Referer ever
holds it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.params import URLEncodedBody
from litestar.response import Template

from seatkeeper.domain.errors import InvalidInput
from seatkeeper.services import users
from seatkeeper.web.deps import Now, RuntimeDep
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.pages.common import page
from seatkeeper.web.pages.flash import Flash, see_other

PAGE = "/set-password"
NO_REFERRER = [ResponseHeader(name="Referrer-Policy", value="no-referrer")]
DONE = "Your password is set: log in with it."


class PasswordForm(msgspec.Struct):
    token: str = ""  # the link's, which the page's script took from the fragment
    password: str = ""
    confirm: str = ""


@get(PAGE, sync_to_thread=False, include_in_schema=False, response_headers=NO_REFERRER)
def set_password_page(request: AnyRequest) -> Template:
    """The form; whose link it is, the server learns only when the form is sent."""
    return page(request, "set_password.html", {"token": "", "error": None})


@post(PAGE, sync_to_thread=True, include_in_schema=False, response_headers=NO_REFERRER)
def set_password(
    request: AnyRequest, runtime: RuntimeDep, now: Now, data: URLEncodedBody[PasswordForm]
) -> Response[Any]:
    """Set the password, and on to the login page. A refused one is answered with the form
    again (400), holding the token: it may go in no address nor cookie."""
    account, user = users.link_holder(runtime.db, data.token, now=now)
    try:
        if data.password != data.confirm:
            raise InvalidInput("The two passwords are not the same.")
        users.set_password_by_link(
            runtime.db, runtime.passwords, data.token, data.password, now=now
        )
    except InvalidInput as exc:
        context = {
            "token": data.token,
            "account": account.slug,
            "username": user.username,
            "error": exc.message,
        }
        return page(request, "set_password.html", context, status=400)
    login = "/login?" + urlencode({"account": account.slug, "username": user.username})
    return see_other(request, login, Flash(notice=DONE))
