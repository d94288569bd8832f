"""The seat groups forms of Account Settings and the Users page: each answers with a 303
back to its page, which says what was done, or the refusal and what was typed."""

from __future__ import annotations

import html
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.services import groups
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage.db import Database
from tests.conftest import World
from tests.web.api.test_groups import groups_state
from tests.web.pages.test_pages import form_token, log_in

Client = TestClient[Litestar]
SETTINGS = "/accounts/acme/settings"
USERS = "/accounts/acme/users"


def send(client: Client, page: str, path: str, fields: dict[str, Any]) -> str:
    """Send a form of `page` to `path`; the page it leads back to."""
    token = form_token(client.get(page).text)
    answer = client.post(path, data={**fields, "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return html.unescape(client.get(answer.headers["location"]).text)


def test_groups_are_created_changed_and_deleted_from_the_settings_page(
    client: Client, world: World, db: Database
) -> None:
    log_in(client, "admin")
    shown = send(
        client,
        SETTINGS,
        f"{SETTINGS}/groups",
        {"name": "<i>Billing</i>", "reserved": "2", "maximum": ""},
    )
    assert "Group '<i>Billing</i>' created." in shown
    assert "<i>Billing</i>" not in client.get(SETTINGS).text  # escaped, never markup
    (made,) = groups.list_groups(db, OPERATOR, "acme").teams
    shown = send(
        client,
        SETTINGS,
        f"{SETTINGS}/groups/{made.group.id}",
        {"name": "Billing", "reserved": "1", "maximum": "2"},
    )
    assert "Group 'Billing' saved." in shown
    shown = send(client, SETTINGS, f"{SETTINGS}/groups/guests", {"reserved": "0", "maximum": "3"})
    assert "The Guests group saved." in shown
    found = groups.list_groups(db, OPERATOR, "acme")
    assert [(r.group.name, r.group.reserved, r.group.maximum) for r in found.rows] == [
        ("Billing", 1, 2),
        ("Guests", 0, 3),
    ]
    shown = send(client, SETTINGS, f"{SETTINGS}/groups/{made.group.id}/delete", {})
    assert "Group 'Billing' deleted." in shown


def test_a_refused_reservation_shows_its_sentence_and_what_was_typed(
    client: Client, world: World, db: Database
) -> None:
    log_in(client, "admin")
    before = groups_state(db)
    shown = send(
        client,
        SETTINGS,
        f"{SETTINGS}/groups",
        {"name": "Sales team", "reserved": "7", "maximum": "x"},
    )
    assert "Nothing was saved: A maximum is a whole number, such as 5." in shown
    shown = send(
        client,
        SETTINGS,
        f"{SETTINGS}/groups",
        {"name": "Sales team", "reserved": "7", "maximum": ""},
    )
    assert (
        "Nothing was saved: Reservations would add up to 7 licenses, more than the account's 3."
        in shown
    )
    assert 'value="Sales team"' in shown and 'value="7"' in shown
    assert groups_state(db) == before


def test_a_users_groups_are_ticked_on_the_users_page(
    client: Client, world: World, db: Database
) -> None:
    log_in(client, "admin")
    now = world.acme.created_at
    billing = groups.create_group(db, OPERATOR, "acme", name="Billing", now=now)
    sales = groups.create_group(db, OPERATOR, "acme", name="Sales", now=now)
    shown = send(
        client,
        USERS,
        f"{USERS}/alice/groups",
        {"group": [str(billing.id), str(sales.id)]},
    )
    assert "alice is a member of Billing, Sales." in shown
    shown = send(client, USERS, f"{USERS}/alice/groups", {"group": [str(sales.id)]})
    assert "alice is a member of Sales." in shown
    shown = send(client, USERS, f"{USERS}/alice/groups", {})
    assert "alice is in no seat group." in shown
    before = groups_state(db)
    for bad in ("<b>1</b>", "999999"):
        shown = send(client, USERS, f"{USERS}/alice/groups", {"group": bad})
        assert 'data-testid="users-error"' in shown
    assert groups_state(db) == before
