"""Databases for the benchmarks: the schema by the CLI, accounts and keys by the services,
bulk data by SQLAlchemy Core inserts straight into the tables."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import pairwise
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, event, select

from bench.server import seatkeeper
from seatkeeper.domain.credentials import username_key
from seatkeeper.domain.model import Role
from seatkeeper.services import accounts, flows
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.users import add_user
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, interactions, users

ADMIN = "bench-admin"
ADMIN_PASSWORD = "bench-admin-password"
FLOWS = {
    "Password Reset": ["Verify", "Reset", "Confirm"],
    "Billing Dispute": ["Identify", "Review", "Resolve"],
    "Address Change": ["Verify", "Update"],
    "Refund Request": ["Verify", "Assess", "Refund"],
    "New Account": ["Collect", "Create"],
    "Plan Upgrade": ["Compare", "Upgrade"],
    "Cancel Service": ["Retain", "Cancel"],
    "Technical Support": ["Diagnose", "Fix", "Follow Up"],
}
BATCH = 10_000
FAR_FUTURE = timedelta(days=365)
TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class Account:
    """A provisioned account and what the benchmarks call it with."""

    slug: str
    id: int
    admin_id: int
    application_key: str
    admin_token: str


def new_database(url: str) -> None:
    """Create the schema with `seatkeeper db upgrade`."""
    seatkeeper(url, "db", "upgrade")


def provision(
    url: str,
    slug: str,
    *,
    licenses: int,
    time_zone: str = "UTC",
    created_at: datetime | None = None,
) -> Account:
    """An account with its Flows, an account_admin, an admin API token and an application key."""
    now = datetime.now(UTC)
    db = Database(url)
    try:
        account = accounts.create_account(
            db,
            OPERATOR,
            slug=slug,
            name=f"Bench {slug}",
            licenses=licenses,
            time_zone=time_zone,
            session_timeout=TIMEOUT,
            now=created_at or now,
        )
        admin = add_user(
            db,
            Passwords(fast=True),
            OPERATOR,
            slug,
            username=ADMIN,
            password=ADMIN_PASSWORD,
            role=Role.ACCOUNT_ADMIN,
            now=now,
        )
        for name, steps in FLOWS.items():
            flows.add_flow(db, OPERATOR, slug, name=name, steps=steps, now=now)
        token = accounts.create_user_token(
            db, OPERATOR, account_slug=slug, username=ADMIN, name="bench", now=now
        )
        key = accounts.create_application_key(
            db, OPERATOR, account_slug=slug, name="bench", now=now
        )
        return Account(slug, account.id, admin.user.id, key, token)
    finally:
        db.dispose()


def super_admin_token(url: str, account: Account) -> str:
    """An API token of a super_admin (who may read any account), created in `account`."""
    now = datetime.now(UTC)
    db = Database(url)
    try:
        add_user(
            db,
            Passwords(fast=True),
            OPERATOR,
            account.slug,
            username="bench-super",
            password=ADMIN_PASSWORD,
            role=Role.SUPER_ADMIN,
            now=now,
        )
        return accounts.create_user_token(
            db, OPERATOR, account_slug=account.slug, username="bench-super", name="bench", now=now
        )
    finally:
        db.dispose()


def _engine(url: str, *, triggers: bool = True) -> Engine:
    """An engine for bulk loading. SQLite gets a large page cache (its 2 MiB default makes
    index inserts into millions of rows much slower) and no fsync: a lost benchmark
    database is simply made again."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        def for_loading(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA cache_size=-524288")
            dbapi_connection.execute("PRAGMA synchronous=OFF")

        event.listen(engine, "connect", for_loading)
    elif not triggers:

        def without_triggers(dbapi_connection: Any, _record: Any) -> None:
            # No triggers, and no foreign key checks (they are triggers too).
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")

        event.listen(engine, "connect", without_triggers)
    return engine


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def _insert(engine: Engine, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    """executemany in batches, one transaction each; returns the rows inserted."""
    total = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            total += _flush(engine, table, batch)
    return total + (_flush(engine, table, batch) if batch else 0)


def _flush(engine: Engine, table: Any, batch: list[dict[str, Any]]) -> int:
    with engine.begin() as conn:
        conn.execute(table.insert(), batch)
    n = len(batch)
    batch.clear()
    return n


def open_grid(
    url: str, account: Account, *, sessions: int, open_interactions: int, named_share: float = 0.7
) -> list[str]:
    """`sessions` open sessions (named agents and Guests) with `open_interactions` open
    Interactions spread over them, all expiring far in the future; returns the usernames."""
    rng = random.Random(6)
    now = datetime.now(UTC)
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            password_hash = conn.execute(
                select(users.c.password_hash).where(users.c.username == ADMIN)
            ).scalar_one()
        named = int(sessions * named_share)
        usernames = [f"agent-{n:05d}" for n in range(1, named + 1)]
        _insert(engine, users, _agents(account, usernames, password_hash, now - timedelta(60)))
        with engine.connect() as conn:
            key = {
                user_id: username.lower()
                for user_id, username in conn.execute(
                    select(users.c.id, users.c.username).where(
                        users.c.account_id == account.id, users.c.username.like("agent-%")
                    )
                )
            }
        user_ids = list(key)
        session_rows: list[dict[str, Any]] = []
        for n in range(sessions):
            started = now - timedelta(seconds=rng.uniform(60, 10 * 3600))
            session_rows.append(
                {
                    "id": _uuid(rng),
                    "account_id": account.id,
                    "user_id": user_ids[n] if n < len(user_ids) else None,
                    "started_at": started,
                    "last_activity_at": now - timedelta(seconds=rng.uniform(0, 60)),
                    "expires_at": now + FAR_FUTURE,
                }
            )
        rng.shuffle(session_rows)
        names = list(FLOWS)
        opened: list[dict[str, Any]] = []
        for _ in range(open_interactions):
            session = rng.choice(session_rows)
            flow = rng.choice(names)
            session["open_interactions"] = session.get("open_interactions", 0) + 1
            opened.append(
                {
                    "id": _uuid(rng),
                    "session_id": session["id"],
                    "flow": flow,
                    "opened_at": session["started_at"] + timedelta(seconds=rng.uniform(0, 30)),
                    "closed_at": None,
                    "step": rng.choice([None, *FLOWS[flow]]),
                }
            )
        for session in session_rows:
            session.setdefault("open_interactions", 0)
            session["agent_key"] = key.get(session["user_id"], "guest")
        # What the triggers of migration 0020 would keep is filled in above, and the
        # Interactions go in first, so that no trigger updates a session 300,000 times:
        # SQLite's loading connection checks no foreign keys, PostgreSQL's runs no triggers.
        bulk = _engine(url, triggers=False)
        try:
            _insert(bulk, interactions, iter(opened))
            _insert(bulk, agent_sessions, iter(session_rows))
        finally:
            bulk.dispose()
        return usernames
    finally:
        engine.dispose()


def analyze(url: str) -> None:
    """The planner's statistics, as a database in use has them, for what was just loaded."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Seeded:
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def history(
    url: str,
    targets: list[Account],
    *,
    per_day: int,
    days: int,
    time_zone: str,
    agents: Mapping[int, str] | None = None,
    named_share: float = 0.7,
) -> Seeded:
    """`days` days of ended sessions, `per_day` a day for each account, all ended before now.

    Starts follow a working day in the account's zone (most between 7:00 and 21:00,
    busiest early afternoon, some at any hour); durations are log-normal, a median of
    25 minutes, from one minute to ten hours. Most end by logout, some by timeout
    (ended `TIMEOUT` after their last activity), a few by termination. Every session is
    a Guest's, unless `agents` (user id: agent key) are given: then `named_share` of
    them are held by one of these agents, chosen at random.
    """
    rng = random.Random(f"history of {targets[0].slug}")  # its own ids, the same every run
    tz = ZoneInfo(time_zone)
    now = datetime.now(UTC)
    today = now.astimezone(tz).date()
    first_day = today - timedelta(days=days - 1)
    midnights = [_midnight(first_day + timedelta(days=d), tz) for d in range(days + 1)]
    engine = _engine(url)
    began = time.perf_counter()
    try:
        rows = 0
        for account in targets:
            rows += _insert(
                engine,
                agent_sessions,
                _ended_sessions(
                    rng,
                    account,
                    midnights,
                    per_day=per_day,
                    now=now,
                    named=(list(agents.items()) if agents else [], named_share),
                ),
            )
    finally:
        engine.dispose()
    return Seeded(rows, time.perf_counter() - began)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _ended_sessions(
    rng: random.Random,
    account: Account,
    midnights: list[datetime],
    *,
    per_day: int,
    now: datetime,
    named: tuple[list[tuple[int, str]], float] = ([], 0.0),
) -> Iterator[dict[str, Any]]:
    # Plain floats until the last moment: this loop makes millions of rows.
    instant = partial(datetime.fromtimestamp, tz=UTC)
    timeout, horizon, median = TIMEOUT.total_seconds(), now.timestamp(), math.log(25 * 60)
    agents, share = named
    guest: tuple[int | None, str] = (None, "guest")
    for day_start, day_end in pairwise(midnights):
        base = day_start.timestamp()
        last = (day_end - day_start).total_seconds() - 1  # days are 23 or 25 hours at DST
        for _ in range(per_day):
            if rng.random() < 0.85:
                offset = rng.triangular(7, 21, 13) * 3600
            else:
                offset = rng.uniform(0, 24) * 3600
            started = base + min(offset, last)
            ended = started + min(36_000.0, max(60.0, math.exp(rng.gauss(median, 1.0))))
            if ended >= horizon:
                continue  # still running now: only ended history is seeded
            reason, ended_by = rng.random(), None
            if reason < 0.12 and ended - started > timeout:
                last_activity, end_reason = ended - timeout, "timeout"
            elif reason > 0.97:
                last_activity, end_reason, ended_by = ended, "terminated", account.admin_id
            else:
                last_activity, end_reason = ended, "logout"
            # Drawn only when there are agents: a history of Guests stays what it was.
            user_id, agent_key = rng.choice(agents) if agents and rng.random() < share else guest
            yield {
                "id": UUID(int=rng.getrandbits(128)),
                "account_id": account.id,
                "user_id": user_id,
                "agent_key": agent_key,
                "started_at": instant(started),
                "last_activity_at": instant(last_activity),
                "expires_at": instant(last_activity + timeout),
                "ended_at": instant(ended),
                "end_reason": end_reason,
                "ended_by": ended_by,
            }


def named_agents(url: str, account: Account, usernames: Sequence[str], password_hash: str) -> int:
    """Agents with these usernames in `account`, all with one password hash: made with the
    parameters the server checks with, so that no login makes it again (a rehash would
    double the cost of a check), and made once, not once per agent."""
    now = datetime.now(UTC)
    engine = _engine(url)
    try:
        return _insert(engine, users, _agents(account, usernames, password_hash, now))
    finally:
        engine.dispose()


def agents(url: str, account: Account, count: int) -> dict[int, str]:
    """`count` agents agent-00001... in `account`, with the admin's password hash (see
    `named_agents`): their user ids, and the key the grid sorts them by."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            password_hash = conn.execute(
                select(users.c.password_hash).where(
                    users.c.account_id == account.id, users.c.username == ADMIN
                )
            ).scalar_one()
        named_agents(url, account, [f"agent-{n:05d}" for n in range(1, count + 1)], password_hash)
        with engine.connect() as conn:
            found = conn.execute(
                select(users.c.id, users.c.username).where(
                    users.c.account_id == account.id, users.c.username.like("agent-%")
                )
            )
            return {row.id: row.username.lower() for row in found}
    finally:
        engine.dispose()


def _agents(
    account: Account, usernames: Sequence[str], password_hash: str, created_at: datetime
) -> Iterator[dict[str, Any]]:
    """The users table's rows of agents of `account`, all with one password hash."""
    for name in usernames:
        yield {
            "account_id": account.id,
            "username": name,
            "username_key": username_key(name),
            "password_hash": password_hash,
            "role": Role.AGENT.value,
            "created_at": created_at,
        }
