"""Agent side of the HTTP API: what an Agent Application calls."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated
from uuid import UUID

import anyio
import msgspec
from litestar import Router, delete, get, post
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import SecurityRequirement
from litestar.params import FromPath, JSONBody
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_202_ACCEPTED,
    HTTP_204_NO_CONTENT,
)
from litestar.types import ASGIApp, Receive, Scope, Send

from seatkeeper.domain import errors as e
from seatkeeper.domain.errors import InvalidInput
from seatkeeper.domain.model import Wait
from seatkeeper.services import agents, flows, seats, sso
from seatkeeper.services.secrets import token_hash
from seatkeeper.web.api.schemas import PRINTABLE, FlowBody, Flows, Name
from seatkeeper.web.clients import client_address
from seatkeeper.web.deps import Bearer, Runtime, RuntimeDep, bearer_of
from seatkeeper.web.errors import AnyRequest, ErrorBody, ErrorDetail, responses, status_of

ENDED = (e.SessionTerminated, e.SessionExpired, e.SessionUserDisabled, e.SessionLoggedOut)
TOKEN = (e.MissingCredentials, e.InvalidToken, e.SessionNotFound)
SESSION_TOKEN: list[SecurityRequirement] = [{"SessionToken": []}]


class OpenSessionRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Credentials to open (or join) an agent's session: a username and password, or an ID
    token from the account's single sign-on provider; none for a Guest session."""

    username: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=PRINTABLE)] | None
    ) = None
    password: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=1024, pattern=r"^[^\x00]*$")] | None
    ) = None

    id_token: (
        Annotated[
            str,
            msgspec.Meta(
                min_length=1,
                max_length=16_384,
                pattern=r"^[A-Za-z0-9_.=-]*$",
                description="An ID token the account's OpenID Provider issued to the Agent "
                "Application (or to a client id the account accepts) when the agent signed in",
            ),
        ]
        | None
    ) = None
    wait: Annotated[
        bool,
        msgspec.Meta(
            description="With every license held: wait in line for one (202, a ticket to "
            "follow) instead of being refused"
        ),
    ] = False

    def credentials(self) -> tuple[str, str] | None:
        """(username, password), or None for a Guest or an ID token."""
        if self.id_token is not None and self.username is not None:
            raise InvalidInput("Give a username and password, or an ID token, not both.")
        if (self.username is None) != (self.password is None):
            raise InvalidInput(
                "Give both username and password to log in, or neither for a Guest session."
            )
        return None if self.username is None else (self.username, self.password or "")


class SessionOpened(msgspec.Struct):
    session_id: UUID
    token: str  # carries every later call for this session; shown only here
    agent_id: str | None  # the username, null for a Guest
    started_at: datetime
    expires_at: datetime


def opened(answer: seats.Answer) -> ASGIApp:
    """The answer to an open: 201 for a new session, 200 for a joined one, 409 when no license
    is free for it, or its group holds its maximum (answered here: at a shift start refusals
    are many, and raising one through the exception handlers costs more than the claim); any
    other refusal raised."""
    if isinstance(answer, seats.Waiting):
        return waiting(answer)
    if isinstance(answer, seats.Refused):
        refusal = answer.error()
        body = encode_json(ErrorBody(ErrorDetail(refusal.code, refusal.message)))
        return RawAnswer(status_of(type(refusal)), body)
    result = agents.settled(answer)
    s = result.session
    body = encode_json(
        SessionOpened(s.id, result.token, result.agent_id, s.started_at, s.expires_at)
    )
    return RawAnswer(HTTP_200_OK if result.joined else HTTP_201_CREATED, body)


class PlaceInLine(msgspec.Struct):
    """A place in the account's line for a license, as its ticket follows it."""

    wait_id: int
    position: int  # 1: the next license to free is this place's
    ahead: int  # how many wait before it
    estimate_seconds: int | None  # at the pace sessions ended lately; null: none lately
    asked_at: datetime
    expires_at: datetime  # follow the ticket before this, or the place is lost

    @classmethod
    def of(cls, wait: Wait, ahead: int, estimate: timedelta | None) -> PlaceInLine:
        seconds = None if estimate is None else math.ceil(estimate.total_seconds())
        return cls(wait.id, ahead + 1, ahead, seconds, wait.asked_at, wait.expires_at)


class Ticket(PlaceInLine):
    """A new place in line, and the ticket that follows it (shown only here)."""

    ticket: str = ""


def waiting(answer: seats.Waiting) -> ASGIApp:
    """The answer to an open that waits in line: 202, its ticket and where to follow it."""
    place = PlaceInLine.of(answer.wait, answer.ahead, answer.estimate)
    body = encode_json(Ticket(**msgspec.structs.asdict(place), ticket=answer.ticket))
    follow = f"/api/v1/waits/{answer.wait.id}".encode()
    return RawAnswer(HTTP_202_ACCEPTED, body, [(b"location", follow)])


class Heartbeat(msgspec.Struct):
    session_id: UUID
    expires_at: datetime


class OpenInteractionRequest(msgspec.Struct, forbid_unknown_fields=True):
    flow: Name


