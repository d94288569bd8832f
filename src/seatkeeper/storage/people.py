"""Queries for the Users and Account Settings pages: users, one-time password links, and
the license history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from seatkeeper.domain.model import Role, User
from seatkeeper.storage.tables import license_changes, password_links, users


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user as the Users page lists them."""

    id: int
    username: str
    role: Role
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class LicenseChange:
    at: datetime
    licenses: int
    actor: str | None  # None for the total the account began with


def _row(r: Row[Any]) -> UserRow:
    return UserRow(r.id, r.username, Role(r.role), r.created_at, r.last_login_at, r.disabled_at)


def users_of(conn: Connection, account_id: int) -> list[UserRow]:
    """The account's users, by username."""
    rows = conn.execute(
        select(users).where(users.c.account_id == account_id).order_by(users.c.username)
    )
    return [_row(r) for r in rows]


def user_named(conn: Connection, account_id: int, username: str) -> UserRow | None:
    row = conn.execute(
        select(users).where(users.c.account_id == account_id, users.c.username == username)
    ).one_or_none()
    return None if row is None else _row(row)


def user_by_id(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).one_or_none()
    return (
        None
        if row is None
        else User(row.id, row.account_id, row.username, Role(row.role), row.disabled_at is not None)
    )


def enabled_admins(conn: Connection, account_id: int) -> int:
    """How many enabled account_admins the account has."""
    return conn.execute(
        select(func.count())
        .select_from(users)
        .where(
            users.c.account_id == account_id,
            users.c.role == Role.ACCOUNT_ADMIN.value,
            users.c.disabled_at.is_(None),
        )
    ).scalar_one()


def set_role(conn: Connection, user_id: int, role: Role) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(role=role.value))


def set_disabled(conn: Connection, user_id: int, at: datetime | None) -> None:
    """Disable the user from `at`, or enable them again (None)."""
    conn.execute(update(users).where(users.c.id == user_id).values(disabled_at=at))


def record_login(conn: Connection, user_id: int, at: datetime) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(last_login_at=at))


def insert_password_link(
    conn: Connection, *, user_id: int, token_hash: str, now: datetime, expires_at: datetime
) -> None:
    """A new one-time link for the user; their earlier unused links stop working."""
    conn.execute(
        update(password_links)
        .where(password_links.c.user_id == user_id, password_links.c.used_at.is_(None))
        .values(used_at=now)
    )
    conn.execute(
        password_links.insert().values(
            token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at
        )
    )


def use_password_link(conn: Connection, token_hash: str, now: datetime) -> int | None:
    """Spend a link that is unused and unexpired: the id of its user, or None."""
    return conn.execute(
        update(password_links)
        .where(
            password_links.c.token_hash == token_hash,
            password_links.c.used_at.is_(None),
            password_links.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(password_links.c.user_id)
    ).scalar_one_or_none()


def password_link_user(conn: Connection, token_hash: str, now: datetime) -> int | None:
    """The user of a link that is still good, without spending it."""
    return conn.execute(
        select(password_links.c.user_id).where(
            password_links.c.token_hash == token_hash,
            password_links.c.used_at.is_(None),
            password_links.c.expires_at > now,
        )
    ).scalar_one_or_none()


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
