"""Periods of the usage reports: a range of calendar days in the account's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from seatkeeper.domain.errors import InvalidInput, InvalidPeriod

# Up to this many days a report shows days; longer periods show months.
DAYS_SHOWN = 92
# The longest period a report covers: three years, leap day included.
MOST_DAYS = 3 * 365 + 1
# No report reaches before this day (seatkeeper keeps nothing older; nor can a zone's
# rules be applied to year 1).
EARLIEST = date(2000, 1, 1)
NAMED = {"30d": "the last 30 days", "90d": "the last 90 days", "12m": "the last 12 months"}
DEFAULT = "30d"

Step = Literal["day", "month"]


@dataclass(frozen=True, slots=True)
class Period:
    """The calendar days from `first` to `last`, both included; `name` is one of NAMED, or
    "custom" for dates given."""

    first: date
    last: date
    name: str = "custom"

    @property
    def days(self) -> list[date]:
        """Every day of the period, oldest first."""
        return [self.first + timedelta(days=n) for n in range(self.length)]

    @property
    def length(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def step(self) -> Step:
        """Days up to DAYS_SHOWN of them, months beyond."""
        return "day" if self.length <= DAYS_SHOWN else "month"

    @property
    def label(self) -> str:
        """How the pages name the period: "the last 90 days", "1 Mar 2026 to 31 May 2026"."""
        if self.name in NAMED:
            return NAMED[self.name]
        return f"{_shown(self.first)} to {_shown(self.last)}"

    @property
    def over(self) -> str:
        """The period in a sentence: "over the last 90 days", "from 1 Mar 2026 to 31 May 2026"."""
        return f"over {self.label}" if self.name in NAMED else f"from {self.label}"


def last_days(today: date, days: int) -> Period:
    """The `days` calendar days ending today."""
    return Period(today - timedelta(days=days - 1), today, f"{days}d")


def named(today: date, name: str) -> Period:
    """The period `name` (a key of NAMED) ends today: "12m" starts on the first day of the
    month eleven months before this one, so that it holds twelve calendar months."""
    if name == "12m":
        year, month = divmod(today.year * 12 + today.month - 1 - 11, 12)
        return Period(date(year, month + 1, 1), today, name)
    if name not in NAMED:
        choices = ", ".join(NAMED)
        raise InvalidPeriod(f"The period must be one of {choices}, or from and to dates.")
    return last_days(today, int(name.removesuffix("d")))


def parse(
    today: date, *, name: str | None = None, first: str | None = None, last: str | None = None
) -> Period:
    """The period a request asks for: a name, or from and to dates (YYYY-MM-DD) in the
    account's zone; none of these is the last 30 days."""
    if first is None and last is None:
        return named(today, name or DEFAULT)
    if name is not None:
        raise InvalidPeriod("Give either a period or from and to dates, not both.")
    if first is None or last is None:
        raise InvalidPeriod("Give both from and to dates (YYYY-MM-DD), or neither.")
    start, end = _date("from", first), _date("to", last)
    if start > end:
        raise InvalidPeriod("The from date must not be after the to date.")
    if start < EARLIEST:
        raise InvalidPeriod(f"The from date must not be before {EARLIEST.isoformat()}.")
    if end > today:
        raise InvalidPeriod(f"The to date must not be after today ({today.isoformat()}).")
    if (end - start).days + 1 > MOST_DAYS:
        raise InvalidPeriod(f"A period is at most {MOST_DAYS} days (three years).")
    return Period(start, end)


# Exactly YYYY-MM-DD in ASCII digits: date.fromisoformat alone also takes "2026-W01-1"
# (a week's day) and "20260101  ".
_YYYY_MM_DD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(field: str, text: str) -> date:
    if not _YYYY_MM_DD.fullmatch(text):
        raise InvalidPeriod(f"The {field} date must be a date as YYYY-MM-DD.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidPeriod(f"The {field} date must be a date as YYYY-MM-DD.") from None


def _shown(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


STEPS: tuple[Step, ...] = ("day", "month")


@dataclass(frozen=True, slots=True)
class Asked:
    """A period as a request asks for it, before the account's today is known: a name, or
    from and to dates; none of them is the last 30 days. `by` is "day" or "month" (the
    period's own step if None)."""

    name: str | None = None
    first: str | None = None
    last: str | None = None
    by: str | None = None

    def __post_init__(self) -> None:
        if self.by is not None and self.by not in STEPS:
            raise InvalidInput("by must be day or month.")

    def period(self, today: date) -> Period:
        """The period asked for, ending today at the latest (see `parse`)."""
        return parse(today, name=self.name, first=self.first, last=self.last)

    def step(self, period: Period) -> Step:
        """Days or months, as asked, or as the period's length calls for."""
        return "month" if self.by == "month" else "day" if self.by == "day" else period.step


LAST_30_DAYS = Asked()  # what a request that names no period asks for
