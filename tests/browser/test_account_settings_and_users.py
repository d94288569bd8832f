"""Account Settings, Users and the one-time password link in a real browser.

acme starts as `Acme Support`, Europe/Paris, a 30-minute timeout, Guests allowed and
3 licenses (since 2026-01-09 14:00 Paris time, when it was created); its users are the
agents alice, bob, carol and dave, the designer dan and the account_admin admin. root
is a super_admin of the ops account. The frozen clock reads 2026-03-10 13:00 UTC, 14:00
in Paris; the server under test runs on it, so what the pages show is exact.

Every form is sent by clicking, as a person does; what it did is then checked on the page
and in the database (and the audit trail), and what a refusal must not do is checked the
same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect

from seatkeeper.clock import FrozenClock
from seatkeeper.domain import validation
from seatkeeper.domain.model import Account, Role, UserRow
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.users import add_user
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import audit, users
from seatkeeper.storage.db import Database
from tests.browser.conftest import (
    ACTIVE_AGENTS,
    Agents,
    console_log_in,
    open_console,
    open_flow,
    start_console,
)
from tests.conftest import PASSWORD, World

SETTINGS = "/accounts/acme/settings"
USERS = "/accounts/acme/users"
NEW_PASSWORD = "a brand new secret"
# No public address is configured for the tests' server: a link is a path on it, with the
# token in the fragment.
LINK = re.compile(r"^/set-password#sk_pw_[\w-]+$")
ACME_USERS = ["admin", "alice", "bob", "carol", "dan", "dave"]
ADMIN_ROLES = ["Agent", "Designer", "Account Admin"]  # what an account_admin may give
EVERY_ROLE = [*ADMIN_ROLES, "Super Admin"]
LAST_ADMIN = (
    "This is the account's last enabled Account Admin: make another user an Account Admin first."
)
DISABLED_MESSAGE = "Your user was disabled by an administrator: ask them to enable it again."
LOGIN_REFUSED = "The account, username or password is not correct."
SETTINGS_REFUSED = "Nothing was saved: correct the fields marked below."
USER_CHANGES = ("user_created", "role_changed", "user_disabled", "user_enabled", "password_reset")

PageFactory = Callable[[str], Page]


# --- logging in ---------------------------------------------------------------------------


def fill_login(page: Page, account: str, username: str, password: str) -> None:
    """Fill in and send the login form the page shows (the outcome is the caller's)."""
    page.get_by_test_id("login-account").fill(account)
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def sign_in(
    page: Page,
    live_server: str,
    path: str,
    username: str = "admin",
    *,
    account: str = "acme",
    password: str = PASSWORD,
) -> None:
    """Log in from the login page and land on `path`."""
    page.goto(f"{live_server}/login?next={path}")
    fill_login(page, account, username, password)
    expect(page).to_have_url(f"{live_server}{path}")


def login_refused(page: Page, live_server: str, username: str, password: str) -> None:
    """The login page refuses `username`: it says so and logs nobody in."""
    page.goto(f"{live_server}/login")
    fill_login(page, "acme", username, password)
    expect(page.get_by_test_id("login-error")).to_have_text(LOGIN_REFUSED)
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)


# --- sending forms ------------------------------------------------------------------------


