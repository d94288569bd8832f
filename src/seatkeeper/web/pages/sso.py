"""Single sign-on for the pages and the agent console: off to the account's provider and
back (the authorization code flow, with PKCE, state and nonce), and the provider's
back-channel logout.

The state is tied to the browser that started the sign-in (its CSRF secret): an answer
carried to another browser is refused, so nobody can sign someone else in as themselves.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

import msgspec
from litestar import Response, Router, get, post
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from seatkeeper.domain import validation
from seatkeeper.domain.errors import (
    AccountNotFound,
    DomainError,
    InvalidCredentials,
    ProviderUnavailable,
    SignInRefused,
)
from seatkeeper.domain.model import Account
from seatkeeper.services import accounts, logins, sso
from seatkeeper.services.secrets import token_hash
from seatkeeper.web import presenters as shown
from seatkeeper.web.deps import Now, RuntimeDep, Source, base_url, csrf_secret
from seatkeeper.web.errors import AnyRequest, error_response
from seatkeeper.web.pages.auth import REFUSED_LOGIN, logged_in, safe_next
from seatkeeper.web.pages.flash import Flash, see_other

LONGEST_PARAMETER = 4096


def _redirect_uri(request: AnyRequest, account: Account) -> str:
    return shown.sso_addresses(base_url(request), account)[0]


def _bound(state: str, request: AnyRequest) -> str:
    """The state as this browser alone can present it."""
    return f"{state}.{token_hash(csrf_secret(request) or '')}"


def _refusal(request: AnyRequest, account: str, purpose: str, message: str) -> Redirect:
    """Back to where the sign-in began, saying why it did not happen."""
    if purpose == sso.CONSOLE:
        return see_other(request, f"/console/{quote(account, safe='')}", Flash(error=message))
    return see_other(request, f"/login?{urlencode({'account': account})}", Flash(error=message))


def _account(runtime: RuntimeDep, slug: str, purpose: str) -> Account:
    found = accounts.get_account(runtime.db, slug)
    if purpose == sso.CONSOLE and not found.console_enabled:
        raise AccountNotFound
    return found


@get("/sso/start", sync_to_thread=False, include_in_schema=False)
def start_any(account: FromQuery[str] = "", next: FromQuery[str] = "/") -> Redirect:
    """The login page's single sign-on form: which account, then its provider."""
    slug = account.strip().lower()
    if not validation.is_slug(slug):
        return Redirect("/login", status_code=HTTP_303_SEE_OTHER)
    query = urlencode({"next": safe_next(next)})
    return Redirect(f"/sso/{slug}/start?{query}", status_code=HTTP_303_SEE_OTHER)


@get("/sso/{account:str}/start", sync_to_thread=True, include_in_schema=False)
def start(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    account: FromPath[str],
    next: FromQuery[str] = "/",
    purpose: FromQuery[str] = sso.PAGE,
) -> Redirect:
    """Off to the account's provider to sign in (for the pages, or `purpose=console`)."""
    purpose = sso.CONSOLE if purpose == sso.CONSOLE else sso.PAGE
    found = _account(runtime, account, purpose)
    try:
        url = sso.begin_sign_in(
            runtime.db,
            runtime.sso,
            found,
            purpose=purpose,
            next_path=safe_next(next),
            redirect_uri=_redirect_uri(request, found),
            now=now,
            bind=lambda state: _bound(state, request),
        )
    except DomainError as exc:
        return _refusal(request, found.slug, purpose, exc.message)
    return Redirect(url, status_code=HTTP_303_SEE_OTHER)


@get("/sso/{account:str}/callback", sync_to_thread=True, include_in_schema=False)
def callback(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    source: Source,
    account: FromPath[str],
    returned: Annotated[str, QueryParameter(name="state")] = "",
    code: FromQuery[str] = "",
    error: FromQuery[str] = "",
) -> Redirect:
    """The provider sends the browser back here: finish the sign-in, then log in to the
    pages (a cookie) or hand the console the ID token to open its session with."""
    found = _account(runtime, account, sso.PAGE)
    too_long = max(len(returned), len(code), len(error)) > LONGEST_PARAMETER
    if error or too_long or not returned or not code:
        reason = f" ({error[:60]})" if error.isprintable() and error else ""
        message = f"The provider did not sign you in{reason}: try again."
        return _refusal(request, found.slug, sso.PAGE, message)
    try:
        signed = sso.finish_sign_in(
            runtime.db,
            runtime.sso,
            found,
            state=_bound(returned, request),
            code=code,
            redirect_uri=_redirect_uri(request, found),
            now=now,
            source=source,
        )
    except InvalidCredentials:
        return _refusal(request, found.slug, sso.PAGE, REFUSED_LOGIN)
    except DomainError as exc:
        return _refusal(request, found.slug, sso.PAGE, exc.message)
    if signed.purpose == sso.CONSOLE:
        # The console's script opens the session with the token, as an Agent Application
        # would; the fragment never reaches a server, and the script clears it at once.
        target = f"/console/{quote(found.slug, safe='')}#{urlencode({'id_token': signed.id_token})}"
        return Redirect(target, status_code=HTTP_303_SEE_OTHER)
    login = logins.start_page_login(
        runtime.db,
        found,
        signed.user,
        now=now,
        lifetime=runtime.login_lifetime,
        source=source,
        user_agent=request.headers.get("user-agent"),
        sso_session=signed.provider_session,
    )
    return logged_in(request, runtime, login, signed.next_path)


class LogoutRequest(msgspec.Struct):
    logout_token: str = ""


@post("/sso/{account:str}/back-channel-logout", sync_to_thread=True, include_in_schema=False)
def back_channel_logout(
    runtime: RuntimeDep,
    now: Now,
    account: FromPath[str],
    data: URLEncodedBody[LogoutRequest],
) -> Response[Any]:
    """OpenID Connect Back-Channel Logout: the provider posts a signed logout token; the
    user it names loses their page logins and their agent session at once. A token that is
    not valid answers 400, as the specification asks."""
    token = data.logout_token
    try:
        if not token:
            raise SignInRefused("The request carries no logout_token.")
        found = accounts.get_account(runtime.db, account)
        sso.back_channel_logout(runtime.db, runtime.sso, found, token, now=now)
    except ProviderUnavailable:
        raise
    except DomainError as exc:
        return error_response(400, "invalid_logout_token", exc.message)
    return Response(None, status_code=200, headers={"Cache-Control": "no-store"})


# Posted by the provider, not by a browser: no CSRF token, no login; the logout token's
# signature is what authorizes it.
provider_router = Router(path="/", route_handlers=[back_channel_logout], include_in_schema=False)
