"""Provisioning: accounts, users and keys. The CLI uses these; an admin API can too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from seatkeeper.domain import pool, validation
from seatkeeper.domain.errors import AccountNotFound, Conflict, InvalidInput
from seatkeeper.domain.model import Account, KeyKind, User
from seatkeeper.services.access import Actor, Operator, audited, authorize
from seatkeeper.services.secrets import (
    APPLICATION_KEY_PREFIX,
    USER_TOKEN_PREFIX,
    new_token,
    token_hash,
)
from seatkeeper.services.users import unique
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import keys, sessions, users
from seatkeeper.storage.db import Database


def account_named(conn: Connection, slug: str) -> Account:
    """The account with this slug (inside the caller's transaction)."""
    return _account(conn, slug)


def _account(conn: Connection, slug: str) -> Account:
    account = stored_accounts.account_by_slug(conn, slug) if validation.is_slug(slug) else None
    if account is None:
        raise AccountNotFound(f"There is no account {slug!r}.")
    return account


def create_account(
    db: Database,
    actor: Operator,
    *,
    slug: str,
    name: str,
    licenses: int,
    time_zone: str,
    session_timeout: timedelta = pool.DEFAULT_TIMEOUT,
    guests_allowed: bool = True,
    console_enabled: bool = False,
    now: datetime,
) -> Account:
    """Create an account with its license total, time zone and session timeout."""
    validation.slug(slug)
    name = validation.display_name(name)
    validation.licenses(licenses)
    zone = validation.time_zone(time_zone).key
    validation.session_timeout(session_timeout)
    with unique(f"An account {slug!r} already exists."), db.write() as conn:
        if stored_accounts.account_by_slug(conn, slug) is not None:
            raise Conflict(f"An account {slug!r} already exists.")
        account = stored_accounts.insert_account(
            conn,
            slug=slug,
            name=name,
            licenses=licenses,
            time_zone=zone,
            session_timeout=session_timeout,
            guests_allowed=guests_allowed,
            console_enabled=console_enabled,
            created_at=now,
        )
        stored_accounts.record_licenses(conn, account.id, licenses, at=now, actor=None)
        audited(
            conn, account.id, "account_created", actor, at=now,
            name=name, licenses=licenses, time_zone=zone,
        )  # fmt: skip
        return account


@dataclass(frozen=True, slots=True)
class AccountSummary:
    account: Account
    in_use: int


def all_accounts(db: Database) -> list[Account]:
    """Every account, by slug."""
    with db.read() as conn:
        return stored_accounts.all_accounts(conn)


def license_use(db: Database, now: datetime) -> list[tuple[int, str, int, int]]:
    """Every account's (id, slug, licenses in use, licenses owned), in one read."""
    with db.read() as conn:
        return sessions.license_use(conn, now)


def list_accounts(db: Database, *, now: datetime) -> list[AccountSummary]:
    """Every account with the licenses in use now."""
    with db.read() as conn:
        return [
            AccountSummary(a, sessions.count_open_sessions(conn, a.id, now))
            for a in stored_accounts.all_accounts(conn)
        ]


def create_application_key(
    db: Database,
    actor: Actor,
    *,
    account_slug: str,
    name: str,
    now: datetime,
    replace: bool = False,
) -> str:
    """A new key that lets an Agent Application open sessions for the account.

    With `replace`, the account's earlier application keys of the same name are revoked.
    """
    key = new_token(APPLICATION_KEY_PREFIX)
    with db.write() as conn:
        account = authorize(conn, actor, account_slug)
        revoked = 0
        if replace:
            revoked = keys.revoke_api_keys(
                conn, account_id=account.id, kind=KeyKind.APPLICATION, name=name, at=now
            )
        keys.insert_api_key(
            conn,
            account_id=account.id,
            user_id=None,
            kind=KeyKind.APPLICATION,
            name=name,
            key_hash=token_hash(key),
            created_at=now,
        )
        audited(
            conn, account.id, "application_key_created", actor, at=now,
            name=name, revoked=revoked,
        )  # fmt: skip
    return key


def get_account(db: Database, slug: str) -> Account:
    """The account with this slug."""
    with db.read() as conn:
        return _account(conn, slug)


def account_of(db: Database, user: User) -> Account:
    """The account a user belongs to."""
    with db.read() as conn:
        return stored_accounts.account_by_id(conn, user.account_id)


def create_user_token(
    db: Database,
    actor: Actor,
    *,
    account_slug: str,
    username: str,
    name: str,
    now: datetime,
    replace: bool = False,
) -> str:
    """A new API token acting as a user, with that user's role.

    With `replace`, the user's earlier tokens of the same name are revoked.
    """
    token = new_token(USER_TOKEN_PREFIX)
    with db.write() as conn:
        account = authorize(conn, actor, account_slug)
        login = users.user_login(conn, account.id, username)
        if login is None:
            raise InvalidInput(f"The account {account_slug!r} has no user {username!r}.")
        revoked = 0
        if replace:
            revoked = keys.revoke_api_keys(
                conn,
                account_id=account.id,
                kind=KeyKind.USER,
                name=name,
                at=now,
                user_id=login[0].id,
            )
        keys.insert_api_key(
            conn,
            account_id=account.id,
            user_id=login[0].id,
            kind=KeyKind.USER,
            name=name,
            key_hash=token_hash(token),
            created_at=now,
        )
        audited(
            conn, account.id, "user_token_created", actor, at=now,
            username=username, name=name, revoked=revoked,
        )  # fmt: skip
    return token
