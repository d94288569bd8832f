"""Users: who they are, their roles, logins and one-time password links."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, or_, select, update

from seatkeeper.domain.credentials import username_key
from seatkeeper.domain.model import Role, User, UserRow
from seatkeeper.storage.tables import password_links, users


def user_of(row: Row[Any]) -> User:
    """A user as their row stores them."""
    return User(
        id=row.id,
        account_id=row.account_id,
        username=row.username,
        role=Role(row.role),
        disabled=row.disabled_at is not None,
    )


def user_row_of(r: Row[Any]) -> UserRow:
    """A user as the Users page lists them."""
    return UserRow(r.id, r.username, Role(r.role), r.created_at, r.last_login_at, r.disabled_at)


def insert_user(
    conn: Connection,
    *,
    account_id: int,
    username: str,
    password_hash: str,
    role: Role,
    created_at: datetime,
) -> User:
    """Create a user."""
    row = conn.execute(
        users.insert()
        .values(
            account_id=account_id,
            username=username,
            username_key=username_key(username),
            password_hash=password_hash,
            role=role.value,
            created_at=created_at,
        )
        .returning(*users.c)
    ).one()
    return user_of(row)


def user_login(conn: Connection, account_id: int, username: str) -> tuple[User, str] | None:
    """A user of the account and their password hash, found by the name as compared (case
    and width ignored)."""
    row = conn.execute(
        select(users).where(
            users.c.account_id == account_id, users.c.username_key == username_key(username)
        )
    ).one_or_none()
    return None if row is None else (user_of(row), row.password_hash)


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    """Replace a user's stored password hash (after a rehash on login)."""
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def username_of(conn: Connection, user_id: int) -> str:
    username: str = conn.execute(select(users.c.username).where(users.c.id == user_id)).scalar_one()
    return username


def users_of(conn: Connection, account_id: int) -> list[UserRow]:
    """The account's users, by username."""
    rows = conn.execute(
        select(users).where(users.c.account_id == account_id).order_by(users.c.username)
    )
    return [user_row_of(r) for r in rows]


def user_named(conn: Connection, account_id: int, username: str) -> UserRow | None:
    """The account's user of this name (case and width ignored)."""
    row = conn.execute(
        select(users).where(
            users.c.account_id == account_id, users.c.username_key == username_key(username)
        )
    ).one_or_none()
    return None if row is None else user_row_of(row)


def user_by_id(conn: Connection, user_id: int) -> User | None:
    """The user with this id."""
    row = conn.execute(select(users).where(users.c.id == user_id)).one_or_none()
    return None if row is None else user_of(row)


def users_by_id(conn: Connection, account_id: int, user_ids: Iterable[int]) -> dict[int, User]:
    """The account's users among these ids, by id."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = conn.execute(_BY_ID, {"account_id": account_id, "ids": list(wanted)})
    return {row.id: user_of(row) for row in rows}


# Built once, as the other statements a batch of claims runs (services.seats).
_BY_ID = select(users).where(
    users.c.account_id == bindparam("account_id"), users.c.id.in_(bindparam("ids", expanding=True))
)
_LOGINS = (
    update(users)
    .where(users.c.id.in_(bindparam("ids", expanding=True)))
    .values(last_login_at=bindparam("at"))
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
    record_logins(conn, [user_id], at)


def record_logins(conn: Connection, user_ids: Sequence[int], at: datetime) -> None:
    """Record that these users logged in at `at` (in one statement)."""
    if user_ids:
        conn.execute(_LOGINS, {"ids": list(user_ids), "at": at})


def record_past_logins(conn: Connection, logins: Mapping[int, datetime]) -> None:
    """Record each user's login at its time, unless they have logged in since (history)."""
    if logins:
        conn.execute(_PAST_LOGIN, [{"user": u, "at": at} for u, at in logins.items()])


_PAST_LOGIN = (
    update(users)
    .where(
        users.c.id == bindparam("user"),
        or_(users.c.last_login_at.is_(None), users.c.last_login_at < bindparam("at")),
    )
    .values(last_login_at=bindparam("at"))
)


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
