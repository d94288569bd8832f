"""The demo account: its people, fresh keys, and 30 days of made-up history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from sqlalchemy import Connection

from seatkeeper.demo.history import (
    DEMO_AGENTS,
    FLOWS,
    SIMULATED_AGENTS,
    History,
    generate_history,
)
from seatkeeper.domain import usage
from seatkeeper.domain.errors import Conflict
from seatkeeper.domain.model import Account, AgentSession, Interaction, Role, SettingsChange
from seatkeeper.services import accounts, flows, groups
from seatkeeper.services.access import Operator, audited
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.settings import change_settings
from seatkeeper.services.users import add_user
from seatkeeper.storage import backfill
from seatkeeper.storage import usage as stored_usage
from seatkeeper.storage import users as stored_users
from seatkeeper.storage.db import Database

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Contact Center"
DEMO_LICENSES = 25
# Levels an admin would set: the first at 80% of the licenses (20 of 25), above what the
# default crowd of simulated agents holds (12 at most), so an alert means a busy day.
DEMO_ALERT_LEVELS = (80, 100)
DEMO_TIME_ZONE = "America/New_York"
DEMO_TIMEOUT = timedelta(minutes=30)
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "demo-admin-password"  # noqa: S105 (printed for people to try the demo)
AGENT_PASSWORD = "demo-agent-password"  # noqa: S105
ADMIN_TOKEN_NAME = "demo"  # noqa: S105 (a label, not a secret)
APPLICATION_KEY_NAME = "demo-simulation"

# A team with licenses of its own (half of the simulated agents are its members), and a
# small maximum for Guests: the seat groups have something to show.
DEMO_GROUP = "Billing"
DEMO_GROUP_RESERVED = 5
DEMO_GROUP_MEMBERS = SIMULATED_AGENTS[::2]
DEMO_GUESTS_MAXIMUM = 3

DEMO_OPERATOR = Operator("seatkeeper demo")  # who the audit trail says set the demo up


@dataclass(frozen=True, slots=True)
class DemoAccount:
    account: Account
    admin_token: str  # fresh on every run; the previous one is revoked
    application_key: str  # likewise


@dataclass(frozen=True, slots=True)
class Backfilled:
    days: int
    sessions: int
    interactions: int
    denials: int


# --- the demo account -----------------------------------------------------------------


def provision(db: Database, passwords: Passwords, *, now: datetime) -> DemoAccount:
    """Create (or reuse) the demo account and its people; mint a fresh admin token and key."""
    account = _demo_account(db, now=now)
    _demo_users(db, passwords, account, now=now)
    _demo_flows(db, now=now)
    account = _demo_groups(db, account, now=now)
    token = accounts.create_user_token(
        db,
        DEMO_OPERATOR,
        account_slug=DEMO_SLUG,
        username=ADMIN_USERNAME,
        name=ADMIN_TOKEN_NAME,
        now=now,
        replace=True,
    )
    # The simulation needs a raw key and only hashes are stored: each run mints a new one.
    key = accounts.create_application_key(
        db, DEMO_OPERATOR, account_slug=DEMO_SLUG, name=APPLICATION_KEY_NAME, now=now, replace=True
    )
    return DemoAccount(account, token, key)


def _demo_flows(db: Database, *, now: datetime) -> None:
    """The Flows the simulated agents and the console work in (those missing are added)."""
    present = {flow.name for flow in flows.list_flows(db, DEMO_OPERATOR, DEMO_SLUG)}
    for name, steps in FLOWS.items():
        if name not in present:
            flows.add_flow(db, DEMO_OPERATOR, DEMO_SLUG, name=name, steps=steps, now=now)


def _demo_groups(db: Database, account: Account, *, now: datetime) -> Account:
    """The Billing team and the Guests' maximum, on a new demo account or one from before
    seat groups (a group an admin changed since is left as they made it)."""
    found = groups.list_groups(db, DEMO_OPERATOR, DEMO_SLUG)
    if not any(r.group.name == DEMO_GROUP for r in found.teams):
        groups.create_group(
            db, DEMO_OPERATOR, DEMO_SLUG, name=DEMO_GROUP, reserved=DEMO_GROUP_RESERVED, now=now
        )
        groups.set_members(db, DEMO_OPERATOR, DEMO_SLUG, DEMO_GROUP, DEMO_GROUP_MEMBERS, now=now)
    if found.guests is None:
        groups.set_guests(db, DEMO_OPERATOR, DEMO_SLUG, maximum=DEMO_GUESTS_MAXIMUM, now=now)
    return account if found.account.has_groups else accounts.get_account(db, DEMO_SLUG)


def _demo_account(db: Database, *, now: datetime) -> Account:
    try:
        # Created before the usage window, so that all of its 30 days count.
        account = accounts.create_account(
            db,
            DEMO_OPERATOR,
            slug=DEMO_SLUG,
            name=DEMO_NAME,
            licenses=DEMO_LICENSES,
            time_zone=DEMO_TIME_ZONE,
            session_timeout=DEMO_TIMEOUT,
            guests_allowed=True,
            console_enabled=True,
            now=now - timedelta(days=usage.WINDOW_DAYS + 1),
        )
    except Conflict:
        account = accounts.get_account(db, DEMO_SLUG)
    if account.console_enabled and account.alert_levels == DEMO_ALERT_LEVELS:
        return account
    # A new demo account, or one from before the console and alerts were settings.
    return change_settings(
        db,
        DEMO_OPERATOR,
        DEMO_SLUG,
        SettingsChange(console_enabled=True, alert_levels=DEMO_ALERT_LEVELS),
        now=now,
    ).account


def _demo_users(db: Database, passwords: Passwords, account: Account, *, now: datetime) -> None:
    people = [
        (ADMIN_USERNAME, ADMIN_PASSWORD, Role.ACCOUNT_ADMIN),
        *((username, AGENT_PASSWORD, Role.AGENT) for username in DEMO_AGENTS),
    ]
    # Looked up first: hashing a password only to be told the user exists is slow.
    with db.read() as conn:
        existing = backfill.user_ids(conn, account.id, [p[0] for p in people])
    for username, password, role in people:
        if username not in existing:
            add_user(
                db,
                passwords,
                DEMO_OPERATOR,
                DEMO_SLUG,
                username=username,
                password=password,
                role=role,
                now=now,
            )


# --- history --------------------------------------------------------------------------


def backfill_history(
    db: Database, account: Account, *, now: datetime, seed: int | None = None
) -> Backfilled:
    """Fill the usage window's days that have no history yet, in one transaction."""
    tz = account.zone
    since, until = usage.window_bounds(now, tz)
    with db.write() as conn:
        recorded = stored_usage.session_intervals(conn, account.id, since=since, now=now)
        refused = [
            at for at, _ in stored_usage.denials_in(conn, account.id, since=since, until=until)
        ]
        seen = {i.start.astimezone(tz).date() for i in recorded}
        seen |= {at.astimezone(tz).date() for at in refused}
        days = [d for d in usage.window_days(now, tz) if d not in seen]
        if not days:
            return Backfilled(0, 0, 0, 0)
        ids = backfill.user_ids(conn, account.id, [*DEMO_AGENTS, ADMIN_USERNAME])
        history = generate_history(
            days,
            tz=tz,
            now=now,
            licenses=account.licenses,
            timeout=account.session_timeout,
            agents=[a for a in DEMO_AGENTS if a in ids],
            seed=seed,
            busy=recorded,  # never overlap what happened, nor a session open now
            not_before=account.created_at,
        )
        stored = _store(conn, account, history, ids, now=now)
        sessions, interactions, denials = stored
        audited(
            conn, account.id, "demo_history_written", DEMO_OPERATOR, at=now, days=len(days),
            sessions=sessions, interactions=interactions, denials=denials,
        )  # fmt: skip
    return Backfilled(len(days), *stored)


