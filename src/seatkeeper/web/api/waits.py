"""Following a place in line for a license: where it is now, and the session once seated.

A follow may wait (a long poll, up to 30 s): it answers as soon as the place is seated (or
ended), on any instance, once it has waited 2 s when the place has moved up, and otherwise
when its time is up. Each follow keeps the place in line for the ticket's timeout (one
within its first quarter, for what was left of it: a read); one not followed that long
leaves. The long polls a change wakes on an instance look at their
places together (one read), not each on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated

import anyio
from litestar import Router, delete, get
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import SecurityRequirement
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import ASGIApp

from seatkeeper.domain import errors as e
from seatkeeper.services import line
from seatkeeper.services.seats import Opened
from seatkeeper.web.api.agent import (
    PlaceInLine,
    RawAnswer,
    SessionOpened,
    encode_json,
    opened,
    raw_bearer,
)
from seatkeeper.web.deps import Runtime
from seatkeeper.web.errors import AnyRequest, responses
from seatkeeper.web.live import Hub

TICKET: list[SecurityRequirement] = [{"WaitTicket": []}]
LONGEST_POLL = 30  # seconds a follow may wait for its place to move
# A follow that waits tells of a move up no sooner than this: every follow told is followed
# again at once, and a license freed moves everyone in line up (200 waiting, a license freed
# every 35 ms: 200 follows each time, every one a write). Seated or ended: told at once.
MOVED_SECONDS = 2.0


@get(
    "/waits/{wait_id:int}",
    summary="Follow a place in line for a license",
    description="Authorized by the place's ticket (the `ticket` of the 202 that made it). "
    "Answers where the place is (200), or, once a license freed for it, the session (201, "
    "as an open answers it: its token is shown this once). With `timeout`, waits up to that "
    "many seconds for the place to be seated (answered at once) or to move up (answered "
    "once the follow has waited 2 s) before answering. A place whose ticket is not followed "
    "within its timeout (60 s by default; at least 45 s after any follow) leaves the line; "
    "the answer's `expires_at` says until when it is kept.",
    security=TICKET,
    responses={
        HTTP_200_OK: ResponseSpec(PlaceInLine, description="Still waiting: its place now"),
        HTTP_201_CREATED: ResponseSpec(SessionOpened, description="Seated: the session"),
        **responses(
            e.MissingCredentials, e.InvalidToken, e.WaitNotFound, e.WaitLeft, e.WaitTimedOut
        ),
    },
)
async def follow_wait(
    request: AnyRequest,
    wait_id: FromPath[int],
    timeout: Annotated[
        float, Parameter(ge=0, le=LONGEST_POLL, description="Seconds to wait for a change")
    ] = 0,
) -> ASGIApp:
    runtime: Runtime = request.app.state.runtime
    hub: Hub = request.app.state.hub
    ticket = raw_bearer(request.scope["headers"])
    answer = await _follow(runtime, ticket, wait_id)
    if isinstance(answer, line.Place) and timeout > 0:
        answer = await _until_moved(runtime, hub, ticket, answer, time.monotonic() + timeout)
    if isinstance(answer, Opened):
        return opened(answer)
    body = PlaceInLine.of(answer.wait, answer.ahead, answer.estimate)
    return RawAnswer(HTTP_200_OK, encode_json(body))


async def _follow(runtime: Runtime, ticket: str, wait_id: int) -> line.Place | Opened:
    return await anyio.to_thread.run_sync(
        line.follow, runtime.db, runtime.clock, ticket, wait_id, runtime.ticket_timeout
    )


async def _until_moved(
    runtime: Runtime, hub: Hub, ticket: str, place: line.Place, deadline: float
) -> line.Place | Opened:
    """The place once it has been seated or ended (followed again then), or once it has
    moved up and the follow has waited MOVED_SECONDS, or as it is at `deadline`. Every
    change to the account, on any instance, is a look."""
    told_from = time.monotonic() + MOVED_SECONDS
    with hub.watch(place.wait.account_id) as nudges:
        while True:  # a look first: it may have moved before the watch began
            ended, ahead = await runtime.peeks(place.wait.id)  # with the others woken
            now = time.monotonic()
            moved = ahead != place.ahead
            if ended is not None or (moved and now >= told_from):
                return await _follow(runtime, ticket, place.wait.id)
            if now >= deadline:
                return await _follow(runtime, ticket, place.wait.id) if moved else place
            wake = min(deadline, told_from) if moved else deadline
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(nudges.get(), wake - now)


@delete(
    "/waits/{wait_id:int}",
    summary="Leave the line",
    description="Authorized by the place's ticket. A place seated meanwhile gives its "
    "license back.",
    security=TICKET,
    responses=responses(
        e.MissingCredentials, e.InvalidToken, e.WaitNotFound, e.WaitLeft, e.WaitTimedOut
    ),
    status_code=HTTP_204_NO_CONTENT,
)
async def leave_line(request: AnyRequest, wait_id: FromPath[int]) -> None:
    runtime: Runtime = request.app.state.runtime
    ticket = raw_bearer(request.scope["headers"])
    await anyio.to_thread.run_sync(line.leave, runtime.db, runtime.clock, ticket, wait_id)


waits_router = Router(
    path="/api/v1", route_handlers=[follow_wait, leave_line], tags=["Agent Application"]
)
