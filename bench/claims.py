"""2. Seat claims under contention: 8 clients opening and closing Guest sessions, cap 5."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import create_engine, func, select

from bench import seed
from bench.common import Context, throughput
from bench.report import Target, fmt, ratio
from seatkeeper.storage.tables import agent_sessions, denials

NAME = "claims"
TITLE = "2. Seat claims under contention"
CLIENTS = 8
CAP = 5
COLUMNS = ("figure", "per s", "count", "p50 ms", "p95 ms", "p99 ms", "base req/s", "ratio")


def run(ctx: Context) -> None:
    url = ctx.backend.fresh(NAME)
    seed.new_database(url)
    account = seed.provision(url, "claims", licenses=CAP)
    with ctx.server(url, NAME) as server:
        table = ctx.table(f"{TITLE} ({CLIENTS} clients, one account, {CAP} licenses)", COLUMNS)
        base = throughput(
            ctx, server, "get.lua", path="/healthz", threads=CLIENTS, connections=CLIENTS
        )
        ctx.check("GET /healthz", base)
        # No warm-up: sessions a warm-up left open would hold licenses for the whole run.
        race = throughput(
            ctx,
            server,
            "claims.lua",
            args=[account.application_key],
            threads=CLIENTS,
            connections=CLIENTS,
            warm_up=False,
        )
        ctx.check("seat claims", race, expected=(409,))
        s = race.seconds

        def row(figure: str, count: int) -> None:
            table.add(figure, fmt(count / s, 0), fmt(count))

        for figure, result in (("GET /healthz (baseline)", base), ("all requests", race)):
            table.add(
                figure,
                fmt(result.rate, 0),
                fmt(result.requests),
                fmt(result.p50, 2),
                fmt(result.p95, 2),
                fmt(result.p99, 2),
                fmt(base.rate, 0) if result is race else "",
                ratio(result.rate, base.rate) if result is race else "",
            )
        row("claims (201)", race.count(201))
        row("refusals (409 license_limit_reached)", race.count(409))
        row("logouts (204)", race.count(204))
    history = _history(url, account.id)
    peak, over = _peak(history.intervals)
    table.add("sessions recorded in the database", "", fmt(len(history.intervals)))
    table.add("denials recorded in the database", "", fmt(history.denials))
    table.add(f"most sessions open at once (cap {CAP})", "", fmt(peak))
    table.add("over-allocations", "", fmt(over))
    table.note(
        f"{CLIENTS} wrk threads with one connection each: each thread's Lua state is one "
        "client that opens a Guest session, logs it out on 201 and tries again at once on 409; "
        "wrk in C on its own core keeps up with far more than the server answers"
    )
    table.note(
        "most open at once: from the recorded history (started_at, ended_at), an end before a "
        "start at the same instant; over-allocations = claims that took the count above the cap. "
        "The database may hold a few more sessions and denials than wrk counted: answers still "
        "in flight when wrk stopped"
    )
    ctx.report.target(
        Target(ctx.backend.label, TITLE, "over-allocations", "0, always", fmt(over), over == 0)
    )
    if over:
        ctx.report.fail(f"{ctx.backend.label}: {over} sessions opened over the cap of {CAP}")
    if race.count(201) == 0:
        ctx.report.fail(f"{ctx.backend.label}: no seat was ever claimed")


@dataclass(frozen=True)
class _History:
    intervals: list[tuple[datetime, datetime | None]]
    denials: int


def _history(url: str, account_id: int) -> _History:
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
    return _History([(r.started_at, r.ended_at) for r in rows], int(refused))


def _peak(intervals: Iterable[tuple[datetime, datetime | None]]) -> tuple[int, int]:
    """The most sessions open at once, and how many starts took the count above the cap.

    Ends sort before starts at the same instant: a license freed and claimed at once
    is not an overlap. A session still open counts until the end.
    """
    events = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals if end]
    )
    peak = current = over = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
        over += delta > 0 and current > CAP
    return peak, over