def _store(
    conn: Connection, account: Account, history: History, ids: dict[str, int], *, now: datetime
) -> tuple[int, int, int]:
    """Insert the history; returns how many sessions, interactions and denials."""
    sessions: list[AgentSession] = []
    items: list[Interaction] = []
    for past in history.sessions:
        session = AgentSession(
            id=uuid4(),
            account_id=account.id,
            user_id=None if past.agent is None else ids[past.agent],
            started_at=past.started_at,
            last_activity_at=past.last_activity_at,
            expires_at=past.expires_at,
            ended_at=past.ended_at,
            end_reason=past.end_reason,
        )
        sessions.append(session)
        items.extend(
            Interaction(uuid4(), session.id, i.flow, i.opened_at, i.closed_at, i.step)
            for i in past.interactions
        )
    refused = [(None if d.agent is None else ids[d.agent], d.at) for d in history.denials]
    # Opening a session with a password is a login: the Users page's "Last login" agrees.
    stored_users.record_past_logins(conn, _latest_starts(sessions))
    return (
        backfill.insert_sessions(conn, sessions, now=now, ended_by=ids.get(ADMIN_USERNAME)),
        backfill.insert_interactions(conn, items),
        backfill.insert_denials(conn, account.id, refused, now=now),
    )


def _latest_starts(sessions: list[AgentSession]) -> dict[int, datetime]:
    """Each agent's latest session start, by user id."""
    latest: dict[int, datetime] = {}
    for s in sessions:
        if s.user_id is not None:
            latest[s.user_id] = max(s.started_at, latest.get(s.user_id, s.started_at))
    return latest
