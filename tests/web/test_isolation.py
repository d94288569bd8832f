"""Every admin route, API and pages, against every role, on the own account and a foreign
one: only the expected pairs succeed, a foreign account is answered as if it did not
exist, and a refused request changes nothing."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import Conflict
from seatkeeper.domain.model import KeyKind
from seatkeeper.services import access, flows, groups, keys, webhooks
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import (
    accounts,
    agent_sessions,
    api_keys,
    audit_events,
    capacity_alerts,
    license_changes,
    password_links,
    seat_group_members,
    seat_groups,
    sso_providers,
    users,
    web_logins,
)
from seatkeeper.storage.tables import (
    flows as flows_table,
)
from seatkeeper.storage.tables import (
    webhooks as webhooks_table,
)
from seatkeeper.web.deps import CSRF_COOKIE, LOGIN_COOKIE, token_for
from tests.conftest import World, bearer
from tests.sso_fakes import FakeProvider, keep_provider, provider_body
from tests.web.api.test_agent import login
from tests.web.pages.test_pages import log_in

Client = TestClient[Litestar]
ADMIN, DESIGNER = "account_admin", "designer"
ROLES = {  # who, and the token or login that acts for them
    "agent": ("alice", "acme"),
    "designer": ("dan", "acme"),
    "account_admin": ("admin", "acme"),
    "super_admin": ("root", "ops"),
    "foreign admin": ("gadmin", "globex"),
}
RANK = {"agent": 0, "designer": 1, "account_admin": 2, "super_admin": 3}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {sid}, {flow} and {hook} filled in per test
    needs: str  # the lowest role allowed
    body: Any = None
    page: bool = False
    streams: bool = False  # answers as a stream when allowed: only refusals are checked


API = "/api/v1/accounts/acme"
ROUTES = [
    Route("GET", f"{API}/active-sessions", ADMIN),
    Route("POST", f"{API}/active-sessions/terminate", ADMIN, {"session_ids": ["{sid}"]}),
    Route("GET", f"{API}/ended-sessions", ADMIN),
    Route("GET", f"{API}/alerts", ADMIN),
    Route("GET", f"{API}/usage", ADMIN),
    Route("GET", f"{API}/waits", ADMIN),
    Route("GET", f"{API}/usage/export", ADMIN),
    Route("GET", f"{API}/holders", ADMIN),
    Route("GET", f"{API}/holders/export", ADMIN),
    Route("GET", f"{API}/timeout-waste", ADMIN),
    Route("GET", f"{API}/active-sessions/export", ADMIN),
    Route("GET", f"{API}/flows", DESIGNER),
    Route("POST", f"{API}/flows", DESIGNER, {"name": "New One", "steps": ["Start"]}),
    Route("DELETE", f"{API}/flows/{{flow}}", DESIGNER),
    Route("DELETE", f"{API}/flows/%2F", DESIGNER),  # a Flow named "/", its path's end gone
    Route("GET", f"{API}/webhooks", ADMIN),
    Route("POST", f"{API}/webhooks", ADMIN, {"url": "https://hooks.example.com/hook"}),
    Route("PATCH", f"{API}/webhooks/{{hook}}", ADMIN, {"url": "https://hooks.example.com/new"}),
    Route("DELETE", f"{API}/webhooks/{{hook}}", ADMIN),
    Route("GET", f"{API}/settings", ADMIN),
    Route("PATCH", f"{API}/settings", ADMIN, {"name": "Acme Renamed", "time_zone": "Asia/Tokyo"}),
    Route("GET", f"{API}/users", ADMIN),
    Route("POST", f"{API}/users", ADMIN, {"username": "newcomer", "role": "agent"}),
    Route("PATCH", f"{API}/users/{{user}}", ADMIN, {"role": "designer"}),
    Route("POST", f"{API}/users/{{user}}/password", ADMIN, {}),
    Route("DELETE", f"{API}/users/{{user}}/logins", ADMIN),
    Route("GET", f"{API}/groups", ADMIN),
    Route("POST", f"{API}/groups", ADMIN, {"name": "New Team", "reserved": 1}),
    Route("PATCH", f"{API}/groups/guests", ADMIN, {"maximum": 2}),
    Route("PATCH", f"{API}/groups/{{group}}", ADMIN, {"reserved": 1, "maximum": 2}),
    Route("DELETE", f"{API}/groups/{{group}}", ADMIN),
    Route("PUT", f"{API}/groups/{{group}}/members", ADMIN, {"usernames": ["alice", "bob"]}),
    Route("GET", f"{API}/keys", ADMIN),
    Route("POST", f"{API}/keys", ADMIN, {"kind": "application", "name": "New Key"}),
    Route("POST", f"{API}/keys/{{key}}/revoke", ADMIN),
    Route("POST", f"{API}/keys/{{key}}/rotate", ADMIN, {"grace_minutes": 5}),
    Route("GET", f"{API}/sso", ADMIN),
    Route("PUT", f"{API}/sso", ADMIN, provider_body(display_name="Acme SSO")),
    Route("DELETE", f"{API}/sso", ADMIN),
    Route("GET", "/accounts/acme/active-agents", ADMIN, page=True),
    Route("GET", "/accounts/acme/active-agents/fragments", ADMIN, page=True),
    Route("GET", "/accounts/acme/active-agents/events", ADMIN, page=True, streams=True),
    Route("GET", "/accounts/acme/recently-ended", ADMIN, page=True),
    Route("GET", "/accounts/acme/holders", ADMIN, page=True),
    Route("GET", "/accounts/acme/usage-report", ADMIN, page=True),
    Route("GET", "/accounts/acme/settings", ADMIN, page=True),
    Route(
        "POST",
        "/accounts/acme/settings",
        ADMIN,
        {"name": "Acme Renamed", "time_zone": "Asia/Tokyo", "session_timeout_minutes": "45"},
        page=True,
    ),
    Route("GET", "/accounts/acme/users", ADMIN, page=True),
    Route(
        "POST",
        "/accounts/acme/users",
        ADMIN,
        {"username": "newcomer", "role": "agent", "password": "a good long password"},
        page=True,
    ),
    Route("POST", "/accounts/acme/users/{user}/role", ADMIN, {"role": "designer"}, page=True),
    Route("POST", "/accounts/acme/users/{user}/disable", ADMIN, {}, page=True),
    Route("POST", "/accounts/acme/users/{user}/enable", ADMIN, {}, page=True),
    Route("POST", "/accounts/acme/users/{user}/password", ADMIN, {}, page=True),
    Route("POST", "/accounts/acme/users/{user}/end-logins", ADMIN, {}, page=True),
    Route("GET", "/accounts/acme/keys", ADMIN, page=True),
    Route(
        "POST",
        "/accounts/acme/keys",
        ADMIN,
        {"kind": "user", "name": "Pg", "username": "bob"},
        page=True,
    ),
    Route(
        "POST",
        "/accounts/acme/settings/sso",
        ADMIN,
        {
            "issuer": "https://idp.example.com",
            "client_id": "seatkeeper-acme",
            "display_name": "Acme SSO",
            "username_claim": "preferred_username",
            "default_role": "agent",
            "passwords_allowed": "on",
        },
        page=True,
    ),
    Route("POST", "/accounts/acme/settings/sso/remove", ADMIN, {}, page=True),
    Route(
        "POST",
        "/accounts/acme/settings/groups",
        ADMIN,
        {"name": "Page Team", "reserved": "1", "maximum": ""},
        page=True,
    ),
    Route("POST", "/accounts/acme/settings/groups/guests", ADMIN, {"maximum": "2"}, page=True),
    Route(
        "POST",
        "/accounts/acme/settings/groups/{group}",
        ADMIN,
        {"name": "", "reserved": "1", "maximum": "2"},
        page=True,
    ),
    Route("POST", "/accounts/acme/settings/groups/{group}/delete", ADMIN, {}, page=True),
    Route("POST", "/accounts/acme/users/{user}/groups", ADMIN, {"group": "{group}"}, page=True),
    Route("POST", "/accounts/acme/keys/{key}/revoke", ADMIN, {}, page=True),
    Route("POST", "/accounts/acme/keys/{key}/rotate", ADMIN, {"grace_minutes": "5"}, page=True),
]


def test_the_table_covers_every_admin_route(app: Litestar) -> None:
    served = {
        (method, route.path.replace(":str", "").replace(":int", "").replace(":path", ""))
        for route in app.routes
        if route.path.startswith(("/api/v1/accounts/{account", "/accounts/{account"))
        for method in getattr(route, "methods", ())
        if method not in ("OPTIONS", "HEAD")
    }
    listed = {
        (r.method, r.path.replace("/acme", "/{account}").replace("{{", "{").replace("}}", "}"))
        for r in ROUTES
    }
    listed = {
        (
            method,
            path.replace("{flow}", "{name}")
            .replace("/flows/%2F", "/flows")
            .replace("{hook}", "{webhook_id}")
            .replace("{user}", "{username}")
            .replace("{key}", "{key_id}")
            .replace("{group}", "{group_id}"),
        )
        for method, path in listed
    }
    assert served == listed


def _new_key(db: Database, clock: FrozenClock) -> int:
    """An application key of acme's, for a revoke or a rotation to act on."""
    made = keys.make_key(
        db, OPERATOR, "acme", kind=KeyKind.APPLICATION, name="Old Key", now=clock.now()
    )
    return made.key.id


