"""A small Python client for Agent Applications: open a session, work in Interactions, log out.

    from seatkeeper.client import Client

    with Client("http://127.0.0.1:8000", application_key="sk_app_...") as client:
        session = client.open_session("alice", "secret")  # or client.open_session() for Guest
        ticket = session.open_interaction("Password Reset")
        ticket.step("Verify identity")
        ticket.close()
        session.logout()

Every refusal is raised as a SeatkeeperError subclass carrying the server's code and message.
`session.keep_alive()` sends heartbeats from a background thread while the agent is idle.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx


class SeatkeeperError(Exception):
    """A refusal from the server, with its machine code and sentence."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class InvalidRequest(SeatkeeperError):
    pass


class Unauthorized(SeatkeeperError):
    """A missing, wrong or revoked key or token, or wrong credentials."""


class InvalidCredentials(Unauthorized):
    pass


class GuestsNotAllowed(SeatkeeperError):
    pass


class TooManyAttempts(SeatkeeperError):
    """Logins for this username (or from this address) are paused after too many wrong
    passwords."""


class LoginsBusy(SeatkeeperError):
    """The server is checking too many logins at once: nothing was tried, try again in a
    moment."""


class TooManyOpens(SeatkeeperError):
    """Sessions are opened from this address faster than the account's pace: wait a little."""


class NotFound(SeatkeeperError):
    pass


class LicenseLimitReached(SeatkeeperError):
    """Every license of the account is in use."""


class GroupLimitReached(LicenseLimitReached):
    """One of the agent's seat groups (or the Guests) holds its maximum."""


class SessionEnded(SeatkeeperError):
    """The session is over; start a new one."""


class SessionTerminated(SessionEnded):
    pass


class SessionExpired(SessionEnded):
    pass


class SessionLoggedOut(SessionEnded):
    pass


class UserDisabled(SessionEnded):
    """An administrator disabled the agent's user: their session ended."""


_BY_CODE: dict[str, type[SeatkeeperError]] = {
    "invalid_credentials": InvalidCredentials,
    "guests_not_allowed": GuestsNotAllowed,
    "too_many_attempts": TooManyAttempts,
    "logins_busy": LoginsBusy,
    "too_many_opens": TooManyOpens,
    "license_limit_reached": LicenseLimitReached,
    "group_limit_reached": GroupLimitReached,
    "session_terminated": SessionTerminated,
    "session_expired": SessionExpired,
    "session_logged_out": SessionLoggedOut,
    "user_disabled": UserDisabled,
}
_BY_STATUS: dict[int, type[SeatkeeperError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    404: NotFound,
    410: SessionEnded,
}


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", f"HTTP {response.status_code}: {response.text[:200]}"
    kind = _BY_CODE.get(code) or _BY_STATUS.get(response.status_code, SeatkeeperError)
    raise kind(response.status_code, code, message)


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
        _raise_for(response)
        return None if response.status_code == 204 else response.json()

    def flows(self) -> list[Flow]:
        """The Flows the account offers its agents."""
        response = self.http.get(
            "/api/v1/flows", headers={"Authorization": f"Bearer {self.application_key}"}
        )
        _raise_for(response)
        return [Flow(f["name"], tuple(f["steps"])) for f in response.json()["flows"]]

    def open_session(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        id_token: str | None = None,
    ) -> Session:
        """Open a session (a Guest one without credentials), or join the agent's open one;
        `id_token`: the agent signed in at the account's single sign-on provider."""
        body: dict[str, str | None] = (
            {"id_token": id_token}
            if id_token is not None
            else {}
            if username is None
            else {"username": username, "password": password}
        )
        response = self.http.post(
            "/api/v1/sessions",
            json=body,
            headers={"Authorization": f"Bearer {self.application_key}"},
        )
        _raise_for(response)
        data = response.json()
        return Session(
            client=self,
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
