"""6. Login flood: the admin API while strangers guess passwords at the login form.

Waves of 80 wrong logins with random usernames, 40 at once, against a server that hashes
passwords for real (argon2id, not the cheap test parameters), from one address and from
many (X-Forwarded-For set by a proxy the server is told to trust). Meanwhile one admin
calls the usage API one call after another; its p95 is compared with the same calls on
the idle server just before, and the server's peak memory (VmHWM) is read at the end.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from bench import seed
from bench.common import Context
from bench.report import Table, Target, fmt, ratio
from bench.server import Server, serve
from bench.wrk import CLIENT_CORE

NAME = "flood"
TITLE = "6. Login flood: waves of 80 wrong logins with random usernames, 40 at once"
WAVE = 80
CONCURRENCY = 40
IDLE_CALLS = 100  # admin calls timed on the idle server
SAMPLES = 50  # admin calls timed during the flood, at least (waves go on until then)
MOST_SECONDS = 60  # ... unless the flood has lasted this long (one wave at least)
RATIO_TARGET = 10.0
MEMORY_TARGET = 200.0  # MiB
PROXY = "127.0.0.1"  # the harness, named as a trusted proxy in the second scenario
REAL_HASHING = {"SEATKEEPER_FAST_PASSWORD_HASHING": "false"}
COLUMNS = (
    "figure",
    "logins",
    "admin n",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "base p95",
    "ratio",
    "peak MiB",
)


@dataclass(frozen=True)
class Scenario:
    label: str
    env: dict[str, str]
    forwarded: bool  # each login from its own address, through the named proxy


SCENARIOS = (
    Scenario("from one address", {}, forwarded=False),
    Scenario(
        "from many addresses (X-Forwarded-For, named proxy)",
        {"SEATKEEPER_FORWARDED_ALLOW_IPS": PROXY},
        forwarded=True,
    ),
)


@dataclass(frozen=True)
class Flooded:
    """What one flood did: the logins' answers, and the admin's call times meanwhile."""

    answers: Counter[int]
    seconds: float
    waves: int
    admin: list[float]  # seconds


def run(ctx: Context) -> None:
    table = ctx.table(TITLE, COLUMNS, first_width=52)
    for n, scenario in enumerate(SCENARIOS, start=1):
        _scenario(ctx, table, scenario, f"{NAME}-{n}")
    table.note(
        f"each scenario: its own fresh database and server (SEATKEEPER_FAST_PASSWORD_HASHING="
        f"false: argon2id as in production); admin: one connection, GET /api/v1/accounts/"
        f"ACCOUNT/usage one call after another, {IDLE_CALLS} calls on the idle server, then "
        f"during waves of {WAVE} POST /login (random username and password, the CSRF cookie "
        f"and token of one browser) at concurrency {CONCURRENCY}, repeated until the admin "
        f"made {SAMPLES} calls or {MOST_SECONDS} s passed; harness threads on CPU {CLIENT_CORE}"
    )
    table.note("peak MiB: the server's VmHWM at the end; ratio: p95 / the idle p95")


def _scenario(ctx: Context, table: Table, scenario: Scenario, name: str) -> None:
    url = ctx.backend.fresh(name)
    seed.new_database(url)
    account = seed.provision(url, "flood", licenses=25)
    admin_path = f"/api/v1/accounts/{account.slug}/usage"
    headers = {"Authorization": f"Bearer {account.admin_token}"}
    with serve(url, ctx.workdir / f"{name}.log", env={**REAL_HASHING, **scenario.env}) as server:
        ctx.remember(f"{name}: after start", server)
        with _on_client_core():
            idle = _admin_calls(server, admin_path, headers, lambda n: n >= IDLE_CALLS)
            flooded = _flood(server, account.slug, admin_path, headers, scenario.forwarded)
        server.check_alive()
        peak = ctx.remember(f"{name}: after the flood (VmHWM: its peak)", server).hwm
    base = _p(idle, 95)
    table.add(f"GET usage, idle ({scenario.label})", "-", *_times(idle), "-", "-", "-")
    during = _p(flooded.admin, 95)
    table.add(
        f"GET usage, during the flood {scenario.label}",
        fmt(sum(flooded.answers.values())),
        *_times(flooded.admin),
        fmt(base, 2),
        ratio(during, base),
        fmt(peak),
    )
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(flooded.answers.items()))
    table.note(
        f"{scenario.label}: {flooded.waves} wave(s) in {flooded.seconds:.1f} s "
        f"({sum(flooded.answers.values()) / flooded.seconds:,.0f} logins/s); answers {statuses}"
    )
    label = f"admin p95 during the flood {scenario.label}"
    measured = f"{ratio(during, base)} ({fmt(during, 1)} / {fmt(base, 1)} ms)"
    met = bool(base) and during < RATIO_TARGET * base
    ctx.report.target(
        Target(ctx.backend.label, TITLE, label, f"< {RATIO_TARGET:.0f}x idle", measured, met)
    )
    ctx.report.target(
        Target(
            ctx.backend.label,
            TITLE,
            f"server peak memory, flood {scenario.label}",
            f"< {MEMORY_TARGET:.0f} MiB",
            f"{peak:.1f} MiB",
            peak < MEMORY_TARGET,
        )
    )


def _flood(
    server: Server, account: str, admin_path: str, headers: dict[str, str], forwarded: bool
) -> Flooded:
    """Waves of wrong logins in a thread, the admin's calls here, until enough were timed."""
    answers: Counter[int] = Counter()
    done = threading.Event()
    timed = 0  # the admin's calls so far
    waves = 0

    def enough(calls: int) -> bool:
        nonlocal timed
        timed = calls
        return done.is_set()

    def flood() -> None:
        nonlocal waves
        began = time.monotonic()
        try:
            with _login_client(server) as (client, form):
                while True:
                    answers.update(_wave(client, form, account, forwarded))
                    waves += 1
                    if timed >= SAMPLES or time.monotonic() - began > MOST_SECONDS:
                        return
        finally:
            done.set()

    began = time.monotonic()
    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    times = _admin_calls(server, admin_path, headers, enough)
    flooder.join()
    return Flooded(answers, time.monotonic() - began, waves, times)


