"""Single sign-on use cases: an account's provider set up, users signed in through it (to
the pages, the agent console or an agent session), and signed out by it.

A user is found by the username the provider's token names, or created at their first
sign-in; their role follows the token's claims at every sign-in (account_admin at most).
The provider's `sub` is kept on the user, so that a back-channel logout, which names the
user by it, ends their page logins and their agent session at once.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection

from seatkeeper.domain.destinations import Policy, networks
from seatkeeper.domain.errors import (
    InvalidCredentials,
    InvalidFields,
    NoProvider,
    ProviderUnavailable,
    SignInRefused,
)
from seatkeeper.domain.model import Account, EndReason, Role, User
from seatkeeper.domain.sso import ProviderSettings, role_of, username_of
from seatkeeper.services import alerts
from seatkeeper.services.access import Actor, Operator, audited, authorize
from seatkeeper.services.outbound import resolve_with_system
from seatkeeper.services.providers import Providers
from seatkeeper.services.secrets import token_hash
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import logins as stored_logins
from seatkeeper.storage import sessions, waits
from seatkeeper.storage import sso as stored
from seatkeeper.storage import users as stored_users
from seatkeeper.storage.db import Database
from seatkeeper.storage.sso import SignInRequest, StoredProvider

if TYPE_CHECKING:
    from seatkeeper.config import Settings

SIGN_IN_MINUTES = 10  # to come back from the provider
LOGOUT_MEMORY = timedelta(days=1)  # how long a logout token's jti is remembered at least
# The stored hash of a user made by single sign-on: no password ever matches it.
NO_PASSWORD = "single-sign-on:no-password"  # noqa: S105
PAGE, CONSOLE = "page", "console"


class Sealer:
    """Keeps client secrets encrypted at rest when the server has a secret key (Fernet,
    with a key derived from it); without one they are kept as given, never shown."""

    def __init__(self, secret_key: str | None) -> None:
        self._fernet = (
            None
            if secret_key is None
            else Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()))
        )

    @property
    def encrypts(self) -> bool:
        return self._fernet is not None

    def seal(self, secret: str) -> str:
        if self._fernet is None:
            return "plain:" + secret
        return "fernet:" + self._fernet.encrypt(secret.encode()).decode()

    def open(self, kept: str) -> str:
        kind, _, value = kept.partition(":")
        if kind == "plain":
            return value
        if self._fernet is None:
            raise ProviderUnavailable(
                "The provider's client secret was encrypted with a secret key this server does "
                "not have (SEATKEEPER_SECRET_KEY): set it, or enter the client secret again."
            )
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken:
            raise ProviderUnavailable(
                "The provider's client secret cannot be read with this server's secret key "
                "(SEATKEEPER_SECRET_KEY): enter the client secret again in Account Settings."
            ) from None


@dataclass(frozen=True, slots=True)
class SingleSignOn:
    """What the single sign-on use cases work with (the web's Runtime holds one)."""

    providers: Providers
    sealer: Sealer


def single_sign_on(
    *, allowed_networks: str = "", allow_http: bool = False, secret_key: str | None = None
) -> SingleSignOn:
    """Providers reached only at public https:// addresses, unless the operator allows
    networks or http; client secrets sealed with `secret_key` when there is one."""
    policy = Policy(networks(allowed_networks), allow_http)
    return SingleSignOn(Providers(policy, resolve_with_system), Sealer(secret_key))


def from_settings(settings: Settings) -> SingleSignOn:
    """`single_sign_on` as the server's settings ask for it (the web and the CLI share it)."""
    key = settings.secret_key
    return single_sign_on(
        allowed_networks=settings.sso_allowed_networks,
        allow_http=settings.sso_allow_http,
        secret_key=None if key is None else key.get_secret_value(),
    )


@dataclass(frozen=True, slots=True)
class ProviderView:
    """An account's provider as admins see it: never its client secret."""

    account: Account
    settings: ProviderSettings
    secret_encrypted: bool
    updated_at: datetime


def _actor_label(settings: ProviderSettings) -> Operator:
    """Who acts when single sign-on makes or changes a user, as the audit trail names it."""
    return Operator(f"single sign-on ({settings.display_name})")


def provider(db: Database, actor: Actor, account_slug: str) -> ProviderView | None:
    """The account's provider (account_admin and higher), or None."""
    with db.read() as conn:
        account = authorize(conn, actor, account_slug)
        found = stored.provider_of(conn, account.id)
    if found is None:
        return None
    encrypted = found.client_secret.startswith("fernet:")
    return ProviderView(account, found.settings, encrypted, found.updated_at)


def set_provider(
    db: Database,
    sso: SingleSignOn,
    actor: Actor,
    account_slug: str,
    settings: ProviderSettings,
    *,
    client_secret: str | None,
    now: datetime,
    source: str | None = None,
) -> ProviderView:
    """Set (or change) the account's provider; a new one needs its client secret, a change
    keeps the stored one unless another is given. The discovery document of a new issuer is
    read first, so that a wrong one is told now rather than at the first sign-in; a change
    that keeps the issuer does not reach the provider, so that passwords can be turned back
    on while it is down."""
    if client_secret is not None and not (
        0 < len(client_secret) <= 1000 and client_secret.isprintable()
    ):
        raise InvalidFields(
            {"client_secret": "The client secret has 1 to 1,000 characters, none of them control."}
        )
    with db.read() as conn:
        account = authorize(conn, actor, account_slug)  # before reaching out for anyone
        kept = stored.provider_of(conn, account.id)
    if kept is None or kept.settings.issuer != settings.issuer:
        sso.providers.endpoints(settings.issuer, fresh=True)
    with db.write() as conn:
        account = authorize(conn, actor, account_slug)
        before = stored.provider_of(conn, account.id)
        if before is None and client_secret is None:
            raise InvalidFields({"client_secret": "Give the client secret the provider issued."})
        sealed = None if client_secret is None else sso.sealer.seal(client_secret)
        stored.put_provider(conn, account.id, settings, client_secret=sealed, now=now)
        audited(
            conn, account.id, "single_sign_on_set", actor, at=now, source=source,
            issuer=settings.issuer, client_id=settings.client_id,
            passwords_allowed=settings.passwords_allowed,
            roles_claim=settings.roles_claim, default_role=settings.default_role.value,
            secret_changed=client_secret is not None,
        )  # fmt: skip
    return ProviderView(account, settings, sso.sealer.encrypts, now)


def remove_provider(
    db: Database, actor: Actor, account_slug: str, *, now: datetime, source: str | None = None
) -> Account:
    """Remove the account's provider: its users log in with passwords again."""
    with db.write() as conn:
        account = authorize(conn, actor, account_slug)
        if not stored.delete_provider(conn, account.id):
            raise NoProvider
        audited(conn, account.id, "single_sign_on_removed", actor, at=now, source=source)
        return account


def provider_of_account(db: Database, account: Account) -> ProviderSettings | None:
    """The settings of the account's provider, for the login pages (no actor needed)."""
    with db.read() as conn:
        found = stored.provider_of(conn, account.id)
    return None if found is None else found.settings


def _provider_for(conn: Connection, account: Account) -> StoredProvider:
    found = stored.provider_of(conn, account.id)
    if found is None:
        raise NoProvider
    return found


def begin_sign_in(
    db: Database,
    sso: SingleSignOn,
    account: Account,
    *,
    purpose: str,
    next_path: str,
    redirect_uri: str,
    now: datetime,
    bind: Callable[[str], str] = lambda state: state,
) -> str:
    """Start a sign-in at the account's provider: the address to send the browser to.
    `bind` ties the state to the browser: only `bind(state)` finishes the sign-in."""
    with db.read() as conn:
        found = _provider_for(conn, account)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    url = sso.providers.authorization_url(
        found.settings, redirect_uri=redirect_uri, state=state, nonce=nonce, code_verifier=verifier
    )
    with db.write() as conn:
        stored.insert_request(
            conn,
            token_hash(bind(state)),
            SignInRequest(account.id, nonce, verifier, purpose, next_path),
            now=now,
            expires_at=now + timedelta(minutes=SIGN_IN_MINUTES),
        )
    return url


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A sign-in the provider confirmed: who, from which provider session, and for what."""

    account: Account
    user: User
    purpose: str
    next_path: str
    provider_session: str | None  # the `sid` claim
    id_token: str  # for the console, which opens its session with it


def finish_sign_in(
    db: Database,
    sso: SingleSignOn,
    account: Account,
    *,
    state: str,
    code: str,
    redirect_uri: str,
    now: datetime,
    source: str | None = None,
) -> SignedIn:
    """Finish a sign-in the provider sent back: the (bound) state must be one this server
    sent for this account and not used yet (it is used up now, whatever follows); the code is
    exchanged for an ID token, whose signature, issuer, audience, times and nonce are
    checked; then the user is found or made, with the role the claims give."""
    with db.write() as conn:
        request = stored.take_request(conn, token_hash(state), now)
        found = stored.provider_of(conn, account.id)
    if request is None or request.account_id != account.id:
        raise SignInRefused("This sign-in is unknown, used already or too old: start again.")
    if found is None:
        raise NoProvider
    id_token = sso.providers.exchange(
        found.settings,
        sso.sealer.open(found.client_secret),
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=request.code_verifier,
    )
    claims = sso.providers.verify(
        found.settings,
        id_token,
        audiences=(found.settings.client_id,),
        now=now,
        nonce=request.nonce,
    )
    with db.write() as conn:
        user = signed_in_user(conn, account, found.settings, claims, now=now, source=source)
    sid = claims.get("sid")
    session = sid if isinstance(sid, str) else None
    return SignedIn(account, user, request.purpose, request.next, session, id_token)


def user_for_id_token(
    db: Database, sso: SingleSignOn, account: Account, id_token: str, *, now: datetime
) -> User:
    """The user an ID token from the account's provider names (an Agent Application signed
    them in there), found or made; for one of the account's accepted client ids."""
    with db.read() as conn:
        found = _provider_for(conn, account)
    claims = sso.providers.verify(
        found.settings, id_token, audiences=found.settings.accepted_audiences, now=now
    )
    with db.read() as conn:  # most opens: a known user, nothing to change, no write
        known = _unchanged(conn, account, found.settings, claims)
    if known is not None:
        return known
    with db.write() as conn:
        return signed_in_user(conn, account, found.settings, claims, now=now)


