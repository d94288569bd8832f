"""The domain's refusals. Each has a stable machine code and a sentence for people."""

from __future__ import annotations

import math
from datetime import timedelta

from seatkeeper.domain.words import plural


class DomainError(Exception):
    """A request seatkeeper refuses. `code` is part of the API contract."""

    code = "error"
    message = "The request was refused."

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class InvalidInput(DomainError):
    code = "invalid_request"
    message = "The request is not valid."


class DestinationRefused(InvalidInput):
    """A webhook's address that seatkeeper will not send to (not a public address ...)."""

    code = "destination_refused"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"This webhook's destination is refused: {reason}.")


class TooManyWebhooks(DomainError):
    code = "too_many_webhooks"

    def __init__(self, most: int) -> None:
        super().__init__(
            f"An account has {most} webhooks at most: remove one before adding another."
        )


class InvalidFields(InvalidInput):
    """Some fields of a form (or a JSON body) are not valid; each has its own sentence."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__(" ".join(fields.values()))


class InvalidSort(InvalidInput):
    code = "invalid_sort"


class InvalidPeriod(InvalidInput):
    code = "invalid_period"


class MissingCredentials(DomainError):
    code = "missing_credentials"
    message = "This call needs an Authorization: Bearer header."


class InvalidToken(DomainError):
    code = "invalid_token"
    message = "The bearer token is not valid, or has been revoked."


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    message = "The username or password is not correct."


class TooManyAttempts(DomainError):
    code = "too_many_attempts"

    def __init__(self, username: str, *, retry_after: timedelta, from_anywhere: bool) -> None:
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after.total_seconds() / 60))
        where = "lately" if from_anywhere else "from this address"
        super().__init__(
            f"Too many wrong passwords for {username!r} {where}: logins for it are paused "
            f"for a while. Try again in {plural(minutes, 'minute')}."
        )


class AddressPaused(TooManyAttempts):
    """Too many wrong passwords from one address, whatever the usernames tried."""

    def __init__(self, *, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after.total_seconds() / 60))
        DomainError.__init__(
            self,
            "Too many wrong passwords from this address: logins from it are paused for a "
            f"while. Try again in {plural(minutes, 'minute')}.",
        )


class LoginsBusy(DomainError):
    """Every password check is taken and the queue is full: the login is not tried."""

    code = "logins_busy"

    def __init__(
        self,
        *,
        retry_after: timedelta,
        why: str = "The server is checking too many logins at once.",
    ) -> None:
        self.retry_after = retry_after
        seconds = max(1, math.ceil(retry_after.total_seconds()))
        super().__init__(f"{why} Nothing was tried: try again in {plural(seconds, 'second')}.")


class LoginsChecking(LoginsBusy):
    """Other logins for this username (or from this address) are being checked, and would
    pause it if their passwords were wrong: this one waits for them."""

    def __init__(self, username: str | None, *, retry_after: timedelta) -> None:
        whose = "from this address" if username is None else f"for {username!r}"
        super().__init__(retry_after=retry_after, why=f"Other logins {whose} are being checked.")


class CsrfRefused(DomainError):
    code = "csrf_refused"
    message = (
        "This request did not come from a seatkeeper page (its CSRF token is missing or "
        "wrong). Reload the page and try again."
    )


class NotAllowed(DomainError):
    code = "not_allowed"
    message = "You are not allowed to do this: your role does not allow it."


class GuestsNotAllowed(DomainError):
    code = "guests_not_allowed"
    message = "This account requires agents to log in; Guest sessions are not allowed."


class AccountNotFound(DomainError):
    code = "account_not_found"
    message = "No such account."


class SessionNotFound(DomainError):
    code = "session_not_found"
    message = "No such session for this token."


class InteractionNotFound(DomainError):
    code = "interaction_not_found"
    message = "No such interaction in this session."


class FlowNotFound(DomainError):
    code = "flow_not_found"
    message = "No such Flow in this account."


class UserNotFound(DomainError):
    code = "user_not_found"
    message = "No such user in this account."


class GroupNotFound(DomainError):
    code = "group_not_found"
    message = "No such seat group in this account."


class PasswordLinkInvalid(DomainError):
    code = "password_link_invalid"
    message = "This link to set a password was used already, has expired, or never existed."


class WebhookNotFound(DomainError):
    code = "webhook_not_found"
    message = "No such webhook in this account."


class KeyNotFound(DomainError):
    code = "key_not_found"
    message = "No such application key or user token in this account."


class InteractionClosed(DomainError):
    code = "interaction_closed"
    message = "This interaction is already closed."


class LicenseLimitReached(DomainError):
    code = "license_limit_reached"

    def __init__(self, licenses: int, overdraft: int = 0) -> None:
        super().__init__(
            "This account has no licenses: ask your administrator for one."
            if licenses == 0 and overdraft == 0
            else f"{_held(licenses, overdraft)} in use. Try again when an agent logs out, "
            "or ask your administrator to free a session."
        )


class ReservedLicensesInUse(LicenseLimitReached):
    """The claimant's group's reserved licenses are all held, and no unreserved one is free."""

    def __init__(self, group: str, reserved: int) -> None:
        held = (
            f"The only license reserved for {group} is"
            if reserved == 1
            else f"All {plural(reserved, 'license')} reserved for {group} are"
        )
        DomainError.__init__(self, f"{held} in use and no unreserved license is free.")


class UnreservedLicensesInUse(LicenseLimitReached):
    """Every license the claimant may hold (an unreserved one) is held."""

    def __init__(self, unreserved: int) -> None:
        if unreserved <= 0:
            message = "Every license is reserved for a group this agent is not in."
        elif unreserved == 1:
            message = "The only unreserved license is in use."
        else:
            message = f"All {plural(unreserved, 'unreserved license')} are in use."
        DomainError.__init__(self, message)


class GroupLimitReached(LicenseLimitReached):
    """The claimant's group already holds its maximum. (A kind of full pool, so that whoever
    waits for a license to free waits for this too; its own code says which.)"""

    code = "group_limit_reached"

    def __init__(self, group: str, maximum: int) -> None:
        DomainError.__init__(self, f"{group} may hold at most {plural(maximum, 'license')}.")


class SessionEnded(DomainError):
    """Any call for a session that has ended."""


class SessionTerminated(SessionEnded):
    code = "session_terminated"
    message = "Your session was terminated by an administrator."


class SessionExpired(SessionEnded):
    code = "session_expired"
    message = "Your session timed out after a period without activity. Start a new session."


class SessionUserDisabled(SessionEnded):
    code = "user_disabled"
    message = "Your user was disabled by an administrator: ask them to enable it again."


class SessionLoggedOut(SessionEnded):
    code = "session_logged_out"
    message = "This session was logged out. Start a new session."


class WaitNotFound(DomainError):
    code = "wait_not_found"
    message = "No such place in line for this ticket."


class WaitEnded(DomainError):
    """A ticket for a place in line that has ended."""

    code = "wait_ended"
    message = "This place in line has ended."


class WaitLeft(WaitEnded):
    code = "wait_left"
    message = (
        "This place in line has ended: it was left, or its agent was disabled or signed "
        "out. Ask for a license again."
    )


class WaitTimedOut(WaitEnded):
    code = "wait_timed_out"
    message = "This ticket was not followed in time and left the line. Ask for a license again."


class WaitCollected(WaitEnded):
    code = "wait_collected"
    message = "This ticket's session was already taken: its token was shown once."


class Conflict(DomainError):
    code = "conflict"


class ReservationsExceedLicenses(Conflict):
    """Reserved licenses would add up to more than the account's licenses."""

    code = "reservations_exceed_licenses"

    def __init__(self, reserved: int, licenses: int) -> None:
        super().__init__(
            f"Reservations would add up to {plural(reserved, 'license')}, "
            f"more than the account's {licenses:,}."
        )


