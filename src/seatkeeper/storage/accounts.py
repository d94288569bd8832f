"""Accounts and their license history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, update

from seatkeeper.domain.events import AccountChanged
from seatkeeper.domain.model import Account, LicenseChange, SettingsChange
from seatkeeper.storage.tables import accounts, license_changes
from seatkeeper.storage.unit import record


def account_of(row: Row[Any]) -> Account:
    """An account as its row stores it."""
    return Account(
        id=row.id,
        slug=row.slug,
        name=row.name,
        licenses=row.licenses,
        time_zone=row.time_zone,
        session_timeout=timedelta(seconds=row.session_timeout_seconds),
        guests_allowed=row.guests_allowed,
        created_at=row.created_at,
        console_enabled=row.console_enabled,
        alert_levels=tuple(int(level) for level in row.alert_levels.split(",") if level),
        max_interactions=row.max_interactions,
        retention_days=row.retention_days,
        overdraft=row.overdraft,
        has_groups=row.has_groups,
    )


def insert_account(
    conn: Connection,
    *,
    slug: str,
    name: str,
    licenses: int,
    time_zone: str,
    session_timeout: timedelta,
    guests_allowed: bool,
    created_at: datetime,
    console_enabled: bool = False,
) -> Account:
    """Create an account."""
    row = conn.execute(
        accounts.insert()
        .values(
            slug=slug,
            name=name,
            licenses=licenses,
            time_zone=time_zone,
            session_timeout_seconds=int(session_timeout.total_seconds()),
            guests_allowed=guests_allowed,
            created_at=created_at,
            console_enabled=console_enabled,
        )
        .returning(*accounts.c)
    ).one()
    return account_of(row)


def account_by_slug(conn: Connection, slug: str) -> Account | None:
    """The account with this slug."""
    row = conn.execute(select(accounts).where(accounts.c.slug == slug)).one_or_none()
    return None if row is None else account_of(row)


def account_by_id(conn: Connection, account_id: int) -> Account:
    """The account with this id."""
    return account_of(conn.execute(select(accounts).where(accounts.c.id == account_id)).one())


def lock_account(conn: Connection, account_id: int) -> Account:
    """Read an account and lock its row until the transaction ends.

    On PostgreSQL (READ COMMITTED) this serializes seat claims per account; on SQLite
    the transaction already holds the database's write lock (BEGIN IMMEDIATE). The lock is
    FOR NO KEY UPDATE: it excludes every other holder, but not the foreign-key checks of
    rows that name the account (FOR KEY SHARE), which a call for one session makes when it
    writes its session row twice; with FOR UPDATE such a call, holding its session, waits
    for a holder of the account who waits for that session.
    """
    return account_of(conn.execute(_LOCK, {"account_id": account_id}).one())


# Built once: every batch of claims runs it.
_LOCK = (
    select(accounts).where(accounts.c.id == bindparam("account_id")).with_for_update(key_share=True)
)


def try_lock_account(conn: Connection, account_id: int) -> bool:
    """Lock the account's row unless another transaction holds it (then: False, at once)."""
    found = conn.execute(
        select(accounts.c.id)
        .where(accounts.c.id == account_id)
        .with_for_update(skip_locked=True, key_share=True)
    ).first()
    return found is not None


def all_accounts(conn: Connection) -> list[Account]:
    """Every account, by slug."""
    return [account_of(r) for r in conn.execute(select(accounts).order_by(accounts.c.slug))]


def update_account(
    conn: Connection, account_id: int, change: SettingsChange, *, at: datetime
) -> Account:
    """Change an account's settings, each stored as its column keeps it."""
    columns = change.given()
    if change.session_timeout is not None:
        columns["session_timeout_seconds"] = int(columns.pop("session_timeout").total_seconds())
    if change.alert_levels is not None:
        columns["alert_levels"] = ",".join(map(str, change.alert_levels))
    row = conn.execute(
        update(accounts).where(accounts.c.id == account_id).values(columns).returning(*accounts.c)
    ).one()
    record(conn, AccountChanged(account_id, at))
    return account_of(row)


def record_licenses(
    conn: Connection, account_id: int, licenses: int, *, at: datetime, actor: str | None
) -> None:
    conn.execute(
        license_changes.insert().values(
            account_id=account_id, at=at, licenses=licenses, actor=actor
        )
    )


def license_history(conn: Connection, account_id: int) -> list[LicenseChange]:
    """Every license total the account has had, latest first."""
    rows = conn.execute(
        select(license_changes)
        .where(license_changes.c.account_id == account_id)
        .order_by(license_changes.c.at.desc(), license_changes.c.id.desc())
    )
    return [LicenseChange(r.at, r.licenses, r.actor) for r in rows]
