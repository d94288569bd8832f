"""10. Waiting in line: how soon a license freed reaches the agent first in line.

An account of 100 licenses, every one held; 200 agents wait in line, each following its
ticket with long polls (`GET /api/v1/waits/{id}?timeout=25`, again at once after each
answer, as an Agent Application does). Then sessions end at random, one logout over the
API every 20 to 50 ms, until every waiter is seated; for each license freed, the time
from the logout (its answer, and its request) to the 201 of the follow of the agent it
seated. On SQLite: one server process, then two on one file (waiters follow one, logouts
go through the other: the license frees on another instance than the one the waiter
follows, which hears of it through the change feed); on PostgreSQL the same. Baseline, on
the same servers: a plain open's and a plain logout's round trip. `tests/test_bench_line.py`
runs a small line through `wait_in_line` on each backend and checks only that every waiter
was seated, in order.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from sqlalchemy import create_engine, select

from bench import seed
from bench.common import Context
from bench.http1 import Connection
from bench.report import Target, fmt, ratio
from bench.server import serve
from bench.storm import on_client_core, percentile
from seatkeeper.storage.tables import waits

NAME = "line"
TITLE = "10. Waiting in line"
LICENSES = 100
WAITERS = 200
POLL_SECONDS = 25  # each follow's long poll, as the Python client asks
GAP_SECONDS = (0.020, 0.050)  # between one logout's answer and the next logout
PLAIN = 200  # plain opens and logouts for the baseline
TARGET_MS = 200.0  # p95, from a logout's answer to the seated waiter's 201
SETTLE_SECONDS = 1.0  # for the waiters' first long polls to reach the server
DEADLINE_SECONDS = 120.0  # the longest the seated wait for their 201s after the last logout
COLUMNS = ("figure", "count", "p50 ms", "p95 ms", "max ms", "base p95", "ratio")


@dataclass(frozen=True)
class Shape:
    """How large a line: licenses held, agents waiting, the pace of logouts."""

    licenses: int = LICENSES
    waiters: int = WAITERS
    gap: tuple[float, float] = GAP_SECONDS
    plain: int = PLAIN
    settle: float = SETTLE_SECONDS
    deadline: float = DEADLINE_SECONDS
    seed: int = 10


@dataclass
class LineRun:
    """What one line measured; times in seconds (perf_counter)."""

    after_answer: list[float] = field(default_factory=list)  # logout's answer -> 201
    after_request: list[float] = field(default_factory=list)  # logout's request -> 201
    logouts: list[float] = field(default_factory=list)  # each freeing logout's round trip
    plain_opens: list[float] = field(default_factory=list)
    plain_logouts: list[float] = field(default_factory=list)
    seated: list[int] = field(default_factory=list)  # waiters, in the order their 201 came
    follows: int = 0  # follow requests answered, 200 and 201
    unexpected: Counter[str] = field(default_factory=Counter)  # "what: status"


@dataclass
class _Waiter:
    number: int  # its place in line when it asked, from 0
    wait_id: int
    ticket: str
    seated_at: float | None = None  # when its 201 came
    session: tuple[str, str] | None = None  # (session_id, token) once seated


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


async def _open(conn: Connection, key: str, run: LineRun, *, wait: bool) -> object:
    body = json.dumps({"wait": True} if wait else {}).encode()
    answer = await conn.request("POST", "/api/v1/sessions", headers=_bearer(key), body=body)
    if answer.status != (202 if wait else 201):
        run.unexpected[f"open{' (wait)' if wait else ''}: {answer.status}"] += 1
        raise RuntimeError(f"an open answered {answer.status}: {answer.body[:200]!r}")
    return answer.json()


async def _log_out(conn: Connection, session: tuple[str, str], run: LineRun) -> None:
    session_id, token = session
    answer = await conn.request("DELETE", f"/api/v1/sessions/{session_id}", headers=_bearer(token))
    if answer.status != 204:
        run.unexpected[f"logout: {answer.status}"] += 1


async def _plain(opens: Connection, logouts: Connection, key: str, run: LineRun, n: int) -> None:
    """The baseline: `n` plain opens and logouts, one after another."""
    for _ in range(n):
        began = time.perf_counter()
        body = await _open(opens, key, run, wait=False)
        run.plain_opens.append(time.perf_counter() - began)
        assert isinstance(body, dict)
        began = time.perf_counter()
        await _log_out(logouts, (body["session_id"], body["token"]), run)
        run.plain_logouts.append(time.perf_counter() - began)


async def _follow(
    conn: Connection, waiter: _Waiter, run: LineRun, seated: asyncio.Queue[int]
) -> None:
    """Long polls until the 201 (or an answer that ends the place: counted as unexpected)."""
    path = f"/api/v1/waits/{waiter.wait_id}?timeout={POLL_SECONDS}"
    while True:
        answer = await conn.request("GET", path, headers=_bearer(waiter.ticket))
        run.follows += 1
        if answer.status == 200:
            continue
        if answer.status == 201:
            waiter.seated_at = time.perf_counter()
            body = answer.json()
            assert isinstance(body, dict)
            waiter.session = (body["session_id"], body["token"])
            run.seated.append(waiter.number)
            await seated.put(waiter.number)
        else:
            run.unexpected[f"follow: {answer.status}"] += 1
        return


async def wait_in_line(
    follow_url: str, logout_url: str, key: str, shape: Shape = Shape()
) -> LineRun:
    """The line on an account of `shape.licenses` (the key's): the baseline, the pool
    filled, the waiters in line and following through `follow_url`, then logouts through
    `logout_url` at random until every waiter is seated."""
    run, rng = LineRun(), random.Random(shape.seed)
    opens = await Connection.open(follow_url)
    logouts = await Connection.open(logout_url)
    await _plain(opens, logouts, key, run, shape.plain)
    held = []
    for _ in range(shape.licenses):
        body = await _open(logouts, key, run, wait=False)
        assert isinstance(body, dict)
        held.append((body["session_id"], body["token"]))
    line = []
    for number in range(shape.waiters):
        ticket = await _open(opens, key, run, wait=True)
        assert isinstance(ticket, dict)
        line.append(_Waiter(number, ticket["wait_id"], ticket["ticket"]))
    conns = await asyncio.gather(*(Connection.open(follow_url) for _ in line))
    seated: asyncio.Queue[int] = asyncio.Queue()
    following = [
        asyncio.create_task(_follow(c, w, run, seated)) for c, w in zip(conns, line, strict=True)
    ]
    await asyncio.sleep(shape.settle)
    await logouts.close()  # idle for a while: the server may have closed it (keep-alive)
    logouts = await Connection.open(logout_url)
    try:
        await _free(logouts, line, held, run, rng, shape, seated)
        await asyncio.wait_for(asyncio.gather(*following), shape.deadline)
    finally:
        for task in following:
            task.cancel()
        for conn in (opens, logouts, *conns):
            await conn.close()
    return run


async def _free(
    conn: Connection,
    line: Sequence[_Waiter],
    held: list[tuple[str, str]],
    run: LineRun,
    rng: random.Random,
    shape: Shape,
    seated: asyncio.Queue[int],
) -> None:
    """One logout of a session held (at random, the seated waiters' too) after another,
    `shape.gap` apart, each freeing the license of the next waiter in line."""
    sent: list[tuple[float, float]] = []
    for _ in line:
        # Seated waiters' sessions may end too (and must, once every other one has).
        while not seated.empty() or not held:
            session = line[await asyncio.wait_for(seated.get(), shape.deadline)].session
            assert session is not None
            held.append(session)
        session = held.pop(rng.randrange(len(held)))
        began = time.perf_counter()
        await _log_out(conn, session, run)
        answered = time.perf_counter()
        sent.append((began, answered))
        run.logouts.append(answered - began)
        await asyncio.sleep(rng.uniform(*shape.gap))
    deadline = time.monotonic() + shape.deadline
    while any(w.seated_at is None for w in line) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for (began, answered), waiter in zip(sent, line, strict=True):
        if waiter.seated_at is not None:  # the k-th logout frees the k-th waiter's license
            run.after_answer.append(waiter.seated_at - answered)
            run.after_request.append(waiter.seated_at - began)


def seated_in_order(database_url: str, account_id: int) -> tuple[int, bool]:
    """How many of the account's places were seated and taken, and whether each was given
    its license after every place that asked before it (first asked first)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(waits.c.outcome, waits.c.freed_at, waits.c.collected_at)
                .where(waits.c.account_id == account_id)
                .order_by(waits.c.id)
            ).all()
    finally:
        engine.dispose()
    taken = [r for r in rows if r.outcome == "seated" and r.collected_at is not None]
    freed = [r.freed_at for r in rows]
    ordered = None not in freed and all(a <= b for a, b in itertools.pairwise(freed))
    return len(taken), ordered and len(taken) == len(rows)


@dataclass(frozen=True)
class Setup:
    """One column: how many server processes, and through which the logouts go."""

    label: str
    instances: int  # 1: waiters and logouts on one process; 2: logouts through the other


SETUPS = {
    "sqlite": (Setup("one process", 1), Setup("two processes, one file", 2)),
    "postgresql": (Setup("one instance", 1), Setup("two instances", 2)),
}


@contextmanager
def servers(ctx: Context, url: str, count: int) -> Iterator[list[str]]:
    """`count` server processes on the database, each pinned to the server's core."""
    with ExitStack() as stack:
        yield [
            stack.enter_context(serve(url, ctx.workdir / f"{NAME}-{n}.log")).url
            for n in range(count)
        ]


def run(ctx: Context) -> None:
    for n, setup in enumerate(SETUPS[ctx.backend.name]):
        url = ctx.backend.fresh(NAME)
        seed.new_database(url)
        account = seed.provision(url, f"{NAME}-{n}", licenses=LICENSES)
        with servers(ctx, url, setup.instances) as urls, on_client_core():
            measured = asyncio.run(wait_in_line(urls[0], urls[-1], account.application_key))
        taken, ordered = seated_in_order(url, account.id)
        _table(ctx, setup, measured)
        _judge(ctx, setup, measured, taken, ordered)


def _table(ctx: Context, setup: Setup, r: LineRun) -> None:
    table = ctx.table(
        f"{TITLE}: {LICENSES} licenses held, {WAITERS} waiting; {ctx.backend.label}, {setup.label}",
        COLUMNS,
        first_width=56,
    )
    base = percentile(r.plain_opens, 95)

    def row(figure: str, values: list[float]) -> None:
        p95 = percentile(values, 95)
        table.add(
            figure,
            fmt(len(values)),
            fmt(percentile(values, 50), 1),
            fmt(p95, 1),
            fmt(max(values) * 1000 if values else None, 1),
            fmt(base, 1),
            ratio(p95, base),
        )

    row("a plain open, round trip (baseline)", r.plain_opens)
    row("a plain logout, round trip", r.plain_logouts)
    row("a logout freeing a license for the line, round trip", r.logouts)
    row("from a logout's answer to the waiter's 201", r.after_answer)
    row("from a logout's request to the waiter's 201", r.after_request)
    table.note(
        f"waiters follow through the {'first' if setup.instances > 1 else 'same'} process, "
        f"logouts {'through the second' if setup.instances > 1 else 'through it too'}; "
        f"{r.follows:,} follow answers in all (each waiter's long poll answers as its place "
        "moves up, and it follows again at once); one Python client (asyncio, bench/http1.py, "
        "a keep-alive connection per waiter) on the load core, the servers on the other"
    )


def _judge(ctx: Context, setup: Setup, r: LineRun, taken: int, ordered: bool) -> None:
    where = f"{TITLE} ({setup.label})"
    p95 = percentile(r.after_answer, 95)
    for figure, goal, measured, met in (
        ("logout's answer to the 201, p95", f"< {TARGET_MS:.0f} ms", fmt(p95, 1),
         p95 is not None and p95 < TARGET_MS),
        ("waiters seated and taken, first asked first", f"all {WAITERS}", fmt(taken),
         taken == WAITERS and ordered),
    ):  # fmt: skip
        ctx.report.target(Target(ctx.backend.label, where, figure, goal, measured, met))
    if r.unexpected:
        ctx.report.fail(f"{ctx.backend.label}: {where}: unexpected answers {dict(r.unexpected)}")
