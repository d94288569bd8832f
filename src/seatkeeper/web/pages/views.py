"""What the page templates show, built from the services' results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from seatkeeper.domain import periods, validation
from seatkeeper.domain.model import Account, EndReason, GridView, Role
from seatkeeper.domain.periods import Period
from seatkeeper.domain.trueup import MonthUsage
from seatkeeper.services import admin
from seatkeeper.web import presenters as shown
from seatkeeper.web.deps import Visitor
from seatkeeper.web.pages.chart import usage_chart


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
    usage_report_url: str | None = None
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
        usage_report_url=f"{base}/usage-report" if admin else None,
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
    export_query: str  # the sort, search and group, for downloading every matching session
    group: str = ""  # the seat group's id the grid shows the sessions of ("" for all)
    groups: tuple[tuple[str, str], ...] = ()  # the account's seat groups: (id, name)


_COLUMNS = (
    ("agent_id", "Agent Id", True, ""),
    ("session_start", "Session Start", True, ""),
    ("open_interactions", "Open Interactions", False, ""),
    ("open_interactions_count", "Number of Open Interactions", True, "num"),
    ("group", "Group", False, ""),
)


def grid_kept(view: GridView) -> dict[str, str]:
    """The grid's search and seat group, which its links keep."""
    kept = {"q": view.search} if view.search else {}
    return kept | ({"group": str(view.group)} if view.group is not None else {})


def grid(result: admin.Grid, *, view: GridView) -> Grid:
    """The Active Agents grid: a page of rows in the account's time zone, headers that sort,
    a search and the way to the other pages."""
    order = "desc" if view.descending else "asc"
    kept = grid_kept(view)

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
        group="" if view.group is None else str(view.group),
        groups=tuple((str(group_id), name) for group_id, name in result.groups.items()),
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


@dataclass(frozen=True, slots=True)
class PeriodChoice:
    label: str
    href: str
    current: bool
    name: str


@dataclass(frozen=True, slots=True)
class Picker:
    """The period picker: a link for each named period, and a form for from and to dates;
    each keeps the page's own query parameters (the grid's sort and search...)."""

    choices: tuple[PeriodChoice, ...]
    custom: bool  # from and to dates are shown
    first: str  # the from and to the form shows
    last: str
    today: str  # the latest day a date may be
    kept: tuple[tuple[str, str], ...]  # the page's own parameters, as hidden fields
    error: str  # why the period asked for was refused ("" when it was not)
    query: str  # the period's own parameters ("period=12m"), for downloads and refreshes
    title: str  # "last 12 months", "1 Mar 2026 to 31 May 2026"


_CHOICES = (("30d", "Last 30 days"), ("90d", "Last 90 days"), ("12m", "Last 12 months"))


def period_query(period: Period) -> dict[str, str]:
    """The query parameters that ask for `period` again (none for the default)."""
    if period.name == periods.DEFAULT:
        return {}
    if period.name in periods.NAMED:
        return {"period": period.name}
    return {"from": period.first.isoformat(), "to": period.last.isoformat()}


def picker(period: Period, *, today: date, kept: dict[str, str], error: str = "") -> Picker:
    """The picker for the period shown; `kept` are the page's other parameters."""

    def href(name: str) -> str:
        query = {**kept, **({} if name == periods.DEFAULT else {"period": name})}
        return "?" + urlencode(query) if query else "?"

    custom = period.name not in periods.NAMED
    return Picker(
        choices=tuple(
            PeriodChoice(label, href(name), name == period.name, name) for name, label in _CHOICES
        ),
        custom=custom,
        first=period.first.isoformat(),
        last=period.last.isoformat(),
        today=today.isoformat(),
        kept=tuple(kept.items()),
        error=error,
        query=urlencode(period_query(period)),
        title=period.label.removeprefix("the "),
    )


def usage_context(
    found: admin.AccountUsage, *, now: datetime, kept: dict[str, str], error: str = ""
) -> dict[str, Any]:
    """What the usage section shows: figures, graph, picker, and the right-sizing hint."""
    months = found.months if found.step == "month" else None
    group = {} if found.group is None else {"group": str(found.group)}
    return {
        "usage": found.report,
        # The downloads' parameters: the period's, and the seat group's the figures are of.
        "usage_query": urlencode(period_query(found.period) | group),
        "period": found.period,
        "months": found.months,
        "chart": usage_chart(found.report, found.account, months=months),
        "picker": picker(
            found.period, today=now.astimezone(found.account.zone).date(), kept=kept, error=error
        ),
        "advice": shown.usage_advice(found.report, found.period),
    }


@dataclass(frozen=True, slots=True)
class TrueUpRow:
    """A row of the true-up table, as the Usage Report page shows it."""

    month: str  # YYYY-MM
    label: str  # "Mar 2026"
    days: str  # "All 31", or "1-10 Mar only"
    partial: bool
    peak: int
    peak_day: str  # "Tue 20 Jan"; a dash for a month with no session
    average: str  # the average daily peak, as the figures show averages
    minutes_at_cap: int
    days_at_cap: int
    denials: int
    needed: str  # licenses that would have refused no one; a dash before the account
    existed: bool
    overdraft_peak: int
    overdraft_minutes: str  # a dash when not known


def trueup_row(month: MonthUsage) -> TrueUpRow:
    return TrueUpRow(
        month=f"{month.month:%Y-%m}",
        label=month.label,
        days=shown.covered(month) or f"All {month.days}",
        partial=month.partial,
        peak=month.peak,
        peak_day=f"{month.peak_day:%a %d %b}" if month.peak else "–",
        average=shown.average(month.average),
        minutes_at_cap=month.minutes_at_cap,
        days_at_cap=month.days_at_cap,
        denials=month.denials,
        needed=str(month.licenses_needed) if month.account_existed else "–",
        existed=month.account_existed,
        overdraft_peak=month.overdraft_peak,
        overdraft_minutes="–" if month.overdraft_minutes is None else str(month.overdraft_minutes),
    )
