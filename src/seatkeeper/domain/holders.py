"""Who held licenses, and what shorter timeouts would have changed: each local day's
figures from the sessions that held a license in it, and their sum over a period.

Spans are half-open, as in `domain.usage`: a session ending at the very instant another
starts does not overlap it. Only sessions that ended by timeout change under a shorter
timeout: of the others (logout, termination, a disabled user) we know the last activity
but not the gaps inside them, so they are counted as they were.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

CANDIDATE_MINUTES = (5, 10, 15, 20, 30)  # the shorter timeouts the reports try
GUESTS = 0  # the holder every Guest session counts under
ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class Span:
    """One session's hold on a license, as of some instant `now`."""

    holder: int  # the agent's user id; GUESTS for a Guest
    start: datetime
    last_activity: datetime
    end: datetime | None  # None while it is still open
    timed_out: bool  # it ended (or, unswept, is past its expiry) by timeout

    @classmethod
    def of(
        cls,
        user_id: int | None,
        started_at: datetime,
        last_activity_at: datetime,
        expires_at: datetime,
        ended_at: datetime | None,
        end_reason: str | None,
        *,
        now: datetime,
    ) -> Span:
        """A session row as the reports read it: one past its expiry that nobody swept
        yet ended by timeout at that expiry."""
        holder = GUESTS if user_id is None else user_id
        if ended_at is not None:
            timed_out = end_reason == "timeout"
            return cls(holder, started_at, last_activity_at, ended_at, timed_out)
        if expires_at <= now:
            return cls(holder, started_at, last_activity_at, expires_at, True)
        return cls(holder, started_at, last_activity_at, None, False)

    def cut(self, minutes: int) -> datetime | None:
        """Its end had it timed out `minutes` after its last activity (never later than it
        really ended); sessions that did not time out keep theirs."""
        if not self.timed_out or self.end is None:
            return self.end
        return min(self.end, self.last_activity + timedelta(minutes=minutes))


@dataclass(frozen=True, slots=True)
class HolderDay:
    """One holder's figures on one day."""

    holder: int
    held: timedelta  # license time held within the day
    idle: timedelta  # of it, after the last activity of sessions that then timed out
    sessions: int  # sessions started that day
    longest: timedelta  # the longest of those, whole (an open one up to now)


@dataclass(frozen=True, slots=True)
class TimeoutDay:
    """One candidate timeout on one day: the day's peak, and the license time freed."""

    minutes: int
    peak: int
    freed: timedelta


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: date
    peak: int  # the most sessions open at once, as they were
    holders: tuple[HolderDay, ...]
    timeouts: tuple[TimeoutDay, ...]  # one per CANDIDATE_MINUTES, in that order


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)
FOREVER = 2**62  # the end of a span still open, in microseconds


def _micros(at: datetime) -> int:
    return (at - EPOCH) // MICRO


def _peak(lo: int, hi: int, starts: list[int], spans: Iterable[tuple[int, int]]) -> int:
    """The most of these [start, end) spans open at once within the day [lo, hi), all in
    microseconds; `starts` are the spans' starts within (lo, hi), in order."""
    opening = 0
    ends = []
    for s, e in spans:
        if s >= hi or e <= lo:
            continue
        if s <= lo:
            opening += 1
        if e < hi:
            ends.append(e)
    ends.sort()
    most, gone, count = opening, 0, len(ends)
    for n, s in enumerate(starts, 1):
        # Ends at the very instant of a start come first: touching spans never overlap.
        while gone < count and ends[gone] <= s:
            gone += 1
        most = max(most, opening + n - gone)
    return most


