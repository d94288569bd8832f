"""The reference agent console: a page where an agent opens a session and works in Flows.

The page opens (or joins) the session through seatkeeper itself, so no application
key reaches the browser; every later call goes to the agent API with the session's
token, exactly as any Agent Application's would.
"""

from __future__ import annotations

import hmac
import json
import secrets

from litestar import Response, Router, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Template

from seatkeeper.domain.errors import AccountNotFound, CsrfRefused
from seatkeeper.services import accounts, agents, flows
from seatkeeper.web.api.agent import OpenSessionRequest, SessionOpened, opened
from seatkeeper.web.deps import RuntimeDep, Source
from seatkeeper.web.errors import AnyRequest

CONSOLE_COOKIE = "seatkeeper_console"  # ties the console's calls to the page seatkeeper served


def _path(account: str) -> str:
    return f"/console/{account}"


@get("/console/{account:str}", sync_to_thread=True, include_in_schema=False)
def console(request: AnyRequest, runtime: RuntimeDep, account: FromPath[str]) -> Template:
    found = accounts.get_account(runtime.db, account)
    if not found.console_enabled:
        raise AccountNotFound  # as if it did not exist: the console does not confirm accounts
    csrf = secrets.token_urlsafe(32)
    offered = [{"name": f.name, "steps": list(f.steps)} for f in flows.flows_of(runtime.db, found)]
    page = Template(
        template_name="console.html",
        context={
            "account": found,
            "csrf": csrf,
            "flows_json": json.dumps(offered),
            "heartbeat_seconds": max(5, min(60, int(found.session_timeout.total_seconds() / 3))),
            "nav": None,
        },
    )
    page.set_cookie(
        CONSOLE_COOKIE,
        csrf,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=_path(found.slug),
    )
    return page


@post("/console/{account:str}/sessions", sync_to_thread=True, include_in_schema=False)
def console_session(
    request: AnyRequest,
    runtime: RuntimeDep,
    source: Source,
    account: FromPath[str],
    data: JSONBody[OpenSessionRequest | None] = None,
) -> Response[SessionOpened]:
    """Open or join a session for the console, as POST /api/v1/sessions does for a key."""
    expected = request.cookies.get(CONSOLE_COOKIE, "")
    sent = request.headers.get("x-csrf-token", "")
    if not expected or not hmac.compare_digest(expected, sent):
        raise CsrfRefused
    result = agents.open_console_session(
        runtime.db,
        runtime.passwords,
        account_slug=account,
        credentials=(data or OpenSessionRequest()).credentials(),
        clock=runtime.clock,
        source=source,
    )
    return opened(result)


# Its refusals are JSON, like the agent API's: the console's script reads them.
console_api_router = Router(path="/", route_handlers=[console_session], include_in_schema=False)
