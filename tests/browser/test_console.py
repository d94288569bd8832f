"""The reference agent console in a real browser: logging in or as a Guest, working in
Flows as Interactions, logging out, and saying plainly why a session ended.

acme has 3 licenses, a 30-minute session timeout, and the Flows of `FLOWS` (Password
Reset has 4 steps, Billing Dispute 3, New Order 5). What the console does is checked
against the server through the agent API (the console's own session token, read from
its localStorage) and the admin API.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import SettingsChange
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.settings import change_settings
from seatkeeper.storage.db import Database
from tests.browser.conftest import (
    CONSOLE,
    CONSOLE_STORAGE_KEY,
    FLOWS,
    Agents,
    console_log_in,
    flow_button,
    interaction_tabs,
    open_console,
    open_flow,
    selected_tab,
    start_console,
    step_text,
)
from tests.conftest import PASSWORD, World
from tests.waiting import PATIENCE

pytestmark = pytest.mark.usefixtures("console_flows")


def stored_session(page: Page) -> object:
    """What the console keeps in localStorage (None when it holds no session)."""
    return page.evaluate("key => localStorage.getItem(key)", CONSOLE_STORAGE_KEY)


def tab_of(page: Page, interaction_id: str) -> Locator:
    return page.locator(f'[data-testid="interaction-tab"][data-interaction-id="{interaction_id}"]')


def selected_id(page: Page) -> str:
    value = selected_tab(page).get_attribute("data-interaction-id")
    assert value is not None
    return value


def tab_to(page: Page, target: Locator, presses: int = 40) -> None:
    """Press Tab until `target` has the focus, as a keyboard user would."""
    for _ in range(presses):
        if target.evaluate("element => element === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(target).to_be_focused()


def test_next_and_back_step_through_a_flow_and_the_server_records_each_step(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    steps = FLOWS["Password Reset"]
    start_console(page, live_server, "alice")
    open_flow(page, "Password Reset")
    session = agents.of_console(page)
    interaction = selected_id(page)
    step = page.get_by_test_id("interaction-step")
    back = page.get_by_test_id("step-back")
    next_ = page.get_by_test_id("step-next")
    current = page.locator('#steps li[aria-current="step"]')

    expect(page.get_by_test_id("interaction-panel")).to_be_visible()
    expect(page.get_by_test_id("no-interactions")).to_be_hidden()
    expect(step).to_have_text(step_text("Password Reset", 0))
    expect(current).to_have_text(steps[0])
    expect(back).to_be_disabled()
    expect(next_).to_be_enabled()
    assert agents.steps(session) == {interaction: steps[0]}

    for index in (1, 2, 3):
        next_.click()
        expect(step).to_have_text(step_text("Password Reset", index))
        expect(current).to_have_text(steps[index])
        assert agents.steps(session) == {interaction: steps[index]}
        expect(back).to_be_enabled()
    expect(step).to_have_text("Step 4 of 4: Confirm the new password works")
    expect(next_).to_be_disabled()  # the last step

    back.click()
    expect(step).to_have_text(step_text("Password Reset", 2))
    expect(next_).to_be_enabled()
    assert agents.steps(session) == {interaction: steps[2]}
    back.click()
    back.click()  # at once: the second click counts too
    expect(step).to_have_text(step_text("Password Reset", 0))
    expect(back).to_be_disabled()  # the first step
    assert agents.steps(session) == {interaction: steps[0]}
    # Three quick clicks, sent in order: the server ends on the third step.
    page.evaluate("() => { const b = document.getElementById('next'); b.click(); b.click(); }")
    next_.click()
    expect(step).to_have_text(step_text("Password Reset", 3))
    assert agents.steps(session) == {interaction: steps[3]}


def test_each_interaction_keeps_its_own_step(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    start_console(page, live_server, "alice")
    open_flow(page, "New Order")
    first = selected_id(page)
    page.get_by_test_id("step-next").click()
    expect(page.get_by_test_id("interaction-step")).to_have_text(step_text("New Order", 1))
    open_flow(page, "New Order")  # the same Flow again: a second Interaction
    second = selected_id(page)
    assert second != first
    expect(interaction_tabs(page)).to_have_text(["New Order (1)", "New Order (2)"])
    expect(page.get_by_test_id("interaction-step")).to_have_text(step_text("New Order", 0))

    tab_of(page, first).click()
    expect(tab_of(page, first)).to_have_attribute("aria-selected", "true")
    expect(tab_of(page, second)).to_have_attribute("aria-selected", "false")
    expect(page.get_by_test_id("interaction-step")).to_have_text(step_text("New Order", 1))
    session = agents.of_console(page)
    steps = FLOWS["New Order"]
    assert agents.steps(session) == {first: steps[1], second: steps[0]}


def test_closing_an_interaction_removes_its_tab_and_it_no_longer_counts(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    start_console(page, live_server, "alice")
    for flow in ("Password Reset", "Billing Dispute", "New Order"):
        open_flow(page, flow)
    session = agents.of_console(page)
    [row] = agents.active_sessions()
    assert row["open_interactions_count"] == 3
    assert sorted(row["open_interactions"]) == ["Billing Dispute", "New Order", "Password Reset"]

    billing = page.locator('[data-testid="interaction-tab"][data-flow="Billing Dispute"]')
    closed = billing.get_attribute("data-interaction-id")
    assert closed is not None
    billing.click()
    expect(page.get_by_role("heading", level=3)).to_have_text("Billing Dispute")
    page.get_by_test_id("interaction-close").click()
    expect(interaction_tabs(page)).to_have_count(2)
    expect(interaction_tabs(page)).to_have_text(["Password Reset", "New Order"])
    expect(tab_of(page, closed)).to_have_count(0)
    expect(page.get_by_test_id("interaction-panel")).to_be_visible()  # another one is shown
    [row] = agents.active_sessions()
    assert row["open_interactions_count"] == 2
    assert sorted(row["open_interactions"]) == ["New Order", "Password Reset"]
    assert closed not in agents.steps(session)

    # One at a time, as a person does: a second click before the first close is answered
    # is for the same Interaction, still shown (it is already closed: the console lets it go).
    for left in (1, 0):
        page.get_by_test_id("interaction-close").click()
        expect(interaction_tabs(page)).to_have_count(left)
    expect(page.get_by_test_id("interaction-panel")).to_be_hidden()
    expect(page.get_by_test_id("no-interactions")).to_be_visible()
    [row] = agents.active_sessions()  # the session itself stays open
    assert row["open_interactions_count"] == 0
    assert row["open_interactions"] == []


def test_log_out_frees_the_license_and_says_so(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    start_console(page, live_server, "alice")
    open_flow(page, "Password Reset")
    session = agents.of_console(page)
    assert agents.active_ids() == {session.session_id}
    assert agents.usage()["current"] == 1

    page.get_by_test_id("console-logout").click()
    expect(page.get_by_test_id("console-message")).to_have_text(
        "You logged out; your license is free for someone else."
    )
    expect(page.get_by_test_id("console-start")).to_be_visible()
    expect(page.get_by_test_id("console-work")).to_be_hidden()
    assert stored_session(page) is None
    assert agents.active_sessions() == []
    assert agents.usage()["current"] == 0
    answer = agents.state(session)  # the old token opens nothing any more
    assert answer.status_code == 410
    assert answer.json()["error"]["code"] == "session_logged_out"

    # The freed license can be taken again from the same page.
    console_log_in(page, "alice")
    expect(page.get_by_test_id("console-work")).to_be_visible()
    expect(page.get_by_test_id("console-agent")).to_have_text("Logged in as alice")
    expect(page.get_by_test_id("console-message")).to_be_hidden()
    expect(interaction_tabs(page)).to_have_count(0)  # a new session: nothing open
    again = agents.of_console(page)
    assert again.session_id != session.session_id
    assert agents.active_ids() == {again.session_id}


def test_continue_as_guest_opens_a_guest_session(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    open_console(page, live_server)
    guest = page.get_by_test_id("console-guest")
    expect(guest).to_have_text("Continue as Guest")
    guest.click()
    expect(page.get_by_test_id("console-work")).to_be_visible()
    expect(page.get_by_test_id("console-agent")).to_have_text("Guest")
    # 13:00 UTC, shown in the account's zone like every time on its pages.
    expect(page.get_by_test_id("console-started")).to_have_text("14:00:00 (Europe/Paris)")
    open_flow(page, "New Order")
    session = agents.of_console(page)
    assert session.agent_id is None
    [row] = agents.active_sessions()
    assert row["session_id"] == session.session_id
    assert row["agent_id"] is None
    assert row["open_interactions"] == ["New Order"]


def test_without_guests_the_console_offers_no_guest_button_and_refuses_a_guest(
    page: Page,
    live_server: str,
    world: World,
    agents: Agents,
    db: Database,
    clock: FrozenClock,
) -> None:
    change_settings(db, OPERATOR, "acme", SettingsChange(guests_allowed=False), now=clock.now())
    open_console(page, live_server)
    expect(page.get_by_test_id("console-guest")).to_have_count(0)
    expect(page.get_by_test_id("console-login")).to_be_visible()

    # The page's own CSRF token and cookie, so only the Guest rule can refuse it.
    csrf = page.get_by_test_id("console-start").evaluate(
        "start => start.closest('#console').dataset.csrf"
    )
    answer = page.request.post(
        f"{live_server}{CONSOLE}/sessions", data={}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status == 403, answer.text()
    assert answer.json()["error"]["code"] == "guests_not_allowed"
    assert agents.active_sessions() == []
    assert agents.usage()["days"][-1]["denials"] == 0  # a refusal, not a full pool

    # Logging in still works.
    console_log_in(page, "alice")
    expect(page.get_by_test_id("console-work")).to_be_visible()
    expect(page.get_by_test_id("console-agent")).to_have_text("Logged in as alice")


def test_a_wrong_password_says_so_and_opens_no_session(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    open_console(page, live_server)
    for username, password in (("alice", PASSWORD + "!"), ("nobody", PASSWORD)):
        console_log_in(page, username, password)
        expect(page.get_by_test_id("console-message")).to_have_text(
            "The username or password is not correct."
        )
        expect(page.get_by_test_id("console-start")).to_be_visible()
        expect(page.get_by_test_id("console-work")).to_be_hidden()
        expect(page.get_by_test_id("console-retry")).to_be_hidden()  # nothing to retry
        assert stored_session(page) is None
        assert agents.active_sessions() == []

    console_log_in(page, "alice")  # the right one now
    expect(page.get_by_test_id("console-work")).to_be_visible()
    expect(page.get_by_test_id("console-message")).to_be_hidden()


def test_a_timed_out_session_says_it_timed_out(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    start_console(page, live_server, "alice")
    open_flow(page, "Billing Dispute")
    session = agents.of_console(page)

    clock.advance(timedelta(minutes=30, seconds=1))  # acme's timeout, without activity
    page.get_by_test_id("step-next").click()
    ended = page.get_by_test_id("console-ended-message")
    expect(ended).to_contain_text("timed out")
    expect(ended).to_have_text(
        "Your session timed out after a period without activity. Start a new session."
    )
    expect(ended).not_to_have_text(re.compile("administrator"))
    expect(page.get_by_test_id("console-work")).to_be_hidden()
    expect(page.get_by_test_id("console-new-session")).to_be_focused()
    assert stored_session(page) is None
    assert agents.active_sessions() == []
    answer = agents.state(session)
    assert answer.status_code == 410
    assert answer.json()["error"]["code"] == "session_expired"

    page.get_by_test_id("console-new-session").click()
    expect(page.get_by_test_id("console-start")).to_be_visible()
    console_log_in(page, "alice")
    expect(page.get_by_test_id("console-work")).to_be_visible()
    expect(page.get_by_test_id("console-agent")).to_have_text("Logged in as alice")
    assert agents.of_console(page).session_id != session.session_id


def test_reloading_the_page_keeps_the_session_and_its_interactions(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    start_console(page, live_server, "bob")
    open_flow(page, "Password Reset")
    clock.advance(timedelta(seconds=5))  # the server lists Interactions oldest first
    open_flow(page, "Billing Dispute")
    page.get_by_test_id("step-next").click()
    expect(page.get_by_test_id("interaction-step")).to_have_text(step_text("Billing Dispute", 1))
    session = agents.of_console(page)
    before = interaction_tabs(page).evaluate_all("tabs => tabs.map(t => t.dataset.interactionId)")

    page.reload()
    expect(page.get_by_test_id("console-work")).to_be_visible()
    expect(page.get_by_test_id("console-start")).to_be_hidden()
    expect(page.get_by_test_id("console-agent")).to_have_text("Logged in as bob")
    expect(interaction_tabs(page)).to_have_count(2)
    after = interaction_tabs(page).evaluate_all("tabs => tabs.map(t => t.dataset.interactionId)")
    assert sorted(after) == sorted(before)
    # The step each Interaction was on comes back from the server.
    expect(selected_tab(page)).to_have_attribute("data-flow", "Billing Dispute")
    expect(page.get_by_test_id("interaction-step")).to_have_text(step_text("Billing Dispute", 1))
    page.locator('[data-testid="interaction-tab"][data-flow="Password Reset"]').click()
    expect(page.get_by_test_id("interaction-step")).to_have_text(step_text("Password Reset", 0))
    assert agents.of_console(page).session_id == session.session_id
    assert agents.active_ids() == {session.session_id}  # no second license


def test_the_console_works_from_the_keyboard(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    open_console(page, live_server)
    tab_to(page, page.get_by_test_id("console-username"))
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("console-password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("console-work")).to_be_visible()
    expect(page.get_by_test_id("console-agent")).to_have_text("Logged in as alice")

    # Tab to a Flow's Open button, Enter (the Flows are listed by name).
    expect(page.get_by_test_id("flow-open")).to_have_text(
        ["Open Billing Dispute", "Open New Order", "Open Password Reset"]
    )
    for flow in ("Billing Dispute", "Password Reset"):
        tab_to(page, flow_button(page, flow))
        page.keyboard.press("Enter")
        expect(selected_tab(page)).to_have_attribute("data-flow", flow)
    expect(interaction_tabs(page)).to_have_text(["Billing Dispute", "Password Reset"])
    expect(flow_button(page, "Password Reset")).to_be_focused()  # where Enter left it

    # Into the tab list: the selected tab takes the focus; arrows move between tabs.
    page.keyboard.press("Tab")
    billing = page.locator('[data-testid="interaction-tab"][data-flow="Billing Dispute"]')
    reset = page.locator('[data-testid="interaction-tab"][data-flow="Password Reset"]')
    expect(reset).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(billing).to_be_focused()
    expect(billing).to_have_attribute("aria-selected", "true")
    expect(reset).to_have_attribute("aria-selected", "false")
    expect(page.get_by_test_id("interaction-step")).to_have_text(step_text("Billing Dispute", 0))
    page.keyboard.press("ArrowRight")
    expect(reset).to_be_focused()
    expect(reset).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Home")
    expect(billing).to_be_focused()
    page.keyboard.press("End")
    expect(reset).to_be_focused()
    expect(page.get_by_role("heading", level=3)).to_have_text("Password Reset")

    # Next, with Enter.
    tab_to(page, page.get_by_test_id("step-next"))
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("interaction-step")).to_have_text(step_text("Password Reset", 1))
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("interaction-step")).to_have_text(step_text("Password Reset", 2))
    session = agents.of_console(page)
    reset_id = reset.get_attribute("data-interaction-id")
    assert reset_id is not None
    assert agents.steps(session)[reset_id] == FLOWS["Password Reset"][2]


def test_opening_a_session_without_the_pages_csrf_token_is_refused(
    live_server: str, world: World, agents: Agents
) -> None:
    url = f"{live_server}{CONSOLE}/sessions"
    body = {"username": "alice", "password": PASSWORD}

    def refused(answer: httpx.Response) -> None:
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "csrf_refused"

    with httpx.Client(timeout=PATIENCE) as client:  # no cookie yet
        refused(client.post(url, json=body))
        refused(client.post(url, json=body, headers={"X-CSRF-Token": "made-up"}))
        refused(client.post(url, json={}))  # a Guest too

    with httpx.Client(timeout=PATIENCE) as client:
        page = client.get(f"{live_server}{CONSOLE}")
        assert page.status_code == 200
        cookie = client.cookies.get("seatkeeper_csrf")
        assert cookie
        match = re.search(r'data-csrf="([^"]+)"', page.text)
        assert match is not None
        token = match.group(1)
        refused(client.post(url, json=body))  # the cookie alone
        refused(client.post(url, json=body, headers={"X-CSRF-Token": token + "x"}))
        assert agents.active_sessions() == []

        # With both, as the page sends them, it opens the session.
        opened = client.post(url, json=body, headers={"X-CSRF-Token": token})
        assert opened.status_code == 201, opened.text
        assert opened.json()["agent_id"] == "alice"
        assert agents.active_ids() == {opened.json()["session_id"]}
