"""The line benchmark's short version: a small line against two real server processes on
one database, on each backend (`python -m bench --only line` runs the full one and times
it). Waiters follow one process, logouts go through the other: every waiter must be
seated and take its session, first asked first, whatever the timing."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from pathlib import Path

import pytest
from bench import seed
from bench.line import Shape, seated_in_order, wait_in_line
from bench.server import serve

from tests.waiting import RACE_DEADLINE

SHAPE = Shape(licenses=4, waiters=12, gap=(0.0, 0.01), plain=3, settle=0.2, deadline=RACE_DEADLINE)


@pytest.mark.slow
def test_every_waiter_is_seated_in_order_when_licenses_free_on_another_instance(
    db_url: str, tmp_path: Path
) -> None:
    account = seed.provision(db_url, "line", licenses=SHAPE.licenses)
    with ExitStack() as stack:
        # Not pinned: the suite runs on every core at once.
        first, second = (
            stack.enter_context(serve(db_url, tmp_path / f"server-{n}.log", pin=False)).url
            for n in range(2)
        )
        run = asyncio.run(wait_in_line(first, second, account.application_key, SHAPE))

    assert not run.unexpected
    assert sorted(run.seated) == list(range(SHAPE.waiters))  # each waiter's 201, once
    assert len(run.after_answer) == SHAPE.waiters
    assert len(run.plain_opens) == len(run.plain_logouts) == SHAPE.plain
    assert seated_in_order(db_url, account.id) == (SHAPE.waiters, True)
