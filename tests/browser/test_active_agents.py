"""The Active Agents grid in a real browser: rows, sorting, Terminate Session, refreshing.

Sessions are opened over HTTP with acme's application key, as Agent Applications
open them; acme has 3 licenses and shows times in Europe/Paris. The frozen clock
starts at 2026-03-10 13:00 UTC, 14:00 in Paris.
"""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Locator, Page, Route, expect

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import Role
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.users import add_user
from seatkeeper.storage.db import Database
from tests.browser.conftest import ACTIVE_AGENTS, Agents, Opened, open_active_agents
from tests.conftest import PASSWORD, World


def header(page: Page, key: str) -> Locator:
    """The grid's <th> whose sort link is `key`."""
    return page.locator("th").filter(has=page.get_by_test_id(f"sort-{key}"))


def expect_sorted(page: Page, key: str, direction: str, agents: list[str]) -> None:
    """The rows are in this order, and the headers say which column sorts them and how."""
    expect(page.get_by_test_id("cell-agent")).to_have_text(agents)
    for column in ("agent_id", "session_start", "open_interactions_count"):
        expected = direction if column == key else "none"
        expect(header(page, column)).to_have_attribute("aria-sort", expected)


def row_of(page: Page, agent: str) -> Locator:
    return page.get_by_test_id("grid-row").filter(
        has=page.get_by_test_id("cell-agent").get_by_text(agent, exact=True)
    )


def test_no_session_shows_the_empty_grid_sentence(
    page: Page, live_server: str, world: World
) -> None:
    open_active_agents(page, live_server)  # the admin's own login is not an agent session
    empty = page.get_by_test_id("grid-empty")
    expect(empty).to_have_text("There are currently no Agents connected.")
    assert empty.inner_text() == "There are currently no Agents connected."
    expect(page.get_by_test_id("grid-row")).to_have_count(0)
    expect(page.get_by_test_id("select-all")).to_be_disabled()
    expect(page.get_by_test_id("terminate")).to_be_disabled()
    expect(page.get_by_test_id("figure-current")).to_have_text("0 / 3")


