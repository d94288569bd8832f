"""The periodic tasks every instance runs, each at the interval of its own setting.

Every instance may run them at the same moment: each task takes the locks it needs.
Tasks at one interval run one after the other, in the order `tasks` gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import anyio

from seatkeeper.clock import Clock
from seatkeeper.config import Settings
from seatkeeper.domain.destinations import Policy, networks
from seatkeeper.domain.words import plural
from seatkeeper.services import alerts, expiry, history, keeping, line, retention, webhooks
from seatkeeper.storage.db import Database

log = logging.getLogger("seatkeeper.housekeeping")


ALERT_SECONDS = 1.0  # how often capacity alerts are evaluated, unless told


@dataclass(frozen=True, slots=True)
class Task:
    """A periodic task: `run(db, now)` answers how many things it did."""

    name: str
    seconds: float
    run: Callable[[Database, datetime], int]
    failed: str  # what the log says when a run fails
    # What it says when a run did something: the sentence (%s: how many) and its noun.
    done: tuple[str, str] | None = None


def tasks(settings: Settings) -> list[Task]:
    """The tasks the settings ask for, in the order they run (a task at 0 never runs)."""
    sweep = settings.sweep_seconds
    every = [
        Task(
            "sweep",
            sweep,
            _sweep,
            "The timeout sweep failed; it will run again",
            ("Recorded %s", "timed-out session"),
        ),
        Task(
            "capacity alerts",
            # A second unless told: an alert clears within a second of use falling back as
            # sessions time out. Off with the sweep, as before.
            _or(settings.alert_seconds, min(ALERT_SECONDS, sweep)),
            alerts.evaluate,
            "Evaluating capacity alerts failed; it will run again",
        ),
        Task(
            "line",
            settings.line_seconds,
            line.keep,
            "Seating the lines for a license failed; it will run again",
        ),
        Task(
            "usage days",
            _or(settings.warm_seconds, sweep),
            history.warm,
            "Keeping usage days failed; it will run again",
            ("Kept the usage days of %s", "account"),
        ),
        Task(
            "report days",
            _or(settings.warm_seconds, sweep),
            keeping.KeepingDays().run,
            "Keeping the days of the usage reports failed; it will run again",
            ("Kept %s of the usage reports", "day"),
        ),
        Task(
            "webhooks",
            settings.webhook_seconds,
            partial(webhooks.deliver_due, sending=webhook_sending(settings)),
            "Sending webhooks failed; they will be tried again",
        ),
        Task(
            "retention",
            settings.retention_seconds,
            retention.prune,
            "Deleting rows past their retention failed; it will run again",
            ("Deleted %s past their accounts' retention; their days are kept", "row"),
        ),
        Task(
            "statistics",
            settings.statistics_seconds,
            _statistics,
            "Refreshing the database's statistics failed; it will run again",
        ),
    ]
    return [task for task in every if task.seconds > 0]


def webhook_sending(settings: Settings) -> webhooks.Sending:
    """Where the settings let webhooks go."""
    allowed = networks(settings.webhook_allowed_networks)
    return webhooks.Sending(Policy(allowed, settings.webhook_allow_http))


def _or(seconds: float | None, default: float) -> float:
    return default if seconds is None else seconds


def _sweep(db: Database, now: datetime) -> int:
    return expiry.sweep_expired(db, now=now)


def _statistics(db: Database, _now: datetime) -> int:
    return db.refresh_statistics()


@contextlib.asynccontextmanager
async def running(db: Database, clock: Clock, planned: Sequence[Task]) -> AsyncIterator[None]:
    """Run the tasks from startup to shutdown: one loop for each interval."""
    groups: dict[float, list[Task]] = {}
    for task in planned:
        groups.setdefault(task.seconds, []).append(task)
    loops = [
        asyncio.create_task(
            _every(seconds, group, db, clock),
            name=f"seatkeeper housekeeping: {', '.join(task.name for task in group)}",
        )
        for seconds, group in groups.items()
    ]
    try:
        yield
    finally:
        for loop in loops:
            loop.cancel()


async def _every(seconds: float, group: Sequence[Task], db: Database, clock: Clock) -> None:
    while True:
        await asyncio.sleep(seconds)
        for task in group:
            await run_once(task, db, clock)


async def run_once(task: Task, db: Database, clock: Clock) -> None:
    """Run a task once, in a thread; a failure is logged, and the next run will come."""
    try:
        done = await anyio.to_thread.run_sync(lambda: task.run(db, clock.now()))
    except Exception:
        log.exception(task.failed)
        return
    if done and task.done is not None:
        sentence, noun = task.done
        log.info(sentence, plural(done, noun))
