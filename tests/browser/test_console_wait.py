"""The agent console waiting in line for a license: offered when the pool is full, its
place shown live, seated without a click when a license frees, leaving the line, and a
lost connection or a lost place.

acme has 3 licenses, filled by Guests over the API; the consoles wait in browsers of
their own (`new_page`), as alice, bob and carol. The clock is frozen: no session or
place times out unless a test moves it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from seatkeeper.clock import FrozenClock
from seatkeeper.services import groups
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage.db import Database
from tests.browser.conftest import CONSOLE, Agents, Opened, console_log_in, open_console
from tests.browser.test_page_layout import assert_apart, assert_inside
from tests.conftest import World, bearer
from tests.waiting import PATIENCE

pytestmark = pytest.mark.usefixtures("console_flows")

Accessible = Callable[[Page, str], None]
# Pages of their own, not the default `page`: those close before the server stops, so
# it need not wait for a follow under way (a long poll) to end.
NewPage = Callable[[str], Page]
FULL = "All 3 licenses are in use"
WAITS = "**/api/v1/waits/**"


def fill(agents: Agents) -> list[Opened]:
    """Every license held, by Guests over the API."""
    return [agents.open() for _ in range(3)]


def terminate(agents: Agents, session: Opened) -> None:
    answer = agents.client.post(
        "/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": [session.session_id]},
        headers=bearer(agents.world.admin_token),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["terminated"] == 1


def wait_in_line(page: Page, live_server: str, username: str, place: str) -> None:
    """Log in to acme's console as `username`, be refused, and wait: shown at `place`."""
    open_console(page, live_server)
    console_log_in(page, username)
    expect(page.get_by_test_id("console-message")).to_contain_text(FULL)
    page.get_by_test_id("console-wait").click()
    expect(page.get_by_test_id("console-waiting")).to_be_visible()
    expect(page.get_by_test_id("console-start")).to_be_hidden()
    expect(page.get_by_test_id("console-place")).to_have_text(place)


def api_waiter(agents: Agents) -> dict[str, str]:
    """A Guest waiting in line over the API: its ticket."""
    answer = agents.client.post(
        "/api/v1/sessions", json={"wait": True}, headers=bearer(agents.world.app_key)
    )
    assert answer.status_code == 202, answer.text
    ticket: dict[str, str] = answer.json()
    return ticket


def leave(agents: Agents, ticket: dict[str, str]) -> None:
    answer = agents.client.delete(
        f"/api/v1/waits/{ticket['wait_id']}", headers=bearer(ticket["ticket"])
    )
    assert answer.status_code == 204, answer.text


def seated_as(page: Page, username: str) -> None:
    """The console shows what a console that opened its session shows."""
    expect(page.get_by_test_id("console-work")).to_be_visible()
    expect(page.get_by_test_id("console-waiting")).to_be_hidden()
    expect(page.get_by_test_id("console-agent")).to_have_text(username)
    expect(page.get_by_test_id("no-interactions")).to_be_visible()


