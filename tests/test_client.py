"""The Python client against a real server: the story, and refusals as typed exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar

from seatkeeper.client import (
    Client,
    Flow,
    GuestsNotAllowed,
    InvalidCredentials,
    InvalidRequest,
    LicenseLimitReached,
    SessionTerminated,
    TooManyOpens,
    Unauthorized,
)
from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services import flows
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from tests.conftest import PASSWORD, WORLD_FLOWS, World, bearer
from tests.servers import served
from tests.waiting import PATIENCE, wait_until


@pytest.fixture
def base_url(app: Litestar) -> Iterator[str]:
    with served(app) as url:
        yield url


def test_the_client_story_and_its_exceptions(base_url: str, world: World) -> None:
    with Client(base_url, world.app_key, timeout=PATIENCE) as client:
        alice = client.open_session("alice", PASSWORD)
        assert (alice.agent_id, alice.joined) == ("alice", False)
        again = client.open_session("alice", PASSWORD)
        assert again.joined and again.session_id == alice.session_id
        guest = client.open_session()
        assert guest.agent_id is None
        reset = alice.open_interaction("Password Reset")
        reset.step("Verify identity")
        assert alice.heartbeat() == alice.expires_at
        client.open_session("bob", PASSWORD)

        with pytest.raises(LicenseLimitReached) as full:
            client.open_session("carol", PASSWORD)
        assert (full.value.status, full.value.code) == (409, "license_limit_reached")
        assert "All 3 licenses are in use" in full.value.message
        with pytest.raises(InvalidCredentials):
            client.open_session("alice", "wrong password")
        with pytest.raises(InvalidRequest):
            alice.open_interaction("")

        terminated = httpx.post(
            f"{base_url}/api/v1/accounts/acme/active-sessions/terminate",
            json={"session_ids": [alice.session_id]},
            headers=bearer(world.admin_token),
            timeout=PATIENCE,
        )
        assert terminated.json()["terminated"] == 1
        with pytest.raises(SessionTerminated) as ended:
            reset.step("Send reset link")
        assert ended.value.message == "Your session was terminated by an administrator."
        guest.logout()
        assert client.open_session("carol", PASSWORD).agent_id == "carol"

    with (
        Client(base_url, "sk_app_forged", timeout=PATIENCE) as stranger,
        pytest.raises(Unauthorized),
    ):
        stranger.open_session()


def test_guest_refusal_is_typed(
    base_url: str, world: World, db: Database, clock: FrozenClock
) -> None:
    change_settings(db, OPERATOR, "acme", SettingsChange(guests_allowed=False), now=clock.now())
    with (
        Client(base_url, world.app_key, timeout=PATIENCE) as client,
        pytest.raises(GuestsNotAllowed),
    ):
        client.open_session()


def test_flows_state_and_keep_alive(
    base_url: str, world: World, db: Database, clock: FrozenClock
) -> None:
    for name in WORLD_FLOWS:  # only the Flow this test registers
        flows.remove_flow(db, OPERATOR, "acme", name=name, now=clock.now())
    flows.add_flow(db, OPERATOR, "acme", name="New Order", steps=["Pick", "Pay"], now=clock.now())
    with Client(base_url, world.app_key, timeout=PATIENCE) as client:
        assert client.flows() == [Flow("New Order", ("Pick", "Pay"))]
        first = client.open_session("alice", PASSWORD)
        first.open_interaction("New Order")
        second = client.open_session("alice", PASSWORD)  # another process of the same agent
        assert [i.flow for i in second.state()] == ["New Order"]

        clock.advance(timedelta(minutes=20))
        with first.keep_alive(interval=0.05) as beating:
            wait_until(
                lambda: first.expires_at >= clock.now() + timedelta(minutes=30),
                "a heartbeat to move the session's expiry",
            )
        assert beating.ended is None

        guest = client.open_session()
        keeper = guest.keep_alive(interval=0.05)
        httpx.post(
            f"{base_url}/api/v1/accounts/acme/active-sessions/terminate",
            json={"session_ids": [guest.session_id]},
            headers=bearer(world.admin_token),
            timeout=PATIENCE,
        )
        assert keeper.wait(timeout=PATIENCE)  # it stops by itself once the session is over
        assert isinstance(keeper.ended, SessionTerminated)
        assert keeper.ended.message == "Your session was terminated by an administrator."


def test_opens_beyond_the_addresss_pace_raise_too_many_opens(base_url: str, world: World) -> None:
    with Client(base_url, world.app_key, timeout=PATIENCE) as client:
        for _ in range(3):
            client.open_session()
        for _ in range(17):
            with pytest.raises(LicenseLimitReached):
                client.open_session()
        with pytest.raises(TooManyOpens) as paced:
            client.open_session()
    assert (paced.value.status, paced.value.code) == (429, "too_many_opens")
