"""Usage over any period: a 13-month history of a busy account as retention leaves it
(session rows for the last 30 days, only the kept days before them), the reports over it
timed warm, the first report after an upgrade, and the database's growth (bench/growth)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Table as SqlTable
from sqlalchemy import create_engine, func, select

from bench import growth, kept, seed, usage
from bench.common import LATENCY_COLUMNS, Context, Probe, latency, latency_row, probe
from bench.report import Table, Target, fmt, ratio
from bench.server import Server, serve
from bench.wrk import WrkResult
from seatkeeper.storage.tables import usage_day_timeouts, usage_days

NAME = "reports"
TITLE = "Usage over any period"
TARGET_MS = 50.0
ZONE = "America/New_York"  # both daylight-saving changes fall within the 13 months
RAW_DAYS = 30  # days whose session rows are still there
MONTHS = 13
ACCOUNT = "/api/v1/accounts/{}"
UPGRADE_ENV = {"SEATKEEPER_SWEEP_SECONDS": "30"}  # the default: usage days kept with the sweep
UPGRADE_WAIT = 900.0  # seconds, at most, for the background to keep the missing days


@dataclass(frozen=True)
class History:
    """The seeded account and its calendar in its zone."""

    busy: seed.Account
    first: date  # the first kept day: a month's first, 12 months before this month's
    raw_first: date  # the first day with session rows
    today: date
    sessions: seed.Seeded
    kept: seed.Seeded

    def path(self, tail: str) -> str:
        return ACCOUNT.format(self.busy.slug) + tail


@dataclass(frozen=True)
class Figure:
    """One report timed: what it is, its path, and whether the issue sets it a target."""

    label: str
    tail: str
    target: bool = False


def run(ctx: Context) -> None:
    sizes = ctx.sizes
    table = ctx.table(
        f"{TITLE}: {MONTHS} months of one account at {sizes.usage_per_day:,} sessions a day, "
        f"{sizes.report_agents:,} agents; session rows for the last {RAW_DAYS} days only",
        LATENCY_COLUMNS,
        first_width=48,
    )
    url = ctx.backend.fresh(NAME)
    history = seed_history(url, sizes.usage_per_day, agents=sizes.report_agents)
    _upgrade(ctx, url, table, history)
    with ctx.server(url, NAME) as server:
        base = latency(ctx, server, ["/healthz"], {})
        ctx.check("GET /healthz", base)
        latency_row(table, "GET /healthz (baseline)", base, None)
        for figure in figures(history):
            _timed(ctx, server, table, history, figure, base)
    _notes(ctx, table, history)
    table.note(
        f"after these calls, {kept_days(url, history, usage_day_timeouts)} of the "
        f"{RAW_DAYS - 1} settled days of session rows had their holders and candidate "
        "timeouts kept"
    )
    growth.run(ctx)


def seed_history(url: str, per_day: int, *, agents: int) -> History:
    """The busy account's 13 months: raw rows for the last RAW_DAYS days (seed.history,
    `agents` named agents holding 70% of the sessions), kept days before them."""
    seed.new_database(url)
    tz = ZoneInfo(ZONE)
    today = datetime.now(UTC).astimezone(tz).date()
    first = _month_start(today, back=MONTHS - 1)
    raw_first = today - timedelta(days=RAW_DAYS - 1)
    created = seed._midnight(first, tz) - timedelta(days=1)
    licenses = max(10, per_day // 10)  # the usual peak is 79% of it: a surge reaches it
    busy = seed.provision(url, "busy", licenses=licenses, time_zone=ZONE, created_at=created)
    named = seed.agents(url, busy, agents)
    sessions = seed.history(
        url, [busy], per_day=per_day, days=RAW_DAYS, time_zone=ZONE, agents=named
    )
    print(f"   seeded {sessions.rows:,} sessions in {sessions.seconds:.1f} s")
    days = kept.kept_days(
        url,
        busy,
        first=first,
        last=raw_first - timedelta(days=1),
        time_zone=ZONE,
        per_day=per_day,
        licenses=licenses,
        agents=sorted(named),
    )
    print(f"   seeded {days.rows:,} rows of kept days in {days.seconds:.1f} s")
    seed.analyze(url)
    return History(busy, first, raw_first, today, sessions, days)


def figures(history: History) -> list[Figure]:
    """The reports timed, in order: the 12-month report first, as a user would ask."""
    year_from = history.first.isoformat()
    year_to = (_month_start(history.today, back=0) - timedelta(days=1)).isoformat()
    return [
        Figure("usage, 12 months (period=12m)", "/usage?period=12m", target=True),
        Figure("usage, 30 days (the default)", "/usage"),
        Figure(
            f"usage by month {year_from} to {year_to}",
            f"/usage?by=month&from={year_from}&to={year_to}",
        ),
        Figure("holders, 12 months", "/holders?period=12m"),
        Figure("timeout waste, 12 months", "/timeout-waste?period=12m"),
    ]


def _month_start(day: date, *, back: int) -> date:
    """The first day of the month `back` months before `day`'s."""
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def _timed(
    ctx: Context, server: Server, table: Table, history: History, figure: Figure, base: WrkResult
) -> None:
    """The report's first call (it may compute and keep what it needs), then warm."""
    path = history.path(figure.tail)
    auth = {"Authorization": f"Bearer {history.busy.admin_token}"}
    first = probe(server, path, auth)
    if first.status != 200:
        answer = f"{first.status}: {first.body[:200]!r}"
        ctx.report.fail(f"{ctx.backend.label}: {figure.label}: GET {path} answered {answer}")
        table.add(f"{figure.label}: answered {first.status}")
        return
    ms = first.seconds * 1000
    rows = _rows(first)
    cells = [fmt(ms, 2)] * 3
    table.add(
        f"{figure.label}, first call",
        fmt(rows),
        "",
        "1",
        *cells,
        fmt(base.p95, 2),
        ratio(ms, base.p95),
    )
    again = probe(server, path, auth)  # sizes the run when requests are slow
    result = latency(ctx, server, [path], auth, expected_seconds=again.seconds)
    ctx.check(figure.label, result)
    latency_row(table, f"{figure.label}, warm", result, base, rows=rows)
    if figure.tail == "/usage":
        _beside_usage(ctx, table, result)
    if figure.target:
        ctx.report.target(
            Target(
                ctx.backend.label,
                TITLE,
                f"{figure.label}, warm",
                f"p95 < {TARGET_MS:.0f} ms",
                f"{fmt(result.p95, 1)} ms",
                result.requests > 0 and result.p95 < TARGET_MS,
            )
        )
    table.note(f"{figure.label} answered: {_shape(first)}")


