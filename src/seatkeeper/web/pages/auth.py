"""Logging in and out of the pages."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import msgspec
from litestar import Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from seatkeeper.domain import validation
from seatkeeper.domain.errors import (
    AccountNotFound,
    InvalidCredentials,
    LoginsBusy,
    PasswordsOff,
    TooManyAttempts,
)
from seatkeeper.domain.model import Role
from seatkeeper.domain.sso import ProviderSettings
from seatkeeper.services import accounts, logins, sso
from seatkeeper.web.deps import (
    LOGIN_COOKIE,
    WITHOUT_LOGIN,
    MaybeVisitor,
    Now,
    Runtime,
    RuntimeDep,
    Source,
    login_token,
)
from seatkeeper.web.errors import AnyRequest, retry_after, status_of
from seatkeeper.web.pages.common import message_page, page, role_work
from seatkeeper.web.pages.flash import MAX_TYPED, Flash, received, see_other
from seatkeeper.web.pages.views import nav

REFUSED_LOGIN = "The account, username or password is not correct."


class LoginForm(msgspec.Struct):
    account: str = ""
    username: str = ""
    password: str = ""
    next: str = ""


def safe_next(target: str) -> str:
    """Where to go after logging in: only a path on this site.

    Browsers drop tabs and newlines from addresses and read a backslash as a slash, so
    "/\t/evil.example" or "/\\evil.example" would leave the site: such targets go home.
    """
    odd = any(c == "\\" or c.isspace() or not c.isprintable() for c in target)
    if target.startswith("/") and not target.startswith("//") and not odd:
        return target
    return "/"


def _provider(runtime: Runtime, account: str) -> ProviderSettings | None:
    """The single sign-on of the account named, if it has one (the login page offers it)."""
    if not validation.is_slug(account):
        return None
    try:
        return sso.provider_of_account(runtime.db, accounts.get_account(runtime.db, account))
    except AccountNotFound:
        return None


@get("/login", sync_to_thread=True, include_in_schema=False)
def login_page(
    request: AnyRequest,
    runtime: RuntimeDep,
    next: FromQuery[str] = "/",
    account: FromQuery[str] = "",
    username: FromQuery[str] = "",
) -> Template:
    """The login form; a refused login comes back here with its reason and what was typed
    (never the password)."""
    flash = received(request)
    account = flash.form.get("account", account)
    context = {
        "next": safe_next(next),
        "account": account,
        "provider": _provider(runtime, account),
        "username": flash.form.get("username", username),
        "error": flash.error,
        "notice": flash.notice,
        "nav": None,
    }
    return page(request, "login.html", context)


def _refused(request: AnyRequest, form: LoginForm, reason: str) -> Redirect:
    target = safe_next(form.next)
    again = "/login" + (f"?{urlencode({'next': target})}" if target != "/" else "")
    typed = {"account": form.account, "username": form.username}
    return see_other(request, again, Flash(error=reason, form=typed))


def _paused(request: AnyRequest, form: LoginForm, exc: TooManyAttempts | LoginsBusy) -> Template:
    """A throttled login (429) or one the server is too busy to try (503): the form again
    at once, saying why and for how long, with Retry-After (no redirect to follow: a
    flood gets the cheapest answer)."""
    context = {
        "next": safe_next(form.next),
        "account": form.account[:MAX_TYPED],
        "provider": None,
        "username": form.username[:MAX_TYPED],
        "error": exc.message,
        "notice": "",
        "nav": None,
    }
    answer = page(request, "login.html", context, status=status_of(type(exc)))
    answer.headers.update(retry_after(exc))
    return answer


@post("/login", sync_to_thread=True, include_in_schema=False)
def log_in(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    data: URLEncodedBody[LoginForm],
) -> Redirect | Template:
    try:
        login = logins.log_in(
            runtime.db,
            runtime.passwords,
            account_slug=data.account.strip(),
            username=data.username.strip(),
            password=data.password,
            source=source,
            now=now,
            lifetime=runtime.login_lifetime,
            user_agent=request.headers.get("user-agent"),
        )
    except InvalidCredentials:
        return _refused(request, data, REFUSED_LOGIN)
    except PasswordsOff as exc:
        return _refused(request, data, exc.message)
    except (TooManyAttempts, LoginsBusy) as exc:
        return _paused(request, data, exc)
    return logged_in(request, runtime, login, data.next)


def logged_in(
    request: AnyRequest, runtime: Runtime, login: logins.PageLogin, next: str
) -> Redirect:
    """The browser holds the login's cookie from now on, and goes where it was going (an
    admin who was going nowhere in particular: to Active Agents)."""
    target = safe_next(next)
    if target == "/" and login.user.role.at_least(Role.ACCOUNT_ADMIN):
        target = f"/accounts/{login.account.slug}/active-agents"
    response = Redirect(target, status_code=HTTP_303_SEE_OTHER)
    response.set_cookie(
        Cookie(
            key=LOGIN_COOKIE,
            value=login.token,
            max_age=int(runtime.login_lifetime / timedelta(seconds=1)),
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    )
    return response


# Without a login there is nothing to end: no token is asked for, and the visitor goes to
# the login page as before.
@post(
    "/logout",
    sync_to_thread=True,
    include_in_schema=False,
    opt={WITHOUT_LOGIN: "nothing to do"},
)
def log_out(request: AnyRequest, runtime: RuntimeDep, now: Now) -> Response[None]:
    token = login_token(request)
    if token is not None:
        logins.log_out(runtime.db, token, now=now)
    response = Redirect("/login", status_code=HTTP_303_SEE_OTHER)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@get("/", sync_to_thread=False, include_in_schema=False)
def home(maybe_visitor: MaybeVisitor) -> Response[None] | Template:
    if maybe_visitor is None:
        return Redirect("/login", status_code=HTTP_303_SEE_OTHER)
    user = maybe_visitor.user
    if user.role.at_least(Role.ACCOUNT_ADMIN):
        target = f"/accounts/{maybe_visitor.account.slug}/active-agents"
        return Redirect(target, status_code=HTTP_303_SEE_OTHER)
    work, console_url = role_work(maybe_visitor)
    return message_page(
        200,
        f"Hello, {user.username}",
        f"You are logged in: {work}. The pages here are for Account Admins.",
        testid="home",
        nav=nav(maybe_visitor),
        console_url=console_url,
    )