def _unchanged(
    conn: Connection, account: Account, settings: ProviderSettings, claims: Mapping[str, Any]
) -> User | None:
    """The user the claims name, if signing them in changes nothing about them."""
    found = stored_users.user_login(conn, account.id, username_of(settings, claims))
    if found is None or found[0].disabled or found[0].role is not role_of(settings, claims):
        return None
    subject = stored.subject_of(conn, found[0].id)
    return found[0] if subject == str(claims["sub"]) else None


def signed_in_user(
    conn: Connection,
    account: Account,
    settings: ProviderSettings,
    claims: Mapping[str, Any],
    *,
    now: datetime,
    source: str | None = None,
) -> User:
    """The user the verified claims name, made at their first sign-in; their role set from
    the claims. A disabled user is refused as at any login; a super_admin is never signed
    in through a tenant's provider."""
    username, role = username_of(settings, claims), role_of(settings, claims)
    by = _actor_label(settings)
    found = stored_users.user_login(conn, account.id, username)
    if found is None:
        user = stored_users.insert_user(
            conn,
            account_id=account.id,
            username=username,
            password_hash=NO_PASSWORD,
            role=role,
            created_at=now,
        )
        audited(
            conn, account.id, "user_created", by, at=now, source=source,
            username=username, role=role.value, by_single_sign_on=True,
        )  # fmt: skip
    else:
        user = found[0]
        if user.disabled:
            raise InvalidCredentials
        if user.role is Role.SUPER_ADMIN:
            raise SignInRefused(
                "A super_admin logs in with their own password, not single sign-on."
            )
        if user.role is not role:
            stored_users.set_role(conn, user.id, role)
            audited(
                conn, account.id, "user_changed", by, at=now, source=source,
                username=user.username, role={"from": user.role.value, "to": role.value},
            )  # fmt: skip
            user = User(user.id, user.account_id, user.username, role, user.disabled)
    stored.set_subject(conn, user.id, str(claims["sub"]))
    return user


