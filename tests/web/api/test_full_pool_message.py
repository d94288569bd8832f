"""The sentence a full pool's refusal says, with one license and with several."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from tests.conftest import World, bearer


@pytest.mark.parametrize(
    ("licenses", "sentence"),
    [(1, "The only license is in use."), (5, "All 5 licenses are in use.")],
)
def test_a_full_pool_says_how_many_licenses_are_in_use(
    client: TestClient[Litestar],
    world: World,
    db: Database,
    clock: FrozenClock,
    licenses: int,
    sentence: str,
) -> None:
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=licenses), now=clock.now())
    for _ in range(licenses):
        opened = client.post("/api/v1/sessions", json={}, headers=bearer(world.app_key))
        assert opened.status_code == 201, opened.text
    refused = client.post("/api/v1/sessions", json={}, headers=bearer(world.app_key))
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "license_limit_reached"
    assert error["message"].startswith(sentence)
    assert "1 licenses" not in error["message"]
    assert "All 1 " not in error["message"]


def test_an_account_without_licenses_says_it_has_none(
    client: TestClient[Litestar], world: World, db: Database, clock: FrozenClock
) -> None:
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=0), now=clock.now())
    refused = client.post("/api/v1/sessions", json={}, headers=bearer(world.app_key))
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "This account has no licenses: ask your administrator for one."
    )
