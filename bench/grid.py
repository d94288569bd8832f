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


def run(ctx: Context) -> None:
    sizes = ctx.sizes
    url = ctx.backend.fresh(NAME)
    seed.new_database(url)
    account = seed.provision(url, "grid", licenses=sizes.grid_sessions + 100)
    began = time.perf_counter()
    seed.open_grid(
        url, account, sessions=sizes.grid_sessions, open_interactions=sizes.grid_interactions
    )
    seeded = time.perf_counter() - began
    with ctx.server(url, NAME) as server:
        table = ctx.table(
            f"{TITLE}: {sizes.grid_sessions:,} open sessions, "
            f"{sizes.grid_interactions:,} open Interactions",
            LATENCY_COLUMNS,
            first_width=64,
        )
        base = latency(ctx, server, ["/healthz"], {})
        ctx.check("GET /healthz", base)
        latency_row(table, "GET /healthz (baseline)", base, None)
        bench = _Grid(ctx, server, table, base)
        token = {"Authorization": f"Bearer {account.admin_token}"}
        api = f"/api/v1/accounts/{account.slug}/active-sessions?"
        variants: list[dict[str, str | int]] = [
            {"sort": sort, "order": order, "page": 1, "per_page": 50}
            for sort in SORTS
            for order in ("asc", "desc")
        ]
        variants += [  # a later page, a username fragment, a Flow's name
            {"sort": "session_start", "page": sizes.later_page, "per_page": 50},
            {"q": USER_FRAGMENT, "per_page": 50},
            {"q": FLOW, "per_page": 50},
        ]
        probe(server, api + urlencode(variants[0]), token)
        ctx.remember(f"{NAME}: after one grid request", server)
        for params in variants:
            bench.measure("api ?", api + urlencode(params), token)
        cookie = {"Cookie": _login(server.url, account.slug)}
        page = f"/accounts/{account.slug}/active-agents/fragments?"
        pages: list[dict[str, str | int]] = [
            {"sort": "agent_id"},
            {"sort": "open_interactions_count", "order": "desc", "page": 2},
            {"q": FLOW},
        ]
        for params in pages:
            bench.measure("page ?", page + urlencode(params), cookie)
        ctx.remember(f"{NAME}: after the grid benchmark", server)
    table.note(
        f"seeded in {seeded:.1f} s by Core inserts: {sizes.grid_sessions:,} sessions (70% named "
        "agents agent-NNNNN, 30% Guests) and their Interactions over 8 Flows, expiring in a year"
    )
    table.note(
        f"api: GET /api/v1/accounts/{account.slug}/active-sessions with an admin API token; "
        f"page: GET /accounts/{account.slug}/active-agents/fragments with a login cookie"
    )
    table.note(
        "rows: rows in the answer; of: the total it reports (`count`); n: requests timed, one "
        f"at a time. Searches: q={USER_FRAGMENT} matches 100 usernames, q={FLOW} a Flow. "
        "ratio: p95 / the baseline's p95"
    )
    table.note(
        "page fragments: the usage panel and the grid as the Active Agents page refreshes them, "
        "with the login cookie of the form at /login; rows counted as data-testid=grid-row"
    )


class _Grid:
    """Measures one request after another and adds its row and target."""

    def __init__(self, ctx: Context, server: Server, table: Table, base: WrkResult) -> None:
        self.ctx, self.server, self.table, self.base = ctx, server, table, base

    def measure(self, label: str, path: str, headers: dict[str, str]) -> None:
        figure = label + path.split("?", 1)[1]
        first = probe(self.server, path, headers)
        if first.status != 200:
            self.ctx.report.fail(
                f"{self.ctx.backend.label}: {figure} answered {first.status}: {first.body[:300]!r}"
            )
            return
        rows: int | None
        total: int | None = None
        if isinstance(first.json, dict):
            rows = len(first.json.get("sessions", []))
            total = first.json.get("count")
        else:
            rows = len(PAGE_ROW.findall(first.body))
        result = latency(self.ctx, self.server, [path], headers, expected_seconds=first.seconds)
        self.ctx.check(figure, result)
        latency_row(self.table, figure, result, self.base, rows=rows, total=total)
        self.ctx.report.target(
            Target(
                self.ctx.backend.label,
                TITLE,
                figure,
                f"p95 < {TARGET_MS:.0f} ms",
                f"{fmt(result.p95, 1)} ms",
                result.requests > 0 and result.p95 < TARGET_MS,
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