def test_three_agents_wait_and_the_first_is_seated_without_a_click_when_one_is_terminated(
    live_server: str, world: World, agents: Agents, new_page: NewPage
) -> None:
    held = fill(agents)
    consoles = {name: new_page(name) for name in ("alice", "bob", "carol")}
    wait_in_line(consoles["alice"], live_server, "alice", "You are 1st in line")
    wait_in_line(consoles["bob"], live_server, "bob", "You are 2nd in line, 1 agent ahead")
    wait_in_line(consoles["carol"], live_server, "carol", "You are 3rd in line, 2 agents ahead")
    for page in consoles.values():
        expect(page.get_by_test_id("console-estimate")).to_be_hidden()  # no departures lately
        expect(page.get_by_test_id("console-leave")).to_be_focused()
    assert len(agents.active_sessions()) == 3  # waiting holds no license

    terminate(agents, held[0])
    seated_as(consoles["alice"], "Logged in as alice")
    alice = agents.of_console(consoles["alice"])
    assert alice.agent_id == "alice"
    assert agents.active_ids() == {alice.session_id, held[1].session_id, held[2].session_id}

    # The others move up, told where the focus is (it stays where it was).
    bob, carol = consoles["bob"], consoles["carol"]
    expect(bob.get_by_test_id("console-place")).to_have_text("You are 1st in line")
    expect(carol.get_by_test_id("console-place")).to_have_text("You are 2nd in line, 1 agent ahead")
    # One departure in the last 15 minutes: a license every 15 minutes.
    expect(bob.get_by_test_id("console-estimate")).to_have_text("Expected wait: about 15 minutes")
    expect(carol.get_by_test_id("console-estimate")).to_have_text("Expected wait: about 30 minutes")
    for page in (bob, carol):
        expect(page.get_by_test_id("console-leave")).to_be_focused()
        expect(page.get_by_test_id("console-place-status")).to_have_attribute("aria-live", "polite")

    # Seated, alice works as anyone who opened a session does.
    consoles["alice"].get_by_test_id("console-logout").click()
    seated_as(bob, "Logged in as bob")
    expect(carol.get_by_test_id("console-place")).to_have_text("You are 1st in line")


def test_leaving_the_line_moves_the_one_behind_up_and_offers_to_ask_again(
    live_server: str,
    world: World,
    agents: Agents,
    new_page: NewPage,
    assert_accessible: Accessible,
) -> None:
    held = fill(agents)
    alice, bob = new_page("alice"), new_page("bob")
    wait_in_line(alice, live_server, "alice", "You are 1st in line")
    wait_in_line(bob, live_server, "bob", "You are 2nd in line, 1 agent ahead")
    assert_accessible(bob, "the console waiting in line")

    alice.get_by_test_id("console-leave").click()
    expect(bob.get_by_test_id("console-place")).to_have_text("You are 1st in line")
    card = alice.get_by_test_id("console-start")
    message = alice.get_by_test_id("console-message")
    expect(card).to_be_visible()
    expect(message).to_have_text("You left the line.")
    expect(alice.get_by_test_id("console-retry")).to_be_visible()
    expect(alice.get_by_test_id("console-wait")).to_be_focused()
    assert_inside(message, card)
    assert_apart(card.get_by_role("button"))

    # Asking again takes a new place, behind bob.
    alice.get_by_test_id("console-wait").click()
    expect(alice.get_by_test_id("console-place")).to_have_text("You are 2nd in line, 1 agent ahead")
    agents.log_out(held[2])
    seated_as(bob, "Logged in as bob")
    expect(alice.get_by_test_id("console-place")).to_have_text("You are 1st in line")


@pytest.mark.parametrize("width", [1366, 375])
def test_a_full_pool_offers_waiting_beside_try_again_apart_and_in_the_card(
    live_server: str, world: World, agents: Agents, new_page: NewPage, width: int
) -> None:
    fill(agents)
    page = new_page("console")
    page.set_viewport_size({"width": width, "height": 900})
    open_console(page, live_server)
    page.get_by_test_id("console-guest").click()
    card = page.get_by_test_id("console-start")
    expect(page.get_by_test_id("console-message")).to_contain_text(FULL)
    expect(page.get_by_test_id("console-retry")).to_be_visible()
    expect(page.get_by_test_id("console-wait")).to_have_text("Wait for a license")
    assert_apart(card.get_by_role("button"))
    assert_inside(page.get_by_test_id("console-message"), card)

    page.get_by_test_id("console-wait").click()
    waiting = page.get_by_test_id("console-waiting")
    expect(page.get_by_test_id("console-place")).to_have_text("You are 1st in line")
    assert_inside(page.get_by_test_id("console-place"), waiting)
    assert_inside(page.get_by_test_id("console-leave"), waiting)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the window"
    page.get_by_test_id("console-leave").click()
    expect(page.get_by_test_id("console-message")).to_have_text("You left the line.")
    assert_apart(card.get_by_role("button"))


