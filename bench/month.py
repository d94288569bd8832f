"""A month of agents at work, as the rows seatkeeper writes for it, and what it keeps of
each of its days: the growth benchmark inserts both and measures the database."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from bench import seed
from bench.kept import CANDIDATES
from seatkeeper.storage.tables import (
    agent_sessions,
    audit_events,
    denials,
    interactions,
    session_tokens,
    usage_day_holders,
    usage_day_timeouts,
    usage_days,
)

ZONE = "America/New_York"
DAYS = 30  # a month: the 30 days before today in the account's zone
TABLES = [agent_sessions, session_tokens, interactions, denials, audit_events]  # raw, in order


@dataclass
class Month:
    """A month of rows, table by table, and what each local day adds up to."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    spans: dict[date, list[tuple[int, float, float, float, bool]]] = field(
        default_factory=lambda: defaultdict(list)
    )  # each day's sessions: holder (0: Guests), start, last activity, end, timed out
    refused: dict[date, int] = field(default_factory=lambda: defaultdict(int))


def make_month(
    account: seed.Account, agents: dict[int, str], *, first: date, tz: ZoneInfo
) -> Month:
    """A month of work from `first` on: on each working day, every agent opens one session
    of 6.5 to 9 hours, or two of 3 to 4.5 hours around a break (a second browser joins a
    fifth of them: a second token), with 3 to 8 Interactions each, stepped through and
    closed; 5% as many Guests, each a session of half an hour to two hours; a few refused
    opens. Sessions end by logout (85%), by their 30-minute timeout (12%) or are
    terminated by an admin (3%: an audit row each)."""
    rng = random.Random(f"a month of {len(agents)} agents")
    month = Month()
    guests = max(1, round(len(agents) * 0.05))
    for n in range(DAYS):
        day = first + timedelta(days=n)
        if day.weekday() >= 5:
            continue
        midnight = seed._midnight(day, tz).timestamp()
        for user_id, username in agents.items():
            for start, length in _agent_day(rng):
                agent = (user_id, username)
                _session(rng, month, account, day, agent, midnight + start, length)
        for _ in range(guests):
            start, length = rng.uniform(9, 17) * 3600, rng.uniform(0.5, 2) * 3600
            _session(rng, month, account, day, (None, None), midnight + start, length)
        for _ in range(rng.randint(0, 6)):
            _refusal(rng, month, account, day, list(agents), midnight)
    return month


def _agent_day(rng: random.Random) -> list[tuple[float, float]]:
    """An agent's sessions in a working day: (start after midnight, length), in seconds."""
    hour = 3600
    if rng.random() < 0.6:
        return [(rng.uniform(8, 9.5) * hour, rng.uniform(6.5, 9) * hour)]
    start, length = rng.uniform(8, 9) * hour, rng.uniform(3, 4.5) * hour
    later = start + length + rng.uniform(0.5, 1) * hour
    return [(start, length), (later, rng.uniform(3, 4.5) * hour)]


def _session(
    rng: random.Random,
    month: Month,
    account: seed.Account,
    day: date,
    agent: tuple[int | None, str | None],
    start: float,
    length: float,
) -> None:
    """One ended session's rows: the session, its tokens, its Interactions, its audit row."""
    instant = _instant
    timeout = seed.TIMEOUT.total_seconds()
    user_id, username = agent
    reason = rng.random()
    end_reason, ended_by, active, end = "logout", None, start + length, start + length
    if reason < 0.12:
        end_reason, active, end = "timeout", start + length, start + length + timeout
    elif reason > 0.97:
        end_reason, ended_by = "terminated", account.admin_id
    session_id = UUID(int=rng.getrandbits(128), version=4)
    month.rows[agent_sessions.name].append(
        {
            "id": session_id,
            "account_id": account.id,
            "user_id": user_id,
            "agent_key": username.lower() if username else "guest",
            "started_at": instant(start),
            "last_activity_at": instant(active),
            "expires_at": instant(active + timeout),
            "ended_at": instant(end),
            "end_reason": end_reason,
            "ended_by": ended_by,
        }
    )
    month.spans[day].append((user_id or 0, start, active, end, end_reason == "timeout"))
    joins = [start] + ([start + rng.uniform(0, 3600)] if user_id and rng.random() < 0.2 else [])
    for at in joins:
        month.rows[session_tokens.name].append(
            {
                "token_hash": f"{rng.getrandbits(256):064x}",
                "session_id": session_id,
                "created_at": instant(at),
            }
        )
    opened = _interactions(rng, month, session_id, start, active)
    if end_reason == "terminated":
        month.rows[audit_events.name].append(
            _audit(account, session_id, username, (start, active), opened[-rng.randint(0, 2) :])
        )


