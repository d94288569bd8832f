"""What the page templates show, built from the services' results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from seatkeeper.domain import validation
from seatkeeper.domain.alerts import Alert
from seatkeeper.domain.model import GUEST, Account, EndReason, GridView, Role, User
from seatkeeper.services import admin


def average(value: float) -> str:
    """A Daily Average as shown: two decimals at most, as the API rounds it ("0.37", "15.8")."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True, slots=True)
class Nav:
    username: str
    role: str
    csrf: str
    active_agents_url: str | None  # None for roles below account admin
    recently_ended_url: str | None
    settings_url: str | None
    users_url: str | None
    current: str = ""


def nav(user: User, account: Account, csrf: str, current: str = "") -> Nav:
    """The top bar for a logged-in user: the Account menu shows what their role may open."""
    admin = user.role.at_least(Role.ACCOUNT_ADMIN)
    base = f"/accounts/{account.slug}"
    return Nav(
        user.username,
        user.role.label.lower(),
        csrf,
        f"{base}/active-agents" if admin else None,
        f"{base}/recently-ended" if admin else None,
        f"{base}/settings" if admin else None,
        f"{base}/users" if admin else None,
        current,
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
class Row:
    session_id: str
    agent: str
    guest: bool
    started: str  # in the account's time zone
    started_iso: str
    flows: str
    count: int


@dataclass(frozen=True, slots=True)
class Grid:
    sort: str
    order: str
    search: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    page: int
    pages: int
    total: int  # sessions matching the search
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
    tz = ZoneInfo(result.account.time_zone)
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
    shown = tuple(
        Row(
            session_id=str(r.session_id),
            agent=r.agent_id or GUEST,
            guest=r.agent_id is None,
            started=r.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            started_iso=r.started_at.astimezone(tz).isoformat(timespec="seconds"),
            flows=", ".join(r.flows),
            count=r.open_interactions,
        )
        for r in result.rows
    )
    pages = validation.page_count(result.total, view.per_page)

    def to(page: int) -> str | None:
        return href(sort=view.sort, order=order, page=page) if 1 <= page <= pages else None

    return Grid(
        sort=view.sort,
        order=order,
        search=view.search or "",
        columns=tuple(columns),
        rows=shown,
        page=view.page,
        pages=pages,
        total=result.total,
        first=(view.page - 1) * view.per_page + 1 if shown else 0,
        previous_href=to(view.page - 1) if view.page <= pages else to(pages),
        next_href=to(view.page + 1),
        export_query=urlencode({"sort": view.sort, "order": order, **kept}),
    )


@dataclass(frozen=True, slots=True)
class EndedRow:
    agent: str
    guest: bool
    started: str  # in the account's time zone
    ended: str
    ended_iso: str
    duration: str
    reason: str  # logout, timeout or terminated
    ended_by: str  # "by alice from 10.0.0.7" for a termination, else ""
    open_at_end: str


@dataclass(frozen=True, slots=True)
class Ended:
    reason: str
    reasons: tuple[str, ...]
    rows: tuple[EndedRow, ...]
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
    tz = ZoneInfo(result.account.time_zone)
    shown = tuple(
        EndedRow(
            agent=r.agent_id or GUEST,
            guest=r.agent_id is None,
            started=r.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            ended=r.ended_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            ended_iso=r.ended_at.astimezone(tz).isoformat(timespec="seconds"),
            duration=duration(r.ended_at - r.started_at),
            reason=r.reason.value,
            ended_by=" ".join(
                part
                for part in (
                    f"by {r.ended_by}" if r.ended_by else "",
                    f"from {r.source}" if r.source else "",
                )
                if part
            ),
            open_at_end=", ".join(r.open_at_end),
        )
        for r in result.rows
    )
    pages = validation.page_count(result.total, per_page)
    kept = {"reason": reason.value} if reason else {}

    def to(number: int) -> str | None:
        return "?" + urlencode({**kept, "page": number}) if 1 <= number <= pages else None

    return Ended(
        reason=reason.value if reason else "",
        reasons=tuple(r.value for r in EndReason),
        rows=shown,
        page=page,
        pages=pages,
        total=result.total,
        first=(page - 1) * per_page + 1 if shown else 0,
        previous_href=to(page - 1) if page <= pages else to(pages),
        next_href=to(page + 1),
    )


def duration(length: timedelta) -> str:
    """A session's length as people say it: 45 s, 12 min, 3 h 05 min, 2 d 1 h."""
    seconds = max(0, round(length.total_seconds()))
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 60:
        return f"{seconds} s"
    if hours < 1:
        return f"{minutes} min"
    if hours < 24:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{hours // 24} d {hours % 24} h"


def alert_banners(alerts: Sequence[Alert], account: Account) -> list[str]:
    """The banner for the highest active capacity alert (the others are below it), its
    time in the account's zone; none when no alert is active."""
    if not alerts:
        return []
    top = max(alerts, key=lambda a: a.level)
    when = top.raised_at.astimezone(ZoneInfo(account.time_zone))
    return [
        f"Capacity alert: {top.level}% of the licenses in use since {when:%H:%M %a %d %b} "
        f"({top.raised_in_use} of {top.licenses})."
    ]