def send(page: Page, button: Locator, path: str, *, lands: str | None = None) -> int:
    """Click a form's submit button; the status the server answered the POST to `path` with.

    A form's answer is a 303 to the page it belongs to (`lands`, by default the address it
    was sent to): the browser is checked to be there, with the page's answer to a GET."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and urlsplit(r.url).path == path
    ) as answer:
        button.click()
    status: int = answer.value.status
    if status == 303:
        landed = re.compile(rf"^https?://[^/]+{re.escape(lands or path)}(\?.*)?$")
        expect(page).to_have_url(landed)
    page.wait_for_load_state()
    return status


# --- Account Settings ---------------------------------------------------------------------


def fill_settings(
    page: Page,
    *,
    name: str | None = None,
    zone: str | None = None,
    timeout: str | None = None,
    guests: bool | None = None,
) -> None:
    """Type into the settings form; None leaves a field as it is."""
    if name is not None:
        page.get_by_test_id("settings-name").fill(name)
    if zone is not None:
        page.get_by_test_id("settings-time-zone").fill(zone)
    if timeout is not None:
        page.get_by_test_id("settings-timeout").fill(timeout)
    if guests is not None:
        page.get_by_test_id("settings-guests").set_checked(guests)


def expect_form(page: Page, *, name: str, zone: str, timeout: str, guests: bool) -> None:
    """The settings form shows these values."""
    expect(page.get_by_test_id("settings-name")).to_have_value(name)
    expect(page.get_by_test_id("settings-time-zone")).to_have_value(zone)
    expect(page.get_by_test_id("settings-timeout")).to_have_value(timeout)
    guests_box = page.get_by_test_id("settings-guests")
    if guests:
        expect(guests_box).to_be_checked()
    else:
        expect(guests_box).not_to_be_checked()


def expect_acme_form_unchanged(page: Page) -> None:
    expect_form(page, name="Acme Support", zone="Europe/Paris", timeout="30", guests=True)


def local_time(page: Page) -> Locator:
    """The clock shown beside the time zone."""
    return page.get_by_test_id("local-time").locator("time")


def wall_clock(zone: str) -> list[str]:
    """The browser's clock in `zone` now, or a minute on (the typed zone's local time
    is the browser's: it does not know the server's frozen clock)."""
    now = datetime.now(ZoneInfo(zone))
    return [(now + timedelta(minutes=m)).strftime("%H:%M") for m in (0, 1)]


def one_of(*texts: str) -> re.Pattern[str]:
    """Any of these texts, exactly."""
    return re.compile("^(" + "|".join(map(re.escape, texts)) + ")$")


def history_rows(page: Page) -> list[list[str]]:
    """The license history table, row by row, latest first."""
    rows = page.get_by_test_id("license-change")
    cells: list[list[str]] = rows.evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    return cells


# --- Users --------------------------------------------------------------------------------


def row_of(page: Page, username: str) -> Locator:
    return page.locator(f'[data-testid="user-row"][data-username="{username}"]')


def options(select: Locator) -> list[str]:
    """The labels a <select> offers."""
    labels: list[str] = select.locator("option").all_inner_texts()
    return [label.strip() for label in labels]


def expect_user(
    page: Page, username: str, *, role: str, last_login: str = "Never", status: str = "Active"
) -> None:
    """The Users grid shows this row."""
    row = row_of(page, username)
    expect(row.get_by_test_id("cell-username")).to_have_text(username)
    expect(row.get_by_test_id("cell-role")).to_have_text(role)
    expect(row.get_by_test_id("cell-last-login")).to_have_text(last_login)
    expect(row.get_by_test_id("cell-status")).to_have_text(status)


def create_user(page: Page, username: str, role: str, password: str = "") -> int:
    """Send the create-user form; the status of the answer."""
    form = page.get_by_test_id("create-user-form")
    form.get_by_test_id("new-username").fill(username)
    form.get_by_test_id("new-role").select_option(role)
    form.get_by_test_id("new-password").fill(password)
    return send(page, form.get_by_test_id("create-user"), USERS)


def change_role(page: Page, username: str, role: str) -> int:
    row = row_of(page, username)
    row.get_by_test_id("role-select").select_option(role)
    return send(page, row.get_by_test_id("role-save"), f"{USERS}/{username}/role", lands=USERS)


ROW_ACTIONS = {"disable": "disable", "enable": "enable", "reset-password": "password"}


def click_in_row(page: Page, username: str, testid: str) -> int:
    """Click a row's button (disable, enable, reset-password); the status of the answer."""
    button = row_of(page, username).get_by_test_id(testid)
    return send(page, button, f"{USERS}/{username}/{ROW_ACTIONS[testid]}", lands=USERS)


def expect_notice(page: Page, text: str) -> None:
    expect(page.get_by_test_id("users-notice")).to_have_text(text)
    expect(page.get_by_test_id("users-error")).to_have_count(0)


def expect_refusal(page: Page, text: str) -> None:
    expect(page.get_by_test_id("users-error")).to_have_text(text)
    expect(page.get_by_test_id("users-notice")).to_have_count(0)
    expect(page.get_by_test_id("password-link")).to_have_count(0)


def one_time_link(page: Page) -> str:
    """The one-time link the Users page shows, checked for its form."""
    field = page.get_by_test_id("password-link")
    expect(field).to_have_count(1)
    expect(field).to_have_value(LINK)
    return field.input_value()


def set_password_through(page: Page, link: str, password: str, confirm: str | None = None) -> int:
    """Open the one-time link and send its form; the status of the answer (400 with the form
    again when the password is refused). The page takes the token out of its address."""
    page.goto("about:blank")  # a link opened afresh, not a jump within the page it is on
    page.goto(link)
    expect(page).to_have_url(re.compile(r"^http://[^/#]+/set-password$"))
    page.get_by_test_id("set-password").fill(password)
    page.get_by_test_id("set-confirm").fill(password if confirm is None else confirm)
    return send(page, page.get_by_test_id("set-password-submit"), "/set-password", lands="/login")


def expect_password_set(page: Page, username: str) -> None:
    """The link set the password: the login page says so, with the account and username."""
    expect(page.get_by_test_id("login-notice")).to_have_text(
        "Your password is set: log in with it."
    )
    expect(page.get_by_test_id("login-account")).to_have_value("acme")
    expect(page.get_by_test_id("login-username")).to_have_value(username)
    expect(page.get_by_test_id("login-password")).to_have_value("")


def forge_option(page: Page, select: Locator, value: str) -> None:
    """Add an <option> the page does not offer to `select`, and choose it (as a person
    editing the page in the browser's tools could)."""
    select.evaluate(
        "(select, value) => { const o = new Option(value, value); select.add(o); "
        "select.value = value; }",
        value,
    )


# --- the database ------------------------------------------------------------------------


def acme_of(db: Database) -> Account:
    with db.read() as conn:
        found = stored_accounts.account_by_slug(conn, "acme")
    assert found is not None
    return found


def user_of(db: Database, username: str) -> UserRow | None:
    with db.read() as conn:
        return users.user_named(conn, acme_of(db).id, username)


def role_of(db: Database, username: str) -> Role:
    found = user_of(db, username)
    assert found is not None, username
    return found.role


def is_disabled(db: Database, username: str) -> bool:
    found = user_of(db, username)
    assert found is not None, username
    return found.disabled_at is not None


def audited(db: Database, *actions: str) -> list[tuple[str, str, dict[str, Any]]]:
    """acme's audit rows of these kinds, oldest first: (action, actor, details); not the
    operator's, who made the test's own users."""
    with db.read() as conn:
        rows = audit.events(conn, acme_of(db).id, actions)
    return [
        (row["action"], row["actor"], row["details"])
        for row in reversed(rows)
        if row["actor"] != OPERATOR.name
    ]


