"""Strangers knocking: session opens from one address are paced, and refused opens from
one address and browser count once in the demand and the licenses-needed advice."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from seatkeeper.clock import FrozenClock
from seatkeeper.config import Settings
from seatkeeper.domain import pace
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import denials
from seatkeeper.web.app import create_app
from tests.conftest import World, bearer
from tests.servers import served
from tests.waiting import PATIENCE

Client = TestClient[Litestar]
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}


@pytest.fixture
def base_url(app: Litestar) -> Iterator[str]:
    with served(app) as url:
        yield url


def from_address(address: str) -> httpx.Client:
    """A client whose requests come from `address` (any 127/8 address is this machine)."""
    return httpx.Client(
        transport=httpx.HTTPTransport(local_address=address), timeout=PATIENCE, headers=BROWSER
    )


def guest_opens(http: httpx.Client, base_url: str, key: str, count: int) -> list[Any]:
    return [
        http.post(f"{base_url}/api/v1/sessions", json={}, headers=bearer(key)) for _ in range(count)
    ]


def refusals(db: Database) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(denials)).scalar_one()


def needed(http: httpx.Client, base_url: str, world: World) -> int:
    usage = http.get(f"{base_url}/api/v1/accounts/acme/usage", headers=bearer(world.admin_token))
    found: int = usage.json()["licenses_needed"]
    return found


def test_300_opens_from_one_address_are_paced_and_another_address_is_not(
    base_url: str, world: World, db: Database, clock: FrozenClock
) -> None:
    allowed = pace.opens_allowed(world.acme.licenses)  # acme has 3: the floor, 20
    with from_address("127.0.0.1") as one, from_address("127.0.0.2") as other:
        answers = guest_opens(one, base_url, world.app_key, 300)
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {201: 3, 409: allowed - 3, 429: 300 - allowed}
        paced = next(a for a in answers if a.status_code == 429)
        assert paced.json()["error"]["code"] == "too_many_opens"
        assert paced.json()["error"]["message"].startswith(
            "Too many sessions were opened from this address just now: try again in "
        )
        assert 1 <= int(paced.headers["retry-after"]) <= 60
        assert refusals(db) == allowed - 3  # a paced open is not a refusal: nothing recorded
        # Another address is not paced: it is told the licenses are all in use.
        (elsewhere,) = guest_opens(other, base_url, world.app_key, 1)
        assert elsewhere.json()["error"]["code"] == "license_limit_reached"
        # The paced address may open again once its bucket refilled.
        clock.advance(timedelta(minutes=1))
        (later,) = guest_opens(one, base_url, world.app_key, 1)
        assert later.json()["error"]["code"] == "license_limit_reached"
        # 17 refusals from one browser, one from another: 3 in use + 2 browsers.
        assert needed(one, base_url, world) == 5


def test_refusals_of_one_browser_count_once_in_the_advice(
    base_url: str, world: World, db: Database, clock: FrozenClock
) -> None:
    with from_address("127.0.0.1") as one:
        guest_opens(one, base_url, world.app_key, 3)  # every license in use
        guest_opens(one, base_url, world.app_key, 10)
        assert refusals(db) == 10
        clock.advance(timedelta(seconds=1))  # the usage counts what happened before now
        assert needed(one, base_url, world) == 4  # not 13
        one.headers["User-Agent"] = "Another browser/1.0"
        guest_opens(one, base_url, world.app_key, 5)
        clock.advance(timedelta(seconds=1))
        assert needed(one, base_url, world) == 5
        usage = one.get(
            f"{base_url}/api/v1/accounts/acme/usage", headers=bearer(world.admin_token)
        ).json()
        assert "15 opens were refused" in usage["advice"]
        assert "5 licenses would have avoided every refusal" in usage["advice"]
    with db.read() as conn:  # the address and browser are kept only as a hash
        kept = set(conn.execute(select(denials.c.requester)).scalars())
    assert len(kept) == 2 and all(re.fullmatch(r"[0-9a-f]{32}", k or "") for k in kept)


def test_the_agent_console_is_paced_too(client: Client, world: World, db: Database) -> None:
    page = client.get("/console/acme")
    token = re.search(r'data-csrf="([^"]+)"', page.text)
    assert token
    answers = [
        client.post("/console/acme/sessions", json={}, headers={"X-CSRF-Token": token.group(1)})
        for _ in range(40)
    ]
    codes = Counter(a.status_code for a in answers)
    assert codes == {201: 3, 409: 17, 429: 20}
    assert refusals(db) == 17
    # The application key's opens from this address share its pace for the account.
    key_open = client.post("/api/v1/sessions", json={}, headers=bearer(world.app_key))
    assert key_open.status_code == 429


def test_the_operator_sets_the_floor_or_turns_the_pace_off(
    settings: Settings, db: Database, clock: FrozenClock, world: World
) -> None:
    # globex has 5 licenses: a floor of 12 beats twice that; 0 paces nothing.
    for floor, paced in ((12, 30 - 12), (0, 0)):
        configured = settings.model_copy(update={"opens_per_minute": floor})
        with TestClient(create_app(configured, clock=clock, database=db)) as client:
            key = bearer(world.globex_app_key)
            codes = Counter(
                client.post("/api/v1/sessions", json={}, headers=key).status_code for _ in range(30)
            )
        assert codes[429] == paced, (floor, codes)
