"""Account Settings: name, time zone, session timeout, Guests, how long usage rows are kept;
the license total and the overdraft (a super_admin's to change) and the total's history.
Every change is in the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from seatkeeper.domain import alerts as alert_rules
from seatkeeper.domain import pool, seating, validation
from seatkeeper.domain.errors import (
    Conflict,
    InvalidFields,
    InvalidInput,
    NotAllowed,
    ReservationsExceedLicenses,
)
from seatkeeper.domain.model import Account, LicenseChange, Role, SettingsChange, User
from seatkeeper.domain.words import plural
from seatkeeper.services import alerts
from seatkeeper.services.access import Actor, actor_name, audited, authorize
from seatkeeper.storage import accounts, sessions
from seatkeeper.storage import groups as stored_groups
from seatkeeper.storage.db import Database

SETTING_CHANGED = "setting_changed"


@dataclass(frozen=True, slots=True)
class AccountSettings:
    account: Account
    license_history: list[LicenseChange]  # latest first


CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": validation.display_name,
    "time_zone": lambda zone: validation.time_zone(zone).key,
    "session_timeout": validation.session_timeout,
    "licenses": validation.licenses,
    "overdraft": validation.overdraft,
    "alert_levels": alert_rules.check_levels,
    "max_interactions": validation.max_interactions,
    "retention_days": validation.retention_days,
}


def account_settings(db: Database, user: Actor, account_slug: str) -> AccountSettings:
    """The account's settings and license history (account_admin and higher)."""
    with db.read() as conn:
        account = authorize(conn, user, account_slug)
        return AccountSettings(account, accounts.license_history(conn, account.id))


def check(change: SettingsChange, *, problems: dict[str, str] | None = None) -> SettingsChange:
    """The change with each value checked; every field's problem is told at once, with the
    `problems` the caller found already (a form's field that is not even a number)."""
    values: dict[str, Any] = {}
    problems = dict(problems or {})
    for setting, value in change.given().items():
        try:
            values[setting] = CHECKS.get(setting, lambda v: v)(value)
        except InvalidInput as exc:
            problems[setting] = exc.message
    if problems:
        raise InvalidFields(problems)
    if not values:
        raise InvalidInput("Nothing to change: give at least one setting.")
    return SettingsChange(**values)


def change_settings(
    db: Database,
    user: Actor,
    account_slug: str,
    change: SettingsChange,
    *,
    now: datetime,
    source: str | None = None,
    expected: SettingsChange | None = None,
) -> AccountSettings:
    """Change an account's settings. Lowering licenses below use terminates no one.

    `expected`: the settings as the changer last saw them (a form, when it was opened);
    if someone changed any of them since, nothing is saved (Conflict)."""
    values = check(change).given()
    with db.write() as conn:
        account = accounts.lock_account(conn, authorize(conn, user, account_slug).id)
        if expected is not None:
            _check_unchanged(account, expected)
        changed = {k: v for k, v in values.items() if getattr(account, k) != v}
        if isinstance(user, User) and user.role is not Role.SUPER_ADMIN:
            _ensure_account_admin_may(changed)
        if "licenses" in changed and account.has_groups:
            _check_reservations(conn, account, changed["licenses"])
        if changed:
            _apply(conn, account, SettingsChange(**changed), user=user, now=now, source=source)
        return AccountSettings(
            accounts.account_by_id(conn, account.id), accounts.license_history(conn, account.id)
        )


SETTING_NAMES = {
    "name": "name",
    "time_zone": "time zone",
    "session_timeout": "session timeout",
    "guests_allowed": "Guests setting",
    "licenses": "license total",
    "overdraft": "overdraft",
    "max_interactions": "open Interactions per session",
    "retention_days": "days rows are kept",
}


def _ensure_account_admin_may(changed: dict[str, Any]) -> None:
    """Refuse an account admin a change of what only a Super Admin sets."""
    if "licenses" in changed:
        raise NotAllowed("Only a Super Admin changes the license total.")
    if "overdraft" in changed:
        raise NotAllowed("Only a Super Admin changes the overdraft.")


def _check_reservations(conn: Connection, account: Account, licenses: int) -> None:
    """Refuse a license total the groups' reservations add up to more than."""
    try:
        seating.check_reservations(licenses, stored_groups.total_reserved(conn, account.id))
    except ReservationsExceedLicenses as exc:
        raise InvalidFields({"licenses": exc.message}) from None


def _check_unchanged(account: Account, expected: SettingsChange) -> None:
    """Refuse a change made from settings that are no longer the account's."""
    stale = [k for k, v in expected.given().items() if getattr(account, k) != v]
    if stale:
        names = ", ".join(SETTING_NAMES.get(k, k.replace("_", " ")) for k in stale)
        raise Conflict(
            f"Someone else changed this account's settings ({names}) since you opened them: "
            "nothing was saved. Look at the current settings, then make your change again."
        )


def _apply(
    conn: Connection,
    account: Account,
    changed: SettingsChange,
    *,
    user: Actor,
    now: datetime,
    source: str | None,
) -> None:
    updated = accounts.update_account(conn, account.id, changed, at=now)
    if changed.session_timeout is not None:
        _apply_timeout(conn, updated, now)
    if changed.licenses is not None:
        accounts.record_licenses(conn, account.id, updated.licenses, at=now, actor=actor_name(user))
    for setting, value in changed.given().items():
        before = _shown(getattr(account, setting))
        audited(
            conn, account.id, SETTING_CHANGED, user, at=now, source=source,
            setting=setting, **{"from": before, "to": _shown(value)},
        )  # fmt: skip
    # New licenses or levels may cross a level, or fall back from one.
    alerts.check(conn, updated, sessions.count_open_sessions(conn, account.id, now), now)


def _shown(value: Any) -> Any:
    """A setting's value as the audit trail keeps it (JSON): timeouts in minutes, alert
    levels as people write them ("90,100")."""
    if isinstance(value, timedelta):
        return plural(value.total_seconds() / 60, "minute")
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return value


def _apply_timeout(conn: Connection, account: Account, now: datetime) -> None:
    """Open sessions follow a new timeout at once, counted from their last activity."""
    sessions.expire_overdue_sessions(conn, now, account_id=account.id)
    for session in sessions.open_sessions(conn, account.id):
        expires_at = pool.expiry_after_timeout_change(
            session.last_activity_at, account.session_timeout, now
        )
        sessions.set_session_expiry(conn, session.id, expires_at)
