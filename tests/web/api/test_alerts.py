"""Capacity alerts: raised once as use crosses a level, cleared when it falls back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.domain import alerts as rules
from seatkeeper.domain.errors import InvalidInput
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services import accounts, alerts
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from tests.conftest import World, bearer
from tests.web.api.test_agent import call, error_of, open_session
from tests.web.pages.test_pages import log_in

Client = TestClient[Litestar]


def test_levels_rise_and_clear_with_a_margin() -> None:
    assert [rules.raised_at(lv, 20) for lv in (50, 90, 100)] == [10, 18, 20]
    assert [rules.cleared_at(lv, 20) for lv in (50, 90, 100)] == [9, 17, 19]
    assert (rules.raised_at(90, 3), rules.cleared_at(90, 3)) == (3, 2)
    assert rules.cleared_at(100, 200) == 190  # 5% of the licenses when that is more than one
    assert rules.changes([90, 100], [], 18, 20) == ([90], [])
    assert rules.changes([90, 100], [90], 19, 20) == ([], [])  # already raised: not again
    assert rules.changes([90, 100], [90], 18, 20) == ([], [])  # inside the margin: kept
    assert rules.changes([90, 100], [90, 100], 17, 20) == ([], [90, 100])
    assert rules.changes([100], [90], 0, 20) == ([], [90])  # a level no longer wanted
    assert rules.parse_levels(" 100, 80 ,80") == (80, 100)
    for bad in ("90,abc", "0", "101", "1,2,3,4,5,6"):
        with pytest.raises(InvalidInput):
            rules.parse_levels(bad)


def alert_list(client: Client, world: World) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/accounts/acme/alerts", headers=bearer(world.admin_token))
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["alerts"]
    return found


def guest(client: Client, world: World) -> dict[str, Any]:
    opened = open_session(client, world.app_key)
    assert opened.status_code == 201, opened.text
    body: dict[str, Any] = opened.json()
    return body


def test_claims_raise_alerts_once_and_falling_use_clears_them(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    change_settings(db, OPERATOR, "acme", SettingsChange(alert_levels=(50, 100)), now=clock.now())
    first = guest(client, world)
    assert alert_list(client, world) == []
    second = guest(client, world)  # 2 of 3: past 50%
    assert [(a["level"], a["active"], a["raised_in_use"]) for a in alert_list(client, world)] == [
        (50, True, 2)
    ]
    clock.advance(timedelta(minutes=1))
    third = guest(client, world)  # 3 of 3
    assert error_of(open_session(client, world.app_key)) == (409, "license_limit_reached")
    active = {a["level"]: a for a in alert_list(client, world) if a["active"]}
    assert sorted(active) == [50, 100]
    assert (
        active[100]["raised_at"] == clock.now().astimezone().isoformat().replace("+00:00", "Z")
        or active[100]["raised_in_use"] == 3
    )

    log_in(client, "admin")
    page = client.get("/accounts/acme/active-agents").text
    assert page.count('data-testid="capacity-alert"') == 1  # the highest level's
    banner = "Capacity alert: 100% level reached at 14:01 Tue 10 Mar (3 of 3 licenses); "
    assert banner + "3 of 3 in use now." in page

    # Down to 2: the logout clears the 100% alert (its margin is one session) at once, the
    # 50% one stays.
    clock.advance(timedelta(minutes=1))
    call(client, "DELETE", third["session_id"], third["token"])
    states = [(a["level"], a["active"]) for a in alert_list(client, world)]
    assert states == [(100, False), (50, True)]
    assert alerts.evaluate(db, clock.now()) == 0  # nothing more to do

    # Up again: a new 100% alert; then down to none.
    clock.advance(timedelta(minutes=1))
    third = guest(client, world)
    assert [a["level"] for a in alert_list(client, world) if a["active"]] == [100, 50]
    clock.advance(timedelta(minutes=1))
    for s in (first, second, third):
        call(client, "DELETE", s["session_id"], s["token"])
    assert alerts.evaluate(db, clock.now()) == 0
    listed = alert_list(client, world)
    assert [(a["level"], a["active"]) for a in listed] == [(100, False), (100, False), (50, False)]
    # Each cleared by the logout that took use to its point: 2 for 100%, 1 for 50%.
    assert [a["cleared_in_use"] for a in listed] == [2, 2, 1]
    assert 'data-testid="capacity-alert"' not in client.get("/accounts/acme/active-agents").text


def test_fewer_licenses_raise_an_alert_at_once(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    guest(client, world)
    guest(client, world)
    assert alert_list(client, world) == []  # 2 of 3 is under 90%
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=2), now=clock.now())
    raised = {(a["level"], a["licenses"], a["active"]) for a in alert_list(client, world)}
    assert raised == {(90, 2, True), (100, 2, True)}
    with pytest.raises(InvalidInput):
        change_settings(
            db, OPERATOR, "acme", SettingsChange(alert_levels=(0, 100)), now=clock.now()
        )
    assert accounts.get_account(db, "acme").alert_levels == (90, 100)


def test_alerts_are_for_admins_of_the_account(client: Client, world: World) -> None:
    path = "/api/v1/accounts/acme/alerts"
    assert error_of(client.get(path, headers=bearer(world.agent_token))) == (403, "not_allowed")
    globex = client.get(path, headers=bearer(world.globex_admin_token))
    assert error_of(globex) == (404, "account_not_found")
    body = client.get(path, headers=bearer(world.super_token)).json()
    assert (body["levels"], body["alerts"]) == ([90, 100], [])
