"""What handlers are given: the runtime, one `now` per request, who is calling (an API
token's user, or the pages' visitor) and the one CSRF check of every unsafe request a
browser makes with seatkeeper's cookies."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType, ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.params import FromPath
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from seatkeeper.clock import Clock
from seatkeeper.domain.errors import CsrfRefused, InvalidInput, InvalidToken, MissingCredentials
from seatkeeper.domain.model import Account, User
from seatkeeper.services import access, accounts, line, logins, seats
from seatkeeper.services.heartbeats import Beat, Heartbeats
from seatkeeper.services.line import TICKET_TIMEOUT
from seatkeeper.services.pace import OpenPace
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.sso import SingleSignOn, single_sign_on
from seatkeeper.services.webhooks import PUBLIC_HTTPS, Sending
from seatkeeper.storage.db import Database
from seatkeeper.web.clients import client_address
from seatkeeper.web.coalesce import Coalesced
from seatkeeper.web.errors import AnyRequest

Connection = ASGIConnection[Any, Any, Any, Any]

LOGIN_COOKIE = "seatkeeper_login"
CSRF_COOKIE = "seatkeeper_csrf"  # the browser's secret, which its forms' tokens are made from
CSRF_FIELD = "csrf_token"  # where a form carries the token
CSRF_HEADER = "x-csrf-token"  # where a page's script carries it
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Runtime:
    """Everything the app was built with; `create_app` puts it in the app's state."""

    db: Database
    clock: Clock
    passwords: Passwords
    login_lifetime: timedelta
    heartbeats: Heartbeats
    public_url: str | None = None  # where one-time links point; None: a path on this server
    webhook_sending: Sending = PUBLIC_HTTPS  # where webhooks may go
    ticket_timeout: timedelta = TICKET_TIMEOUT  # a place in line not followed this long leaves
    departures: line.Departures = field(default_factory=line.Departures)  # for estimates
    # Places in line looking at where they are, together (web.api.waits).
    line_states: Coalesced[int, line.Look] = field(init=False)
    quick_beats: Coalesced[tuple[str, str], Beat | None] = field(init=False)
    # Opens and logouts arriving together, decided together (services.seats).
    seats: Coalesced[seats.Request, seats.Answer] = field(init=False)
    opens: OpenPace = field(default_factory=OpenPace)  # session opens per address
    sso: SingleSignOn = field(default_factory=single_sign_on)  # accounts' OpenID Providers

    def __post_init__(self) -> None:
        object.__setattr__(self, "quick_beats", Coalesced(self.heartbeats.quick_beats))
        object.__setattr__(self, "seats", Coalesced(partial(seats.decide, self.db, self.clock)))
        states = Coalesced(partial(line.states, self.db, self.clock, self.departures))
        object.__setattr__(self, "line_states", states)


def base_url(connection: Connection) -> str:
    """Where this server is reached: its public URL, else the address the request came to."""
    public: str | None = connection.app.state.runtime.public_url
    return (public or str(connection.base_url)).rstrip("/")


RuntimeDep = NamedDependency[Runtime]
Now = NamedDependency[datetime]
Bearer = NamedDependency[str]
ApiUser = NamedDependency[User]
Source = NamedDependency[str | None]


def provide_runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


def provide_now(runtime: RuntimeDep) -> datetime:
    """The single instant a request computes with."""
    return runtime.clock.now()


def bearer_token(connection: Connection) -> str | None:
    """The bearer token of the Authorization header, if there is one."""
    return bearer_of(connection.headers.get("authorization", ""))


def bearer_of(authorization: str) -> str | None:
    """The token of an Authorization header's value, if it is a bearer token."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def provide_bearer(request: AnyRequest) -> str:
    """The bearer token a call needs."""
    token = bearer_token(request)
    if token is None:
        raise MissingCredentials
    return token


def provide_source(request: AnyRequest) -> str | None:
    """The client's address (through the proxies the operator names: `clients`), for
    throttling logins and limits per address."""
    return client_address(request)


def login_token(connection: Connection) -> str | None:
    """The page login's token, from its cookie."""
    return connection.cookies.get(LOGIN_COOKIE) or None


