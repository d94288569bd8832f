"""Downloads: the usage history (by day, or the true-up table by month) and the current
grid, as CSV or JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Response, Router, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromPath, QueryParameter

from seatkeeper.domain import errors as e
from seatkeeper.domain import periods, validation
from seatkeeper.services import admin
from seatkeeper.web import presenters as shown
from seatkeeper.web.api.admin import ADMIN_TOKEN, GROUP, REFUSALS, grid_body
from seatkeeper.web.api.usage import (
    BY,
    FROM,
    PERIOD,
    TO,
    USAGE_GROUP,
    USAGE_REFUSALS,
    Usage,
    usage_body,
)
from seatkeeper.web.deps import ADMIN_DEPENDENCIES, ADMIN_GUARDS, ApiUser, Now, RuntimeDep
from seatkeeper.web.errors import responses

FORMAT = Annotated[str, QueryParameter(description="csv (default) or json", max_length=10)]
FORMULA_STARTS = frozenset("=+-@\t\r")
MEDIA = {"csv": "text/csv", "json": "application/json"}  # Litestar adds the charset to text/


def _documented_as(component: str) -> type[Operation]:
    """An operation whose success answer is documented in both forms: CSV text (the
    default) and, with format=json, the same body the JSON endpoint gives (`component`)."""

    class Download(Operation):
        def __init__(self, **fields: Any) -> None:
            super().__init__(**fields)
            answer = (self.responses or {}).get("200")
            if isinstance(answer, OpenAPIResponse):
                answer.content = {
                    "text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
                    "application/json": OpenAPIMediaType(
                        schema=Reference(ref=f"#/components/schemas/{component}")
                    ),
                }

    return Download


def _format(name: str) -> str:
    if name not in MEDIA:
        raise e.InvalidInput(f"Unknown format {name!r}; use csv or json.")
    return name


def _download(body: bytes, fmt: str, filename: str) -> Response[bytes]:
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'},
    )


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_inert(cell) for cell in row] for row in rows)
    return out.getvalue().encode()


def _inert(cell: object) -> object:
    """A text that a spreadsheet would take for a formula (a Flow named "=HYPERLINK(...)",
    say) is written with a leading apostrophe, which spreadsheets show as text."""
    if isinstance(cell, str) and cell[:1] in FORMULA_STARTS:
        return "'" + cell
    return cell


@get(
    "/usage/export",
    summary="Download the usage of a period (the last 30 days by default): a row a day, "
    "or with by=month the true-up table (CSV or JSON)",
    security=ADMIN_TOKEN,
    responses=responses(*USAGE_REFUSALS),
    operation_class=_documented_as("Usage"),
    sync_to_thread=True,
)
def usage_export(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    account: FromPath[str],
    format: FORMAT = "csv",
    period: PERIOD = None,
    first: FROM = None,
    last: TO = None,
    by: BY = None,
    group: USAGE_GROUP = None,
) -> Response[bytes]:
    fmt = _format(format)
    asked = periods.Asked(period, first, last, by)
    found = admin.account_usage(
        runtime.db, admin_user, account, now=now, asked=asked, group=validation.group_id(group)
    )
    body = usage_body(found, now)
    filename = _usage_filename(found, body.as_of)
    if fmt == "json":
        return _download(msgspec.json.encode(body), fmt, filename)
    return _download(usage_csv(found, body), fmt, filename)


def usage_csv(found: admin.AccountUsage, body: Usage) -> bytes:
    """The usage download as CSV: a row a day, or by month the true-up table."""
    if found.step == "month":
        return _csv(MONTH_HEADER, _month_rows(body))
    rows = (
        (
            d.date.isoformat(),
            d.start.isoformat(),
            d.max_concurrent,
            d.denials,
            d.minutes_at_cap,
            d.peak_demand,
            str(d.account_existed).lower(),
            d.overdraft_peak,
            _known(d.overdraft_minutes),
            d.waited,
            _known(d.longest_wait_seconds),
            _known(d.longest_seating_seconds),
        )
        for d in (shown.usage_day(day, found.account) for day in found.report.days)
    )
    return _csv(DAY_HEADER, rows)


DAY_HEADER = (
    "date",
    "day_start",
    "max_concurrent",
    "denials",
    "minutes_at_cap",
    "peak_demand",
    "account_existed",
    "overdraft_peak",
    "overdraft_minutes",
    "waited",
    "longest_wait_seconds",
    "longest_seating_seconds",
)
MONTH_HEADER = (
    "month",
    "first_day",
    "last_day",
    "whole_month",
    "peak_concurrent",
    "peak_date",
    "average_daily_peak",
    "minutes_at_cap",
    "days_at_cap",
    "denials",
    "licenses_needed",
    "account_existed",
    "overdraft_peak",
    "overdraft_minutes",
    "waited",
    "longest_wait_seconds",
    "longest_seating_seconds",
)


def _month_rows(body: Usage) -> Iterable[Sequence[object]]:
    """The true-up table, a row per calendar month (as the JSON's `months`)."""
    return (
        (
            m.month,
            m.first.isoformat(),
            m.last.isoformat(),
            str(not m.partial).lower(),
            m.peak,
            m.peak_date.isoformat(),
            m.average_daily_peak,
            m.minutes_at_cap,
            m.days_at_cap,
            m.denials,
            m.licenses_needed,
            str(m.account_existed).lower(),
            m.overdraft_peak,
            _known(m.overdraft_minutes),
            m.waited,
            _known(m.longest_wait_seconds),
            _known(m.longest_seating_seconds),
        )
        for m in body.months
    )


def _known(figure: int | None) -> int | str:
    """A figure for the CSV: empty when it is not known."""
    return "" if figure is None else figure


def _usage_filename(found: admin.AccountUsage, as_of: datetime) -> str:
    """acme-usage-2026-03-10 for the last 30 days by day (as it always was); else the
    period's days, and by-month for the true-up table."""
    period, slug = found.period, found.account.slug
    if period.name == periods.DEFAULT and found.step == "day":
        return f"{slug}-usage-{as_of:%Y-%m-%d}"
    by = "-by-month" if found.step == "month" else ""
    return f"{slug}-usage-{period.first.isoformat()}-to-{period.last.isoformat()}{by}"


@get(
    "/active-sessions/export",
    summary="Download every open session, sorted and searched as the grid (CSV or JSON)",
    security=ADMIN_TOKEN,
    responses=responses(*REFUSALS, e.InvalidSort, e.InvalidInput),
    operation_class=_documented_as("ActiveSessions"),
    sync_to_thread=True,
)
def grid_export(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    account: FromPath[str],
    sort: Annotated[str | None, QueryParameter(max_length=50)] = None,
    order: Annotated[str | None, QueryParameter(max_length=10)] = None,
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    group: GROUP = None,
    format: FORMAT = "csv",
) -> Response[bytes]:
    fmt = _format(format)
    view = validation.every_row(sort, order, search=q, group=group)
    result = admin.active_sessions(runtime.db, admin_user, account, view=view, now=now)
    body = grid_body(result, view)
    filename = f"{body.account}-active-sessions-{shown.local(now, result.account):%Y-%m-%dT%H%M}"
    if fmt == "json":
        return _download(msgspec.json.encode(body), fmt, filename)
    rows = (
        (
            s.session_id,
            s.agent_id or "",
            s.started.isoformat(),
            "; ".join(s.flows),
            s.count,
            "yes" if s.overdraft else "no",
            s.group or "",
            "yes" if s.reserved else "no",
        )
        for s in (shown.open_session(r, result.account) for r in result.rows)
    )
    header = (
        "session_id",
        "agent_id",
        "session_start",
        "open_interactions",
        "open_interactions_count",
        "overdraft",
        "group",
        "reserved",
    )
    return _download(_csv(header, rows), fmt, filename)


export_router = Router(
    path="/api/v1/accounts/{account:str}",
    route_handlers=[usage_export, grid_export],
    dependencies=ADMIN_DEPENDENCIES,
    guards=ADMIN_GUARDS,
    tags=["Administration"],
)
