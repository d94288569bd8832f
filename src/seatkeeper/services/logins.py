"""Logging in: password checks with throttling (pages and agents), and logins to the pages."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from seatkeeper.clock import Clock
from seatkeeper.domain import throttle
from seatkeeper.domain.errors import InvalidCredentials
from seatkeeper.domain.model import Account, User
from seatkeeper.services.secrets import LOGIN_TOKEN_PREFIX, Passwords, new_token, token_hash
from seatkeeper.storage import repository as repo
from seatkeeper.storage.db import Database

DEFAULT_LIFETIME = timedelta(hours=12)


def check_password(
    db: Database,
    passwords: Passwords,
    *,
    account: Account,
    username: str,
    password: str,
    source: str | None,
    now: datetime,
) -> User:
    """The enabled user with these credentials, or a refusal.

    While a username or an address has had too many wrong passwords lately, the
    attempt is refused before the password is even checked; each wrong password
    is recorded (its own transaction, so the refusal cannot roll it back).
    """
    with db.read() as conn:
        user_failures, source_failures = repo.recent_login_failures(
            conn,
            account_id=account.id,
            username=username,
            source=source,
            since=now - throttle.WINDOW,
        )
        login = repo.user_login(conn, account.id, username)
    throttle.ensure_allowed(user_failures, source_failures, username=username, now=now)
    stored = None if login is None or login[0].disabled else login[1]
    if not passwords.verify(stored, password):
        with db.write() as conn:
            repo.insert_login_failure(
                conn, account_id=account.id, username=username, source=source, at=now
            )
        raise InvalidCredentials
    assert login is not None and stored is not None
    if passwords.needs_rehash(stored):
        with db.write() as conn:
            repo.set_password_hash(conn, login[0].id, passwords.hash(password))
    return login[0]


@dataclass(frozen=True, slots=True)
class PageLogin:
    user: User
    account: Account
    token: str  # the cookie's value, shown only here
    expires_at: datetime


def log_in(
    db: Database,
    passwords: Passwords,
    *,
    account_slug: str,
    username: str,
    password: str,
    source: str | None,
    clock: Clock,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> PageLogin:
    """Log a user in to the pages. An unknown account is refused like a wrong password."""
    now = clock.now()
    with db.read() as conn:
        account = repo.account_by_slug(conn, account_slug)
    if account is None:
        passwords.verify(None, password)  # the same time as for a real account
        raise InvalidCredentials("The account, username or password is not correct.")
    user = check_password(
        db,
        passwords,
        account=account,
        username=username,
        password=password,
        source=source,
        now=now,
    )
    token = new_token(LOGIN_TOKEN_PREFIX)
    with db.write() as conn:
        repo.insert_web_login(
            conn,
            user_id=user.id,
            token_hash=token_hash(token),
            now=now,
            expires_at=now + lifetime,
            source=source,
        )
    return PageLogin(user, account, token, now + lifetime)


def logged_in_user(db: Database, token: str, *, now: datetime) -> User | None:
    """The user of a page login, None once it is over."""
    with db.read() as conn:
        return repo.user_by_web_login(conn, token_hash(token), now)


def log_out(db: Database, token: str, *, now: datetime) -> None:
    """End a page login."""
    with db.write() as conn:
        repo.end_web_login(conn, token_hash(token), now)


def csrf_token(login_token: str) -> str:
    """The token a page login's state-changing requests must carry.

    Derived from the login's secret cookie, which other sites can neither read nor
    set: a request that carries it comes from a page seatkeeper served.
    """
    return hashlib.sha256(b"seatkeeper-csrf:" + login_token.encode()).hexdigest()
