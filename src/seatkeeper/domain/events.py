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
class Event:
    """Something a write did in an account, at the instant of its transaction."""

    account_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class SessionOpened(Event):
    pass


@dataclass(frozen=True, slots=True)
class SessionEnded(Event):
    reason: EndReason


@dataclass(frozen=True, slots=True)
class OpenDenied(Event):
    """An open refused because every license was in use: a denial."""


@dataclass(frozen=True, slots=True)
class InteractionOpened(Event):
    pass


@dataclass(frozen=True, slots=True)
class InteractionClosed(Event):
    pass


@dataclass(frozen=True, slots=True)
class AccountChanged(Event):
    """Something the account's pages show changed: a setting, a user, an alert."""


@dataclass(frozen=True, slots=True)
class LineChanged(Event):
    """Someone joined or left the account's line for a license, or was seated from it."""


@dataclass(frozen=True, slots=True)
class HistoryWritten(Event):
    """Sessions or denials written in the past (the demo's history), from `since` on."""

    since: datetime


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
