"""Tables printed as they fill, the machine they ran on, and bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"  # a full run's
PARTIAL = Path(__file__).resolve().parent / "out" / "RESULTS.md"  # --quick, --only, --backend
WIDTH = 11


def fmt(value: float | int | str | None, digits: int = 1) -> str:
    """A figure as printed: thousands separated, a dash for none."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def ratio(value: float | None, baseline: float | None) -> str:
    if value is None or not baseline:
        return "-"
    return f"{value / baseline:.2f}x"


@dataclass
class Target:
    """A goal from the issue and whether this run met it."""

    backend: str
    benchmark: str
    figure: str
    goal: str
    measured: str
    met: bool


@dataclass
class Table:
    """One benchmark's figures on one backend; rows print as they are added."""

    title: str
    columns: Sequence[str]
    first_width: int = 40
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def start(self) -> None:
        print(f"\n== {self.title}", flush=True)
        self._print(list(self.columns))

    def add(self, *cells: str) -> None:
        row = list(cells) + [""] * (len(self.columns) - len(cells))
        self.rows.append(row)
        self._print(row)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"   note: {text}", flush=True)

    def _print(self, cells: list[str]) -> None:
        first, rest = cells[0], cells[1:]
        line = first.ljust(self.first_width) + "".join(c.rjust(WIDTH) for c in rest)
        print(line.rstrip(), flush=True)

    def markdown(self) -> str:
        def row(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        lines = [f"### {self.title}", "", row(self.columns)]
        lines.append("| " + " | ".join(["---"] + ["--:"] * (len(self.columns) - 1)) + " |")
        lines += [row(r) for r in self.rows]
        lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines).rstrip() + "\n"


@dataclass
class Report:
    """Everything one run measured, written to RESULTS.md after every benchmark."""

    command: str
    path: Path  # where it is written
    started: datetime
    machine: list[tuple[str, str]]
    method: list[str]
    sections: dict[str, list[Table]] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    timings: list[tuple[str, str, float]] = field(default_factory=list)

    def add(self, backend: str, table: Table) -> Table:
        self.sections.setdefault(backend, []).append(table)
        table.start()
        return table

    def target(self, target: Target) -> None:
        self.targets.append(target)
        print(
            f"   target {target.figure}: {target.goal}: {target.measured} "
            f"({'met' if target.met else 'MISSED'})",
            flush=True,
        )

    def fail(self, text: str) -> None:
        self.failures.append(text)
        print(f"   FAILURE: {text}", flush=True)

    def write(self) -> None:
        out = ["# seatkeeper benchmarks", ""]
        out.append(f"Run on {self.started:%Y-%m-%d %H:%M %Z} with `{self.command}`.")
        out += ["", "## Machine", "", "| what | |", "| --- | --- |"]
        out += [f"| {k} | {v} |" for k, v in self.machine]
        out += ["", "## Method", ""] + [f"- {m}" for m in self.method]
        out += [f"- Skipped: {s}" for s in self.skipped]
        for backend, tables in self.sections.items():
            out += ["", f"## {backend}", ""]
            out += [t.markdown() for t in tables]
        if self.targets:
            out += ["## Targets", "", "| backend | benchmark | figure | target | measured | |"]
            out.append("| --- | --- | --- | --- | --: | --- |")
            out += [
                f"| {t.backend} | {t.benchmark} | {t.figure} | {t.goal} | {t.measured} | "
                f"{'met' if t.met else '**missed**'} |"
                for t in self.targets
            ]
        if self.timings:
            out += ["", "## Run time", "", "| backend | benchmark | seconds |"]
            out.append("| --- | --- | --: |")
            out += [f"| {b} | {name} | {s:,.0f} |" for b, name, s in self.timings]
        out += ["", "## Failures", ""]
        out += [f"- {f}" for f in self.failures] or ["None: every expected answer was 2xx."]
        self.path.parent.mkdir(exist_ok=True)
        self.path.write_text("\n".join(out).rstrip() + "\n")


def machine(wrk_version: str, postgres_version: str | None) -> list[tuple[str, str]]:
    """What the figures were measured on."""
    cpu = _first(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown"
    memory = _first(Path("/proc/meminfo"), "MemTotal")
    gib = f"{int(memory.split()[0]) / 1024**2:.1f} GiB" if memory else "unknown"
    os_name = _first(Path("/etc/os-release"), "PRETTY_NAME", sep="=").strip('"')
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("RAM", gib),
        ("OS", f"{os_name or platform.system()}, Linux {platform.release()}"),
        ("Python", sys.version.split()[0]),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", postgres_version or "not used"),
        ("wrk", wrk_version),
        ("seatkeeper", _revision()),
        ("load average at the start", load_average()),
    ]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cores)"


def _first(path: Path, key: str, sep: str = ":") -> str:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(sep)
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return ""


def _revision() -> str:
    """The commit measured, and whether the work tree had changes on top of it."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown revision"
    changed = [line for line in git("status", "--porcelain", "--", "src").splitlines() if line]
    if not changed:
        return commit
    return f"{commit} with uncommitted changes to {len(changed)} files in src/"
