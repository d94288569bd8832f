"""Users of an account, as its admins manage them: create, change role, disable and enable,
reset a password (or hand out a one-time link to set one). Each change is audited; the
pages, the API and the CLI all come here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seatkeeper.domain import roles, validation
from seatkeeper.domain.errors import Conflict, InvalidInput, NotAllowed, UserNotFound
from seatkeeper.domain.errors import PasswordLinkInvalid as LinkInvalid
from seatkeeper.domain.model import Account, EndReason, Role, User, UserRow
from seatkeeper.services import alerts
from seatkeeper.services.access import Actor, actor_id, audited, authorize
from seatkeeper.services.secrets import Passwords, new_token, token_hash
from seatkeeper.storage import accounts, sessions, waits
from seatkeeper.storage import logins as stored_logins
from seatkeeper.storage import users as stored_users
from seatkeeper.storage.db import Database

LINK_PREFIX = "sk_pw_"
LINK_LIFETIME = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Handed:
    """A user just created or changed, and the one-time link token if one was asked for
    (shown once: only its hash is kept)."""

    account: Account
    user: UserRow
    link_token: str | None


@contextmanager
def unique(message: str) -> Iterator[None]:
    """A uniqueness race lost to a concurrent writer is the same refusal as the check's."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(message) from exc


def list_users(db: Database, actor: Actor, account_slug: str) -> tuple[Account, list[UserRow]]:
    """The account's users, by username (account_admin and higher)."""
    with db.read() as conn:
        account = authorize(conn, actor, account_slug)
        return account, stored_users.users_of(conn, account.id)


def _rank(actor: Actor) -> Role:
    return actor.role if isinstance(actor, User) else Role.SUPER_ADMIN


def _target(conn: Connection, account: Account, username: str) -> UserRow:
    found = stored_users.user_named(conn, account.id, username)
    if found is None:
        raise UserNotFound(f"The account has no user {username!r}.")
    return found


def _taken(account_slug: str, username: str) -> str:
    return (
        f"The account {account_slug!r} already has a user {username!r}: usernames must be "
        "unique, whatever their case or width."
    )


def _new_link(conn: Connection, user_id: int, now: datetime) -> str:
    token = new_token(LINK_PREFIX)
    stored_users.insert_password_link(
        conn, user_id=user_id, token_hash=token_hash(token), now=now, expires_at=now + LINK_LIFETIME
    )
    return token


def add_user(
    db: Database,
    passwords: Passwords,
    actor: Actor,
    account_slug: str,
    *,
    username: str,
    role: Role,
    password: str | None,
    now: datetime,
    source: str | None = None,
) -> Handed:
    """Create a user with a password, or (password None) a one-time link to set one."""
    validation.username(username)
    # Until the link is used, the stored hash is of a random secret nobody knows.
    secret = (
        validation.password(password, not_like=(username, account_slug))
        if password is not None
        else new_token("unset_")
    )
    password_hash = passwords.hash(secret)
    taken = _taken(account_slug, username)
    with unique(taken), db.write() as conn:
        account = authorize(conn, actor, account_slug)
        roles.check_may_give(_rank(actor), role)
        if password is not None:
            validation.password(password, not_like=(account.name,))
        found = stored_users.user_login(conn, account.id, username)
        if found is not None:
            raise Conflict(_taken(account_slug, found[0].username))
        user = stored_users.insert_user(
            conn,
            account_id=account.id,
            username=username,
            password_hash=password_hash,
            role=role,
            created_at=now,
        )
        link = None if password is not None else _new_link(conn, user.id, now)
        audited(
            conn, account.id, "user_created", actor, at=now, source=source,
            username=username, role=role.value, with_link=link is not None,
        )  # fmt: skip
        return Handed(account, _target(conn, account, username), link)


def change_user(
    db: Database,
    actor: Actor,
    account_slug: str,
    username: str,
    *,
    role: Role | None = None,
    enabled: bool | None = None,
    now: datetime,
    source: str | None = None,
) -> Handed:
    """Give a user another role (up to the admin's own), disable them (their open session
    ends, and they can no longer log in) or enable them again; all or nothing. The last
    enabled account_admin can be neither lowered nor disabled."""
    if role is None and enabled is None:
        raise InvalidInput("Nothing to change: give a role, or disable or enable the user.")
    with db.write() as conn:
        account = accounts.lock_account(conn, authorize(conn, actor, account_slug).id)
        target = _target(conn, account, username)
        rank = _rank(actor)
        roles.check_may_manage(rank, target.role)
        if role is not None:
            roles.check_may_give(rank, role)
        new_role = target.role if role is None else role
        now_enabled = target.disabled_at is None if enabled is None else enabled
        if target.disabled_at is None:
            roles.check_admins_left(
                target.role,
                stays_admin=new_role is Role.ACCOUNT_ADMIN and now_enabled,
                enabled_admins=stored_users.enabled_admins(conn, account.id),
            )
        if new_role is not target.role:
            stored_users.set_role(conn, target.id, new_role)
            audited(
                conn, account.id, "role_changed", actor, at=now, source=source,
                username=username, **{"from": target.role.value, "to": new_role.value},
            )  # fmt: skip
        if now_enabled != (target.disabled_at is None):
            _set_enabled(conn, account, target, now_enabled, actor, now=now, source=source)
        return Handed(account, _target(conn, account, username), None)


