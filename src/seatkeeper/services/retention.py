"""Retention: an account keeps its session, Interaction and refusal rows for its
`retention_days`; older ones are deleted, once the days they make are kept for good.

The horizon is the start (in the account's zone) of the day `retention_days` before
today. Before anything is deleted, every day from the oldest row to go up to the horizon
is computed and kept (usage days, and who held licenses and what shorter timeouts would
have done), and made final: never dropped or computed again, so that every report over
any period answers from them exactly as it did from the rows. Only days kept whole in
the account's current zone are made final; at the first day that could not be kept, the
deleting stops before it (a session still open since that day, or idle since before it
ended, leaves its figures unknown: the rows from that day on wait until it ends).

Then the rows go in small batches, one transaction each, so that no one waits long for
the database: Interactions and tokens of sessions ended before the horizon, those
sessions, then refusals before the horizon less the demand window (a day's demand
counts the refusals of the minutes before it began).

Never deleted: an open session, however old; the audit trail; a session an audit row
names (a termination's: the row says "who ended my session?" and keeps what was open,
so the session row stays and only its Interactions and tokens go: they are few).

A change of time zone after pruning: the final days stay as they were kept, in the zone
of their day. A report in the new zone shows, for a date whose rows are gone, the final
day the earlier zone kept for that date (see services.history); the new zone's days are
kept final only from the first one that begins after the earlier final days end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from seatkeeper.domain import usage
from seatkeeper.domain.model import Account
from seatkeeper.services import keeping
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import reports as stored_reports
from seatkeeper.storage import retention as stored
from seatkeeper.storage import usage as stored_usage
from seatkeeper.storage.db import Database

log = logging.getLogger("seatkeeper.retention")

ROWS = 500  # rows of each kind a transaction deletes: a short write, even on SQLite
BATCHES = 400  # transactions one periodic run may make, over every account
SECONDS = 60.0  # and how long it may take


class Budget:
    """How much one run may do: `batches` transactions deleting up to `rows` each, within
    `seconds` (None: no limit)."""

    def __init__(
        self,
        *,
        batches: int | None = BATCHES,
        rows: int = ROWS,
        seconds: float | None = SECONDS,
    ) -> None:
        self.rows = rows
        self._left = batches
        self._deadline = None if seconds is None else time.monotonic() + seconds

    @property
    def out_of_time(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    @property
    def spent(self) -> bool:
        return self._left == 0 or self.out_of_time

    def spend(self) -> None:
        """Count one batch that deleted rows (one that found nothing costs nothing)."""
        if self._left is not None:
            self._left -= 1


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one run deleted from one account."""

    account: Account
    sessions: int = 0
    interactions: int = 0
    refusals: int = 0
    finished: bool = True  # nothing deletable is left (the budget lasted)

    @property
    def rows(self) -> int:
        return self.sessions + self.interactions + self.refusals


def horizon(account: Account, now: datetime) -> datetime:
    """The start of the day `retention_days` before today, in the account's zone: rows of
    the days before it are deleted."""
    today = now.astimezone(account.zone).date()
    return usage.day_start(today - timedelta(days=account.retention_days), account.zone)


def prune(db: Database, now: datetime, *, budget: Budget | None = None) -> int:
    """The periodic task: delete, account by account, the rows their retention no longer
    keeps, within one budget; returns how many rows it deleted."""
    budget = budget or Budget()
    with db.read() as conn:
        everyone = stored_accounts.all_accounts(conn)
    deleted = 0
    for account in everyone:
        if budget.spent:
            break
        deleted += prune_account(db, account, now, budget=budget).rows
    return deleted


def prune_account(db: Database, account: Account, now: datetime, *, budget: Budget) -> Pruned:
    """Keep the account's days before its horizon for good, then delete their rows."""
    cutoff = _keep_for_good(db, account, now, budget)
    if cutoff is None:
        return Pruned(account)
    return _delete(db, account, cutoff, budget)


