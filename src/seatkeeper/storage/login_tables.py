"""The tables of logins: to the pages, their failures, one-time password links, and single
sign-on (an account's provider, sign-ins under way, logouts acted on). Part of the schema
`storage.tables` names."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from seatkeeper.storage.columns import UTCDateTime, metadata

# A user's login to the pages: the cookie holds a random token, the table its hash.
web_logins = Table(
    "web_logins",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),  # logged out
    Column("source", String(64)),  # the client's address at login
    Column("user_agent", String(200)),  # the browser's User-Agent at login, cut short
    Column("last_seen_at", UTCDateTime),  # a request seen, to within LAST_SEEN_EVERY
    Index("ix_web_logins_user", "user_id"),
    Column("sso_session", String(255)),  # the provider's session (`sid`) it came from
)

# Login attempts that failed (or are being checked), for throttling logins: pages and
# agent sessions alike. The account is the name as typed, known or not, so that
# unknown accounts are throttled exactly like real ones.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account", String(63), nullable=False),
    Column("username", String(100), nullable=False),
    Column("source", String(64)),
    Column("at", UTCDateTime, nullable=False),
    # Until when the attempt's password is being checked (at most); null once it is known
    # to be wrong. A right password deletes the row.
    Column("checking_until", UTCDateTime),
    Index("ix_login_failures_user", "account", "username", "at"),
    Index("ix_login_failures_at", "at"),
    Index("ix_login_failures_source", "source", "at"),
)

# One-time links that let a user set their password; only the token's hash is kept.
password_links = Table(
    "password_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    Index("ix_password_links_user", "user_id"),
)

# An account's OpenID Provider. The client secret is kept encrypted when the server has a
# secret key (services.sso), and is never shown again.
sso_providers = Table(
    "sso_providers",
    metadata,
    Column("account_id", ForeignKey("accounts.id"), primary_key=True),
    Column("issuer", String(500), nullable=False),
    Column("client_id", String(500), nullable=False),
    Column("client_secret", Text, nullable=False),
    Column("display_name", String(100), nullable=False),
    Column("username_claim", String(500), nullable=False),
    Column("roles_claim", String(500)),
    Column("role_map", JSON, nullable=False),  # claim value -> role
    Column("default_role", String(20), nullable=False),
    Column("passwords_allowed", Boolean, nullable=False),
    Column("audiences", JSON, nullable=False),  # more client ids for agent sessions
    Column("scopes", String(500), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Sign-ins sent to a provider and not back yet: the state's hash, and the nonce and PKCE
# verifier the answer is checked with. Each is used once, and is good for a few minutes.
sso_requests = Table(
    "sso_requests",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("nonce", String(100), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("purpose", String(10), nullable=False),  # "page" or "console"
    Column("next", String(2000), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_sso_requests_expires_at", "expires_at"),
)

# Back-channel logout tokens already acted on (their `jti`), until they expire: a replayed
# one changes nothing.
sso_logouts = Table(
    "sso_logouts",
    metadata,
    Column("account_id", ForeignKey("accounts.id"), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
)
