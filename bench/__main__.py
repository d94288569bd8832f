"""`python -m bench`: every benchmark on SQLite and, when it answers, PostgreSQL."""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bench import agent_api, claims, flood, grid, line, memory, reports, sso, storm, usage, wrk
from bench.backends import Backend, postgres_backend, sqlite_backend
from bench.common import FULL, QUICK, Context, Sizes
from bench.report import PARTIAL, RESULTS, Report, load_average, machine

BENCHMARKS: dict[str, Callable[[Context], None]] = {
    agent_api.NAME: agent_api.run,
    claims.NAME: claims.run,
    grid.NAME: grid.run,
    usage.NAME: usage.run,
    reports.NAME: reports.run,
    flood.NAME: flood.run,
    sso.NAME: sso.run,
    storm.NAME: storm.run,
    line.NAME: line.run,
}
NAMES = [*BENCHMARKS, memory.NAME]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of a seatkeeper server; prints tables and writes bench/RESULTS.md "
        "(bench/out/RESULTS.md for a --quick or partial run).",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and short runs: a smoke test"
    )
    parser.add_argument(
        "--only",
        metavar="NAME[,NAME]",
        help=f"run only these benchmarks: {', '.join(NAMES)} (memory needs grid and runs it)",
    )
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql"],
        help="one backend only (default: SQLite, and PostgreSQL when it answers)",
    )
    args = parser.parse_args(argv)
    chosen = NAMES if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(chosen) - set(NAMES))
    if unknown or not chosen:
        parser.error(f"unknown benchmark {', '.join(unknown) or '(none)'}: choose from {NAMES}")
    if memory.NAME in chosen and grid.NAME not in chosen:
        chosen.append(grid.NAME)
    args.chosen = chosen
    return args


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    args = parse(arguments)
    sizes = QUICK if args.quick else FULL
    wrk_version = wrk.ensure_installed()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="seatkeeper-bench-") as tmp:
        found = backends(args.backend, Path(tmp))
        if isinstance(found, str):
            print(found, file=sys.stderr)
            return 2
        chosen, skipped = found
        postgres = next((b.version for b in chosen if b.name == "postgresql"), None)
        partial = args.quick or args.only is not None or args.backend is not None
        report = Report(
            command=" ".join(["python -m bench", *map(shlex.quote, arguments)]),
            path=PARTIAL if partial else RESULTS,
            started=datetime.now().astimezone(),
            machine=machine(wrk_version, postgres),
            method=method(sizes),
            skipped=skipped,
        )
        print(f"seatkeeper benchmarks ({'quick' if args.quick else 'full'} sizes): {report.path}")
        for backend in chosen:
            try:
                run_backend(Context(backend, sizes, report, Path(tmp)), args.chosen)
            finally:
                backend.clean_up()
                report.write()
    summary(report, time.monotonic() - began)
    return 1 if report.failures else 0


def backends(choice: str | None, workdir: Path) -> tuple[list[Backend], list[str]] | str:
    """The backends to run on, and why any was skipped; or why the one asked for cannot run."""
    chosen, skipped = [], []
    if choice in (None, "sqlite"):
        chosen.append(sqlite_backend(workdir))
    if choice in (None, "postgresql"):
        postgres = postgres_backend(workdir)
        if isinstance(postgres, str) and choice == "postgresql":
            return postgres
        if isinstance(postgres, str):
            skipped.append(f"{postgres}; set SEATKEEPER_BENCH_POSTGRES_URL to use another")
            print(f"Skipping PostgreSQL: {skipped[-1]}")
        else:
            chosen.append(postgres)
    return chosen, skipped


def run_backend(ctx: Context, chosen: list[str]) -> None:
    """The chosen benchmarks on one backend, RESULTS.md rewritten after each."""
    print(f"\n#### {ctx.backend.label} {ctx.backend.version}", flush=True)
    if memory.NAME in chosen:
        attempt(ctx, "memory baseline", memory.idle)
    for name, run in BENCHMARKS.items():
        if name in chosen:
            attempt(ctx, name, run)
            ctx.report.write()
    if memory.NAME in chosen and ctx.memory:
        memory.table(ctx)


