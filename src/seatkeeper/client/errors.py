"""The client's exceptions: every refusal from the server, by its code (or status)."""

from __future__ import annotations

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


class WaitEnded(SeatkeeperError):
    """The place in line ended before it was seated: ask for a license again."""


class WaitLeft(WaitEnded):
    pass


class WaitTimedOut(WaitEnded):
    """The ticket was not followed in time (the server's ticket timeout)."""


class WaitCollected(WaitEnded):
    """The place's session was taken already, by another follow of the same ticket."""


class BadAnswer(SeatkeeperError):
    """The server answered something that is not what the API says it answers."""


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
    "wait_ended": WaitEnded,
    "wait_left": WaitLeft,
    "wait_timed_out": WaitTimedOut,
    "wait_collected": WaitCollected,
}
_BY_STATUS: dict[int, type[SeatkeeperError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    404: NotFound,
    410: SessionEnded,
}


def raise_for(response: httpx.Response, gone: type[SeatkeeperError] = SessionEnded) -> None:
    """Raise the refusal `response` says, if it is one; `gone`: what a 410 without a code
    this client knows is."""
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", f"HTTP {response.status_code}: {response.text[:200]}"
    by_status = {**_BY_STATUS, 410: gone}
    kind = _BY_CODE.get(code) or by_status.get(response.status_code, SeatkeeperError)
    raise kind(response.status_code, code, message)
