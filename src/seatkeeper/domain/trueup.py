"""The true-up: a usage report's days summed by calendar month, as license contracts are
trued up on each month's peak."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby

from seatkeeper.domain.usage import DayUsage


@dataclass(frozen=True, slots=True)
class MonthUsage:
    """A calendar month of a report, from the days of it the report covers."""

    month: date  # its first day
    first: date  # the first and last days of it the report covers
    last: date
    peak: int  # the highest daily peak
    peak_day: date  # the first day of that peak
    average: float  # the mean daily peak, over the days the account existed
    minutes_at_cap: int  # every license in use, summed over the days
    days_at_cap: int  # days with a minute or more at the cap
    denials: int  # opens refused
    licenses_needed: int  # the peak demand: with this many licenses, no one refused
    account_existed: bool  # on one of its days at least
    overdraft_peak: int  # the most sessions open at once beyond the licenses, of its days
    overdraft_minutes: int | None  # session-minutes beyond them, summed; None if unknown
    waited: int = 0  # places asked in the line for a license
    longest_wait_seconds: int | None = None  # the longest of its days' (None: none seated)
    longest_seating_seconds: int | None = None  # likewise, from freed to taken

    @property
    def partial(self) -> bool:
        """Whether the report covers only part of the month."""
        return self.first != self.month or self.last != month_end(self.month)

    @property
    def days(self) -> int:
        """How many of its days the report covers."""
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        """How the pages name the month: "Mar 2026"."""
        return f"{self.month:%b %Y}"


def month_end(month: date) -> date:
    """The last day of the calendar month `month` is in."""
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - timedelta(days=1)


def months(days: Iterable[DayUsage]) -> tuple[MonthUsage, ...]:
    """One row per calendar month of the days (consecutive, oldest first), oldest first."""
    return tuple(
        _month(list(group)) for _, group in groupby(days, key=lambda d: (d.day.year, d.day.month))
    )


def _month(days: Sequence[DayUsage]) -> MonthUsage:
    counted = [d for d in days if d.account_existed]
    peak = max(d.max_concurrent for d in days)
    over = [d.overdraft_minutes for d in days if d.overdraft_minutes is not None]
    return MonthUsage(
        month=days[0].day.replace(day=1),
        first=days[0].day,
        last=days[-1].day,
        peak=peak,
        peak_day=next(d.day for d in days if d.max_concurrent == peak),
        average=sum(d.max_concurrent for d in counted) / len(counted) if counted else 0.0,
        minutes_at_cap=sum(d.minutes_at_cap for d in days),
        days_at_cap=sum(1 for d in days if d.minutes_at_cap),
        denials=sum(d.denials for d in days),
        licenses_needed=max((d.peak_demand for d in counted), default=0),
        account_existed=bool(counted),
        overdraft_peak=max(d.overdraft_peak for d in days),
        overdraft_minutes=sum(over) if len(over) == len(days) else None,
        waited=sum(d.waited for d in days),
        longest_wait_seconds=_longest(d.longest_wait_seconds for d in days),
        longest_seating_seconds=_longest(d.longest_seating_seconds for d in days),
    )


def _longest(figures: Iterable[int | None]) -> int | None:
    return max((f for f in figures if f is not None), default=None)
