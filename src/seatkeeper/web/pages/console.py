"""The reference agent console: a page where an agent opens a session and works in Flows
(its call to open the session is in web/api/console.py)."""

from __future__ import annotations

import json

from litestar import get
from litestar.params import FromPath
from litestar.response import Template

from seatkeeper.domain.errors import AccountNotFound
from seatkeeper.services import accounts, flows, sso
from seatkeeper.web import presenters as shown
from seatkeeper.web.deps import RuntimeDep
from seatkeeper.web.errors import AnyRequest
from seatkeeper.web.pages import flash


@get("/console/{account:str}", sync_to_thread=True, include_in_schema=False)
def console(request: AnyRequest, runtime: RuntimeDep, account: FromPath[str]) -> Template:
    found = accounts.get_account(runtime.db, account)
    if not found.console_enabled:
        raise AccountNotFound  # as if it did not exist: the console does not confirm accounts
    offered = [{"name": f.name, "steps": list(f.steps)} for f in flows.flows_of(runtime.db, found)]
    page = Template(
        template_name="console.html",
        context={
            "account": found,
            "provider": sso.provider_of_account(runtime.db, found),
            "error": flash.received(request).error,  # a single sign-on that did not happen
            "flows_json": json.dumps(offered),
            "timeout_minutes": int(shown.timeout_minutes(found)),
            "heartbeat_seconds": max(5, min(60, int(found.session_timeout.total_seconds() / 3))),
            "nav": None,
        },
    )
    return flash.shown(request, page)
