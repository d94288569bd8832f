"""Made-up but plausible license history for the demo: pure functions, no I/O.

A day's demand is a set of agents' shifts (named agents and Guests) shaped like a
contact center's day. The demand then passes through the license pool in time
order, so history never holds more sessions than the account has licenses: the
sessions that find the pool full become denials instead.
"""

from __future__ import annotations

import heapq
import secrets
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from random import Random
from zoneinfo import ZoneInfo

from seatkeeper.domain.model import EndReason
from seatkeeper.domain.pool import has_free_seat
from seatkeeper.domain.usage import Interval

FLOWS: dict[str, tuple[str, ...]] = {
    "Password Reset": (
        "Verify identity",
        "Choose delivery method",
        "Send reset link",
        "Confirm reset",
    ),
    "Billing Dispute": (
        "Verify identity",
        "Locate invoice",
        "Review charges",
        "Record dispute reason",
        "Issue provisional credit",
        "Wrap up",
    ),
    "New Order": (
        "Verify identity",
        "Select products",
        "Confirm shipping address",
        "Take payment",
        "Confirm order",
    ),
    "Address Change": (
        "Verify identity",
        "Enter new address",
        "Validate address",
        "Confirm change",
    ),
    "Refund Request": (
        "Verify identity",
        "Find order",
        "Check refund eligibility",
        "Choose refund method",
        "Issue refund",
    ),
    "Cancel Subscription": (
        "Verify identity",
        "Ask reason for leaving",
        "Present retention offer",
        "Confirm cancellation",
    ),
    "Technical Support": (
        "Verify identity",
        "Describe the problem",
        "Run diagnostics",
        "Apply fix",
        "Confirm resolution",
        "Wrap up",
    ),
    "Plan Upgrade": ("Verify identity", "Review current plan", "Compare plans", "Confirm upgrade"),
    "Delivery Inquiry": ("Verify identity", "Find order", "Track shipment", "Give delivery date"),
    "Account Unlock": ("Verify identity", "Review lockout reason", "Unlock account"),
}
FLOW_NAMES = tuple(FLOWS)

# The live simulation works as these agents (and Guests); all of them have a history.
SIMULATED_AGENTS = (
    "maria.garcia",
    "james.smith",
    "aisha.khan",
    "wei.chen",
    "olivia.brown",
    "david.nguyen",
    "sofia.rossi",
    "liam.walsh",
    "priya.patel",
    "noah.johnson",
    "emma.wilson",
    "lucas.martin",
)
# Agents the simulation never uses: a person trying the console logs in as one of these
# and gets a session of their own, not a simulated agent's.
FREE_AGENTS = ("ana.silva", "tom.baker", "yuki.tanaka")
DEMO_AGENTS = (*SIMULATED_AGENTS, *FREE_AGENTS)

# A window needs this many weekdays before a few of them are made over-demanded.
MIN_WEEKDAYS_FOR_PEAKS = 8
_FOREVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Demand:
    """A session someone wants: it would hold a license over [start, stop)."""

    agent: str | None  # username, None for a Guest
    start: datetime
    stop: datetime
    end_reason: EndReason
    last_activity: datetime


@dataclass(frozen=True, slots=True)
class PastInteraction:
    flow: str
    opened_at: datetime
    closed_at: datetime
    step: str


@dataclass(frozen=True, slots=True)
class PastSession:
    agent: str | None  # username, None for a Guest
    started_at: datetime
    last_activity_at: datetime
    expires_at: datetime
    ended_at: datetime
    end_reason: EndReason
    interactions: tuple[PastInteraction, ...]


@dataclass(frozen=True, slots=True)
class Denial:
    agent: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class History:
    sessions: tuple[PastSession, ...]
    denials: tuple[Denial, ...]
    over_demand_days: frozenset[date]  # the days planned with more demand than licenses


