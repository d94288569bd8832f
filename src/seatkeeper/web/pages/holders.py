"""The License Holders page: who held licenses over a period, and what timeouts cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Template

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
PICKS = (("30d", "Last 30 days"), ("90d", "Last 90 days"), ("12m", "Last 12 months"))


@dataclass(frozen=True, slots=True)
class Heading:
    key: str
    title: str
    css: str
    href: str
    aria_sort: str  # "ascending", "descending" or "" for the columns not sorted by
    arrow: str


def _length(time: timedelta) -> str:
    """A session's length as people read it: "2 h 05 min", "45 min"."""
    minutes = int(time.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _headings(kept: dict[str, str], found: reports.Holders) -> list[Heading]:
    """Each column's link: sorted by it (descending for figures, ascending for names),
    or the other way when it is already sorted by."""
    order = "desc" if found.descending else "asc"
    headings = []
    for key, title, css in COLUMNS:
        default = "asc" if key == "agent" else "desc"
        flip = ("asc" if order == "desc" else "desc") if key == found.sort else default
        current = key == found.sort
        headings.append(
            Heading(
                key,
                title,
                css,
                "?" + urlencode({**kept, "sort": key, "order": flip}),
                ("descending" if found.descending else "ascending") if current else "",
                ("▼" if found.descending else "▲") if current else "",
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
    asked = reports.Asked(period or None, first or None, last or None)
    found, wasted = reports.holders_and_waste(
        runtime.db, visitor.user, account, period=asked, sort=sort, order=order, now=now
    )
    p = found.period
    kept = {"period": p.name} if p.name != "custom" else {"from": str(p.first), "to": str(p.last)}
    listing = {**kept, "sort": found.sort, "order": "desc" if found.descending else "asc"}
    context = {
        "account": found.account,
        "period": p,
        "picks": [(name, label, "?" + urlencode({"period": name})) for name, label in PICKS],
        "found": found,
        "waste": wasted,
        "headings": _headings(kept, found),
        "hours": hours,
        "length": _length,
        "export": f"/api/v1/accounts/{found.account.slug}/holders/export?" + urlencode(listing),
        "nav": views.nav(visitor, "holders", viewing=found.account),
    }
    return Template(template_name="holders.html", context=context)
