"""Logging in and out of the pages."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

import msgspec
from litestar import Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from seatkeeper.domain.errors import InvalidCredentials, TooManyAttempts
from seatkeeper.domain.model import Role
from seatkeeper.services import logins
from seatkeeper.web.deps import (
    LOGIN_COOKIE,
    Now,
    RuntimeDep,
    Source,
    login_token,
    require_csrf,
)
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.pages.common import visitor

FORM_COOKIE = "seatkeeper_login_form"  # ties the login form to the browser that loaded it


class LoginForm(msgspec.Struct):
    account: str = ""
    username: str = ""
    password: str = ""
    next: str = ""
    csrf_token: str = ""


class LogoutForm(msgspec.Struct):
    csrf_token: str = ""


def safe_next(target: str) -> str:
    """Where to go after logging in: only a path on this site.

    Browsers drop tabs and newlines from addresses and read a backslash as a slash, so
    "/\t/evil.example" or "/\\evil.example" would leave the site: such targets go home.
    """
    odd = any(c == "\\" or c.isspace() or not c.isprintable() for c in target)
    if target.startswith("/") and not target.startswith("//") and not odd:
        return target
    return "/"


def _is_https(request: AnyRequest) -> bool:
    return request.url.scheme == "https"


def _login_form(
    request: AnyRequest, *, form: LoginForm, error: str | None = None, status: int = 200
) -> Template:
    csrf = secrets.token_urlsafe(32)
    page = Template(
        template_name="login.html",
        context={
            "csrf": csrf,
            "next": safe_next(form.next),
            "account": form.account,
            "username": form.username,
            "error": error,
            "nav": None,
        },
        status_code=status,
    )
    page.set_cookie(
        FORM_COOKIE,
        csrf,
        httponly=True,
        samesite="strict",
        secure=_is_https(request),
        path="/login",
        max_age=3600,
    )
    return page


@get("/login", sync_to_thread=False, include_in_schema=False)
def login_page(
    request: AnyRequest,
    next: FromQuery[str] = "/",
    account: FromQuery[str] = "",
    username: FromQuery[str] = "",
) -> Template:
    return _login_form(request, form=LoginForm(account=account, username=username, next=next))


@post("/login", sync_to_thread=True, include_in_schema=False)
def log_in(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    data: URLEncodedBody[LoginForm],
) -> Response[None] | Template:
    expected = request.cookies.get(FORM_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, data.csrf_token):
        again = "This login form has expired, or came from another site. Please try again."
        return _login_form(request, form=data, error=again, status=403)
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
        )
    except InvalidCredentials:
        error = "The account, username or password is not correct."
        return _login_form(request, form=data, error=error, status=401)
    except TooManyAttempts as exc:
        return _login_form(request, form=data, error=exc.message, status=429)
    target = safe_next(data.next)
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
            secure=_is_https(request),
        )
    )
    response.delete_cookie(FORM_COOKIE, path="/login")
    return response


@post("/logout", sync_to_thread=True, include_in_schema=False)
def log_out(
    request: AnyRequest, runtime: RuntimeDep, data: URLEncodedBody[LogoutForm]
) -> Response[None]:
    token = login_token(request)
    if token is not None:
        require_csrf(request, token, data.csrf_token)
        logins.log_out(runtime.db, token, now=runtime.clock.now())
    response = Redirect("/login", status_code=HTTP_303_SEE_OTHER)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@get("/", sync_to_thread=True, include_in_schema=False)
def home(request: AnyRequest, runtime: RuntimeDep, now: Now) -> Response[None] | Template:
    found = visitor(request, runtime, now)
    if found is None:
        return Redirect("/login", status_code=HTTP_303_SEE_OTHER)
    if found.user.role.at_least(Role.ACCOUNT_ADMIN):
        return Redirect(f"/accounts/{found.account.slug}/active-agents", status_code=303)
    return Template(
        template_name="message.html",
        context={
            "heading": f"Hello, {found.user.username}",
            "message": "You are logged in, but the pages here are for account admins. "
            "Agents work in their Agent Application.",
            "testid": "home",
            "nav": found.nav(),
        },
    )
