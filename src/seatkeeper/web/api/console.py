"""The reference agent console's one call of its own: opening (or joining) a session.

The console page opens the session through seatkeeper itself, so no application key
reaches the browser; every later call goes to the agent API with the session's token,
exactly as any Agent Application's would. Its refusals are JSON, like the agent API's:
the console's script reads them.
"""

from __future__ import annotations

import hmac

from litestar import Response, Router, post
from litestar.params import FromPath, JSONBody

from seatkeeper.domain.errors import CsrfRefused
from seatkeeper.services import agents
from seatkeeper.web.api.agent import OpenSessionRequest, SessionOpened, opened
from seatkeeper.web.deps import RuntimeDep, Source
from seatkeeper.web.errors import AnyRequest

CONSOLE_COOKIE = "seatkeeper_console"  # ties the console's calls to the page seatkeeper served


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


console_api_router = Router(path="/", route_handlers=[console_session], include_in_schema=False)
