"""Single sign-on against a real OpenID Provider (Node's oidc-provider, tests/oidc), in
chromium: the whole redirect dance for an admin and for an agent in the console, an Agent
Application's ID token, and the provider signing the agent out (back-channel logout)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from litestar import Litestar
from playwright.sync_api import Page, expect

from seatkeeper.client import Client as SeatkeeperClient
from seatkeeper.clock import FrozenClock
from seatkeeper.domain.destinations import Policy, networks
from seatkeeper.domain.sso import provider_settings
from seatkeeper.services import sso
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.outbound import resolve_with_system
from seatkeeper.services.providers import Providers
from seatkeeper.storage.db import Database
from tests.browser.conftest import ACTIVE_AGENTS, CONSOLE, Agents
from tests.conftest import World
from tests.oidc_provider import Client, Provider, oidc_provider  # noqa: F401  (a fixture)
from tests.waiting import PATIENCE, wait_until


@pytest.fixture
def clock() -> FrozenClock:
    """The provider signs with the real time: seatkeeper must read the same."""
    return FrozenClock(datetime.now(UTC))


@pytest.fixture
def trusted_servers(live_server: str, oidc_provider: Provider) -> tuple[str, ...]:  # noqa: F811
    return (live_server, oidc_provider.issuer)


@pytest.fixture
def client_at_provider(
    app: Litestar,
    live_server: str,
    oidc_provider: Provider,  # noqa: F811
    db: Database,
    world: World,
    clock: FrozenClock,
) -> Client:
    """acme's client at the provider, and acme's single sign-on through it (the provider
    is on this machine: the operator allows loopback and http, as for an on-premise one)."""
    client = oidc_provider.register(
        redirect_uri=f"{live_server}/sso/acme/callback",
        back_channel_logout_uri=f"{live_server}/sso/acme/back-channel-logout",
    )
    policy = Policy(networks("127.0.0.0/8"), allow_http=True)
    single = sso.SingleSignOn(Providers(policy, resolve_with_system), sso.Sealer("k" * 32))
    app.state.runtime = dataclasses.replace(app.state.runtime, sso=single)
    settings = provider_settings(
        issuer=oidc_provider.issuer,
        client_id=client.client_id,
        display_name="Acme ID",
        roles_claim="groups",
        role_map={"seat-admins": "account_admin"},
        scopes="openid profile groups",
    )
    sso.set_provider(
        db, single, OPERATOR, "acme", settings, client_secret=client.client_secret, now=clock.now()
    )
    return client


def sign_in_at_provider(page: Page, username: str) -> None:
    """The provider's own login and consent pages, as a person fills them."""
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill("anything")
    page.locator("button[type=submit]").click()
    consent = page.locator("button[type=submit]", has_text="Continue")
    if consent.count():
        consent.click()


def test_an_admin_signs_in_at_the_provider_and_sees_active_agents(
    page: Page, live_server: str, client_at_provider: Client
) -> None:
    page.goto(f"{live_server}/login?account=acme")
    page.get_by_test_id("login-sso").click()
    sign_in_at_provider(page, "ada")
    expect(page).to_have_url(f"{live_server}{ACTIVE_AGENTS}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Active Agents")


def test_an_agent_signs_in_to_the_console_and_the_provider_signs_them_out(
    new_page: Callable[[str], Page],
    live_server: str,
    oidc_provider: Provider,  # noqa: F811
    client_at_provider: Client,
    agents: Agents,
) -> None:
    agent = new_page("agent")
    agent.goto(f"{live_server}{CONSOLE}")
    agent.get_by_test_id("console-sso").click()
    sign_in_at_provider(agent, "alan")
    expect(agent.get_by_test_id("console-agent")).to_have_text("Logged in as alan")
    assert "id_token" not in agent.url  # the token left the address bar at once
    assert "alan" in {r["agent_id"] for r in agents.active_sessions()}

    admin = new_page("admin")
    admin.goto(f"{live_server}/login?account=acme")
    admin.get_by_test_id("login-sso").click()
    sign_in_at_provider(admin, "ada")
    expect(admin).to_have_url(f"{live_server}{ACTIVE_AGENTS}")
    expect(admin.get_by_test_id("grid").get_by_text("alan", exact=True)).to_have_count(1)

    # The agent signs out at the provider, which tells seatkeeper: the license is free.
    agent.goto(f"{oidc_provider.issuer}/session/end")
    agent.locator("button[type=submit]", has_text="Yes").click()
    wait_until(
        lambda: "alan" not in {r["agent_id"] for r in agents.active_sessions()},
        "the provider's logout to end alan's session",
    )
    admin.get_by_role("button", name="Refresh").click()
    expect(admin.get_by_test_id("grid-empty")).to_be_visible()


def test_an_agent_application_opens_a_session_with_the_providers_id_token(
    live_server: str,
    oidc_provider: Provider,  # noqa: F811
    client_at_provider: Client,
    world: World,
) -> None:
    with httpx.Client(timeout=PATIENCE) as browser:
        token = oidc_provider.id_token_for(client_at_provider, "agent-7", http=browser)
    with SeatkeeperClient(live_server, world.app_key, timeout=PATIENCE) as client:
        session = client.open_session(id_token=token)
        assert (session.agent_id, session.joined) == ("agent-7", False)
        assert client.open_session(id_token=token).session_id == session.session_id