def generate_history(
    days: Sequence[date],
    *,
    tz: ZoneInfo,
    now: datetime,
    licenses: int,
    timeout: timedelta,
    agents: Sequence[str],
    seed: int | None = None,
    busy: Iterable[Interval] = (),
    not_before: datetime | None = None,
) -> History:
    """Sessions and denials for these calendar days (in `tz`), all ended before `now`.

    Nothing is made that overlaps a `busy` interval (history already recorded, or a
    live session) or starts before `not_before` (the account's creation).
    """
    base = secrets.randbits(64) if seed is None else seed
    today = now.astimezone(tz).date()
    over = over_demand_days(days, today=today, rng=_rng(base, "over"))
    free = _Outside(busy)
    demands = [
        d
        for day in days
        for d in day_demand(
            day,
            tz=tz,
            licenses=licenses,
            timeout=timeout,
            agents=agents,
            over_demand=day in over,
            rng=_rng(base, day.isoformat()),
        )
        if d.stop < now and (not_before is None or d.start >= not_before) and free(d)
    ]
    granted, refused = through_pool(demands, licenses)
    rng = _rng(base, "interactions")
    return History(
        sessions=tuple(_past_session(d, timeout, rng) for d in granted),
        denials=tuple(Denial(d.agent, d.start) for d in refused),
        over_demand_days=over,
    )


def over_demand_days(days: Sequence[date], *, today: date, rng: Random) -> frozenset[date]:
    """Two to four past weekdays whose demand exceeds the licenses (none in a short window)."""
    weekdays = [d for d in days if d.weekday() < 5 and d < today]
    if len(weekdays) < MIN_WEEKDAYS_FOR_PEAKS:
        return frozenset()
    return frozenset(rng.sample(weekdays, rng.randint(2, 4)))


def day_demand(
    day: date,
    *,
    tz: ZoneInfo,
    licenses: int,
    timeout: timedelta,
    agents: Sequence[str],
    over_demand: bool,
    rng: Random,
) -> list[Demand]:
    """The sessions wanted on one day, peaking at a target concurrency.

    Workers join one at a time until the day's peak reaches the target; each adds at
    most one to the peak (a worker's sessions never overlap), so the peak is exact.
    """
    weekend = day.weekday() >= 5
    target = _target(licenses, weekend=weekend, over_demand=over_demand, rng=rng)
    named = [a for a in agents if rng.random() < (0.15 if weekend else 0.9)]
    rng.shuffle(named)
    demands: list[Demand] = []
    for n in range(4 * target + len(named) + 10):
        if peak_concurrency((d.start, d.stop) for d in demands) >= target:
            break
        agent = named[n] if n < len(named) else None
        part_time = agent is None and not weekend and rng.random() < 0.3
        for start, stop in _shift(day, tz, rng, weekend=weekend, part_time=part_time):
            demands.append(_demand(agent, start, stop, timeout=timeout, rng=rng))
    return demands


def through_pool(demands: Iterable[Demand], licenses: int) -> tuple[list[Demand], list[Demand]]:
    """Split demand, in time order, into the sessions the pool grants and those it refuses."""
    granted: list[Demand] = []
    refused: list[Demand] = []
    held: list[datetime] = []  # stop instants of the granted sessions still holding a license
    for demand in sorted(demands, key=lambda d: d.start):
        # Half-open intervals: a license freed at the very instant is free.
        while held and held[0] <= demand.start:
            heapq.heappop(held)
        if has_free_seat(len(held), licenses):
            heapq.heappush(held, demand.stop)
            granted.append(demand)
        else:
            refused.append(demand)
    return granted, refused


def peak_concurrency(spans: Iterable[tuple[datetime, datetime]]) -> int:
    """The largest number of half-open [start, stop) spans open at one instant."""
    # Stops sort before starts at the same instant (-1 < 1): touching spans never overlap.
    events = sorted(e for start, stop in spans for e in ((start, 1), (stop, -1)))
    peak = level = 0
    for _at, change in events:
        level += change
        peak = max(peak, level)
    return peak


def _rng(base: int, label: str) -> Random:
    """A generator of its own per purpose, so that one day's plan does not shift another's."""
    return Random(f"{base}:{label}")  # noqa: S311 (made-up demo data, not secrets)


def _target(licenses: int, *, weekend: bool, over_demand: bool, rng: Random) -> int:
    """The day's peak demand: a handful on weekends, above the licenses on busy days."""
    if over_demand:
        return licenses + rng.randint(3, 8)
    # An ordinary weekday peaks at half to three quarters of the licenses: below the demo's
    # first alert level (80%); only the over-demand days reach it.
    share = rng.uniform(0.08, 0.24) if weekend else rng.uniform(0.5, 0.76)
    return min(licenses, max(1, round(licenses * share)))


