"""8. The shift-start storm: every agent of an account opens a session at once.

2,000 agents (70% named, with a password; 30% Guests, interleaved) open sessions on one
account of 2,000 licenses as fast as they can, each once; then 500 more (the same mix)
must all be refused. Four columns on each backend, each on a fresh database and server:
the cheap hashing every other benchmark uses, and seatkeeper's own argon2id parameters (a
shift start as it really is: every named agent's password is checked); each with the
default bound on logins waiting for a check (the rest are told to come back), and with
room for every connection to wait. Beside it, the cost of one password check on one
core, next to Keycloak's published sizing.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher

from bench import claims, seed
from bench.common import Context
from bench.http1 import Connection
from bench.report import Table, Target, fmt
from bench.server import Memory, serve
from bench.wrk import CLIENT_CORE
from seatkeeper.services.secrets import PRODUCTION, Passwords

NAME = "storm"
TITLE = "8. The shift-start storm"
# As many connections as the other throughput runs: far more than one server process
# answers at once (one worker, one password check and two waiting), so it is never idle,
# yet few enough that one Python client on its own core keeps up (a connection per agent,
# 2,000 of them, would time the client's connection handling rather than the server).
CONNECTIONS = 64
NAMED = frozenset({0, 1, 3, 4, 6, 7, 9})  # of every 10 agents in line, 7 are named
PASSWORD = "the shift starts at eight"  # every bench agent's
RETRIED = (429, 503)  # throttled, or logins busy: try again after Retry-After
KEYCLOAK_LOGINS_PER_VCPU = 15  # keycloak.org, "Concepts for sizing CPU and memory resources"
OWASP_FLOOR = (19 * 1024, 2, 1)  # argon2id: memory KiB, passes, lanes


@dataclass(frozen=True)
class Mode:
    """How the server runs for one column: its hashing, and any other setting."""

    label: str
    fast: bool  # SEATKEEPER_FAST_PASSWORD_HASHING
    env: dict[str, str] = field(default_factory=dict)


CHEAP = Mode("cheap", fast=True)
REAL = Mode("argon2id", fast=False)
MODES = (CHEAP, REAL)


@dataclass(frozen=True)
class Agent:
    """One agent in line: named (with a password) or a Guest (username None)."""

    number: int
    username: str | None

    def body(self) -> dict[str, str]:
        return {} if self.username is None else {"username": self.username, "password": PASSWORD}


def line_up(count: int) -> list[Agent]:
    """`count` agents, 70% named, interleaved with the Guests in a fixed pattern."""
    return [Agent(n, f"storm-{n:05d}" if n % 10 in NAMED else None) for n in range(1, count + 1)]


@dataclass
class Answers:
    """What one wave of agents was answered; times in seconds."""

    seconds: float = 0.0  # from the first request to the last answer
    statuses: Counter[int] = field(default_factory=Counter)  # each agent's final answer
    retried: Counter[int] = field(default_factory=Counter)  # answers followed by a new try
    latencies: list[float] = field(default_factory=list)  # each final answer's request
    waits: list[float] = field(default_factory=list)  # each agent: first try to final answer


@dataclass(frozen=True)
class Storm:
    """One mode's run: the storm, the refused wave, the baseline and the database."""

    seated: Answers
    refused: Answers
    healthz_rate: float
    server_busy: float  # the server's CPU seconds over the storm's seconds
    sessions: int
    denials: int
    peak: int
    over: int
    memory: Memory


@contextmanager
def on_client_core() -> Iterator[None]:
    """This process on the load clients' core while inside, so that it does not take
    the server's (a no-op where affinity cannot be set or there is one core)."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {CLIENT_CORE})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


async def _open(conn: Connection, agent: Agent, key: str, answers: Answers) -> None:
    """One agent's open, tried again after Retry-After as an Agent Application would."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = json.dumps(agent.body()).encode()
    first = time.perf_counter()
    while True:
        began = time.perf_counter()
        response = await conn.request("POST", "/api/v1/sessions", headers=headers, body=body)
        took = time.perf_counter() - began
        if response.status not in RETRIED:
            break
        answers.retried[response.status] += 1
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))
    answers.statuses[response.status] += 1
    answers.latencies.append(took)
    answers.waits.append(time.perf_counter() - first)