def add_acme_user(
    db: Database, passwords: Passwords, clock: FrozenClock, username: str, role: Role
) -> None:
    add_user(
        db,
        passwords,
        OPERATOR,
        "acme",
        username=username,
        password=PASSWORD,
        role=role,
        now=clock.now(),
    )


# --- the Account menu ---------------------------------------------------------------------


def test_the_account_menu_leads_an_admin_to_settings_and_users(
    page: Page, live_server: str, world: World, new_page: PageFactory
) -> None:
    sign_in(page, live_server, ACTIVE_AGENTS)
    menu = page.get_by_test_id("account-menu")
    menu.locator("summary").click()
    expect(page.get_by_test_id("nav-settings")).to_have_text("Account Settings")
    page.get_by_test_id("nav-settings").click()
    expect(page).to_have_url(f"{live_server}{SETTINGS}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Account Settings Acme Support")
    expect(page.get_by_test_id("nav-settings")).to_have_attribute("aria-current", "page")

    page.get_by_test_id("account-menu").locator("summary").click()
    expect(page.get_by_test_id("nav-users")).to_have_text("Users")
    page.get_by_test_id("nav-users").click()
    expect(page).to_have_url(f"{live_server}{USERS}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Users Acme Support")
    expect(page.get_by_test_id("nav-users")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("nav-settings")).not_to_have_attribute("aria-current", "page")

    # A designer has neither in the menu, and is not allowed in.
    designer = new_page("designer")
    sign_in(designer, live_server, "/", "dan")
    expect(designer.get_by_test_id("nav-settings")).to_have_count(0)
    expect(designer.get_by_test_id("nav-users")).to_have_count(0)
    for path in (SETTINGS, USERS):
        answer = designer.goto(f"{live_server}{path}")
        assert answer is not None and answer.status == 403, path
        expect(designer.get_by_test_id("error-403")).to_be_visible()
        expect(designer.get_by_test_id("settings-form")).to_have_count(0)
        expect(designer.get_by_test_id("users-grid")).to_have_count(0)


# --- Account Settings: saving -------------------------------------------------------------


def test_saving_the_settings_changes_each_one_shows_the_new_zones_time_and_audits_it(
    page: Page, live_server: str, world: World, db: Database, agents: Agents
) -> None:
    sign_in(page, live_server, SETTINGS)
    expect_acme_form_unchanged(page)
    expect(page.get_by_test_id("settings-saved")).to_have_count(0)
    expect(page.get_by_test_id("settings-error")).to_have_count(0)
    expect(local_time(page)).to_have_text("14:00")  # 13:00 UTC on the server's clock
    expect(page.get_by_test_id("local-time")).to_have_attribute("data-zone", "Europe/Paris")

    # The time zone field searches every IANA zone, and no other name.
    zone = page.get_by_test_id("settings-time-zone")
    expect(zone).to_have_attribute("list", "zones")
    zones = page.locator("#zones option")
    expect(zones).to_have_count(len(validation.zone_names()))
    expect(page.locator('#zones option[value="Asia/Tokyo"]')).to_have_count(1)
    expect(page.locator('#zones option[value="localtime"]')).to_have_count(0)

    # The local time follows the zone as it is typed.
    zone.fill("Asia/Tok")
    expect(local_time(page)).to_have_text("unknown zone")
    zone.press_sequentially("yo")
    expect(local_time(page)).to_have_text(one_of(*wall_clock("Asia/Tokyo")))

    fill_settings(page, name="Acme Help Desk", timeout="45", guests=False)
    status = send(page, page.get_by_test_id("settings-save"), SETTINGS)
    assert status == 303
    expect(page).to_have_url(f"{live_server}{SETTINGS}?saved=true")
    expect(page.get_by_test_id("settings-saved")).to_have_text("Settings saved.")
    expect(page.get_by_test_id("settings-error")).to_have_count(0)
    expect_form(page, name="Acme Help Desk", zone="Asia/Tokyo", timeout="45", guests=False)
    expect(page.get_by_role("heading", level=1)).to_have_text("Account Settings Acme Help Desk")
    expect(local_time(page)).to_have_text("22:00")  # 13:00 UTC in Tokyo
    expect(page.get_by_test_id("local-time")).to_have_attribute("data-zone", "Asia/Tokyo")

    saved = acme_of(db)
    assert (saved.name, saved.time_zone) == ("Acme Help Desk", "Asia/Tokyo")
    assert saved.session_timeout == timedelta(minutes=45)
    assert saved.guests_allowed is False
    assert saved.licenses == 3
    assert audited(db, "setting_changed") == [
        ("setting_changed", "admin", {"setting": setting, "from": old, "to": new})
        for setting, old, new in (
            ("name", "Acme Support", "Acme Help Desk"),
            ("time_zone", "Europe/Paris", "Asia/Tokyo"),
            ("session_timeout", "30 minutes", "45 minutes"),
            ("guests_allowed", True, False),
        )
    ]
    # Guests are refused from now on.
    refused = agents.try_open()
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "guests_not_allowed"

    # Saving again without a change records nothing more.
    assert send(page, page.get_by_test_id("settings-save"), SETTINGS) == 303
    expect(page.get_by_test_id("settings-saved")).to_be_visible()
    assert len(audited(db, "setting_changed")) == 4


