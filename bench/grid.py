"""3. The grid at scale: one account's open sessions and Interactions, a page at a time."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import httpx

from bench import seed
from bench.common import LATENCY_COLUMNS, Context, latency, latency_row, probe
from bench.report import Table, Target, fmt
from bench.server import Server
from bench.wrk import WrkResult

NAME = "grid"
TITLE = "3. The grid at scale"
TARGET_MS = 100.0
SORTS = ("agent_id", "session_start", "open_interactions_count")
USER_FRAGMENT = "nt-001"  # agent-00100 to agent-00199
FLOW = "Refund Request"
PAGE_ROW = re.compile(rb'data-testid="grid-row"')
LARGE = "grid-large"
RATIO_LIMIT = 1.5
MEMORY_LIMIT_MIB = 200
API_VARIANTS: list[dict[str, str | int]] = [
    {"sort": sort, "order": order, "page": 1, "per_page": 50}
    for sort in SORTS
    for order in ("asc", "desc")
]
PAGE_VARIANTS: list[dict[str, str | int]] = [
    {"sort": "agent_id"},
    {"sort": "open_interactions_count", "order": "desc", "page": 2},
    {"q": FLOW},
]


def run(ctx: Context) -> None:
    sizes = ctx.sizes
    small = _at_size(ctx, NAME, sizes.grid_sessions, sizes.grid_interactions, None)
    _at_size(ctx, LARGE, sizes.grid_large_sessions, sizes.grid_large_interactions, small)


def _at_size(
    ctx: Context, name: str, sessions: int, interactions: int, smaller: dict[str, float] | None
) -> dict[str, float]:
    """Every grid request on one account with this many open sessions; their p95s by figure.
    With the figures of a smaller grid, each is also held to RATIO_LIMIT of its own."""
    url = ctx.backend.fresh(name)
    seed.new_database(url)
    account = seed.provision(url, "grid", licenses=sessions + 100)
    began = time.perf_counter()
    seed.open_grid(url, account, sessions=sessions, open_interactions=interactions)
    seed.analyze(url)
    seeded = time.perf_counter() - began
    with ctx.server(url, name) as server:
        table = ctx.table(
            f"{TITLE}: {sessions:,} open sessions, {interactions:,} open Interactions",
            LATENCY_COLUMNS if smaller is None else (*LATENCY_COLUMNS, "vs 1/10"),
            first_width=64,
        )
        base = latency(ctx, server, ["/healthz"], {})
        ctx.check("GET /healthz", base)
        latency_row(table, "GET /healthz (baseline)", base, None)
        bench = _Grid(ctx, server, table, base, sessions=sessions, smaller=smaller)
        token = {"Authorization": f"Bearer {account.admin_token}"}
        api = f"/api/v1/accounts/{account.slug}/active-sessions?"
        probe(server, api + urlencode(API_VARIANTS[0]), token)
        ctx.remember(f"{name}: after one grid request", server)
        for params in _api_variants(ctx):
            bench.measure("api ?", api + urlencode(params), token)
        cookie = {"Cookie": _login(server.url, account.slug)}
        page = f"/accounts/{account.slug}/active-agents/fragments?"
        for params in PAGE_VARIANTS:
            bench.measure("page ?", page + urlencode(params), cookie)
        memory = ctx.remember(f"{name}: after the grid benchmark", server)
    if smaller is not None:
        ctx.report.target(
            Target(
                ctx.backend.label,
                TITLE,
                f"server memory with {sessions:,} open sessions (VmHWM)",
                f"< {MEMORY_LIMIT_MIB} MiB",
                f"{fmt(memory.hwm, 1)} MiB",
                memory.hwm < MEMORY_LIMIT_MIB,
            )
        )
    _notes(table, account.slug, sessions, seeded, compared=smaller is not None)
    return bench.p95s


def _api_variants(ctx: Context) -> list[dict[str, str | int]]:
    # A later page, a username fragment, a Flow's name
    return [
        *API_VARIANTS,
        {"sort": "session_start", "page": ctx.sizes.later_page, "per_page": 50},
        {"q": USER_FRAGMENT, "per_page": 50},
        {"q": FLOW, "per_page": 50},
    ]


def _notes(table: Table, slug: str, sessions: int, seeded: float, *, compared: bool) -> None:
    table.note(
        f"seeded in {seeded:.1f} s by Core inserts: {sessions:,} sessions (70% named "
        "agents agent-NNNNN, 30% Guests) and their Interactions over 8 Flows, expiring in a "
        "year; then ANALYZE, the statistics a database in use has (PostgreSQL's autovacuum, "
        "seatkeeper's hourly ANALYZE on SQLite): without them SQLite plans some grid queries badly"
    )
    table.note(
        f"api: GET /api/v1/accounts/{slug}/active-sessions with an admin API token; "
        f"page: GET /accounts/{slug}/active-agents/fragments with a login cookie"
    )
    table.note(
        "rows: rows in the answer; of: the total it reports (`count`; a + marks a count "
        "that stopped at its cap, count_is_exact false); n: requests timed, one at a time. "
        f"Searches: q={USER_FRAGMENT} matches 100 usernames, q={FLOW} a Flow. "
        "ratio: p95 / the baseline's p95"
    )
    table.note(
        "page fragments: the usage panel and the grid as the Active Agents page refreshes them, "
        "with the login cookie of the form at /login; rows counted as data-testid=grid-row"
    )
    if compared:
        table.note(
            "vs 1/10: this p95 / the same request's p95 on the grid ten times smaller, "
            f"measured first in this run (target <= {RATIO_LIMIT}x: the cost grows with the "
            "page, not with the sessions open)"
        )


class _Grid:
    """Measures one request after another and adds its row and target."""

    def __init__(
        self,
        ctx: Context,
        server: Server,
        table: Table,
        base: WrkResult,
        *,
        sessions: int,
        smaller: dict[str, float] | None,
    ) -> None:
        self.ctx, self.server, self.table, self.base = ctx, server, table, base
        self.sessions, self.smaller = sessions, smaller
        self.p95s: dict[str, float] = {}

    def measure(self, label: str, path: str, headers: dict[str, str]) -> None:
        figure = label + path.split("?", 1)[1]
        first = probe(self.server, path, headers)
        if first.status != 200:
            self.ctx.report.fail(
                f"{self.ctx.backend.label}: {figure} answered {first.status}: {first.body[:300]!r}"
            )
            return
        rows: int | None
        total: int | str | None = None
        if isinstance(first.json, dict):
            rows = len(first.json.get("sessions", []))
            count = first.json.get("count")
            exact = first.json.get("count_is_exact", True)
            total = count if exact or count is None else f"{count:,}+"
        else:
            rows = len(PAGE_ROW.findall(first.body))
        result = latency(self.ctx, self.server, [path], headers, expected_seconds=first.seconds)
        self.ctx.check(figure, result)
        self.p95s[figure] = result.p95
        before = None if self.smaller is None else self.smaller.get(figure)
        grew = result.p95 / before if before else None
        shown = "-" if grew is None else f"{grew:.2f}x"
        extra = () if self.smaller is None else (shown,)
        latency_row(self.table, figure, result, self.base, rows=rows, total=total, extra=extra)
        at = f"{figure} ({self.sessions:,} open)"
        met = result.requests > 0 and result.p95 < TARGET_MS
        label = self.ctx.backend.label
        self.ctx.report.target(
            Target(label, TITLE, at, f"p95 < {TARGET_MS:.0f} ms", f"{fmt(result.p95, 1)} ms", met)
        )
        if self.smaller is not None:
            self.ctx.report.target(
                Target(
                    label,
                    TITLE,
                    f"{at} / the same at 10x fewer",
                    f"p95 ratio <= {RATIO_LIMIT}x",
                    shown,
                    grew is not None and grew <= RATIO_LIMIT,
                )
            )


def _login(base_url: str, account: str) -> str:
    """Log in as the account's admin through the form; the Cookie header that carries it."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        form = client.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        if form.status_code != 200 or found is None:
            raise RuntimeError(f"GET /login answered {form.status_code} without a csrf_token")
        done = client.post(
            "/login",
            data={
                "account": account,
                "username": seed.ADMIN,
                "password": seed.ADMIN_PASSWORD,
                "csrf_token": found.group(1),
                "next": "/",
            },
        )
        if done.status_code != 303:
            raise RuntimeError(f"logging in answered {done.status_code}: {done.text[:300]}")
        return "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar if c.path == "/")
