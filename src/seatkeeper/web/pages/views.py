"""What the page templates show, built from the services' results."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from seatkeeper.domain import validation
from seatkeeper.domain.model import Account, EndReason, GridView, Role
from seatkeeper.services import admin
from seatkeeper.web import presenters as shown
from seatkeeper.web.deps import Visitor


@dataclass(frozen=True, slots=True)
class Nav:
    username: str
    role: str
    active_agents_url: str | None  # None for roles below account admin
    recently_ended_url: str | None
    settings_url: str | None
    users_url: str | None
    current: str = ""
    logins_url: str = "/logins"  # the visitor's own logins, whatever their role
    keys_url: str | None = None  # Applications and keys
    holders_url: str | None = None  # License Holders


def nav(who: Visitor, current: str = "", *, viewing: Account | None = None) -> Nav:
    """The top bar for a logged-in visitor: the Account menu shows what their role may open,
    for the account being viewed (a super_admin's may be another's)."""
    admin = who.user.role.at_least(Role.ACCOUNT_ADMIN)
    base = f"/accounts/{(viewing or who.account).slug}"
    return Nav(
        who.user.username,
        who.user.role.label.lower(),
        f"{base}/active-agents" if admin else None,
        f"{base}/recently-ended" if admin else None,
        f"{base}/settings" if admin else None,
        f"{base}/users" if admin else None,
        current,
        keys_url=f"{base}/keys" if admin else None,
        holders_url=f"{base}/holders" if admin else None,
    )


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    sortable: bool
    css: str = ""
    href: str = ""
    aria_sort: str = ""
    arrow: str = ""


@dataclass(frozen=True, slots=True)
class Grid:
    sort: str
    order: str
    search: str
    columns: tuple[Column, ...]
    rows: tuple[shown.OpenSession, ...]  # in the account's time zone
    page: int
    pages: int
    total: int  # sessions matching the search
    exact: bool  # False: more than `total` match (the grid counts only so far)
    first: int  # the position of this page's first row, from 1 (0 when empty)
    previous_href: str | None
    next_href: str | None
    export_query: str  # the sort and search, for downloading every matching session


_COLUMNS = (
    ("agent_id", "Agent Id", True, ""),
    ("session_start", "Session Start", True, ""),
    ("open_interactions", "Open Interactions", False, ""),
    ("open_interactions_count", "Number of Open Interactions", True, "num"),
)


def grid(result: admin.Grid, *, view: GridView) -> Grid:
    """The Active Agents grid: a page of rows in the account's time zone, headers that sort,
    a search and the way to the other pages."""
    order = "desc" if view.descending else "asc"
    kept = {"q": view.search} if view.search else {}

    def href(**query: object) -> str:
        return "?" + urlencode({**query, **kept})

    columns = []
    for key, title, sortable, css in _COLUMNS:
        if not sortable:
            columns.append(Column(key, title, False, css))
            continue
        current = key == view.sort
        next_order = "asc" if not current or view.descending else "desc"
        columns.append(
            Column(
                key,
                title,
                True,
                css,
                href=href(sort=key, order=next_order),
                aria_sort=("descending" if view.descending else "ascending") if current else "none",
                arrow=(" ▼" if view.descending else " ▲") if current else "",
            )
        )
    rows = tuple(shown.open_session(r, result.account) for r in result.rows)
    pages = validation.page_count(result.total, view.per_page)

    # Past a count that stopped at its cap, a full page may have another after it.
    last = pages if result.exact or len(rows) < view.per_page else view.page + 1

    def to(page: int) -> str | None:
        return href(sort=view.sort, order=order, page=page) if 1 <= page <= last else None

    return Grid(
        sort=view.sort,
        order=order,
        search=view.search or "",
        columns=tuple(columns),
        rows=rows,
        page=view.page,
        pages=pages,
        total=result.total,
        exact=result.exact,
        first=(view.page - 1) * view.per_page + 1 if rows else 0,
        previous_href=to(view.page - 1) if view.page <= pages else to(pages),
        next_href=to(view.page + 1),
        export_query=urlencode({"sort": view.sort, "order": order, **kept}),
    )


@dataclass(frozen=True, slots=True)
class Ended:
    reason: str
    reasons: tuple[str, ...]
    rows: tuple[shown.Ended, ...]  # in the account's time zone
    page: int
    pages: int
    total: int
    first: int
    previous_href: str | None
    next_href: str | None


def ended(
    result: admin.RecentlyEnded, *, reason: EndReason | None, page: int, per_page: int
) -> Ended:
    """The Recently ended view: a page of ended sessions in the account's time zone."""
    rows = tuple(shown.ended_session(r, result.account) for r in result.rows)
    pages = validation.page_count(result.total, per_page)
    kept = {"reason": reason.value} if reason else {}

    def to(number: int) -> str | None:
        return "?" + urlencode({**kept, "page": number}) if 1 <= number <= pages else None

    return Ended(
        reason=reason.value if reason else "",
        reasons=tuple(r.value for r in EndReason),
        rows=rows,
        page=page,
        pages=pages,
        total=result.total,
        first=(page - 1) * per_page + 1 if rows else 0,
        previous_href=to(page - 1) if page <= pages else to(pages),
        next_href=to(page + 1),
    )
