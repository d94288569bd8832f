"""Who held licenses and timeout waste over any period: each day's figures are computed
once from the session rows and kept beside its usage day (so that they outlive the rows
the retention task deletes); days not kept yet are computed as they are asked for."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seatkeeper.domain import holders as figures
from seatkeeper.domain.errors import InvalidSort
from seatkeeper.domain.holders import GUESTS, DayFigures, HolderRow, HolderSort
from seatkeeper.domain.model import GUEST, Account
from seatkeeper.domain.periods import Asked, Period
from seatkeeper.domain.usage import UsageDay, day_start
from seatkeeper.domain.waste import Waste, hint, waste
from seatkeeper.services import history
from seatkeeper.services.access import Actor, authorize
from seatkeeper.storage import reports as stored
from seatkeeper.storage import usage as stored_usage
from seatkeeper.storage.db import Database

log = logging.getLogger("seatkeeper.reports")
ONE_DAY = timedelta(days=1)
GUESTS_NAME = f"{GUEST}s"  # every Guest session, as one line


def _period(account: Account, asked: Period | Asked, now: datetime) -> Period:
    """The period asked for, in the account's calendar."""
    if isinstance(asked, Period):
        return asked
    return asked.period(now.astimezone(account.zone).date())


def _bounds(account: Account, day: date) -> tuple[datetime, datetime]:
    return day_start(day, account.zone), day_start(day + ONE_DAY, account.zone)


def _compute(
    conn: Connection,
    account: Account,
    day: date,
    *,
    now: datetime,
    before: UsageDay | None,
) -> tuple[DayFigures, bool]:
    """The day's figures from the session rows, and whether they are final. `before`, the
    day before's kept usage day, says how many sessions held a license as it began."""
    start, end = _bounds(account, day)
    whole = before is not None and before.through == start
    spans = stored.day_spans(
        conn,
        account.id,
        start=start,
        end=end,
        now=now,
        open_at_start=before.open_at_through if whole and before else None,
    )
    found = figures.day_figures(day, spans, start=start, end=end, now=now)
    return found, figures.settled(spans, start=start, end=end, now=now)


def keep_days(db: Database, account: Account, *, first: date, last: date, now: datetime) -> int:
    """Compute and keep the figures of every day in [first, last] whose usage day is kept
    whole and whose figures are final but not kept yet (before the retention task deletes
    its rows). Returns how many days it kept."""
    with db.read() as conn:
        days = stored_usage.usage_days(
            conn, account.id, account.time_zone, first - ONE_DAY, last=last
        )
        done = stored.figured(conn, account.id, account.time_zone, first=first, last=last)
    kept = 0
    for day in sorted(days):
        row = days[day]
        if day < first or day in done or row.final or row.through != _bounds(account, day)[1]:
            continue
        with db.read() as conn:
            found, final = _compute(conn, account, day, now=now, before=days.get(day - ONE_DAY))
            if final and found.peak != row.max_concurrent:
                # The usage day disagrees with the rows (they changed, or the count of those
                # held through the day was off): read every earlier session to be sure.
                found, final = _compute(conn, account, day, now=now, before=None)
        if not final or found.peak != row.max_concurrent:
            continue
        kept += _keep(db, account, found)
    return kept


def _keep(db: Database, account: Account, found: DayFigures) -> int:
    try:
        with db.write() as conn:
            stored.store_figures(conn, account.id, account.time_zone, [found])
    except IntegrityError:
        # Kept by another transaction at the same moment, or its usage day was dropped
        # meanwhile (a write in the past): either way, nothing to keep now.
        log.info("Figures of %s for account %s were not kept", found.day, account.slug)
        return 0
    return 1


