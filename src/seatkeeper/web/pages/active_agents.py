"""The Active Agents page: usage graph, figures and the grid of open sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from litestar import Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from seatkeeper.domain import validation
from seatkeeper.domain.errors import AccountNotFound
from seatkeeper.domain.model import Role
from seatkeeper.services import accounts, admin
from seatkeeper.web.deps import Now, Runtime, RuntimeDep
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.pages import views
from seatkeeper.web.pages.chart import usage_chart
from seatkeeper.web.pages.common import Visitor, required_visitor


def _panel(
    runtime: Runtime,
    who: Visitor,
    account_slug: str,
    *,
    sort: str | None,
    order: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The usage figures, chart and grid: the same service results the JSON API serves."""
    column, descending = validation.grid_sort(sort, order)
    page = admin.overview(
        runtime.db, who.user, account_slug, sort=column, descending=descending, now=now
    )
    return {
        "account": page.account,
        "usage": page.report,
        "chart": usage_chart(page.report),
        "grid": views.grid(page.rows, account=page.account, sort=column, descending=descending),
    }


@get("/accounts/{account:str}/active-agents", sync_to_thread=True, include_in_schema=False)
def active_agents(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    account: FromPath[str],
    sort: FromQuery[str | None] = None,
    order: FromQuery[str | None] = None,
) -> Template:
    who = required_visitor(request, runtime, now)
    context = _panel(runtime, who, account, sort=sort, order=order, now=now)
    if who.user.role is Role.SUPER_ADMIN:
        context["accounts"] = accounts.all_accounts(runtime.db)
    return Template(
        template_name="active_agents.html",
        context={**context, "nav": who.nav("active-agents")},
    )


@get(
    "/accounts/{account:str}/active-agents/fragments",
    sync_to_thread=True,
    include_in_schema=False,
)
def active_agents_fragments(
    request: AnyRequest,
    runtime: RuntimeDep,
    now: Now,
    account: FromPath[str],
    sort: FromQuery[str | None] = None,
    order: FromQuery[str | None] = None,
) -> Template:
    """The parts of the page that refresh: the usage section and the grid."""
    who = required_visitor(request, runtime, now)
    context = _panel(runtime, who, account, sort=sort, order=order, now=now)
    return Template(template_name="_fragments.html", context=context)


@get("/active-agents", sync_to_thread=False, include_in_schema=False)
def choose_account(account: FromQuery[str] = "") -> Response[None]:
    """The account chooser's form lands here (pages work without scripts too)."""
    if not validation.is_slug(account):
        raise AccountNotFound
    return Redirect(f"/accounts/{quote(account)}/active-agents", status_code=HTTP_303_SEE_OTHER)
