"""The unit of work: what one write transaction did, recorded by storage as it writes.

`Database.write()` opens a unit for its transaction. Storage functions that change
something record an event on it (`record`); just before COMMIT the unit announces the
change to the account's pages and drops the kept usage days it touches, in the same
transaction; after COMMIT the database hands the events to whoever counts them (the
web app's metrics). No use case does any of this by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from seatkeeper.domain.events import (
    AccountChanged,
    Event,
    SessionEnded,
    history_changed_since,
)

_KEY = "seatkeeper_unit"


@dataclass
class Unit:
    events: list[Event] = field(default_factory=list)

    def announced(self) -> dict[int, datetime]:
        """The accounts whose pages must hear of this transaction, each with its latest instant."""
        latest: dict[int, datetime] = {}
        for event in self.events:
            at = latest.get(event.account_id)
            latest[event.account_id] = event.at if at is None else max(at, event.at)
        return latest

    def freeing(self) -> dict[int, tuple[datetime, datetime]]:
        """The accounts where a license may have freed for someone waiting (a session
        ended, or the licenses or groups changed): the transaction's latest instant, and
        the earliest a session ended (else that instant)."""
        found: dict[int, tuple[datetime, datetime]] = {}
        for event in self.events:
            if not isinstance(event, SessionEnded | AccountChanged):
                continue
            at, freed = found.get(event.account_id, (event.at, event.at))
            if isinstance(event, SessionEnded):
                freed = min(freed, event.at)
            found[event.account_id] = (max(at, event.at), freed)
        return found

    def stale_days(self) -> dict[int, datetime]:
        """The accounts whose kept usage days are wrong from an instant on, with that instant."""
        since: dict[int, datetime] = {}
        for event in self.events:
            changed = history_changed_since(event)
            if changed is not None:
                earlier = since.get(event.account_id)
                since[event.account_id] = changed if earlier is None else min(earlier, changed)
        return since


def begin(conn: Connection) -> Unit:
    """Open the unit of the write transaction on `conn`. It is kept in the connection's
    own options, which go with it (not with the pooled driver connection behind it)."""
    unit = Unit()
    conn.execution_options(**{_KEY: unit})
    return unit


def record(conn: Connection, event: Event) -> None:
    """Record on the transaction's unit what a write did."""
    unit = conn.get_execution_options().get(_KEY)
    if unit is None:
        raise RuntimeError("storage writes run inside Database.write()")
    unit.events.append(event)
