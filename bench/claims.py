"""2. Seat claims near the limit: 8 and 64 clients opening and closing Guest sessions on
one account, beside what the database itself allows."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from bench import seed
from bench.common import Context, throughput
from bench.report import Table, Target, fmt, ratio
from bench.server import Server
from seatkeeper.storage.tables import agent_sessions, denials

NAME = "claims"
TITLE = "2. Seat claims near the limit"
# Clients, and the licenses they contend for: about five for every eight clients, so
# that the pool is full now and then and refusals are decided (and recorded) too.
RUNS = ((8, 5), (64, 40))
COLUMNS = ("figure", "per s", "count", "p50 ms", "p95 ms", "p99 ms", "base per s", "ratio")
# Claims a second, or the share of /healthz's rate, one of which each backend must reach.
TARGETS = {"sqlite": (1_500, 0.15), "postgresql": (1_000, 0.10)}
P95_TARGET_MS = 50.0
LIMIT_SECONDS = 5.0


def run(ctx: Context) -> None:
    url = ctx.backend.fresh(NAME)
    seed.new_database(url)
    runs = [(n, cap, seed.provision(url, f"claims-{n}", licenses=cap)) for n, cap in RUNS]
    bare = seed.provision(url, "claims-limit", licenses=1_000_000)
    with ctx.server(url, NAME) as server:
        table = ctx.table(f"{TITLE}: one account, Guest opens and logouts", COLUMNS)
        base = throughput(ctx, server, "get.lua", path="/healthz", threads=8, connections=64)
        ctx.check("GET /healthz", base)
        limit = _limit(url, bare.id)
        table.add("GET /healthz (baseline, 64 connections)", fmt(base.rate, 0), fmt(base.requests))
        table.add(
            "the limit: lock, count, insert, commit (one connection, the driver alone)",
            fmt(limit, 0),
        )
        for clients, cap, account in runs:
            _race(
                ctx,
                server,
                table,
                url,
                clients=clients,
                cap=cap,
                account=account,
                base_rate=base.rate,
                limit=limit,
            )
    table.note(
        "each wrk thread's Lua state is one client (-tN -cN) that opens a Guest session, "
        "logs it out on 201 and tries again at once on 409; all requests: opens and logouts "
        "together, their latency included (wrk times every request alike)"
    )
    table.note(
        "the limit: a Python loop on one connection of the driver (sqlite3, psycopg) doing "
        "what a claim must: BEGIN (IMMEDIATE on SQLite), SELECT the account FOR UPDATE, "
        "count its open sessions, INSERT a session, COMMIT; the session is inserted already "
        "ended, so that the count stays the same for the whole loop"
    )
    table.note(
        "most open at once: from the recorded history (started_at, ended_at), an end before a "
        "start at the same instant; over-allocations = claims that took the count above the "
        "cap. The database may hold a few more sessions and denials than wrk counted: answers "
        "still in flight when wrk stopped"
    )


def _race(
    ctx: Context,
    server: Server,
    table: Table,
    url: str,
    *,
    clients: int,
    cap: int,
    account: seed.Account,
    base_rate: float,
    limit: float,
) -> None:
    """One run of `clients` racing for `cap` licenses, its rows and its targets."""
    # No warm-up: sessions a warm-up left open would hold licenses for the whole run.
    race = throughput(
        ctx,
        server,
        "claims.lua",
        args=[account.application_key],
        threads=clients,
        connections=clients,
        warm_up=False,
    )
    ctx.check("seat claims", race, expected=(409,))
    s = race.seconds
    claims = race.count(201) / s
    table.add(
        f"{clients} clients, {cap} licenses: all requests",
        fmt(race.rate, 0),
        fmt(race.requests),
        fmt(race.p50, 2),
        fmt(race.p95, 2),
        fmt(race.p99, 2),
    )
    table.add(
        "  claims (201)",
        fmt(claims, 0),
        fmt(race.count(201)),
        "",
        "",
        "",
        fmt(base_rate, 0),
        ratio(claims, base_rate),
    )
    table.add(
        "  claims against the limit",
        fmt(claims, 0),
        "",
        "",
        "",
        "",
        fmt(limit, 0),
        ratio(claims, limit),
    )
    table.add(
        "  refusals (409 license_limit_reached)", fmt(race.count(409) / s, 0), fmt(race.count(409))
    )
    table.add("  logouts (204)", fmt(race.count(204) / s, 0), fmt(race.count(204)))
    recorded = history(url, account.id)
    most, over = peak(recorded.intervals, cap)
    table.add("  sessions recorded in the database", "", fmt(len(recorded.intervals)))
    table.add("  denials recorded in the database", "", fmt(recorded.denials))
    table.add(f"  most sessions open at once (cap {cap})", "", fmt(most))
    table.add("  over-allocations", "", fmt(over))
    label, figure = ctx.backend.label, f"{clients} clients"
    floor, share = TARGETS[ctx.backend.name]
    ctx.report.target(
        Target(
            label,
            TITLE,
            f"{figure}: claims a second",
            f">= {floor:,} or {share:.2f}x of /healthz",
            f"{claims:,.0f} ({ratio(claims, base_rate)})",
            claims >= floor or claims >= share * base_rate,
        )
    )
    if clients == max(n for n, _ in RUNS):
        ctx.report.target(
            Target(
                label,
                TITLE,
                f"{figure}: p95 of a request",
                f"< {P95_TARGET_MS:.0f} ms",
                f"{race.p95:.1f} ms",
                race.p95 < P95_TARGET_MS,
            )
        )
    ctx.report.target(
        Target(label, TITLE, f"{figure}: over-allocations", "0, always", fmt(over), over == 0)
    )
    if over:
        ctx.report.fail(f"{label}: {over} sessions opened over the cap of {cap}")
    if race.count(201) == 0:
        ctx.report.fail(f"{label}: no seat was ever claimed by {clients} clients")


def _limit(url: str, account_id: int) -> float:
    """Claims a second of the least a claim must do, from a plain driver loop."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn: object = sqlite3.connect(parsed.database or "", isolation_level=None)
        mark, begin = "?", "BEGIN IMMEDIATE"
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")  # type: ignore[attr-defined]
    else:
        conn = psycopg.connect(
            parsed.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        )
        mark, begin = "%s", "BEGIN"
    sql = _LIMIT_SQL.replace("?", mark)
    if mark == "?":  # SQLite has no row locks: BEGIN IMMEDIATE took the database's
        sql = sql.replace(" FOR UPDATE", "")
    lock, count, insert = sql.split(";\n")
    sqlite = mark == "?"
    done, began = 0, time.perf_counter()
    try:
        while (elapsed := time.perf_counter() - began) < LIMIT_SECONDS:
            now = datetime.now(UTC)
            at = now.replace(tzinfo=None).isoformat(" ") if sqlite else now
            later = now + timedelta(minutes=30)
            until = later.replace(tzinfo=None).isoformat(" ") if sqlite else later
            sid = uuid.uuid4().hex if sqlite else uuid.uuid4()
            execute = conn.execute  # type: ignore[attr-defined]
            execute(begin)
            execute(lock, (account_id,)).fetchall()
            execute(count, (account_id, at)).fetchall()
            execute(insert, (sid, account_id, at, at, until, at))
            execute("COMMIT")
            done += 1
    finally:
        conn.close()  # type: ignore[attr-defined]
    return done / elapsed


