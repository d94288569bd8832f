"""Who is acting, and what they may do.

An actor is a seatkeeper user (through the pages, an API token or a login) or the
operator at the command line, who works on the database itself. Every use case that
changes something takes its actor, and the audit trail names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from seatkeeper.clock import SystemClock
from seatkeeper.domain import keys as key_rules
from seatkeeper.domain.errors import AccountNotFound, InvalidToken, NotAllowed
from seatkeeper.domain.model import Account, Role, User
from seatkeeper.domain.validation import is_slug
from seatkeeper.services.secrets import token_hash
from seatkeeper.storage import accounts, audit, keys
from seatkeeper.storage.db import Database


def authenticate_token(db: Database, token: str, *, now: datetime | None = None) -> User:
    """The user a working API token acts as (roles are checked per call).

    Every call reads the token anew (nothing is cached), so a revoked or expired token
    is refused at once on every instance."""
    now = SystemClock().now() if now is None else now
    with db.read() as conn:
        found = keys.token_in_use(conn, token_hash(token), now)
    if found is None:
        raise InvalidToken
    note_use(db, found[1], now)
    return found[0]


def note_use(db: Database, used: keys.InUse, now: datetime) -> None:
    """Write down a key's use, at most about once a minute: most calls write nothing."""
    if key_rules.stale(used.last_used_at, now):
        with db.write() as conn:
            keys.note_use(conn, used.key_id, now)


@dataclass(frozen=True, slots=True)
class Operator:
    """Someone working on the database itself (the operator commands): every account is
    theirs, and what they do is recorded under `name`, with no seatkeeper user behind it."""

    name: str


Actor = User | Operator
OPERATOR = Operator("seatkeeper (operator command)")


def actor_name(actor: Actor) -> str:
    """Who acted, as the audit trail names them."""
    return actor.username if isinstance(actor, User) else actor.name


def actor_id(actor: Actor) -> int | None:
    """The user who acted; None for an operator."""
    return actor.id if isinstance(actor, User) else None


def audited(
    conn: Connection,
    account_id: int,
    action: str,
    actor: Actor,
    *,
    at: datetime,
    source: str | None = None,
    **details: Any,
) -> None:
    """Record in the audit trail that `actor` did `action`, with `details` (never a secret)."""
    audit.record(
        conn,
        account_id,
        action,
        actor_id=actor_id(actor),
        actor=actor_name(actor),
        at=at,
        source=source,
        details=details,
    )


def authorize(
    conn: Connection, user: Actor, account_slug: str, *, role: Role = Role.ACCOUNT_ADMIN
) -> Account:
    """The account `user` may act on with `role`: their own, or any for a super_admin.

    Lower roles are refused (403); another account is answered as if it did not
    exist (404), so that its name is not confirmed.
    """
    if isinstance(user, Operator):
        found = accounts.account_by_slug(conn, account_slug) if is_slug(account_slug) else None
        if found is None:  # an operator may know which names exist
            raise AccountNotFound(f"There is no account {account_slug!r}.")
        return found
    if not user.role.at_least(role):
        raise NotAllowed(
            f"You are not allowed to do this: it needs the {role.label} role or higher."
        )
    account = accounts.account_by_slug(conn, account_slug) if is_slug(account_slug) else None
    if account is None or (user.role is not Role.SUPER_ADMIN and account.id != user.account_id):
        raise AccountNotFound
    return account


def account_for(db: Database, user: User, account_slug: str) -> Account:
    """The account `user` may administer (see `authorize`)."""
    with db.read() as conn:
        return authorize(conn, user, account_slug)
