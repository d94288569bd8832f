"""Admin-side use cases: who may act on which account, the Active Agents grid,
terminating sessions, and usage figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection

from seatkeeper.clock import Clock
from seatkeeper.domain import periods, trueup, usage
from seatkeeper.domain.alerts import Alert
from seatkeeper.domain.errors import InvalidInput
from seatkeeper.domain.model import Account, EndedSession, EndReason, GridRow, GridView, User
from seatkeeper.domain.periods import Period, Step
from seatkeeper.domain.trueup import MonthUsage
from seatkeeper.domain.usage import UsageReport
from seatkeeper.services import alerts, history, line
from seatkeeper.services.access import Actor, actor_id, actor_name, authorize
from seatkeeper.storage import accounts, audit, sessions
from seatkeeper.storage import alerts as stored_alerts
from seatkeeper.storage import grid as stored_grid
from seatkeeper.storage.db import Database


@dataclass(frozen=True, slots=True)
class Grid:
    account: Account
    rows: list[GridRow]  # the page asked for
    total: int  # sessions matching the search, on every page (at least, when not exact)
    exact: bool  # False: more match than the grid counts, `total` is its cap
    groups: dict[int, str] = field(default_factory=dict)  # the account's seat groups, by name


def active_sessions(
    db: Database, user: Actor, account_slug: str, *, view: GridView, now: datetime
) -> Grid:
    """The Active Agents grid: one row per open session, a page at a time."""
    with db.read() as conn:
        return _grid(conn, authorize(conn, user, account_slug), view=view, now=now)


def _grid(conn: Connection, account: Account, *, view: GridView, now: datetime) -> Grid:
    """The grid of an account the actor may see; a group asked for must be one of its own."""
    groups = account_groups(conn, account, view.group)
    rows, total, exact = stored_grid.active_session_rows(
        conn, account.id, now=now, view=view, groups=groups
    )
    return Grid(account, rows, total, exact, groups)


def account_groups(conn: Connection, account: Account, wanted: int | None) -> dict[int, str]:
    """The account's seat groups' names by id (none read when it has none); `wanted`, when
    given, must be one of them."""
    groups = stored_grid.group_names(conn, account.id) if account.has_groups else {}
    if wanted is not None and wanted not in groups:
        raise InvalidInput(f"The account {account.slug} has no seat group {wanted}.")
    return groups


@dataclass(frozen=True, slots=True)
class Termination:
    terminated: list[UUID]
    already_ended: list[UUID]
    not_found: list[UUID]


def terminate_sessions(
    db: Database,
    user: Actor,
    account_slug: str,
    session_ids: Sequence[UUID],
    *,
    clock: Clock,
    source: str | None = None,
) -> Termination:
    """Close these sessions at once and free their licenses; each termination is recorded
    in the audit trail with who made it, from where, and what was open."""
    wanted = list(dict.fromkeys(session_ids))
    with db.write() as conn:
        account = accounts.lock_account(conn, authorize(conn, user, account_slug).id)
        found = sessions.sessions_by_id(conn, account.id, wanted, lock=True)
        # Read under both locks: no call for these sessions can land after `now`.
        now = clock.now()
        overdue = sessions.expire_overdue_sessions(conn, now, account_id=account.id)
        was_open = audit.what_was_open(
            conn, [s for s in wanted if s in found and found[s].ended_at is None]
        )
        by = actor_id(user)
        terminated = [
            session_id
            for session_id in wanted
            if session_id in found
            and sessions.end_session(conn, session_id, at=now, reason=EndReason.TERMINATED, by=by)
        ]
        audit.record_terminations(
            conn,
            account.id,
            actor_id=by,
            actor=actor_name(user),
            at=now,
            source=source,
            sessions={s: was_open[s] for s in terminated},
        )
        if terminated or overdue:
            alerts.settle(conn, account.id, now)
    done = set(terminated)
    return Termination(
        terminated=terminated,
        already_ended=[s for s in wanted if s in found and s not in done],
        not_found=[s for s in wanted if s not in found],
    )


RECENT = timedelta(days=7)  # how far back the Recently ended view goes


@dataclass(frozen=True, slots=True)
class RecentlyEnded:
    account: Account
    rows: list[EndedSession]  # this page's
    total: int  # on every page


def recently_ended(
    db: Database,
    user: Actor,
    account_slug: str,
    *,
    reason: EndReason | None,
    page: int,
    per_page: int,
    now: datetime,
) -> RecentlyEnded:
    """The account's sessions that ended in the past 7 days, the latest end first."""
    with db.read() as conn:
        account = authorize(conn, user, account_slug)
        rows, total = audit.ended_sessions(
            conn, account.id, since=now - RECENT, reason=reason, page=page, per_page=per_page
        )
    return RecentlyEnded(account, rows, total)