def day_figures(
    day: date, spans: Sequence[Span], *, start: datetime, end: datetime, now: datetime
) -> DayFigures:
    """The day [start, end)'s figures (start and end from `usage.day_start`) as of `now`:
    `spans` are the sessions that held a license at some instant of it. (In whole
    microseconds, as the database keeps time: a day of 100,000 sessions takes about a
    second.)"""
    lo, hi, current = _micros(start), _micros(end), _micros(now)
    stop = min(hi, current)
    held: dict[int, int] = defaultdict(int)
    idle: dict[int, int] = defaultdict(int)
    started: dict[int, int] = defaultdict(int)
    longest: dict[int, int] = defaultdict(int)
    rows = []  # start, end (FOREVER while open), and last activity of those that timed out
    waited = []
    for span in spans:
        h, s = span.holder, _micros(span.start)
        e = current if span.end is None else _micros(span.end)
        held[h] += max(0, min(e, stop) - max(s, lo))
        if span.timed_out:
            active = _micros(span.last_activity)
            idle[h] += max(0, min(e, stop) - max(active, lo))
            waited.append((s, active, e))
        else:
            rows.append((s, FOREVER if span.end is None else e))
        if lo <= s < hi:
            started[h] += 1
            longest[h] = max(longest[h], e - s)
    holders = tuple(
        HolderDay(h, held[h] * MICRO, idle[h] * MICRO, started[h], longest[h] * MICRO)
        for h in sorted(held.keys() | started.keys())
        if held[h] or started[h]  # sessions that did not touch the day leave no row
    )
    starts = sorted([s for s, _ in rows if lo < s < hi] + [s for s, _, _ in waited if lo < s < hi])
    timeouts = []
    for minutes in CANDIDATE_MINUTES:
        cut = [(s, min(e, a + minutes * 60_000_000), e) for s, a, e in waited]
        freed = sum(max(0, min(e, stop) - max(c, lo)) for _, c, e in cut)
        peak = _peak(lo, hi, starts, rows + [(s, c) for s, c, _ in cut])
        timeouts.append(TimeoutDay(minutes, peak, freed * MICRO))
    actual = _peak(lo, hi, starts, rows + [(s, e) for s, _, e in waited])
    return DayFigures(day, actual, holders, tuple(timeouts))


def settled(spans: Iterable[Span], *, start: datetime, end: datetime, now: datetime) -> bool:
    """Whether the day [start, end)'s figures are final as of `now`: it is over, and no
    session still open could change them (one started that day is not whole yet; one
    with no activity since the day ended may still time out into it)."""
    if now < end:
        return False
    return not any(
        s.end is None and s.start < end and (s.start >= start or s.last_activity < end)
        for s in spans
    )


@dataclass(frozen=True, slots=True)
class Holding:
    """One holder over a period."""

    holder: int
    held: timedelta
    idle: timedelta  # held after the last activity, waiting for the timeout
    sessions: int
    longest: timedelta


def holdings(days: Iterable[DayFigures]) -> list[Holding]:
    """Each holder's figures summed over these days (the longest session, the longest of
    any day's), by holder id."""
    held: dict[int, list[timedelta]] = {}
    counts: dict[int, int] = defaultdict(int)
    for day in days:
        for h in day.holders:
            sums = held.setdefault(h.holder, [ZERO, ZERO, ZERO])
            sums[0] += h.held
            sums[1] += h.idle
            sums[2] = max(sums[2], h.longest)
            counts[h.holder] += h.sessions
    return [
        Holding(holder, sums[0], sums[1], counts[holder], sums[2])
        for holder, sums in sorted(held.items())
    ]


HolderSort = Literal["agent", "license_hours", "sessions", "longest", "idle"]
HOLDER_SORTS: tuple[HolderSort, ...] = ("agent", "license_hours", "sessions", "longest", "idle")


@dataclass(frozen=True, slots=True)
class HolderRow:
    """A line of the holders' list: an agent by name, or the Guests."""

    name: str
    holding: Holding

    @property
    def guests(self) -> bool:
        return self.holding.holder == GUESTS


def ordered(rows: Iterable[HolderRow], sort: HolderSort, *, descending: bool) -> list[HolderRow]:
    """The rows by `sort` (names without regard to case); ties by name, then holder, in
    either order."""

    def value(row: HolderRow) -> str | int:
        h = row.holding
        times = {"license_hours": h.held, "longest": h.longest, "idle": h.idle}
        if sort == "agent":
            return row.name.casefold()
        if sort == "sessions":
            return h.sessions
        return times[sort] // timedelta(microseconds=1)

    by_name = sorted(rows, key=lambda r: (r.name.casefold(), r.holding.holder))
    return sorted(by_name, key=value, reverse=descending)  # stable: ties keep name order
