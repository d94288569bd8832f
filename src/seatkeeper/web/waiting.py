"""Who waits in an account's line for a license, as people read it: the Active Agents
page's "Waiting for a license" part and the admin API's line show these the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from seatkeeper.services.line import Line
from seatkeeper.web.presenters import SECONDS, agent_label, duration, local


@dataclass(frozen=True, slots=True)
class Waiting:
    """A place in line, its times in the account's zone."""

    position: int  # 1 for the first
    wait_id: int
    agent_id: str | None  # the username; None for a Guest
    since: datetime  # when the place was asked for, in the account's zone
    waited: timedelta  # how long it has waited, as of the page's instant

    @property
    def agent(self) -> str:
        return agent_label(self.agent_id)

    @property
    def guest(self) -> bool:
        return self.agent_id is None

    @property
    def since_text(self) -> str:
        return self.since.strftime(SECONDS)

    @property
    def since_iso(self) -> str:
        return self.since.isoformat(timespec="seconds")

    @property
    def waited_text(self) -> str:
        return duration(self.waited)

    @property
    def waited_seconds(self) -> int:
        return max(0, self.waited // timedelta(seconds=1))


def places(line: Line, now: datetime) -> list[Waiting]:
    """The line's places in order, each with its position and how long it has waited."""
    return [
        Waiting(n, wait.id, username, local(wait.asked_at, line.account), now - wait.asked_at)
        for n, (wait, username) in enumerate(line.places, start=1)
    ]
