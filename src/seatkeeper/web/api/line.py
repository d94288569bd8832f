"""The line for a license on the admin side of the HTTP API: who waits now, in order (the
agents' side, asking and following a place, is in web.api.waits)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Router, get
from litestar.params import FromPath

from seatkeeper.services import line
from seatkeeper.web import presenters as shown
from seatkeeper.web import waiting
from seatkeeper.web.api.admin import ADMIN_TOKEN, REFUSALS
from seatkeeper.web.deps import ADMIN_DEPENDENCIES, ADMIN_GUARDS, ApiUser, Now, RuntimeDep
from seatkeeper.web.errors import responses


class WaitingPlace(msgspec.Struct):
    position: int  # 1 for the first in line
    wait_id: int
    agent_id: str | None  # the username; null for a Guest (shown as "Guest")
    asked_at: datetime  # in the account's time zone
    waiting_seconds: int  # how long it has waited, as of as_of


class Waits(msgspec.Struct):
    account: str
    time_zone: str
    as_of: datetime
    count: int  # how many wait
    places: list[WaitingPlace]  # first asked first: the next license goes to the first


@get(
    "/waits",
    summary="Who waits in the account's line for a license now, first first",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS),
    sync_to_thread=True,
)
def waits(runtime: RuntimeDep, now: Now, admin_user: ApiUser, account: FromPath[str]) -> Waits:
    return waits_body(line.account_line(runtime.db, admin_user, account, now=now), now)


def waits_body(found: line.Line, now: datetime) -> Waits:
    """The line as the API answers it (and the command line prints it)."""
    return Waits(
        account=found.account.slug,
        time_zone=found.account.time_zone,
        as_of=shown.local(now, found.account),
        count=len(found),
        places=[
            WaitingPlace(p.position, p.wait_id, p.agent_id, p.since, p.waited_seconds)
            for p in waiting.places(found, now)
        ],
    )


line_router = Router(
    path="/api/v1/accounts/{account:str}",
    route_handlers=[waits],
    dependencies=ADMIN_DEPENDENCIES,
    guards=ADMIN_GUARDS,
    tags=["Administration"],
)
