"""What handlers are given: the runtime, one `now` per request, and who is calling."""

from __future__ import annotations

import hmac
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.handlers import BaseRouteHandler

from seatkeeper.clock import Clock
from seatkeeper.domain.errors import CsrfRefused, InvalidInput, InvalidToken, MissingCredentials
from seatkeeper.domain.model import User
from seatkeeper.services import access, logins
from seatkeeper.services.heartbeats import Beat, Heartbeats
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from seatkeeper.web.coalesce import Coalesced
from seatkeeper.web.errors import AnyRequest

LOGIN_COOKIE = "seatkeeper_login"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Runtime:
    """Everything the app was built with; `create_app` puts it in the app's state."""

    db: Database
    clock: Clock
    passwords: Passwords
    login_lifetime: timedelta
    heartbeats: Heartbeats
    quick_beats: Coalesced[tuple[str, str], Beat | None] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "quick_beats", Coalesced(self.heartbeats.quick_beats))


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


def bearer_token(request: AnyRequest) -> str | None:
    """The bearer token of the Authorization header, if there is one."""
    return bearer_of(request.headers.get("authorization", ""))


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
    """The client's address, for throttling logins."""
    return request.client.host if request.client else None


def login_token(request: AnyRequest) -> str | None:
    """The page login's token, from its cookie."""
    return request.cookies.get(LOGIN_COOKIE) or None


def require_csrf(request: AnyRequest, token: str, sent: str | None) -> None:
    """Refuse a state-changing request authorized by the login cookie without its CSRF token."""
    if request.method in SAFE_METHODS:
        return
    if sent is None or not hmac.compare_digest(sent, logins.csrf_token(token)):
        raise CsrfRefused


def provide_admin(request: AnyRequest, runtime: RuntimeDep) -> User:
    """Who calls the admin API: an API token's user, or a page login's (with its CSRF token).

    Role and account are checked per call.
    """
    bearer = bearer_token(request)
    if bearer is not None:
        return access.authenticate_token(runtime.db, bearer)
    token = login_token(request)
    if token is None:
        raise MissingCredentials
    user = logins.logged_in_user(runtime.db, token, now=runtime.clock.now())
    if user is None:
        raise InvalidToken("Your login has ended: log in again.")
    require_csrf(request, token, request.headers.get(CSRF_HEADER))
    return user


def single_valued_query(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Refuses a query parameter given twice (`?order=asc&order=desc`): which was meant?"""
    counts = Counter(name for name, _ in connection.query_params.multi_items())
    repeated = sorted(name for name, n in counts.items() if n > 1)
    if repeated:
        raise InvalidInput(f"The query parameter {repeated[0]!r} is given more than once.")


DEPENDENCIES = {
    "runtime": Provide(provide_runtime, sync_to_thread=False),
    "now": Provide(provide_now, sync_to_thread=False),
    "bearer": Provide(provide_bearer, sync_to_thread=False),
    "source": Provide(provide_source, sync_to_thread=False),
}
ADMIN_DEPENDENCIES = {"admin_user": Provide(provide_admin, sync_to_thread=True)}
ADMIN_GUARDS = [single_valued_query]