def _wave(
    client: httpx.Client, form: dict[str, str], account: str, forwarded: bool
) -> Counter[int]:
    def attempt(_: int) -> int:
        data = {
            **form,
            "account": account,
            "username": f"guess-{secrets.token_hex(6)}",
            "password": secrets.token_urlsafe(12),
        }
        extra = {"X-Forwarded-For": _random_address()} if forwarded else {}
        try:
            return client.post("/login", data=data, headers=extra).status_code
        except httpx.TransportError:
            return 0  # no answer at all

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return Counter(pool.map(attempt, range(WAVE)))


@contextmanager
def _login_client(server: Server) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """A client of the login form: one browser's CSRF cookie, and its form's token."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    with httpx.Client(base_url=server.url, timeout=300, limits=limits) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if token is None:
            raise RuntimeError(f"no CSRF token on the login form ({page.status_code})")
        yield client, {"csrf_token": token.group(1), "next": ""}


def _admin_calls(
    server: Server, path: str, headers: dict[str, str], enough: Callable[[int], bool]
) -> list[float]:
    """The admin's calls one after another until `enough(count)`; each call's seconds
    (in the list returned, which fills as they go)."""
    times: list[float] = []
    with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
        client.get(path).raise_for_status()  # the connection, and the account's days kept
        while not enough(len(times)):
            began = time.perf_counter()
            client.get(path).raise_for_status()
            times.append(time.perf_counter() - began)
    return times


def _random_address() -> str:
    """A client somewhere on the Internet's benchmarking network (198.18.0.0/15)."""
    return f"198.{random.randint(18, 19)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def _p(seconds: list[float], percent: int) -> float:
    """A percentile, in milliseconds."""
    if len(seconds) < 2:
        return seconds[0] * 1000 if seconds else 0.0
    return statistics.quantiles(seconds, n=100, method="inclusive")[percent - 1] * 1000


def _times(seconds: list[float]) -> tuple[str, ...]:
    return (fmt(len(seconds)), *(fmt(_p(seconds, q), 2) for q in (50, 95, 99)))


@contextmanager
def _on_client_core() -> Iterator[None]:
    """The harness's threads on the client's core, away from the server's."""
    before = os.sched_getaffinity(0)
    if len(before) > 1 and CLIENT_CORE in before:
        os.sched_setaffinity(0, {CLIENT_CORE})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