class InteractionOpened(msgspec.Struct):
    interaction_id: UUID
    flow: str
    opened_at: datetime


class StepRequest(msgspec.Struct, forbid_unknown_fields=True):
    step: Name


class Stepped(msgspec.Struct):
    interaction_id: UUID
    flow: str
    step: str


class OpenInteraction(msgspec.Struct):
    interaction_id: UUID
    flow: str
    step: str | None  # the step last navigated to, null before the first
    opened_at: datetime


class SessionState(msgspec.Struct):
    session_id: UUID
    agent_id: str | None
    started_at: datetime
    expires_at: datetime
    interactions: list[OpenInteraction]  # open ones, from every browser of the session


@post(
    "/sessions",
    summary="Open a session, or join the agent's open one",
    description="Authorized by the account's application key. A new session takes a "
    "license (201), or, with every license held, one of the account's overdraft (if it has "
    "one; the session is then marked as overdraft); an agent who already has a session joins "
    "it and takes none (200). Where the account has seat groups, a member takes one of their "
    "group's reserved licenses first, then an unreserved one; `license_limit_reached` (409) "
    "says which are all in use, and `group_limit_reached` (409) that one of the agent's "
    "groups (or the Guests) already holds its maximum. Both are refusals to try again later; "
    'with `"wait": true` the open waits in line instead (202): follow its ticket at '
    "`/api/v1/waits/{wait_id}` until it answers the session (201), first asked first "
    "seated, on every instance.",
    security=[{"ApplicationKey": []}],
    responses={
        HTTP_201_CREATED: ResponseSpec(
            data_container=SessionOpened, description="Opened a session, taking a license"
        ),
        HTTP_200_OK: ResponseSpec(
            data_container=SessionOpened, description="Joined the agent's open session"
        ),
        HTTP_202_ACCEPTED: ResponseSpec(
            data_container=Ticket, description="Waiting in line: a ticket to follow"
        ),
        **responses(
            e.MissingCredentials,
            e.InvalidToken,
            e.InvalidCredentials,
            e.SignInRefused,
            e.GuestsNotAllowed,
            e.PasswordsOff,
            e.LicenseLimitReached,
            e.GroupLimitReached,
            e.TooManyAttempts,
            e.LoginsBusy,
            e.TooManyOpens,
            e.NoProvider,
            e.ProviderUnavailable,
        ),
    },
    status_code=HTTP_201_CREATED,
)
async def open_session(
    request: AnyRequest, data: JSONBody[OpenSessionRequest | None] = None
) -> ASGIApp:
    # A shift start sends thousands at once: like the heartbeat, this call takes what it
    # needs from the request itself (resolving several dependencies costs a task group).
    runtime: Runtime = request.app.state.runtime
    door = seats.Claim(key_hash=token_hash(raw_bearer(request.scope["headers"])))
    body = data or OpenSessionRequest()
    return opened(await seat(request, runtime, door, body, client_address(request)))


async def seat(
    request: AnyRequest,
    runtime: Runtime,
    door: seats.Claim,
    body: OpenSessionRequest,
    source: str | None,
) -> seats.Answer:
    """What an open is answered: the session, or a full pool (other refusals are raised).
    An agent's password or ID token is checked in a worker thread (it blocks); the claim
    is then decided with the opens and logouts arriving meanwhile, in one transaction
    (services.seats)."""
    credentials = body.credentials()
    identify = by_id_token(runtime, body.id_token)
    if body.wait:
        door = replace(door, wait=runtime.ticket_timeout)
    claim = partial(
        agents.seat_claim,
        runtime.db,
        runtime.passwords,
        door,
        credentials,
        clock=runtime.clock,
        source=source,
        asking=asking(request, runtime),
        identify=identify,
    )
    guest = credentials is None and identify is None
    return await runtime.seats(claim() if guest else await anyio.to_thread.run_sync(claim))


def asking(request: AnyRequest, runtime: Runtime) -> agents.Asking:
    """The pace of the caller's address, and their browser (hashed if a refusal keeps it)."""
    return agents.Asking(runtime.opens, request.headers.get("user-agent"))


def by_id_token(runtime: Runtime, id_token: str | None) -> agents.Identify | None:
    """The agent an ID token names, once the account is known (None: no token given)."""
    if id_token is None:
        return None
    return lambda account: sso.user_for_id_token(
        runtime.db, runtime.sso, account, id_token, now=runtime.clock.now()
    )


@post(
    "/sessions/{session_id:str}/heartbeat",
    summary="Record activity",
    security=SESSION_TOKEN,
    responses={
        HTTP_200_OK: ResponseSpec(Heartbeat, description="The session's new expiry"),
        **responses(*TOKEN, *ENDED),
    },
    status_code=HTTP_200_OK,
)
async def heartbeat(request: AnyRequest, session_id: FromPath[str]) -> ASGIApp:
    # The hottest call of all, kept to what it needs: no injected dependencies, the
    # token read from the raw headers, and an answer sent as is (resolving
    # dependencies, parsing every header and building a Response each cost about as
    # much as the heartbeat itself; python -m bench --only agent_api shows the rate).
    # The common case is answered by one read for all heartbeats arriving meanwhile.
    runtime: Runtime = request.app.state.runtime
    bearer = raw_bearer(request.scope["headers"])
    beat = await runtime.quick_beats((bearer, session_id))
    if beat is None:
        beat = await anyio.to_thread.run_sync(runtime.heartbeats.full_beat, bearer, session_id)
    return RawAnswer(HTTP_200_OK, encode_json(Heartbeat(beat.session_id, beat.expires_at)))


