"""Who waits for a license, as admins see it: GET /api/v1/accounts/{slug}/waits, the
Active Agents page's "Waiting for a license" part, and the usage figures of the line.

acme has 3 licenses and is in Paris; tests start on Tue 10 Mar 2026, 14:00 there.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from tests.conftest import PASSWORD, World, bearer
from tests.web.api.test_wait_in_line import fill, follow, log_out, open_
from tests.web.pages.test_pages import log_in

Client = TestClient[Litestar]


def waits(client: Client, token: str, account: str = "acme") -> httpx.Response:
    return client.get(f"/api/v1/accounts/{account}/waits", headers=bearer(token))


def line_up(client: Client, world: World) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every license held by Guests, then a Guest and bob waiting, in that order."""
    held = fill(client, world)
    guest = open_(client, world, wait=True)
    bob = open_(client, world, username="bob", password=PASSWORD, wait=True)
    assert (guest.status_code, bob.status_code) == (202, 202), bob.text
    return held, [guest.json(), bob.json()]


def test_the_line_in_order_with_who_since_when_and_for_how_long(
    client: Client, world: World, clock: FrozenClock
) -> None:
    assert waits(client, world.admin_token).json()["places"] == []
    held, (guest, bob) = line_up(client, world)
    clock.advance(timedelta(seconds=40))
    body = waits(client, world.admin_token).json()
    assert body == {
        "account": "acme",
        "time_zone": "Europe/Paris",
        "as_of": "2026-03-10T14:00:40+01:00",
        "count": 2,
        "places": [
            {
                "position": 1,
                "wait_id": guest["wait_id"],
                "agent_id": None,
                "asked_at": "2026-03-10T14:00:00+01:00",
                "waiting_seconds": 40,
            },
            {
                "position": 2,
                "wait_id": bob["wait_id"],
                "agent_id": "bob",
                "asked_at": "2026-03-10T14:00:00+01:00",
                "waiting_seconds": 40,
            },
        ],
    }
    log_out(client, held[0])  # the Guest is seated: bob moves up
    places = waits(client, world.admin_token).json()["places"]
    assert [(p["position"], p["agent_id"]) for p in places] == [(1, "bob")]
    # A super_admin sees it too; another account's line is its own.
    assert waits(client, world.super_token).json()["count"] == 1
    assert waits(client, world.super_token, "globex").json()["count"] == 0


def test_a_place_no_longer_followed_is_not_shown(
    client: Client, world: World, clock: FrozenClock
) -> None:
    line_up(client, world)
    clock.advance(timedelta(seconds=61))  # neither ticket followed: both leave the line
    assert waits(client, world.admin_token).json()["count"] == 0


@pytest.mark.parametrize(
    "account",
    ["<script>alert(1)</script>", "acme%00", "acme%0Aevil", "a" * 5000, "ACME", "acme%20"],
)
def test_hostile_account_names_are_refused_and_change_nothing(
    client: Client, world: World, account: str
) -> None:
    line_up(client, world)
    answer = waits(client, world.admin_token, account)
    assert answer.status_code in (400, 404), answer.text
    assert answer.json()["error"]["code"] in ("account_not_found", "not_found", "invalid_request")
    assert "<script>" not in answer.text
    assert waits(client, world.admin_token).json()["count"] == 2


def test_the_page_shows_who_waits_and_the_current_figure_counts_them(
    client: Client, world: World
) -> None:
    assert log_in(client, "admin").status_code == 303
    page = client.get("/accounts/acme/active-agents").text
    assert 'data-testid="waiting-none"' in page
    assert 'data-testid="figure-waiting"' not in page
    line_up(client, world)
    for path in ("/accounts/acme/active-agents", "/accounts/acme/active-agents/fragments"):
        page = client.get(path).text
        rows = page.split('data-testid="waiting-row"')[1:]
        assert len(rows) == 2
        assert 'data-testid="waiting-position" class="num">1<' in rows[0]
        assert 'data-testid="waiting-agent" class="guest">Guest<' in rows[0]
        assert 'data-testid="waiting-agent" class="">bob<' in rows[1]
        assert '<time datetime="2026-03-10T14:00:00+01:00">2026-03-10 14:00:00</time>' in rows[1]
        assert 'data-testid="waiting-for" class="num">0 s<' in rows[1]
        assert "3 / 3 · " in page and ">2 waiting</span>" in page
        assert 'data-testid="waiting-none"' not in page


def test_the_usage_figures_count_the_line_by_the_account_s_days(
    client: Client, world: World, clock: FrozenClock
) -> None:
    # 23:59:00 on Tue 10 Mar in Paris (22:59 UTC): every license is taken, two ask.
    clock.advance(timedelta(hours=9, minutes=59))
    held = fill(client, world)
    clock.advance(timedelta(seconds=40))
    kept = open_(client, world, wait=True).json()
    leaving = open_(client, world, username="bob", password=PASSWORD, wait=True).json()
    assert (
        client.delete(
            f"/api/v1/waits/{leaving['wait_id']}", headers=bearer(leaving["ticket"])
        ).status_code
        == 204
    )
    clock.advance(timedelta(seconds=30))  # 00:00:10 on Wed 11 Mar in Paris, still the 10th in UTC
    assert follow(client, kept).status_code == 200
    clock.advance(timedelta(seconds=20))
    log_out(client, held[0])  # 00:00:30: the license frees, the place is seated (waited 50 s)
    clock.advance(timedelta(seconds=15))
    assert follow(client, kept).status_code == 201  # taken 15 s after it freed
    answer = client.get("/api/v1/accounts/acme/usage", headers=bearer(world.admin_token)).json()
    tuesday, wednesday = answer["days"][-2:]
    figures = ("date", "waited", "longest_wait_seconds", "longest_seating_seconds")
    assert [tuple(day[f] for f in figures) for day in (tuesday, wednesday)] == [
        ("2026-03-10", 2, None, None),
        ("2026-03-11", 0, 50, 15),
    ]
    assert sum(day["waited"] for day in answer["days"]) == 2
    march = answer["months"][-1]
    assert (march["waited"], march["longest_wait_seconds"], march["longest_seating_seconds"]) == (
        2,
        50,
        15,
    )
    # A period from Wednesday on still finds the place asked on Tuesday and seated in it.
    alone = client.get(
        "/api/v1/accounts/acme/usage?from=2026-03-11&to=2026-03-11",
        headers=bearer(world.admin_token),
    ).json()
    assert [tuple(day[f] for f in figures) for day in alone["days"]] == [("2026-03-11", 0, 50, 15)]
    export = client.get(
        "/api/v1/accounts/acme/usage/export?format=csv", headers=bearer(world.admin_token)
    )
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [
        (r["date"], r["waited"], r["longest_wait_seconds"], r["longest_seating_seconds"])
        for r in rows[-2:]
    ] == [("2026-03-10", "2", "", ""), ("2026-03-11", "0", "50", "15")]
    # The Usage section tells the same: the Waited figure, and the day's description.
    assert log_in(client, "admin").status_code == 303
    page = client.get("/accounts/acme/active-agents").text
    assert 'data-testid="figure-waited">2<' in page
    assert "Wed 11 Mar: peak 3 of 3, no denials" in page
    assert ", 0 waited (longest 50 s)" in page
    assert "Tue 10 Mar: peak 3 of 3, no denials, 1 min at the cap, 2 waited<" in page
