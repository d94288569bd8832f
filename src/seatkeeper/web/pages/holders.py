"""The License Holders page: who held licenses over a period, and what timeouts cost."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Template

from seatkeeper.domain import periods
from seatkeeper.domain.holders import HolderSort
from seatkeeper.domain.waste import hours
from seatkeeper.services import reports
from seatkeeper.web.deps import Now, RuntimeDep, VisitorDep
from seatkeeper.web.pages import views

COLUMNS: tuple[tuple[HolderSort, str, str], ...] = (
    ("agent", "Agent Id", ""),
    ("license_hours", "License-hours", "num"),
    ("sessions", "Sessions", "num"),
    ("longest", "Longest session", "num"),
    ("idle", "Idle before a timeout (hours)", "num"),
)


def _length(time: timedelta) -> str:
    """A session's length as people read it: "2 h 05 min", "45 min"."""
    minutes = int(time.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _headings(kept: dict[str, str], found: reports.Holders) -> list[views.Column]:
    """Each column's link: sorted by it (descending for figures, ascending for names),
    or the other way when it is already sorted by."""
    order = "desc" if found.descending else "asc"
    headings = []
    for key, title, css in COLUMNS:
        default = "asc" if key == "agent" else "desc"
        flip = ("asc" if order == "desc" else "desc") if key == found.sort else default
        current = key == found.sort
        headings.append(
            views.Column(
                key,
                title,
                True,
                css,
                href="?" + urlencode({**kept, "sort": key, "order": flip}),
                aria_sort=("descending" if found.descending else "ascending") if current else "",
                arrow=("▼" if found.descending else "▲") if current else "",
            )
        )
    return headings


@get("/accounts/{account:str}/holders", sync_to_thread=True, include_in_schema=False)
def holders_page(
    runtime: RuntimeDep,
    now: Now,
    visitor: VisitorDep,
    account: FromPath[str],
    period: FromQuery[str | None] = None,
    first: Annotated[str | None, QueryParameter(name="from", max_length=20)] = None,
    last: Annotated[str | None, QueryParameter(name="to", max_length=20)] = None,
    sort: FromQuery[str | None] = None,
    order: FromQuery[str | None] = None,
) -> Template:
    asked = periods.Asked(period or None, first or None, last or None)
    found, wasted = reports.holders_and_waste(
        runtime.db, visitor.user, account, period=asked, sort=sort, order=order, now=now
    )
    p = found.period
    kept = views.period_query(p)
    listing = {**kept, "sort": found.sort, "order": "desc" if found.descending else "asc"}
    context = {
        "account": found.account,
        "period": p,
        "picker": views.picker(
            p,
            today=now.astimezone(found.account.zone).date(),
            kept={k: v for k, v in listing.items() if k in ("sort", "order")},
        ),
        "found": found,
        "waste": wasted,
        "headings": _headings(kept, found),
        "hours": hours,
        "length": _length,
        "export": f"/api/v1/accounts/{found.account.slug}/holders/export?" + urlencode(listing),
        "nav": views.nav(visitor, "holders", viewing=found.account),
    }
    return Template(template_name="holders.html", context=context)
