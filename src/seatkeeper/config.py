"""Settings, read from SEATKEEPER_* environment variables (command-line options override them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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
        "127.0.0.1",
        description="Addresses of proxies whose X-Forwarded-For/-Proto headers are trusted "
        "(comma-separated, or *): the client's address and https come from them.",
    )
    sweep_seconds: float = Field(
        30, ge=0, description="How often each instance records timed-out sessions (0: never)."
    )
    alert_seconds: float | None = Field(
        None,
        ge=0,
        description="How often each instance clears (or raises) capacity alerts as use moves "
        "(0: never; default: with the sweep, every sweep_seconds).",
    )
    warm_seconds: float | None = Field(
        None,
        ge=0,
        description="How often each instance keeps the usage days of accounts that have none "
        "kept lately (0: never; default: with the sweep, every sweep_seconds).",
    )
    webhook_seconds: float = Field(
        1.0,
        ge=0,
        description="How often each instance sends the webhook deliveries that are due "
        "(0: never), whatever the sweep.",
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
