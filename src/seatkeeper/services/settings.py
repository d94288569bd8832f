"""Account Settings: name, time zone, session timeout, Guests; the license total (a
super_admin's to change) and its history. Every change is in the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from seatkeeper.domain import alerts as alert_rules
from seatkeeper.domain import pool, validation
from seatkeeper.domain.errors import InvalidFields, InvalidInput, NotAllowed
from seatkeeper.domain.model import Account, LicenseChange, Role, User
from seatkeeper.services import alerts
from seatkeeper.services.admin import Actor, actor_id, actor_name, authorize
from seatkeeper.storage import accounts, audit, sessions
from seatkeeper.storage.db import Database

SETTING_CHANGED = "setting_changed"


@dataclass(frozen=True, slots=True)
class AccountSettings:
    account: Account
    license_history: list[LicenseChange]  # latest first


@dataclass(frozen=True, slots=True)
class Change:
    """Settings to change; None leaves a setting as it is."""

    name: str | None = None
    time_zone: str | None = None
    session_timeout: timedelta | None = None
    guests_allowed: bool | None = None
    licenses: int | None = None  # a super_admin's (or an operator's) to change
    console_enabled: bool | None = None
    alert_levels: Sequence[int] | None = None


CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": validation.display_name,
    "time_zone": lambda zone: validation.time_zone(zone).key,
    "session_timeout": validation.session_timeout,
    "licenses": validation.licenses,
    "alert_levels": alert_rules.check_levels,
}


def account_settings(db: Database, user: Actor, account_slug: str) -> AccountSettings:
    """The account's settings and license history (account_admin and higher)."""
    with db.read() as conn:
        account = authorize(conn, user, account_slug)
        return AccountSettings(account, accounts.license_history(conn, account.id))


def check(change: Change, *, problems: dict[str, str] | None = None) -> dict[str, Any]:
    """The values to set, each checked; every field's problem is told at once, with the
    `problems` the caller found already (a form's field that is not even a number)."""
    values: dict[str, Any] = {}
    problems = dict(problems or {})
    for field in fields(change):
        value = getattr(change, field.name)
        if value is None:
            continue
        try:
            values[field.name] = CHECKS.get(field.name, lambda v: v)(value)
        except InvalidInput as exc:
            problems[field.name] = exc.message
    if problems:
        raise InvalidFields(problems)
    if not values:
        raise InvalidInput("Nothing to change: give at least one setting.")
    return values


def change_settings(
    db: Database,
    user: Actor,
    account_slug: str,
    change: Change,
    *,
    now: datetime,
    source: str | None = None,
) -> AccountSettings:
    """Change an account's settings. Lowering licenses below use terminates no one."""
    values = check(change)
    with db.write() as conn:
        account = accounts.lock_account(conn, authorize(conn, user, account_slug).id)
        before = _stored(account)
        if "alert_levels" in values:
            values["alert_levels"] = ",".join(map(str, values["alert_levels"]))
        changed = {k: v for k, v in values.items() if before[k] != v}
        if "licenses" in changed and isinstance(user, User) and user.role is not Role.SUPER_ADMIN:
            raise NotAllowed("Only a Super Admin changes the license total.")
        if changed:
            _apply(conn, account, changed, before, user=user, now=now, source=source)
        return AccountSettings(
            accounts.account_by_id(conn, account.id), accounts.license_history(conn, account.id)
        )


def _stored(account: Account) -> dict[str, Any]:
    """The account's settings as `check` gives them, to compare."""
    return {
        "name": account.name,
        "time_zone": account.time_zone,
        "session_timeout": account.session_timeout,
        "guests_allowed": account.guests_allowed,
        "licenses": account.licenses,
        "console_enabled": account.console_enabled,
        "alert_levels": ",".join(map(str, account.alert_levels)),
    }


def _apply(
    conn: Connection,
    account: Account,
    changed: dict[str, Any],
    before: dict[str, Any],
    *,
    user: Actor,
    now: datetime,
    source: str | None,
) -> None:
    updated = accounts.update_account(conn, account.id, **changed)
    if "session_timeout" in changed:
        _apply_timeout(conn, updated, now)
    name = actor_name(user)
    if "licenses" in changed:
        accounts.record_licenses(conn, account.id, updated.licenses, at=now, actor=name)
    for setting, value in changed.items():
        audit.record(
            conn,
            account.id,
            SETTING_CHANGED,
            actor_id=actor_id(user),
            actor=name,
            at=now,
            source=source,
            details={"setting": setting, "from": _shown(before[setting]), "to": _shown(value)},
        )
    # New licenses or levels may cross a level, or fall back from one.
    alerts.check(conn, updated, sessions.count_open_sessions(conn, account.id, now), now)


def _shown(value: Any) -> Any:
    """A setting's value as the audit trail keeps it (JSON): timeouts in minutes."""
    if isinstance(value, timedelta):
        return f"{value.total_seconds() / 60:g} minutes"
    return value


def _apply_timeout(conn: Connection, account: Account, now: datetime) -> None:
    """Open sessions follow a new timeout at once, counted from their last activity."""
    sessions.expire_overdue_sessions(conn, now, account_id=account.id)
    for session in sessions.open_sessions(conn, account.id):
        expires_at = pool.expiry_after_timeout_change(
            session.last_activity_at, account.session_timeout, now
        )
        sessions.set_session_expiry(conn, session.id, expires_at)