def test_rows_show_each_session_in_the_account_time_zone(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    alice = agents.open("alice")  # 13:00 UTC
    agents.interaction(alice, "Password Reset")
    agents.interaction(alice, "Billing Dispute")
    closed = agents.interaction(alice, "Address Change")
    agents.close_interaction(alice, closed)  # closed: neither named nor counted
    second_browser = agents.try_open("alice")  # alice joins her session from another browser
    assert second_browser.status_code == 200, second_browser.text
    body = second_browser.json()
    assert body["session_id"] == alice.session_id
    agents.interaction(Opened(body["session_id"], body["token"], "alice"), "Password Reset")
    clock.advance(timedelta(minutes=2, seconds=30))
    guest = agents.open()  # 13:02:30 UTC
    agents.interaction(guest, "New Order")
    clock.advance(timedelta(minutes=5))
    agents.open("bob")  # 13:07:30 UTC, nothing open

    open_active_agents(page, live_server)
    expect(page.get_by_test_id("time-zone")).to_contain_text("Europe/Paris")
    expect(page.get_by_test_id("grid-row")).to_have_count(3)
    # Sorted by Session Start, oldest first, until a header is clicked.
    expect(page.get_by_test_id("cell-agent")).to_have_text(["alice", "Guest", "bob"])
    expect(page.get_by_test_id("cell-start")).to_have_text(
        ["2026-03-10 14:00:00", "2026-03-10 14:02:30", "2026-03-10 14:07:30"]
    )
    expect(page.get_by_test_id("cell-flows")).to_have_text(
        ["Billing Dispute, Password Reset", "New Order", ""]
    )
    expect(page.get_by_test_id("cell-count")).to_have_text(["3", "1", "0"])
    expect(page.get_by_test_id("cell-start").first.locator("time")).to_have_attribute(
        "datetime", "2026-03-10T14:00:00+01:00"
    )
    expect(page.get_by_test_id("figure-current")).to_have_text("3 / 3")


def test_each_sortable_column_sorts_both_ways_and_open_interactions_does_not(
    page: Page,
    live_server: str,
    world: World,
    agents: Agents,
    clock: FrozenClock,
    db: Database,
    passwords: Passwords,
) -> None:
    add_user(
        db,
        passwords,
        OPERATOR,
        "acme",
        username="Hank",
        password=PASSWORD,
        role=Role.AGENT,
        now=clock.now(),
    )
    # Each column orders the three rows differently:
    #   Agent Id (case-insensitive, Guest as "Guest"): alice, Guest, Hank
    #   Session Start:                                  Guest, Hank, alice
    #   Number of Open Interactions:                    Hank (0), alice (1), Guest (2)
    guest = agents.open()
    agents.interaction(guest, "New Order")
    agents.interaction(guest, "New Order")
    clock.advance(timedelta(minutes=1))
    agents.open("Hank")
    clock.advance(timedelta(minutes=1))
    alice = agents.open("alice")
    agents.interaction(alice, "Password Reset")

    open_active_agents(page, live_server)
    expect_sorted(page, "session_start", "ascending", ["Guest", "Hank", "alice"])

    for key, ascending in (
        ("agent_id", ["alice", "Guest", "Hank"]),
        ("session_start", ["Guest", "Hank", "alice"]),
        ("open_interactions_count", ["Hank", "alice", "Guest"]),
    ):
        page.get_by_test_id(f"sort-{key}").click()
        expect_sorted(page, key, "ascending", ascending)
        expect(page).to_have_url(f"{live_server}{ACTIVE_AGENTS}?sort={key}&order=asc")
        page.get_by_test_id(f"sort-{key}").click()
        expect_sorted(page, key, "descending", ascending[::-1])
        expect(page).to_have_url(f"{live_server}{ACTIVE_AGENTS}?sort={key}&order=desc")

    # Open Interactions is a plain header: no link, no sort state, and a click does nothing.
    flows_header = page.get_by_test_id("header-open_interactions")
    expect(flows_header).to_have_text("Open Interactions")
    expect(flows_header.locator("a")).to_have_count(0)
    expect(flows_header).not_to_have_attribute("aria-sort", "ascending")
    expect(flows_header).not_to_have_attribute("aria-sort", "descending")
    fetched: list[str] = []
    page.on(
        "request",
        lambda request: (
            fetched.append(request.url)
            if request.resource_type in {"document", "fetch", "xhr"}
            else None
        ),
    )
    flows_header.click()
    page.evaluate("() => new Promise(requestAnimationFrame)")  # let any click handler run
    assert fetched == []
    expect(page).to_have_url(
        f"{live_server}{ACTIVE_AGENTS}?sort=open_interactions_count&order=desc"
    )
    expect_sorted(page, "open_interactions_count", "descending", ["Guest", "alice", "Hank"])

    # The order is in the address: reloading keeps it.
    page.reload()
    expect_sorted(page, "open_interactions_count", "descending", ["Guest", "alice", "Hank"])


def test_terminate_closes_exactly_the_selected_sessions_and_frees_their_licenses(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    alice = agents.open("alice")
    clock.advance(timedelta(minutes=1))
    guest = agents.open()
    clock.advance(timedelta(minutes=1))
    bob = agents.open("bob")
    agents.refused("carol")  # all 3 licenses are taken
    everyone = {alice.session_id, guest.session_id, bob.session_id}
    assert agents.active_ids() == everyone

    open_active_agents(page, live_server)
    terminate = page.get_by_test_id("terminate")
    boxes = page.get_by_test_id("select-row")
    select_all = page.get_by_test_id("select-all")
    expect(boxes).to_have_count(3)
    expect(terminate).to_be_disabled()

    row_of(page, "bob").get_by_test_id("select-row").check()
    expect(terminate).to_be_enabled()
    row_of(page, "bob").get_by_test_id("select-row").uncheck()
    expect(terminate).to_be_disabled()

    select_all.check()
    for n in range(3):
        expect(boxes.nth(n)).to_be_checked()
    expect(terminate).to_be_enabled()
    select_all.uncheck()
    for n in range(3):
        expect(boxes.nth(n)).not_to_be_checked()
    expect(terminate).to_be_disabled()

    row_of(page, "alice").get_by_test_id("select-row").check()
    row_of(page, "Guest").get_by_test_id("select-row").check()
    expect(select_all).not_to_be_checked()

    # Asked first; cancelling changes nothing.
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_hidden()
    terminate.click()
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("confirm-text")).to_have_text(
        "Terminate 2 sessions: alice, Guest (started 14:01:00)?"  # a Guest is told by its start
    )
    page.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("grid-row")).to_have_count(3)
    expect(page.get_by_test_id("status-message")).to_have_text("")
    assert agents.active_ids() == everyone
    assert agents.heartbeat(alice).status_code == 200

    # Confirming terminates the two selected sessions, and only them.
    terminate.click()
    expect(page.get_by_test_id("confirm-text")).to_have_text(
        "Terminate 2 sessions: alice, Guest (started 14:01:00)?"  # a Guest is told by its start
    )
    page.get_by_test_id("confirm-terminate").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("status-message")).to_have_text("2 sessions terminated.")
    expect(page.get_by_test_id("status-message")).to_be_focused()  # not lost on <body>
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob"])
    expect(page.get_by_test_id("figure-current")).to_have_text("1 / 3")
    expect(terminate).to_be_disabled()
    expect(row_of(page, "bob").get_by_test_id("select-row")).not_to_be_checked()
    assert agents.active_ids() == {bob.session_id}
    for ended in (alice, guest):
        answer = agents.heartbeat(ended)
        assert answer.status_code == 410
        assert answer.json()["error"]["code"] == "session_terminated"
    assert agents.heartbeat(bob).status_code == 200

    # The two freed licenses are taken again, and then the pool is full once more.
    clock.advance(timedelta(minutes=1))
    carol = agents.open("carol")
    clock.advance(timedelta(minutes=1))
    new_guest = agents.open()
    agents.refused("dave")
    assert agents.active_ids() == {bob.session_id, carol.session_id, new_guest.session_id}
    page.get_by_test_id("refresh").click()
    expect(page.get_by_test_id("cell-agent")).to_have_text(["bob", "carol", "Guest"])
    expect(page.get_by_test_id("figure-current")).to_have_text("3 / 3")