def period_days(
    db: Database, account: Account, period: Period, *, now: datetime
) -> list[DayFigures]:
    """The figures of every day of the period that has begun, to be summed: the kept ones
    already summed by the database (one entry), the rest (today, days still settling) from
    the session rows."""
    history.keep_period(db, account, period, now)
    keep_days(db, account, first=period.first, last=period.last, now=now)
    with db.read() as conn:
        kept, summed = stored.figured_sum(
            conn, account.id, account.time_zone, first=period.first, last=period.last
        )
        usage_days = stored_usage.usage_days(
            conn, account.id, account.time_zone, period.first - ONE_DAY, last=period.last
        )
        # A date whose rows are gone in this zone, after a change of zone: as the earlier
        # zone kept it (as the usage report shows it, see services.history).
        earlier = stored.earlier_figured_days(
            conn, account.id, account.time_zone, first=period.first, last=period.last
        )
        found = [] if kept is None else [kept]
        for day in period.days:
            if day in summed:
                continue
            if day in earlier:
                found.append(earlier[day])
            elif _bounds(account, day)[0] <= now:
                before = usage_days.get(day - ONE_DAY)
                found.append(_compute(conn, account, day, now=now, before=before)[0])
    return found


@dataclass(frozen=True, slots=True)
class Holders:
    account: Account
    period: Period
    rows: list[HolderRow]
    sort: HolderSort
    descending: bool


def holder_order(sort: str | None, order: str | None) -> tuple[HolderSort, bool]:
    """The holders' list's sort and whether it is descending (by license-hours, most
    first, unless asked), or a refusal that names the choices."""
    chosen = next((s for s in figures.HOLDER_SORTS if s == (sort or "license_hours")), None)
    if chosen is None:
        choices = ", ".join(figures.HOLDER_SORTS)
        raise InvalidSort(f"The holders can be sorted by {choices}.")
    if order not in (None, "", "asc", "desc"):
        raise InvalidSort("The order must be asc or desc.")
    return chosen, (order or ("asc" if chosen == "agent" else "desc")) == "desc"


def holders(
    db: Database,
    user: Actor,
    account_slug: str,
    *,
    period: Period | Asked,
    sort: str | None = None,
    order: str | None = None,
    now: datetime,
) -> Holders:
    """Agents (and the Guests, as one line) by the license time they held in the period,
    with their sessions, the longest of them and the time idle before a timeout."""
    column, descending = holder_order(sort, order)
    account, asked, days = _days_of(db, user, account_slug, period, now)
    return _holders(db, account, asked, days, column=column, descending=descending)


def _holders(
    db: Database,
    account: Account,
    period: Period,
    days: list[DayFigures],
    *,
    column: HolderSort,
    descending: bool,
) -> Holders:
    held = figures.holdings(days)
    with db.read() as conn:
        names = stored.holder_names(conn, account.id, [h.holder for h in held])
    rows = [
        HolderRow(GUESTS_NAME if h.holder == GUESTS else names.get(h.holder, f"#{h.holder}"), h)
        for h in held
    ]
    ranked = figures.ordered(rows, column, descending=descending)
    return Holders(account, period, ranked, column, descending)


@dataclass(frozen=True, slots=True)
class TimeoutWaste:
    account: Account
    period: Period
    waste: Waste
    hint: str


def timeout_waste(
    db: Database, user: Actor, account_slug: str, *, period: Period | Asked, now: datetime
) -> TimeoutWaste:
    """The license time sessions held waiting for their timeout in the period, and what
    each shorter timeout would have freed and made of the peak."""
    account, asked, days = _days_of(db, user, account_slug, period, now)
    return _waste(account, asked, days)


def holders_and_waste(
    db: Database,
    user: Actor,
    account_slug: str,
    *,
    period: Period | Asked,
    sort: str | None = None,
    order: str | None = None,
    now: datetime,
) -> tuple[Holders, TimeoutWaste]:
    """Both reports of one period, from one reading of its days (the License Holders page)."""
    column, descending = holder_order(sort, order)
    account, asked, days = _days_of(db, user, account_slug, period, now)
    return (
        _holders(db, account, asked, days, column=column, descending=descending),
        _waste(account, asked, days),
    )


def _days_of(
    db: Database, user: Actor, account_slug: str, period: Period | Asked, now: datetime
) -> tuple[Account, Period, list[DayFigures]]:
    """The account (once the user may read it), the period asked for in its calendar, and
    the period's day figures."""
    with db.read() as conn:
        account = authorize(conn, user, account_slug)
    chosen = _period(account, period, now)
    return account, chosen, period_days(db, account, chosen, now=now)


def _waste(account: Account, period: Period, days: list[DayFigures]) -> TimeoutWaste:
    found = waste(days, timeout=account.session_timeout)
    return TimeoutWaste(account, period, found, hint(found))
