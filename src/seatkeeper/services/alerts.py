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


def evaluate(db: Database, now: datetime) -> int:
    """Bring every account's alerts up to date with its use now (as use falls, or levels
    and licenses change); returns how many accounts changed. One read finds them."""
    with db.read() as conn:
        use = sessions.license_use(conn, now)
        raised = stored.active_by_account(conn)
        by_id = {a.id: a for a in accounts.all_accounts(conn)}
    changed = 0
    for account_id, _, in_use, licenses in use:
        account = by_id[account_id]
        todo = rules.changes(account.alert_levels, raised.get(account_id, ()), in_use, licenses)
        if not (todo[0] or todo[1]):
            continue
        with db.write() as conn:
            if not accounts.try_lock_account(conn, account_id):
                continue  # a claim holds it, and checks the alerts itself
            locked = accounts.account_by_id(conn, account_id)
            changed += check(conn, locked, sessions.count_open_sessions(conn, account_id, now), now)
    return changed


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
