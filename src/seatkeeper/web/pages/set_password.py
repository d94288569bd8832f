"""The page a one-time link opens: the user chooses their password. The link's token is
the only secret it needs (a cross-site form cannot know it), and it works once."""

from __future__ import annotations

import msgspec
from litestar import get, post
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from seatkeeper.domain.errors import InvalidInput
from seatkeeper.services import users
from seatkeeper.web.deps import Now, RuntimeDep

PAGE = "/set-password/{token:str}"
# The address holds the token: no other site may be told it.
NO_REFERRER = [ResponseHeader(name="Referrer-Policy", value="no-referrer")]


class PasswordForm(msgspec.Struct):
    password: str = ""
    confirm: str = ""


def _page(
    account: str, username: str, *, error: str | None = None, done: bool = False, status: int = 200
) -> Template:
    context = {"account": account, "username": username, "error": error, "done": done}
    return Template(template_name="set_password.html", context=context, status_code=status)


@get(PAGE, sync_to_thread=True, include_in_schema=False, response_headers=NO_REFERRER)
def set_password_page(runtime: RuntimeDep, now: Now, token: FromPath[str]) -> Template:
    account, user = users.link_holder(runtime.db, token, now=now)
    return _page(account.slug, user.username)


@post(PAGE, sync_to_thread=True, include_in_schema=False, response_headers=NO_REFERRER)
def set_password(
    runtime: RuntimeDep, now: Now, token: FromPath[str], data: URLEncodedBody[PasswordForm]
) -> Template:
    account, user = users.link_holder(runtime.db, token, now=now)
    try:
        if data.password != data.confirm:
            raise InvalidInput("The two passwords are not the same.")
        users.set_password_by_link(runtime.db, runtime.passwords, token, data.password, now=now)
    except InvalidInput as exc:
        return _page(account.slug, user.username, error=exc.message, status=400)
    return _page(account.slug, user.username, done=True)
