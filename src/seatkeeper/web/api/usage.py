"""Usage over any period on the admin side of the HTTP API: the daily peaks, the figures
and the true-up table (one row per calendar month)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from litestar import Router, get
from litestar.params import FromPath, QueryParameter

from seatkeeper.domain import errors as e
from seatkeeper.domain import periods, validation
from seatkeeper.domain.trueup import MonthUsage
from seatkeeper.services import admin
from seatkeeper.web import presenters as shown
from seatkeeper.web.api.admin import ADMIN_TOKEN, REFUSALS
from seatkeeper.web.deps import ADMIN_DEPENDENCIES, ADMIN_GUARDS, ApiUser, Now, RuntimeDep
from seatkeeper.web.errors import responses

# The period's parameters. Their values are not limited here: a wrong one is refused by
# domain.periods, with the sentence that says what is wrong (`invalid_period`).
PERIOD = Annotated[
    str | None,
    QueryParameter(
        description="30d (the default: the last 30 days), 90d or 12m (twelve calendar "
        "months, this one included); or give from and to instead"
    ),
]
FROM = Annotated[
    str | None,
    QueryParameter(
        name="from",
        description="The period's first day, YYYY-MM-DD, in the account's time zone (with to)",
    ),
]
TO = Annotated[
    str | None,
    QueryParameter(
        name="to",
        description="The period's last day, YYYY-MM-DD, in the account's time zone, today "
        f"at the latest; at most {periods.MOST_DAYS} days after from",
    ),
]
BY = Annotated[
    str | None,
    QueryParameter(
        description=f"day or month: how the graph (and the CSV download) shows the period; "
        f"by default days up to {periods.DAYS_SHOWN} days, months beyond"
    ),
]
USAGE_GROUP = Annotated[
    str | None,
    QueryParameter(
        description="A seat group's id: the figures of only the sessions that counted under "
        "that group, computed from the session rows of the period (not from the kept days; "
        "slower over a long period). Refused opens and places in line count under no group: a "
        "group's days have no denials and none waited. Minutes at the cap and the overdraft "
        "are against the account's licenses.",
        max_length=40,
    ),
]
USAGE_REFUSALS = (*REFUSALS, e.InvalidPeriod, e.InvalidInput)
OVERDRAFT_PEAK = Annotated[
    int,
    msgspec.Meta(
        description="The most sessions open at once beyond the license total (0 if never "
        "more): the peak concurrency less the licenses"
    ),
]
OVERDRAFT_MINUTES = Annotated[
    int | None,
    msgspec.Meta(
        description="Session-minutes beyond the license total: 2 sessions beyond it for 30 "
        "minutes are 60; null when not known (a day kept by an earlier version whose "
        "session rows are gone)"
    ),
]

WAITED = Annotated[int, msgspec.Meta(description="Places asked in the line for a license")]
LONGEST_WAIT = Annotated[
    int | None,
    msgspec.Meta(
        description="The longest wait, in seconds, of the places seated (asked to given a "
        "session); null when none was seated"
    ),
]
LONGEST_SEATING = Annotated[
    int | None,
    msgspec.Meta(
        description="The longest time, in seconds, from a license freeing to its waiter "
        "taking the session; null when no place was taken"
    ),
]


class UsageDay(msgspec.Struct):
    date: date
    max_concurrent: int
    denials: int
    account_existed: bool
    minutes_at_cap: int  # whole minutes with every license in use
    peak_demand: int  # the most licenses wanted at once, refused opens counted
    overdraft_peak: OVERDRAFT_PEAK
    overdraft_minutes: OVERDRAFT_MINUTES
    # The line for a license, by the day each place was asked, seated and taken.
    waited: WAITED
    longest_wait_seconds: LONGEST_WAIT
    longest_seating_seconds: LONGEST_SEATING


class UsageMonth(msgspec.Struct):
    """A row of the true-up table: a calendar month of the period."""

    month: str  # YYYY-MM
    first: date  # the first and last days of it in the period
    last: date
    partial: bool  # the period covers only part of the month
    peak: int  # the highest daily peak
    peak_date: date  # the first day of that peak
    average_daily_peak: float  # over the days the account existed
    minutes_at_cap: int
    days_at_cap: int
    denials: int
    licenses_needed: int  # the month's peak demand: with this many, no one refused
    account_existed: bool
    overdraft_peak: OVERDRAFT_PEAK  # the highest of its days'
    overdraft_minutes: OVERDRAFT_MINUTES  # the sum of its days'
    waited: WAITED  # the sum of its days'
    longest_wait_seconds: LONGEST_WAIT  # the longest of its days'
    longest_seating_seconds: LONGEST_SEATING

    @classmethod
    def of(cls, m: MonthUsage) -> UsageMonth:
        return cls(
            f"{m.month:%Y-%m}",
            m.first,
            m.last,
            m.partial,
            m.peak,
            m.peak_day,
            round(m.average, 2),
            m.minutes_at_cap,
            m.days_at_cap,
            m.denials,
            m.licenses_needed,
            m.account_existed,
            m.overdraft_peak,
            m.overdraft_minutes,
            m.waited,
            m.longest_wait_seconds,
            m.longest_seating_seconds,
        )


class UsagePeriod(msgspec.Struct):
    first: date  # in the account's time zone
    last: date
    name: str  # 30d, 90d, 12m, or custom for from and to dates
    label: str  # "the last 12 months", "1 Mar 2026 to 31 May 2026"
    by: str  # day or month


class Usage(msgspec.Struct):
    account: str
    time_zone: str
    as_of: datetime
    current: int  # now, whatever the period
    total: int
    daily_average: float  # over the period
    daily_max: int  # over the period
    licenses_needed: int  # the peak demand over the period: with this many, none refused
    advice: str  # the right-sizing hint, in one sentence
    days: list[UsageDay]
    period: UsagePeriod
    months: list[UsageMonth]  # the true-up table, a row per calendar month of the period
    group: int | None  # the seat group asked for: the figures are of its sessions only
    group_name: str | None


@get(
    "/usage",
    summary="License usage over a period (the last 30 days by default), and the true-up table",
    security=ADMIN_TOKEN,
    responses=responses(*USAGE_REFUSALS),
    sync_to_thread=True,
)
def usage(
    runtime: RuntimeDep,
    now: Now,
    admin_user: ApiUser,
    account: FromPath[str],
    period: PERIOD = None,
    first: FROM = None,
    last: TO = None,
    by: BY = None,
    group: USAGE_GROUP = None,
) -> Usage:
    asked = periods.Asked(period, first, last, by)
    found = admin.account_usage(
        runtime.db, admin_user, account, now=now, asked=asked, group=validation.group_id(group)
    )
    return usage_body(found, now)


def usage_body(result: admin.AccountUsage, now: datetime) -> Usage:
    report, period = result.report, result.period
    return Usage(
        account=result.account.slug,
        time_zone=result.account.time_zone,
        as_of=shown.local(now, result.account),
        current=report.current,
        total=report.total,
        daily_average=round(report.daily_average, 2),
        daily_max=report.daily_max,
        licenses_needed=report.licenses_needed,
        advice=shown.usage_advice(report, period),
        days=[
            UsageDay(
                d.day,
                d.max_concurrent,
                d.denials,
                d.account_existed,
                d.minutes_at_cap,
                d.peak_demand,
                d.overdraft_peak,
                d.overdraft_minutes,
                d.waited,
                d.longest_wait_seconds,
                d.longest_seating_seconds,
            )
            for d in report.days
        ],
        period=UsagePeriod(period.first, period.last, period.name, period.label, result.step),
        months=[UsageMonth.of(m) for m in result.months],
        group=result.group,
        group_name=None if result.group is None else result.groups[result.group],
    )


usage_router = Router(
    path="/api/v1/accounts/{account:str}",
    route_handlers=[usage],
    dependencies=ADMIN_DEPENDENCIES,
    guards=ADMIN_GUARDS,
    tags=["Administration"],
)
