"""A small Python client for Agent Applications: open a session, work in Interactions, log out.

    from seatkeeper.client import Client

    with Client("http://127.0.0.1:8000", application_key="sk_app_...") as client:
        session = client.open_session("alice", "secret")  # or client.open_session() for Guest
        ticket = session.open_interaction("Password Reset")
        ticket.step("Verify identity")
        ticket.close()
        session.logout()

Every refusal is raised as a SeatkeeperError subclass carrying the server's code and message.
"""

from __future__ import annotations

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


class NotFound(SeatkeeperError):
    pass


class LicenseLimitReached(SeatkeeperError):
    """Every license of the account is in use."""


class SessionEnded(SeatkeeperError):
    """The session is over; start a new one."""


class SessionTerminated(SessionEnded):
    pass


class SessionExpired(SessionEnded):
    pass


class SessionLoggedOut(SessionEnded):
    pass


_BY_CODE: dict[str, type[SeatkeeperError]] = {
    "invalid_credentials": InvalidCredentials,
    "guests_not_allowed": GuestsNotAllowed,
    "license_limit_reached": LicenseLimitReached,
    "session_terminated": SessionTerminated,
    "session_expired": SessionExpired,
    "session_logged_out": SessionLoggedOut,
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

    def open_session(self, username: str | None = None, password: str | None = None) -> Session:
        """Open a session (a Guest one without credentials), or join the agent's open one."""
        body = {} if username is None else {"username": username, "password": password}
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
