"""How fast the database grows: a month of agents at work, inserted into a fresh
database, measured before and after, table by table; and what that makes over the
years with and without retention."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import seed
from bench.common import Context
from bench.kept import CANDIDATES
from bench.month import DAYS, TABLES, ZONE, kept_rows, make_month
from bench.report import fmt
from seatkeeper.storage.tables import (
    agent_sessions,
    audit_events,
    denials,
    interactions,
    metadata,
    session_tokens,
    usage_day_holders,
    usage_day_timeouts,
    usage_days,
)

RETENTION_DAYS = 400  # the default of accounts.retention_days
MONTH_DAYS = 365.25 / 12
MIB = 1024 * 1024
RAW = {  # what the retention task deletes, with what the table's rows are
    agent_sessions.name: "sessions",
    session_tokens.name: "session tokens",
    interactions.name: "Interactions",
    denials.name: "refusals",
}
NEVER = {audit_events.name: "audit rows (never deleted)"}
KEPT = {
    usage_days.name: "usage days (one a day)",
    usage_day_holders.name: "holders of each day",
    usage_day_timeouts.name: "candidate timeouts (five a day)",
}
PER_ACCOUNT = {usage_days.name, usage_day_timeouts.name}  # as many rows for any account


def run(ctx: Context) -> None:
    """Measure a month of `sizes.growth_agents` agents on this backend; print both tables."""
    agents = ctx.sizes.growth_agents
    url = ctx.backend.fresh("growth")
    seed.new_database(url)
    now = datetime.now(UTC)
    tz = ZoneInfo(ZONE)
    first = now.astimezone(tz).date() - timedelta(days=DAYS)
    created = seed._midnight(first, tz) - timedelta(days=1)
    account = seed.provision(
        url, "growth", licenses=agents * 6 // 5, time_zone=ZONE, created_at=created
    )
    ids = seed.agents(url, account, agents)
    month = make_month(account, ids, first=first, tz=tz)
    kept = kept_rows(account, month, first=first, tz=tz, licenses=agents * 6 // 5)
    counts = {name: len(rows) for name, rows in month.rows.items()}
    counts |= {table.name: len(rows) for table, rows in kept}
    before = table_sizes(url)
    engine = seed._engine(url)
    try:
        for table in TABLES:
            seed._insert(engine, table, iter(month.rows[table.name]))
        raw = table_sizes(url)
        for table, rows in kept:
            seed._insert(engine, table, iter(rows))
    finally:
        engine.dispose()
    after = table_sizes(url)
    # Per 1,000 agents: the account's own rows (a usage day, its candidate timeouts) are
    # as many whatever its size, and counted as they are.
    per = {name: 1.0 if name in PER_ACCOUNT else 1_000 / agents for name in counts}
    growth = Growth(
        {name: n * per[name] for name, n in counts.items()},
        {name: (after[0].get(name, 0) - before[0].get(name, 0)) * per[name] for name in counts},
        raw_total=(raw[1] - before[1]) * 1_000 / agents,
        kept_total=(after[1] - raw[1]) * 1_000 / agents,
        audited=len(month.rows[audit_events.name]) / len(month.rows[agent_sessions.name]),
    )
    working = sum(1 for d in month.spans if d.weekday() < 5)
    _tables(ctx, growth, agents=agents, working=working)


@dataclass(frozen=True)
class Growth:
    """A month of 1,000 agents: rows and bytes of each table, and the whole database's
    growth measured as the raw rows went in, then the kept ones."""

    rows: dict[str, float]
    bytes: dict[str, float]
    raw_total: float
    kept_total: float
    audited: float  # the share of sessions an audit row names (terminated ones)

    def of(self, group: dict[str, str]) -> float:
        return sum(self.bytes.get(name, 0.0) for name in group)

    @property
    def named(self) -> float:
        """Bytes of the session rows the audit trail names: retention keeps them (not
        their Interactions and tokens)."""
        return self.bytes.get(agent_sessions.name, 0.0) * self.audited

    def project(self, months: float) -> tuple[float, float]:
        """The database's size after `months`, in bytes: without retention, and with it
        (raw rows stop piling up after RETENTION_DAYS; the audit trail, the sessions it
        names and the kept days never do)."""
        raw, audit, kept = self.of(RAW), self.of(NEVER), self.of(KEPT)
        stays = audit + self.named + kept  # what retention never deletes, each month
        deleted = min(months, RETENTION_DAYS / MONTH_DAYS) * (raw - self.named)
        return months * (raw + audit + kept), deleted + months * stays


def _tables(ctx: Context, growth: Growth, *, agents: int, working: int) -> None:
    table = ctx.table(
        f"Database growth: a month of {agents:,} agents ({working} working days), "
        "per 1,000 agents per month",
        ("rows of", "rows", "MiB", "bytes/row"),
    )
    for group, label in (
        (RAW, "raw rows (retention deletes them)"),
        (NEVER, ""),
        (KEPT, "kept days"),
    ):
        for name, what in group.items():
            rows, size = growth.rows.get(name, 0.0), growth.bytes.get(name, 0.0)
            table.add(
                what,
                fmt(round(rows)),
                fmt(size / MIB, 2),
                fmt(size / rows if rows and size else None, 0),
            )
        if label:
            rows = sum(growth.rows.get(name, 0.0) for name in group)
            table.add(f"= {label}", fmt(round(rows)), fmt(growth.of(group) / MIB, 2), "")
        if group is RAW:
            named = growth.rows.get(agent_sessions.name, 0.0) * growth.audited
            what = "of them, sessions audit rows name (kept)"
            table.add(what, fmt(round(named)), fmt(growth.named / MIB, 2), "")
    table.add("whole database, as the raw rows went in", "", fmt(growth.raw_total / MIB, 2), "")
    table.add("whole database, as the kept days went in", "", fmt(growth.kept_total / MIB, 2), "")
    table.note(
        "bytes/row: what the table and its indexes grew by, per row; a dash where its few "
        "rows fit in the pages it already had"
    )
    projection = ctx.table(
        "Database size per 1,000 agents (their rows only), in MiB, without retention and "
        "with 400 days (the default)",
        ("after", "without", "with"),
    )
    for months in (1, 12, 24, 36, 60):
        without, with_retention = growth.project(months)
        projection.add(
            f"{months} month{'' if months == 1 else 's'}",
            fmt(without / MIB, 1),
            fmt(with_retention / MIB, 1),
        )
    each = growth.project(61)[1] - growth.project(60)[1]
    projection.add(
        "each further month",
        fmt((growth.project(61)[0] - growth.project(60)[0]) / MIB, 1),
        fmt(each / MIB, 2),
    )
    for note in _notes(ctx, agents):
        projection.note(note)


def _notes(ctx: Context, agents: int) -> list[str]:
    measured = (
        "SQLite: dbstat's pages per table and index after a WAL checkpoint"
        if (ctx.backend.name == "sqlite")
        else "PostgreSQL: pg_total_relation_size (heap, indexes, TOAST) after VACUUM ANALYZE"
    )
    scaled = "" if agents == 1_000 else f", scaled from {agents:,} agents to 1,000"
    scaled += " (the account's usage days and candidate timeouts as they are: one account)"
    return [
        f"measured on a fresh database ({measured}), before and after the month's rows went "
        f"in by SQLAlchemy Core executemany{scaled}; not counted: the agents' users rows, and "
        "capacity alerts (a row as use crosses a level, a few a day at most)",
        "the month: the 30 days before today (America/New_York), on working days each agent "
        "one session of 6.5-9 h or two of 3-4.5 h, a fifth joined by a second browser (a "
        "second token), 3-8 Interactions each with its step; Guests 5% as many sessions; "
        "0-6 refusals a day; 12% of sessions end by their 30-minute timeout, 3% terminated "
        "by an admin (one audit row each)",
        f"kept days: every day of the month (weekends too), computed from those sessions: "
        f"a usage day, one holder row per agent who held a license and one for the Guests, "
        f"one row per candidate timeout ({', '.join(map(str, CANDIDATES))} minutes)",
        f"with retention: raw rows older than {RETENTION_DAYS} days (the default) are "
        "deleted, so they stop adding up after 13.1 months; audit rows, the sessions they "
        "name (not their Interactions and tokens) and kept days stay. "
        "The files do not shrink: deleted rows' space is reused (SQLite's free pages, "
        "PostgreSQL's free space map after autovacuum)",
    ]


def table_sizes(url: str) -> tuple[dict[str, int], int]:
    """Bytes on disk of each of seatkeeper's tables (its indexes included), and of the
    whole database. SQLite: dbstat's pages after a WAL checkpoint, and page_count x
    page_size; PostgreSQL: pg_total_relation_size after VACUUM ANALYZE, summed."""
    if url.startswith("sqlite"):
        return _sqlite_sizes(str(make_url(url).database))
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            sizes = {}
            for table in metadata.sorted_tables:
                conn.exec_driver_sql(f'VACUUM ANALYZE "{table.name}"')
                query = text(f"SELECT pg_total_relation_size('\"{table.name}\"'::regclass)")
                sizes[table.name] = int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()
    return sizes, sum(sizes.values())


def _sqlite_sizes(path: str) -> tuple[dict[str, int], int]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE tbl_name != ''"))
        sizes: dict[str, int] = defaultdict(int)
        for name, size in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            sizes[owner.get(name, name)] += int(size)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        return dict(sizes), int(pages) * int(page_size)
    finally:
        conn.close()