async def _wave(url: str, key: str, agents: Sequence[Agent]) -> Answers:
    """Every agent opens once, CONNECTIONS at a time, each taking the next in line."""
    answers, line = Answers(), iter(agents)

    async def agents_on(conn: Connection) -> None:
        for agent in line:  # one iterator shared: each agent is taken once
            await _open(conn, agent, key, answers)

    # Connected before the clock starts, as Agent Applications already running would be.
    conns = await asyncio.gather(*(Connection.open(url) for _ in range(CONNECTIONS)))
    began = time.perf_counter()
    await asyncio.gather(*(agents_on(conn) for conn in conns))
    answers.seconds = time.perf_counter() - began
    await asyncio.gather(*(conn.close() for conn in conns))
    return answers


async def _healthz(url: str, requests: int) -> float:
    """GET /healthz per second through the same client: what the client itself keeps up."""
    each = max(1, requests // CONNECTIONS)

    async def gets(conn: Connection) -> None:
        for _ in range(each):
            if (answer := await conn.request("GET", "/healthz")).status != 200:
                raise RuntimeError(f"GET /healthz answered {answer.status}")

    conns = await asyncio.gather(*(Connection.open(url) for _ in range(CONNECTIONS)))
    began = time.perf_counter()
    await asyncio.gather(*(gets(conn) for conn in conns))
    rate = each * CONNECTIONS / (time.perf_counter() - began)
    await asyncio.gather(*(conn.close() for conn in conns))
    return rate


def storm(ctx: Context, mode: Mode) -> Storm:
    """A fresh account and server, the storm and the refused wave, then the database read."""
    count, more = ctx.sizes.storm_agents, ctx.sizes.storm_refused
    agents = line_up(count + more)
    url = ctx.backend.fresh(NAME)
    seed.new_database(url)
    account = seed.provision(url, NAME, licenses=count)
    named = [a.username for a in agents if a.username is not None]
    seed.named_agents(url, account, named, Passwords(fast=mode.fast).hash(PASSWORD))
    env = {"SEATKEEPER_FAST_PASSWORD_HASHING": str(mode.fast).lower(), **mode.env}
    log = ctx.workdir / f"{NAME}-{MODES.index(mode)}.log"
    with serve(url, log, env=env) as server:
        pid, key = server.process.pid, account.application_key
        with on_client_core():
            healthz = asyncio.run(_healthz(server.url, count))
            cpu = cpu_seconds(pid)
            seated = asyncio.run(_wave(server.url, key, agents[:count]))
            busy = (cpu_seconds(pid) - cpu) / seated.seconds
            refused = asyncio.run(_wave(server.url, key, agents[count:]))
        server.check_alive()
        memory = ctx.remember(f"{NAME} ({mode.label}): at the end (VmHWM: its peak)", server)
    history = claims.history(url, account.id)
    peak, over = claims.peak(history.intervals, count)
    denied = history.denials
    return Storm(seated, refused, healthz, busy, len(history.intervals), denied, peak, over, memory)


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system, all its threads) process `pid` has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after the command's name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], p: int) -> float | None:
    """The p-th percentile (nearest rank) of `values` in ms, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, round(p / 100 * len(ordered)) - 1)] * 1000


def run(ctx: Context) -> None:
    cost = check_cost(ctx.sizes.password_checks)
    runs = {}
    for mode in MODES:
        try:
            runs[mode.label] = storm(ctx, mode)
        except Exception as exc:  # a column that broke must not take the others with it
            why = (str(exc).splitlines() or [type(exc).__name__])[0]
            ctx.report.fail(f"{ctx.backend.label}: {TITLE} ({mode.label}) did not finish: {why}")
    if not runs:
        raise RuntimeError("no column of the storm finished")
    _storm_table(ctx, runs)
    for label, result in runs.items():
        _judge(ctx, label, result)
    _cost_table(ctx, cost, runs)


def check_cost(checks: int) -> list[float]:
    """Seconds of each of `checks` argon2id verifications with the server's own parameters,
    one after another on one core (after one untimed)."""
    hasher = PasswordHasher.from_parameters(PRODUCTION)
    stored = hasher.hash(PASSWORD)
    times = []
    with on_client_core():
        hasher.verify(stored, PASSWORD)
        for _ in range(checks):
            began = time.perf_counter()
            hasher.verify(stored, PASSWORD)
            times.append(time.perf_counter() - began)
    return times


def _storm_table(ctx: Context, runs: dict[str, Storm]) -> None:
    count, more = ctx.sizes.storm_agents, ctx.sizes.storm_refused
    table = ctx.table(
        f"{TITLE}: {count:,} agents on {count:,} licenses, then {more:,} more",
        ("figure", *runs),
        first_width=56,
    )

    def row(figure: str, cell: Callable[[Storm], str]) -> None:
        table.add(figure, *(cell(r) for r in runs.values()))

    def both(r: Storm, code: int) -> int:
        return r.seated.retried[code] + r.refused.retried[code]

    row("GET /healthz through the same client (baseline), req/s", lambda r: fmt(r.healthz_rate, 0))
    row(f"agents seated (201) of {count:,}", lambda r: fmt(r.seated.statuses[201]))
    row("time until all were seated, s", lambda r: fmt(r.seated.seconds, 2))
    row("agents seated per second", lambda r: fmt(r.seated.statuses[201] / r.seated.seconds, 0))
    for p in (50, 95, 99):
        opens = (fmt(percentile(r.seated.latencies, p), 2) for r in runs.values())
        table.add(f"an open (its 201 answer), p{p} ms", *opens)
    for p in (50, 95, 99):
        waits = (fmt(percentile(r.seated.waits, p), 0) for r in runs.values())
        table.add(f"an agent's wait until seated, retries too, p{p} ms", *waits)
    row("told to retry: 503 logins_busy (named agents)", lambda r: fmt(both(r, 503)))
    row("told to retry: 429 too many attempts", lambda r: fmt(both(r, 429)))
    row(
        f"refusals answered (409) of {more:,}",
        lambda r: fmt(r.refused.statuses[409] + r.seated.statuses[409]),
    )
    row("denials recorded in the database", lambda r: fmt(r.denials))
    row("sessions recorded in the database", lambda r: fmt(r.sessions))
    row(f"most sessions open at once (cap {count:,})", lambda r: fmt(r.peak))
    row("over-allocations", lambda r: fmt(r.over))
    row("server memory at its peak (VmHWM), MiB", lambda r: fmt(r.memory.hwm))
    row(
        "server CPU busy during the storm (of its one core), %",
        lambda r: fmt(100 * r.server_busy, 0),
    )
    _storm_notes(table)


def _storm_notes(table: Table) -> None:
    table.note(
        f"one account, a fresh database and server for each column; the agents are in line "
        f"7 named (each their own user, one password) to 3 Guests, interleaved; {CONNECTIONS} "
        "keep-alive connections from one Python client (asyncio, bench/http1.py) pinned to "
        "the load core, each taking the next agent in line as soon as its previous one is "
        "answered; each agent opens once. The refused wave starts when every agent of the "
        "storm is seated"
    )
    table.note(
        f"{CHEAP.label}: argon2's cheapest parameters, as every other benchmark runs. "
        f"{REAL.label}: the server's own parameters (SEATKEEPER_FAST_PASSWORD_HASHING=false), "
        "users' hashes made with them, so every named agent's open (the refused ones' too) "
        "checks a password, as at a real shift start; both with the default login queue"
    )
    table.note(
        "told to retry: the server runs as many password checks at once as it has cores "
        "(one here: it is pinned to one) and by default lets eight times as many wait; a login "
        "beyond is answered 503 logins_busy with Retry-After at once, nothing hashed. The "
        "client waits that long and tries again, as an Agent Application should; an open's "
        "latency is its final answer's request, an agent's wait runs from its first try to "
        "that answer. Server CPU busy: its process's CPU time over the storm's wall time"
    )
    table.note(
        "most open at once and over-allocations: from the recorded history (started_at, "
        "ended_at), as in 2.; the GET /healthz baseline shows what the client itself keeps up"
    )


def _judge(ctx: Context, label: str, r: Storm) -> None:
    """The issue's targets for one column, and a failure for any answer not foreseen."""
    count, more = ctx.sizes.storm_agents, ctx.sizes.storm_refused
    refused = r.refused.statuses[409] + r.seated.statuses[409]
    where = f"{TITLE} ({label})"
    for figure, goal, measured, met in (
        ("over-allocations", "0, always", fmt(r.over), r.over == 0),
        (
            "denials recorded / refusals answered",
            "equal",
            f"{r.denials:,} / {refused:,}",
            r.denials == refused,
        ),
        (
            "agents seated",
            f"all {count:,}",
            fmt(r.seated.statuses[201]),
            r.seated.statuses[201] == count,
        ),
        ("agents refused (409)", f"all {more:,}", fmt(r.refused.statuses[409]), refused == more),
    ):
        ctx.report.target(Target(ctx.backend.label, where, figure, goal, measured, met))
    odd = {k: v for k, v in r.seated.statuses.items() if k != 201}
    odd |= {-k: v for k, v in r.refused.statuses.items() if k != 409}
    if odd:
        ctx.report.fail(
            f"{ctx.backend.label}: {where}: unexpected answers {odd} "
            "(negative: in the refused wave)"
        )
    if r.over:
        ctx.report.fail(f"{ctx.backend.label}: {r.over} sessions opened over the cap of {count}")


