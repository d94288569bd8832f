"""What people read: how seatkeeper shows a time in the account's zone, an open or an
ended session, a usage day, a user, a license change and a capacity alert.

The pages, the JSON API and the downloads show these from here, the same way; nothing
here reads a request or the database, so the command line can use it as well.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from seatkeeper.domain import periods
from seatkeeper.domain.alerts import Alert
from seatkeeper.domain.keys import ApiKey, KeyState
from seatkeeper.domain.model import (
    GUEST,
    Account,
    EndedSession,
    EndReason,
    GridRow,
    KeyKind,
    LicenseChange,
    Role,
    UserRow,
)
from seatkeeper.domain.periods import Period
from seatkeeper.domain.trueup import MonthUsage
from seatkeeper.domain.usage import DayUsage, UsageReport, advice
from seatkeeper.domain.words import plural

SECONDS = "%Y-%m-%d %H:%M:%S"  # when a session started or ended, as the grids show it
MINUTES = "%Y-%m-%d %H:%M"  # a login, a license change
DAY = "%a %d %b"  # a day of the usage chart: "Wed 25 Nov"


# --- times and small things -------------------------------------------------------------


def local(at: datetime, account: Account) -> datetime:
    """An instant as the account's clocks read it."""
    return at.astimezone(account.zone)


def local_or_none(at: datetime | None, account: Account) -> datetime | None:
    """`local`, for an instant that may not have happened (yet)."""
    return None if at is None else local(at, account)


def day_start(day: date, account: Account) -> datetime:
    """Midnight of a calendar day, in the account's zone."""
    return datetime.combine(day, time(), account.zone)


def agent_label(agent_id: str | None) -> str:
    """The Agent Id column: the username, or Guest for an agent who is not logged in."""
    return GUEST if agent_id is None else agent_id


