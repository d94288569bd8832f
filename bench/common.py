"""What every benchmark shares: sizes, the run's context, and the two ways of measuring."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import wrk
from bench.backends import Backend
from bench.report import Report, Table, fmt, ratio
from bench.server import Memory, Server, serve
from bench.wrk import WrkResult


@dataclass(frozen=True)
class Sizes:
    sessions: int  # open sessions the heartbeats and interaction cycles spread over
    seconds: int  # each throughput run
    warmup: int  # an untimed run before each throughput run
    latency_seconds: int  # each latency run (one connection)
    grid_sessions: int
    grid_interactions: int
    later_page: int
    usage_per_day: int
    small_accounts: int
    small_per_day: int
    days: int = 30
    # The grid again, ten times larger, in the same run: a request must cost about the same.
    grid_large_sessions: int = 100_000
    grid_large_interactions: int = 300_000
    storm_agents: int = 2_000  # the shift-start storm: agents seated on as many licenses
    storm_refused: int = 500  # then as many more, every one refused
    password_checks: int = 30  # argon2 checks timed one after another
    report_agents: int = 5_000  # usage over any period: the busy account's named agents
    growth_agents: int = 1_000  # the database's growth: a month of this many agents


FULL = Sizes(2_000, 10, 2, 5, 10_000, 30_000, 100, 100_000, 50, 2_000)
QUICK = Sizes(
    200, 2, 1, 1, 1_000, 3_000, 10, 1_000, 50, 20, 30, 2_000, 6_000, storm_agents=32,
    storm_refused=8, password_checks=5, report_agents=50, growth_agents=100,
)  # fmt: skip

THROUGHPUT_COLUMNS = (
    "figure",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "non-2xx",
    "base req/s",
    "ratio",
)
LATENCY_COLUMNS = ("request", "rows", "of", "n", "p50 ms", "p95 ms", "p99 ms", "base p95", "ratio")


@dataclass
class Context:
    """One backend's run: where its databases go, what it measured so far."""

    backend: Backend
    sizes: Sizes
    report: Report
    workdir: Path
    memory: list[tuple[str, Memory]] = field(default_factory=list)

    def table(self, title: str, columns: Sequence[str], first_width: int = 40) -> Table:
        return self.report.add(self.backend.label, Table(title, columns, first_width))

    def remember(self, label: str, server: Server) -> Memory:
        """The server's memory now, for the memory table."""
        memory = server.memory()
        self.memory.append((label, memory))
        print(f"   memory {label}: VmRSS {memory.rss:.1f} MiB, VmHWM {memory.hwm:.1f} MiB")
        return memory

    @contextmanager
    def server(self, database_url: str, name: str) -> Iterator[Server]:
        """The benchmark's server; its memory is noted after start, and at the end with its peak."""
        with serve(database_url, self.workdir / f"{name}.log") as server:
            self.remember(f"{name}: after start", server)
            yield server
            server.check_alive()
            self.remember(f"{name}: at the end (VmHWM: its peak)", server)

    def check(self, figure: str, result: WrkResult, expected: Sequence[int] = ()) -> None:
        """Any answer other than 2xx (or the `expected` refusals) is a failure to report."""
        odd = result.unexpected(expected)
        if odd:
            codes = {k: v for k, v in result.statuses.items() if not 200 <= k < 300}
            self.report.fail(
                f"{self.backend.label}: {figure}: {odd} unexpected answers "
                f"(statuses {codes}, socket errors {result.socket_errors})"
            )


def throughput(
    ctx: Context,
    server: Server,
    script: str,
    *,
    path: str = "/",
    args: Sequence[str] = (),
    threads: int = 1,
    connections: int = 64,
    warm_up: bool = True,
) -> WrkResult:
    """A warm-up (unless told not to), then the measured run."""

    def run(seconds: int) -> WrkResult:
        return wrk.run(
            server.url + path,
            script,
            args=args,
            threads=threads,
            connections=connections,
            seconds=seconds,
        )

    if warm_up:
        run(ctx.sizes.warmup)
    result = run(ctx.sizes.seconds)
    server.check_alive()
    return result


def throughput_row(table: Table, figure: str, result: WrkResult, base: WrkResult | None) -> None:
    table.add(
        figure,
        fmt(result.rate, 0),
        fmt(result.p50, 2),
        fmt(result.p95, 2),
        fmt(result.p99, 2),
        fmt(result.unexpected()),
        fmt(base.rate, 0) if base else "-",
        ratio(result.rate, base.rate if base else None),
    )


@dataclass(frozen=True)
class Probe:
    """One untimed-by-wrk request: its status, time, and what it answered."""

    status: int
    seconds: float
    body: bytes
    json: object


def probe(server: Server, path: str, headers: dict[str, str]) -> Probe:
    """One request, timed here: the cold call, and what the answer looks like."""
    began = time.perf_counter()
    response = httpx.get(server.url + path, headers=headers, timeout=300)
    seconds = time.perf_counter() - began
    parsed: object = None
    if response.headers.get("content-type", "").startswith("application/json"):
        parsed = response.json()
    return Probe(response.status_code, seconds, response.content, parsed)


def latency(
    ctx: Context,
    server: Server,
    paths: Sequence[str],
    headers: dict[str, str],
    *,
    expected_seconds: float = 0.0,
) -> WrkResult:
    """Latency at one connection, one request after another, over `paths` in turn.

    The run lasts at least long enough for a few requests when each one is slow.
    """
    seconds = ctx.sizes.latency_seconds
    if expected_seconds * 5 > seconds:
        seconds = min(60, math.ceil(expected_seconds * 5))
    rotation = list(paths) if len(paths) > 1 else []
    args = [f"{k}: {v}" for k, v in headers.items()] + rotation
    result = wrk.run(
        server.url + paths[0],
        "get.lua",
        args=args,
        connections=1,
        seconds=seconds,
        timeout=120,
    )
    server.check_alive()
    return result


def latency_row(
    table: Table,
    figure: str,
    result: WrkResult,
    base: WrkResult | None,
    *,
    rows: int | None = None,
    total: int | str | None = None,
    extra: Sequence[str] = (),
) -> None:
    table.add(
        figure,
        fmt(rows),
        fmt(total),
        fmt(result.requests),
        fmt(result.p50, 2),
        fmt(result.p95, 2),
        fmt(result.p99, 2),
        fmt(base.p95, 2) if base else "-",
        ratio(result.p95, base.p95 if base else None),
        *extra,
    )
