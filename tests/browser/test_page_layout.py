"""How the pages lay out: buttons apart, messages inside their cards, times on one line,
grid columns that keep their widths, and the page an agent or a designer meets on an
admin page.

acme has 3 licenses and its agent console on; alice is an agent, dan a designer.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from playwright.sync_api import FloatRect, Locator, Page, expect

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import Role, SettingsChange
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.settings import change_settings
from seatkeeper.services.users import add_user
from seatkeeper.storage.db import Database
from tests.browser.conftest import (
    ACTIVE_AGENTS,
    Agents,
    log_in,
    open_active_agents,
    open_console,
    open_flow,
    start_console,
)
from tests.conftest import PASSWORD, World, bearer

TERMINATED = "Your session was terminated by an administrator."


def box(locator: Locator) -> FloatRect:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return found


def gap(a: FloatRect, b: FloatRect) -> float:
    """The space between two boxes, along the axis they are apart on (negative: overlap)."""
    return max(
        b["x"] - (a["x"] + a["width"]),
        a["x"] - (b["x"] + b["width"]),
        b["y"] - (a["y"] + a["height"]),
        a["y"] - (b["y"] + b["height"]),
    )


def assert_apart(buttons: Locator, least: float = 8) -> None:
    """Each shown button is at least `least` px from the next one."""
    boxes = [box(b) for b in buttons.all() if b.is_visible()]
    assert len(boxes) >= 2, "fewer than two buttons to compare"
    gaps = [gap(a, b) for a, b in itertools.pairwise(boxes)]
    assert min(gaps) >= least, f"buttons {gaps} px apart"


def assert_inside(inner: Locator, outer: Locator) -> None:
    """`inner`'s box lies within `outer`'s, left and right."""
    i, o = box(inner), box(outer)
    assert i["x"] >= o["x"] - 0.5, f"{i} starts left of {o}"
    assert i["x"] + i["width"] <= o["x"] + o["width"] + 0.5, f"{i} ends right of {o}"


def terminate(agents: Agents, session_id: str) -> None:
    answer = agents.client.post(
        "/api/v1/accounts/acme/active-sessions/terminate",
        json={"session_ids": [session_id]},
        headers=bearer(agents.world.admin_token),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["terminated"] == 1


# --- the agent console -----------------------------------------------------------------


@pytest.mark.usefixtures("console_flows")
@pytest.mark.parametrize("width", [1366, 375])
def test_a_refusal_stays_in_its_card_and_its_buttons_stand_apart(
    page: Page, live_server: str, world: World, agents: Agents, width: int
) -> None:
    for username in ("alice", "bob", "carol"):  # every license taken
        agents.open(username)
    page.set_viewport_size({"width": width, "height": 900})
    open_console(page, live_server)
    page.get_by_test_id("console-guest").click()

    message = page.get_by_test_id("console-message")
    expect(message).to_contain_text("All 3 licenses are in use")
    expect(page.get_by_test_id("console-retry")).to_be_visible()
    card = page.get_by_test_id("console-start")
    assert_inside(message, card)
    assert_apart(card.get_by_role("button"))
    guest, retry = (
        box(page.get_by_test_id("console-guest")),
        box(page.get_by_test_id("console-retry")),
    )
    assert gap(guest, retry) >= 8, f"Continue as Guest and Try again {gap(guest, retry)} px apart"
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the window"


@pytest.mark.usefixtures("console_flows")
@pytest.mark.parametrize("width", [1366, 375])
def test_working_and_ended_the_console_keeps_buttons_apart_and_messages_in_cards(
    page: Page, live_server: str, world: World, agents: Agents, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    start_console(page, live_server, None)
    open_flow(page, "Password Reset")
    page.get_by_test_id("step-next").click()
    expect(page.get_by_test_id("step-back")).to_be_enabled()
    assert_apart(page.get_by_test_id("flow-open"))
    assert_apart(page.get_by_test_id("interaction-panel").get_by_role("button"))

    terminate(agents, agents.of_console(page).session_id)
    page.get_by_test_id("step-next").click()
    ended = page.get_by_test_id("console-ended-message")
    expect(ended).to_have_text(TERMINATED)
    assert_inside(ended, page.get_by_test_id("console-ended"))

    # Back to the start with the pool full: the refusal sits in the start card.
    for username in ("alice", "bob", "carol"):
        agents.open(username)
    page.get_by_test_id("console-new-session").click()
    page.get_by_test_id("console-guest").click()
    message = page.get_by_test_id("console-message")
    expect(message).to_contain_text("All 3 licenses are in use")
    assert_inside(message, page.get_by_test_id("console-start"))


# --- Recently ended ------------------------------------------------------------------------

LINES = """cell => {
  const text = document.createRange();
  text.selectNodeContents(cell);
  const line = parseFloat(getComputedStyle(cell).lineHeight);
  return Math.round(text.getBoundingClientRect().height / line);
}"""


def lines_of(cell: Locator) -> int:
    """How many lines the cell's text takes."""
    count: int = cell.evaluate(LINES)
    return count


