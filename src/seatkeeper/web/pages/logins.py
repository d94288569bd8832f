"""Your logins: the logins to the pages of the visitor's own user, where they were made
and last seen, and the form that ends all but the one in use ("Log out everywhere
else")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from litestar import Response, get, post
from litestar.response import Template

from seatkeeper.domain.errors import MissingCredentials
from seatkeeper.domain.model import Account, PageLoginRow
from seatkeeper.domain.words import plural
from seatkeeper.services import page_logins
from seatkeeper.web import presenters as shown
from seatkeeper.web.deps import Now, RuntimeDep, Source, VisitorDep, login_token
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.pages.common import page
from seatkeeper.web.pages.flash import Flash, received, see_other
from seatkeeper.web.pages.views import nav

LOGINS_PAGE = "/logins"


@dataclass(frozen=True, slots=True)
class Login:
    """A login as the page lists it, times in the visitor's account's zone."""

    made: datetime
    source: str
    browser: str
    last_seen: datetime | None
    current: bool

    @property
    def made_text(self) -> str:
        return self.made.strftime(shown.MINUTES)

    @property
    def last_seen_text(self) -> str:
        return "Not since" if self.last_seen is None else self.last_seen.strftime(shown.MINUTES)


def login_of(row: PageLoginRow, account: Account) -> Login:
    return Login(
        shown.local(row.created_at, account),
        row.source or "Unknown",
        row.user_agent or "Unknown",
        shown.local_or_none(row.last_seen_at, account),
        row.current,
    )


def _token(request: AnyRequest) -> str:
    token = login_token(request)
    if token is None:  # the visitor's dependency found a login: it came with the cookie
        raise MissingCredentials
    return token


@get(LOGINS_PAGE, sync_to_thread=True, include_in_schema=False)
def logins_page(
    request: AnyRequest, runtime: RuntimeDep, now: Now, visitor: VisitorDep
) -> Template:
    rows = page_logins.own_logins(runtime.db, visitor.user, _token(request), now=now)
    flash = received(request)
    context = {
        "logins": [login_of(row, visitor.account) for row in rows],
        "time_zone": visitor.account.time_zone,
        "notice": flash.notice,
        "nav": nav(visitor, "logins"),
    }
    return page(request, "logins.html", context)


@post(LOGINS_PAGE + "/end-others", sync_to_thread=True, include_in_schema=False)
def end_other_logins(
    request: AnyRequest, runtime: RuntimeDep, now: Now, source: Source, visitor: VisitorDep
) -> Response[None]:
    """Log out everywhere else, and back to the list."""
    ended = page_logins.end_other_logins(
        runtime.db, visitor.user, _token(request), now=now, source=source
    )
    notice = f"{plural(ended, 'other login')} ended."
    return see_other(request, LOGINS_PAGE, Flash(notice=notice))
