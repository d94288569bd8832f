"""Admin side of the HTTP API: the Active Agents grid, terminations, alerts and Flows (usage
is in web.api.usage)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import unquote_to_bytes
from uuid import UUID

import msgspec
from litestar import Router, delete, get, post
from litestar.openapi.spec import SecurityRequirement
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from seatkeeper.domain import errors as e
from seatkeeper.domain import validation
from seatkeeper.domain.model import GridView
from seatkeeper.services import admin, flows
from seatkeeper.web import presenters as shown
from seatkeeper.web.api.schemas import FlowBody, Flows
from seatkeeper.web.deps import ADMIN_DEPENDENCIES, ADMIN_GUARDS, ApiUser, Now, RuntimeDep, Source
from seatkeeper.web.errors import AnyRequest, responses

ADMIN_TOKEN: list[SecurityRequirement] = [{"AdminToken": []}]
# How every admin call may be refused: no or a wrong token, a role too low, a foreign account.
REFUSALS = (e.MissingCredentials, e.InvalidToken, e.NotAllowed, e.AccountNotFound)
MAX_TERMINATE = 10_000


# A seat group's id (as the groups API lists them); one of another account, or none, is
# refused (400).
GROUP = Annotated[
    str | None,
    QueryParameter(
        description="A seat group's id: only the sessions that count under that group",
        max_length=40,
    ),
]


class ActiveSession(msgspec.Struct):
    session_id: UUID
    agent_id: str | None  # the username; null for a Guest (shown as "Guest")
    session_start: datetime  # in the account's time zone
    open_interactions: list[str]  # each open Flow's name once
    open_interactions_count: int  # every open instance
    overdraft: bool  # opened while all the licenses were held, under the overdraft
    group: str | None  # the name of the seat group it counts under; null for none
    reserved: bool  # it holds one of that group's reserved licenses


class ActiveSessions(msgspec.Struct):
    account: str
    time_zone: str
    sort: str
    order: str
    search: str | None
    group: int | None  # the seat group asked for: only the sessions counted under it
    page: int
    per_page: int
    pages: int  # at least this many when the count is not exact
    count: int  # open sessions matching the search, on every page
    # False when more sessions match than the grid counts (10,000; 1,000 for a search):
    # `count` is then that cap, a lower bound, and `pages` too. Pages past it still answer.
    count_is_exact: Annotated[
        bool,
        msgspec.Meta(
            description="false when more sessions match than the grid counts (10,000, or "
            "1,000 for a search): count is then that many, a lower bound"
        ),
    ]
    sessions: list[ActiveSession]  # this page's


class TerminateRequest(msgspec.Struct, forbid_unknown_fields=True):
    session_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=MAX_TERMINATE)]


class Terminated(msgspec.Struct):
    terminated: int
    terminated_ids: list[UUID]
    already_ended: list[UUID]  # ended before this call (logout, timeout or termination)
    not_found: list[UUID]  # not sessions of this account
    message: str


class EndedSession(msgspec.Struct):
    session_id: UUID
    agent_id: str | None  # the username; null for a Guest
    session_start: datetime  # in the account's time zone
    ended_at: datetime  # in the account's time zone
    duration_seconds: int
    end_reason: str  # logout, timeout or terminated
    ended_by: str | None  # the admin who terminated it
    source: str | None  # the address the termination came from
    open_at_end: list[str]  # the Flows open when it was terminated


class EndedSessions(msgspec.Struct):
    account: str
    time_zone: str
    since: datetime  # 7 days before now
    reason: str | None
    page: int
    per_page: int
    pages: int
    count: int  # on every page
    sessions: list[EndedSession]  # this page's, the latest end first


class AlertBody(msgspec.Struct):
    level: int  # percent of the licenses
    active: bool
    raised_at: datetime  # in the account's time zone
    raised_in_use: int
    licenses: int  # the total when it was raised
    cleared_at: datetime | None
    cleared_in_use: int | None


class Alerts(msgspec.Struct):
    account: str
    time_zone: str
    levels: list[int]  # the account's alert levels, percent of the licenses
    alerts: list[AlertBody]  # active ones, and those raised in the past 7 days; latest first


@get(
    "/active-sessions",
    summary="The Active Agents grid: one row per open session",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.InvalidSort, e.InvalidInput),
    sync_to_thread=True,
)
def active_sessions(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    account: FromPath[str],
    sort: Annotated[
        str | None,
        QueryParameter(
            description="agent_id, session_start (default) or open_interactions_count",
            max_length=50,
        ),
    ] = None,
    order: Annotated[
        str | None, QueryParameter(description="asc (default) or desc", max_length=10)
    ] = None,
    q: Annotated[
        str | None,
        QueryParameter(
            description="Only sessions whose agent id or an open Flow's name "
            "contains this (any case)",
            max_length=200,
        ),
    ] = None,
    page: Annotated[int, QueryParameter(description="1 for the first page")] = 1,
    per_page: Annotated[
        int, QueryParameter(description=f"Rows a page, at most {validation.MAX_PER_PAGE}")
    ] = 50,
    group: GROUP = None,
) -> ActiveSessions:
    view = validation.grid_view(sort, order, search=q, page=page, per_page=per_page, group=group)
    result = admin.active_sessions(runtime.db, admin_user, account, view=view, now=now)
    return grid_body(result, view)


def grid_body(result: admin.Grid, view: GridView) -> ActiveSessions:
    rows = [
        ActiveSession(
            s.session_id,
            s.agent_id,
            s.started,
            list(s.flows),
            s.count,
            s.overdraft,
            s.group,
            s.reserved,
        )
        for s in (shown.open_session(r, result.account) for r in result.rows)
    ]
    return ActiveSessions(
        account=result.account.slug,
        time_zone=result.account.time_zone,
        sort=view.sort,
        order="desc" if view.descending else "asc",
        search=view.search,
        group=view.group,
        page=view.page,
        per_page=view.per_page,
        pages=validation.page_count(result.total, view.per_page),
        count=result.total,
        count_is_exact=result.exact,
        sessions=rows,
    )


@post(
    "/active-sessions/terminate",
    summary="Terminate sessions and free their licenses",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS),
    status_code=HTTP_200_OK,
    sync_to_thread=True,
)
def terminate(
    runtime: RuntimeDep,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    data: JSONBody[TerminateRequest],
) -> Terminated:
    result = admin.terminate_sessions(
        runtime.db, admin_user, account, data.session_ids, clock=runtime.clock, source=source
    )
    count = len(result.terminated)
    message = shown.terminated_message(
        count, already_ended=len(result.already_ended), not_found=len(result.not_found)
    )
    return Terminated(count, result.terminated, result.already_ended, result.not_found, message)


@get(
    "/ended-sessions",
    summary="Recently ended: sessions that ended in the past 7 days, and why",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.InvalidInput),
    sync_to_thread=True,
)
def ended_sessions(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    account: FromPath[str],
    reason: Annotated[
        str | None,
        QueryParameter(description="Only this end reason: logout, timeout or terminated"),
    ] = None,
    page: Annotated[int, QueryParameter(description="1 for the first page")] = 1,
    per_page: Annotated[
        int, QueryParameter(description=f"Rows a page, at most {validation.MAX_PER_PAGE}")
    ] = 50,
) -> EndedSessions:
    wanted = validation.end_reason(reason)
    validation.paging(page, per_page)
    result = admin.recently_ended(
        runtime.db, admin_user, account, reason=wanted, page=page, per_page=per_page, now=now
    )
    found = result.account
    return EndedSessions(
        account=found.slug,
        time_zone=found.time_zone,
        since=shown.local(now - admin.RECENT, found),
        reason=wanted,
        page=page,
        per_page=per_page,
        pages=validation.page_count(result.total, per_page),
        count=result.total,
        sessions=[
            EndedSession(
                s.session_id,
                s.agent_id,
                s.started,
                s.ended,
                s.seconds,
                s.reason,
                s.ended_by,
                s.source,
                list(s.open_at_end),
            )
            for s in (shown.ended_session(r, found) for r in result.rows)
        ],
    )


@get(
    "/alerts",
    summary="Capacity alerts: active ones and the past 7 days'",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS),
    sync_to_thread=True,
)
def capacity_alerts(
    runtime: RuntimeDep, now: Now, admin_user: ApiUser, account: FromPath[str]
) -> Alerts:
    found, alerts = admin.account_alerts(runtime.db, admin_user, account, now=now)
    return Alerts(
        account=found.slug,
        time_zone=found.time_zone,
        levels=list(found.alert_levels),
        alerts=[
            AlertBody(
                a.level,
                a.active,
                a.raised_at,
                a.raised_in_use,
                a.licenses,
                a.cleared_at,
                a.cleared_in_use,
            )
            for a in (shown.capacity_alert(alert, found) for alert in alerts)
        ],
    )


class NewFlow(FlowBody, forbid_unknown_fields=True):
    """A Flow to register."""


@get(
    "/flows",
    summary="The account's Flows (designers and admins)",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS),
    sync_to_thread=True,
)
def list_flows(runtime: RuntimeDep, admin_user: ApiUser, account: FromPath[str]) -> Flows:
    return Flows([FlowBody.of(f) for f in flows.list_flows(runtime.db, admin_user, account)])


@post(
    "/flows",
    summary="Register a Flow and its steps (designers and admins)",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.Conflict),
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
)
def add_flow(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    data: JSONBody[NewFlow],
) -> FlowBody:
    flow = flows.add_flow(
        runtime.db, admin_user, account, name=data.name, steps=data.steps, now=now, source=source
    )
    return FlowBody.of(flow)


@delete(
    "/flows/{name:path}",
    summary="Remove a Flow (open Interactions keep working)",
    description="The Flow's name is the rest of the path, percent-encoded as a URL path "
    "encodes it: a name with a slash is sent as `a/b` or `a%2Fb` alike.",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.InvalidInput, e.FlowNotFound),
    status_code=HTTP_204_NO_CONTENT,
    sync_to_thread=True,
)
def remove_flow(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
    name: FromPath[str] = "",  # documented as a plain string; read from the raw path
) -> None:
    name = flow_name_of(request)
    flows.remove_flow(runtime.db, admin_user, account, name=name, now=now, source=source)


@delete("/flows", status_code=HTTP_204_NO_CONTENT, sync_to_thread=True, include_in_schema=False)
def remove_flow_named_by_slashes(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    source: Source,
    account: FromPath[str],
) -> None:
    """DELETE .../flows/%2F: a name of slashes only, which servers merge into the bare path."""
    name = flow_name_of(request)
    flows.remove_flow(runtime.db, admin_user, account, name=name, now=now, source=source)


_FLOW_PATH = re.compile(rb"/api/v1/accounts/[^/]*/flows(?:/(.*))?$")


def flow_name_of(request: AnyRequest) -> str:
    """The Flow's name: the rest of the path as the client sent it, decoded once.

    The router's own path parameter cannot carry it: servers hand the application a
    path already decoded (so `a%2Fb` arrives as `a/b`) and may merge repeated slashes;
    the raw path keeps what the client meant.
    """
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    found = _FLOW_PATH.search(raw.split(b"?", 1)[0])
    tail = found.group(1) if found and found.group(1) is not None else b""
    try:
        return unquote_to_bytes(tail).decode()
    except UnicodeDecodeError:
        raise e.InvalidInput("A Flow's name in the path must be UTF-8, percent-encoded.") from None


admin_router = Router(
    path="/api/v1/accounts/{account:str}",
    route_handlers=[
        active_sessions,
        terminate,
        ended_sessions,
        capacity_alerts,
        list_flows,
        add_flow,
        remove_flow,
        remove_flow_named_by_slashes,
    ],
    dependencies=ADMIN_DEPENDENCIES,
    guards=ADMIN_GUARDS,
    tags=["Administration"],
)