def average(value: float) -> str:
    """A Daily Average as shown: two decimals at most, as the API rounds it ("0.37", "15.8")."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def duration(length: timedelta) -> str:
    """A session's length as people say it: 45 s, 12 min, 3 h 05 min, 2 d 1 h."""
    seconds = max(0, round(length.total_seconds()))
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 60:
        return f"{seconds} s"
    if hours < 1:
        return f"{minutes} min"
    if hours < 24:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{hours // 24} d {hours % 24} h"


def timeout_minutes(account: Account) -> float:
    """The account's session timeout, in minutes."""
    return account.session_timeout.total_seconds() / 60


def sso_addresses(base: str, account: Account) -> tuple[str, str]:
    """The two addresses an admin registers at the account's provider: where it sends the
    browser back (redirect URI), and where it posts back-channel logouts."""
    root = f"{base.rstrip('/')}/sso/{account.slug}"
    return f"{root}/callback", f"{root}/back-channel-logout"


def link_url(public_url: str | None, token: str) -> str:
    """The address of a one-time link to set a password: on the server's public address, or
    a path on this server when none is configured (never the Host a request named). The
    token goes in the fragment, which browsers never send: no server, proxy or access log
    sees it."""
    return f"{(public_url or '').rstrip('/')}/set-password#{token}"


def terminated_message(terminated: int, *, already_ended: int, not_found: int) -> str:
    """What a termination did, in a sentence or three."""
    message = f"{terminated} session{'' if terminated == 1 else 's'} terminated."
    if already_ended:
        message += f" {already_ended} had already ended."
    if not_found:
        message += f" {not_found} not found in this account."
    return message


# --- sessions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Session:
    """What every row of a session shows: who, and since when."""

    session_id: UUID
    agent_id: str | None  # None for a Guest
    started: datetime  # in the account's zone

    @property
    def agent(self) -> str:
        return agent_label(self.agent_id)

    @property
    def guest(self) -> bool:
        return self.agent_id is None

    @property
    def started_text(self) -> str:
        return self.started.strftime(SECONDS)


@dataclass(frozen=True, slots=True)
class OpenSession(_Session):
    """An open session: a row of the Active Agents grid."""

    flows: tuple[str, ...]  # each open Flow's name once
    count: int  # every open Interaction
    overdraft: bool  # opened beyond the licenses
    group: str | None = None  # the seat group it counts under
    reserved: bool = False  # it holds one of that group's reserved licenses

    @property
    def started_iso(self) -> str:
        return self.started.isoformat(timespec="seconds")

    @property
    def flows_text(self) -> str:
        return ", ".join(self.flows)


def open_session(row: GridRow, account: Account) -> OpenSession:
    return OpenSession(
        row.session_id,
        row.agent_id,
        local(row.started_at, account),
        row.flows,
        row.open_interactions,
        row.overdraft,
        row.group,
        row.reserved,
    )


@dataclass(frozen=True, slots=True)
class Ended(_Session):
    """A session that ended: a row of Recently ended."""

    ended: datetime  # in the account's zone
    seconds: int  # how long it lasted
    reason: EndReason
    ended_by: str | None  # the admin who terminated it
    source: str | None  # the address the termination came from
    open_at_end: tuple[str, ...]

    @property
    def ended_text(self) -> str:
        return self.ended.strftime(SECONDS)

    @property
    def ended_iso(self) -> str:
        return self.ended.isoformat(timespec="seconds")

    @property
    def duration_text(self) -> str:
        return duration(timedelta(seconds=self.seconds))

    @property
    def by_text(self) -> str:
        """ "by alice from 10.0.0.7" for a termination, else ""."""
        parts = (
            f"by {self.ended_by}" if self.ended_by else "",
            f"from {self.source}" if self.source else "",
        )
        return " ".join(part for part in parts if part)

    @property
    def open_at_end_text(self) -> str:
        """The Flows open at the end as the grid lists them, in order and each name once, and
        a Flow open more than once with a times sign and its count after its name."""
        counts = Counter(self.open_at_end)
        # A no-break space: the count never wraps away from its Flow.
        return ", ".join(f"{n}\u00a0×{counts[n]}" if counts[n] > 1 else n for n in sorted(counts))


def ended_session(row: EndedSession, account: Account) -> Ended:
    return Ended(
        row.session_id,
        row.agent_id,
        local(row.started_at, account),
        local(row.ended_at, account),
        round((row.ended_at - row.started_at).total_seconds()),
        row.reason,
        row.ended_by,
        row.source,
        row.open_at_end,
    )


# --- users and settings -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """A user of the account, as the Users page and the API list them."""

    username: str
    role: Role
    created: datetime  # in the account's zone
    last_login: datetime | None  # the pages' login or an agent's session; None if never
    disabled: bool

    @property
    def role_label(self) -> str:
        return self.role.label

    @property
    def last_login_text(self) -> str:
        return "Never" if self.last_login is None else self.last_login.strftime(MINUTES)


def person(row: UserRow, account: Account) -> Person:
    return Person(
        row.username,
        row.role,
        local(row.created_at, account),
        local_or_none(row.last_login_at, account),
        row.disabled_at is not None,
    )


@dataclass(frozen=True, slots=True)
class LicenseTotal:
    """A line of the license history: since when the account had how many licenses."""

    at: datetime  # in the account's zone
    licenses: int
    actor: str | None  # None for the total the account began with

    @property
    def at_text(self) -> str:
        return self.at.strftime(MINUTES)

    @property
    def by_text(self) -> str:
        return self.actor or "when the account was created"


def license_total(change: LicenseChange, account: Account) -> LicenseTotal:
    return LicenseTotal(local(change.at, account), change.licenses, change.actor)


# --- usage and alerts -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Day:
    """A day of usage history, in the account's zone."""

    date: date
    start: datetime  # its midnight, there
    max_concurrent: int
    denials: int
    account_existed: bool
    minutes_at_cap: int
    peak_demand: int
    overdraft_peak: int
    overdraft_minutes: int | None
    waited: int = 0  # places asked in the line for a license
    longest_wait_seconds: int | None = None
    longest_seating_seconds: int | None = None

    @property
    def label(self) -> str:
        return self.date.strftime(DAY)

    def description(self, licenses: int) -> str:
        """What the chart tells of the day when it is pointed at."""
        if not self.account_existed:
            return f"{self.label}: before the account existed"
        denied = f", {self.denials} denied" if self.denials else ", no denials"
        at_cap = f", {self.minutes_at_cap} min at the cap" if self.minutes_at_cap else ""
        wanted = (
            f", {self.peak_demand} wanted at once" if self.peak_demand > self.max_concurrent else ""
        )
        return (
            f"{self.label}: peak {self.max_concurrent} of {licenses}{denied}{at_cap}{wanted}"
            f"{waits_text(self.waited, self.longest_wait_seconds)}"
        )


def usage_day(day: DayUsage, account: Account) -> Day:
    return Day(
        day.day,
        day_start(day.day, account),
        day.max_concurrent,
        day.denials,
        day.account_existed,
        day.minutes_at_cap,
        day.peak_demand,
        day.overdraft_peak,
        day.overdraft_minutes,
        day.waited,
        day.longest_wait_seconds,
        day.longest_seating_seconds,
    )


def waits_text(waited: int, longest: int | None) -> str:
    """What a day's or month's description says of the line: ", 2 waited (longest 3 min)"."""
    if not waited and longest is None:
        return ""
    most = "" if longest is None else f" (longest {duration(timedelta(seconds=longest))})"
    return f", {waited} waited{most}"


def usage_advice(report: UsageReport, period: Period) -> str:
    """The right-sizing hint over the period shown (for the last 30 days, as it always was)."""
    return advice(report, over=None if period.name == periods.DEFAULT else period.over)


def covered(month: MonthUsage) -> str:
    """Which days of a month a report covers: "" for all of them, else "1-10 Mar"."""
    if not month.partial:
        return ""
    if month.first == month.last:
        return f"{month.first.day} {month.first:%b} only"
    return f"{month.first.day}–{month.last.day} {month.first:%b} only"


def month_description(month: MonthUsage, licenses: int) -> str:
    """What the monthly chart tells of a month when it is pointed at."""
    label = f"{month.label} ({covered(month)})" if month.partial else month.label
    if not month.account_existed:
        return f"{label}: before the account existed"
    parts = [
        f"peak {month.peak} of {licenses} on {month.peak_day:%a %d %b}",
        f"{plural(month.days_at_cap, 'day')} at the cap",
        f"{month.denials} denied" if month.denials else "no denials",
        f"{plural(month.licenses_needed, 'license')} needed",
    ]
    return f"{label}: {', '.join(parts)}{waits_text(month.waited, month.longest_wait_seconds)}"


@dataclass(frozen=True, slots=True)
class CapacityAlert:
    """A capacity alert, its times in the account's zone."""

    level: int  # percent of the licenses
    raised_at: datetime
    raised_in_use: int
    licenses: int  # the total when it was raised
    cleared_at: datetime | None
    cleared_in_use: int | None

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    def banner(self, in_use: int, licenses: int) -> str:
        """What the page says of it, beside the use now (the Current figure's)."""
        return (
            f"Capacity alert: {self.level}% level reached at {self.raised_at:%H:%M %a %d %b} "
            f"({self.raised_in_use} of {plural(self.licenses, 'license')}); "
            f"{in_use} of {licenses} in use now."
        )


def capacity_alert(alert: Alert, account: Account) -> CapacityAlert:
    return CapacityAlert(
        alert.level,
        local(alert.raised_at, account),
        alert.raised_in_use,
        alert.licenses,
        local_or_none(alert.cleared_at, account),
        alert.cleared_in_use,
    )


def alert_banners(alerts: Sequence[Alert], account: Account, in_use: int) -> list[str]:
    """The banner for the highest active capacity alert (the others are below it), with the
    `in_use` sessions now; none when no alert is active."""
    if not alerts:
        return []
    highest = capacity_alert(max(alerts, key=lambda a: a.level), account)
    return [highest.banner(in_use, account.licenses)]


# --- application keys and user tokens ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyShown:
    """A key or token as the Applications and keys page, the API and the CLI list it: never
    its secret. Times are in the account's zone."""

    id: int
    name: str
    kind: KeyKind
    username: str | None  # the user a token acts as
    created: datetime
    last_used: datetime | None
    expires: datetime | None
    ends: datetime | None  # when it stopped or stops working (revoked, rotated, expired)
    state: KeyState
    replaced_by: int | None

    @property
    def kind_label(self) -> str:
        return "Application key" if self.kind is KeyKind.APPLICATION else "User token"

    @property
    def created_text(self) -> str:
        return self.created.strftime(MINUTES)

    @property
    def last_used_text(self) -> str:
        return "Never" if self.last_used is None else self.last_used.strftime(MINUTES)

    @property
    def expires_text(self) -> str:
        return "Never" if self.expires is None else self.expires.strftime(MINUTES)

    @property
    def state_text(self) -> str:
        ends = "" if self.ends is None else self.ends.strftime(MINUTES)
        return {
            KeyState.ACTIVE: "Active",
            KeyState.ROTATED: f"Rotated: works until {ends}",
            KeyState.EXPIRED: f"Expired {ends}",
            KeyState.REVOKED: f"Revoked {ends}",
        }[self.state]

    @property
    def works(self) -> bool:
        return self.state in (KeyState.ACTIVE, KeyState.ROTATED)


def api_key(key: ApiKey, account: Account, now: datetime) -> KeyShown:
    return KeyShown(
        key.id,
        key.name,
        key.kind,
        key.username,
        local(key.created_at, account),
        local_or_none(key.last_used_at, account),
        local_or_none(key.expires_at, account),
        local_or_none(key.ends_at(), account),
        key.state(now),
        key.replaced_by,
    )
