"""What handlers are given: the runtime, one `now` per request, and who is calling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from seatkeeper.clock import Clock
from seatkeeper.domain.errors import MissingCredentials
from seatkeeper.domain.model import User
from seatkeeper.services import admin
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database


@dataclass(frozen=True, slots=True)
class Runtime:
    """Everything the app was built with; `create_app` puts it in the app's state."""

    db: Database
    clock: Clock
    passwords: Passwords


RuntimeDep = NamedDependency[Runtime]
Now = NamedDependency[datetime]
Bearer = NamedDependency[str]
AdminUser = NamedDependency[User]


def provide_runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


def provide_now(runtime: RuntimeDep) -> datetime:
    """The single instant a request computes with."""
    return runtime.clock.now()


def provide_bearer(request: Request) -> str:  # type: ignore[type-arg]
    """The bearer token of the Authorization header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise MissingCredentials
    return token.strip()


def provide_admin(runtime: RuntimeDep, bearer: Bearer) -> User:
    """The user behind an admin API token. Role and account are checked per call."""
    return admin.authenticate_token(runtime.db, bearer)


DEPENDENCIES = {
    "runtime": Provide(provide_runtime, sync_to_thread=False),
    "now": Provide(provide_now, sync_to_thread=False),
    "bearer": Provide(provide_bearer, sync_to_thread=False),
}
ADMIN_DEPENDENCIES = {"admin_user": Provide(provide_admin, sync_to_thread=True)}
