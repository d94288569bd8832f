"""Application keys and user API tokens, stored only as hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from seatkeeper.domain.model import Account, KeyKind, User
from seatkeeper.storage.accounts import account_of
from seatkeeper.storage.tables import accounts, api_keys, users
from seatkeeper.storage.users import user_of


def insert_api_key(
    conn: Connection,
    *,
    account_id: int,
    user_id: int | None,
    kind: KeyKind,
    name: str,
    key_hash: str,
    created_at: datetime,
) -> None:
    """Store a new key's hash (the key itself is shown once and never stored)."""
    conn.execute(
        api_keys.insert().values(
            account_id=account_id,
            user_id=user_id,
            kind=kind.value,
            name=name,
            key_hash=key_hash,
            created_at=created_at,
        )
    )


def account_by_application_key(conn: Connection, key_hash: str) -> Account | None:
    """The account an unrevoked application key belongs to."""
    row = conn.execute(
        select(accounts)
        .join(api_keys, api_keys.c.account_id == accounts.c.id)
        .where(
            api_keys.c.key_hash == key_hash,
            api_keys.c.kind == KeyKind.APPLICATION.value,
            api_keys.c.revoked_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else account_of(row)


def user_by_token(conn: Connection, key_hash: str) -> User | None:
    """The enabled user an unrevoked user API token acts as."""
    row = conn.execute(
        select(users)
        .join(api_keys, api_keys.c.user_id == users.c.id)
        .where(
            api_keys.c.key_hash == key_hash,
            api_keys.c.kind == KeyKind.USER.value,
            api_keys.c.revoked_at.is_(None),
            users.c.disabled_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else user_of(row)


def revoke_api_keys(
    conn: Connection,
    *,
    account_id: int,
    kind: KeyKind,
    name: str,
    at: datetime,
    user_id: int | None = None,
) -> int:
    """Revoke the unrevoked keys of this kind and name (a user's, for user tokens)."""
    result = conn.execute(
        update(api_keys)
        .where(
            api_keys.c.account_id == account_id,
            api_keys.c.kind == kind.value,
            api_keys.c.user_id.is_(None) if user_id is None else api_keys.c.user_id == user_id,
            api_keys.c.name == name,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=at)
    )
    return result.rowcount
