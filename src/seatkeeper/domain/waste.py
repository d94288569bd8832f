"""Timeout waste over a period: the license time sessions held after their last activity
while they waited for their timeout, and what each shorter timeout would have changed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from seatkeeper.domain.holders import CANDIDATE_MINUTES, ZERO, DayFigures

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A shorter timeout over the period: the license time it frees, the peak it leaves."""

    minutes: int
    freed: timedelta
    peak: int


@dataclass(frozen=True, slots=True)
class Waste:
    held: timedelta  # license time held in the period, by every session
    idle: timedelta  # of it, after the last activity of sessions that then timed out
    peak: int  # the period's peak, as it was
    timeout: timedelta  # the account's timeout now, which the hint names
    candidates: tuple[Candidate, ...]  # shorter than `timeout`, shortest first


def waste(days: Iterable[DayFigures], *, timeout: timedelta) -> Waste:
    """The period's waste from its days: sums of time, and the highest day peak with each
    candidate timeout (only those shorter than the account's)."""
    held = idle = ZERO
    peak = 0
    freed = dict.fromkeys(CANDIDATE_MINUTES, ZERO)
    peaks = dict.fromkeys(CANDIDATE_MINUTES, 0)
    for day in days:
        held += sum((h.held for h in day.holders), ZERO)
        idle += sum((h.idle for h in day.holders), ZERO)
        peak = max(peak, day.peak)
        for t in day.timeouts:
            freed[t.minutes] += t.freed
            peaks[t.minutes] = max(peaks[t.minutes], t.peak)
    candidates = tuple(
        Candidate(m, freed[m], peaks[m])
        for m in CANDIDATE_MINUTES
        if timedelta(minutes=m) < timeout
    )
    return Waste(held, idle, peak, timeout, candidates)


def hours(time: timedelta) -> float:
    """License time in hours, to one decimal as the pages show it."""
    return round(time / HOUR, 1)


def _license_hours(time: timedelta) -> str:
    shown = f"{hours(time):,.1f}"
    return f"{shown} license-hour{'' if shown == '1.0' else 's'}"


def _minutes(time: timedelta) -> str:
    """A timeout as an adjective: "30-minute", "90-second", "2-hour"."""
    seconds = int(time.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}-hour"
    if seconds % 60 == 0:
        return f"{seconds // 60}-minute"
    return f"{seconds}-second"


def best(found: Waste) -> Candidate | None:
    """The candidate the hint names: the one that lowers the peak most, and of those the
    longest (the least felt by agents); if none lowers it, the longest of them."""
    if not found.candidates:
        return None
    lowest = min(c.peak for c in found.candidates)
    return max(
        (c for c in found.candidates if c.peak == lowest),
        key=lambda c: c.minutes,
    )


def hint(found: Waste) -> str:
    """What timeouts cost in the period, in one sentence."""
    if found.held == ZERO:
        return "No session held a license in this period."
    if found.idle == ZERO:
        return (
            "No session waited for its timeout in this period: every one ended by logout "
            "or termination, or is still in use, so a shorter timeout would have changed "
            "nothing."
        )
    waited = (
        f"Sessions waited {_license_hours(found.idle)} for their {_minutes(found.timeout)} "
        "timeout in this period"
    )
    pick = best(found)
    if pick is None:
        return f"{waited}; no shorter timeout is tried for a timeout this short."
    shorter = f"a {pick.minutes}-minute timeout would have freed {hours(pick.freed):,.1f} of them"
    if pick.peak < found.peak:
        return f"{waited}; {shorter} and lowered the peak from {found.peak:,} to {pick.peak:,}."
    return f"{waited}; {shorter}, but the peak would have stayed at {found.peak:,}."