def test_a_guest_over_the_guests_maximum_may_wait_too(
    live_server: str,
    world: World,
    agents: Agents,
    new_page: NewPage,
    db: Database,
    clock: FrozenClock,
) -> None:
    page = new_page("console")
    groups.set_guests(db, OPERATOR, "acme", maximum=1, now=clock.now())
    other = agents.open()  # the one Guest allowed; two licenses stay free
    open_console(page, live_server)
    page.get_by_test_id("console-guest").click()
    expect(page.get_by_test_id("console-message")).to_have_text(
        "Guests may hold at most 1 license."
    )
    expect(page.get_by_test_id("console-retry")).to_be_visible()
    page.get_by_test_id("console-wait").click()
    expect(page.get_by_test_id("console-place")).to_have_text("You are 1st in line")

    agents.log_out(other)
    seated_as(page, "Guest")
    assert len(agents.active_sessions()) == 1


def _refuse_follows(route: Route) -> None:
    """The connection lost, for the ticket's follows only."""
    if route.request.method == "GET":
        route.abort()
    else:
        route.fallback()


def test_a_lost_connection_follows_again_and_keeps_the_place(
    live_server: str, world: World, agents: Agents, new_page: NewPage
) -> None:
    held = fill(agents)
    page = new_page("console")
    ahead = api_waiter(agents)
    wait_in_line(page, live_server, "alice", "You are 2nd in line, 1 agent ahead")
    page.route(WAITS, _refuse_follows)
    leave(agents, ahead)  # answers the follow under way; the next ones are lost
    message = page.get_by_test_id("console-message")
    expect(message).to_contain_text("seatkeeper could not be reached")
    assert_inside(message, page.get_by_test_id("console-waiting"))

    page.unroute(WAITS, _refuse_follows)
    expect(message).to_be_hidden()
    expect(page.get_by_test_id("console-place")).to_have_text("You are 1st in line")
    terminate(agents, held[1])
    seated_as(page, "Logged in as alice")


def test_a_place_lost_while_the_connection_was_says_so_and_offers_to_ask_again(
    live_server: str, world: World, agents: Agents, new_page: NewPage, clock: FrozenClock
) -> None:
    fill(agents)
    page = new_page("console")
    ahead = api_waiter(agents)
    wait_in_line(page, live_server, "alice", "You are 2nd in line, 1 agent ahead")
    page.route(WAITS, _refuse_follows)
    leave(agents, ahead)
    expect(page.get_by_test_id("console-message")).to_contain_text("could not be reached")
    # Longer than the ticket is kept unfollowed: its last long poll (25 s, following while
    # it lasts), then 60 s and a few seconds' slack.
    clock.advance(timedelta(seconds=25 + 60 + 5 + 1))
    page.unroute(WAITS, _refuse_follows)

    expect(page.get_by_test_id("console-start")).to_be_visible()
    expect(page.get_by_test_id("console-message")).to_have_text(
        "Your place in line was lost: seatkeeper did not hear from this page for a minute. "
        "Ask again for a new place."
    )
    expect(page.get_by_test_id("console-wait")).to_be_focused()
    page.get_by_test_id("console-wait").click()
    expect(page.get_by_test_id("console-place")).to_have_text("You are 1st in line")


