"""4. Usage at scale: 30 days of history, one busy account and 50 ordinary ones."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench import seed
from bench.common import LATENCY_COLUMNS, Context, Probe, latency, latency_row, probe
from bench.report import Table, Target, fmt, ratio
from bench.server import Server
from bench.wrk import WrkResult

NAME = "usage"
TITLE = "4. Usage at scale"
TARGET_MS = 50.0
BIG_ZONE = "America/New_York"
SMALL_ZONE = "Europe/Paris"
USAGE = "/api/v1/accounts/{}/usage"


@dataclass(frozen=True)
class _History:
    busy: seed.Account
    small: list[seed.Account]
    super_token: str  # reads every account
    busy_seeded: seed.Seeded
    small_seeded: seed.Seeded


def run(ctx: Context) -> None:
    sizes = ctx.sizes
    table = ctx.table(
        f"{TITLE}: {sizes.days} days at {sizes.usage_per_day:,} sessions a day on one account; "
        f"{sizes.small_accounts} accounts at {sizes.small_per_day:,} a day",
        LATENCY_COLUMNS,
    )
    url = ctx.backend.fresh(NAME)
    history = _seed(ctx, url)
    with ctx.server(url, NAME) as server:
        base = latency(ctx, server, ["/healthz"], {})
        ctx.check("GET /healthz", base)
        latency_row(table, "GET /healthz (baseline)", base, None)
        colds = _cold(ctx, server, table, history, base)
        _warm(ctx, server, table, history, base)
    busy, small = history.busy_seeded, history.small_seeded
    table.note(
        f"seeding (SQLAlchemy Core executemany, batches of {seed.BATCH:,}): busy account "
        f"{busy.rows:,} sessions in {busy.seconds:.1f} s ({busy.rate:,.0f} rows/s); "
        f"{len(history.small)} accounts {small.rows:,} sessions in {small.seconds:.1f} s "
        f"({small.rate:,.0f} rows/s)"
    )
    table.note(
        "history: starts mostly 7:00-21:00 in the account's zone, durations log-normal "
        "(median 25 min, 1 min to 10 h), ended by logout, timeout or termination, all before now"
    )
    table.note(
        "cold: an account's first call ever, with none of its days kept yet, timed alone by the "
        "harness (httpx, a new connection): it computes every settled day from the session rows "
        "and keeps it in the database, so it happens once per account (after seeding here; in "
        "use, each instance's background sweep keeps them ahead of the first look), not after "
        "each restart (the benchmark's server runs no sweep); the "
        "other small accounts' first calls go one after another with a super_admin token. "
        "warm: wrk, one connection, after those"
    )
    for label, answer in colds:
        table.note(f"{label} answered: {_figures(answer)}")


def _seed(ctx: Context, url: str) -> _History:
    sizes = ctx.sizes
    seed.new_database(url)
    created = datetime.now(UTC) - timedelta(days=sizes.days + 1)
    busy = seed.provision(url, "busy", licenses=20_000, time_zone=BIG_ZONE, created_at=created)
    small = [
        seed.provision(
            url, f"small-{n:02d}", licenses=500, time_zone=SMALL_ZONE, created_at=created
        )
        for n in range(1, sizes.small_accounts + 1)
    ]
    history = _History(
        busy,
        small,
        seed.super_admin_token(url, busy),
        seed.history(url, [busy], per_day=sizes.usage_per_day, days=sizes.days, time_zone=BIG_ZONE),
        seed.history(
            url, small, per_day=sizes.small_per_day, days=sizes.days, time_zone=SMALL_ZONE
        ),
    )
    for seeded in (history.busy_seeded, history.small_seeded):
        rate = f"{seeded.rate:,.0f} rows/s"
        print(f"   seeded {seeded.rows:,} sessions in {seeded.seconds:.1f} s ({rate})")
    return history


def _cold(
    ctx: Context, server: Server, table: Table, history: _History, base: WrkResult
) -> list[tuple[str, Probe]]:
    """First calls after the server started, each timed alone."""
    answers = []
    for figure, account in (("busy account", history.busy), ("one of the 50", history.small[0])):
        auth = {"Authorization": f"Bearer {account.admin_token}"}
        first = probe(server, USAGE.format(account.slug), auth)
        if first.status != 200:
            answer = f"{first.status}: {first.body[:300]!r}"
            ctx.report.fail(f"{ctx.backend.label}: {figure}: the usage call answered {answer}")
        ms = first.seconds * 1000
        cells = [fmt(ms, 2)] * 3
        table.add(f"{figure}, cold", "", "", "1", *cells, fmt(base.p95, 2), ratio(ms, base.p95))
        answers.append((figure, first))
    everyone = {"Authorization": f"Bearer {history.super_token}"}
    others = [USAGE.format(a.slug) for a in history.small[1:]]
    firsts = sorted(probe(server, path, everyone).seconds * 1000 for path in others)
    if firsts:
        cells = [fmt(_percentile(firsts, q), 2) for q in (50, 95, 99)]
        p95 = ratio(_percentile(firsts, 95), base.p95)
        figure = f"the other {len(others)} small accounts, cold"
        table.add(figure, "", "", fmt(len(firsts)), *cells, fmt(base.p95, 2), p95)
    return answers


def _warm(ctx: Context, server: Server, table: Table, history: _History, base: WrkResult) -> None:
    busy, small = history.busy, history.small
    figures = [
        ("busy account, warm", [USAGE.format(busy.slug)], busy.admin_token),
        ("one of the 50, warm", [USAGE.format(small[0].slug)], small[0].admin_token),
        (
            f"all {len(small)} small accounts in turn, warm",
            [USAGE.format(a.slug) for a in small],
            history.super_token,
        ),
    ]
    for figure, paths, token in figures:
        auth = {"Authorization": f"Bearer {token}"}
        warm = probe(server, paths[0], auth)  # sizes the run when requests are slow
        result = latency(ctx, server, paths, auth, expected_seconds=warm.seconds)
        ctx.check(figure, result)
        latency_row(table, figure, result, base)
        ctx.report.target(
            Target(
                ctx.backend.label,
                TITLE,
                figure,
                f"p95 < {TARGET_MS:.0f} ms",
                f"{fmt(result.p95, 1)} ms",
                result.requests > 0 and result.p95 < TARGET_MS,
            )
        )


def _percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile of sorted figures."""
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _figures(answer: Probe) -> str:
    """What the usage answer said, to see it is real."""
    if not isinstance(answer.json, dict):
        return "no JSON answer"
    body = answer.json
    return (
        f"current {body.get('current')}, total {body.get('total')}, daily average "
        f"{body.get('daily_average')}, daily max {body.get('daily_max')}, "
        f"{len(body.get('days', []))} days"
    )