@dataclass(frozen=True, slots=True)
class AccountUsage:
    account: Account
    report: usage.UsageReport
    period: Period
    step: Step  # the graph's and the download's: a bar (or row) a day, or a month
    groups: dict[int, str] = field(default_factory=dict)  # the account's seat groups
    group: int | None = None  # the figures are of this group's sessions only

    @property
    def months(self) -> tuple[MonthUsage, ...]:
        """The true-up table: the report's days by calendar month."""
        return trueup.months(self.report.days)


def account_usage(
    db: Database,
    user: Actor,
    account_slug: str,
    *,
    now: datetime,
    asked: periods.Asked = periods.LAST_30_DAYS,
    group: int | None = None,
) -> AccountUsage:
    """Current, Daily Average, Daily Max and the daily peaks of the period asked for (the
    last 30 days unless asked), in the account's time zone; with `group`, of the sessions
    that counted under that seat group only."""
    fresh: list[usage.UsageDay] = []
    with db.read() as conn:
        account = authorize(conn, user, account_slug)
        groups = account_groups(conn, account, group)
        period = asked.period(now.astimezone(account.zone).date())
        if group is None:
            report, fresh = history.usage_report(conn, account, now, period=period)
            report = history.with_line(conn, account, report, period=period)
        else:
            report = history.group_usage_report(conn, account, now, period=period, group_id=group)
    history.keep(db, account, fresh)
    return AccountUsage(account, report, period, asked.step(period), groups, group)


@dataclass(frozen=True, slots=True)
class Overview:
    """The Active Agents page: the grid and the usage figures, as of one instant."""

    grid: Grid
    usage: AccountUsage
    alerts: list[Alert]  # active capacity alerts
    waiting: line.Line  # who waits for a license, now

    @property
    def report(self) -> UsageReport:
        return self.usage.report


def overview(
    db: Database,
    user: User,
    account_slug: str,
    *,
    view: GridView,
    now: datetime,
    asked: periods.Asked = periods.LAST_30_DAYS,
) -> Overview:
    """The grid and the usage of the Active Agents page, read in one transaction."""
    with db.read() as conn:
        account = authorize(conn, user, account_slug)
        period = asked.period(now.astimezone(account.zone).date())
        grid = _grid(conn, account, view=view, now=now)
        report, fresh = history.usage_report(conn, account, now, period=period)
        report = history.with_line(conn, account, report, period=period)
        active = sorted(stored_alerts.active(conn, account.id).values(), key=lambda a: a.level)
        waiting = line.line_of(conn, account, now)
    history.keep(db, account, fresh)
    found = AccountUsage(account, report, period, asked.step(period))
    return Overview(grid, found, active, waiting)


def account_alerts(
    db: Database, user: Actor, account_slug: str, *, now: datetime
) -> tuple[Account, list[Alert]]:
    """The account's capacity alerts: active ones, and those raised in the past 7 days."""
    with db.read() as conn:
        account = authorize(conn, user, account_slug)
        return account, alerts.recent(conn, account, now)