def test_an_account_admin_sees_the_licenses_read_only_and_cannot_change_them(
    page: Page, live_server: str, world: World, db: Database
) -> None:
    sign_in(page, live_server, SETTINGS)
    readonly = page.get_by_test_id("settings-licenses-readonly")
    expect(readonly).to_contain_text("Licenses: 3")
    expect(readonly.locator("strong")).to_have_text("3")
    expect(page.get_by_test_id("settings-licenses")).to_have_count(0)
    expect(page.locator('[name="licenses"]')).to_have_count(0)
    expect(page.get_by_test_id("license-history")).to_be_visible()
    assert history_rows(page) == [["2026-01-09 14:00", "3", "when the account was created"]]

    # A licenses field slipped into the form (with the browser's tools) changes nothing.
    page.get_by_test_id("settings-form").evaluate(
        "form => { const i = document.createElement('input'); i.name = 'licenses'; "
        "i.value = '50'; form.append(i); }"
    )
    fill_settings(page, name="Acme Renamed")
    assert send(page, page.get_by_test_id("settings-save"), SETTINGS) == 303
    expect(page.get_by_test_id("settings-saved")).to_be_visible()
    expect(page.get_by_test_id("settings-licenses-readonly").locator("strong")).to_have_text("3")
    assert history_rows(page) == [["2026-01-09 14:00", "3", "when the account was created"]]
    assert acme_of(db).licenses == 3
    assert acme_of(db).name == "Acme Renamed"  # the rest of the form was saved
    assert [details["setting"] for _, _, details in audited(db, "setting_changed")] == ["name"]


def test_a_super_admin_changes_the_license_total_and_the_history_gains_a_row(
    page: Page, live_server: str, world: World, db: Database, clock: FrozenClock
) -> None:
    sign_in(page, live_server, SETTINGS, "root", account="ops")
    licenses = page.get_by_test_id("settings-licenses")
    expect(licenses).to_have_value("3")
    expect(page.get_by_test_id("settings-licenses-readonly")).to_have_count(0)
    assert history_rows(page) == [["2026-01-09 14:00", "3", "when the account was created"]]

    # A total that is not a whole number, or out of range, is refused next to the field.
    for typed, message in (
        ("many", "The license total is a whole number, such as 25."),
        ("-1", "The license count must be between 0 and 1,000,000; got -1."),
    ):
        licenses.fill(typed)
        assert send(page, page.get_by_test_id("settings-save"), SETTINGS) == 303
        expect(page.get_by_test_id("settings-error")).to_have_text(SETTINGS_REFUSED)
        error = page.get_by_test_id("error-licenses")
        expect(error).to_have_text(message)
        expect(licenses).to_have_attribute("aria-describedby", "licenses-error")
        expect(error).to_have_attribute("id", "licenses-error")
        expect(licenses).to_have_value(typed)
        assert acme_of(db).licenses == 3
        assert len(history_rows(page)) == 1

    clock.advance(timedelta(hours=2))
    page.goto(f"{live_server}{SETTINGS}")
    page.get_by_test_id("settings-licenses").fill("5")
    assert send(page, page.get_by_test_id("settings-save"), SETTINGS) == 303
    expect(page.get_by_test_id("settings-saved")).to_be_visible()
    expect(page.get_by_test_id("settings-licenses")).to_have_value("5")
    expect(page.get_by_test_id("license-change")).to_have_count(2)
    assert history_rows(page) == [
        ["2026-03-10 16:00", "5", "root"],  # 15:00 UTC, in Paris
        ["2026-01-09 14:00", "3", "when the account was created"],
    ]
    assert acme_of(db).licenses == 5
    assert audited(db, "setting_changed") == [
        ("setting_changed", "root", {"setting": "licenses", "from": 3, "to": 5})
    ]

    # The Active Agents page counts against the new total.
    page.goto(f"{live_server}{ACTIVE_AGENTS}")
    expect(page.get_by_test_id("figure-current")).to_have_text("0 / 5")


# --- Account Settings: refusals -----------------------------------------------------------