def _new_group(db: Database, clock: FrozenClock) -> int:
    """A group of acme's, for a change, a deletion or members to act on."""
    return groups.create_group(
        db, OPERATOR, "acme", name=f"Team {uuid4().hex[:8]}", now=clock.now()
    ).id


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """What a refused request must leave as it was."""
    tables = [
        accounts,
        users,
        agent_sessions,
        flows_table,
        webhooks_table,
        api_keys,
        audit_events,
        license_changes,
        password_links,
        web_logins,
        sso_providers,
        seat_groups,
        seat_group_members,
    ]
    with db.read() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(select(t))), key=repr)
            for t in [*tables, capacity_alerts]
        }


OLD_FLOWS = ("Old/One", "/")  # Flows to remove: names with a slash


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_each_role_gets_what_it_may_and_nothing_else(
    client: Client,
    world: World,
    db: Database,
    clock: FrozenClock,
    fake: FakeProvider,
    route: Route,
) -> None:
    alice = login(client, world, "alice")
    keep_provider(db, fake, now=clock.now())
    for name in OLD_FLOWS:
        flows.add_flow(db, OPERATOR, "acme", name=name, steps=["Start"], now=clock.now())
    hook = webhooks.add_webhook(
        db, access.Operator("test"), "acme", "https://hooks.example.com/old", now=clock.now()
    )
    path = route.path.replace("{sid}", alice["session_id"])
    path = path.replace("{flow}", "Old%2FOne").replace("{hook}", str(hook.id))
    path = path.replace("{user}", "bob")
    key_id = _new_key(db, clock)
    path = path.replace("{key}", str(key_id))
    path = path.replace("{group}", str(_new_group(db, clock)))
    body = route.body
    if body and "session_ids" in body:
        body = {"session_ids": [alice["session_id"]]}

    tokens = {
        "agent": world.agent_token,
        "designer": world.designer_token,
        "account_admin": world.admin_token,
        "super_admin": world.super_token,
        "foreign admin": world.globex_admin_token,
    }

    def fresh(path: str, body: Any, role: str) -> tuple[str, Any]:
        """The path and body for one more allowed request: what an earlier one removed is
        made again, and what it added is named anew."""
        if route.method == "DELETE" and "/flows/" in route.path:
            for name in OLD_FLOWS:
                with contextlib.suppress(Conflict):
                    flows.add_flow(
                        db, OPERATOR, "acme", name=name, steps=["Start"], now=clock.now()
                    )
        if route.method == "DELETE" and "/webhooks/" in route.path:
            hook = webhooks.add_webhook(
                db,
                access.Operator("test"),
                "acme",
                "https://hooks.example.com/old",
                now=clock.now(),
            )
            path = path.rsplit("/", 1)[0] + f"/{hook.id}"
        if route.method == "POST" and route.path.endswith("/flows"):
            body = {"name": f"New for {role.replace('_', ' ')}", "steps": ["Start"]}
        if "{key}" in route.path:  # a key of its own to revoke or rotate
            path = re.sub(r"/keys/\d+/", f"/keys/{_new_key(db, clock)}/", path)
        if route.path.endswith(("/sso", "/sso/remove")):  # one to remove, again
            keep_provider(db, fake, now=clock.now())
        if "{group}" in route.path:  # a group of its own to change or delete
            path = re.sub(r"/groups/\d+", f"/groups/{_new_group(db, clock)}", path)
        if route.method == "POST" and route.path.endswith("/groups") and "name" in body:
            body = {**body, "name": f"Team of {role.replace('_', ' ')}"}
        if body and body.get("group") == "{group}":  # a group of acme's to join
            body = {"group": str(_new_group(db, clock))}
        if route.method == "POST" and route.path.endswith("/acme/users"):
            body = {**body, "username": f"new-{role.replace('_', '-')}"}
        return path, body

    def may(role: str) -> bool:
        return role != "foreign admin" and RANK[role] >= RANK[route.needs]

    for role in sorted(ROLES, key=may):  # refusals first, each checked to change nothing
        allowed = may(role)
        if allowed and route.streams:
            continue
        if allowed:  # each allowed role finds what it acts on, as the first one did
            path, body = fresh(path, body, role)
        if route.page:  # logging in records the login: done before the snapshot
            client.cookies.clear()
            username, account = ROLES[role]
            log_in(client, username, account=account)
        before = snapshot(db)
        if route.page:
            form = None
            if route.method == "POST":  # a form from the page, with the browser's CSRF token
                csrf = token_for(client.cookies[CSRF_COOKIE], client.cookies[LOGIN_COOKIE])
                form = {**body, "csrf_token": csrf}
            answer = client.request(route.method, path, data=form, follow_redirects=False)
        else:
            answer = client.request(route.method, path, json=body, headers=bearer(tokens[role]))
        if allowed:
            assert 200 <= answer.status_code < 400, (role, answer.status_code, answer.text[:300])
            if answer.status_code == 303 and route.page:  # a form's answer: back to its page,
                shown = client.get(answer.headers["location"])  # which says it was done
                assert shown.status_code == 200, (role, shown.text[:300])
                assert 'class="alert error"' not in shown.text, (role, shown.text)
            continue
        expected = 404 if role == "foreign admin" else 403
        assert answer.status_code == expected, (role, answer.status_code, answer.text[:300])
        if not route.page:
            code = "account_not_found" if expected == 404 else "not_allowed"
            assert answer.json()["error"]["code"] == code, role
        assert snapshot(db) == before, f"{role}'s refused {route.method} changed something"
