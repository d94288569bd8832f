"""How the pages lay out: buttons apart, messages inside their cards, times on one line,
grid columns that keep their widths, and the page an agent or a designer meets on an
admin page.

acme has 3 licenses and its agent console on; alice is an agent, dan a designer.
"""

from __future__ import annotations

import itertools

import pytest
from playwright.sync_api import FloatRect, Locator, Page, expect

from tests.browser.conftest import (
    Agents,
    open_console,
    open_flow,
    start_console,
)
from tests.conftest import World, bearer

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
