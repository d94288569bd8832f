"""Who holds licenses, and timeout waste, over a period: the admin side of the HTTP API,
and the holders' list as CSV or JSON."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import msgspec
from litestar import Response, Router, get
from litestar.params import FromPath, QueryParameter

from seatkeeper.domain import errors as e
from seatkeeper.domain.holders import HOLDER_SORTS
from seatkeeper.services import reports
from seatkeeper.web.api.admin import ADMIN_TOKEN, REFUSALS
from seatkeeper.web.api.export import FORMAT, _csv, _documented_as, _download, _format
from seatkeeper.web.deps import ADMIN_DEPENDENCIES, ADMIN_GUARDS, ApiUser, Now, RuntimeDep
from seatkeeper.web.errors import responses

# The period's parameters, as the usage call takes them. A wrong value is refused by
# domain.periods with the sentence that says what is wrong (`invalid_period`).
PERIOD = Annotated[
    str | None,
    QueryParameter(
        description="30d (the default: the last 30 days), 90d or 12m (twelve calendar "
        "months, this one included); or give from and to instead",
        max_length=20,
    ),
]
FROM = Annotated[
    str | None,
    QueryParameter(
        name="from",
        description="The period's first day, YYYY-MM-DD, in the account's time zone (with to)",
        max_length=20,
    ),
]
TO = Annotated[
    str | None,
    QueryParameter(
        name="to",
        description="The period's last day, YYYY-MM-DD, in the account's time zone, today "
        "at the latest",
        max_length=20,
    ),
]
SORT = Annotated[
    str | None,
    QueryParameter(
        description=f"{', '.join(HOLDER_SORTS)} (license_hours by default)", max_length=50
    ),
]
ORDER = Annotated[
    str | None,
    QueryParameter(description="asc or desc (by default desc, but asc for agent)", max_length=10),
]
REPORT_REFUSALS = (*REFUSALS, e.InvalidPeriod, e.InvalidInput)


class ReportPeriod(msgspec.Struct):
    first: date
    last: date
    name: str  # 30d, 90d, 12m, or custom for from and to dates
    label: str  # as the page names it: "the last 30 days", "1 Mar 2026 to 31 May 2026"


class HolderBody(msgspec.Struct):
    agent: str  # the username; "Guests" for every Guest session together
    guests: bool
    license_hours: float  # license time held in the period, in hours
    sessions: int  # sessions started in the period
    longest_minutes: float  # the longest of those, whole
    idle_hours: float  # held after the last activity, waiting for the timeout


class Holders(msgspec.Struct):
    account: str
    time_zone: str
    period: ReportPeriod
    sort: str
    order: str
    holders: list[HolderBody]


class CandidateBody(msgspec.Struct):
    timeout_minutes: int
    freed_hours: float  # license time this timeout would have freed in the period
    peak: int  # the period's peak it would have left


class TimeoutWaste(msgspec.Struct):
    account: str
    time_zone: str
    period: ReportPeriod
    timeout_minutes: float  # the account's session timeout now
    license_hours: float  # held in the period by every session
    idle_hours: float  # of them, after the last activity of sessions that timed out
    peak: int  # the period's peak, as it was
    candidates: list[CandidateBody]  # the shorter timeouts tried, shortest first
    hint: str  # what it comes to, in one sentence


def _exact_hours(time: timedelta) -> float:
    return round(time / timedelta(hours=1), 4)


def _period(result: reports.Holders | reports.TimeoutWaste) -> ReportPeriod:
    p = result.period
    return ReportPeriod(p.first, p.last, p.name, p.label)


def holders_body(result: reports.Holders) -> Holders:
    return Holders(
        account=result.account.slug,
        time_zone=result.account.time_zone,
        period=_period(result),
        sort=result.sort,
        order="desc" if result.descending else "asc",
        holders=[
            HolderBody(
                r.name,
                r.guests,
                _exact_hours(r.holding.held),
                r.holding.sessions,
                round(r.holding.longest / timedelta(minutes=1), 2),
                _exact_hours(r.holding.idle),
            )
            for r in result.rows
        ],
    )


@get(
    "/holders",
    summary="Who holds licenses: agents (and the Guests) by license-hours over a period",
    security=ADMIN_TOKEN,
    responses=responses(*REPORT_REFUSALS, e.InvalidSort),
    sync_to_thread=True,
)
def holders(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    account: FromPath[str],
    period: PERIOD = None,
    first: FROM = None,
    last: TO = None,
    sort: SORT = None,
    order: ORDER = None,
) -> Holders:
    asked = reports.Asked(period, first, last)
    found = reports.holders(
        runtime.db, admin_user, account, period=asked, sort=sort, order=order, now=now
    )
    return holders_body(found)


@get(
    "/timeout-waste",
    summary="Timeout waste: license-hours held waiting for the timeout, and shorter timeouts",
    security=ADMIN_TOKEN,
    responses=responses(*REPORT_REFUSALS),
    sync_to_thread=True,
)
def timeout_waste(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    account: FromPath[str],
    period: PERIOD = None,
    first: FROM = None,
    last: TO = None,
) -> TimeoutWaste:
    asked = reports.Asked(period, first, last)
    found = reports.timeout_waste(runtime.db, admin_user, account, period=asked, now=now)
    w = found.waste
    return TimeoutWaste(
        account=found.account.slug,
        time_zone=found.account.time_zone,
        period=_period(found),
        timeout_minutes=w.timeout / timedelta(minutes=1),
        license_hours=_exact_hours(w.held),
        idle_hours=_exact_hours(w.idle),
        peak=w.peak,
        candidates=[CandidateBody(c.minutes, _exact_hours(c.freed), c.peak) for c in w.candidates],
        hint=found.hint,
    )


@get(
    "/holders/export",
    summary="Download who holds licenses over a period (CSV or JSON)",
    security=ADMIN_TOKEN,
    responses=responses(*REPORT_REFUSALS, e.InvalidSort),
    operation_class=_documented_as("Holders"),
    sync_to_thread=True,
)
def holders_export(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    account: FromPath[str],
    period: PERIOD = None,
    first: FROM = None,
    last: TO = None,
    sort: SORT = None,
    order: ORDER = None,
    format: FORMAT = "csv",
) -> Response[bytes]:
    fmt = _format(format)
    asked = reports.Asked(period, first, last)
    found = reports.holders(
        runtime.db, admin_user, account, period=asked, sort=sort, order=order, now=now
    )
    body = holders_body(found)
    p = found.period
    filename = f"{body.account}-holders-{p.first:%Y-%m-%d}-to-{p.last:%Y-%m-%d}"
    if fmt == "json":
        return _download(msgspec.json.encode(body), fmt, filename)
    header = ("agent", "guests", "license_hours", "sessions", "longest_minutes", "idle_hours")
    rows = (
        (h.agent, str(h.guests).lower(), h.license_hours, h.sessions, h.longest_minutes,
         h.idle_hours)
        for h in body.holders
    )  # fmt: skip
    return _download(_csv(header, rows), fmt, filename)


reports_router = Router(
    path="/api/v1/accounts/{account:str}",
    route_handlers=[holders, timeout_waste, holders_export],
    dependencies=ADMIN_DEPENDENCIES,
    guards=ADMIN_GUARDS,
    tags=["Administration"],
)
