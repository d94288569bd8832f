"""Who holds licenses and timeout waste over the HTTP API, and the holders' downloads."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from seatkeeper.clock import FrozenClock
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import usage_day_timeouts, usage_days
from tests.conftest import World, bearer
from tests.web.api.test_agent import call, error_of, login, open_session

Client = TestClient[Litestar]
API = "/api/v1/accounts/acme"


def get(client: Client, path: str, token: str) -> Any:
    return client.get(f"{API}{path}", headers=bearer(token))


@pytest.fixture
def history(client: Client, world: World, clock: FrozenClock) -> None:
    """Alice works two hours and logs out; bob opens and leaves, timed out 30 minutes
    later; a Guest holds a license from minute 40 to 70. Then a day goes by."""
    alice, bob = login(client, world, "alice"), login(client, world, "bob")
    guest: dict[str, Any] = {}
    for minute in range(20, 121, 20):  # alice keeps her session alive (a 30-minute timeout)
        clock.advance(timedelta(minutes=10))
        if minute == 80:
            assert call(client, "DELETE", guest["session_id"], guest["token"]).status_code == 204
        clock.advance(timedelta(minutes=10))
        if minute == 120:
            assert call(client, "DELETE", alice["session_id"], alice["token"]).status_code == 204
            break
        call(client, "POST", f"{alice['session_id']}/heartbeat", alice["token"])
        if minute == 40:
            guest = open_session(client, world.app_key, {}).json()
        if minute == 60:
            call(client, "POST", f"{guest['session_id']}/heartbeat", guest["token"])
    clock.advance(timedelta(days=1))
    del bob  # never heard from again: timed out at 30 minutes, not swept yet


def test_holders_are_listed_by_license_hours_and_sort_as_asked(
    client: Client, world: World, history: None
) -> None:
    answer = get(client, "/holders", world.admin_token)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["period"]["name"] == "30d" and body["period"]["label"] == "the last 30 days"
    assert (body["sort"], body["order"]) == ("license_hours", "desc")
    assert [
        (h["agent"], h["guests"], h["license_hours"], h["sessions"], h["idle_hours"])
        for h in body["holders"]
    ] == [
        ("alice", False, 2.0, 1, 0.0),
        ("bob", False, 0.5, 1, 0.5),
        ("Guests", True, 0.5, 1, 0.0),
    ]
    assert body["holders"][0]["longest_minutes"] == 120.0
    by_agent = get(client, "/holders?sort=agent&order=desc", world.admin_token).json()
    assert [h["agent"] for h in by_agent["holders"]] == ["Guests", "bob", "alice"]
    by_idle = get(client, "/holders?sort=idle", world.admin_token).json()
    assert by_idle["holders"][0]["agent"] == "bob"


def test_timeout_waste_says_what_a_shorter_timeout_would_have_changed(
    client: Client, world: World, history: None, db: Database
) -> None:
    body = get(client, "/timeout-waste?period=90d", world.admin_token).json()
    assert body["period"]["name"] == "90d"
    assert (body["timeout_minutes"], body["license_hours"], body["idle_hours"]) == (30, 3.0, 0.5)
    assert body["peak"] == 2
    assert [(c["timeout_minutes"], c["freed_hours"], c["peak"]) for c in body["candidates"]] == [
        (5, round(25 / 60, 4), 2),
        (10, round(20 / 60, 4), 2),
        (15, 0.25, 2),
        (20, round(10 / 60, 4), 2),
    ]
    assert body["hint"] == (
        "Sessions waited 0.5 license-hours for their 30-minute timeout in this period; a "
        "20-minute timeout would have freed 0.2 of them, but the peak would have stayed at 2."
    )
    with db.read() as conn:  # the day that is over is kept, every candidate of it
        kept = conn.execute(select(func.count()).select_from(usage_day_timeouts)).scalar_one()
    assert kept == 5 * 89  # every day but today (five candidates a day)


def test_holders_download_as_csv_and_json_as_the_api_says(
    client: Client, world: World, history: None
) -> None:
    listed = get(client, "/holders?sort=sessions&order=asc", world.admin_token).json()
    as_json = get(client, "/holders/export?format=json&sort=sessions&order=asc", world.admin_token)
    assert as_json.status_code == 200
    assert as_json.json() == listed
    first, last = listed["period"]["first"], listed["period"]["last"]
    assert as_json.headers["content-disposition"] == (
        f'attachment; filename="acme-holders-{first}-to-{last}.json"'
    )
    as_csv = get(client, "/holders/export?sort=sessions&order=asc", world.admin_token)
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["agent"] for r in rows] == [h["agent"] for h in listed["holders"]]
    assert rows[0].keys() == {
        "agent", "guests", "license_hours", "sessions", "longest_minutes", "idle_hours"
    }  # fmt: skip
    assert [float(r["license_hours"]) for r in rows] == [
        h["license_hours"] for h in listed["holders"]
    ]


HOSTILE = [
    ("/holders?period=<b>x</b>", "invalid_period"),
    ("/holders?period=<script>alert(1)</script>", "invalid_request"),
    ("/holders?period=30d&from=2026-01-01&to=2026-01-02", "invalid_period"),
    ("/holders?from=2026-03-02&to=2026-03-01", "invalid_period"),
    ("/holders?from=2026-03-01", "invalid_period"),
    ("/holders?from=2026-03-01&to=9999-12-31", "invalid_period"),
    ("/holders?from=0001-01-01&to=0001-01-02", "invalid_period"),
    ("/holders?from=2026-13-45&to=2026-03-01", "invalid_period"),
    ("/holders?from=%00%01%02%03%04%05%06%07%08%09&to=2026-03-01", "invalid_request"),
    ("/holders?from=2026-03-01%20&to=2026-03-02", "invalid_period"),
    ("/holders?from=1999-12-31&to=2000-01-05", "invalid_period"),
    ("/holders?sort=<b>agent</b>", "invalid_sort"),
    ("/holders?sort=agent&order=%0Adesc", "invalid_request"),
    ("/holders?sort=agent&order=DESC", "invalid_sort"),
    ("/holders?sort=" + "x" * 5000, "invalid_request"),
    ("/holders?period=" + "9" * 5000, "invalid_request"),
    ("/timeout-waste?period=1000000000000000000000d", "invalid_request"),
    ("/timeout-waste?from=2020-01-01&to=2026-03-01", "invalid_period"),
    ("/holders/export?format=xml", "invalid_request"),
    ("/holders/export?format=csv&sort=idle%00", "invalid_request"),
    ("/holders/export?format=csv&sort=idle%20", "invalid_sort"),
]


@pytest.mark.parametrize(("path", "code"), HOSTILE)
def test_bad_requests_are_refused_clearly_and_change_nothing(
    client: Client, world: World, db: Database, path: str, code: str
) -> None:
    answer = get(client, path, world.admin_token)
    assert error_of(answer) == (400, code), answer.text
    message = answer.json()["error"]["message"]
    assert message and "<b>" not in message and "script" not in message
    assert "\x00" not in message and "xxxxxxxx" not in message
    with db.read() as conn:
        for table in (usage_days, usage_day_timeouts):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0


def test_the_reports_are_for_the_accounts_admins_only(client: Client, world: World) -> None:
    for path in ("/holders", "/timeout-waste", "/holders/export"):
        assert error_of(get(client, path, world.agent_token)) == (403, "not_allowed")
        assert error_of(get(client, path, world.designer_token)) == (403, "not_allowed")
        assert error_of(get(client, path, world.globex_admin_token)) == (404, "account_not_found")
        assert error_of(client.get(f"{API}{path}")) == (401, "missing_credentials")
        assert get(client, path, world.super_token).status_code == 200


def test_the_api_document_describes_the_reports(client: Client) -> None:
    paths = client.get("/docs/openapi.json").json()["paths"]
    base = "/api/v1/accounts/{account}"
    for path in ("holders", "timeout-waste", "holders/export"):
        operation = paths[f"{base}/{path}"]["get"]
        assert operation["security"] == [{"AdminToken": []}]
        assert {"400", "401", "403", "404"} <= operation["responses"].keys()
        assert {p["name"] for p in operation["parameters"]} >= {"period", "from", "to"}
    export = paths[f"{base}/holders/export"]["get"]["responses"]["200"]["content"]
    assert export["application/json"]["schema"] == {"$ref": "#/components/schemas/Holders"}