def _keep_for_good(
    db: Database, account: Account, now: datetime, budget: Budget
) -> datetime | None:
    """Keep and make final every day whose rows are to go; the instant before which rows
    may go (None: none may)."""
    tz, edge = account.zone, horizon(account, now)
    with db.read() as conn:
        oldest = stored.oldest_deletable(
            conn, account.id, ended_before=edge, denied_before=edge - usage.DEMAND_WINDOW
        )
        earlier = stored.pruned_through(conn, account.id, besides=account.time_zone)
    if oldest is None:
        return None
    first = oldest.astimezone(tz).date()
    if earlier is not None:  # the earlier zone's final days hold what came before
        first = max(first, _first_day_from(earlier, account))
    last = edge.astimezone(tz).date() - timedelta(days=1)
    keeping.keep_days(db, account, first, last, now, out_of_time=lambda: budget.out_of_time)
    with db.write() as conn:
        whole = _whole_days(conn, account, first, last)
        if whole is not None:
            stored.mark_final(conn, account.id, account.time_zone, first, whole)
            # Read again: a day another transaction dropped or kept anew meanwhile (on
            # PostgreSQL) is not final, and its rows stay.
            whole = _whole_days(conn, account, first, whole, final=True)
    if whole is None:
        return None if earlier is None else min(earlier, edge)
    return usage.day_start(whole + timedelta(days=1), tz)


def _first_day_from(instant: datetime, account: Account) -> date:
    """The first day of the account's zone that begins at `instant` or after."""
    day = instant.astimezone(account.zone).date()
    return day if usage.day_start(day, account.zone) >= instant else day + timedelta(days=1)


def _whole_days(
    conn: Connection, account: Account, first: date, last: date, *, final: bool = False
) -> date | None:
    """The last day of those from `first` on that are all kept whole in the account's
    zone, with their figures of who held licenses (and `final`), up to `last` (None: not
    even the first). A day with a session still open that could change its figures (one
    started that day, or idle since before it ended) cannot be kept yet."""
    kept = stored_usage.usage_days(conn, account.id, account.time_zone, first, last=last)
    figured = stored_reports.figured(conn, account.id, account.time_zone, first=first, last=last)
    day, whole = first, None
    while day <= last:
        row = kept.get(day)
        end = usage.day_start(day + timedelta(days=1), account.zone)
        if row is None or row.through != end or day not in figured or (final and not row.final):
            break
        whole, day = day, day + timedelta(days=1)
    return whole


Step = Callable[[Connection], tuple[int, ...]]


def _delete(db: Database, account: Account, cutoff: datetime, budget: Budget) -> Pruned:
    """Delete the rows before `cutoff`, a batch at a time while the budget lasts."""
    rows = budget.rows

    def sessions(conn: Connection) -> tuple[int, ...]:
        return stored.delete_sessions(conn, account.id, ended_before=cutoff, batch=rows)

    def audited(conn: Connection) -> tuple[int, ...]:
        return stored.delete_audited_interactions(conn, account.id, ended_before=cutoff, batch=rows)

    def refusals(conn: Connection) -> tuple[int, ...]:
        before = cutoff - usage.DEMAND_WINDOW
        return (stored.delete_denials(conn, account.id, before=before, batch=rows),)

    (ended, opened), done = _batches(db, budget, sessions, 2)
    (more, _), done_audited = _batches(db, budget, audited, 2) if done else ((0, 0), False)
    (refused,), all_done = _batches(db, budget, refusals, 1) if done_audited else ((0,), False)
    pruned = Pruned(account, ended, opened + more, refused, finished=all_done)
    if pruned.rows:
        log.info(
            "Deleted %d sessions, %d Interactions and %d refusals of %s before %s",
            ended, opened + more, refused, account.slug, cutoff.isoformat(),
        )  # fmt: skip
    return pruned


def _batches(db: Database, budget: Budget, step: Step, width: int) -> tuple[tuple[int, ...], bool]:
    """Run `step`, one transaction at a time, until it deletes nothing or the budget is
    spent: what it deleted in all, and whether it finished."""
    totals = (0,) * width
    while not budget.spent:
        with db.write() as conn:
            done = step(conn)
        if not any(done):
            return totals, True
        budget.spend()
        totals = tuple(a + b for a, b in zip(totals, done, strict=True))
    return totals, False
