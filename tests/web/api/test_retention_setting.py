"""How long an account keeps its session, Interaction and refusal rows: a setting on the
admin API, the Account Settings page and the command line, checked and audited."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.cli import main
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import audit
from seatkeeper.storage.db import Database
from tests.conftest import World, bearer
from tests.web.api.test_account_settings import stored
from tests.web.pages.test_pages import form_token, log_in

Client = TestClient[Litestar]
URL = "/api/v1/accounts/acme/settings"
SETTINGS = "/accounts/acme/settings"
HINT = (
    "Session, Interaction and refusal rows older than this are deleted; the daily figures are kept."
)
# Values no account may keep rows for, each as the API receives it.
HOSTILE: list[Any] = [
    0,
    30,
    -1,
    36_601,
    10**12,
    10**30,
    "400<script>",
    " 400",
    400.5,
    1e300,
    [400],
    {"days": 400},
    True,
]


def kept_days(client: Client, token: str) -> int:
    days: int = client.get(URL, headers=bearer(token)).json()["retention_days"]
    return days


@pytest.mark.parametrize("who", ["admin_token", "super_token"])
def test_an_admin_sets_the_retention_and_it_is_audited(
    client: Client, world: World, db: Database, who: str
) -> None:
    assert kept_days(client, world.admin_token) == 400  # the default
    for days in (31, 36_600, 90):
        changed = client.patch(
            URL, json={"retention_days": days}, headers=bearer(getattr(world, who))
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["retention_days"] == days
    with db.read() as conn:
        rows = audit.events(conn, world.acme.id, ["setting_changed"])
    assert [row["details"] for row in reversed(rows)] == [
        {"setting": "retention_days", "from": 400, "to": 31},
        {"setting": "retention_days", "from": 31, "to": 36_600},
        {"setting": "retention_days", "from": 36_600, "to": 90},
    ]
    assert {row["actor"] for row in rows} == {"admin" if who == "admin_token" else "root"}


def test_values_out_of_range_or_not_whole_days_are_refused_and_change_nothing(
    client: Client, world: World, db: Database
) -> None:
    before = stored(db)
    for wrong in HOSTILE:
        refused = client.patch(
            URL,
            json={"retention_days": wrong, "name": "Changed"},
            headers=bearer(world.admin_token),
        )
        assert refused.status_code == 400, (wrong, refused.text)
        error = refused.json()["error"]
        assert error["code"] and error["message"], wrong
        assert "<script>" not in refused.text
        assert stored(db) == before, wrong
    assert kept_days(client, world.admin_token) == 400


@pytest.mark.parametrize(
    ("days", "sentence"),
    [
        (0, "got 0."),
        (30, "got 30."),
        (-1, "got -1."),
        (10**12, "got 1,000,000,000,000."),
    ],
)
def test_the_refusal_says_the_range(client: Client, world: World, days: int, sentence: str) -> None:
    refused = client.patch(URL, json={"retention_days": days}, headers=bearer(world.admin_token))
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {
        "retention_days": "Session, Interaction and refusal rows must be kept between 31 and "
        f"36,600 days; {sentence}"
    }


@pytest.mark.parametrize("who", ["agent_token", "designer_token", "globex_admin_token"])
def test_no_one_else_changes_it(client: Client, world: World, db: Database, who: str) -> None:
    before = stored(db)
    refused = client.patch(URL, json={"retention_days": 31}, headers=bearer(getattr(world, who)))
    assert refused.status_code in (403, 404)
    assert stored(db) == before


def test_the_settings_page_shows_and_changes_it(client: Client, world: World, db: Database) -> None:
    log_in(client, "admin")
    page = client.get(SETTINGS).text
    assert 'name="retention_days" value="400"' in page
    assert HINT in page
    form = {
        "name": "Acme Support",
        "time_zone": "Europe/Paris",
        "session_timeout_minutes": "30",
        "guests_allowed": "on",
        "max_interactions": "10",
        "csrf_token": form_token(page),
    }
    saved = client.post(SETTINGS, data={**form, "retention_days": "45"}, follow_redirects=False)
    assert saved.status_code == 303 and "saved=true" in saved.headers["location"]
    assert 'name="retention_days" value="45"' in client.get(SETTINGS).text
    before = stored(db)
    for wrong, sentence in (
        ("many", "The days rows are kept is a whole number, such as 400."),
        ("400.5", "The days rows are kept is a whole number, such as 400."),
        ("400<script>", "The days rows are kept is a whole number, such as 400."),
        ("30", "must be kept between 31 and 36,600 days; got 30."),
        ("0", "must be kept between 31 and 36,600 days; got 0."),
        ("-1", "must be kept between 31 and 36,600 days; got -1."),
        (str(10**12), "must be kept between 31 and 36,600 days; got 1,000,000,000,000."),
    ):
        refused = client.post(SETTINGS, data={**form, "retention_days": wrong})
        assert refused.status_code == 200
        assert sentence in refused.text, wrong
        assert 'data-testid="error-retention-days"' in refused.text
        assert "400<script>" not in refused.text  # what was typed comes back escaped
        assert stored(db) == before, wrong
    assert 'name="retention_days" value="45"' in client.get(SETTINGS).text  # nothing saved
    typed = client.post(SETTINGS, data={**form, "retention_days": "400<script>"})
    assert 'value="400&lt;script&gt;"' in typed.text


def test_the_operator_sets_it_from_the_command_line(
    db_url: str, world: World, db: Database
) -> None:
    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["--database-url", db_url, "accounts", "set", *args])

    done = run("acme", "--retention-days", "60")
    assert done.exit_code == 0, done.output
    assert "usage rows kept 60 days" in done.output
    for wrong in ("30", "0", "-1", "36601", "400.5", "400<script>"):
        refused = run("acme", "--retention-days", wrong)
        assert refused.exit_code == 2, (wrong, refused.output)
    with db.read() as conn:
        assert stored_accounts.account_by_id(conn, world.acme.id).retention_days == 60
