"""A long history as retention leaves it: for the days whose session rows are gone, only
what seatkeeper keeps of each day (its `usage_days` row, final; its candidate timeouts;
who held licenses), seeded straight into those tables.

The figures are made up, but shaped like `seed.history`'s busy day at the same size:
what its sessions (a median of 25 minutes, about 41 on average, about 5% ended by
their 30-minute timeout) give when the usage graph and the reports compute a day.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench.seed import TIMEOUT, Account, Seeded, _engine, _insert, _midnight
from seatkeeper.storage.tables import usage_day_holders, usage_day_timeouts, usage_days

CANDIDATES = (5, 10, 15, 20, 30)  # the candidate timeouts the reports keep, in minutes
MEAN_SESSION = timedelta(minutes=41)  # seed.history's log-normal durations, on average
PEAK_SHARE = 0.079  # a day's peak, as a share of its sessions (seed.history's, measured)
IDLE_SHARE = 0.037  # license time spent waiting for the timeout, of all time held
SURGE_DAYS = 0.03  # days when demand reached the cap: time at it, and refusals
ACTIVE = 0.9  # the share of agents who work on a given day
MICROS = 1_000_000


@dataclass(frozen=True)
class _Day:
    """One kept day's own figures, drawn once and shared by its three tables' rows."""

    day: date
    through: datetime  # the day's end in the account's zone
    factor: float  # how busy the day was, against the usual
    peak: int
    surge: bool


def kept_days(
    url: str,
    account: Account,
    *,
    first: date,
    last: date,
    time_zone: str,
    per_day: int,
    licenses: int,
    agents: Sequence[int],
    named_share: float = 0.7,
) -> Seeded:
    """The kept rows of every day from `first` to `last`: one `usage_days` row each
    (final: its session rows are gone), one row per candidate timeout, and one row per
    agent who worked that day plus one for the Guests (holder 0). Returns the rows
    inserted and how long it took."""
    tz = ZoneInfo(time_zone)
    rng = random.Random(f"kept days of {account.slug}")
    days = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        factor = rng.uniform(0.9, 1.08)
        surge = rng.random() < SURGE_DAYS
        peak = licenses if surge else min(licenses, round(per_day * PEAK_SHARE * factor))
        through = _midnight(day + timedelta(days=1), tz)
        days.append(_Day(day, through, factor, peak, surge))
    idle: dict[date, int] = {}  # each day's license time waiting for the timeout
    engine = _engine(url)
    began = time.perf_counter()
    try:
        made = _usage_days(rng, account, days, time_zone, per_day=per_day, licenses=licenses)
        rows = _insert(engine, usage_days, made)
        holders = _holders(
            rng, account, days, time_zone, per_day, agents, named_share=named_share, idle=idle
        )
        rows += _insert(engine, usage_day_holders, holders)
        rows += _insert(engine, usage_day_timeouts, _timeouts(account, days, time_zone, idle))
    finally:
        engine.dispose()
    return Seeded(rows, time.perf_counter() - began)


def _usage_days(
    rng: random.Random,
    account: Account,
    days: Sequence[_Day],
    time_zone: str,
    *,
    per_day: int,
    licenses: int,
) -> Iterator[dict[str, Any]]:
    for d in days:
        at_cap = rng.uniform(5, 90) * 60 * MICROS if d.surge else 0
        refused = rng.randint(1, max(1, per_day // 100)) if d.surge else 0
        yield {
            "account_id": account.id,
            "time_zone": time_zone,
            "day": d.day,
            "through": d.through,
            "max_concurrent": d.peak,
            "denials": refused,
            # The session rows after the last kept day start at its end with none open:
            # so must it end, or the report would carry sessions that never end.
            "open_at_through": 0 if d is days[-1] else round(per_day * 0.0045 * d.factor),
            "micros_at_cap": round(at_cap),
            "peak_demand": d.peak + (rng.randint(1, max(1, per_day // 100)) if d.surge else 0),
            "licenses": licenses,
            "final": True,
        }


def _holders(
    rng: random.Random,
    account: Account,
    days: Sequence[_Day],
    time_zone: str,
    per_day: int,
    agents: Sequence[int],
    *,
    named_share: float,
    idle: dict[date, int],
) -> Iterator[dict[str, Any]]:
    mean = MEAN_SESSION // timedelta(microseconds=1)
    for d in days:
        key = {"account_id": account.id, "time_zone": time_zone, "day": d.day}
        working = [a for a in agents if rng.random() < ACTIVE] or list(agents[:1])
        named = per_day * named_share * d.factor
        guests = round(per_day * (1 - named_share) * d.factor)
        each = named / len(working) if working else 0.0
        total = 0
        for holder in [*working, 0]:
            sessions = guests if holder == 0 else max(1, round(each * rng.uniform(0.6, 1.4)))
            if sessions == 0:
                continue
            held = round(sessions * mean * rng.uniform(0.8, 1.2))
            waited = round(held * IDLE_SHARE * rng.uniform(0.5, 1.5))
            longest = min(held, round(25 * 60 * MICROS * rng.lognormvariate(1.5, 0.5)))
            total += waited
            yield key | {
                "holder_id": holder,
                "held_micros": held,
                "idle_micros": waited,
                "sessions": sessions,
                "longest_micros": min(longest, 10 * 3600 * MICROS),
            }
        idle[d.day] = total


def _timeouts(
    account: Account, days: Sequence[_Day], time_zone: str, idle: dict[date, int]
) -> Iterator[dict[str, Any]]:
    """A shorter timeout frees each timed-out session's wait but the candidate's own
    minutes (every session here waited the whole timeout), and lowers the peak by the
    share of the peak's sessions that were waiting then."""
    timeout = TIMEOUT // timedelta(minutes=1)
    for d in days:
        for minutes in CANDIDATES:
            cut = max(0, timeout - minutes) / timeout
            yield {
                "account_id": account.id,
                "time_zone": time_zone,
                "day": d.day,
                "minutes": minutes,
                "peak": d.peak - round(d.peak * IDLE_SHARE * cut),
                "freed_micros": round(idle.get(d.day, 0) * cut),
            }
