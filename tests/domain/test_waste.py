"""The timeout-waste hint and the holders' order."""

from __future__ import annotations

from datetime import date, timedelta

from seatkeeper.domain.holders import (
    GUESTS,
    DayFigures,
    HolderDay,
    HolderRow,
    Holding,
    TimeoutDay,
    ordered,
)
from seatkeeper.domain.waste import hint, waste

H = timedelta(hours=1)
MINUTES = (5, 10, 15, 20, 30)
M = timedelta(minutes=1)


def day(peak: int, idle: timedelta, timeouts: list[tuple[int, int, timedelta]]) -> DayFigures:
    return DayFigures(
        date(2026, 3, 10),
        peak,
        (HolderDay(7, 100 * H, idle, 3, 2 * H),),
        tuple(TimeoutDay(m, p, f) for m, p, f in timeouts),
    )


def test_the_hint_names_the_timeout_that_lowers_the_peak_most() -> None:
    days = [
        day(
            48,
            300 * H,
            [
                (5, 41, 280 * H),
                (10, 41, 275 * H),
                (15, 45, 200 * H),
                (20, 47, 100 * H),
                (30, 48, 0 * H),
            ],
        ),
        day(
            40,
            112.5 * H,
            [(5, 30, 0 * H), (10, 30, 0 * H), (15, 30, 0 * H), (20, 30, 0 * H), (30, 40, 0 * H)],
        ),
    ]
    found = waste(days, timeout=30 * M)
    assert (found.idle, found.held, found.peak) == (412.5 * H, 200 * H, 48)
    assert [c.minutes for c in found.candidates] == [5, 10, 15, 20]  # shorter than 30 only
    assert hint(found) == (
        "Sessions waited 412.5 license-hours for their 30-minute timeout in this period; a "
        "10-minute timeout would have freed 275.0 of them and lowered the peak from 48 to 41."
    )


def test_the_hint_groups_the_thousands_of_a_busy_account() -> None:
    found = waste(
        [
            day(
                10_000,
                847_975.2 * H,
                [(m, 9_100 + 100 * n, (700_000 - 100_000 * n) * H) for n, m in enumerate(MINUTES)],
            )
        ],
        timeout=30 * M,
    )
    assert hint(found) == (
        "Sessions waited 847,975.2 license-hours for their 30-minute timeout in this period; a "
        "5-minute timeout would have freed 700,000.0 of them and lowered the peak from 10,000 "
        "to 9,100."
    )


def test_the_hint_says_so_when_no_shorter_timeout_lowers_the_peak() -> None:
    days = [
        day(
            5,
            1 * H,
            [(5, 5, 0.75 * H), (10, 5, 0.5 * H), (15, 5, 0.25 * H), (20, 5, 0 * H), (30, 5, 0 * H)],
        )
    ]
    assert hint(waste(days, timeout=20 * M)) == (
        "Sessions waited 1.0 license-hour for their 20-minute timeout in this period; a "
        "15-minute timeout would have freed 0.2 of them, but the peak would have stayed at 5."
    )
    assert hint(waste(days, timeout=2 * H)).startswith(
        "Sessions waited 1.0 license-hour for their 2-hour timeout in this period; a "
        "30-minute timeout would have freed 0.0 of them"
    )
    assert hint(waste(days, timeout=5 * M)) == (
        "Sessions waited 1.0 license-hour for their 5-minute timeout in this period; no "
        "shorter timeout is tried for a timeout this short."
    )


def test_the_hint_is_honest_when_nothing_timed_out_or_nothing_was_held() -> None:
    quiet = [day(3, 0 * H, [(m, 3, 0 * H) for m in (5, 10, 15, 20, 30)])]
    assert hint(waste(quiet, timeout=30 * M)) == (
        "No session waited for its timeout in this period: every one ended by logout or "
        "termination, or is still in use, so a shorter timeout would have changed nothing."
    )
    assert hint(waste([], timeout=30 * M)) == "No session held a license in this period."


def row(name: str, holder: int, held: float, sessions: int, longest: float) -> HolderRow:
    return HolderRow(name, Holding(holder, held * H, 0.5 * H, sessions, longest * H))


def names(rows: list[HolderRow]) -> list[str]:
    return [r.name for r in rows]


def test_holders_sort_by_any_column_ties_by_name() -> None:
    rows = [
        row("bob", 2, 10, 4, 3),
        row("Guests", GUESTS, 30, 9, 1),
        row("alice", 1, 10, 2, 5),
        row("Carol", 3, 5, 4, 2),
    ]
    assert names(ordered(rows, "agent", descending=False)) == ["alice", "bob", "Carol", "Guests"]
    assert names(ordered(rows, "agent", descending=True)) == ["Guests", "Carol", "bob", "alice"]
    assert names(ordered(rows, "license_hours", descending=True)) == [
        "Guests",
        "alice",
        "bob",
        "Carol",
    ]
    assert names(ordered(rows, "sessions", descending=False)) == ["alice", "bob", "Carol", "Guests"]
    assert names(ordered(rows, "longest", descending=True))[0] == "alice"
    assert ordered(rows, "idle", descending=True)[0].name == "alice"  # all equal: by name
    assert ordered(rows, "agent", descending=False)[-1].guests
