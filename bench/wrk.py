"""Running Debian's wrk, pinned to its own core, and reading the line our Lua prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"
SERVER_CORE = 0
CLIENT_CORE = 1
MARKER = "BENCH_RESULT "


def pinned(core: int, command: Sequence[str]) -> list[str]:
    """`command` pinned to one core with taskset (unpinned on a one-core machine)."""
    if (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        return list(command)
    return ["taskset", "-c", str(core), *command]


def ensure_installed() -> str:
    """wrk's version line; installs Debian's package when missing, or exits saying why."""
    if shutil.which("wrk") is None:
        if os.geteuid() != 0:
            sys.exit("bench needs Debian's wrk: run `apt-get install -y wrk` as root, then again.")
        print("Installing wrk (apt-get install -y wrk) ...", flush=True)
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "wrk"]):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"bench needs wrk and `{' '.join(command)}` failed:\n{done.stderr}")
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].split(" Copyright")[0].strip()


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency (ms), statuses and the script's own counters."""

    requests: int
    seconds: float
    p50: float
    p95: float
    p99: float
    max: float
    statuses: dict[int, int]
    counters: dict[str, int]
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def count(self, *codes: int) -> int:
        return sum(self.statuses.get(code, 0) for code in codes)

    def unexpected(self, expected: Sequence[int] = ()) -> int:
        """Responses that are neither 2xx nor one of `expected`, plus socket errors."""
        odd = sum(
            n for code, n in self.statuses.items() if not 200 <= code < 300 and code not in expected
        )
        return odd + sum(self.socket_errors.values())


def run(
    url: str,
    script: str,
    *,
    args: Sequence[str] = (),
    threads: int = 1,
    connections: int = 64,
    seconds: int = 10,
    timeout: int = 60,
) -> WrkResult:
    """Run wrk against `url` with bench/lua/`script` for `seconds`; raise if it fails."""
    command = pinned(
        CLIENT_CORE,
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={timeout}s",
            "--latency",
            "-s",
            str(LUA / script),
            url,
            "--",
            *args,
        ],
    )
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(lines[-1][len(MARKER) :])
    errors = {k: int(v) for k, v in raw["errors"].items() if k != "status" and v}
    return WrkResult(
        requests=int(raw["requests"]),
        seconds=raw["duration_us"] / 1e6,
        p50=raw["p50_us"] / 1000,
        p95=raw["p95_us"] / 1000,
        p99=raw["p99_us"] / 1000,
        max=raw["max_us"] / 1000,
        statuses={int(k): int(v) for k, v in raw["statuses"].items()},
        counters={k: int(v) for k, v in raw["counters"].items()},
        socket_errors=errors,
    )
