"""The line for a license in the usage figures: each day's places asked, the longest wait
of those seated, and the longest time from a license freeing to its waiter taking it.

Counted from the places (the waits table) in the account's time zone each time they are
read, never kept with the days: a place's figures are final only once it is taken.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from seatkeeper.domain.usage import UsageReport

SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class WaitSpan:
    """A place in line, as the usage figures read it."""

    asked_at: datetime
    seated_at: datetime | None  # when it was given a session (None: not seated)
    freed_at: datetime | None  # when that license became free
    collected_at: datetime | None  # when the ticket took the session


@dataclass(frozen=True, slots=True)
class DayWaits:
    waited: int = 0  # places asked that day
    longest_wait: timedelta | None = None  # asked to seated, of the places seated that day
    longest_seating: timedelta | None = None  # freed to taken, of the places taken that day


def daily_waits(
    spans: Iterable[WaitSpan], starts: Sequence[datetime], ends: Sequence[datetime]
) -> list[DayWaits]:
    """Each [start, end) day's figures: a place counts as asked on the day it was asked,
    its wait on the day it was seated, and its seating on the day it was taken."""
    waited = [0] * len(starts)
    waits: list[timedelta | None] = [None] * len(starts)
    seatings: list[timedelta | None] = [None] * len(starts)

    def day_of(at: datetime | None) -> int | None:
        n = -1 if at is None else bisect_right(starts, at) - 1
        return n if at is not None and n >= 0 and at < ends[n] else None

    for span in spans:
        if (n := day_of(span.asked_at)) is not None:
            waited[n] += 1
        if span.seated_at is not None and (n := day_of(span.seated_at)) is not None:
            waits[n] = _longer(waits[n], span.seated_at - span.asked_at)
        if span.freed_at is not None and (n := day_of(span.collected_at)) is not None:
            assert span.collected_at is not None
            seatings[n] = _longer(seatings[n], span.collected_at - span.freed_at)
    return [DayWaits(*day) for day in zip(waited, waits, seatings, strict=True)]


def with_waits(report: UsageReport, days: Sequence[DayWaits]) -> UsageReport:
    """The report with each day's line figures (as many as it has days)."""
    return replace(
        report,
        days=tuple(
            replace(
                day,
                waited=w.waited,
                longest_wait_seconds=_seconds(w.longest_wait),
                longest_seating_seconds=_seconds(w.longest_seating),
            )
            for day, w in zip(report.days, days, strict=True)
        ),
    )


def _longer(longest: timedelta | None, this: timedelta) -> timedelta:
    return this if longest is None else max(longest, this)


def _seconds(length: timedelta | None) -> int | None:
    """Whole seconds (a clock a little behind another's never makes one negative)."""
    return None if length is None else max(0, length // SECOND)