def test_the_consoles_open_waits_only_when_asked_plainly(
    live_server: str, world: World, agents: Agents
) -> None:
    """The console's own call, as its page sends it: `"wait": true` gives a ticket; any
    other value of `wait` is refused and makes no place in line."""
    fill(agents)
    with httpx.Client(base_url=live_server, timeout=PATIENCE) as client:
        page = client.get(CONSOLE)
        match = re.search(r'data-csrf="([^"]+)"', page.text)
        assert match is not None
        headers = {"X-CSRF-Token": match.group(1)}
        url = f"{CONSOLE}/sessions"
        for hostile in ("yes", 2, "<script>alert(1)</script>", "\x00", ["x"], "x" * 100_000):
            answer = client.post(url, json={"wait": hostile}, headers=headers)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["code"] == "invalid_request"
        answer = client.post(url, json={"wait": True}, headers=headers)
    assert answer.status_code == 202, answer.text
    ticket = answer.json()
    assert (ticket["position"], ticket["ahead"]) == (1, 0)  # no place was made before it
    assert ticket["ticket"].startswith("sk_wait_")
    assert answer.headers["location"] == f"/api/v1/waits/{ticket['wait_id']}"
    assert len(agents.active_sessions()) == 3


def test_a_reload_follows_the_same_place(
    live_server: str, world: World, agents: Agents, new_page: NewPage
) -> None:
    held = fill(agents)
    ahead = api_waiter(agents)
    page = new_page("console")
    wait_in_line(page, live_server, "alice", "You are 2nd in line, 1 agent ahead")
    page.reload()
    expect(page.get_by_test_id("console-waiting")).to_be_visible()
    expect(page.get_by_test_id("console-place")).to_have_text("You are 2nd in line, 1 agent ahead")
    leave(agents, ahead)
    expect(page.get_by_test_id("console-place")).to_have_text("You are 1st in line")
    terminate(agents, held[0])
    seated_as(page, "Logged in as alice")


def test_after_a_reload_a_place_that_ended_says_so_and_the_card_asks_again(
    live_server: str, world: World, agents: Agents, new_page: NewPage
) -> None:
    """Nothing typed is kept across a reload: the start card's own form and buttons ask
    again, not a Try again that would ask as someone else."""
    fill(agents)
    page = new_page("console")
    wait_in_line(page, live_server, "alice", "You are 1st in line")
    page.reload()
    expect(page.get_by_test_id("console-place")).to_have_text("You are 1st in line")
    kept = page.evaluate("() => JSON.parse(sessionStorage.getItem('seatkeeper-console-line:acme'))")
    leave(agents, {"wait_id": kept["id"], "ticket": kept["ticket"]})  # as a script would

    expect(page.get_by_test_id("console-start")).to_be_visible()
    expect(page.get_by_test_id("console-message")).to_have_text("You left the line.")
    expect(page.get_by_test_id("console-retry")).to_be_hidden()
    expect(page.get_by_test_id("console-wait")).to_be_hidden()
    wait_in_line(page, live_server, "alice", "You are 1st in line")


def test_a_duplicated_tab_joins_the_session_its_twin_was_seated_in(
    live_server: str, world: World, agents: Agents, new_page: NewPage
) -> None:
    """A duplicated tab carries the place's ticket too: the tab that takes the session keeps
    it for the browser, and the other joins it."""
    held = fill(agents)
    first = new_page("console")
    wait_in_line(first, live_server, "alice", "You are 1st in line")
    key = "seatkeeper-console-line:acme"
    kept = first.evaluate("key => sessionStorage.getItem(key)", key)
    twin = first.context.new_page()  # the same browser: one localStorage
    twin.route(WAITS, _refuse_follows)  # so that the first tab takes the session
    twin.goto(f"{live_server}{CONSOLE}")
    twin.evaluate("([key, kept]) => sessionStorage.setItem(key, kept)", [key, kept])
    twin.reload()
    expect(twin.get_by_test_id("console-message")).to_contain_text("could not be reached")

    terminate(agents, held[0])
    seated_as(first, "Logged in as alice")
    twin.unroute(WAITS, _refuse_follows)
    seated_as(twin, "Logged in as alice")
    assert agents.of_console(twin).session_id == agents.of_console(first).session_id
    assert len(agents.active_sessions()) == 3