def raw_bearer(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The bearer token from raw ASGI headers (as `provide_bearer` reads it)."""
    authorization = next((value for name, value in headers if name == b"authorization"), b"")
    token = bearer_of(authorization.decode("latin-1"))
    if token is None:
        raise e.MissingCredentials
    return token


encode_json = msgspec.json.Encoder().encode


class RawAnswer:
    """An answer with its JSON body already encoded, sent straight to the server: the agent
    API's busiest calls skip building a Response (the security headers are still added,
    as to every answer)."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
            *self.headers,
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


@post(
    "/sessions/{session_id:str}/interactions",
    summary="Open a Flow as an Interaction",
    security=SESSION_TOKEN,
    responses=responses(*TOKEN, e.UnknownFlow, e.TooManyInteractions, *ENDED),
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
)
def open_interaction(
    runtime: RuntimeDep,
    bearer: Bearer,
    session_id: FromPath[str],
    data: JSONBody[OpenInteractionRequest],
) -> InteractionOpened:
    interaction = agents.open_interaction(
        runtime.db, token=bearer, session_id=session_id, flow=data.flow.strip(), clock=runtime.clock
    )
    return InteractionOpened(interaction.id, interaction.flow, interaction.opened_at)


@post(
    "/sessions/{session_id:str}/interactions/{interaction_id:str}/steps",
    summary="Navigate within an Interaction",
    security=SESSION_TOKEN,
    responses=responses(*TOKEN, e.UnknownStep, e.InteractionNotFound, e.InteractionClosed, *ENDED),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def step_interaction(
    runtime: RuntimeDep,
    bearer: Bearer,
    session_id: FromPath[str],
    interaction_id: FromPath[str],
    data: JSONBody[StepRequest],
) -> Stepped:
    interaction = agents.step_interaction(
        runtime.db,
        token=bearer,
        session_id=session_id,
        interaction_id=interaction_id,
        step=data.step.strip(),
        clock=runtime.clock,
    )
    return Stepped(interaction.id, interaction.flow, data.step.strip())


@delete(
    "/sessions/{session_id:str}/interactions/{interaction_id:str}",
    summary="Close an Interaction",
    security=SESSION_TOKEN,
    responses=responses(*TOKEN, e.InteractionNotFound, e.InteractionClosed, *ENDED),
    status_code=HTTP_204_NO_CONTENT,
    sync_to_thread=True,
)
def close_interaction(
    runtime: RuntimeDep,
    bearer: Bearer,
    session_id: FromPath[str],
    interaction_id: FromPath[str],
) -> None:
    agents.close_interaction(
        runtime.db,
        token=bearer,
        session_id=session_id,
        interaction_id=interaction_id,
        clock=runtime.clock,
    )


@delete(
    "/sessions/{session_id:str}",
    summary="Log out: end the session and free its license",
    security=SESSION_TOKEN,
    responses=responses(*TOKEN, *ENDED),
    status_code=HTTP_204_NO_CONTENT,
)
async def logout(request: AnyRequest, session_id: FromPath[str]) -> None:
    runtime: Runtime = request.app.state.runtime  # no dependencies, as for an open
    await runtime.seats(seats.Release(raw_bearer(request.scope["headers"]), session_id))


@get(
    "/sessions/{session_id:str}",
    summary="The session as it stands, with its open Interactions",
    description="A browser that joined a session sees the Interactions opened in the others.",
    security=SESSION_TOKEN,
    responses=responses(*TOKEN, *ENDED),
    sync_to_thread=True,
)
def session_state(runtime: RuntimeDep, bearer: Bearer, session_id: FromPath[str]) -> SessionState:
    details = agents.session_details(
        runtime.db, token=bearer, session_id=session_id, clock=runtime.clock
    )
    s = details.session
    return SessionState(
        s.id,
        details.agent_id,
        s.started_at,
        s.expires_at,
        [OpenInteraction(i.id, i.flow, i.step, i.opened_at) for i in details.interactions],
    )


@get(
    "/flows",
    summary="The account's Flows, for the Agent Application to offer",
    security=[{"ApplicationKey": []}],
    responses=responses(e.MissingCredentials, e.InvalidToken),
    sync_to_thread=True,
)
def account_flows(runtime: RuntimeDep, bearer: Bearer) -> Flows:
    account = agents.application_account(runtime.db, bearer, clock=runtime.clock)
    return Flows([FlowBody.of(f) for f in flows.flows_of(runtime.db, account)])


agent_router = Router(
    path="/api/v1",
    route_handlers=[
        open_session,
        heartbeat,
        open_interaction,
        step_interaction,
        close_interaction,
        logout,
        session_state,
        account_flows,
    ],
    tags=["Agent Application"],
)
