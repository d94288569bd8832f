"""Capacity alerts: raised as a claim crosses a level, cleared as use falls back."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from seatkeeper.domain import alerts as rules
from seatkeeper.domain.alerts import Alert
from seatkeeper.domain.model import Account
from seatkeeper.storage import accounts, sessions
from seatkeeper.storage import alerts as stored
from seatkeeper.storage import webhooks as hooks
from seatkeeper.storage.db import Database

RECENT = timedelta(days=7)


def check(conn: Connection, account: Account, in_use: int, now: datetime) -> bool:
    """Raise and clear the account's alerts for `in_use` sessions now (hold its lock).
    True if any changed."""
    active = stored.active(conn, account.id)
    to_raise, to_clear = rules.changes(account.alert_levels, active, in_use, account.licenses)
    for level in to_raise:
        stored.raise_alert(conn, account.id, level, account.licenses, in_use, now)
        _announce(conn, "capacity_alert.raised", account, level, in_use, now)
    for level in to_clear:
        stored.clear_alert(conn, active[level].id, in_use, now)
        _announce(conn, "capacity_alert.cleared", account, level, in_use, now)
    return bool(to_raise or to_clear)


def claimed(conn: Connection, account: Account, in_use: int, now: datetime) -> None:
    """A claim took use to `in_use`: raise what it reached. Below the lowest level a claim
    can raise nothing, and it reads nothing (claims are frequent)."""
    levels = account.alert_levels
    if levels and in_use >= min(rules.raised_at(level, account.licenses) for level in levels):
        check(conn, account, in_use, now)


def released(conn: Connection, account: Account, before: int, after: int, now: datetime) -> None:
    """Logouts took use from `before` sessions (counting those not yet ended) to `after`:
    clear what it fell below. Unless it crossed a level's clearing point no alert can
    clear, and it reads nothing (logouts are as frequent as claims)."""
    if rules.may_clear(account.alert_levels, account.licenses, before, after):
        check(conn, account, after, now)


def settle(conn: Connection, account_id: int, now: datetime) -> bool:
    """Sessions ended (terminated, timed out, signed out): bring the account's alerts up to
    date with its use now, counted (hold its lock). True if any changed."""
    account = accounts.account_by_id(conn, account_id)
    return check(conn, account, sessions.count_open_sessions(conn, account_id, now), now)


def evaluate(db: Database, now: datetime) -> int:
    """Clear the alerts whose accounts' use has fallen back, as their sessions time out
    unnoticed; returns how many accounts changed. The timed-out sessions are ended in the
    transaction that clears. With no alert active it is one small read, so every instance
    runs it every second (claims, logouts and terminations clear in their own transaction)."""
    with db.read() as conn:
        raised = stored.active_by_account(conn)
        due = [
            account_id
            for account_id, levels in raised.items()
            if _fallen(conn, account_id, levels, now)
        ]
    changed = 0
    for account_id in due:
        with db.write() as conn:
            if not accounts.try_lock_account(conn, account_id):
                continue  # a claim, logout or sweep holds it: the next evaluation is a second away
            sessions.expire_overdue_sessions(conn, now, account_id=account_id)
            changed += settle(conn, account_id, now)
    return changed


def _fallen(conn: Connection, account_id: int, levels: set[int], now: datetime) -> bool:
    """Whether the account's use now clears one of these active levels (or one no longer wanted)."""
    account = accounts.account_by_id(conn, account_id)
    in_use = sessions.count_open_sessions(conn, account_id, now)
    return bool(rules.changes(account.alert_levels, levels, in_use, account.licenses)[1])


def recent(conn: Connection, account: Account, now: datetime) -> list[Alert]:
    return stored.since(conn, account.id, now - RECENT)


def _announce(
    conn: Connection, event: str, account: Account, level: int, in_use: int, now: datetime
) -> None:
    """A delivery to each of the account's webhooks, sent once this transaction commits."""
    payload = {
        "event": event,
        "account": account.slug,
        "level": level,
        "licenses": account.licenses,
        "in_use": in_use,
        "at": now.isoformat(),
    }
    hooks.enqueue(conn, account.id, event, payload, now)
