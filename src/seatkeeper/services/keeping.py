"""The periodic task that keeps, in the background, every day the session rows still hold:
its usage figures and who held licenses, so that a report over a long period (after an
upgrade, or for the first time) reads kept days instead of computing them while an admin
waits. The Active Agents page's 30 days are kept by `history.warm`, the days before the
retention horizon by the retention task; this task keeps the ones between."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from seatkeeper.domain.model import Account
from seatkeeper.domain.periods import MOST_DAYS, Period
from seatkeeper.services import history, reports
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import reports as stored_reports
from seatkeeper.storage.db import Database

CHUNK = timedelta(days=31)  # days kept at once, oldest first, between looks at the time


class KeepingDays:
    """The task: `run(db, now)` keeps days until `budget` has passed and answers how many
    it kept. It remembers, for this process, which accounts are kept up to yesterday, so a
    run that finds nothing new costs nothing."""

    def __init__(self, *, budget: timedelta = timedelta(seconds=10)) -> None:
        self.budget = budget
        self._through: dict[int, date] = {}  # account id: kept up to this day

    def run(self, db: Database, now: datetime) -> int:
        deadline = time.monotonic() + self.budget.total_seconds()
        with db.read() as conn:
            everyone = stored_accounts.all_accounts(conn)
        kept = 0
        for account in everyone:
            yesterday = now.astimezone(account.zone).date() - timedelta(days=1)
            if self._through.get(account.id) == yesterday:
                continue
            done, count = _keep(db, account, now, last=yesterday, deadline=deadline)
            kept += count
            if not done:
                break
            self._through[account.id] = yesterday
        return kept


def _keep(
    db: Database, account: Account, now: datetime, *, last: date, deadline: float
) -> tuple[bool, int]:
    """Keep the account's days from its oldest session row's (three years at most) up to
    `last`; whether it got there before `deadline`, and how many days it kept."""
    with db.read() as conn:
        oldest = stored_reports.first_start(conn, account.id)
    if oldest is None:
        return True, 0
    first = max(oldest.astimezone(account.zone).date(), last - timedelta(days=MOST_DAYS - 1))
    return keep_days(db, account, first, last, now, out_of_time=lambda: time.monotonic() > deadline)


def keep_days(
    db: Database,
    account: Account,
    first: date,
    last: date,
    now: datetime,
    *,
    out_of_time: Callable[[], bool],
) -> tuple[bool, int]:
    """Keep the days from `first` to `last` (their usage and who held licenses), a chunk at
    a time, oldest first, until `out_of_time`; whether all were done, and how many usage
    days were kept."""
    kept = 0
    while first <= last:
        if out_of_time():
            return False, kept
        chunk = Period(first, min(first + CHUNK - timedelta(days=1), last))
        kept += history.keep_period(db, account, chunk, now)
        reports.keep_days(db, account, first=chunk.first, last=chunk.last, now=now)
        first = chunk.last + timedelta(days=1)
    return True, kept