def _cost_table(ctx: Context, times: list[float], runs: dict[str, Storm]) -> None:
    m, t, p = PRODUCTION.memory_cost, PRODUCTION.time_cost, PRODUCTION.parallelism
    floor_m, floor_t, floor_p = OWASP_FLOOR
    ms = statistics.median(times) * 1000
    per_core = 1000 / ms
    named = sum(1 for a in line_up(ctx.sizes.storm_agents) if a.username is not None)
    table = ctx.table(
        "8b. One password check: argon2id at seatkeeper's parameters",
        ("figure", "value"),
        first_width=64,
    )
    table.add("argon2id parameters (services/secrets.py PRODUCTION)", f"m={m:,} KiB, t={t}, p={p}")
    table.add(
        "OWASP's floor (Password Storage Cheat Sheet)",
        f"m={floor_m:,} KiB, t={floor_t}, p={floor_p}",
    )
    table.add(f"one check, ms (median of {len(times)}, one core)", fmt(ms, 1))
    table.add("password checks per second per core", fmt(per_core, 1))
    table.add(
        "Keycloak's sizing: password logins per second per vCPU", fmt(KEYCLOAK_LOGINS_PER_VCPU)
    )
    table.add(
        "checks per core / Keycloak's logins per vCPU",
        f"{per_core / KEYCLOAK_LOGINS_PER_VCPU:.2f}x",
    )
    for mode in (m for m in (REAL,) if m.label in runs):
        table.add(
            f"named agents seated per second in the storm, {mode.label} (1 core)",
            fmt(named / runs[mode.label].seated.seconds, 1),
        )
    table.note(
        "m: memory_cost in KiB (19 MiB), t: time_cost (passes), p: parallelism (lanes); the "
        "check is argon2-cffi's verify, in the benchmark's process pinned to the load core"
    )
    table.note(
        'Keycloak: keycloak.org, High Availability, "Concepts for sizing CPU and memory '
        'resources": allocate 1 vCPU for each 15 password-based user logins per second'
    )
    table.note(
        "in the storm the server (one process on one core) checks the named agents' passwords "
        "and claims every seat, Guests' too: its named agents per second is the whole open's "
        "rate, the argon2 check included, not the check alone"
    )
    met = m >= floor_m and t >= floor_t and p >= floor_p
    ctx.report.target(
        Target(
            ctx.backend.label, "8b. One password check", "argon2id parameters",
            "OWASP's floor at least", f"m={m:,} KiB, t={t}, p={p}", met,
        )
    )  # fmt: skip
