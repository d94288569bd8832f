"""Capacity alerts delivered to a real HTTP receiver on loopback: signed, retried, visible.

The receivers are on loopback, which webhooks may not reach unless the operator allows it:
these tests run with 127.0.0.0/8 allowed, and http:// (test_webhook_destinations.py
checks the refusals with neither).
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.config import Settings
from seatkeeper.domain.model import SettingsChange
from seatkeeper.housekeeping import webhook_sending
from seatkeeper.services import alerts, webhooks
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage import audit
from seatkeeper.storage.db import Database
from seatkeeper.web.app import create_app
from tests.conftest import World, bearer
from tests.waiting import PATIENCE
from tests.web.api.test_agent import call, error_of, open_session

Client = TestClient[Litestar]
HOOKS = "/api/v1/accounts/acme/webhooks"
LATER = timedelta(minutes=1)  # more than an attempt to this receiver lasts
ON_PREMISE = {"webhook_allowed_networks": "127.0.0.0/8", "webhook_allow_http": True}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The operator allows receivers on this machine, over http."""
    return settings.model_copy(update=ON_PREMISE)


@pytest.fixture
def sending(settings: Settings) -> webhooks.Sending:
    return webhook_sending(settings)


class Receiver:
    """An HTTP server on loopback that records what it is sent and answers as told."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []  # statuses to answer in turn; 200 once they run out
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    # The receiver is a thread of this busy test process: it answers, if not at once.
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", PATIENCE)
    found = Receiver()
    yield found
    found.server.shutdown()
    found.server.server_close()


def add_hook(client: Client, world: World, url: str) -> dict[str, Any]:
    answer = client.post(HOOKS, json={"url": url}, headers=bearer(world.admin_token))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def hooks(client: Client, world: World) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(HOOKS, headers=bearer(world.admin_token)).json()[
        "webhooks"
    ]
    return found


def fill_the_pool(client: Client, world: World) -> list[dict[str, Any]]:
    opened = [open_session(client, world.app_key).json() for _ in range(3)]
    assert all("session_id" in s for s in opened)
    return opened


def test_an_alert_is_signed_delivered_and_retried_after_a_failure(
    client: Client,
    world: World,
    db: Database,
    clock: FrozenClock,
    receiver: Receiver,
    sending: webhooks.Sending,
) -> None:
    hook = add_hook(client, world, receiver.url)
    assert hook["secret"].startswith("whsec_")
    change_settings(db, OPERATOR, "acme", SettingsChange(alert_levels=(100,)), now=clock.now())
    sessions = fill_the_pool(client, world)  # 3 of 3: the 100% alert is raised

    receiver.answers = [500]
    assert webhooks.deliver_due(db, clock.now(), sending) == 0  # answered 500
    assert webhooks.deliver_due(db, clock.now(), sending) == 0  # not due again yet
    assert len(receiver.received) == 1
    (delivery,) = hooks(client, world)[0]["deliveries"]
    assert (delivery["attempts"], delivery["last_status"], delivery["delivered_at"]) == (
        1,
        500,
        None,
    )
    assert delivery["last_error"] == "the receiver answered 500"

    clock.advance(webhooks.FIRST_RETRY + LATER)  # counted from the end of the attempt
    assert webhooks.deliver_due(db, clock.now(), sending) == 1
    assert len(receiver.received) == 2
    (delivery,) = hooks(client, world)[0]["deliveries"]
    assert (delivery["attempts"], delivery["last_status"], delivery["next_attempt_at"]) == (
        2,
        200,
        None,
    )
    assert delivery["delivered_at"] is not None

    for headers, body in receiver.received:
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Seatkeeper-Event"] == "capacity_alert.raised"
        stamp, _, signed = headers["X-Seatkeeper-Signature"].partition(",v1=")
        timestamp = stamp.removeprefix("t=")
        expected = hmac.new(
            hook["secret"].encode(), f"{timestamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(signed, expected)
        assert json.loads(body) == {
            "event": "capacity_alert.raised",
            "account": "acme",
            "level": 100,
            "licenses": 3,
            "in_use": 3,
            "at": json.loads(body)["at"],
        }

    # Use falls back: the logout that takes it to 2 clears the alert, delivered too.
    call(client, "DELETE", sessions[0]["session_id"], sessions[0]["token"])
    assert alerts.evaluate(db, clock.now()) == 0  # cleared already
    assert webhooks.deliver_due(db, clock.now(), sending) == 1
    cleared = json.loads(receiver.received[-1][1])
    assert (cleared["event"], cleared["in_use"]) == ("capacity_alert.cleared", 2)


def test_the_server_sends_webhooks_with_the_sweep_off(
    settings: Settings, world: World, db: Database, clock: FrozenClock, receiver: Receiver
) -> None:
    # SEATKEEPER_SWEEP_SECONDS=0 turns the sweep off, and no longer the webhooks with it.
    quick = settings.model_copy(update={"webhook_seconds": 0.05})
    assert quick.sweep_seconds == 0
    with TestClient(create_app(quick, clock=clock, database=db)) as client:
        add_hook(client, world, receiver.url)
        change_settings(db, OPERATOR, "acme", SettingsChange(alert_levels=(100,)), now=clock.now())
        fill_the_pool(client, world)  # 3 of 3: the 100% alert is raised
        deadline = time.monotonic() + 10
        while (delivery := hooks(client, world)[0]["deliveries"][0])["delivered_at"] is None:
            assert time.monotonic() < deadline, delivery
            time.sleep(0.05)
    assert [json.loads(body)["event"] for _, body in receiver.received] == ["capacity_alert.raised"]


def test_a_receiver_that_keeps_failing_is_given_up_on_after_the_last_attempt(
    client: Client,
    world: World,
    db: Database,
    clock: FrozenClock,
    receiver: Receiver,
    sending: webhooks.Sending,
) -> None:
    add_hook(client, world, receiver.url)
    receiver.answers = [503] * 20
    fill_the_pool(client, world)  # the 90% and 100% alerts: two deliveries
    waits = []
    for attempt in range(1, webhooks.MAX_ATTEMPTS + 1):
        assert webhooks.deliver_due(db, clock.now(), sending) == 0
        waits.append(webhooks.backoff(attempt))
        clock.advance(webhooks.backoff(attempt) + LATER)
    assert webhooks.deliver_due(db, clock.now(), sending) == 0
    assert len(receiver.received) == 2 * webhooks.MAX_ATTEMPTS
    assert waits[:4] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert max(waits) <= timedelta(hours=1)
    for delivery in hooks(client, world)[0]["deliveries"]:
        assert delivery["attempts"] == webhooks.MAX_ATTEMPTS
        assert (delivery["delivered_at"], delivery["next_attempt_at"]) == (None, None)
        assert delivery["last_status"] == 503


def test_a_receiver_that_is_down_is_recorded_and_tried_again(
    client: Client, world: World, db: Database, clock: FrozenClock, sending: webhooks.Sending
) -> None:
    add_hook(client, world, "http://127.0.0.1:9/nothing-listens-here")
    fill_the_pool(client, world)
    assert webhooks.deliver_due(db, clock.now(), sending) == 0
    for delivery in hooks(client, world)[0]["deliveries"]:
        assert delivery["last_status"] is None
        assert delivery["last_error"] == "the receiver could not be reached"  # nothing more
        assert delivery["next_attempt_at"] is not None


def test_webhooks_are_for_admins_of_the_account_and_refuse_bad_addresses(
    client: Client, world: World, receiver: Receiver, db: Database
) -> None:
    # "http://[" and the port out of range were found by the API fuzzing (answered 500).
    # A NUL byte in the address was found by the API fuzzing (PostgreSQL refused it: 500).
    bad = ["ftp://example.com/x", "not a url", "http://", "http://[", "http://a:99999/"]
    bad += ["http://a/\x00", "http://a/b\x7f", "http://a/\x1b[31m"]
    for url in bad:
        answer = client.post(HOOKS, json={"url": url}, headers=bearer(world.admin_token))
        assert error_of(answer) == (400, "invalid_request"), url
    assert hooks(client, world) == []
    refused = client.post(HOOKS, json={"url": receiver.url}, headers=bearer(world.agent_token))
    assert error_of(refused) == (403, "not_allowed")
    foreign = client.get(HOOKS, headers=bearer(world.globex_admin_token))
    assert error_of(foreign) == (404, "account_not_found")

    hook = add_hook(client, world, receiver.url)
    assert "secret" not in hooks(client, world)[0]  # shown once, when it is made
    gone = client.delete(f"{HOOKS}/{hook['id']}", headers=bearer(world.admin_token))
    assert gone.status_code == 204
    assert hooks(client, world) == []
    again = client.delete(f"{HOOKS}/{hook['id']}", headers=bearer(world.admin_token))
    assert error_of(again) == (404, "webhook_not_found")
    # Adding and removing are audited, who and from where; no refusal is.
    with db.read() as conn:
        rows = audit.events(conn, world.acme.id, ["webhook_added", "webhook_removed"])
    assert [(r["action"], r["actor"], r["source"], r["details"]) for r in reversed(rows)] == [
        ("webhook_added", "admin", "testclient", {"webhook_id": hook["id"], "url": receiver.url}),
        ("webhook_removed", "admin", "testclient", {"webhook_id": hook["id"]}),
    ]


def test_the_audit_trail_keeps_no_query_of_a_webhook_address(
    client: Client, world: World, db: Database
) -> None:
    url = "https://hooks.example.com:8443/in?token=abc#x"
    assert (
        client.post(HOOKS, json={"url": url}, headers=bearer(world.admin_token)).status_code == 201
    )
    with db.read() as conn:
        (row,) = audit.events(conn, world.acme.id, ["webhook_added"])
    assert row["details"]["url"] == "https://hooks.example.com:8443/in"


def test_an_id_too_large_for_the_database_is_refused_not_looked_up(
    client: Client, world: World
) -> None:
    # Found by the API fuzzing: such an id overflowed the database's integer (answer 500).
    for webhook_id in (2**31, 2**63, 10**30, 0, -1):
        answer = client.delete(f"{HOOKS}/{webhook_id}", headers=bearer(world.admin_token))
        assert error_of(answer) == (400, "invalid_request"), webhook_id
    largest = client.delete(f"{HOOKS}/{2**31 - 1}", headers=bearer(world.admin_token))
    assert error_of(largest) == (404, "webhook_not_found")
