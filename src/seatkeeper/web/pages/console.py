"""The reference agent console: a page where an agent opens a session and works in Flows
(its call to open the session is in web/api/console.py)."""

from __future__ import annotations

import json
import secrets

from litestar import get
from litestar.params import FromPath
from litestar.response import Template

from seatkeeper.domain.errors import AccountNotFound
from seatkeeper.services import accounts, flows
from seatkeeper.web.api.console import CONSOLE_COOKIE
from seatkeeper.web.deps import RuntimeDep
from seatkeeper.web.errors import AnyRequest


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
