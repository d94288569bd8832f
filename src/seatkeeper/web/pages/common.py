"""What every page needs: the logged-in user (or a trip to the login page) and errors as pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from litestar import Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ExceptionHandlersMap

from seatkeeper.domain.errors import DomainError
from seatkeeper.domain.model import Account, User
from seatkeeper.services import accounts, logins
from seatkeeper.web.deps import Runtime, login_token
from seatkeeper.web.errors import AnyRequest, log, status_of
from seatkeeper.web.pages.views import Nav, nav


class LoginRequired(Exception):
    """The visitor must log in first; they come back to `back_to` afterwards."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


@dataclass(frozen=True, slots=True)
class Visitor:
    """A logged-in user of the pages."""

    user: User
    account: Account  # their own
    csrf: str  # what their forms and the page's API calls must carry

    def nav(self, current: str = "", *, viewing: Account | None = None) -> Nav:
        """The top bar; its Account menu leads to the pages of the account being viewed
        (a super_admin's may be another's)."""
        return nav(self.user, viewing or self.account, self.csrf, current)


def visitor(request: AnyRequest, runtime: Runtime, now: datetime) -> Visitor | None:
    """The logged-in user behind the request's cookie, if any."""
    token = login_token(request)
    user = None if token is None else logins.logged_in_user(runtime.db, token, now=now)
    if token is None or user is None:
        return None
    return Visitor(user, accounts.account_of(runtime.db, user), logins.csrf_token(token))


def required_visitor(request: AnyRequest, runtime: Runtime, now: datetime) -> Visitor:
    """The logged-in user, or a redirect to the login page and back."""
    found = visitor(request, runtime, now)
    if found is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise LoginRequired(request.url.path + query)
    return found


def message_page(
    status: int, heading: str, message: str, *, testid: str, nav: Nav | None = None
) -> Template:
    return Template(
        template_name="message.html",
        context={"heading": heading, "message": message, "testid": testid, "nav": nav},
        status_code=status,
    )


def login_redirect(_request: AnyRequest, exc: LoginRequired) -> Response[None]:
    return Redirect(f"/login?next={quote(exc.back_to, safe='/')}", status_code=HTTP_303_SEE_OTHER)


HEADINGS = {403: "Not allowed", 404: "Not found"}


def _nav(request: AnyRequest) -> Nav | None:
    """The top bar for an error page, when the visitor is logged in."""
    runtime: Runtime = request.app.state.runtime
    found = visitor(request, runtime, runtime.clock.now())
    return None if found is None else found.nav()


def error_page(request: AnyRequest, exc: DomainError) -> Template:
    status = status_of(type(exc))
    heading = HEADINGS.get(status, "Something is wrong")
    return message_page(status, heading, exc.message, testid=f"error-{status}", nav=_nav(request))


def http_error_page(request: AnyRequest, exc: HTTPException) -> Template:
    heading = HEADINGS.get(exc.status_code, "Something is wrong")
    return message_page(
        exc.status_code, heading, exc.detail, testid=f"error-{exc.status_code}", nav=_nav(request)
    )


def internal_error_page(request: AnyRequest, exc: Exception) -> Template:
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return message_page(
        500,
        "Something went wrong",
        "seatkeeper could not show this page; the error has been logged. Try again.",
        testid="error-500",
    )


PAGE_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    LoginRequired: login_redirect,
    DomainError: error_page,
    HTTPException: http_error_page,
    Exception: internal_error_page,
}