def test_recently_ended_keeps_times_on_one_line_and_lists_flows_as_the_grid_does(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    alice = agents.open("alice")
    for flow in ("Password Reset", "Billing Dispute", "Password Reset"):
        agents.interaction(alice, flow)
    for _ in range(63):  # a long session, kept open: "1 d 2 h"
        clock.advance(timedelta(minutes=25))
        assert agents.heartbeat(alice).status_code == 200
    terminate(agents, alice.session_id)
    guest = agents.open()
    clock.advance(timedelta(minutes=12))
    agents.log_out(guest)

    page.set_viewport_size({"width": 1366, "height": 900})
    open_active_agents(page, live_server)
    page.goto(f"{live_server}/accounts/acme/recently-ended")
    rows = page.get_by_test_id("ended-row")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("cell-open-at-end")).to_have_text(
        ["", "Billing Dispute, Password Reset\u00a0×2"]
    )
    expect(page.get_by_test_id("cell-duration")).to_have_text(["12 min", "1 d 2 h"])
    for testid in ("cell-start", "cell-ended", "cell-duration"):
        for cell in page.get_by_test_id(testid).all():
            assert lines_of(cell) == 1, f"{testid} {cell.inner_text()!r} wraps"
            assert cell.evaluate("c => c.scrollWidth <= c.clientWidth"), f"{testid} overflows"
    assert_inside(page.get_by_test_id("ended-grid"), page.locator("section.sessions"))


# --- the Active Agents grid ------------------------------------------------------------------

WIDTHS = "table => [...table.tHead.rows[0].cells].map(cell => cell.getBoundingClientRect().width)"


def header_widths(page: Page) -> list[float]:
    widths: list[float] = page.get_by_test_id("grid").evaluate(WIDTHS)
    return widths


