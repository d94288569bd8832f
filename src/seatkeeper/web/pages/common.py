"""What every page shares: its template with the flash it shows, a trip to the login page
for anonymous visitors, and errors as pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ExceptionHandlersMap

from seatkeeper.domain.errors import CsrfRefused, DomainError, NotAllowed
from seatkeeper.domain.model import Role
from seatkeeper.web.deps import LoginRequired, Runtime, Visitor, current_visitor
from seatkeeper.web.errors import AnyRequest, log, status_of
from seatkeeper.web.pages.flash import shown
from seatkeeper.web.pages.views import Nav, nav


def page(
    request: AnyRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> Template:
    """A page; it drops the flash it was sent, if any (the flash is shown once)."""
    return shown(request, Template(template_name=template, context=context, status_code=status))


def message_page(
    status: int,
    heading: str,
    message: str,
    *,
    testid: str,
    nav: Nav | None = None,
    console_url: str | None = None,
) -> Template:
    """A page that only says something: a heading, a sentence, and perhaps the way to the
    agent console."""
    context = {
        "heading": heading,
        "message": message,
        "testid": testid,
        "nav": nav,
        "console_url": console_url,
    }
    return Template(template_name="message.html", context=context, status_code=status)


def login_redirect(_request: AnyRequest, exc: LoginRequired) -> Response[None]:
    return Redirect(f"/login?next={quote(exc.back_to, safe='/')}", status_code=HTTP_303_SEE_OTHER)


HEADINGS = {403: "Not allowed", 404: "Not found"}


def _visitor(request: AnyRequest) -> Visitor | None:
    """Who is logged in, for an error page's top bar."""
    runtime: Runtime = request.app.state.runtime
    return current_visitor(request, runtime, runtime.clock.now())


def _nav(request: AnyRequest) -> Nav | None:
    """The top bar for an error page, when the visitor is logged in."""
    found = _visitor(request)
    return None if found is None else nav(found)


# What the roles below Account Admin do instead; {where} is where agents work.
_ROLE_WORK = {
    Role.AGENT: "you are signed in as an agent. Agents work in {where}",
    Role.DESIGNER: "you are signed in as a designer. Designers manage the account's Flows "
    "and work in {where}",
}


def role_work(visitor: Visitor) -> tuple[str, str | None]:
    """What an agent's or a designer's role is for, and the agent console's address when
    their account has it on."""
    account = visitor.account
    console_url = f"/console/{account.slug}" if account.console_enabled else None
    where = "the agent console" if console_url else "their Agent Application"
    return _ROLE_WORK[visitor.user.role].format(where=where), console_url


def not_for_role(visitor: Visitor) -> Template:
    """The 403 page of an agent or a designer on an admin page: what their role is for, and
    the way to the agent console when their account has it on."""
    work, console_url = role_work(visitor)
    message = f"You are not allowed to open this page: {work}; Account Admins manage licenses here."
    return message_page(
        403, HEADINGS[403], message, testid="error-403", nav=nav(visitor), console_url=console_url
    )


def error_page(request: AnyRequest, exc: DomainError) -> Template:
    status = status_of(type(exc))
    heading = HEADINGS.get(status, "Something is wrong")
    if isinstance(exc, CsrfRefused):
        heading = "This form has expired"
    visitor = _visitor(request)
    if isinstance(exc, NotAllowed) and visitor is not None and visitor.user.role in _ROLE_WORK:
        return not_for_role(visitor)
    shown_nav = None if visitor is None else nav(visitor)
    return message_page(status, heading, exc.message, testid=f"error-{status}", nav=shown_nav)


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