# case -> (what is typed, the error's testid, its field's testid, the error's id, the message)
BAD_SETTINGS = {
    "unknown zone": (
        {"zone": "Mars/Olympus_Mons"},
        "error-time-zone",
        "settings-time-zone",
        "zone-error",
        "'Mars/Olympus_Mons' is not an IANA time zone; use a name such as 'Europe/Paris' "
        "or 'America/New_York'.",
    ),
    "timeout too short": (
        {"timeout": "0"},
        "error-timeout",
        "settings-timeout",
        "timeout-error",
        "The session timeout must be between 1 minute and 24 hours; got 0 minutes.",
    ),
    "timeout too long": (
        {"timeout": "1441"},
        "error-timeout",
        "settings-timeout",
        "timeout-error",
        "The session timeout must be between 1 minute and 24 hours; got 1441 minutes.",
    ),
    "timeout not a number": (
        {"timeout": "thirty"},
        "error-timeout",
        "settings-timeout",
        "timeout-error",
        "The session timeout is a number of minutes, such as 30.",
    ),
    "empty name": (
        {"name": ""},
        "error-name",
        "settings-name",
        "name-error",
        "An account's name must not be blank.",
    ),
    "blank name": (
        {"name": "   "},
        "error-name",
        "settings-name",
        "name-error",
        "An account's name must not be blank.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_SETTINGS))
def test_a_bad_setting_is_refused_next_to_its_field_and_nothing_is_saved(
    page: Page, live_server: str, world: World, db: Database, case: str
) -> None:
    bad, error_id, field_id, described_by, message = BAD_SETTINGS[case]
    sign_in(page, live_server, SETTINGS)
    # Every other field gets a good new value: none of them may be saved either.
    good = {"name": "Acme Help Desk", "zone": "Asia/Tokyo", "timeout": "45"}
    typed = {**good, **bad}
    fill_settings(page, **typed, guests=False)
    assert send(page, page.get_by_test_id("settings-save"), SETTINGS) == 303

    expect(page.get_by_test_id("settings-error")).to_have_text(SETTINGS_REFUSED)
    expect(page.get_by_test_id("settings-saved")).to_have_count(0)
    error = page.get_by_test_id(error_id)
    expect(error).to_have_text(message)
    expect(page.locator(".field-error")).to_have_count(1)  # only the wrong field is marked
    field = page.get_by_test_id(field_id)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", described_by)
    expect(error).to_have_attribute("id", described_by)
    # Next to its field: in the field's own label, right after it.
    label_of_field = field.locator("xpath=ancestor::label[1]")
    expect(label_of_field.get_by_test_id(error_id)).to_have_count(1)
    # What was typed is kept, to correct.
    expect_form(
        page, name=typed["name"], zone=typed["zone"], timeout=typed["timeout"], guests=False
    )

    page.goto(f"{live_server}{SETTINGS}")
    expect_acme_form_unchanged(page)
    expect(page.get_by_test_id("settings-error")).to_have_count(0)
    stored = acme_of(db)
    assert (stored.name, stored.time_zone, stored.guests_allowed) == (
        "Acme Support",
        "Europe/Paris",
        True,
    )
    assert stored.session_timeout == timedelta(minutes=30)
    assert audited(db, "setting_changed") == []


@pytest.mark.parametrize("timeout", ["1441", "thirty"])
def test_every_bad_setting_is_told_at_once(
    page: Page, live_server: str, world: World, db: Database, timeout: str
) -> None:
    sign_in(page, live_server, SETTINGS)
    fill_settings(page, name="", zone="Nowhere/Special", timeout=timeout)
    assert send(page, page.get_by_test_id("settings-save"), SETTINGS) == 303
    expect(page.get_by_test_id("settings-error")).to_have_text(SETTINGS_REFUSED)
    expect(page.get_by_test_id("error-name")).to_be_visible()
    expect(page.get_by_test_id("error-time-zone")).to_be_visible()
    expect(page.get_by_test_id("error-timeout")).to_be_visible()
    expect(page.locator(".field-error")).to_have_count(3)
    assert acme_of(db).name == "Acme Support"
    assert audited(db, "setting_changed") == []


@pytest.mark.parametrize(
    ("zone", "timeout", "shown"),
    [
        ("Asia/Tokyo", "thirty", "22:00"),  # a good zone, refused for the timeout
        ("Mars/Olympus_Mons", "45", "unknown zone"),
    ],
)
def test_a_refused_form_shows_the_local_time_of_the_zone_it_kept(
    page: Page, live_server: str, world: World, zone: str, timeout: str, shown: str
) -> None:
    sign_in(page, live_server, SETTINGS)
    fill_settings(page, zone=zone, timeout=timeout)
    assert send(page, page.get_by_test_id("settings-save"), SETTINGS) == 303
    expect(page.get_by_test_id("settings-time-zone")).to_have_value(zone)
    # "Local time there" is beside the zone the field shows: on the server's clock, or
    # on the browser's (as the page shows it while the zone is typed).
    browser = [] if shown == "unknown zone" else wall_clock(zone)
    expect(local_time(page)).to_have_text(one_of(shown, *browser))


# --- Users: each form ---------------------------------------------------------------------


def test_the_users_grid_lists_the_accounts_users(
    page: Page, live_server: str, world: World
) -> None:
    sign_in(page, live_server, USERS)
    expect(page.get_by_test_id("user-row")).to_have_count(len(ACME_USERS))
    expect(page.get_by_test_id("cell-username")).to_have_text(ACME_USERS)
    expect(page.get_by_test_id("cell-role")).to_have_text(
        ["Account Admin", "Agent", "Agent", "Agent", "Designer", "Agent"]
    )
    expect_user(page, "admin", role="Account Admin", last_login="2026-03-10 14:00")  # just now
    expect_user(page, "alice", role="Agent")
    expect(page.get_by_test_id("cell-status")).to_have_text(["Active"] * len(ACME_USERS))
    expect(page.get_by_test_id("user-row").filter(has_text="gina")).to_have_count(0)  # globex's
    expect(page.get_by_test_id("password-link")).to_have_count(0)


def test_an_admin_creates_a_user_with_a_password_who_then_logs_in(
    page: Page,
    live_server: str,
    world: World,
    db: Database,
    clock: FrozenClock,
    new_page: PageFactory,
) -> None:
    sign_in(page, live_server, USERS)
    assert options(page.get_by_test_id("new-role")) == ADMIN_ROLES
    assert create_user(page, "erin", "designer", NEW_PASSWORD) == 303
    expect_notice(page, "User erin was created as Designer.")
    expect(page.get_by_test_id("password-link")).to_have_count(0)
    expect(page.get_by_test_id("cell-username")).to_have_text(
        ["admin", "alice", "bob", "carol", "dan", "dave", "erin"]
    )
    expect_user(page, "erin", role="Designer")
    assert role_of(db, "erin") is Role.DESIGNER
    assert audited(db, *USER_CHANGES) == [
        ("user_created", "admin", {"username": "erin", "role": "designer", "with_link": False})
    ]
    assert NEW_PASSWORD not in str(audited(db, *USER_CHANGES))

    clock.advance(timedelta(minutes=5))
    erin = new_page("erin")
    erin.goto(f"{live_server}/login")
    fill_login(erin, "acme", "erin", NEW_PASSWORD)
    expect(erin.get_by_test_id("home")).to_contain_text("Hello, erin")
    expect(erin.get_by_test_id("signed-in-as")).to_contain_text("erin")

    page.goto(f"{live_server}{USERS}")
    expect_user(page, "erin", role="Designer", last_login="2026-03-10 14:05")


def test_a_user_created_without_a_password_sets_it_through_the_one_time_link(
    page: Page,
    live_server: str,
    world: World,
    db: Database,
    agents: Agents,
    new_page: PageFactory,
) -> None:
    sign_in(page, live_server, USERS)
    assert create_user(page, "frank", "agent") == 200
    expect_notice(page, "User frank was created as Agent.")
    expect(page.get_by_test_id("password-link-box")).to_contain_text("shown only this once")
    link = one_time_link(page)
    expect_user(page, "frank", role="Agent")
    # Shown once: loading the page again does not show it.
    page.goto(f"{live_server}{USERS}")
    expect(page.get_by_test_id("password-link")).to_have_count(0)
    assert link.split("#")[1] not in page.content()
    link = f"{live_server}{link}"  # as the admin hands it over, with the server's address

    # Until the link is used, frank cannot log in with any password.
    frank = new_page("frank")
    login_refused(frank, live_server, "frank", NEW_PASSWORD)

    # In another browser, the link: a mismatch and a short password are refused ...
    assert set_password_through(frank, link, NEW_PASSWORD, NEW_PASSWORD + "!") == 400
    expect(frank.get_by_test_id("link-username")).to_have_text("frank")
    expect(frank.get_by_test_id("set-password-error")).to_have_text(
        "The two passwords are not the same."
    )
    expect(frank.get_by_test_id("set-password")).to_have_value("")  # passwords are not kept
    expect(frank.get_by_test_id("login-notice")).to_have_count(0)
    assert set_password_through(frank, link, "short") == 400
    expect(frank.get_by_test_id("set-password-error")).to_have_text(
        "A password must be at least 8 characters long; this one has 5."
    )
    frank.goto("about:blank")
    frank.goto(link)  # said once
    expect(frank.get_by_test_id("set-password-error")).to_have_count(0)
    expect(frank.get_by_test_id("set-password")).to_be_visible()
    # ... and a good one is set.
    assert set_password_through(frank, link, NEW_PASSWORD) == 303
    expect_password_set(frank, "frank")
    expect(frank.get_by_test_id("login-error")).to_have_count(0)
    assert audited(db, "password_set") == [
        ("password_set", "frank", {"username": "frank", "by": "one-time link", "logins_ended": 0})
    ]

    # frank, an agent, logs in to the console with it.
    open_console(frank, live_server)
    console_log_in(frank, "frank", NEW_PASSWORD)
    expect(frank.get_by_test_id("console-work")).to_be_visible()
    expect(frank.get_by_test_id("console-agent")).to_have_text("Logged in as frank")
    assert [row["agent_id"] for row in agents.active_sessions()] == ["frank"]

    # The link is spent: its form answers "not found", and is gone.
    assert set_password_through(frank, link, "another password altogether") == 404
    expect(frank.get_by_test_id("error-404")).to_contain_text("Not found")
    expect(frank.get_by_test_id("error-404")).to_contain_text(
        "This link to set a password was used already, has expired, or never existed."
    )
    expect(frank.get_by_test_id("set-password")).to_have_count(0)


def test_an_admin_changes_a_role(page: Page, live_server: str, world: World, db: Database) -> None:
    sign_in(page, live_server, USERS)
    select = row_of(page, "alice").get_by_test_id("role-select")
    assert options(select) == ADMIN_ROLES
    expect(select).to_have_value("agent")
    assert change_role(page, "alice", "designer") == 303
    expect_notice(page, "alice is now Designer.")
    expect_user(page, "alice", role="Designer")
    expect(row_of(page, "alice").get_by_test_id("role-select")).to_have_value("designer")
    page.reload()  # the notice is said once; the change stays
    expect(page.get_by_test_id("users-notice")).to_have_count(0)
    expect_user(page, "alice", role="Designer")
    assert role_of(db, "alice") is Role.DESIGNER
    assert change_role(page, "alice", "account_admin") == 303
    expect_notice(page, "alice is now Account Admin.")
    expect_user(page, "alice", role="Account Admin")
    assert role_of(db, "alice") is Role.ACCOUNT_ADMIN
    assert audited(db, *USER_CHANGES) == [
        ("role_changed", "admin", {"username": "alice", "from": "agent", "to": "designer"}),
        (
            "role_changed",
            "admin",
            {"username": "alice", "from": "designer", "to": "account_admin"},
        ),
    ]


def test_an_admin_disables_and_enables_a_user(
    page: Page, live_server: str, world: World, db: Database, agents: Agents
) -> None:
    sign_in(page, live_server, USERS)
    expect(row_of(page, "bob").get_by_test_id("enable")).to_have_count(0)
    assert click_in_row(page, "bob", "disable") == 303
    expect_notice(page, "bob was disabled.")
    expect_user(page, "bob", role="Agent", status="Disabled")
    expect(row_of(page, "bob").get_by_test_id("disable")).to_have_count(0)
    expect(row_of(page, "bob").get_by_test_id("enable")).to_have_text("Enable")
    expect_user(page, "carol", role="Agent")  # only bob
    assert is_disabled(db, "bob")
    refused = agents.try_open("bob")
    assert refused.status_code == 401, refused.text

    assert click_in_row(page, "bob", "enable") == 303
    expect_notice(page, "bob was enabled.")
    expect_user(page, "bob", role="Agent")
    expect(row_of(page, "bob").get_by_test_id("disable")).to_have_text("Disable")
    assert not is_disabled(db, "bob")
    agents.open("bob")
    assert audited(db, *USER_CHANGES) == [
        ("user_disabled", "admin", {"username": "bob", "logins_ended": 0}),
        ("user_enabled", "admin", {"username": "bob"}),
    ]


def test_an_admin_resets_a_password_with_a_one_time_link(
    page: Page, live_server: str, world: World, db: Database, new_page: PageFactory
) -> None:
    sign_in(page, live_server, USERS)
    assert click_in_row(page, "dan", "reset-password") == 200
    expect_notice(page, "dan's password was reset.")
    link = one_time_link(page)
    assert audited(db, *USER_CHANGES) == [
        ("password_reset", "admin", {"username": "dan", "with_link": True, "logins_ended": 0})
    ]

    dan = new_page("dan")
    assert set_password_through(dan, f"{live_server}{link}", NEW_PASSWORD) == 303
    expect_password_set(dan, "dan")
    # The old password no longer logs dan in; the new one does.
    login_refused(dan, live_server, "dan", PASSWORD)
    dan.goto(f"{live_server}/login")
    fill_login(dan, "acme", "dan", NEW_PASSWORD)
    expect(dan.get_by_test_id("home")).to_contain_text("Hello, dan")


# --- Users: refusals ----------------------------------------------------------------------


def test_roles_above_the_admins_own_are_not_offered_and_such_users_show_no_forms(
    page: Page,
    live_server: str,
    world: World,
    db: Database,
    passwords: Passwords,
    clock: FrozenClock,
    new_page: PageFactory,
) -> None:
    add_acme_user(db, passwords, clock, "sam", Role.SUPER_ADMIN)
    sign_in(page, live_server, USERS)
    sam = row_of(page, "sam")
    expect_user(page, "sam", role="Super Admin")
    expect(sam).to_contain_text("Above your role")
    for testid in ("role-form", "role-select", "role-save", "disable", "reset-password"):
        expect(sam.get_by_test_id(testid)).to_have_count(0)
    expect(sam.locator("form")).to_have_count(0)
    expect(row_of(page, "alice").locator("form")).to_have_count(4)  # role, disable, reset, end
    assert options(page.get_by_test_id("new-role")) == ADMIN_ROLES
    for username in ACME_USERS:
        assert options(row_of(page, username).get_by_test_id("role-select")) == ADMIN_ROLES
        expect(row_of(page, username)).not_to_contain_text("Above your role")

    # Forged into the page, a higher role is refused by the server all the same.
    forge_option(page, row_of(page, "alice").get_by_test_id("role-select"), "super_admin")
    assert (
        send(
            page,
            row_of(page, "alice").get_by_test_id("role-save"),
            f"{USERS}/alice/role",
            lands=USERS,
        )
        == 303
    )
    expect_refusal(
        page, "You cannot give the Super Admin role: it is above your own (Account Admin)."
    )
    expect_user(page, "alice", role="Agent")
    form = page.get_by_test_id("create-user-form")
    form.get_by_test_id("new-username").fill("mallory")
    forge_option(page, form.get_by_test_id("new-role"), "super_admin")
    assert send(page, form.get_by_test_id("create-user"), USERS) == 303
    expect_refusal(
        page, "You cannot give the Super Admin role: it is above your own (Account Admin)."
    )
    expect(row_of(page, "mallory")).to_have_count(0)
    assert user_of(db, "mallory") is None
    assert role_of(db, "alice") is Role.AGENT
    assert audited(db, *USER_CHANGES) == []

    # A super_admin is offered every role, and manages sam.
    root = new_page("root")
    sign_in(root, live_server, USERS, "root", account="ops")
    assert options(root.get_by_test_id("new-role")) == EVERY_ROLE
    assert options(row_of(root, "sam").get_by_test_id("role-select")) == EVERY_ROLE
    expect(row_of(root, "sam")).not_to_contain_text("Above your role")
    expect(row_of(root, "sam").get_by_test_id("disable")).to_be_visible()


def test_the_last_enabled_account_admin_can_be_neither_lowered_nor_disabled(
    page: Page, live_server: str, world: World, db: Database, new_page: PageFactory
) -> None:
    root = new_page("root")  # a super_admin: someone who may disable acme's admin
    sign_in(root, live_server, USERS, "root", account="ops")
    assert change_role(root, "admin", "designer") == 303
    expect_refusal(root, LAST_ADMIN)
    expect_user(root, "admin", role="Account Admin", last_login="Never")
    assert click_in_row(root, "admin", "disable") == 303
    expect_refusal(root, LAST_ADMIN)
    expect_user(root, "admin", role="Account Admin", last_login="Never")

    # The admin cannot step down either.
    sign_in(page, live_server, USERS)
    assert change_role(page, "admin", "agent") == 303
    expect_refusal(page, LAST_ADMIN)
    expect_user(page, "admin", role="Account Admin", last_login="2026-03-10 14:00")
    assert role_of(db, "admin") is Role.ACCOUNT_ADMIN
    assert not is_disabled(db, "admin")
    assert audited(db, *USER_CHANGES) == []

    # With a second admin, the first is no longer the last one.
    assert change_role(page, "carol", "account_admin") == 303
    root.goto(f"{live_server}{USERS}")
    assert change_role(root, "admin", "designer") == 303
    expect_notice(root, "admin is now Designer.")
    assert role_of(db, "admin") is Role.DESIGNER


def test_an_admin_cannot_disable_themselves(
    page: Page,
    live_server: str,
    world: World,
    db: Database,
    passwords: Passwords,
    clock: FrozenClock,
) -> None:
    add_acme_user(db, passwords, clock, "ann", Role.ACCOUNT_ADMIN)  # not the last admin
    sign_in(page, live_server, USERS)
    assert click_in_row(page, "admin", "disable") == 303
    expect_refusal(page, "You cannot disable yourself.")
    expect_user(page, "admin", role="Account Admin", last_login="2026-03-10 14:00")
    assert not is_disabled(db, "admin")
    assert audited(db, *USER_CHANGES) == []
    # Still logged in, still an admin.
    page.goto(f"{live_server}{USERS}")
    expect(page.get_by_test_id("users-grid")).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("admin")


@pytest.mark.usefixtures("console_flows")
def test_disabling_an_agent_ends_their_console_session_with_the_disabled_message(
    page: Page, live_server: str, world: World, agents: Agents, new_page: PageFactory
) -> None:
    console = new_page("console")
    start_console(console, live_server, "alice")
    open_flow(console, "Password Reset")
    session = agents.of_console(console)
    assert agents.active_ids() == {session.session_id}

    sign_in(page, live_server, USERS)
    assert click_in_row(page, "alice", "disable") == 303
    expect_notice(page, "alice was disabled.")
    assert agents.active_sessions() == []  # the license is free at once

    console.get_by_test_id("step-next").click()  # the agent's next action
    ended = console.get_by_test_id("console-ended-message")
    expect(ended).to_have_text(DISABLED_MESSAGE)
    expect(console.get_by_test_id("console-work")).to_be_hidden()
    answer = agents.heartbeat(session)
    assert answer.status_code == 410
    assert answer.json()["error"] == {"code": "user_disabled", "message": DISABLED_MESSAGE}

    # She cannot start again until she is enabled.
    console.get_by_test_id("console-new-session").click()
    console_log_in(console, "alice")
    expect(console.get_by_test_id("console-message")).to_have_text(
        "The username or password is not correct."
    )
    expect(console.get_by_test_id("console-work")).to_be_hidden()
    assert agents.active_sessions() == []

    assert click_in_row(page, "alice", "enable") == 303
    console_log_in(console, "alice")
    expect(console.get_by_test_id("console-work")).to_be_visible()
    assert agents.of_console(console).session_id != session.session_id


def test_a_disabled_user_cannot_log_in_to_the_pages(
    page: Page, live_server: str, world: World, new_page: PageFactory
) -> None:
    sign_in(page, live_server, USERS)
    assert click_in_row(page, "dan", "disable") == 303
    dan = new_page("dan")
    login_refused(dan, live_server, "dan", PASSWORD)

    assert click_in_row(page, "dan", "enable") == 303
    dan.goto(f"{live_server}/login")
    fill_login(dan, "acme", "dan", PASSWORD)
    expect(dan.get_by_test_id("home")).to_contain_text("Hello, dan")


def test_a_made_up_link_answers_not_found(page: Page, live_server: str, world: World) -> None:
    answer = page.goto(f"{live_server}/set-password/sk_pw_made-up")
    assert answer is not None and answer.status == 404
    expect(page.get_by_test_id("error-404")).to_contain_text("Not found")
    expect(page.get_by_test_id("set-password")).to_have_count(0)


# --- the time zone on Active Agents -------------------------------------------------------


def test_a_new_time_zone_changes_the_active_agents_page(
    page: Page, live_server: str, world: World, agents: Agents
) -> None:
    agents.open("alice")  # 13:00 UTC
    sign_in(page, live_server, ACTIVE_AGENTS)
    start = page.get_by_test_id("cell-start")
    expect(start).to_have_text(["2026-03-10 14:00:00"])
    expect(start.locator("time")).to_have_attribute("datetime", "2026-03-10T14:00:00+01:00")
    expect(page.get_by_test_id("time-zone")).to_have_text(
        "Times in Europe/Paris, the account's time zone."
    )
    days = page.get_by_test_id("chart-day")
    expect(days).to_have_count(30)
    expect(days.last).to_have_attribute("data-date", "2026-03-10")

    # UTC+14: 13:00 UTC is already 03:00 the next day there.
    page.get_by_test_id("account-menu").locator("summary").click()
    page.get_by_test_id("nav-settings").click()
    fill_settings(page, zone="Pacific/Kiritimati")
    assert send(page, page.get_by_test_id("settings-save"), SETTINGS) == 303
    expect(page.get_by_test_id("settings-saved")).to_be_visible()
    expect(local_time(page)).to_have_text("03:00")

    page.get_by_test_id("account-menu").locator("summary").click()
    page.get_by_test_id("nav-active-agents").click()
    expect(page).to_have_url(f"{live_server}{ACTIVE_AGENTS}")
    expect(start).to_have_text(["2026-03-11 03:00:00"])
    expect(start.locator("time")).to_have_attribute("datetime", "2026-03-11T03:00:00+14:00")
    expect(page.get_by_test_id("time-zone")).to_have_text(
        "Times in Pacific/Kiritimati, the account's time zone."
    )
    expect(days).to_have_count(30)
    expect(days.last).to_have_attribute("data-date", "2026-03-11")
