"""Logging in: password checks with throttling (pages and agents), and logins to the pages."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from seatkeeper.domain import throttle, validation
from seatkeeper.domain.errors import InvalidCredentials, PasswordsOff
from seatkeeper.domain.model import Account, Role, User
from seatkeeper.services.secrets import LOGIN_TOKEN_PREFIX, Passwords, new_token, token_hash
from seatkeeper.storage import accounts, users
from seatkeeper.storage import logins as stored_logins
from seatkeeper.storage import sso as stored_sso
from seatkeeper.storage.db import Database

DEFAULT_LIFETIME = timedelta(hours=12)
PRUNE_EVERY = 100  # attempts: old failures are forgotten now and then, not on every login
# A login's last request is written at most this often: a write per page view would cost
# more than the list of logins is worth.
LAST_SEEN_EVERY = timedelta(minutes=5)


def check_password(
    db: Database,
    passwords: Passwords,
    *,
    account_slug: str,
    username: str,
    password: str,
    source: str | None,
    now: datetime,
) -> tuple[Account, User]:
    """The account and the enabled user with these credentials, or a refusal.

    A login is tried only when a password check (or a place in their short queue) is
    free: otherwise LoginsBusy at once, with nothing hashed nor recorded. The attempt is
    counted and recorded as a failure before the password is checked, in one
    transaction under the account's lock, so that parallel guesses cannot slip past the
    limits (per username, and per address whatever the username); a right password then
    removes it. An unknown account is throttled, refused and timed exactly like a known
    one.
    """
    plausible = validation.is_slug(account_slug) and validation.is_username(username)
    if not plausible or len(password) > validation.MAX_PASSWORD:
        raise InvalidCredentials  # no user has such a name or password: nothing to guess
    with db.read() as conn:  # a paused login is refused without the write lock
        _ensure_allowed(conn, account_slug, username, source, now)
    with ExitStack() as turn:
        with db.write() as conn:
            account, login, attempt = _attempt(conn, account_slug, username, source, now)
            # The turn is taken in the transaction that records the attempt: a login
            # refused as busy rolls it back and leaves nothing recorded, and a turn is held
            # for the hash alone, never while waiting for the database.
            turn.enter_context(passwords.admitted())
        stored = None if login is None or login[0].disabled else login[1]
        if not passwords.verify(stored, password):
            with db.write() as conn:
                stored_logins.settle_login_failure(conn, attempt)
            raise InvalidCredentials
        assert account is not None and login is not None and stored is not None
        rehashed = passwords.hash(password) if passwords.needs_rehash(stored) else None
    with db.write() as conn:
        stored_logins.delete_login_failure(conn, attempt)
        if rehashed is not None:
            users.set_password_hash(conn, login[0].id, rehashed)
        provider = stored_sso.provider_of(conn, account.id)
    # Told only to whom knows the password. A super_admin, who operates the installation,
    # is never locked out by an account's choice (and never signs in through it).
    off = provider is not None and not provider.settings.passwords_allowed
    if off and login[0].role is not Role.SUPER_ADMIN:
        assert provider is not None
        raise PasswordsOff(provider.settings.display_name)
    return account, login[0]


def _attempt(
    conn: Connection, account_slug: str, username: str, source: str | None, now: datetime
) -> tuple[Account | None, tuple[User, str] | None, int]:
    """Refuse a throttled attempt, else record it as a failure: the account, the user and
    their password hash (if any), and the failure's id."""
    account = accounts.account_by_slug(conn, account_slug)
    if account is not None:
        accounts.lock_account(conn, account.id)
    _ensure_allowed(conn, account_slug, username, source, now)
    attempt = stored_logins.insert_login_failure(
        conn, account=account_slug, username=username, source=source, at=now
    )
    if attempt % PRUNE_EVERY == 0:
        stored_logins.prune_login_failures(conn, before=now - throttle.WINDOW)
    login = None if account is None else users.user_login(conn, account.id, username)
    return account, login, attempt


def _ensure_allowed(
    conn: Connection, account_slug: str, username: str, source: str | None, now: datetime
) -> None:
    """Refuse a throttled attempt (throttle.ensure_allowed, on the attempts recorded).

    Read first without any lock: failures only pile up until they leave the window, so a
    login they pause now is paused whatever other transactions are doing, and a flood of
    paused logins costs reads, not the write lock. Read again under the account's lock
    before an attempt is recorded, where the answer holds until it is."""
    since = now - throttle.WINDOW
    from_here, from_anywhere = stored_logins.recent_login_failures(
        conn, account=account_slug, username=username, source=source, since=since, now=now
    )
    from_address = (
        throttle.Recent()
        if source is None
        else stored_logins.recent_failures_from(conn, source, since=since, now=now)
    )
    throttle.ensure_allowed(
        from_here, from_anywhere, username=username, now=now, from_address=from_address
    )


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
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
    user_agent: str | None = None,
) -> PageLogin:
    """Log a user in to the pages."""
    account, user = check_password(
        db,
        passwords,
        account_slug=account_slug,
        username=username,
        password=password,
        source=source,
        now=now,
    )
    return start_page_login(
        db, account, user, now=now, lifetime=lifetime, source=source, user_agent=user_agent
    )


def start_page_login(
    db: Database,
    account: Account,
    user: User,
    *,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
    source: str | None = None,
    user_agent: str | None = None,
    sso_session: str | None = None,
) -> PageLogin:
    """A new login to the pages for a user whose identity was proven (a password, or
    their provider's sign-in from the session `sso_session`)."""
    token = new_token(LOGIN_TOKEN_PREFIX)
    with db.write() as conn:
        users.record_login(conn, user.id, now)
        stored_logins.insert_web_login(
            conn,
            user_id=user.id,
            token_hash=token_hash(token),
            now=now,
            expires_at=now + lifetime,
            source=source,
            # Shown back to the user as text: only printable characters are kept.
            user_agent=None if user_agent is None else "".join(filter(str.isprintable, user_agent)),
            sso_session=sso_session,
        )
    return PageLogin(user, account, token, now + lifetime)


def logged_in_user(db: Database, token: str, *, now: datetime) -> User | None:
    """The user of a page login, None once it is over; notes that the login was seen."""
    hashed = token_hash(token)
    with db.read() as conn:
        found = stored_logins.user_by_web_login(conn, hashed, now)
    if found is None:
        return None
    user, seen = found
    if seen is None or seen <= now - LAST_SEEN_EVERY:
        with db.write() as conn:
            stored_logins.web_login_seen(conn, hashed, now)
    return user


def log_out(db: Database, token: str, *, now: datetime) -> None:
    """End a page login."""
    with db.write() as conn:
        stored_logins.end_web_login(conn, token_hash(token), now)
