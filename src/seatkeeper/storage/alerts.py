"""Capacity alerts as stored: raised rows, cleared in place when use falls back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from seatkeeper.domain.alerts import Alert
from seatkeeper.domain.events import AccountChanged
from seatkeeper.storage.tables import capacity_alerts
from seatkeeper.storage.unit import record


def _alert(row: object) -> Alert:
    return Alert(*(getattr(row, c.name) for c in capacity_alerts.c if c.name != "account_id"))


def active(conn: Connection, account_id: int) -> dict[int, Alert]:
    """The account's alerts not cleared yet, by level."""
    rows = conn.execute(_ACTIVE, {"account_id": account_id})
    return {row.level: _alert(row) for row in rows}


# Built once: a claim near the alert levels reads it.
_ACTIVE = select(capacity_alerts).where(
    capacity_alerts.c.account_id == bindparam("account_id"), capacity_alerts.c.cleared_at.is_(None)
)


def active_by_account(conn: Connection) -> dict[int, set[int]]:
    """Every account's active alert levels."""
    c = capacity_alerts.c
    found: dict[int, set[int]] = {}
    for account_id, level in conn.execute(
        select(c.account_id, c.level).where(c.cleared_at.is_(None))
    ):
        found.setdefault(account_id, set()).add(level)
    return found


def since(conn: Connection, account_id: int, at: datetime) -> list[Alert]:
    """The account's alerts raised since `at`, or still active; the latest first."""
    c = capacity_alerts.c
    rows = conn.execute(
        select(capacity_alerts)
        .where(c.account_id == account_id, (c.raised_at >= at) | c.cleared_at.is_(None))
        .order_by(c.raised_at.desc(), c.id.desc())
    )
    return [_alert(row) for row in rows]


def raise_alert(
    conn: Connection, account_id: int, level: int, licenses: int, in_use: int, at: datetime
) -> None:
    record(conn, AccountChanged(account_id, at))  # the page shows its banner at once
    conn.execute(
        capacity_alerts.insert().values(
            account_id=account_id,
            level=level,
            licenses=licenses,
            raised_at=at,
            raised_in_use=in_use,
        )
    )


def clear_alert(conn: Connection, alert_id: int, in_use: int, at: datetime) -> None:
    cleared = conn.execute(
        update(capacity_alerts)
        .where(capacity_alerts.c.id == alert_id, capacity_alerts.c.cleared_at.is_(None))
        .values(cleared_at=at, cleared_in_use=in_use)
        .returning(capacity_alerts.c.account_id)
    ).scalar_one_or_none()
    if cleared is not None:
        record(conn, AccountChanged(cleared, at))  # the page drops its banner at once
