"""Settings, read from SEATKEEPER_* environment variables (command-line options override them)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from seatkeeper.domain.destinations import networks

DEFAULT_DATABASE_URL = "sqlite:///seatkeeper.db"


class Settings(BaseSettings):
    """How seatkeeper runs. The default database is a SQLite file: no server needed."""

    model_config = SettingsConfigDict(env_prefix="SEATKEEPER_", frozen=True)

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path/to/file.db (default) or "
        "postgresql+psycopg://user@host/dbname.",
    )
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the server listens on.")
    workers: int = Field(1, ge=1, le=64, description="Server processes.")
    forwarded_allow_ips: str = Field(
        "",
        description="Addresses (or networks) of the proxies whose X-Forwarded-For/-Proto "
        "headers are trusted (comma-separated, or *): the client's address and https come "
        "from them. Default: none, every client is its socket's peer.",
    )
    sweep_seconds: float = Field(
        30, ge=0, description="How often each instance records timed-out sessions (0: never)."
    )
    alert_seconds: float | None = Field(
        None,
        ge=0,
        description="How often each instance clears the capacity alerts that use has fallen "
        "back from as sessions time out (0: never; default: every second, unless the sweep "
        "is more often or off).",
    )
    warm_seconds: float | None = Field(
        None,
        ge=0,
        description="How often each instance keeps the usage days of accounts that have none "
        "kept lately (0: never; default: with the sweep, every sweep_seconds).",
    )
    ticket_seconds: float = Field(
        60,
        ge=5,
        le=3600,
        description="How long a place in line for a license is kept without its ticket "
        "being followed (the Agent Application asks for it again within this).",
    )
    line_seconds: float = Field(
        1.0,
        ge=0,
        description="How often each instance seats the lines for a license that licenses "
        "freed for unnoticed, as sessions time out (0: never; logouts, terminations and "
        "sweeps seat them at once).",
    )
    webhook_seconds: float = Field(
        1.0,
        ge=0,
        description="How often each instance sends the webhook deliveries that are due "
        "(0: never), whatever the sweep.",
    )
    statistics_seconds: float = Field(
        3600,
        ge=0,
        description="How often each instance refreshes SQLite's statistics of its tables, "
        "from a sample, so that its planner keeps reading the grid's indexes as tables grow "
        "(0: never; PostgreSQL's autovacuum does this itself).",
    )
    retention_seconds: float = Field(
        3600,
        ge=0,
        description="How often each instance deletes the session, Interaction and refusal "
        "rows older than their account keeps them, once their days are kept for good, in "
        "small batches (0: never).",
    )
    webhook_allowed_networks: str = Field(
        "",
        description="Networks webhooks may reach although they are not public (on-premise "
        "receivers), comma-separated in CIDR notation: 10.1.2.0/24,fd00:1::/64. Default: "
        "none, only public internet addresses.",
    )
    webhook_allow_http: bool = Field(
        False, description="Allow http:// webhook addresses (default: https:// only)."
    )
    sso_allowed_networks: str = Field(
        "",
        description="Networks an account's OpenID Provider may be reached at although they "
        "are not public (an on-premise Keycloak), comma-separated in CIDR notation. Default: "
        "none, only public internet addresses.",
    )
    sso_allow_http: bool = Field(
        False, description="Allow http:// OpenID Provider addresses (default: https:// only)."
    )
    secret_key: SecretStr | None = Field(
        None,
        min_length=16,
        description="A long random secret that encrypts what seatkeeper must keep readable "
        "(OpenID Providers' client secrets); every instance needs the same one. Unset: they "
        "are kept as given, and never shown.",
    )
    heartbeat_batch_seconds: float = Field(
        1.0,
        ge=0,
        le=5,
        description="Heartbeats far from their session's expiry are written together this "
        "often (0: each at once).",
    )
    metrics_token: SecretStr | None = Field(
        None,
        min_length=1,
        description="Bearer token a Prometheus scrape of /metrics must carry; without one, "
        "/metrics answers only to this machine (127.0.0.1, ::1).",
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    login_hours: float = Field(
        12, gt=0, le=24 * 30, description="How long a login to the pages lasts, in hours."
    )
    login_checks: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Password checks run at once (argon2: a core and 19 MiB each; "
        "default: the cores the server may use).",
    )
    login_queue: int | None = Field(
        None,
        ge=0,
        le=10_000,
        description="Logins that may wait for a password check; beyond, a login is answered "
        "503 at once (default: eight times login_checks).",
    )
    public_url: str | None = Field(
        None,
        description="The address people reach this server at (https://seats.example.com): "
        "one-time links to set a password are made from it, never from a request's Host "
        "header. Unset: links are shown as a path on this server (/set-password#...).",
    )
    fast_password_hashing: bool = Field(
        False,
        description="Cheap argon2 parameters, for test suites only: never in production.",
    )
    opens_per_minute: int = Field(
        20,
        ge=0,
        le=100_000,
        description="Session opens one client address may make a minute for one account, at "
        "least (twice the account's licenses if that is more); 0 turns the pace off.",
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        """An http(s) address with a host and nothing after its path, without the final /."""
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username is not None
            or parts.query
            or parts.fragment
            or not value.strip().isprintable()
        ):
            raise ValueError(
                "must be the server's http(s) address, such as https://seats.example.com, "
                "without credentials, query or fragment"
            )
        return value.strip().rstrip("/")

    @field_validator("webhook_allowed_networks", "sso_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        networks(value)  # raises ValueError, naming the wrong one
        return value