def _local(day: date, hours: float, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on `day` in `tz`."""
    wall = datetime.combine(day, time()) + timedelta(hours=hours)
    return wall.replace(tzinfo=tz).astimezone(UTC)


def _minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def _shift(
    day: date, tz: ZoneInfo, rng: Random, *, weekend: bool, part_time: bool
) -> list[tuple[datetime, datetime]]:
    """One worker's sessions on a day: a shift cut by the breaks they log out for."""
    if weekend:
        begin, hours = rng.uniform(8.5, 11), rng.uniform(3, 6)
    elif part_time:
        begin, hours = rng.uniform(9, 15), rng.uniform(1.5, 4)
    else:
        begin, hours = rng.triangular(7.75, 10.25, 8.5), rng.uniform(7, 9)
    start = _local(day, begin, tz)
    stop = start + timedelta(hours=hours)
    breaks = []
    if hours >= 5 and rng.random() < 0.8:
        lunch = start + timedelta(hours=rng.uniform(3.25, min(4.5, hours - 1.5)))
        breaks.append((lunch, lunch + _minutes(rng.uniform(30, 60))))
    if hours >= 7.5 and rng.random() < 0.3:
        pause = stop - timedelta(hours=rng.uniform(1.25, 2))
        breaks.append((pause, pause + _minutes(rng.uniform(10, 20))))
    edges = [start, *(t for pause in breaks for t in pause), stop]
    return list(zip(edges[::2], edges[1::2], strict=True))


def _demand(
    agent: str | None, start: datetime, stop: datetime, *, timeout: timedelta, rng: Random
) -> Demand:
    """A session that ends at `stop`: mostly a logout, sometimes a timeout or a termination."""
    roll = rng.random()
    if roll < 0.03:
        # Terminated within a timeout of the last activity, or it would have timed out.
        last = max(start, stop - timeout * rng.uniform(0.05, 0.6))
        return Demand(agent, start, stop, EndReason.TERMINATED, last)
    if roll < 0.15 and stop - start > timeout + _minutes(10):
        # The agent walked away; the session held its license for one more timeout.
        return Demand(agent, start, stop, EndReason.TIMEOUT, stop - timeout)
    return Demand(agent, start, stop, EndReason.LOGOUT, stop)


def _past_session(demand: Demand, timeout: timedelta, rng: Random) -> PastSession:
    return PastSession(
        agent=demand.agent,
        started_at=demand.start,
        last_activity_at=demand.last_activity,
        expires_at=demand.last_activity + timeout,
        ended_at=demand.stop,
        end_reason=demand.end_reason,
        interactions=_interactions(demand, rng),
    )


def _interactions(demand: Demand, rng: Random) -> tuple[PastInteraction, ...]:
    """Flows worked one after another until the last activity."""
    done: list[PastInteraction] = []
    at = demand.start + _minutes(rng.uniform(0.5, 4))
    while True:
        flow = rng.choice(FLOW_NAMES)
        length = _minutes(rng.uniform(3, 15))
        if at + length > demand.last_activity:
            break
        done.append(PastInteraction(flow, at, at + length, FLOWS[flow][-1]))
        at += length + _minutes(rng.uniform(0.5, 8))
    if demand.end_reason is not EndReason.LOGOUT and at < demand.last_activity:
        # Left open when the session timed out or was terminated: closed with it.
        done.append(PastInteraction(flow, at, demand.stop, rng.choice(FLOWS[flow][:-1])))
    return tuple(done)


class _Outside:
    """Whether a demand avoids every busy interval (merged, then searched by bisection)."""

    def __init__(self, busy: Iterable[Interval]) -> None:
        blocks: list[list[datetime]] = []
        for span in sorted(busy, key=lambda s: s.start):
            end = _FOREVER if span.end is None else span.end
            if blocks and span.start <= blocks[-1][1]:
                blocks[-1][1] = max(blocks[-1][1], end)
            else:
                blocks.append([span.start, end])
        self._starts = [b[0] for b in blocks]
        self._ends = [b[1] for b in blocks]

    def __call__(self, demand: Demand) -> bool:
        # The last block starting before the demand stops reaches furthest (blocks are disjoint).
        i = bisect_left(self._starts, demand.stop) - 1
        return i < 0 or self._ends[i] <= demand.start
