"""An account's OpenID Provider, sign-ins under way, and back-channel logouts seen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from seatkeeper.domain.model import Role, User
from seatkeeper.domain.sso import ProviderSettings
from seatkeeper.storage.tables import sso_logouts, sso_providers, sso_requests, users, web_logins
from seatkeeper.storage.users import user_of


@dataclass(frozen=True, slots=True)
class StoredProvider:
    settings: ProviderSettings
    client_secret: str  # as stored: encrypted, or marked plain (services.sso reads it)
    updated_at: datetime


def _provider_of(row: Row[Any]) -> StoredProvider:
    settings = ProviderSettings(
        issuer=row.issuer,
        client_id=row.client_id,
        display_name=row.display_name,
        username_claim=row.username_claim,
        roles_claim=row.roles_claim,
        role_map={value: Role(role) for value, role in row.role_map.items()},
        default_role=Role(row.default_role),
        passwords_allowed=row.passwords_allowed,
        audiences=tuple(row.audiences),
        scopes=row.scopes,
    )
    return StoredProvider(settings, row.client_secret, row.updated_at)


def provider_of(conn: Connection, account_id: int) -> StoredProvider | None:
    """The account's provider, if it has one."""
    row = conn.execute(
        select(sso_providers).where(sso_providers.c.account_id == account_id)
    ).one_or_none()
    return None if row is None else _provider_of(row)


def put_provider(
    conn: Connection,
    account_id: int,
    settings: ProviderSettings,
    *,
    client_secret: str | None,
    now: datetime,
) -> None:
    """Set the account's provider; `client_secret` None keeps the stored one."""
    values: dict[str, Any] = {
        "issuer": settings.issuer,
        "client_id": settings.client_id,
        "display_name": settings.display_name,
        "username_claim": settings.username_claim,
        "roles_claim": settings.roles_claim,
        "role_map": {value: role.value for value, role in settings.role_map.items()},
        "default_role": settings.default_role.value,
        "passwords_allowed": settings.passwords_allowed,
        "audiences": list(settings.audiences),
        "scopes": settings.scopes,
        "updated_at": now,
    }
    if client_secret is not None:
        values["client_secret"] = client_secret
    changed = conn.execute(
        update(sso_providers).where(sso_providers.c.account_id == account_id).values(**values)
    ).rowcount
    if not changed:
        assert client_secret is not None, "a new provider needs its client secret"
        conn.execute(sso_providers.insert().values(account_id=account_id, **values))


def delete_provider(conn: Connection, account_id: int) -> bool:
    """Remove the account's provider; True if it had one."""
    gone: int = conn.execute(
        delete(sso_providers).where(sso_providers.c.account_id == account_id)
    ).rowcount
    conn.execute(delete(sso_requests).where(sso_requests.c.account_id == account_id))
    return gone > 0


@dataclass(frozen=True, slots=True)
class SignInRequest:
    account_id: int
    nonce: str
    code_verifier: str
    purpose: str
    next: str


def insert_request(
    conn: Connection,
    state_hash: str,
    request: SignInRequest,
    *,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Remember a sign-in sent to the provider (and forget those that never came back)."""
    conn.execute(delete(sso_requests).where(sso_requests.c.expires_at <= now))
    conn.execute(
        sso_requests.insert().values(
            state_hash=state_hash,
            account_id=request.account_id,
            nonce=request.nonce,
            code_verifier=request.code_verifier,
            purpose=request.purpose,
            next=request.next,
            expires_at=expires_at,
        )
    )


def take_request(conn: Connection, state_hash: str, now: datetime) -> SignInRequest | None:
    """The sign-in a state names, removed so that it serves once; None if unknown or old."""
    row = conn.execute(
        delete(sso_requests)
        .where(sso_requests.c.state_hash == state_hash)
        .returning(*sso_requests.c)
    ).one_or_none()
    if row is None or row.expires_at <= now:
        return None
    return SignInRequest(row.account_id, row.nonce, row.code_verifier, row.purpose, row.next)


def subject_of(conn: Connection, user_id: int) -> str | None:
    subject: str | None = conn.scalar(select(users.c.sso_subject).where(users.c.id == user_id))
    return subject


def set_subject(conn: Connection, user_id: int, subject: str) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(sso_subject=subject))


def users_signed_in_as(
    conn: Connection, account_id: int, *, subject: str | None, session: str | None
) -> list[User]:
    """The account's users the provider names by subject, or whose page login came from
    the provider's session `session`."""
    found: dict[int, User] = {}
    if subject is not None:
        rows = conn.execute(
            select(users).where(users.c.account_id == account_id, users.c.sso_subject == subject)
        ).all()
        found.update((r.id, user_of(r)) for r in rows)
    if session is not None:
        rows = conn.execute(
            select(users)
            .join(web_logins, web_logins.c.user_id == users.c.id)
            .where(users.c.account_id == account_id, web_logins.c.sso_session == session)
            .distinct()
        ).all()
        found.update((r.id, user_of(r)) for r in rows)
    return list(found.values())


def note_logout(conn: Connection, account_id: int, jti: str, *, expires_at: datetime) -> bool:
    """Note a logout token; False if it was seen already (a replay). Called under the
    account's lock, which orders two instances given the same token."""
    seen = conn.execute(
        select(sso_logouts.c.jti).where(
            sso_logouts.c.account_id == account_id, sso_logouts.c.jti == jti
        )
    ).first()
    if seen is not None:
        return False
    conn.execute(sso_logouts.insert().values(account_id=account_id, jti=jti, expires_at=expires_at))
    return True


def forget_logouts(conn: Connection, now: datetime) -> None:
    conn.execute(delete(sso_logouts).where(sso_logouts.c.expires_at <= now))