def _rows(answer: Probe) -> int | None:
    """How many entries the answer lists (days, months, agents): its longest list."""
    if not isinstance(answer.json, dict):
        return None
    lists = [len(v) for v in answer.json.values() if isinstance(v, list)]
    return max(lists, default=None)


def _shape(answer: Probe) -> str:
    """What an answer held, in a line: its figures, and how long its lists were."""
    if not isinstance(answer.json, dict):
        return "no JSON object"
    parts = []
    for key, value in answer.json.items():
        if isinstance(value, list):
            parts.append(f"{key}: {len(value)} entries")
        elif isinstance(value, dict):
            parts.append(f"{key}: {{{', '.join(list(value)[:6])}}}")
        else:
            parts.append(f"{key} {str(value)[:80]}")
    return "; ".join(parts)[:600]


def _beside_usage(ctx: Context, table: Table, result: WrkResult) -> None:
    """The 30-day report beside benchmark 4's (the same call on 30 days of session rows)
    when it ran on this backend in this run."""
    for earlier in ctx.report.sections.get(ctx.backend.label, []):
        if earlier.title.startswith(usage.TITLE):
            for row in earlier.rows:
                if row[0] == "busy account, warm":
                    table.note(
                        f"usage, 30 days: p95 {fmt(result.p95, 2)} ms here, {row[5]} ms in "
                        f"benchmark 4 (30 days of session rows, no kept days before) this run"
                    )
                    return
    table.note(
        "usage, 30 days: benchmark 4 did not run on this backend in this run; compare its "
        "busy account, warm, in bench/RESULTS.md"
    )