def test_the_grid_keeps_its_column_widths_whatever_the_sort_at_1024(
    page: Page,
    live_server: str,
    world: World,
    agents: Agents,
    db: Database,
    passwords: Passwords,
    clock: FrozenClock,
) -> None:
    change_settings(db, OPERATOR, "acme", SettingsChange(licenses=10), now=clock.now())
    for username in ("bo", "maximiliana.vandenberghe-okonkwo"):
        add_user(
            db,
            passwords,
            OPERATOR,
            "acme",
            username=username,
            password=PASSWORD,
            role=Role.AGENT,
            now=clock.now(),
        )
    busy = agents.open("maximiliana.vandenberghe-okonkwo")
    for flow in ("Password Reset", "Billing Dispute", "Subscription Cancellation Request"):
        agents.interaction(busy, flow)
    clock.advance(timedelta(minutes=7))
    agents.interaction(agents.open("bo"), "New Order")
    clock.advance(timedelta(minutes=20))
    agents.open()
    clock.advance(timedelta(minutes=1))
    agents.interaction(agents.open("alice"), "Password Reset")

    page.set_viewport_size({"width": 1024, "height": 900})
    open_active_agents(page, live_server)
    expect(page.get_by_test_id("grid-row")).to_have_count(4)
    first = header_widths(page)
    for key in ("agent_id", "session_start", "open_interactions_count"):
        for order in ("ascending", "descending"):
            page.get_by_test_id(f"sort-{key}").click()
            sorted_by = page.locator("th").filter(has=page.get_by_test_id(f"sort-{key}"))
            expect(sorted_by).to_have_attribute("aria-sort", order)
            expect(page.get_by_test_id("grid-row")).to_have_count(4)
            widths = header_widths(page)
            moved = [round(w - f, 1) for w, f in zip(widths, first, strict=True)]
            assert all(abs(m) <= 1 for m in moved), f"sorted {key} {order}: moved {moved} px"
            for cell in (
                page.locator(".col-session_start").all() + page.get_by_test_id("cell-start").all()
            ):
                assert lines_of(cell) == 1, f"Session Start {cell.inner_text()!r} wraps"
                assert cell.evaluate("c => c.scrollWidth <= c.clientWidth"), "it overflows"


# --- an agent or a designer on an admin page -------------------------------------------------

ADMIN_PAGES = (
    ACTIVE_AGENTS,
    "/accounts/acme/users",
    "/accounts/acme/settings",
    "/accounts/acme/recently-ended",
)
WORK = {
    "alice": "you are signed in as an agent. Agents work in {where}",
    "dan": "you are signed in as a designer. Designers manage the account's Flows and work "
    "in {where}",
}
SAYS = {
    name: f"You are not allowed to open this page: {work}; Account Admins manage licenses here."
    for name, work in WORK.items()
}


@pytest.mark.parametrize("console", ["on", "off"])
@pytest.mark.parametrize("username", ["alice", "dan"])
def test_an_agent_or_a_designer_on_an_admin_page_is_told_what_their_role_is_for(
    page: Page,
    live_server: str,
    world: World,
    db: Database,
    clock: FrozenClock,
    username: str,
    console: str,
) -> None:
    on = console == "on"
    change_settings(db, OPERATOR, "acme", SettingsChange(console_enabled=on), now=clock.now())
    where = "the agent console" if on else "their Agent Application"
    page.goto(f"{live_server}/login")
    log_in(page, username)
    page.goto(f"{live_server}/")
    home = page.get_by_test_id("home")
    expect(home).to_contain_text(f"You are logged in: {WORK[username].format(where=where)}.")
    expect(home.get_by_test_id("console-link")).to_have_count(1 if on else 0)
    for path in ADMIN_PAGES:
        answer = page.goto(f"{live_server}{path}")
        assert answer is not None
        assert answer.status == 403, path
        refused = page.get_by_test_id("error-403")
        expect(refused.get_by_role("heading")).to_have_text("Not allowed")
        expect(refused).to_contain_text(SAYS[username].format(where=where))
        expect(page.get_by_test_id("signed-in-as")).to_contain_text(username)
        link = refused.get_by_test_id("console-link")
        if on:
            expect(link).to_have_attribute("href", "/console/acme")
        else:
            expect(link).to_have_count(0)
    if on:
        page.get_by_test_id("console-link").click()
        expect(page).to_have_url(f"{live_server}/console/acme")
        expect(page.get_by_test_id("console-start")).to_be_visible()


def test_an_anonymous_visitor_on_an_admin_page_is_still_sent_to_log_in(
    page: Page, live_server: str, world: World
) -> None:
    for path in ADMIN_PAGES:
        page.goto(f"{live_server}{path}")
        expect(page).to_have_url(f"{live_server}/login?next={path}")
        expect(page.get_by_test_id("login-submit")).to_be_visible()
        expect(page.get_by_test_id("error-403")).to_have_count(0)