def provide_admin(request: AnyRequest, runtime: RuntimeDep) -> User:
    """Who calls the admin API: an API token's user, or a page login's (a page's script,
    whose unsafe calls `cookie_csrf` checks).

    Role and account are checked per call.
    """
    bearer = bearer_token(request)
    if bearer is not None:
        return access.authenticate_token(runtime.db, bearer, now=runtime.clock.now())
    token = login_token(request)
    if token is None:
        raise MissingCredentials
    user = logins.logged_in_user(runtime.db, token, now=runtime.clock.now())
    if user is None:
        raise InvalidToken("Your login has ended: log in again.")
    return user


def single_valued_query(connection: Connection, _: BaseRouteHandler) -> None:
    """Refuses a query parameter given twice (`?order=asc&order=desc`): which was meant?"""
    counts = Counter(name for name, _ in connection.query_params.multi_items())
    repeated = sorted(name for name, n in counts.items() if n > 1)
    if repeated:
        raise InvalidInput(f"The query parameter {repeated[0]!r} is given more than once.")


# --- the pages' visitor ------------------------------------------------------------------


class LoginRequired(Exception):
    """The visitor must log in first; they come back to `back_to` afterwards."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


@dataclass(frozen=True, slots=True)
class Visitor:
    """A logged-in user of the pages."""

    user: User
    account: Account  # their own


def current_visitor(connection: Connection, runtime: Runtime, now: datetime) -> Visitor | None:
    """The logged-in user behind the request's login cookie, if any."""
    token = login_token(connection)
    user = None if token is None else logins.logged_in_user(runtime.db, token, now=now)
    return None if user is None else Visitor(user, accounts.account_of(runtime.db, user))


def provide_visitor(request: AnyRequest, runtime: RuntimeDep, now: Now) -> Visitor:
    """The logged-in visitor; anyone else is sent to log in, and back to this page."""
    found = current_visitor(request, runtime, now)
    if found is None:
        raise LoginRequired(_page_of(request))
    return found


def _page_of(request: AnyRequest) -> str:
    """Where to come back to after logging in: this page, or the page a form was sent from
    (`/accounts/acme/users/bob/role` belongs to `/accounts/acme/users`, `/logins/end-others`
    to `/logins`)."""
    path = request.url.path
    if request.method not in SAFE_METHODS:
        parts = path.split("/")
        if parts[1:2] == ["logins"]:
            return "/logins"
        return "/".join(parts[:4]) if parts[1:2] == ["accounts"] else "/"
    return path + (f"?{request.url.query}" if request.url.query else "")


def provide_maybe_visitor(request: AnyRequest, runtime: RuntimeDep, now: Now) -> Visitor | None:
    """The logged-in visitor, or None for a page anyone may see."""
    return current_visitor(request, runtime, now)


def provide_managed(visitor: VisitorDep, runtime: RuntimeDep, account: FromPath[str]) -> Account:
    """The account in the page's address, which the visitor administers: a lower role is
    not allowed (403), another account is answered as if it did not exist (404)."""
    return access.account_for(runtime.db, visitor.user, account)


VisitorDep = NamedDependency[Visitor]
MaybeVisitor = NamedDependency[Visitor | None]
Managed = NamedDependency[Account]


# --- CSRF -------------------------------------------------------------------------------
#
# One scheme for every unsafe request a browser makes with seatkeeper's cookies: the
# pages' forms, the console's and the Active Agents page's scripts, the login form. Each
# browser holds a secret in a cookie (HttpOnly, SameSite=Lax); every form carries, in
# `csrf_token`, and every script sends, in X-CSRF-Token, a token made from that secret and
# the browser's login. Another site can neither read the secret nor make the token, and a
# token from before a login does not serve after it. Calls with a Bearer token are the
# API's own business: a browser sends none by itself.

