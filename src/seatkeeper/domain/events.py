"""What a write did, as storage records it on the unit of work (storage.unit).

Each event carries its account and `at`, the instant of the transaction that did it.
The unit turns them into their effects: the account's pages hear of the change, the
kept usage days the change makes wrong are dropped, and the metrics count it once the
transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatkeeper.domain.model import EndReason


@dataclass(frozen=True, slots=True)
class SessionOpened:
    account_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class SessionEnded:
    account_id: int
    at: datetime
    reason: EndReason


@dataclass(frozen=True, slots=True)
class OpenDenied:
    """An open refused because every license was in use: a denial."""

    account_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class InteractionOpened:
    account_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class InteractionClosed:
    account_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class AccountChanged:
    """Something the account's pages show changed: a setting, a user, an alert."""

    account_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class HistoryWritten:
    """Sessions or refusals written in the past (the demo's history), from `since` on."""

    account_id: int
    at: datetime
    since: datetime


Event = (
    SessionOpened
    | SessionEnded
    | OpenDenied
    | InteractionOpened
    | InteractionClosed
    | AccountChanged
    | HistoryWritten
)


def history_changed_since(event: Event) -> datetime | None:
    """The instant from which the usage history reads differently after `event`, if any.

    A timeout recorded late changes nothing: usage already ends an unended session at its
    expiry. Interactions and settings are not part of the history.
    """
    match event:
        case SessionOpened() | OpenDenied():
            return event.at
        case SessionEnded():
            return None if event.reason is EndReason.TIMEOUT else event.at
        case HistoryWritten():
            return event.since
        case _:
            return None
