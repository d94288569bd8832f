"""Application keys and user API tokens, stored only as hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Row,
    and_,
    bindparam,
    or_,
    select,
    update,
)

from seatkeeper.domain.keys import LAST_USED_EVERY, ApiKey
from seatkeeper.domain.model import Account, KeyKind, User
from seatkeeper.storage.accounts import account_of
from seatkeeper.storage.tables import UTCDateTime, accounts, api_key_uses, api_keys, users
from seatkeeper.storage.users import user_of


@dataclass(frozen=True, slots=True)
class InUse:
    """A key that works now, what it opens (an account or a user), and when it was last
    used as written down."""

    key_id: int
    last_used_at: datetime | None


def insert_api_key(
    conn: Connection,
    *,
    account_id: int,
    user_id: int | None,
    kind: KeyKind,
    name: str,
    key_hash: str,
    created_at: datetime,
    expires_at: datetime | None = None,
) -> int:
    """Store a new key's hash (the key itself is shown once and never stored); its id."""
    key_id: int = conn.execute(
        api_keys.insert()
        .values(
            account_id=account_id,
            user_id=user_id,
            kind=kind.value,
            name=name,
            key_hash=key_hash,
            created_at=created_at,
            expires_at=expires_at,
        )
        .returning(api_keys.c.id)
    ).scalar_one()
    conn.execute(api_key_uses.insert().values(key_id=key_id))
    return key_id


def _works(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """Neither revoked nor expired at `now`, a time or a parameter that gives it (a rotated
    key works until its grace ends)."""
    k = api_keys.c
    return and_(
        or_(k.revoked_at.is_(None), k.revoked_at > now),
        or_(k.expires_at.is_(None), k.expires_at > now),
    )


# Built once: every open reads it, and building it costs more than running it.
_APPLICATION_KEY = (
    select(accounts, api_keys.c.id.label("key_id"), api_key_uses.c.last_used_at.label("used"))
    .join(api_keys, api_keys.c.account_id == accounts.c.id)
    .outerjoin(api_key_uses, api_key_uses.c.key_id == api_keys.c.id)
    .where(
        api_keys.c.key_hash == bindparam("key_hash"),
        api_keys.c.kind == KeyKind.APPLICATION.value,
        _works(bindparam("now", type_=UTCDateTime)),
    )
)


def application_key_in_use(
    conn: Connection, key_hash: str, now: datetime
) -> tuple[Account, InUse] | None:
    """The account a working application key belongs to."""
    row = conn.execute(_APPLICATION_KEY, {"key_hash": key_hash, "now": now}).one_or_none()
    return None if row is None else (account_of(row), InUse(row.key_id, row.used))


def token_in_use(conn: Connection, key_hash: str, now: datetime) -> tuple[User, InUse] | None:
    """The enabled user a working user API token acts as."""
    row = conn.execute(
        select(users, api_keys.c.id.label("key_id"), api_key_uses.c.last_used_at.label("used"))
        .join(api_keys, api_keys.c.user_id == users.c.id)
        .outerjoin(api_key_uses, api_key_uses.c.key_id == api_keys.c.id)
        .where(
            api_keys.c.key_hash == key_hash,
            api_keys.c.kind == KeyKind.USER.value,
            _works(now),
            users.c.disabled_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else (user_of(row), InUse(row.key_id, row.used))


def account_by_application_key(conn: Connection, key_hash: str, now: datetime) -> Account | None:
    """The account a working application key belongs to."""
    found = application_key_in_use(conn, key_hash, now)
    return None if found is None else found[0]


def note_use(conn: Connection, key_id: int, now: datetime) -> None:
    """Write down that the key was used at `now`, unless another call did less than a
    minute ago (then nothing is written: the condition makes concurrent callers cheap)."""
    u = api_key_uses.c
    conn.execute(
        update(api_key_uses)
        .where(
            u.key_id == key_id,
            or_(u.last_used_at.is_(None), u.last_used_at <= now - LAST_USED_EVERY),
        )
        .values(last_used_at=now)
    )


def _key_of(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        account_id=row.account_id,
        kind=KeyKind(row.kind),
        name=row.name,
        username=row.username,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        replaced_by=row.replaced_by,
    )


def _listed() -> Any:
    k = api_keys.c
    return select(
        k.id, k.account_id, k.kind, k.name, users.c.username, k.created_at,
        api_key_uses.c.last_used_at, k.expires_at, k.revoked_at, k.replaced_by,
    ).select_from(
        api_keys.outerjoin(users, users.c.id == k.user_id).outerjoin(
            api_key_uses, api_key_uses.c.key_id == k.id
        )
    )  # fmt: skip


def keys_of(conn: Connection, account_id: int) -> list[ApiKey]:
    """The account's keys and tokens, newest first (never their hashes)."""
    rows = conn.execute(
        _listed()
        .where(api_keys.c.account_id == account_id)
        .order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
    )
    return [_key_of(r) for r in rows]


def key_by_id(
    conn: Connection, account_id: int, key_id: int, *, lock: bool = False
) -> ApiKey | None:
    """One of the account's keys (locked against a concurrent revoke or rotate)."""
    query = _listed().where(api_keys.c.account_id == account_id, api_keys.c.id == key_id)
    if lock:
        query = query.with_for_update(of=api_keys)
    row = conn.execute(query).one_or_none()
    return None if row is None else _key_of(row)


def end_key(conn: Connection, key_id: int, *, at: datetime, replaced_by: int | None = None) -> None:
    """The key stops working at `at` (now, or when a rotation's grace period ends)."""
    values: dict[str, Any] = {"revoked_at": at}
    if replaced_by is not None:
        values["replaced_by"] = replaced_by
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))


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
            or_(api_keys.c.revoked_at.is_(None), api_keys.c.revoked_at > at),
        )
        .values(revoked_at=at)
    )
    return result.rowcount