def test_auto_refresh_and_refresh_keep_the_sort_and_the_selection(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    alice = agents.open("alice")
    clock.advance(timedelta(minutes=1))
    bob = agents.open("bob")

    page.set_viewport_size({"width": 1280, "height": 560})  # short enough to scroll
    open_active_agents(page, live_server)
    auto_refresh = page.get_by_test_id("auto-refresh")
    expect(auto_refresh).not_to_be_checked()  # off by default

    page.get_by_test_id("sort-agent_id").click()
    expect_sorted(page, "agent_id", "ascending", ["alice", "bob"])
    page.get_by_test_id("sort-agent_id").click()
    expect_sorted(page, "agent_id", "descending", ["bob", "alice"])
    row_of(page, "alice").get_by_test_id("select-row").check()
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    scrolled = page.evaluate("() => window.scrollY")
    assert scrolled > 0

    auto_refresh.check()
    clock.advance(timedelta(minutes=1))
    carol = agents.open("carol")
    agents.interaction(carol, "New Order")
    # Default order would be alice, bob, carol; the page keeps Agent Id, descending.
    expect(page.get_by_test_id("cell-agent")).to_have_text(["carol", "bob", "alice"])
    expect_sorted(page, "agent_id", "descending", ["carol", "bob", "alice"])
    expect(page.get_by_test_id("cell-flows").first).to_have_text("New Order")
    expect(page.get_by_test_id("figure-current")).to_have_text("3 / 3")
    expect(page.get_by_test_id("figure-daily-max")).to_have_text("3")
    expect(row_of(page, "alice").get_by_test_id("select-row")).to_be_checked()
    expect(row_of(page, "carol").get_by_test_id("select-row")).not_to_be_checked()
    expect(row_of(page, "bob").get_by_test_id("select-row")).not_to_be_checked()
    expect(page.get_by_test_id("terminate")).to_be_enabled()
    assert page.evaluate("() => window.scrollY") == scrolled

    # With auto-refresh off, the Refresh button picks up what changed.
    auto_refresh.uncheck()
    clock.advance(timedelta(minutes=1))
    agents.log_out(bob)
    page.get_by_test_id("refresh").click()
    expect(page.get_by_test_id("cell-agent")).to_have_text(["carol", "alice"])
    expect(page.get_by_test_id("figure-current")).to_have_text("2 / 3")
    expect(page.get_by_test_id("figure-daily-max")).to_have_text("3")  # today's peak stays
    expect(header(page, "agent_id")).to_have_attribute("aria-sort", "descending")
    expect(row_of(page, "alice").get_by_test_id("select-row")).to_be_checked()
    expect(page.get_by_test_id("terminate")).to_be_enabled()
    assert agents.active_ids() == {alice.session_id, carol.session_id}


def test_a_sort_chosen_while_a_refresh_is_loading_is_not_lost(
    page: Page, live_server: str, world: World, agents: Agents, clock: FrozenClock
) -> None:
    agents.open("bob")
    clock.advance(timedelta(minutes=1))
    agents.open("alice")
    open_active_agents(page, live_server)
    expect_sorted(page, "session_start", "ascending", ["bob", "alice"])

    # Hold the Refresh button's answer back, as a slow server would, and sort meanwhile.
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/fragments?**", hold)
    with page.expect_request(lambda request: "/fragments?" in request.url):
        page.get_by_test_id("refresh").click()
    page.get_by_test_id("sort-agent_id").click()
    expect(page).to_have_url(f"{live_server}{ACTIVE_AGENTS}?sort=agent_id&order=asc")
    page.unroute("**/fragments?**")
    assert held
    for route in held:
        route.continue_()

    # The grid ends up as the address and the click say: by Agent Id, ascending.
    expect_sorted(page, "agent_id", "ascending", ["alice", "bob"])
