"""The Usage Report page: usage over any period, its graph and figures, and the true-up
table (a row per calendar month), with downloads of it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Template

from seatkeeper.domain import periods, validation
from seatkeeper.domain.errors import InvalidPeriod
from seatkeeper.services import admin, reports
from seatkeeper.web.deps import Now, RuntimeDep, VisitorDep
from seatkeeper.web.pages import views


@get("/accounts/{account:str}/usage-report", sync_to_thread=True, include_in_schema=False)
def usage_report(
    runtime: RuntimeDep,
    now: Now,
    visitor: VisitorDep,
    account: FromPath[str],
    period: FromQuery[str | None] = None,
    first: Annotated[str | None, QueryParameter(name="from")] = None,
    last: Annotated[str | None, QueryParameter(name="to")] = None,
    group: FromQuery[str | None] = None,
) -> Template:
    """A period that cannot be is told, over the last 30 days (answered 400); with a seat
    group, the figures of its sessions only."""
    error = ""
    chosen = validation.group_id(group)
    try:
        asked = periods.Asked(period, first, last)
        found = admin.account_usage(
            runtime.db, visitor.user, account, now=now, asked=asked, group=chosen
        )
    except InvalidPeriod as refused:
        error = refused.message
        found = admin.account_usage(runtime.db, visitor.user, account, now=now, group=chosen)
    waste = reports.timeout_waste(runtime.db, visitor.user, account, period=found.period, now=now)
    query = urlencode(views.period_query(found.period))
    kept = {} if chosen is None else {"group": str(chosen)}
    context = {
        "account": found.account,
        "waste_hint": waste.hint,
        "holders_href": f"/accounts/{found.account.slug}/holders" + (f"?{query}" if query else ""),
        **views.usage_context(found, now=now, kept=kept, error=error),
        "groups": tuple((str(group_id), name) for group_id, name in found.groups.items()),
        "group": "" if chosen is None else str(chosen),
        "group_name": None if chosen is None else found.groups[chosen],
        "period_kept": tuple(views.period_query(found.period).items()),
        "trueup": [views.trueup_row(m) for m in found.months],
        "nav": views.nav(visitor, "usage-report", viewing=found.account),
        "time_zone_note": f"Days in {found.account.time_zone}, the account's time zone.",
    }
    return Template(
        template_name="usage_report.html", context=context, status_code=400 if error else 200
    )