def _interactions(
    rng: random.Random, month: Month, session_id: UUID, start: float, active: float
) -> list[dict[str, Any]]:
    """3 to 8 Interactions in the session, each closed a few minutes after it opened."""
    made = []
    for at in sorted(rng.uniform(start, active) for _ in range(rng.randint(3, 8))):
        flow = rng.choice(list(seed.FLOWS))
        closed = min(active, at + rng.uniform(2, 25) * 60)
        made.append(
            {
                "id": UUID(int=rng.getrandbits(128), version=4),
                "session_id": session_id,
                "flow": flow,
                "opened_at": _instant(at),
                "closed_at": _instant(closed),
                "step": rng.choice(seed.FLOWS[flow]),
            }
        )
    month.rows[interactions.name].extend(made)
    return made


def _audit(
    account: seed.Account,
    session_id: UUID,
    username: str | None,
    held: tuple[float, float],
    open_then: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """The audit row of a terminated session, with what it had open (as storage.audit)."""
    start, active = held
    return {
        "account_id": account.id,
        "at": _instant(active),
        "action": "session_terminated",
        "actor_id": account.admin_id,
        "actor": seed.ADMIN,
        "source": "203.0.113.7",
        "session_id": session_id,
        "details": {
            "agent_id": username,
            "started_at": _instant(start).isoformat(),
            "last_activity_at": _instant(active).isoformat(),
            "open_interactions": [
                {"flow": i["flow"], "step": i["step"], "opened_at": i["opened_at"].isoformat()}
                for i in open_then
            ],
        },
    }


def _refusal(
    rng: random.Random,
    month: Month,
    account: seed.Account,
    day: date,
    agents: Sequence[int],
    midnight: float,
) -> None:
    month.rows[denials.name].append(
        {
            "account_id": account.id,
            "user_id": rng.choice(agents) if rng.random() < 0.5 else None,
            "at": _instant(midnight + rng.uniform(9, 17) * 3600),
            "requester": f"{rng.getrandbits(128):032x}",
        }
    )
    month.refused[day] += 1


def _instant(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def kept_rows(
    account: seed.Account, month: Month, *, first: date, tz: ZoneInfo, licenses: int
) -> list[tuple[Any, list[dict[str, Any]]]]:
    """What seatkeeper keeps of each day of the month, computed from its sessions: the
    usage day, who held licenses (one row per agent who did, one for the Guests), and
    per candidate timeout the peak and the license time it would have freed."""
    kept: list[tuple[Any, list[dict[str, Any]]]] = [
        (usage_days, []),
        (usage_day_holders, []),
        (usage_day_timeouts, []),
    ]
    for n in range(DAYS):
        day = first + timedelta(days=n)
        spans = month.spans.get(day, [])
        key = {"account_id": account.id, "time_zone": ZONE, "day": day}
        peak = _peak((start, end) for _, start, _, end, _ in spans)
        kept[0][1].append(
            key
            | {
                "through": seed._midnight(day + timedelta(days=1), tz),
                "max_concurrent": peak,
                "denials": month.refused.get(day, 0),
                "open_at_through": 0,
                "micros_at_cap": 0,
                "peak_demand": peak,
                "licenses": licenses,
                "final": False,
            }
        )
        kept[1][1].extend(key | row for row in _holders(spans))
        kept[2][1].extend(key | row for row in _timeouts(spans))
    return kept


def _holders(spans: Iterable[tuple[int, float, float, float, bool]]) -> list[dict[str, Any]]:
    figures: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0.0])
    for holder, start, active, end, timed_out in spans:
        held = figures[holder]
        held[0] += end - start
        held[1] += end - active if timed_out else 0.0
        held[2] += 1
        held[3] = max(held[3], end - start)
    return [
        {
            "holder_id": holder,
            "held_micros": round(held * 1e6),
            "idle_micros": round(idle * 1e6),
            "sessions": int(sessions),
            "longest_micros": round(longest * 1e6),
        }
        for holder, (held, idle, sessions, longest) in sorted(figures.items())
    ]


def _timeouts(spans: Sequence[tuple[int, float, float, float, bool]]) -> list[dict[str, Any]]:
    rows = []
    for minutes in CANDIDATES:
        cut = [
            (start, min(end, active + minutes * 60) if timed_out else end, end)
            for _, start, active, end, timed_out in spans
        ]
        rows.append(
            {
                "minutes": minutes,
                "peak": _peak((start, shorter) for start, shorter, _ in cut),
                "freed_micros": round(sum(end - shorter for _, shorter, end in cut) * 1e6),
            }
        )
    return rows


def _peak(spans: Iterable[tuple[float, float]]) -> int:
    """The most spans open at once; one ending as another starts does not overlap it."""
    count = peak = 0
    for _, delta in sorted(e for start, end in spans for e in ((start, 1), (end, -1))):
        count += delta
        peak = max(peak, count)
    return peak
