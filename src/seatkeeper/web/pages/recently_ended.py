"""The Recently ended page: sessions that ended in the past 7 days, and why."""

from __future__ import annotations

from litestar import get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from seatkeeper.domain import validation
from seatkeeper.services import admin
from seatkeeper.web.deps import Now, RuntimeDep, VisitorDep
from seatkeeper.web.pages import views

PER_PAGE = 50


@get("/accounts/{account:str}/recently-ended", sync_to_thread=True, include_in_schema=False)
def recently_ended(
    runtime: RuntimeDep,
    now: Now,
    visitor: VisitorDep,
    account: FromPath[str],
    reason: FromQuery[str | None] = None,
    page: FromQuery[int] = 1,
) -> Template:
    wanted = validation.end_reason(reason)
    validation.paging(page, PER_PAGE)
    result = admin.recently_ended(
        runtime.db, visitor.user, account, reason=wanted, page=page, per_page=PER_PAGE, now=now
    )
    context = {
        "account": result.account,
        "ended": views.ended(result, reason=wanted, page=page, per_page=PER_PAGE),
        "nav": views.nav(visitor, "recently-ended", viewing=result.account),
    }
    return Template(template_name="recently_ended.html", context=context)
