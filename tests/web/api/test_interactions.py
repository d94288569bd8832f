"""An Interaction names a Flow the account offers, steps through that Flow's steps, and a
session has a bounded number of them open at once (an account setting)."""

from __future__ import annotations

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
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import audit
from seatkeeper.storage.db import Database
from tests.conftest import World, bearer
from tests.web.api.test_agent import call, error_of, login
from tests.web.pages.test_pages import form_token, log_in

SETTINGS = "/accounts/acme/settings"

Client = TestClient[Litestar]


def open_flow(client: Client, agent: dict[str, Any], flow: Any) -> Any:
    return call(
        client, "POST", f"{agent['session_id']}/interactions", agent["token"], {"flow": flow}
    )


def open_count(client: Client, agent: dict[str, Any]) -> int:
    return len(call(client, "GET", agent["session_id"], agent["token"]).json()["interactions"])


@pytest.mark.parametrize(
    "flow", ["Password Rest", "password reset", "Fuzzed Flow", "<b>Refund</b>", "x" * 200]
)
def test_an_interaction_names_a_flow_the_account_offers(
    client: Client, world: World, flow: str
) -> None:
    alice = login(client, world, "alice")
    refused = open_flow(client, alice, flow)
    assert error_of(refused) == (400, "unknown_flow")
    message = refused.json()["error"]["message"]
    assert f"no Flow named {flow!r}" in message
    assert "'Billing Dispute', 'New Order', 'Password Reset', 'Refund', 'X'" in message
    assert open_count(client, alice) == 0
    assert open_flow(client, alice, " Refund ").status_code == 201  # spaces around are dropped


def test_a_flow_of_another_account_is_unknown(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    flows.add_flow(db, OPERATOR, "globex", name="Globex Only", steps=["One"], now=clock.now())
    alice = login(client, world, "alice")
    assert error_of(open_flow(client, alice, "Globex Only")) == (400, "unknown_flow")


def test_steps_are_the_flows_steps(client: Client, world: World) -> None:
    alice = login(client, world, "alice")
    iid = open_flow(client, alice, "Refund").json()["interaction_id"]
    path = f"{alice['session_id']}/interactions/{iid}/steps"
    wrong = call(client, "POST", path, alice["token"], {"step": "Send link"})  # another Flow's
    assert error_of(wrong) == (400, "unknown_step")
    assert wrong.json()["error"]["message"] == (
        "The Flow 'Refund' has no step 'Send link'; its steps are 'Verify', 'Refund'."
    )
    state = call(client, "GET", alice["session_id"], alice["token"]).json()
    assert state["interactions"][0]["step"] is None  # nothing was recorded
    assert call(client, "POST", path, alice["token"], {"step": "Refund"}).status_code == 200


def test_a_session_opens_at_most_the_accounts_limit_at_once(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    assert world.acme.max_interactions == 10  # the default
    change_settings(db, OPERATOR, "acme", SettingsChange(max_interactions=3), now=clock.now())
    alice = login(client, world, "alice")
    opened = [open_flow(client, alice, "Refund").json()["interaction_id"] for _ in range(3)]
    beyond = open_flow(client, alice, "Refund")
    assert error_of(beyond) == (409, "too_many_interactions")
    assert "already has 3 Interactions open" in beyond.json()["error"]["message"]
    assert open_count(client, alice) == 3
    # Another browser of the same agent shares the session, and its limit.
    again = login(client, world, "alice")
    assert error_of(open_flow(client, again, "X")) == (409, "too_many_interactions")
    # Another session has its own.
    bob = login(client, world, "bob")
    assert open_flow(client, bob, "X").status_code == 201
    # Closing one makes room for one.
    sid = alice["session_id"]
    call(client, "DELETE", f"{sid}/interactions/{opened[0]}", alice["token"])
    assert open_flow(client, alice, "X").status_code == 201
    assert error_of(open_flow(client, alice, "X")) == (409, "too_many_interactions")


def test_an_admin_sets_the_limit_through_the_api_and_it_is_audited(
    client: Client, world: World, db: Database
) -> None:
    url = "/api/v1/accounts/acme/settings"
    changed = client.patch(url, json={"max_interactions": 4}, headers=bearer(world.admin_token))
    assert changed.status_code == 200, changed.text
    assert changed.json()["max_interactions"] == 4
    with db.read() as conn:
        (row,) = audit.events(conn, world.acme.id, ["setting_changed"])
    assert row["details"] == {"setting": "max_interactions", "from": 10, "to": 4}
    assert row["actor"] == "admin"
    for wrong in (0, 101, -1, 10**30, "five", 2.5, None, [3]):
        refused = client.patch(
            url, json={"max_interactions": wrong}, headers=bearer(world.admin_token)
        )
        assert refused.status_code == 400, (wrong, refused.text)
        assert client.get(url, headers=bearer(world.admin_token)).json()["max_interactions"] == 4
    refused = client.patch(url, json={"max_interactions": 0}, headers=bearer(world.admin_token))
    assert refused.json()["error"]["fields"] == {
        "max_interactions": "The open Interactions per session must be between 1 and 100; got 0."
    }


def test_the_settings_page_shows_and_changes_the_limit(client: Client, world: World) -> None:
    log_in(client, "admin")
    page = client.get(SETTINGS).text
    assert 'name="max_interactions" value="10"' in page
    form = {
        "name": "Acme Support",
        "time_zone": "Europe/Paris",
        "session_timeout_minutes": "30",
        "guests_allowed": "on",
        "csrf_token": form_token(page),
    }
    saved = client.post(SETTINGS, data={**form, "max_interactions": "2"}, follow_redirects=False)
    assert saved.status_code == 303 and "saved=true" in saved.headers["location"]
    assert 'name="max_interactions" value="2"' in client.get(SETTINGS).text
    for wrong, sentence in (
        ("many", "The open Interactions per session is a whole number, such as 10."),
        ("0", "The open Interactions per session must be between 1 and 100; got 0."),
    ):
        refused = client.post(SETTINGS, data={**form, "max_interactions": wrong})
        assert sentence in refused.text
        assert 'data-testid="error-max-interactions"' in refused.text
    assert 'name="max_interactions" value="2"' in client.get(SETTINGS).text  # nothing saved


def test_the_operator_sets_the_limit_from_the_command_line(
    db_url: str, world: World, db: Database
) -> None:
    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["--database-url", db_url, "accounts", "set", *args])

    done = run("acme", "--max-interactions", "7")
    assert done.exit_code == 0, done.output
    assert "at most 7 Interactions open per session" in done.output
    assert run("acme", "--max-interactions", "0").exit_code == 2
    with db.read() as conn:
        assert stored_accounts.account_by_id(conn, world.acme.id).max_interactions == 7