def _set_enabled(
    conn: Connection,
    account: Account,
    target: UserRow,
    enabled: bool,
    actor: Actor,
    *,
    now: datetime,
    source: str | None,
) -> None:
    if not enabled:
        if isinstance(actor, User) and actor.id == target.id:
            raise NotAllowed("You cannot disable yourself.")
        # A session that timed out unnoticed ended then, not now (held under the account's
        # lock, as every change to the seats held is).
        sessions.expire_overdue_sessions(conn, now, account_id=account.id)
        session = sessions.open_session_of_user(conn, account.id, target.id)
        by = actor_id(actor)
        if session is not None:
            sessions.end_session(conn, session.id, at=now, reason=EndReason.DISABLED, by=by)
            alerts.settle(conn, account.id, now)
        waits.end_waits_of_user(conn, account.id, target.id, at=now)
    stored_users.set_disabled(conn, target.id, None if enabled else now)
    name = target.username
    if enabled:
        audited(conn, account.id, "user_enabled", actor, at=now, source=source, username=name)
        return
    # Their logins to the pages end for good: enabling them again brings none back.
    ended = stored_logins.end_web_logins_of(conn, target.id, now)
    audited(
        conn, account.id, "user_disabled", actor, at=now, source=source,
        username=name, logins_ended=ended,
    )  # fmt: skip


def reset_password(
    db: Database,
    passwords: Passwords,
    actor: Actor,
    account_slug: str,
    username: str,
    *,
    password: str | None,
    now: datetime,
    source: str | None = None,
) -> Handed:
    """Set a new password, or (password None) hand out a one-time link to set one."""
    if password is not None:
        validation.password(password, not_like=(username, account_slug))
    password_hash = None if password is None else passwords.hash(password)
    with db.write() as conn:
        account = authorize(conn, actor, account_slug)
        target = _target(conn, account, username)
        roles.check_may_manage(_rank(actor), target.role)
        if password is not None:
            validation.password(password, not_like=(target.username, account.name))
        link = None
        if password_hash is not None:
            stored_users.set_password_hash(conn, target.id, password_hash)
        else:
            link = _new_link(conn, target.id, now)
        # Whoever may know the old password is logged out of the pages, link or not.
        ended = stored_logins.end_web_logins_of(conn, target.id, now)
        audited(
            conn, account.id, "password_reset", actor, at=now, source=source,
            username=username, with_link=link is not None, logins_ended=ended,
        )  # fmt: skip
        return Handed(account, target, link)


def link_holder(db: Database, token: str, *, now: datetime) -> tuple[Account, User]:
    """Whose password a one-time link sets (it stays unused)."""
    with db.read() as conn:
        user_id = stored_users.password_link_user(conn, token_hash(token), now)
        return _holder(conn, user_id)


def _holder(conn: Connection, user_id: int | None) -> tuple[Account, User]:
    user = None if user_id is None else stored_users.user_by_id(conn, user_id)
    if user is None or user.disabled:
        raise LinkInvalid
    return accounts.account_by_id(conn, user.account_id), user


def set_password_by_link(
    db: Database, passwords: Passwords, token: str, password: str, *, now: datetime
) -> tuple[Account, User]:
    """Spend a one-time link: the user's password is `password` from now on."""
    account, user = link_holder(db, token, now=now)
    validation.password(password, not_like=(user.username, account.slug, account.name))
    password_hash = passwords.hash(password)
    with db.write() as conn:
        account, user = _holder(conn, stored_users.use_password_link(conn, token_hash(token), now))
        stored_users.set_password_hash(conn, user.id, password_hash)
        ended = stored_logins.end_web_logins_of(conn, user.id, now)
        audited(
            conn, account.id, "password_set", user, at=now,
            username=user.username, by="one-time link", logins_ended=ended,
        )  # fmt: skip
        return account, user