_LIMIT_SQL = (
    "SELECT licenses FROM accounts WHERE id = ? FOR UPDATE;\n"
    "SELECT count(*) FROM agent_sessions WHERE account_id = ? AND ended_at IS NULL "
    "AND expires_at > ?;\n"
    "INSERT INTO agent_sessions (id, account_id, started_at, last_activity_at, expires_at, "
    "ended_at, end_reason) VALUES (?, ?, ?, ?, ?, ?, 'logout')"
)


@dataclass(frozen=True)
class History:
    intervals: list[tuple[datetime, datetime | None]]
    denials: int


def history(url: str, account_id: int) -> History:
    """The account's sessions as (started, ended), and its denials, as recorded."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            s = agent_sessions.c
            rows = conn.execute(
                select(s.started_at, s.ended_at).where(s.account_id == account_id)
            ).all()
            refused = conn.execute(
                select(func.count()).select_from(denials).where(denials.c.account_id == account_id)
            ).scalar_one()
    finally:
        engine.dispose()
    return History([(r.started_at, r.ended_at) for r in rows], int(refused))


def peak(intervals: Iterable[tuple[datetime, datetime | None]], cap: int) -> tuple[int, int]:
    """The most sessions open at once, and how many starts took the count above the cap.

    Ends sort before starts at the same instant: a license freed and claimed at once
    is not an overlap. A session still open counts until the end.
    """
    events = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals if end]
    )
    most = current = over = 0
    for _, delta in events:
        current += delta
        most = max(most, current)
        over += delta > 0 and current > cap
    return most, over
