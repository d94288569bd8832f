"""The reference agent console's one call of its own: opening (or joining) a session.

The console page opens the session through seatkeeper itself, so no application key
reaches the browser; every later call goes to the agent API with the session's token,
exactly as any Agent Application's would. Its refusals are JSON, like the agent API's:
the console's script reads them.
"""

from __future__ import annotations

from litestar import Router, post
from litestar.params import FromPath, JSONBody
from litestar.types import ASGIApp

from seatkeeper.services import seats
from seatkeeper.web.api.agent import OpenSessionRequest, opened, seat
from seatkeeper.web.deps import PAGE_GUARDS, RuntimeDep, Source
from seatkeeper.web.errors import AnyRequest


@post("/console/{account:str}/sessions", include_in_schema=False)
async def console_session(
    request: AnyRequest,
    runtime: RuntimeDep,
    source: Source,
    account: FromPath[str],
    data: JSONBody[OpenSessionRequest | None] = None,
) -> ASGIApp:
    """Open or join a session for the console, as POST /api/v1/sessions does for a key."""
    door = seats.Claim(console=account)
    return opened(await seat(request, runtime, door, data or OpenSessionRequest(), source))


# Called by the console page's script, which sends the page's CSRF token (as every page does).
console_api_router = Router(
    path="/", route_handlers=[console_session], guards=PAGE_GUARDS, include_in_schema=False
)
