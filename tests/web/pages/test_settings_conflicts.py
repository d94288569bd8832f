"""Two admins with the Account Settings form open: the form changes only what its admin
changed, and refuses (nothing saved, a clear message) when the other one changed the
account since it was opened."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import accounts, audit_events
from tests.conftest import World
from tests.web.pages.test_pages import form_token, log_in

Client = TestClient[Litestar]
SETTINGS = "/accounts/acme/settings"


@pytest.fixture
def second(app: Litestar) -> Iterator[Client]:
    """Another browser, for the other admin."""
    with TestClient(app) as other:
        yield other


def open_form(client: Client) -> dict[str, str]:
    return form_of(client.get(SETTINGS).text)


def form_of(page: str) -> dict[str, str]:
    """The settings form as the page shows it: every field, hidden ones included."""
    form = {"csrf_token": form_token(page)}
    for name in ("opened", "name", "time_zone", "session_timeout_minutes", "licenses"):
        found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
        if found:
            form[name] = html.unescape(found.group(1))
    if re.search(r'name="guests_allowed"[^>]*checked', page):
        form["guests_allowed"] = "on"
    return form


def save(client: Client, form: dict[str, str]) -> str:
    """Send the form; the page it leads back to."""
    answer = client.post(SETTINGS, data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return client.get(answer.headers["location"]).text


def stored(db: Database) -> tuple[Any, ...]:
    with db.engine.connect() as conn:
        row = conn.execute(
            select(accounts.c.name, accounts.c.session_timeout_seconds, accounts.c.time_zone).where(
                accounts.c.slug == "acme"
            )
        ).one()
        audits = conn.execute(select(func.count()).select_from(audit_events)).scalar_one()
    return (*row, audits)


def conflict_of(page: str) -> str | None:
    found = re.search(r'data-testid="settings-conflict">([^<]*)<', page)
    return None if found is None else html.unescape(found.group(1))


def test_a_form_opened_before_another_admins_change_saves_nothing(
    client: Client, second: Client, world: World, db: Database
) -> None:
    log_in(client, "admin")
    log_in(second, "root", account="ops")
    mine, theirs = open_form(client), open_form(second)

    page = save(second, {**theirs, "name": "Acme Renamed"})
    assert "Settings saved." in page
    after_theirs = stored(db)
    assert after_theirs[:3] == ("Acme Renamed", 1800, "Europe/Paris")

    page = save(client, {**mine, "session_timeout_minutes": "45"})
    assert conflict_of(page) == (
        "Someone else changed this account's settings (name) since you opened them: "
        "nothing was saved. Look at the current settings, then make your change again. "
        "The form now shows the current settings."
    )
    assert "Settings saved." not in page
    assert stored(db) == after_theirs  # neither the timeout nor the old name came back

    # The form now shows the current settings: changed again from there, it saves.
    again = open_form(client)
    assert again["name"] == "Acme Renamed"
    page = save(client, {**again, "session_timeout_minutes": "45"})
    assert "Settings saved." in page and conflict_of(page) is None
    assert stored(db)[:3] == ("Acme Renamed", 2700, "Europe/Paris")


def test_a_form_changes_only_what_its_admin_changed(
    client: Client, second: Client, world: World, db: Database
) -> None:
    """Unchanged fields are not written (nor audited) even when the form sends them."""
    log_in(client, "admin")
    form = open_form(client)
    before = stored(db)
    page = save(client, {**form, "time_zone": "Asia/Tokyo"})
    assert "Settings saved." in page
    after = stored(db)
    assert after[:3] == ("Acme Support", 1800, "Asia/Tokyo")
    assert after[3] == before[3] + 1  # one audit row: the time zone


def test_a_refused_form_keeps_what_it_was_opened_with(
    client: Client, second: Client, world: World, db: Database
) -> None:
    """Corrected after a refusal, the form still knows the settings it was opened with."""
    log_in(client, "admin")
    log_in(second, "admin")
    mine = open_form(client)
    page = save(client, {**mine, "session_timeout_minutes": "forever"})
    assert "The session timeout is a number of minutes" in page
    corrected = form_of(page)  # the refused form, as the page gives it back
    save(second, {**open_form(second), "name": "Acme Elsewhere"})
    assert corrected["opened"] == mine["opened"]
    page = save(client, {**corrected, "session_timeout_minutes": "45"})
    assert conflict_of(page) is not None
    assert stored(db)[:2] == ("Acme Elsewhere", 1800)