def attempt(ctx: Context, name: str, run: Callable[[Context], None]) -> None:
    """Run one benchmark, timed; a crash is reported and the others still run."""
    began = time.monotonic()
    try:
        run(ctx)
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        traceback.print_exc(limit=-3, chain=False)
        ctx.report.fail(f"{ctx.backend.label}: {name} did not finish: {exc}".splitlines()[0])
    finally:
        seconds = time.monotonic() - began
        ctx.report.timings.append((ctx.backend.label, name, seconds))
        print(f"   ({name} on {ctx.backend.label} took {seconds:.0f} s)", flush=True)


def method(sizes: Sizes) -> list[str]:
    return [
        "Every benchmark starts its own server, `seatkeeper serve --fd N` (one worker) on a "
        "socket the harness bound, with SEATKEEPER_FAST_PASSWORD_HASHING=true, "
        "SEATKEEPER_LOG_LEVEL=warning, SEATKEEPER_SWEEP_SECONDS=0, on a fresh database "
        "(`seatkeeper db upgrade`; accounts, users, Flows and keys through seatkeeper's "
        "services; bulk rows by SQLAlchemy Core executemany inserts into its tables).",
        f"Load: Debian's wrk with the Lua scripts in bench/lua. The server is pinned to CPU "
        f"{wrk.SERVER_CORE} (`taskset -c {wrk.SERVER_CORE}`), wrk to CPU {wrk.CLIENT_CORE} "
        f"(`taskset -c {wrk.CLIENT_CORE} wrk -t1 ...`; `-tN -cN` where each client keeps its "
        "own state in its thread's Lua), so the two do not compete; PostgreSQL's own "
        "processes are not pinned and share both cores.",
        f"Throughput: {sizes.seconds} s runs after a {sizes.warmup} s warm-up, 64 connections "
        "unless said. Latency: one connection, one request after another, "
        f"{sizes.latency_seconds} s (longer when a request is slow), after one request timed "
        "alone (the cold one, measured by the harness in Python).",
        "Each benchmark measures its baseline (the same server answering GET /healthz, or for "
        "memory an idle server) right before its figures; ratio = figure / baseline for "
        "throughput and memory, p95 / baseline p95 for latency.",
        f"Sizes: {sizes.sessions:,} open sessions for the agent API; grid "
        f"{sizes.grid_sessions:,} sessions and {sizes.grid_interactions:,} Interactions, then "
        f"{sizes.grid_large_sessions:,} and {sizes.grid_large_interactions:,}; usage "
        f"{sizes.days} days x {sizes.usage_per_day:,} a day on one account and "
        f"{sizes.small_accounts} accounts x {sizes.small_per_day:,} a day; the storm "
        f"{sizes.storm_agents:,} agents on as many licenses, then {sizes.storm_refused:,} more "
        "(its argon2id columns with the server's real password hashing); usage over any "
        f"period {reports.MONTHS} months of one account at {sizes.usage_per_day:,} a day, "
        f"{sizes.report_agents:,} agents (session rows for the last {reports.RAW_DAYS} days); "
        f"the database's growth from a month of {sizes.growth_agents:,} agents.",
    ]


def summary(report: Report, seconds: float) -> None:
    report.timings.append(("all", "the whole run", seconds))
    report.machine.append(("load average at the end", load_average()))
    report.write()
    print(f"\nDone in {seconds / 60:.1f} min; wrote {report.path}.")
    missed = [t for t in report.targets if not t.met]
    print(f"Targets: {len(report.targets) - len(missed)} met, {len(missed)} missed.")
    for t in missed:
        print(f"  missed: {t.backend}: {t.figure}: {t.goal}, measured {t.measured}")
    for failure in report.failures:
        print(f"  FAILURE: {failure}")


if __name__ == "__main__":
    sys.exit(main())
