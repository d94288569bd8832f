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

from seatkeeper.domain.errors import CsrfRefused, DomainError
from seatkeeper.web.deps import LoginRequired, Runtime, current_visitor
from seatkeeper.web.errors import AnyRequest, log, status_of
from seatkeeper.web.pages.flash import shown
from seatkeeper.web.pages.views import Nav, nav


def page(
    request: AnyRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> Template:
    """A page; it drops the flash it was sent, if any (the flash is shown once)."""
    return shown(request, Template(template_name=template, context=context, status_code=status))


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
    found = current_visitor(request, runtime, runtime.clock.now())
    return None if found is None else nav(found)


def error_page(request: AnyRequest, exc: DomainError) -> Template:
    status = status_of(type(exc))
    heading = HEADINGS.get(status, "Something is wrong")
    if isinstance(exc, CsrfRefused):
        heading = "This form has expired"
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
