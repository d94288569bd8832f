"""The pages say 1 license and 1 open session: never "1 licenses"."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from tests.conftest import World
from tests.web.api.test_agent import open_session
from tests.web.pages.test_pages import log_in

ONE_TOO_MANY = re.compile(r"\b1 (licenses|sessions|open sessions|days|minutes|months)\b")


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_an_account_with_one_license_and_one_session_is_told_in_the_singular(
    client: TestClient[Litestar], world: World, db: Database, clock: FrozenClock
) -> None:
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=1), now=clock.now())
    assert open_session(client, world.app_key).status_code == 201
    assert log_in(client, "admin").status_code == 303
    page = client.get("/accounts/acme/active-agents")
    assert page.status_code == 200
    assert 'class="licenses-label"' in page.text
    shown = " ".join(text_of(page.text).split())
    assert "1 license" in shown
    assert "Download the 1 open session:" in shown
    assert "highest 1 of 1 license;" in html.unescape(page.text)
    assert not ONE_TOO_MANY.search(shown), shown


def test_the_console_of_an_account_with_one_license_names_its_only_license(
    client: TestClient[Litestar], world: World, db: Database, clock: FrozenClock
) -> None:
    change_settings(
        db,
        OPERATOR,
        "acme",
        SettingsChange(licenses=1, session_timeout=timedelta(minutes=1)),
        now=clock.now(),
    )
    page = client.get("/console/acme")
    assert page.status_code == 200
    shown = " ".join(text_of(page.text).split())
    assert (
        "A session holds Acme Support's only license until you log out or 1 minute passes "
        "without activity." in shown
    )
    assert not ONE_TOO_MANY.search(shown), shown
