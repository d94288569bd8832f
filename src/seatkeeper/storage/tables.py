"""The schema. Alembic migrations create it; this module is what queries are written against
(the login tables are declared in `login_tables`, and named here too)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    false,
    text,
)

from seatkeeper.storage.columns import UTCDateTime as UTCDateTime
from seatkeeper.storage.columns import metadata as metadata
from seatkeeper.storage.login_tables import login_failures as login_failures
from seatkeeper.storage.login_tables import password_links as password_links
from seatkeeper.storage.login_tables import sso_logouts as sso_logouts
from seatkeeper.storage.login_tables import sso_providers as sso_providers
from seatkeeper.storage.login_tables import sso_requests as sso_requests
from seatkeeper.storage.login_tables import web_logins as web_logins

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("licenses", Integer, nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("session_timeout_seconds", Integer, nullable=False),
    Column("guests_allowed", Boolean, nullable=False),
    # Whether seatkeeper's own agent console may open sessions for the account.
    Column("console_enabled", Boolean, nullable=False, server_default=false()),
    # Capacity alert levels, percentages of the licenses: "90,100".
    Column("alert_levels", String(40), nullable=False, server_default="90,100"),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("licenses >= 0", name="licenses_not_negative"),
    CheckConstraint("session_timeout_seconds > 0", name="timeout_positive"),
    # How many Interactions one session may have open at once (checked by the service).
    Column("max_interactions", Integer, nullable=False, server_default="10"),
    # How long session, Interaction and refusal rows are kept (their days are kept for good).
    Column("retention_days", Integer, nullable=False, server_default="400"),
    # Sessions allowed beyond the licenses (a super_admin's to set; checked by the service).
    Column("overdraft", Integer, nullable=False, server_default="0"),
    # Whether the account has any seat group: kept by the groups service, so that a claim
    # on an account without groups reads nothing about them.
    Column("has_groups", Boolean, nullable=False, server_default=false()),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("username", String(100), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
    Column("last_login_at", UTCDateTime),  # the pages' login or an agent's session
    Index("ux_users_account_username", "account_id", "username", unique=True),
    # The username as names are compared: NFKC, case folded (credentials.username_key).
    Column("username_key", String(400), nullable=False),
    Index("ux_users_account_username_key", "account_id", "username_key", unique=True),
    # Who the account's OpenID Provider says the user is (its `sub`), from their last
    # sign-in there: a logout from the provider names them by it.
    Column("sso_subject", String(255)),
    Index("ix_users_account_sso_subject", "account_id", "sso_subject"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("user_id", ForeignKey("users.id")),  # set for admin tokens
    Column("kind", String(20), nullable=False),
    Column("name", String(100), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    # When it stops working: at once when revoked, later when rotated with a grace period.
    Column("revoked_at", UTCDateTime),
    Column("expires_at", UTCDateTime),  # chosen when made; none: never
    Column("replaced_by", ForeignKey("api_keys.id")),  # the key it was rotated to
    Index("ix_api_keys_account", "account_id"),
)

# When each key was last used: bookkeeping kept apart from the key, written at most about
# once a minute by the calls it authenticates (one row per key, made with it).
api_key_uses = Table(
    "api_key_uses",
    metadata,
    Column("key_id", ForeignKey("api_keys.id"), primary_key=True),
    Column("last_used_at", UTCDateTime),
)

agent_sessions = Table(
    "agent_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("user_id", ForeignKey("users.id")),  # NULL for a Guest
    Column("started_at", UTCDateTime, nullable=False),
    Column("last_activity_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("end_reason", String(20)),
    Column("ended_by", ForeignKey("users.id")),
    # Opened while all the licenses were held (under the overdraft); set at open, kept.
    Column("overdraft", Boolean, nullable=False, server_default=false()),
    # The seat group the session counts under, set at open and kept: the group whose
    # reserved license it holds (`reserved`), or else the agent's first group by name (the
    # Guests group for a Guest); NULL when it had none, or the group was deleted since (a
    # plain column: SQLite cannot add a foreign key to a table; deleting a group clears it).
    Column("group_id", Integer),
    Column("reserved", Boolean, nullable=False, server_default=false()),
    CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended_has_reason"),
    # The seat count and the grid read only open sessions: keep them in a small index.
    Index(
        "ix_agent_sessions_open",
        "account_id",
        "expires_at",
        sqlite_where=text("ended_at IS NULL"),
        postgresql_where=text("ended_at IS NULL"),
    ),
    # A logged-in agent holds at most one open session, whatever the application does.
    Index(
        "ux_agent_sessions_open_user",
        "account_id",
        "user_id",
        unique=True,
        sqlite_where=text("ended_at IS NULL AND user_id IS NOT NULL"),
        postgresql_where=text("ended_at IS NULL AND user_id IS NOT NULL"),
    ),
    Index("ix_agent_sessions_history", "account_id", "started_at"),
    # Kept by triggers (migration 0020), so that every sort of the grid reads an index:
    # the agent as the grid sorts and searches it (the username in lower case, `guest` for
    # a Guest), and how many of the session's Interactions are open.
    Column("agent_key", String(400), nullable=False, server_default="guest"),
    Column("open_interactions", Integer, nullable=False, server_default="0"),
    *(
        Index(
            f"ix_agent_sessions_open_{name}",
            "account_id",
            *key,
            "started_at",
            "id",
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        )
        for name, key in (
            ("start", ()),
            ("agent", ("agent_key",)),
            ("count", ("open_interactions",)),
        )
    ),
    Index("ix_agent_sessions_ended", "account_id", "ended_at"),
)

# Seat groups: users belong to any number of them (Guests form one of their own, `guests`);
# a group may have licenses reserved for its members and a maximum its members hold at once.
seat_groups = Table(
    "seat_groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("name_key", String(400), nullable=False),  # compared as usernames are
    Column("guests", Boolean, nullable=False, server_default=false()),
    Column("reserved", Integer, nullable=False, server_default="0"),
    Column("maximum", Integer),  # NULL: no maximum
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("maximum IS NULL OR maximum >= 0", name="maximum_not_negative"),
    Index("ux_seat_groups_account_name", "account_id", "name_key", unique=True),
    Index(
        "ux_seat_groups_account_guests",
        "account_id",
        unique=True,
        sqlite_where=text("guests"),
        postgresql_where=text("guests"),
    ),
)

# A place in an account's line for a license (services.line): the line is the waits not
# ended, in id order (ids are given under the account's lock, in the order asked).
waits = Table(
    "waits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("user_id", ForeignKey("users.id")),  # NULL for a Guest
    Column("token_hash", String(64), nullable=False),  # the ticket's, as session tokens'
    Column("asker", String(64)),  # the hashed address and browser, as a denial keeps
    Column("asked_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),  # leaves the line unless followed
    Column("ended_at", UTCDateTime),
    Column("outcome", String(16)),  # seated, left, timed_out
    Column("session_id", Uuid),  # the session it was seated in
    Column("freed_at", UTCDateTime),  # when the license it was given became free
    Column("collected_at", UTCDateTime),  # when the ticket's holder took the session
    CheckConstraint("(ended_at IS NULL) = (outcome IS NULL)", name="ended_has_outcome"),
    Index("ux_waits_token_hash", "token_hash", unique=True),
    Index(
        "ix_waits_line",
        "account_id",
        "id",
        sqlite_where=text("ended_at IS NULL"),
        postgresql_where=text("ended_at IS NULL"),
    ),
    Index("ix_waits_account_asked", "account_id", "asked_at"),
)

seat_group_members = Table(
    "seat_group_members",
    metadata,
    Column("group_id", ForeignKey("seat_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_seat_group_members_user", "user_id"),
)

session_tokens = Table(
    "session_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", ForeignKey("agent_sessions.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
)

interactions = Table(
    "interactions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("session_id", ForeignKey("agent_sessions.id"), nullable=False),
    Column("flow", String(200), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("step", Text),
    Index("ix_interactions_session", "session_id", "closed_at"),
    # The grid's search by Flow steps through the names of open Interactions with it.
    Index(
        "ix_interactions_open_flow",
        "flow",
        "session_id",
        sqlite_where=text("closed_at IS NULL"),
        postgresql_where=text("closed_at IS NULL"),
    ),
)

denials = Table(
    "denials",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("user_id", ForeignKey("users.id")),  # NULL for a Guest
    Column("at", UTCDateTime, nullable=False),
    Index("ix_denials_account_at", "account_id", "at"),
    # A hash of the address and browser that asked (never stored as such); NULL if unknown.
    Column("requester", String(32)),
)

# What admins did, for "who ended my session?". Written once and never changed or
# deleted: triggers refuse both (migration 0007), on SQLite and PostgreSQL.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(40), nullable=False),
    Column("actor_id", ForeignKey("users.id")),
    Column("actor", String(100)),  # the user's name when they acted
    Column("source", String(100)),  # the client's address
    Column("session_id", ForeignKey("agent_sessions.id")),
    Column("details", JSON, nullable=False),
    Index("ix_audit_events_account_at", "account_id", "at"),
    Index("ix_audit_events_session", "session_id"),
)

# Capacity alerts: raised once when use crosses a level, cleared when it falls back.
capacity_alerts = Table(
    "capacity_alerts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("level", Integer, nullable=False),  # percent of the licenses
    Column("licenses", Integer, nullable=False),  # the total when it was raised
    Column("raised_at", UTCDateTime, nullable=False),
    Column("raised_in_use", Integer, nullable=False),
    Column("cleared_at", UTCDateTime),
    Column("cleared_in_use", Integer),
    Index("ix_capacity_alerts_account", "account_id", "raised_at"),
    # The active ones, which the periodic evaluation looks for every second.
    Index(
        "ix_capacity_alerts_active",
        "account_id",
        "level",
        sqlite_where=text("cleared_at IS NULL"),
        postgresql_where=text("cleared_at IS NULL"),
    ),
)

# Where an account's capacity alerts are sent. The secret signs each delivery, so it is
# kept as given (a hash could not sign).
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("secret", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_webhooks_account", "account_id"),
)

# One event for one webhook: written with the alert, sent (and retried) afterwards.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("webhook_id", ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime),  # NULL once delivered, or given up
    Column("delivered_at", UTCDateTime),
    Column("last_status", Integer),
    Column("last_error", String(500)),
    Index("ix_webhook_deliveries_due", "next_attempt_at"),
    Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
)

# The Flows an account's agents work through: a name and its ordered step titles.
flows = Table(
    "flows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("steps", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ux_flows_account_name", "account_id", "name", unique=True),
)

# What changed, when, in which account: every instance follows this feed to push updates
# to the pages it serves. Rows are short-lived: they are pruned after a few minutes.
account_changes = Table(
    "account_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,  # ids never come back after pruning: followers rely on it
)

# The usage graph's cache: each day's peak and denials, in one time zone, computed from
# the session rows up to `through` (the day's end once the day is over). Rebuilt from
# the sessions whenever it is missing or deleted.
usage_days = Table(
    "usage_days",
    metadata,
    Column("account_id", ForeignKey("accounts.id"), primary_key=True),
    Column("time_zone", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("through", UTCDateTime, nullable=False),
    Column("max_concurrent", Integer, nullable=False),
    Column("denials", Integer, nullable=False),
    Column("open_at_through", Integer, nullable=False),
    Column("micros_at_cap", BigInteger, nullable=False),  # time with every license in use
    Column("peak_demand", Integer, nullable=False),
    Column("licenses", Integer, nullable=False),  # the total the day was computed against
    Index("ix_usage_days_through", "account_id", "through"),
    # The retention task deleted the day's raw rows: it is never dropped or computed again.
    Column("final", Boolean, nullable=False, server_default=false()),
    # Session-time beyond the licenses (migration 0024); NULL on a final day kept before
    # it was counted, with use above the licenses: unknown, never made up.
    Column("micros_overdraft", BigInteger, nullable=True),
)

_DAY = ("account_id", "time_zone", "day")

# Who held licenses on a kept day (migration 0021): per agent, and the Guests as holder 0.
usage_day_holders = Table(
    "usage_day_holders",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("time_zone", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("holder_id", Integer, primary_key=True),  # the user's id; 0 for the Guests
    Column("held_micros", BigInteger, nullable=False),  # license time held within the day
    Column("idle_micros", BigInteger, nullable=False),  # of it, after the last activity of
    # sessions that then timed out
    Column("sessions", Integer, nullable=False),  # sessions started that day
    Column("longest_micros", BigInteger, nullable=False),  # the longest of those
    ForeignKeyConstraint(
        list(_DAY),
        [f"usage_days.{c}" for c in _DAY],
        name="fk_usage_day_holders_day",
        ondelete="CASCADE",
    ),
)

# What a shorter timeout would have made of a kept day, per candidate timeout in minutes.
usage_day_timeouts = Table(
    "usage_day_timeouts",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("time_zone", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("minutes", Integer, primary_key=True),
    Column("peak", Integer, nullable=False),
    Column("freed_micros", BigInteger, nullable=False),
    ForeignKeyConstraint(
        list(_DAY),
        [f"usage_days.{c}" for c in _DAY],
        name="fk_usage_day_timeouts_day",
        ondelete="CASCADE",
    ),
)

# Every license total an account has had, from its creation: shown on Account Settings.
license_changes = Table(
    "license_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("licenses", Integer, nullable=False),
    Column("actor", String(100)),  # who set it; NULL for the total the account began with
    Index("ix_license_changes_account_at", "account_id", "at"),
)
