"""Flows: managed by designers and admins (API) or the operator (CLI), read by agents."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.cli import main
from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services import flows
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage import audit
from seatkeeper.storage.db import Database
from tests.conftest import WORLD_FLOWS, World, bearer
from tests.web.api.test_agent import call, error_of, login

Client = TestClient[Litestar]
RESET = {"name": "Password Reset", "steps": ["Verify identity", "Send link", "Confirm"]}


def flows_url(account: str = "acme") -> str:
    return f"/api/v1/accounts/{account}/flows"


def flow_audit(db: Database, world: World) -> list[tuple[str, str, str | None, str]]:
    """(action, actor, source, Flow name) of the Flow changes audited, oldest first."""
    with db.read() as conn:
        rows = audit.events(conn, world.acme.id, ["flow_added", "flow_removed"])
    changes = [(r["action"], r["actor"], r["source"], r["details"]["name"]) for r in reversed(rows)]
    return changes[_SETUP[0] :]


_SETUP = [0]  # the Flow changes made before a test (those of `no_flows_yet`)


def test_a_designer_registers_lists_and_removes_flows(
    client: Client, world: World, db: Database
) -> None:
    added = client.post(flows_url(), json=RESET, headers=bearer(world.designer_token))
    assert added.status_code == 201
    assert added.json() == RESET
    other = {"name": "Billing Dispute", "steps": ["Verify identity", "Review charges"]}
    client.post(flows_url(), json=other, headers=bearer(world.admin_token))
    listed = client.get(flows_url(), headers=bearer(world.designer_token)).json()
    assert listed == {"flows": [other, RESET]}  # by name
    # Agent Applications read them with the application key.
    assert client.get("/api/v1/flows", headers=bearer(world.app_key)).json() == listed
    gone = client.delete(f"{flows_url()}/Password%20Reset", headers=bearer(world.designer_token))
    assert gone.status_code == 204
    assert client.get("/api/v1/flows", headers=bearer(world.app_key)).json() == {"flows": [other]}
    again = client.delete(f"{flows_url()}/Password%20Reset", headers=bearer(world.designer_token))
    assert error_of(again) == (404, "flow_not_found")
    # Every change is audited with who made it and from where; the refusal is not.
    assert flow_audit(db, world) == [
        ("flow_added", "dan", "testclient", "Password Reset"),
        ("flow_added", "admin", "testclient", "Billing Dispute"),
        ("flow_removed", "dan", "testclient", "Password Reset"),
    ]


@pytest.mark.parametrize(
    ("who", "account", "expected"),
    [
        ("agent_token", "acme", (403, "not_allowed")),
        ("globex_admin_token", "acme", (404, "account_not_found")),
        ("super_token", "globex", (201, None)),
    ],
)
def test_flow_management_checks_role_and_account(
    client: Client, world: World, who: str, account: str, expected: tuple[int, str | None]
) -> None:
    answer = client.post(flows_url(account), json=RESET, headers=bearer(getattr(world, who)))
    if expected[1] is None:
        assert answer.status_code == expected[0]
    else:
        assert error_of(answer) == expected
        assert "Designer role" in answer.json()["error"]["message"] or expected[0] == 404
    assert client.get("/api/v1/flows", headers=bearer(world.app_key)).json() == {"flows": []}


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "steps": ["a"]},
        {"name": "X", "steps": []},
        {"name": "X", "steps": ["  "]},
        {"name": "X\u0000", "steps": ["a"]},
        {"name": "X", "steps": ["a"] * 51},
        {"name": "X", "steps": ["a"], "owner": "me"},
        {"name": "X"},
    ],
)
def test_bad_flows_are_refused(client: Client, world: World, body: dict[str, Any]) -> None:
    answer = client.post(flows_url(), json=body, headers=bearer(world.designer_token))
    assert error_of(answer) == (400, "invalid_request")
    assert client.get(flows_url(), headers=bearer(world.admin_token)).json() == {"flows": []}


def test_a_flow_name_is_registered_once(client: Client, world: World) -> None:
    client.post(flows_url(), json=RESET, headers=bearer(world.designer_token))
    twice = client.post(flows_url(), json=RESET, headers=bearer(world.designer_token))
    assert error_of(twice) == (409, "conflict")


def test_removing_a_flow_leaves_open_interactions_working(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    flows.add_flow(db, OPERATOR, "acme", name="New Order", steps=["Pick", "Pay"], now=clock.now())
    alice = login(client, world, "alice")
    sid = alice["session_id"]
    iid = call(client, "POST", f"{sid}/interactions", alice["token"], {"flow": "New Order"}).json()[
        "interaction_id"
    ]
    flows.remove_flow(db, OPERATOR, "acme", name="New Order", now=clock.now())
    step = call(client, "POST", f"{sid}/interactions/{iid}/steps", alice["token"], {"step": "Pay"})
    assert step.status_code == 200


def test_the_session_state_shows_what_every_browser_opened(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    for name in ("Password Reset", "Billing Dispute"):
        flows.add_flow(db, OPERATOR, "acme", name=name, steps=WORLD_FLOWS[name], now=clock.now())
    first = login(client, world, "alice")
    sid = first["session_id"]
    opened = call(client, "POST", f"{sid}/interactions", first["token"], {"flow": "Password Reset"})
    iid = opened.json()["interaction_id"]
    call(client, "POST", f"{sid}/interactions/{iid}/steps", first["token"], {"step": "Send link"})
    clock.advance(timedelta(seconds=1))
    call(client, "POST", f"{sid}/interactions", first["token"], {"flow": "Billing Dispute"})
    clock.advance(timedelta(minutes=5))
    second = login(client, world, "alice")  # another browser joins
    state = call(client, "GET", sid, second["token"]).json()
    assert state["agent_id"] == "alice"
    assert state["session_id"] == sid
    assert [(i["flow"], i["step"]) for i in state["interactions"]] == [
        ("Password Reset", "Send link"),
        ("Billing Dispute", None),
    ]
    guest = client.post("/api/v1/sessions", json={}, headers=bearer(world.app_key)).json()
    assert call(client, "GET", guest["session_id"], guest["token"]).json()["agent_id"] is None
    assert error_of(call(client, "GET", sid, guest["token"])) == (404, "session_not_found")


def test_flows_from_the_command_line(db_url: str, world: World, db: Database) -> None:
    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["--database-url", db_url, "flows", *args])

    added = run("add", "acme", "Password Reset", "--step", "Verify identity", "--step", "Send link")
    assert added.exit_code == 0, added.output
    assert "Added the Flow 'Password Reset' (2 steps)" in added.output
    assert run("list", "acme").output == "Password Reset: Verify identity → Send link\n"
    twice = run("add", "acme", "Password Reset", "--step", "x")
    assert twice.exit_code == 1 and "already has a Flow named 'Password Reset'" in twice.output
    no_steps = run("add", "acme", "Empty")
    assert no_steps.exit_code == 2 and "--step" in no_steps.output
    assert run("remove", "acme", "Password Reset").exit_code == 0
    assert "has no Flows yet" in run("list", "acme").output
    missing = run("remove", "acme", "Password Reset")
    assert missing.exit_code == 1 and "no Flow named 'Password Reset'" in missing.output
    assert run("list", "nowhere").exit_code == 1
    changes = flow_audit(db, world)
    assert [(action, name) for action, _, _, name in changes] == [
        ("flow_added", "Password Reset"),
        ("flow_removed", "Password Reset"),
    ]
    assert all(actor.endswith("(operator command)") for _, actor, _, _ in changes)


def test_the_console_is_only_for_accounts_that_turned_it_on(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    assert client.get("/console/acme").status_code == 200  # acme turned it on
    for account in ("globex", "no-such-account"):
        closed = client.get(f"/console/{account}")
        assert closed.status_code == 404  # as if it did not exist
    page = client.get("/console/acme")
    token = re.search(r'data-csrf="([^"]+)"', page.text)
    assert token
    change_settings(db, OPERATOR, "acme", SettingsChange(console_enabled=False), now=clock.now())
    refused = client.post(
        "/console/acme/sessions", json={}, headers={"X-CSRF-Token": token.group(1)}
    )
    assert error_of(refused) == (404, "account_not_found")
    assert (
        client.get(
            "/api/v1/accounts/acme/active-sessions", headers=bearer(world.admin_token)
        ).json()["count"]
        == 0
    )


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("a/b", "a/b"),
        ("a/b", "a%2Fb"),
        ("a%2Fb", "a%252Fb"),  # a name that holds a percent sign
        ("/", "%2F"),
        ("a//b", "a%2F%2Fb"),
        ("../..", "..%2F.."),
        ("<script>alert(1)</script>?x=1#y", "%3Cscript%3Ealert(1)%3C%2Fscript%3E%3Fx%3D1%23y"),
        ("Réinitialiser 密码", "R%C3%A9initialiser%20%E5%AF%86%E7%A0%81"),
    ],
)
def test_a_flow_with_any_printable_name_is_removed_by_its_encoded_name(
    client: Client, world: World, db: Database, clock: FrozenClock, name: str, path: str
) -> None:
    flows.add_flow(db, OPERATOR, "acme", name=name, steps=["Start"], now=clock.now())
    flows.add_flow(db, OPERATOR, "acme", name="a", steps=["Start"], now=clock.now())
    gone = client.delete(f"{flows_url()}/{path}", headers=bearer(world.designer_token))
    assert gone.status_code == 204, gone.text
    assert client.get(flows_url(), headers=bearer(world.admin_token)).json() == {
        "flows": [{"name": "a", "steps": ["Start"]}]
    }
    assert flow_audit(db, world)[-1] == ("flow_removed", "dan", "testclient", name)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", (400, "invalid_request")),  # no name
        ("%20", (400, "invalid_request")),
        ("x%00y", (400, "invalid_request")),
        ("x%0Ay", (400, "invalid_request")),
        ("%FF%FE", (400, "invalid_request")),  # not UTF-8
        ("x" * 201, (400, "invalid_request")),
        ("a", (404, "flow_not_found")),  # a prefix of the Flow's name is not its name
        ("a%2Fb%2F", (404, "flow_not_found")),
    ],
)
def test_hostile_flow_names_in_the_path_are_refused_and_nothing_is_removed(
    client: Client, world: World, db: Database, clock: FrozenClock, path: str, expected: Any
) -> None:
    flows.add_flow(db, OPERATOR, "acme", name="a/b", steps=["Start"], now=clock.now())
    answer = client.delete(f"{flows_url()}/{path}", headers=bearer(world.designer_token))
    assert error_of(answer) == expected
    assert [
        f["name"]
        for f in client.get(flows_url(), headers=bearer(world.admin_token)).json()["flows"]
    ] == ["a/b"]


@pytest.fixture(autouse=True)
def no_flows_yet(world: World, db: Database, clock: FrozenClock) -> None:
    """These tests start from accounts that offer no Flow."""
    for slug in ("acme", "globex"):
        for name in WORLD_FLOWS:
            flows.remove_flow(db, OPERATOR, slug, name=name, now=clock.now())
    _SETUP[0] = 0
    _SETUP[0] = len(flow_audit(db, world))
