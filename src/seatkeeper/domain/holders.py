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
from datetime import date, datetime, timedelta
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


def _overlap(start: datetime, end: datetime, lo: datetime, hi: datetime) -> timedelta:
    return max(ZERO, min(end, hi) - max(start, lo))


def peak(spans: Iterable[tuple[datetime, datetime | None]], start: datetime, end: datetime) -> int:
    """The most of these [start, end) spans (end None: still open) open at once within
    the day [start, end)."""
    opening = 0
    starts: list[datetime] = []
    ends: list[datetime] = []
    for s, e in spans:
        if s >= end or (e is not None and e <= start):
            continue
        if s <= start:
            opening += 1
        else:
            starts.append(s)
        if e is not None and e < end:
            ends.append(e)
    starts.sort()
    ends.sort()
    most, gone = opening, 0
    for n, s in enumerate(starts, 1):
        # Ends at the very instant of a start come first: touching spans never overlap.
        while gone < len(ends) and ends[gone] <= s:
            gone += 1
        most = max(most, opening + n - gone)
    return most


def day_figures(
    day: date, spans: Sequence[Span], *, start: datetime, end: datetime, now: datetime
) -> DayFigures:
    """The day [start, end)'s figures (start and end from `usage.day_start`) as of `now`:
    `spans` are the sessions that held a license at some instant of it."""
    stop = min(end, now)
    held: dict[int, timedelta] = defaultdict(lambda: ZERO)
    idle: dict[int, timedelta] = defaultdict(lambda: ZERO)
    started: dict[int, int] = defaultdict(int)
    longest: dict[int, timedelta] = defaultdict(lambda: ZERO)
    for s in spans:
        until = now if s.end is None else s.end
        held[s.holder] += _overlap(s.start, until, start, stop)
        if s.timed_out:
            idle[s.holder] += _overlap(s.last_activity, until, start, stop)
        if start <= s.start < end:
            started[s.holder] += 1
            longest[s.holder] = max(longest[s.holder], ZERO, until - s.start)
    holders = tuple(
        HolderDay(h, held[h], idle[h], started[h], longest[h])
        for h in sorted(held.keys() | started.keys())
        if held[h] or started[h]  # sessions that did not touch the day leave no row
    )
    timeouts = tuple(
        TimeoutDay(
            minutes,
            peak(((s.start, s.cut(minutes)) for s in spans), start, end),
            sum(
                (
                    _overlap(cut, s.end, start, stop)
                    for s in spans
                    if s.end is not None and (cut := s.cut(minutes)) is not None
                ),
                ZERO,
            ),
        )
        for minutes in CANDIDATE_MINUTES
    )
    return DayFigures(day, peak(((s.start, s.end) for s in spans), start, end), holders, timeouts)


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
