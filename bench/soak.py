"""`python -m bench.soak`: simulated agents against one server for a set time (10 minutes by
default), on SQLite and, when it answers, PostgreSQL.

It reports the requests served, the errors (anything but an expected answer: must be
zero), the seats over-allocated (computed afterwards from the session rows: must be zero)
and the server's memory at the start, along the run and at the end (it must not keep
growing). It exits non-zero when any of these fails. The suite runs a 30-second version
(tests/test_soak.py) through `soak()`.

It is not one of `python -m bench`'s benchmarks: those print figures against a baseline,
this one is a pass/fail endurance run whose length would dwarf them.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bench import seed
from bench.__main__ import backends
from bench.backends import Backend
from bench.report import Table, fmt, load_average
from bench.server import Memory, Server, serve
from seatkeeper.client import Client, LicenseLimitReached, SeatkeeperError, Session, SessionExpired
from seatkeeper.demo.simulation import Simulation, SimulationStats
from seatkeeper.domain.model import Role, SettingsChange
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.settings import change_settings
from seatkeeper.services.users import add_user
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions

DEFAULT_MINUTES = 10.0
DEFAULT_AGENTS = 40
DEFAULT_SPEED = 30.0  # people's pauses / 30: a step every 0.1 s, heartbeats 0.7 s apart
SLUG = "soak"
AGENT_PASSWORD = "soak-agent-password"
# Short, so that abandoned sessions time out within a 2-minute run; over a minute, so that
# heartbeats take the batched path (a session within services.heartbeats.MARGIN = 1 minute
# of its expiry is written at once) as they do under a real timeout of 30 minutes.
SESSION_TIMEOUT = timedelta(seconds=90)
SWEEP_SECONDS = 5  # the server's periodic sweep: timeouts, capacity alerts, kept usage days
TICK = 1.0  # the live check (the grid's count) runs once a tick
TERMINATE_EVERY = 10.0  # the admin reads the usage and terminates one session this often
ABANDON_EVERY = 20.0  # a Guest opens a session and walks away without logging out
# An abandoned session is called again once it is surely past its timeout and a sweep.
REVISIT_AFTER = SESSION_TIMEOUT.total_seconds() + 2 * SWEEP_SECONDS + 2
WARM_UP = 0.25  # the share of the run whose memory the growth verdict ignores
# Memory may grow by this much between the first and last thirds after the warm-up, or by
# GROWTH_SHARE, whichever is larger. On SQLite the server's RSS climbs by about 25 MiB over
# its first 10 to 15 minutes and then stays flat (a 20-minute run: 116.0 MiB at half time,
# 117.3 at the end) while its Python heap does not grow (tracemalloc): native memory,
# most likely each pooled connection's page cache (SQLite's default, 2 MiB) filling as the
# file grows. A 10-minute run can see up to about 15 MiB of that; a leak of 3 MiB a minute
# still fails it.
GROWTH_MIB = 16.0
GROWTH_SHARE = 0.15
KEPT_MESSAGES = 20
UNMEASURED = Memory(0.0, 0.0)
SERVER_LOG_ERROR = re.compile(r"^(ERROR|CRITICAL)\b|Traceback \(most recent call last\)")


@dataclass
class SoakResult:
    """What one soak saw; `problems` lists what failed (none when all went well)."""

    backend: str
    seconds: float
    agents: int
    guests: int
    licenses: int
    speed: float
    stats: SimulationStats = field(default_factory=SimulationStats)
    served: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # method, route, status
    own_errors: int = 0  # the soak's own calls (admin, abandoned sessions) answered wrongly
    log_errors: int = 0  # error lines and tracebacks in the server's log
    bad_timeouts: int = 0  # timed-out rows not ended at last activity + timeout
    messages: list[str] = field(default_factory=list)  # the first errors, to say what they were
    refusals: int = 0  # the abandoning Guest's; the agents' are in stats
    terminated: int = 0
    expired: int = 0  # abandoned sessions answered session_expired, as they should be
    timeouts: int = 0  # sessions the rows say ended by timeout
    sessions: int = 0  # session rows
    peak: int = 0  # the most sessions open at once, from the rows
    moments_over: int = 0  # session starts that took the account over its licenses
    live_checks: int = 0  # answers of the grid and the usage API checked during the run
    live_peak: int = 0  # the most open sessions they answered
    live_over: int = 0  # answers with more open sessions than licenses
    start: Memory = UNMEASURED  # after start, before the agents
    end: Memory = UNMEASURED  # after the agents stopped (VmHWM: the run's peak)
    samples: list[tuple[float, float]] = field(default_factory=list)  # seconds, VmRSS MiB
    server_cpu: float = 0.0  # CPU seconds the server used during the run
    usage_times: list[tuple[float, float]] = field(default_factory=list)  # at, seconds taken

    @property
    def requests(self) -> int:
        return sum(self.served.values())

    @property
    def unexpected(self) -> int:
        """Answers the server gave that no agent should get: 5xx, and 4xx other than a
        refused open (409) or a call for an ended session (410)."""
        return sum(n for key, n in self.served.items() if not _expected(*key))

    @property
    def errors(self) -> int:
        """Every error seen, on either side (one failure may count on both)."""
        seen = (self.stats.errors, self.own_errors, self.unexpected, self.log_errors)
        return sum(seen) + self.bad_timeouts

    @property
    def over_allocated(self) -> int:
        return max(0, self.peak - self.licenses, self.live_peak - self.licenses)

    @property
    def growth(self) -> tuple[float, float, float] | None:
        """Median VmRSS of the first and last thirds after the warm-up, and the allowed
        growth; None with too few samples to say."""
        trend = self.trend(self.samples)
        if trend is None:
            return None
        first, last, _ = trend
        return first, last, max(GROWTH_MIB, GROWTH_SHARE * first)

    def trend(self, points: list[tuple[float, float]]) -> tuple[float, float, float] | None:
        """Median of `points`' values in the first and last thirds after the warm-up,
        and the largest; None with too few to say."""
        kept = [value for at, value in points if at >= WARM_UP * self.seconds]
        if len(kept) < 6:
            return None
        third = len(kept) // 3
        return statistics.median(kept[:third]), statistics.median(kept[-third:]), max(kept)

    @property
    def problems(self) -> list[str]:
        found = []
        if self.errors:
            found.append(f"{self.errors} errors")
        if self.over_allocated or self.moments_over or self.live_over:
            found.append(
                f"over-allocated: {self.peak} sessions open at once from the rows, "
                f"{self.live_peak} live, for {self.licenses} licenses"
            )
        growth = self.growth
        if growth is not None and growth[1] - growth[0] > growth[2]:
            found.append(
                f"memory grew from {growth[0]:.1f} to {growth[1]:.1f} MiB "
                f"(more than {growth[2]:.1f} MiB)"
            )
        return found


def _expected(method: str, route: str, status: str) -> bool:
    code = int(status)
    if code < 400:
        return True
    if code == 409:
        return method == "POST" and route == "/api/v1/sessions"
    return code == 410 and route.startswith("/api/v1/sessions/")


def soak(
    database_url: str,
    *,
    seconds: float,
    agents: int = DEFAULT_AGENTS,
    licenses: int | None = None,
    speed: float = DEFAULT_SPEED,
    pin: bool = False,
    workdir: Path | None = None,
    seed_value: int = 1,
    until: Callable[[SoakResult], bool] | None = None,
    deadline: float = 0.0,
) -> SoakResult:
    """Run simulated agents against one server on a migrated, empty database for `seconds`.

    With `until`, the run goes on after `seconds` until `until(result)` holds, `result`
    counting the work done so far (requests served, the agents' stats, live checks), for
    at most `deadline` seconds in all: the suite's version runs until it has done enough,
    however busy the machine is.
    """
    guests = agents // 4
    licenses = licenses if licenses is not None else max(1, agents * 2 // 3)
    account, people = _provision(database_url, browsers=agents - guests, licenses=licenses)
    backend = make_url(database_url).get_backend_name()
    result = SoakResult(backend, seconds, agents, guests, licenses, speed)
    with tempfile.TemporaryDirectory(prefix="seatkeeper-soak-") as tmp, _messages(result):
        log = (workdir or Path(tmp)) / "soak-server.log"
        sweeping = {"SEATKEEPER_SWEEP_SECONDS": str(SWEEP_SECONDS)}
        with serve(database_url, log, env=sweeping, pin=pin) as server:
            result.start = server.memory()
            before = _served(server)
            cpu_before = _cpu_seconds(server)
            simulation = Simulation(
                server.url, account.application_key, agents=people, guests=guests,
                seed=seed_value, speed=speed,
            )  # fmt: skip
            admin = _Admin(server, account, result, random.Random(seed_value))

            def done() -> bool:
                if until is None:
                    return True
                result.stats = simulation.stats
                result.served = _served(server) - before
                del result.served[("GET", "/metrics", "200")]
                return until(result)

            began = time.monotonic()
            simulation.start()
            try:
                _run(server, admin, result, began=began, done=done, deadline=deadline)
            finally:
                simulation.stop(timeout=15)
                admin.close()
            result.seconds = time.monotonic() - began
            server.check_alive()
            result.end = server.memory()
            result.stats = simulation.stats
            result.server_cpu = _cpu_seconds(server) - cpu_before
            result.served = _served(server) - before
            del result.served[("GET", "/metrics", "200")]  # the harness's, not the run's
        result.log_errors = _log_errors(log, result)
    _read_rows(database_url, account, result)
    return result


def _run(
    server: Server,
    admin: _Admin,
    result: SoakResult,
    *,
    began: float,
    done: Callable[[], bool],
    deadline: float,
) -> None:
    """Until the time is up and then until `done()` (or `deadline` seconds have passed):
    memory samples, live checks, terminations, abandoned sessions."""
    every = min(10.0, max(1.0, result.seconds / 100))  # about a hundred memory samples
    next_sample = began
    end, last = began + result.seconds, began + deadline
    while (now := time.monotonic()) < end or (now < last and not done()):
        if now >= next_sample:
            result.samples.append((now - began, server.memory().rss))
            next_sample = now + every
        admin.tick(now - began)
        server.check_alive()
        time.sleep(TICK if now >= end else max(0.0, min(TICK, end - time.monotonic())))


class _Admin:
    """The account admin's side of the run, and a Guest who walks away from sessions."""

    def __init__(
        self, server: Server, account: seed.Account, result: SoakResult, rng: random.Random
    ) -> None:
        self.result = result
        self.rng = rng
        self.base = f"/api/v1/accounts/{account.slug}"
        headers = {"Authorization": f"Bearer {account.admin_token}"}
        self.http = httpx.Client(base_url=server.url, headers=headers, timeout=10)
        self.guest = Client(server.url, account.application_key, timeout=10)
        self.abandoned: list[tuple[float, Session]] = []
        self.next_terminate = self.next_abandon = TERMINATE_EVERY / 2

    def close(self) -> None:
        self.http.close()
        self.guest.close()

    def error(self, text: str) -> None:
        self.result.own_errors += 1
        _keep(self.result, text)

    def tick(self, elapsed: float) -> None:
        try:
            grid = self.check_grid()
            if elapsed >= self.next_terminate:
                self.next_terminate += TERMINATE_EVERY
                self.check_usage(elapsed)
                self.terminate_one(grid)
            # Right after a termination frees a seat, before an agent's retry takes it:
            # with the pool full, a Guest trying at any other moment is nearly always refused.
            if elapsed >= self.next_abandon:
                self.abandon_one(elapsed)
            while self.abandoned and self.abandoned[0][0] <= elapsed:
                self.revisit(self.abandoned.pop(0)[1])
        except (httpx.HTTPError, SeatkeeperError, KeyError, ValueError) as exc:
            self.error(f"at {elapsed:.0f} s: {type(exc).__name__}: {exc}")

    def get(self, path: str) -> Any:
        try:
            response = self.http.get(self.base + path)
        except httpx.HTTPError as exc:
            raise ValueError(f"GET {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise ValueError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
        return response.json()

    def check_grid(self) -> Any:
        """The live check, every tick: never more sessions open than licenses."""
        grid = self.get("/active-sessions?per_page=500")
        self.result.live_checks += 1
        self.result.live_peak = max(self.result.live_peak, grid["count"])
        if grid["count"] > self.result.licenses:
            self.result.live_over += 1
            _keep(self.result, f"the grid listed {grid['count']} open sessions")
        return grid

    def check_usage(self, elapsed: float) -> None:
        """The usage figures, now and then (they cost far more than the grid), timed:
        licenses in use never above the total."""
        began = time.monotonic()
        usage = self.get("/usage")
        self.result.usage_times.append((elapsed, time.monotonic() - began))
        self.result.live_checks += 1
        self.result.live_peak = max(self.result.live_peak, usage["current"])
        if usage["current"] > usage["total"] or usage["total"] != self.result.licenses:
            self.result.live_over += 1
            _keep(self.result, f"usage answered {usage['current']} / {usage['total']}")

    def terminate_one(self, grid: Any) -> None:
        """Terminate one agent's session (never an abandoned one: those must time out)."""
        mine = {s.session_id for _, s in self.abandoned}
        ids = [row["session_id"] for row in grid["sessions"] if row["session_id"] not in mine]
        if not ids:
            return
        chosen = self.rng.choice(ids)
        try:
            response = self.http.post(
                self.base + "/active-sessions/terminate", json={"session_ids": [chosen]}
            )
        except httpx.HTTPError as exc:
            raise ValueError(f"terminate: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            self.error(f"terminate answered {response.status_code}: {response.text[:200]}")
            return
        self.result.terminated += response.json()["terminated"]

    def abandon_one(self, elapsed: float) -> None:
        """Open a Guest session, open a Flow in it, and never call again until it is over."""
        try:
            session = self.guest.open_session()
        except LicenseLimitReached:
            self.result.refusals += 1
            self.next_abandon = elapsed + TICK  # try again in a moment
            return
        session.open_interaction(sorted(seed.FLOWS)[0])
        self.abandoned.append((elapsed + REVISIT_AFTER, session))
        self.next_abandon = elapsed + ABANDON_EVERY

    def revisit(self, session: Session) -> None:
        """A call for an abandoned session, past its timeout: it must answer session_expired."""
        try:
            session.heartbeat()
        except SessionExpired:
            self.result.expired += 1
            return
        except SeatkeeperError as exc:
            self.error(f"an abandoned session answered {exc.status} {exc.code}, not expired")
            return
        self.error(f"an abandoned session was still open {REVISIT_AFTER:.0f} s after its last call")


def _provision(
    url: str, *, browsers: int, licenses: int
) -> tuple[seed.Account, list[tuple[str, str]]]:
    """The account (its Flows, admin, keys; the shortest timeout) and the logged-in
    agents' credentials, one a browser: a tenth of the agents work in two browsers,
    so they join their open session rather than take a second license."""
    account = seed.provision(url, SLUG, licenses=licenses)
    now = datetime.now(UTC)
    twins = browsers // 10
    users = [f"agent-{n:03d}" for n in range(1, browsers - twins + 1)]
    db = Database(url)
    try:
        change_settings(
            db, OPERATOR, SLUG, SettingsChange(session_timeout=SESSION_TIMEOUT), now=now
        )
        passwords = Passwords(fast=True)
        for name in users:
            add_user(
                db,
                passwords,
                OPERATOR,
                SLUG,
                username=name,
                password=AGENT_PASSWORD,
                role=Role.AGENT,
                now=now,
            )
    finally:
        db.dispose()
    return account, [(name, AGENT_PASSWORD) for name in [*users, *users[:twins]]]


def _served(server: Server) -> Counter[tuple[str, str, str]]:
    """Requests the server answered so far by method, route and status, from /metrics."""
    response = httpx.get(server.url + "/metrics", timeout=30)
    response.raise_for_status()
    counts: Counter[tuple[str, str, str]] = Counter()
    for family in text_string_to_metric_families(response.text):
        if family.name != "seatkeeper_request_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_count"):
                labels = sample.labels
                counts[(labels["method"], labels["route"], labels["status"])] += int(sample.value)
    return counts


def _cpu_seconds(server: Server) -> float:
    """The server's user + system CPU time so far, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{server.process.pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _keep(result: SoakResult, message: str) -> None:
    if len(result.messages) < KEPT_MESSAGES:
        result.messages.append(message)


class _Kept(logging.Handler):
    """The simulated agents' warnings (each one an error they counted), to say what they were."""

    def __init__(self, result: SoakResult) -> None:
        super().__init__(logging.WARNING)
        self.result = result

    def emit(self, record: logging.LogRecord) -> None:
        _keep(self.result, f"agent {record.getMessage()}")


@contextmanager
def _messages(result: SoakResult) -> Iterator[None]:
    handler = _Kept(result)
    logger = logging.getLogger("seatkeeper.demo.simulation")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _log_errors(log: Path, result: SoakResult) -> int:
    """Error lines and tracebacks in the server's log: failures no client may have seen
    (a sweep that failed, a webhook sender that crashed)."""
    found = [line for line in log.read_text(errors="replace").splitlines()
             if SERVER_LOG_ERROR.search(line)]  # fmt: skip
    for line in found:
        _keep(result, f"server log: {line}")
    return len(found)


def _read_rows(url: str, account: seed.Account, result: SoakResult) -> None:
    """Over-allocation and timeouts as the session rows record them, after the run."""
    s = agent_sessions.c
    db = Database(url)
    try:
        with db.read() as conn:
            rows = conn.execute(
                select(s.started_at, s.ended_at, s.expires_at, s.last_activity_at, s.end_reason)
                .where(s.account_id == account.id)
            ).all()  # fmt: skip
    finally:
        db.dispose()
    now = datetime.now(UTC)
    spans: list[tuple[datetime, datetime | None]] = []
    for started, ended, expires, last_activity, reason in rows:
        if reason == "timeout":
            result.timeouts += 1
            if ended != last_activity + SESSION_TIMEOUT:
                result.bad_timeouts += 1
                _keep(result, f"a timeout ended at {ended}, last activity {last_activity}")
        # An open session past its expiry, not swept yet, ended at its expiry.
        spans.append((started, ended or (expires if expires <= now else None)))
    result.sessions = len(rows)
    result.peak, result.moments_over = peak(spans, result.licenses)


def peak(spans: Sequence[tuple[datetime, datetime | None]], licenses: int) -> tuple[int, int]:
    """The most spans open at once, and how many starts took the count over `licenses`.

    A span is [start, end): a seat freed at an instant is free for a start at that
    instant, so at equal times ends count before starts. An end of None is still open.
    """
    events = [(start, 1) for start, _ in spans]
    events += [(end, -1) for _, end in spans if end is not None]
    events.sort()
    now_open = most = over = 0
    for _at, step in events:
        now_open += step
        most = max(most, now_open)
        over += step > 0 and now_open > licenses
    return most, over


def report(result: SoakResult, label: str) -> None:
    """The run's figures as a table, then what went wrong, if anything."""
    s = result.stats
    table = Table(
        f"Soak on {label}: {result.seconds:.0f} s, {result.agents} agents "
        f"({result.guests} Guests), {result.licenses} licenses, speed {result.speed:g}",
        ("figure", "value"),
        first_width=56,
    )
    table.start()
    growth = result.growth
    rows = [
        ("requests served", fmt(result.requests)),
        ("  per second", fmt(result.requests / result.seconds)),
        ("  server CPU, % of one core", fmt(100 * result.server_cpu / result.seconds, 0)),
        ("  sessions opened by the agents", fmt(s.sessions)),
        ("  Interactions opened", fmt(s.interactions)),
        ("  steps", fmt(s.steps)),
        ("  heartbeats", fmt(s.heartbeats)),
        ("  logouts", fmt(s.logouts)),
        ("refusals (409 license_limit_reached)", fmt(s.license_refusals + result.refusals)),
        ("agents told their session had ended (410)", fmt(s.sessions_ended_by_server)),
        ("  terminated by the admin", fmt(result.terminated)),
        ("  abandoned ones answering session_expired", fmt(result.expired)),
        ("  rows ended by timeout", fmt(result.timeouts)),
        ("errors (must be 0)", fmt(result.errors)),
        ("  seen by the agents", fmt(s.errors)),
        ("  seen by the admin and the abandoning Guest", fmt(result.own_errors)),
        ("  unexpected statuses served (/metrics)", fmt(result.unexpected)),
        ("  errors in the server log", fmt(result.log_errors)),
        ("  timeouts not ended at last activity + timeout", fmt(result.bad_timeouts)),
        ("seats over-allocated (must be 0)", fmt(result.over_allocated)),
        ("  most sessions open at once, from the rows", f"{result.peak} / {result.licenses}"),
        ("  session rows", fmt(result.sessions)),
        ("  live checks (grid and usage APIs)", fmt(result.live_checks)),
        ("  most open sessions they answered", f"{result.live_peak} / {result.licenses}"),
        ("memory VmRSS at start, MiB", fmt(result.start.rss)),
        ("memory VmRSS at the end, MiB", fmt(result.end.rss)),
        ("memory VmHWM (peak), MiB", fmt(result.end.hwm)),
        ("memory growth after warm-up, MiB", fmt(growth[1] - growth[0]) if growth else "-"),
    ]
    for row in rows:
        table.add(*row)
    usage = result.trend(result.usage_times)
    if usage is not None:
        table.note(
            f"GET usage took {usage[0]:.2f} s (median) in the first third after the warm-up, "
            f"{usage[1]:.2f} s in the last third, {usage[2]:.2f} s at most"
        )
    if result.samples:
        table.note(f"VmRSS MiB at each tenth of the run: {_tenths(result)}")
    if growth is None:
        table.note("too few memory samples for a growth verdict")
    else:
        verdict = "ok" if growth[1] - growth[0] <= growth[2] else "GROWING"
        table.note(
            f"memory: median VmRSS {growth[0]:.1f} MiB in the first third after the "
            f"{WARM_UP:.0%} warm-up, {growth[1]:.1f} MiB in the last third; allowed growth "
            f"{growth[2]:.1f} MiB (the larger of {GROWTH_MIB:g} MiB and {GROWTH_SHARE:.0%}): "
            f"{verdict}"
        )
    routes = Table("Requests by route", ("request", "2xx", "409", "410", "other"), 72)
    routes.start()
    by_route: dict[str, Counter[str]] = {}
    for (method, route, status), n in sorted(result.served.items()):
        kind = status if status in ("409", "410") else "2xx" if status < "300" else "other"
        by_route.setdefault(f"{method} {route}", Counter())[kind] += n
    for name, counts in by_route.items():
        routes.add(name, *(fmt(counts[k]) for k in ("2xx", "409", "410", "other")))
    for message in result.messages:
        print(f"   {message}")
    print(f"   verdict: {'; '.join(result.problems) or 'passed'}", flush=True)


def _tenths(result: SoakResult) -> str:
    """The memory samples nearest to 0 %, 10 % ... 100 % of the run: its shape at a glance."""
    picks = []
    for tenth in range(11):
        at = tenth * result.seconds / 10
        picks.append(min(result.samples, key=lambda sample: abs(sample[0] - at))[1])
    return " ".join(f"{rss:.1f}" for rss in picks)


@contextmanager
def _database(backend: Backend) -> Iterator[str]:
    """An empty database of the soak's own: on PostgreSQL not `python -m bench`'s, which
    its `fresh()` drops and which a benchmark run beside this one may be using."""
    if backend.server_url is None:
        yield backend.fresh("soak")
        return
    name = f"seatkeeper_soak_{os.getpid()}"
    engine = create_engine(backend.server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield make_url(backend.server_url).set(database=name).render_as_string(False)
        finally:
            with engine.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        engine.dispose()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description="Simulated agents against one server for a set time; fails on any error, "
        "any over-allocated seat, or memory that keeps growing.",
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument(
        "--minutes", type=float, default=DEFAULT_MINUTES, help="how long (default 10)"
    )
    length.add_argument("--seconds", type=float, help="how long, in seconds instead")
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql"],
        help="one backend only (default: SQLite, and PostgreSQL when it answers)",
    )
    parser.add_argument(
        "--agents", type=int, default=DEFAULT_AGENTS, help=f"simulated agents ({DEFAULT_AGENTS})"
    )
    parser.add_argument("--licenses", type=int, help="the account's licenses (2/3 of the agents)")
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help=f"how much faster than people the agents work ({DEFAULT_SPEED:g})",
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin the server to its core (CPU 0)"
    )
    args = parser.parse_args(argv)
    if args.agents < 2:
        parser.error("--agents: at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every request at INFO
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="seatkeeper-soak-") as tmp:
        found = backends(args.backend, Path(tmp))
        if isinstance(found, str):
            print(found, file=sys.stderr)
            return 2
        for backend in found[0]:
            label = f"{backend.label} {backend.version}"
            print(f"\n#### {label}: soaking for {seconds:.0f} s (load {load_average()})")
            try:
                with _database(backend) as url:
                    seed.new_database(url)
                    result = soak(
                        url,
                        seconds=seconds,
                        agents=args.agents,
                        licenses=args.licenses,
                        speed=args.speed,
                        pin=not args.no_pin,
                        workdir=Path(tmp),
                    )
            except Exception as exc:  # the other backend still runs
                logging.exception("The soak on %s did not finish", label)
                failed.append(f"{label}: did not finish: {exc}".splitlines()[0])
                continue
            report(result, label)
            failed += [f"{label}: {problem}" for problem in result.problems]
    print(f"\nLoad average at the end: {load_average()}")
    for failure in failed:
        print(f"FAILED: {failure}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
