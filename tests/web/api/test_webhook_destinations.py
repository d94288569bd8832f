"""The webhooks API with the operator's defaults: public https receivers only, at most 10 an
account; adding, changing and removing one is audited."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import TooManyWebhooks
from seatkeeper.services import webhooks
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage import audit
from seatkeeper.storage import webhooks as stored
from seatkeeper.storage.db import Database
from tests.conftest import World, bearer
from tests.waiting import PATIENCE
from tests.web.api.test_agent import error_of

Client = TestClient[Litestar]
HOOKS = "/api/v1/accounts/acme/webhooks"
ACTIONS = ["webhook_added", "webhook_changed", "webhook_removed"]

# What the security review registered (each answered 201), and more spellings.
INSIDE = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:5432/",
    "http://[::1]/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://127.1/",
    "http://10.0.0.1/admin",
    "http://user:pass@127.0.0.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://127.0.0.1:5432/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://0x7f000001/",
    "https://2130706433/",
    "https://0177.0.0.1/",
    "https://127.1/",
    "https://localhost./",
    "https://10.0.0.1/admin",
    "https://100.64.0.1/",
    "https://[fd00::1]/",
    "https://user:pass@hooks.example.com/",
    "http://hooks.example.com/",  # http: not allowed by default
]


def snapshot(db: Database, world: World) -> tuple[Any, ...]:
    with db.read() as conn:
        return (
            stored.of_account(conn, world.acme.id),
            audit.events(conn, world.acme.id, ACTIONS),
        )


@pytest.mark.parametrize("url", INSIDE)
def test_an_inside_destination_is_refused_with_400_and_nothing_changes(
    client: Client, world: World, db: Database, url: str
) -> None:
    before = snapshot(db, world)
    answer = client.post(HOOKS, json={"url": url}, headers=bearer(world.admin_token))
    assert error_of(answer) == (400, "destination_refused")
    assert answer.json()["error"]["message"].startswith("This webhook's destination is refused")
    assert snapshot(db, world) == before


def test_an_address_is_changed_audited_and_checked_like_a_new_one(
    client: Client, world: World, db: Database
) -> None:
    admin = bearer(world.admin_token)
    made = client.post(HOOKS, json={"url": "https://hooks.example.com/a?key=1"}, headers=admin)
    assert made.status_code == 201, made.text
    hook = made.json()
    one = f"{HOOKS}/{hook['id']}"
    changed = client.patch(one, json={"url": "https://hooks.example.com/b"}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["url"] == "https://hooks.example.com/b"
    assert "secret" not in changed.json()
    before = snapshot(db, world)
    for url in ["http://127.0.0.1:5432/", "https://[::ffff:a9fe:a9fe]/"]:
        assert error_of(client.patch(one, json={"url": url}, headers=admin)) == (
            400,
            "destination_refused",
        )
    assert snapshot(db, world) == before
    missing = client.patch(f"{HOOKS}/999", json={"url": "https://x.example.com/"}, headers=admin)
    assert error_of(missing) == (404, "webhook_not_found")
    agent = client.patch(
        one, json={"url": "https://x.example.com/"}, headers=bearer(world.agent_token)
    )
    assert error_of(agent) == (403, "not_allowed")
    assert client.delete(one, headers=admin).status_code == 204
    with db.read() as conn:
        rows = audit.events(conn, world.acme.id, ACTIONS)
    assert [(r["action"], r["actor"], r["source"], r["details"]) for r in reversed(rows)] == [
        (
            "webhook_added",
            "admin",
            "testclient",
            {"webhook_id": hook["id"], "url": "https://hooks.example.com/a"},
        ),
        (
            "webhook_changed",
            "admin",
            "testclient",
            {
                "webhook_id": hook["id"],
                "url": "https://hooks.example.com/b",
                "previous_url": "https://hooks.example.com/a",
            },
        ),
        ("webhook_removed", "admin", "testclient", {"webhook_id": hook["id"]}),
    ]


def test_an_account_has_ten_webhooks_at_most(client: Client, world: World, db: Database) -> None:
    admin = bearer(world.admin_token)
    for n in range(webhooks.MAX_WEBHOOKS):
        url = f"https://hooks.example.com/{n}"
        assert client.post(HOOKS, json={"url": url}, headers=admin).status_code == 201
    before = snapshot(db, world)
    answer = client.post(HOOKS, json={"url": "https://hooks.example.com/x"}, headers=admin)
    assert error_of(answer) == (409, "too_many_webhooks")
    assert "10 webhooks at most" in answer.json()["error"]["message"]
    assert snapshot(db, world) == before
    # Another account has its own ten.
    other = client.post(
        "/api/v1/accounts/globex/webhooks",
        json={"url": "https://hooks.example.com/g"},
        headers=bearer(world.globex_admin_token),
    )
    assert other.status_code == 201


def test_the_limit_holds_when_admins_add_at_once(
    world: World, db: Database, clock: FrozenClock
) -> None:
    for n in range(webhooks.MAX_WEBHOOKS - 1):
        webhooks.add_webhook(db, OPERATOR, "acme", f"https://h.example.com/{n}", now=clock.now())
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def add(n: int) -> None:
        start.wait(PATIENCE)
        try:
            webhooks.add_webhook(
                db, OPERATOR, "acme", f"https://h.example.com/late{n}", now=clock.now()
            )
            outcomes.append("added")
        except TooManyWebhooks:
            outcomes.append("refused")

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    assert sorted(outcomes) == ["added", "refused", "refused", "refused"]
    with db.read() as conn:
        assert stored.count(conn, world.acme.id) == webhooks.MAX_WEBHOOKS
