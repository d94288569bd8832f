"""Capacity alerts: when use crosses a share of the licenses, and when it has fallen back.

An alert for a level (a percentage of the licenses) is raised once, when the sessions
in use reach that share, and cleared when use falls back below it by a margin: at least
one session, or 5% of the licenses if that is more. Use going up and down around the
level does not raise it again and again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import ceil

from seatkeeper.domain.errors import InvalidInput

DEFAULT_LEVELS = (90, 100)
MAX_LEVELS = 5
MARGIN_PERCENT = 5


def raised_at(level: int, licenses: int) -> int:
    """The sessions in use that reach `level` percent of `licenses`."""
    return max(1, ceil(level * licenses / 100))


def cleared_at(level: int, licenses: int) -> int:
    """Use falls back to this many sessions (or fewer) and the alert clears."""
    return raised_at(level, licenses) - max(1, ceil(licenses * MARGIN_PERCENT / 100))


def may_clear(levels: Iterable[int], licenses: int, before: int, after: int) -> bool:
    """Whether use falling from `before` sessions to `after` crosses a level's clearing
    point. Only then can an alert clear: an active alert's point is below the sessions not
    yet ended (a check clears it otherwise), and every fall that crosses a point checks (a
    timeout recorded by a call for its session is left to the periodic evaluation)."""
    return any(after <= cleared_at(lv, licenses) < before for lv in levels)


def changes(
    levels: Iterable[int], active: Iterable[int], in_use: int, licenses: int
) -> tuple[list[int], list[int]]:
    """The levels to raise and the active ones to clear, with `in_use` sessions now."""
    wanted, raised = sorted(set(levels)), set(active)
    to_raise = [lv for lv in wanted if lv not in raised and in_use >= raised_at(lv, licenses)]
    to_clear = sorted(lv for lv in raised if lv not in wanted or in_use <= cleared_at(lv, licenses))
    return to_raise, to_clear


def parse_levels(text: str) -> tuple[int, ...]:
    """Levels as written by people, "90,100": whole percentages from 1 to 100."""
    try:
        levels = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise InvalidInput(
            f"Alert levels are whole percentages separated by commas, like 90,100; got {text!r}."
        ) from None
    return check_levels(levels)


def check_levels(levels: Sequence[int]) -> tuple[int, ...]:
    chosen = tuple(sorted(set(levels)))
    if len(chosen) > MAX_LEVELS or any(not 1 <= lv <= 100 for lv in chosen):
        raise InvalidInput(
            f"Give at most {MAX_LEVELS} alert levels, each a percentage from 1 to 100."
        )
    return chosen


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    level: int  # percent of the licenses
    licenses: int  # the total when it was raised
    raised_at: datetime
    raised_in_use: int
    cleared_at: datetime | None
    cleared_in_use: int | None
