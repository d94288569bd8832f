"""Seat groups in a real browser: an admin creates a group with reserved licenses on
Account Settings, makes users its members on the Users page, and a reservation beyond the
licenses is refused with its sentence, what was typed kept, and nothing saved.

acme has 3 licenses; its agents are alice, bob, carol and dave, its admin is admin."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from seatkeeper.services import groups
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage.db import Database
from tests.browser.conftest import log_in
from tests.conftest import World

SETTINGS = "/accounts/acme/settings"
USERS = "/accounts/acme/users"
Accessible = Callable[[Page, str], None]


def _shown(db: Database) -> list[tuple[str, int, int | None, int]]:
    found = groups.list_groups(db, OPERATOR, "acme")
    return [(r.group.name, r.group.reserved, r.group.maximum, r.members) for r in found.rows]


def test_an_admin_reserves_licenses_for_a_team_and_picks_its_members(
    page: Page, live_server: str, world: World, db: Database, assert_accessible: Accessible
) -> None:
    page.goto(f"{live_server}/login?next={SETTINGS}")
    log_in(page, "admin")
    create = page.get_by_test_id("seat-group-create-form")
    create.get_by_test_id("new-group-name").fill("Billing")
    create.get_by_test_id("new-group-reserved").fill("2")
    create.get_by_test_id("new-group-maximum").fill("2")
    create.get_by_test_id("new-group-create").click()
    expect(page.get_by_test_id("seat-groups-notice")).to_have_text("Group 'Billing' created.")
    row = page.get_by_test_id("seat-group-row")
    expect(row.get_by_test_id("seat-group-reserved")).to_have_value("2")
    expect(page.get_by_test_id("seat-groups-reserved")).to_have_text("2")
    assert _shown(db) == [("Billing", 2, 2, 0)]
    assert_accessible(page, "Account Settings with a seat group")

    page.get_by_test_id("seat-guests-maximum").fill("1")
    page.get_by_test_id("seat-guests-save").click()
    expect(page.get_by_test_id("seat-groups-notice")).to_have_text("The Guests group saved.")

    page.goto(f"{live_server}{USERS}")
    for username in ("alice", "bob"):
        user = page.locator(f'[data-testid="user-row"][data-username="{username}"]')
        user.locator('[data-testid="group-check"][data-group="Billing"]').check()
        user.get_by_test_id("groups-save").click()
        expect(page.get_by_test_id("users-notice")).to_have_text(
            f"{username} is a member of Billing."
        )
    alice = page.locator('[data-testid="user-row"][data-username="alice"]')
    expect(alice.get_by_test_id("group-check")).to_be_checked()
    assert_accessible(page, "the Users page with seat groups")
    assert _shown(db) == [("Billing", 2, 2, 2), ("Guests", 0, 1, 0)]


def test_a_reservation_beyond_the_licenses_is_refused_with_its_sentence(
    page: Page, live_server: str, world: World, db: Database, assert_accessible: Accessible
) -> None:
    groups.create_group(db, OPERATOR, "acme", name="Billing", reserved=2, now=world.acme.created_at)
    before = _shown(db)
    page.goto(f"{live_server}/login?next={SETTINGS}")
    log_in(page, "admin")
    row = page.get_by_test_id("seat-group-row")
    row.get_by_test_id("seat-group-reserved").fill("4")
    row.get_by_test_id("seat-group-save").click()
    expect(page.get_by_test_id("seat-groups-error")).to_have_text(
        "Nothing was saved: Reservations would add up to 4 licenses, more than the account's 3."
    )
    expect(row.get_by_test_id("seat-group-reserved")).to_have_value("4")  # what was typed
    expect(page.get_by_test_id("seat-groups-reserved")).to_have_text("2")
    assert_accessible(page, "a refused reservation")
    assert _shown(db) == before