def _upgrade(ctx: Context, url: str, table: Table, history: History) -> None:
    """The first report after an upgrade: none of the session rows' days is kept yet. A
    server with the background tasks at their defaults answers the 12-month report;
    then we watch the database until those days are kept (by that call, or by the
    background), and the reports' kept rows of them too."""
    path = history.path("/usage?period=12m")
    auth = {"Authorization": f"Bearer {history.busy.admin_token}"}
    with serve(url, ctx.workdir / f"{NAME}-upgrade.log", env=UPGRADE_ENV) as server:
        up = time.monotonic()
        first = probe(server, path, auth)
        if first.status != 200:
            answer = f"{first.status}: {first.body[:200]!r}"
            ctx.report.fail(f"{ctx.backend.label}: after an upgrade: GET {path} answered {answer}")
        ms = first.seconds * 1000
        cells = [fmt(ms, 2)] * 3
        table.add(
            "usage, 12 months, first call after an upgrade", fmt(_rows(first)), "", "1", *cells
        )
        days = _kept_after(url, history, up, usage_days, UPGRADE_WAIT)
        # The holders and candidate timeouts of those days come later: the background
        # keeps them a few days a run.
        reports = _kept_after(url, history, up, usage_day_timeouts, UPGRADE_WAIT) if days else None
        server.check_alive()
    settled = RAW_DAYS - 1
    table.note(
        f"after an upgrade (a server with SEATKEEPER_SWEEP_SECONDS=30, the default, so the "
        f"background keeps usage days every 30 s from its start; {settled} settled days of "
        f"session rows not kept yet): the first 12-month answer came in {fmt(ms, 0)} ms; "
        + (
            f"the {settled} days were kept {days:.1f} s after the server answered"
            if days is not None
            else f"the {settled} days were still not all kept after {UPGRADE_WAIT:.0f} s"
        )
        + "; "
        + (
            f"their holders and candidate timeouts {reports:.1f} s after it answered"
            if reports is not None
            else f"their holders and candidate timeouts were not all kept within "
            f"{UPGRADE_WAIT:.0f} s"
        )
    )


def _kept_after(
    url: str, history: History, since: float, rows_of: SqlTable, wait: float
) -> float | None:
    """Seconds from `since` until every settled day of session rows has rows in
    `rows_of` (a table keyed by account, zone and day); None if not within `wait` seconds."""
    while time.monotonic() - since < wait:
        if kept_days(url, history, rows_of) >= RAW_DAYS - 1:
            return time.monotonic() - since
        time.sleep(0.25)
    return None


def kept_days(url: str, history: History, rows_of: SqlTable) -> int:
    """How many of the settled days of session rows (today is not) have rows in `rows_of`."""
    t = rows_of.c
    count = select(func.count(func.distinct(t.day))).where(
        t.account_id == history.busy.id,
        t.time_zone == ZONE,
        t.day >= history.raw_first,
        t.day < history.today,
    )
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(count).scalar_one())
    finally:
        engine.dispose()


def _notes(ctx: Context, table: Table, history: History) -> None:
    sessions, days = history.sessions, history.kept
    table.note(
        f"history: {history.first} to {history.today} in {ZONE}; session rows "
        f"({sessions.rows:,}, seed.history's busy day, 70% held by the named agents) from "
        f"{history.raw_first}; before that only kept days, as retention leaves them "
        f"(bench/kept.py: usage days marked final, {len(kept.CANDIDATES)} candidate "
        f"timeouts a day, a holder row per agent at work (90% a day) and one for the Guests; "
        f"{days.rows:,} rows, made-up figures shaped like the busy day, about "
        f"{kept.SURGE_DAYS:.0%} of days at the cap with refusals)"
    )
    table.note(
        f"seeding (SQLAlchemy Core executemany, batches of {seed.BATCH:,}): sessions in "
        f"{sessions.seconds:.1f} s ({sessions.rate:,.0f} rows/s), kept days in "
        f"{days.seconds:.1f} s ({days.rate:,.0f} rows/s); then ANALYZE"
    )
    table.note(
        "first call: the first after the timing server started (after the upgrade run "
        "above, so the usage days are kept; a report's first call may keep what it needs); "
        "warm: wrk, one connection, one request after another"
    )
