"""Housekeeping: recording timed-out sessions, which every instance does now and then."""

from __future__ import annotations

from datetime import datetime

from seatkeeper.services import alerts
from seatkeeper.storage import accounts, sessions
from seatkeeper.storage.db import Database


def sweep_expired(db: Database, *, now: datetime) -> int:
    """Record as timed out every session past its expiry; returns how many ended.

    One account at a time, under its lock, as seat claims and terminations take it: an
    account another transaction holds is skipped (that transaction sweeps it, or the
    next sweep does), so sweeps on every instance at once neither wait nor deadlock,
    and each session ends exactly once, at last activity + timeout. The capacity alerts
    use fell below clear in the same transaction.
    """
    with db.read() as conn:
        account_ids = sessions.accounts_with_overdue_sessions(conn, now)
    ended = 0
    for account_id in account_ids:
        with db.write() as conn:
            if not accounts.try_lock_account(conn, account_id):
                continue
            expired = sessions.expire_overdue_sessions(conn, now, account_id=account_id)
            if expired:
                alerts.settle(conn, account_id, now)
            ended += expired
    return ended
