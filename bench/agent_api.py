"""1. Agent API throughput: heartbeats and the interaction cycle against /healthz."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench import seed
from bench.common import THROUGHPUT_COLUMNS, Context, throughput, throughput_row
from bench.report import Target, fmt

NAME = "agent_api"
TITLE = "1. Agent API throughput"
CYCLE_CLIENTS = 8  # wrk threads, one connection each: a thread's Lua state is its connection's


def run(ctx: Context) -> None:
    n = ctx.sizes.sessions
    url = ctx.backend.fresh(NAME)
    seed.new_database(url)
    account = seed.provision(url, "agents", licenses=n + 100)
    with ctx.server(url, NAME) as server:
        sessions = open_sessions(server.url, account.application_key, n, ctx.workdir)
        table = ctx.table(TITLE, THROUGHPUT_COLUMNS)
        base = throughput(ctx, server, "get.lua", path="/healthz")
        ctx.check("GET /healthz", base)
        throughput_row(table, "GET /healthz (baseline, 64 connections)", base, None)
        beats = throughput(ctx, server, "heartbeat.lua", args=[str(sessions)])
        ctx.check("heartbeats", beats)
        throughput_row(table, f"POST .../heartbeat over {n:,} sessions", beats, base)
        share = beats.rate / base.rate if base.rate else 0.0
        ctx.report.target(
            Target(
                ctx.backend.label,
                TITLE,
                "heartbeats",
                ">= 50% of the baseline's req/s",
                f"{share:.0%} ({fmt(beats.rate, 0)} / {fmt(base.rate, 0)} req/s)",
                share >= 0.5,
            )
        )

        # Each call authenticates with the application key, whose "last used" is written at
        # most once a minute: this must cost next to nothing.
        key = [f"Authorization: Bearer {account.application_key}"]
        flows = throughput(ctx, server, "get.lua", path="/api/v1/flows", args=key)
        ctx.check("flows", flows)
        throughput_row(table, "GET /api/v1/flows (application key)", flows, base)

        clients = CYCLE_CLIENTS
        base8 = throughput(
            ctx, server, "get.lua", path="/healthz", threads=clients, connections=clients
        )
        ctx.check("GET /healthz (8 connections)", base8)
        throughput_row(table, f"GET /healthz (baseline, {CYCLE_CLIENTS} connections)", base8, None)
        args = [str(sessions), str(CYCLE_CLIENTS)]
        cycle = throughput(
            ctx, server, "cycle.lua", args=args, threads=clients, connections=clients
        )
        ctx.check("interaction cycle", cycle)
        throughput_row(table, "interaction cycle: open, step, close", cycle, base8)
        cycles = cycle.counters.get("cycles", 0) / cycle.seconds
        table.note(
            f"interaction cycle: {cycles:,.0f} complete cycles/s ({CYCLE_CLIENTS} clients, each "
            'POST .../interactions {"flow": "Password Reset"}, POST .../steps '
            '{"step": "Verify"}, DELETE .../interactions/{iid} in turn on its own sessions); '
            "latency is over the three calls together"
        )


def open_sessions(base_url: str, application_key: str, count: int, workdir: Path) -> Path:
    """Open `count` Guest sessions over HTTP; writes {session_id, token} pairs as a Lua table."""
    headers = {"Authorization": f"Bearer {application_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:

        def open_one(_: int) -> tuple[str, str]:
            response = client.post("/api/v1/sessions", json={})
            if response.status_code != 201:
                answer = f"{response.status_code}: {response.text}"
                raise RuntimeError(f"opening a session answered {answer}")
            body = response.json()
            return str(body["session_id"]), str(body["token"])

        with ThreadPoolExecutor(8) as pool:
            pairs = list(pool.map(open_one, range(count)))
    path = workdir / "sessions.lua"
    lines = [f'  {{"{sid}", "{token}"}},' for sid, token in pairs]
    path.write_text("return {\n" + "\n".join(lines) + "\n}\n")
    return path