def _held(licenses: int, overdraft: int) -> str:
    """What is all in use: the licenses, and the overdraft when the account has one."""
    if overdraft == 0:
        return "The only license is" if licenses == 1 else f"All {plural(licenses, 'license')} are"
    if licenses == 0:
        return f"The account has no licenses, and its overdraft of {overdraft:,} is"
    held = "The only license" if licenses == 1 else f"All {plural(licenses, 'license')}"
    return f"{held} and the overdraft of {overdraft:,} are"


class UnknownFlow(InvalidInput):
    code = "unknown_flow"


class UnknownStep(InvalidInput):
    code = "unknown_step"


class TooManyInteractions(Conflict):
    code = "too_many_interactions"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This session already has {plural(limit, 'Interaction')} open, the most the account "
            "allows at once: close one before opening another."
        )


class TooManyOpens(TooManyAttempts):
    """Session opens from one address come faster than the account's licenses explain."""

    code = "too_many_opens"

    def __init__(self, *, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        seconds = max(1, math.ceil(retry_after.total_seconds()))
        DomainError.__init__(
            self,
            "Too many sessions were opened from this address just now: try again in "
            f"{plural(seconds, 'second')}.",
        )


class SignInRefused(DomainError):
    """An ID token, a sign-in or a logout token that seatkeeper does not accept."""

    code = "invalid_id_token"
    message = "The sign-in was refused."


class ProviderUnavailable(DomainError):
    """The account's provider could not be reached, or answered something unusable."""

    code = "identity_provider_unavailable"


class NoProvider(DomainError):
    code = "single_sign_on_not_configured"
    message = "This account has no single sign-on provider."


class PasswordsOff(DomainError):
    code = "passwords_off"

    def __init__(self, provider: str) -> None:
        super().__init__(f"This account logs in through {provider} only: Log in with {provider}.")
