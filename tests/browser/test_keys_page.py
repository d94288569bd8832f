"""The Applications and keys page in a real browser: reached from the Account menu; a key
made there is shown once and works; rotating (with a grace period) and revoking go through
a confirmation, and what they did is seen on the page, in what the keys open, and in the
audit trail.

acme's keys at the start: its application key `t` and the user tokens `test` of admin,
alice and dan. The frozen clock reads 2026-03-10 13:00 UTC, 14:00 in Paris.
"""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from seatkeeper.clock import FrozenClock
from seatkeeper.storage import audit
from seatkeeper.storage.db import Database
from tests.browser.test_account_settings_and_users import send, sign_in
from tests.conftest import World

KEYS = "/accounts/acme/keys"


def _flows(live_server: str, key: str) -> int:
    return httpx.get(
        f"{live_server}/api/v1/flows", headers={"Authorization": f"Bearer {key}"}
    ).status_code


def test_an_admin_makes_rotates_and_revokes_keys(
    page: Page, live_server: str, world: World, db: Database, clock: FrozenClock
) -> None:
    sign_in(page, live_server, "/accounts/acme/users")
    page.get_by_test_id("account-menu").locator("summary").click()
    page.get_by_test_id("nav-keys").click()
    expect(page).to_have_url(f"{live_server}{KEYS}")
    expect(page.get_by_test_id("key-row")).to_have_count(4)
    expect(page.get_by_test_id("keys-grid")).not_to_contain_text(world.app_key)

    # Make a key: shown once, working at once.
    page.get_by_test_id("new-key-name").fill("Billing <CRM>")
    page.get_by_test_id("new-key-expires").fill("30")
    assert send(page, page.get_by_test_id("make-key"), KEYS) == 200
    expect(page.get_by_test_id("keys-notice")).to_have_text(
        "Application key Billing <CRM> was made."
    )
    secret = page.get_by_test_id("new-key").input_value()
    assert secret.startswith("sk_app_")
    assert _flows(live_server, secret) == 200
    row = page.locator('[data-testid="key-row"][data-name="Billing <CRM>"]')
    expect(row.get_by_test_id("cell-expires")).to_have_text("2026-04-09 15:00")
    page.goto(f"{live_server}{KEYS}")
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert secret not in page.content()

    # Rotate `t` with a 15-minute grace: the confirmation is opened first.
    old = page.locator('[data-testid="key-row"][data-name="t"]')
    expect(old.get_by_test_id("rotate-confirm")).not_to_be_visible()
    old.get_by_test_id("rotate-open").click()
    old.get_by_test_id("rotate-grace").fill("15")
    key_id = old.get_attribute("data-key-id")
    assert send(page, old.get_by_test_id("rotate-confirm"), f"{KEYS}/{key_id}/rotate") == 200
    new_key = page.get_by_test_id("new-key").input_value()
    assert _flows(live_server, new_key) == 200 and _flows(live_server, world.app_key) == 200
    rotated = page.locator(f'[data-testid="key-row"][data-key-id="{key_id}"]')
    expect(rotated.get_by_test_id("cell-state")).to_have_text(
        "Rotated: works until 2026-03-10 14:15"
    )

    # Revoke the old one now: refused at once.
    rotated.get_by_test_id("revoke-open").click()
    path = f"{KEYS}/{key_id}/revoke"
    assert send(page, rotated.get_by_test_id("revoke-confirm"), path, lands=KEYS) == 303
    expect(page.get_by_test_id("keys-notice")).to_contain_text("was revoked")
    expect(rotated.get_by_test_id("cell-state")).to_have_text("Revoked 2026-03-10 14:00")
    expect(rotated.get_by_test_id("revoke-open")).to_have_count(0)
    assert _flows(live_server, world.app_key) == 401 and _flows(live_server, new_key) == 200

    with db.read() as conn:
        rows = audit.events(
            conn,
            world.acme.id,
            ["application_key_created", "application_key_rotated", "key_revoked"],
        )
    mine = [(r["action"], r["actor"]) for r in reversed(rows) if r["actor"] == "admin"]
    assert mine == [
        ("application_key_created", "admin"),
        ("application_key_rotated", "admin"),
        ("key_revoked", "admin"),
    ]
    assert secret not in str(rows) and new_key not in str(rows)


def test_an_agent_has_no_keys_page(page: Page, live_server: str, world: World) -> None:
    sign_in(page, live_server, "/", username="alice")
    expect(page.get_by_test_id("nav-keys")).to_have_count(0)
    answer = page.goto(f"{live_server}{KEYS}")
    assert answer is not None and answer.status == 403
