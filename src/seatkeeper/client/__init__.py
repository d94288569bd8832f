"""A small Python client for Agent Applications: open a session, work in Interactions, log out.

    from seatkeeper.client import Client

    with Client("http://127.0.0.1:8000", application_key="sk_app_...") as client:
        session = client.open_session("alice", "secret")  # or client.open_session() for Guest
        ticket = session.open_interaction("Password Reset")
        ticket.step("Verify identity")
        ticket.close()
        session.logout()

With every license held, `client.open_session(..., wait=True)` waits in the account's line
for one (first asked, first seated) and returns the session once seated.

Every refusal is raised as a SeatkeeperError subclass carrying the server's code and message.
`session.keep_alive()` sends heartbeats from a background thread while the agent is idle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from types import TracebackType
from typing import Any

import httpx

from seatkeeper.client.errors import (
    BadAnswer,
    GroupLimitReached,
    GuestsNotAllowed,
    InvalidCredentials,
    InvalidRequest,
    LicenseLimitReached,
    LoginsBusy,
    NotFound,
    SeatkeeperError,
    SessionEnded,
    SessionExpired,
    SessionLoggedOut,
    SessionTerminated,
    TooManyAttempts,
    TooManyOpens,
    Unauthorized,
    UserDisabled,
    WaitCollected,
    WaitEnded,
    WaitLeft,
    WaitTimedOut,
    raise_for,
)
from seatkeeper.client.line import LineTimeout, Place, follow

__all__ = [
    "BadAnswer",
    "Client",
    "Flow",
    "GroupLimitReached",
    "GuestsNotAllowed",
    "Interaction",
    "InvalidCredentials",
    "InvalidRequest",
    "KeepAlive",
    "LicenseLimitReached",
    "LineTimeout",
    "LoginsBusy",
    "NotFound",
    "Place",
    "SeatkeeperError",
    "Session",
    "SessionEnded",
    "SessionExpired",
    "SessionLoggedOut",
    "SessionTerminated",
    "TooManyAttempts",
    "TooManyOpens",
    "Unauthorized",
    "UserDisabled",
    "WaitCollected",
    "WaitEnded",
    "WaitLeft",
    "WaitTimedOut",
]


class Client:
    """Talks to one seatkeeper server for one account (its application key)."""

    def __init__(
        self,
        base_url: str,
        application_key: str,
        *,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.application_key = application_key
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, token: str, json: Any = None) -> Any:
        """One API call; returns the decoded JSON body (None for 204)."""
        response = self.http.request(
            method, path, json=json, headers={"Authorization": f"Bearer {token}"}
        )
        raise_for(response)
        return None if response.status_code == 204 else response.json()

    def flows(self) -> list[Flow]:
        """The Flows the account offers its agents."""
        response = self.http.get(
            "/api/v1/flows", headers={"Authorization": f"Bearer {self.application_key}"}
        )
        raise_for(response)
        return [Flow(f["name"], tuple(f["steps"])) for f in response.json()["flows"]]

    def open_session(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        id_token: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
        on_position: Callable[[Place], object] | None = None,
    ) -> Session:
        """Open a session (a Guest one without credentials), or join the agent's open one;
        `id_token`: the agent signed in at the account's single sign-on provider.

        With `wait` and every license held, wait in the account's line for one instead of
        raising LicenseLimitReached: `on_position(place)` is called with the place each time
        its position changes (the first time too), and the session is returned once seated.
        After `timeout` seconds (None: as long as it takes) the place is given up and
        LineTimeout (a LicenseLimitReached) is raised; a place that ended otherwise raises
        a WaitEnded. Anything else that stops the wait (an error, Ctrl-C) gives the place up.
        """
        if timeout is not None and (not wait or not timeout >= 0):
            raise ValueError("timeout is the seconds to wait in line: zero or more, with wait")
        deadline = None if timeout is None else time.monotonic() + timeout
        body: dict[str, Any] = (
            {"id_token": id_token}
            if id_token is not None
            else {}
            if username is None
            else {"username": username, "password": password}
        )
        if wait:
            body["wait"] = True
        response = self.http.post(
            "/api/v1/sessions",
            json=body,
            headers={"Authorization": f"Bearer {self.application_key}"},
        )
        raise_for(response)
        if wait and response.status_code == 202:
            seat = partial(_session, self)
            return follow(self.http, response, seat, deadline=deadline, on_position=on_position)
        return _session(self, response)


def _session(client: Client, response: httpx.Response) -> Session:
    """The session an open (or a seated place in line) answered."""
    data = response.json()
    return Session(
        client=client,
        session_id=data["session_id"],
        token=data["token"],
        agent_id=data["agent_id"],
        started_at=datetime.fromisoformat(data["started_at"]),
        expires_at=datetime.fromisoformat(data["expires_at"]),
        joined=response.status_code == 200,
    )


@dataclass
class Session:
    """One agent session (one license), as seen from one browser or process."""

    client: Client = field(repr=False)
    session_id: str
    token: str = field(repr=False)
    agent_id: str | None
    started_at: datetime
    expires_at: datetime
    joined: bool

    def _call(self, method: str, path: str = "", json: Any = None) -> Any:
        return self.client.call(
            method, f"/api/v1/sessions/{self.session_id}{path}", self.token, json
        )

    def heartbeat(self) -> datetime:
        """Record activity; returns the new expiry."""
        self.expires_at = datetime.fromisoformat(self._call("POST", "/heartbeat")["expires_at"])
        return self.expires_at

    def open_interaction(self, flow: str) -> Interaction:
        """Open a Flow as an Interaction."""
        data = self._call("POST", "/interactions", {"flow": flow})
        return Interaction(self, data["interaction_id"], data["flow"])

    def logout(self) -> None:
        """End the session and free its license."""
        self._call("DELETE")

    def state(self) -> list[Interaction]:
        """The session's open Interactions, from every browser or process that joined it."""
        data = self._call("GET")
        self.expires_at = datetime.fromisoformat(data["expires_at"])
        return [Interaction(self, i["interaction_id"], i["flow"]) for i in data["interactions"]]

    def keep_alive(self, interval: float = 60.0) -> KeepAlive:
        """Heartbeats every `interval` seconds from a background thread, until stopped."""
        return KeepAlive(self, interval)


@dataclass(frozen=True)
class Flow:
    """A Flow the account offers: its name and ordered step titles."""

    name: str
    steps: tuple[str, ...]


class KeepAlive:
    """A background thread that keeps a session alive with heartbeats.

    It stops when told to (or on leaving a `with` block), and by itself when the
    server answers that the session has ended; `ended` then holds that answer.
    """

    def __init__(self, session: Session, interval: float) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.session = session
        self.interval = interval
        self.ended: SessionEnded | None = None
        self.errors = 0  # failed heartbeats (network trouble) that were retried
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="seatkeeper-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.session.heartbeat()
            except SessionEnded as exc:
                self.ended = exc
                return
            except (SeatkeeperError, httpx.HTTPError):
                self.errors += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the heartbeats to stop by themselves (the session ended); True if they did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> KeepAlive:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@dataclass
class Interaction:
    """An open Flow instance in a session."""

    session: Session = field(repr=False)
    interaction_id: str
    flow: str

    def step(self, step: str) -> None:
        """Navigate to a step of the Flow."""
        self.session._call("POST", f"/interactions/{self.interaction_id}/steps", {"step": step})

    def close(self) -> None:
        self.session._call("DELETE", f"/interactions/{self.interaction_id}")