def back_channel_logout(
    db: Database, sso: SingleSignOn, account: Account, logout_token: str, *, now: datetime
) -> int:
    """The provider signed a user out: end their page logins and their agent session (reason
    logout) at once. Returns how many users it named; a replayed token changes nothing."""
    with db.read() as conn:
        found = _provider_for(conn, account)
    claims = sso.providers.verify(
        found.settings, logout_token, audiences=(found.settings.client_id,), now=now, logout=True
    )
    subject, sid = claims.get("sub"), claims.get("sid")
    remember = max(now + LOGOUT_MEMORY, _expiry(claims))
    with db.write() as conn:
        stored_accounts.lock_account(conn, account.id)
        if not stored.note_logout(conn, account.id, str(claims["jti"]), expires_at=remember):
            return 0
        named = stored.users_signed_in_as(
            conn,
            account.id,
            subject=subject if isinstance(subject, str) else None,
            session=sid if isinstance(sid, str) else None,
        )
        sessions.expire_overdue_sessions(conn, now, account_id=account.id)
        by = _actor_label(found.settings)
        for user in named:
            logins = stored_logins.end_web_logins_of(conn, user.id, now)
            session = sessions.open_session_of_user(conn, account.id, user.id)
            if session is not None:
                sessions.end_session(conn, session.id, at=now, reason=EndReason.LOGOUT)
                alerts.settle(conn, account.id, now)
            waits.end_waits_of_user(conn, account.id, user.id, at=now)
            audited(
                conn, account.id, "signed_out_by_provider", by, at=now,
                username=user.username, logins_ended=logins, session_ended=session is not None,
            )  # fmt: skip
        stored.forget_logouts(conn, now)
        return len(named)


def _expiry(claims: Mapping[str, Any]) -> datetime:
    exp = claims.get("exp")
    return datetime.fromtimestamp(exp if isinstance(exp, int | float) else 0, tz=UTC)
