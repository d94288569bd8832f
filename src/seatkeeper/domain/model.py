"""The things seatkeeper keeps: accounts, users, agent sessions and interactions."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

GUEST = "Guest"  # how an agent who is not logged in is shown


class Role(StrEnum):
    """A user's role. Declared lowest to highest: the order is the hierarchy."""

    AGENT = "agent"
    DESIGNER = "designer"
    ACCOUNT_ADMIN = "account_admin"
    SUPER_ADMIN = "super_admin"

    @property
    def rank(self) -> int:
        """Position in the hierarchy, 0 for the lowest role."""
        return _ROLE_ORDER.index(self)

    @property
    def label(self) -> str:
        """The role's name as people read it: "Account Admin"."""
        return self.value.replace("_", " ").title()

    def at_least(self, other: Role) -> bool:
        """Whether this role is `other` or higher."""
        return self.rank >= other.rank


_ROLE_ORDER = tuple(Role)


class EndReason(StrEnum):
    """Why an agent session ended."""

    LOGOUT = "logout"
    TIMEOUT = "timeout"
    TERMINATED = "terminated"
    DISABLED = "disabled"  # the agent's user was disabled by an administrator


class KeyKind(StrEnum):
    """What an API key authorizes."""

    APPLICATION = "application"  # opens agent sessions for one account
    USER = "user"  # acts as one user, with that user's role (an admin's is an admin API token)


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    slug: str
    name: str
    licenses: int
    time_zone: str
    session_timeout: timedelta
    guests_allowed: bool
    created_at: datetime
    console_enabled: bool = False  # seatkeeper's own agent console may open sessions
    alert_levels: tuple[int, ...] = (90, 100)  # capacity alerts, percent of the licenses
    max_interactions: int = 10  # Interactions one session may have open at once
    # Days session, Interaction and refusal rows are kept; their usage days are kept for good.
    retention_days: int = 400
    overdraft: int = 0  # sessions allowed beyond the licenses, each marked as overdraft
    has_groups: bool = False  # any seat group: only then do claims read them

    @property
    def zone(self) -> ZoneInfo:
        """The account's time zone: its pages show every time in it."""
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """An account's settings to change; None leaves a setting as it is."""

    name: str | None = None
    time_zone: str | None = None
    session_timeout: timedelta | None = None
    guests_allowed: bool | None = None
    licenses: int | None = None  # a super_admin's (or an operator's) to change
    console_enabled: bool | None = None
    alert_levels: tuple[int, ...] | None = None  # percentages of the licenses
    max_interactions: int | None = None  # open at once in one session
    retention_days: int | None = None  # days raw usage rows are kept
    overdraft: int | None = None  # a super_admin's (or an operator's) to change

    def given(self) -> dict[str, Any]:
        """The settings this change sets, by name."""
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: value for name, value in given.items() if value is not None}


@dataclass(frozen=True, slots=True)
class User:
    id: int
    account_id: int
    username: str
    role: Role
    disabled: bool


@dataclass(frozen=True, slots=True)
class AgentSession:
    """One license held by one Agent Application user (or a Guest browser)."""

    id: UUID
    account_id: int
    user_id: int | None  # None for a Guest
    started_at: datetime
    last_activity_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: EndReason | None
    overdraft: bool = False  # opened while all the licenses were held; never changes
    group_id: int | None = None  # the seat group it counts under, set at open
    reserved: bool = False  # it holds one of that group's reserved licenses


class WaitOutcome(StrEnum):
    """How a place in the line ended."""

    SEATED = "seated"  # given a session (collected by its ticket, or not yet)
    LEFT = "left"  # the waiter left the line
    TIMED_OUT = "timed_out"  # its ticket was not followed in time


@dataclass(frozen=True, slots=True)
class Wait:
    """A place in an account's line for a license, followed by its ticket."""

    id: int
    account_id: int
    user_id: int | None  # None for a Guest
    asked_at: datetime
    expires_at: datetime  # it leaves the line unless its ticket is followed by then
    ended_at: datetime | None = None
    outcome: WaitOutcome | None = None
    session_id: UUID | None = None  # the session it was seated in
    collected_at: datetime | None = None  # when the ticket took that session


@dataclass(frozen=True, slots=True)
class SeatGroup:
    """Users who may share licenses reserved for them, and hold at most `maximum` at once.
    The Guests group (`guests`) has every Guest session as its member, and no users."""

    id: int
    account_id: int
    name: str
    guests: bool
    reserved: int  # licenses only its members may hold
    maximum: int | None  # the most its members hold at once; None: no maximum


@dataclass(frozen=True, slots=True)
class Interaction:
    """An open (or closed) instance of a Flow inside a session."""

    id: UUID
    session_id: UUID
    flow: str
    opened_at: datetime
    closed_at: datetime | None
    step: str | None


@dataclass(frozen=True, slots=True)
class Flow:
    """A guided procedure agents work through: a name and its ordered step titles."""

    name: str
    steps: tuple[str, ...]


SortColumn = Literal["agent_id", "session_start", "open_interactions_count"]


@dataclass(frozen=True, slots=True)
class GridView:
    """Which part of the Active Agents grid to show."""

    sort: SortColumn = "session_start"
    descending: bool = False
    search: str | None = None  # part of an agent id or of an open Flow's name
    page: int = 1
    per_page: int = 50
    group: int | None = None  # only the sessions that count under this seat group


@dataclass(frozen=True, slots=True)
class GridRow:
    """One row of the Active Agents grid: an open session."""

    session_id: UUID
    agent_id: str | None  # the username, None for a Guest
    started_at: datetime
    flows: tuple[str, ...]  # each open Flow's name once, alphabetical
    open_interactions: int  # every open instance counts
    overdraft: bool = False  # opened beyond the licenses
    group: str | None = None  # the name of the seat group it counts under
    reserved: bool = False  # it holds one of that group's reserved licenses


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user as the Users page lists them."""

    id: int
    username: str
    role: Role
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class LicenseChange:
    at: datetime
    licenses: int
    actor: str | None  # None for the total the account began with


@dataclass(frozen=True, slots=True)
class EndedSession:
    """A session that ended, as the Recently ended view lists it."""

    session_id: UUID
    agent_id: str | None  # None for a Guest
    started_at: datetime
    ended_at: datetime
    reason: EndReason
    ended_by: str | None  # the admin who terminated it
    source: str | None  # where the termination came from
    open_at_end: tuple[str, ...]  # the Flows open when it was terminated


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    account_id: int
    url: str
    secret: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    webhook_id: int
    event: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class PageLoginRow:
    """One of a user's logins to the pages that is still on."""

    id: int
    created_at: datetime
    source: str | None  # the client's address at login
    user_agent: str | None  # the browser, as it named itself
    last_seen_at: datetime | None  # to within a few minutes; None if never since login
    current: bool  # the login this list is shown to
