"""Following a place in line for a license: where it is now, and the session once seated.

A follow may wait (a long poll, up to 30 s): it answers as soon as the place moves up or
is seated, on any instance, and otherwise when its time is up. Each follow keeps the place
in line for the ticket's timeout; one not followed that long leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from functools import partial
from typing import Annotated, Any

import anyio
from litestar import Router, delete, get
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
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
MOVE_GAP = 1.0  # seconds: a place that moved up is told at most this often


def _only_timeout(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A follow takes one query parameter, once: anything else is a mistake to say."""
    names = [name for name, _ in connection.query_params.multi_items()]
    wrong = sorted({n for n in names if n != "timeout"}) or (["timeout"] if len(names) > 1 else [])
    if wrong:
        raise e.InvalidInput(
            f"A follow takes one query parameter, timeout, once: not {wrong[0][:40]!r}."
        )


@get(
    "/waits/{wait_id:int}",
    summary="Follow a place in line for a license",
    description="Authorized by the place's ticket (the `ticket` of the 202 that made it). "
    "Answers where the place is (200), or, once a license freed for it, the session (201, "
    "as an open answers it: its token is shown this once). With `timeout`, waits up to that "
    "many seconds for the place to move up or be seated before answering. A place whose "
    "ticket is not followed within its timeout (60 s by default, counted from the end of "
    "the follow's own wait) leaves the line.",
    security=TICKET,
    guards=[_only_timeout],
    responses={
        HTTP_200_OK: ResponseSpec(PlaceInLine, description="Still waiting: its place now"),
        HTTP_201_CREATED: ResponseSpec(SessionOpened, description="Seated: the session"),
        **responses(
            e.InvalidInput,
            e.MissingCredentials,
            e.InvalidToken,
            e.WaitNotFound,
            e.WaitLeft,
            e.WaitTimedOut,
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
    answer = await _follow(runtime, ticket, wait_id, timeout)
    if isinstance(answer, line.Place) and timeout > 0:
        answer = await _until_moved(runtime, hub, ticket, answer, time.monotonic() + timeout)
    if isinstance(answer, Opened):
        return opened(answer)
    body = PlaceInLine.of(answer.wait, answer.ahead, answer.estimate)
    return RawAnswer(HTTP_200_OK, encode_json(body))


async def _follow(
    runtime: Runtime, ticket: str, wait_id: int, polling: float = 0
) -> line.Place | Opened:
    follow = partial(
        line.follow,
        runtime.db,
        runtime.clock,
        ticket,
        wait_id,
        keep=runtime.ticket_timeout,
        polling=timedelta(seconds=polling),  # the place is followed while the poll lasts
        pace=runtime.departures,
    )
    return await anyio.to_thread.run_sync(follow)


async def _until_moved(
    runtime: Runtime, hub: Hub, ticket: str, place: line.Place, deadline: float
) -> line.Place | Opened:
    """The place once it has been seated or ended (followed again then), or moved up (told
    at most once a MOVE_GAP: under churn every change would send every waiter back), or as
    it is at `deadline`. Every change to the account, on any instance, is a look; the looks
    of every place followed on this instance go to the database together."""
    began = time.monotonic()
    with hub.watch(place.wait.account_id) as nudges:
        while True:  # a look first: it may have moved before the watch began
            ended, ahead, departures = await runtime.line_states(place.wait.id)
            if ended is not None:
                return await _follow(runtime, ticket, place.wait.id)
            now = time.monotonic()
            if ahead != place.ahead and (now - began >= MOVE_GAP or now >= deadline):
                return line.moved(place, ahead, departures)
            if now >= deadline:
                return place
            until = deadline if ahead == place.ahead else min(deadline, began + MOVE_GAP)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(nudges.get(), until - now)


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