_HANDED_OVER = "seatkeeper.csrf_secret"  # where a secret made during a request waits
# A route's opt: what it does for a browser with no login needs no token (logging out).
WITHOUT_LOGIN = "without_login"


def token_for(secret: str, login: str | None) -> str:
    """The CSRF token of a browser's secret and its login (if any)."""
    message = b"seatkeeper-csrf:" + (login or "").encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def csrf_secret(connection: Connection) -> str | None:
    """The browser's secret: its cookie, or the one being handed to it with this answer."""
    made: str | None = connection.scope.get("state", {}).get(_HANDED_OVER)
    return connection.cookies.get(CSRF_COOKIE) or made


def csrf_token(connection: Connection) -> str:
    """The token the page being answered puts in its forms and scripts."""
    secret = csrf_secret(connection)
    return "" if secret is None else token_for(secret, login_token(connection))


async def check_csrf(connection: Connection, handler: BaseRouteHandler) -> None:
    """The guard of every page route: an unsafe request must carry the browser's token."""
    if not isinstance(connection, Request) or connection.method in SAFE_METHODS:
        return
    secret = connection.cookies.get(CSRF_COOKIE)
    sent = await _sent_token(connection)
    expected = None if secret is None else token_for(secret, login_token(connection))
    if expected is not None and hmac.compare_digest(sent.encode(), expected.encode()):
        return
    if login_token(connection) is None:
        # The browser's login is gone (it dropped an expired cookie): nothing is done, and
        # the visitor is sent to log in, as the page itself would send them.
        if handler.opt.get(WITHOUT_LOGIN) == "nothing to do":
            return
        parameters = handler.parsed_fn_signature.parameters
        if "visitor" in parameters or "managed" in parameters:
            raise LoginRequired(_page_of(connection))
    raise CsrfRefused


async def cookie_csrf(connection: Connection, handler: BaseRouteHandler) -> None:
    """The same check, for the admin API's calls that the login cookie authorizes (a page's
    script); a call with a Bearer token, or with no login, is left to the API's rules."""
    if bearer_token(connection) is None and login_token(connection) is not None:
        await check_csrf(connection, handler)


async def _sent_token(request: AnyRequest) -> str:
    """The token a request carries: in its header, or in its form."""
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    if request.content_type[0] not in (
        RequestEncodingType.URL_ENCODED,
        RequestEncodingType.MULTI_PART,
    ):
        return ""
    value = (await request.form()).get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


class CsrfSecret(ASGIMiddleware):
    """Hands a browser that has no CSRF secret yet its own, with the page that needs it."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if CSRF_COOKIE in ASGIConnection[Any, Any, Any, Any](scope).cookies:
            await next_app(scope, receive, send)
            return
        secret = secrets.token_urlsafe(32)
        scope.setdefault("state", {})[_HANDED_OVER] = secret
        cookie = Cookie(
            key=CSRF_COOKIE,
            value=secret,
            path="/",
            httponly=True,
            samesite="lax",
            secure=scope.get("scheme") == "https",
        ).to_encoded_header()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), cookie]
            await send(message)

        await next_app(scope, receive, sending)


DEPENDENCIES = {
    "runtime": Provide(provide_runtime, sync_to_thread=False),
    "now": Provide(provide_now, sync_to_thread=False),
    "bearer": Provide(provide_bearer, sync_to_thread=False),
    "source": Provide(provide_source, sync_to_thread=False),
}
ADMIN_DEPENDENCIES = {"admin_user": Provide(provide_admin, sync_to_thread=True)}
ADMIN_GUARDS = [single_valued_query, cookie_csrf]
PAGE_DEPENDENCIES = {
    "visitor": Provide(provide_visitor, sync_to_thread=True),
    "maybe_visitor": Provide(provide_maybe_visitor, sync_to_thread=True),
    "managed": Provide(provide_managed, sync_to_thread=True),
}
PAGE_GUARDS = [check_csrf]
