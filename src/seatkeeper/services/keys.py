"""Application keys and user API tokens as an account's admins manage them: list, make,
revoke, rotate. A key is shown once, when made; only its hash is kept. Every change is
audited. The pages, the admin API and the CLI all come here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from seatkeeper.domain import keys as rules
from seatkeeper.domain import roles
from seatkeeper.domain.errors import Conflict, InvalidInput, KeyNotFound, UserNotFound
from seatkeeper.domain.keys import ApiKey, KeyState
from seatkeeper.domain.model import Account, KeyKind, Role, User
from seatkeeper.services.access import Actor, audited, authorize
from seatkeeper.services.secrets import (
    APPLICATION_KEY_PREFIX,
    USER_TOKEN_PREFIX,
    new_token,
    token_hash,
)
from seatkeeper.storage import keys as stored
from seatkeeper.storage import users as stored_users
from seatkeeper.storage.db import Database

PREFIX = {KeyKind.APPLICATION: APPLICATION_KEY_PREFIX, KeyKind.USER: USER_TOKEN_PREFIX}
KIND_LABEL = {KeyKind.APPLICATION: "application key", KeyKind.USER: "user token"}


@dataclass(frozen=True, slots=True)
class Keys:
    account: Account
    keys: list[ApiKey]  # newest first; never a secret


@dataclass(frozen=True, slots=True)
class Made:
    """A key just made: its secret is shown this once."""

    account: Account
    key: ApiKey
    secret: str


def _rank(actor: Actor) -> Role:
    return actor.role if isinstance(actor, User) else Role.SUPER_ADMIN


def list_keys(db: Database, actor: Actor, account_slug: str) -> Keys:
    """The account's keys and tokens (account_admin and higher)."""
    with db.read() as conn:
        account = authorize(conn, actor, account_slug)
        return Keys(account, stored.keys_of(conn, account.id))


def _token_user(conn: Connection, actor: Actor, account: Account, username: str) -> User:
    """The user a token acts as, if the actor may hand out (or take back) their power."""
    found = stored_users.user_login(conn, account.id, username)
    if found is None:
        raise UserNotFound(f"The account has no user {username!r}.")
    roles.check_may_manage(_rank(actor), found[0].role)
    return found[0]


def make_key(
    db: Database,
    actor: Actor,
    account_slug: str,
    *,
    kind: KeyKind,
    name: str,
    username: str | None = None,
    expires_at: datetime | None = None,
    now: datetime,
    source: str | None = None,
) -> Made:
    """A new application key, or a user token acting as `username` with their role."""
    name = rules.key_name(name)
    expires_at = rules.expiry(expires_at, now)
    if (kind is KeyKind.USER) != (username is not None):
        raise InvalidInput(
            "A user token acts as a user: name one."
            if kind is KeyKind.USER
            else "An application key belongs to the account: name no user."
        )
    secret = new_token(PREFIX[kind])
    with db.write() as conn:
        account = authorize(conn, actor, account_slug)
        user = None if username is None else _token_user(conn, actor, account, username)
        key_id = stored.insert_api_key(
            conn, account_id=account.id, user_id=None if user is None else user.id, kind=kind,
            name=name, key_hash=token_hash(secret), created_at=now, expires_at=expires_at,
        )  # fmt: skip
        action = "application_key_created" if user is None else "user_token_created"
        audited(
            conn, account.id, action, actor, at=now, source=source, key_id=key_id, name=name,
            username=username, expires_at=_iso(expires_at),
        )  # fmt: skip
        return Made(account, _found(conn, account, key_id), secret)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _found(conn: Connection, account: Account, key_id: int, *, lock: bool = False) -> ApiKey:
    key = stored.key_by_id(conn, account.id, key_id, lock=lock)
    if key is None:
        raise KeyNotFound(f"The account has no key or token with the id {key_id}.")
    return key


def revoke_key(
    db: Database,
    actor: Actor,
    account_slug: str,
    key_id: int,
    *,
    now: datetime,
    source: str | None = None,
) -> tuple[Account, ApiKey]:
    """The key stops working at once, on every instance (each call reads it anew)."""
    with db.write() as conn:
        account = authorize(conn, actor, account_slug)
        key = _found(conn, account, key_id, lock=True)
        if key.username is not None:
            _token_user(conn, actor, account, key.username)
        if key.state(now) is KeyState.REVOKED:
            raise Conflict(f"The {KIND_LABEL[key.kind]} {key.name!r} was already revoked.")
        stored.end_key(conn, key.id, at=now)
        audited(
            conn, account.id, "key_revoked", actor, at=now, source=source, key_id=key.id,
            kind=key.kind.value, name=key.name, username=key.username,
        )  # fmt: skip
        return account, _found(conn, account, key.id)


def rotate_key(
    db: Database,
    actor: Actor,
    account_slug: str,
    key_id: int,
    *,
    grace: timedelta = timedelta(0),
    expires_at: datetime | None = None,
    now: datetime,
    source: str | None = None,
) -> Made:
    """A new application key of the same name that works at once; the old one keeps
    working for `grace` (0: it stops now), then is revoked."""
    grace = rules.grace(grace)
    expires_at = rules.expiry(expires_at, now)
    secret = new_token(APPLICATION_KEY_PREFIX)
    with db.write() as conn:
        account = authorize(conn, actor, account_slug)
        old = _found(conn, account, key_id, lock=True)
        if old.kind is not KeyKind.APPLICATION:
            raise InvalidInput(
                "Only application keys are rotated: make the user a new token, then revoke "
                "this one."
            )
        state = old.state(now)
        if state is not KeyState.ACTIVE:
            raise Conflict(
                f"The application key {old.name!r} is {state.value}: only a working key that "
                "was not rotated yet can be rotated."
            )
        new_id = stored.insert_api_key(
            conn, account_id=account.id, user_id=None, kind=KeyKind.APPLICATION, name=old.name,
            key_hash=token_hash(secret), created_at=now, expires_at=expires_at,
        )  # fmt: skip
        stored.end_key(conn, old.id, at=now + grace, replaced_by=new_id)
        audited(
            conn, account.id, "application_key_rotated", actor, at=now, source=source,
            key_id=old.id, new_key_id=new_id, name=old.name,
            grace_minutes=grace.total_seconds() / 60, old_works_until=_iso(now + grace),
            expires_at=_iso(expires_at),
        )  # fmt: skip
        return Made(account, _found(conn, account, new_id), secret)
