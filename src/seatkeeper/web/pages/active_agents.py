"""The Active Agents page: usage graph and figures over a period, and the grid of open
sessions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import anyio
from litestar import Response, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from seatkeeper.domain import periods, validation
from seatkeeper.domain.errors import AccountNotFound, DomainError, InvalidPeriod
from seatkeeper.domain.model import GridView, Role
from seatkeeper.services import access, accounts, admin
from seatkeeper.web import presenters as shown
from seatkeeper.web import waiting
from seatkeeper.web.deps import Now, Runtime, RuntimeDep, Visitor, VisitorDep, current_visitor
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.live import Hub
from seatkeeper.web.pages import views


def _panel(
    runtime: Runtime,
    who: Visitor,
    account_slug: str,
    *,
    view: GridView,
    asked: periods.Asked,
    now: datetime,
) -> dict[str, Any]:
    """The usage figures, chart and grid: the same service results the JSON API serves. A
    period that cannot be is told, over the last 30 days."""
    error = ""
    try:
        page = admin.overview(runtime.db, who.user, account_slug, view=view, now=now, asked=asked)
    except InvalidPeriod as refused:
        error = refused.message
        page = admin.overview(runtime.db, who.user, account_slug, view=view, now=now)
    found = page.usage
    kept = {"sort": view.sort, "order": "desc" if view.descending else "asc"}
    kept |= views.grid_kept(view) | ({"page": str(view.page)} if view.page != 1 else {})
    grid = views.grid(page.grid, view=view)
    return {
        "account": page.grid.account,
        **views.usage_context(found, now=now, kept=kept, error=error),
        "grid": grid,
        "connected": connected(grid),
        "alerts": shown.alert_banners(page.alerts, page.grid.account, page.report.current),
        "waiting": waiting.places(page.waiting, now),
    }


def connected(grid: views.Grid) -> str:
    """How many agents the grid holds, in a sentence the page's live region says when it
    changes."""
    if grid.search and not grid.total:
        return f"No connected agent matches “{grid.search}”."
    if not grid.total:
        return "There are currently no Agents connected."
    one = grid.total == 1 and grid.exact
    count = f"{'' if grid.exact else 'More than '}{grid.total:,} "
    if grid.search:
        agents = "connected agent matches" if one else "connected agents match"
        return f"{count}{agents} “{grid.search}”."
    return f"{count}{'agent' if one else 'agents'} connected."


def _view(
    sort: str | None, order: str | None, q: str | None, page: int, group: str | None
) -> GridView:
    return validation.grid_view(sort, order, search=q, page=page, per_page=PER_PAGE, group=group)


PERIOD = FromQuery[str | None]  # 30d, 90d or 12m
FIRST = Annotated[str | None, QueryParameter(name="from")]  # with to: YYYY-MM-DD
LAST = Annotated[str | None, QueryParameter(name="to")]


@get("/accounts/{account:str}/active-agents", sync_to_thread=True, include_in_schema=False)
def active_agents(
    runtime: RuntimeDep,
    now: Now,
    visitor: VisitorDep,
    account: FromPath[str],
    sort: FromQuery[str | None] = None,
    order: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    page: FromQuery[int] = 1,
    group: FromQuery[str | None] = None,
    period: PERIOD = None,
    first: FIRST = None,
    last: LAST = None,
) -> Template:
    asked = periods.Asked(period, first, last)
    view = _view(sort, order, q, page, group)
    context = _panel(runtime, visitor, account, view=view, asked=asked, now=now)
    if visitor.user.role is Role.SUPER_ADMIN:
        context["accounts"] = accounts.all_accounts(runtime.db)
    return Template(
        template_name="active_agents.html",
        context={**context, "nav": views.nav(visitor, "active-agents", viewing=context["account"])},
        status_code=400 if context["picker"].error else 200,
    )


@get(
    "/accounts/{account:str}/active-agents/fragments",
    sync_to_thread=True,
    include_in_schema=False,
)
def active_agents_fragments(
    runtime: RuntimeDep,
    now: Now,
    visitor: VisitorDep,
    account: FromPath[str],
    sort: FromQuery[str | None] = None,
    order: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    page: FromQuery[int] = 1,
    group: FromQuery[str | None] = None,
    period: PERIOD = None,
    first: FIRST = None,
    last: LAST = None,
) -> Template:
    """The parts of the page that refresh: the usage section, the line and the grid."""
    asked = periods.Asked(period, first, last)
    view = _view(sort, order, q, page, group)
    context = _panel(runtime, visitor, account, view=view, asked=asked, now=now)
    return Template(template_name="_fragments.html", context=context)


PER_PAGE = 50  # rows the page shows at a time: a busy account's 10,000 are not drawn at once
RECHECK_SECONDS = 15.0  # how often a stream checks its viewer may still watch (and pings)
# At most one update a second, however busy the account: each makes the page fetch the
# grid again, and a churning account with 100,000 sessions open changes many times a second.
# Nudges that come meanwhile wait as one (the hub keeps one per viewer).
PUSH_GAP_SECONDS = 1.0


@get("/accounts/{account:str}/active-agents/events", include_in_schema=False)
async def active_agents_events(
    request: AnyRequest, runtime: RuntimeDep, visitor: VisitorDep, account: FromPath[str]
) -> ServerSentEvent:
    """A stream that says "changed" whenever the account changes, on any instance."""
    watched = await anyio.to_thread.run_sync(access.account_for, runtime.db, visitor.user, account)
    hub: Hub = request.app.state.hub
    return ServerSentEvent(_changes(hub, watched.id, request, runtime, account))


def _may_watch(request: AnyRequest, runtime: Runtime, account: str) -> bool:
    """Whether the viewer is still logged in, with a role that may see the account."""
    who = current_visitor(request, runtime, runtime.clock.now())
    try:
        return who is not None and bool(access.account_for(runtime.db, who.user, account))
    except DomainError:
        return False


async def _changes(
    hub: Hub, account_id: int, request: AnyRequest, runtime: Runtime, account: str
) -> AsyncIterator[ServerSentEventMessage]:
    with hub.watch(account_id) as nudges:
        yield ServerSentEventMessage(event="ready", data="")
        recheck_at = time.monotonic() + RECHECK_SECONDS
        while True:
            try:
                await asyncio.wait_for(nudges.get(), max(0.0, recheck_at - time.monotonic()))
                nudged = True
            except TimeoutError:
                nudged = False
            if time.monotonic() >= recheck_at:
                # However busy the account: the stream lasts as long as the right to see it.
                if not await anyio.to_thread.run_sync(_may_watch, request, runtime, account):
                    return
                recheck_at = time.monotonic() + RECHECK_SECONDS
                if not nudged:
                    yield ServerSentEventMessage(comment="still here")
            if nudged:
                yield ServerSentEventMessage(event="changed", data="")
                await asyncio.sleep(PUSH_GAP_SECONDS)


@get("/active-agents", sync_to_thread=False, include_in_schema=False)
def choose_account(account: FromQuery[str] = "") -> Response[None]:
    """The account chooser's form lands here (pages work without scripts too)."""
    if not validation.is_slug(account):
        raise AccountNotFound
    return Redirect(f"/accounts/{quote(account)}/active-agents", status_code=HTTP_303_SEE_OTHER)
