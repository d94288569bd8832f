"""Account Settings over the admin API: reading and changing an account's name, time zone,
session timeout, Guests and licenses; who may change what, the audit trail, the license
history, and a time zone that the usage API and the grid follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Table, select

from seatkeeper.clock import FrozenClock
from seatkeeper.storage import accounts as stored_accounts
from seatkeeper.storage import audit
from seatkeeper.storage import users as stored_users
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import (
    accounts,
    agent_sessions,
    api_keys,
    audit_events,
    license_changes,
    password_links,
    users,
)
from tests.conftest import PASSWORD, World, bearer
from tests.web.api.test_agent import call, error_of, login, open_session

Client = TestClient[Litestar]
SETTING_CHANGED = "setting_changed"
# What a refused request must leave exactly as it was.
KEPT: tuple[Table, ...] = (
    accounts,
    users,
    license_changes,
    audit_events,
    password_links,
    agent_sessions,
    api_keys,
)
CREATED = {"at": "2026-01-09T14:00:00+01:00", "licenses": 3, "changed_by": None}
ACME_AT_START = {
    "account": "acme",
    "name": "Acme Support",
    "time_zone": "Europe/Paris",
    "session_timeout_minutes": 30.0,
    "guests_allowed": True,
    "licenses": 3,
    # START - 60 days, 13:00 UTC on 9 January: 14:00 in Paris (winter time)
    "license_history": [CREATED],
    "overdraft": 0,
    "max_interactions": 10,
    "retention_days": 400,
}


def api(client: Client, method: str, path: str, token: str, json: Any = None) -> Any:
    """A call of the admin API under /api/v1/accounts/."""
    return client.request(method, f"/api/v1/accounts/{path}", json=json, headers=bearer(token))


def settings_of(client: Client, token: str, account: str = "acme") -> dict[str, Any]:
    response = api(client, "GET", f"{account}/settings", token)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def stored(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a refusal must not touch, in primary key order."""
    with db.read() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in KEPT
        }


def audit_rows(db: Database, account_id: int, *actions: str) -> list[dict[str, Any]]:
    with db.read() as conn:
        return audit.events(conn, account_id, actions or (SETTING_CHANGED,))


def user_id(db: Database, slug: str, username: str) -> int:
    with db.read() as conn:
        account = stored_accounts.account_by_slug(conn, slug)
        assert account is not None
        found = stored_users.user_named(conn, account.id, username)
    assert found is not None
    return found.id


def test_an_admin_reads_their_account_settings(client: Client, world: World) -> None:
    assert settings_of(client, world.admin_token) == ACME_AT_START


def test_a_super_admin_reads_the_settings_of_any_account(client: Client, world: World) -> None:
    assert settings_of(client, world.super_token) == ACME_AT_START
    globex = settings_of(client, world.super_token, "globex")
    assert globex["account"] == "globex"
    assert globex["name"] == "Globex"
    assert globex["time_zone"] == "America/New_York"
    assert globex["licenses"] == 5
    assert globex["license_history"] == [
        {"at": "2026-01-09T08:00:00-05:00", "licenses": 5, "changed_by": None}
    ]


@pytest.mark.parametrize(
    ("who", "account"),
    [
        ("globex_admin_token", "acme"),
        ("admin_token", "globex"),
        ("admin_token", "nowhere"),
        ("super_token", "nowhere"),
    ],
)
def test_another_accounts_settings_are_not_found_and_stay_as_they_were(
    client: Client, world: World, db: Database, who: str, account: str
) -> None:
    token = getattr(world, who)
    before = stored(db)
    changes: list[dict[str, Any]] = [
        {"name": "Taken over", "guests_allowed": False},
        {"licenses": 99},
        {"time_zone": "Asia/Tokyo", "session_timeout_minutes": 5},
    ]
    answers = [api(client, "GET", f"{account}/settings", token)]
    answers += [api(client, "PATCH", f"{account}/settings", token, body) for body in changes]
    for answer in answers:
        assert error_of(answer) == (404, "account_not_found")
    assert stored(db) == before
    assert settings_of(client, world.admin_token) == ACME_AT_START
    assert settings_of(client, world.globex_admin_token, "globex")["name"] == "Globex"


@pytest.mark.parametrize("who", ["agent_token", "designer_token"])
def test_roles_below_account_admin_may_neither_read_nor_change_settings(
    client: Client, world: World, db: Database, who: str
) -> None:
    token = getattr(world, who)
    before = stored(db)
    assert error_of(api(client, "GET", "acme/settings", token)) == (403, "not_allowed")
    refused = api(client, "PATCH", "acme/settings", token, {"name": "Mine now"})
    assert error_of(refused) == (403, "not_allowed")
    assert stored(db) == before
    assert settings_of(client, world.admin_token) == ACME_AT_START


def test_settings_need_credentials(client: Client, world: World, db: Database) -> None:
    before = stored(db)
    assert error_of(client.get("/api/v1/accounts/acme/settings")) == (401, "missing_credentials")
    refused = client.patch("/api/v1/accounts/acme/settings", json={"name": "Anonymous"})
    assert error_of(refused) == (401, "missing_credentials")
    wrong = api(client, "PATCH", "acme/settings", "sk_user_not-a-token", {"name": "Forged"})
    assert error_of(wrong) == (401, "invalid_token")
    assert stored(db) == before


def test_an_admin_changes_settings_and_each_change_is_audited(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    clock.advance(timedelta(hours=1))
    change = {
        "name": "Acme Europe",
        "time_zone": "Europe/Berlin",
        "session_timeout_minutes": 45,
        "guests_allowed": False,
    }
    answer = api(client, "PATCH", "acme/settings", world.admin_token, change)
    assert answer.status_code == 200, answer.text
    expected = {
        **ACME_AT_START,
        "name": "Acme Europe",
        "time_zone": "Europe/Berlin",
        "session_timeout_minutes": 45.0,
        "guests_allowed": False,
    }
    assert answer.json() == expected
    assert settings_of(client, world.admin_token) == expected

    rows = audit_rows(db, world.acme.id)
    assert {row["details"]["setting"]: row["details"] for row in rows} == {
        "name": {"setting": "name", "from": "Acme Support", "to": "Acme Europe"},
        "time_zone": {"setting": "time_zone", "from": "Europe/Paris", "to": "Europe/Berlin"},
        "session_timeout": {
            "setting": "session_timeout",
            "from": "30 minutes",
            "to": "45 minutes",
        },
        "guests_allowed": {"setting": "guests_allowed", "from": True, "to": False},
    }
    admin_id = user_id(db, "acme", "admin")
    for row in rows:
        assert row["actor"] == "admin"
        assert row["actor_id"] == admin_id
        assert row["at"] == clock.now()
        assert row["source"] == "testclient"
    # The changes hold: Guests are refused now.
    assert error_of(open_session(client, world.app_key)) == (403, "guests_not_allowed")


def test_a_setting_sent_unchanged_is_neither_saved_nor_audited(
    client: Client, world: World, db: Database
) -> None:
    before = stored(db)
    same = {"name": "Acme Support", "time_zone": "Europe/Paris", "guests_allowed": True}
    # An account_admin may send the license total as it is: it changes nothing.
    answer = api(client, "PATCH", "acme/settings", world.admin_token, {**same, "licenses": 3})
    assert answer.status_code == 200, answer.text
    assert answer.json() == ACME_AT_START
    assert stored(db) == before
    assert audit_rows(db, world.acme.id) == []


@pytest.mark.parametrize(
    "change",
    [
        {"licenses": 10},
        {"licenses": 0},
        {"licenses": 10, "name": "Acme Renamed", "guests_allowed": False},
        {"time_zone": "Asia/Tokyo", "licenses": 4},
    ],
)
def test_an_account_admin_cannot_change_the_license_total(
    client: Client, world: World, db: Database, change: dict[str, Any]
) -> None:
    before = stored(db)
    refused = api(client, "PATCH", "acme/settings", world.admin_token, change)
    assert error_of(refused) == (403, "not_allowed")
    assert "Super Admin" in refused.json()["error"]["message"]
    assert stored(db) == before
    assert settings_of(client, world.admin_token) == ACME_AT_START
    assert audit_rows(db, world.acme.id) == []


def test_a_super_admin_changes_licenses_and_the_history_says_who_and_when(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 3, 11, 9, 0, tzinfo=UTC))
    raised = api(client, "PATCH", "acme/settings", world.super_token, {"licenses": 5})
    assert raised.status_code == 200, raised.text
    assert raised.json()["licenses"] == 5
    assert raised.json()["license_history"] == [
        {"at": "2026-03-11T10:00:00+01:00", "licenses": 5, "changed_by": "root"},
        CREATED,
    ]
    first_change = clock.now()

    # More sessions than the coming total: lowering it terminates none of them.
    for name in ("alice", "bob", "carol", "dave"):
        login(client, world, name)
    clock.advance(timedelta(minutes=20))
    lowered = api(client, "PATCH", "acme/settings", world.super_token, {"licenses": 2})
    assert lowered.status_code == 200, lowered.text
    history = [
        {"at": "2026-03-11T10:20:00+01:00", "licenses": 2, "changed_by": "root"},
        {"at": "2026-03-11T10:00:00+01:00", "licenses": 5, "changed_by": "root"},
        CREATED,
    ]
    assert lowered.json()["license_history"] == history
    # The admin reads the same history, and the new total.
    mine = settings_of(client, world.admin_token)
    assert mine["licenses"] == 2
    assert mine["license_history"] == history

    usage = api(client, "GET", "acme/usage", world.admin_token).json()
    assert (usage["current"], usage["total"]) == (4, 2)
    assert error_of(open_session(client, world.app_key)) == (409, "license_limit_reached")

    rows = audit_rows(db, world.acme.id)
    assert [row["details"] for row in rows] == [
        {"setting": "licenses", "from": 5, "to": 2},
        {"setting": "licenses", "from": 3, "to": 5},
    ]
    root_id = user_id(db, "ops", "root")
    assert [(row["actor"], row["actor_id"]) for row in rows] == [("root", root_id)] * 2
    assert [row["at"] for row in rows] == [clock.now(), first_change]
    # Globex's history is its own.
    assert len(settings_of(client, world.super_token, "globex")["license_history"]) == 1


def test_a_super_admin_changes_another_accounts_settings(
    client: Client, world: World, db: Database
) -> None:
    change = {"name": "Globex Corporation", "licenses": 8, "session_timeout_minutes": 90}
    answer = api(client, "PATCH", "globex/settings", world.super_token, change)
    assert answer.status_code == 200, answer.text
    globex = settings_of(client, world.globex_admin_token, "globex")
    assert globex["name"] == "Globex Corporation"
    assert globex["licenses"] == 8
    assert globex["session_timeout_minutes"] == 90.0
    assert [entry["changed_by"] for entry in globex["license_history"]] == ["root", None]
    rows = audit_rows(db, world.globex.id)
    assert sorted((row["details"]["setting"], row["actor"]) for row in rows) == [
        ("licenses", "root"),
        ("name", "root"),
        ("session_timeout", "root"),
    ]
    assert audit_rows(db, world.acme.id) == []
    assert settings_of(client, world.admin_token) == ACME_AT_START


@pytest.mark.parametrize(
    ("change", "wrong"),
    [
        pytest.param({"time_zone": "Mars/Olympus_Mons"}, {"time_zone"}, id="zone-unknown"),
        pytest.param({"time_zone": "localtime"}, {"time_zone"}, id="zone-localtime"),
        pytest.param(
            {"time_zone": "Mars/Olympus_Mons", "name": "Renamed"},
            {"time_zone"},
            id="zone-unknown-with-good-name",
        ),
        pytest.param({"name": "   "}, {"name"}, id="name-blank"),
        pytest.param({"name": ""}, {"name"}, id="name-empty"),
        pytest.param({"session_timeout_minutes": 0}, {"session_timeout_minutes"}, id="timeout-0"),
        pytest.param(
            {"session_timeout_minutes": 24 * 60 + 1},
            {"session_timeout_minutes"},
            id="timeout-over-24h",
        ),
        pytest.param({"guests_allowed": "no"}, {"guests_allowed"}, id="guests-not-bool"),
        pytest.param({"licenses": -1}, {"licenses"}, id="licenses-negative"),
        pytest.param({"licenses": 2_000_000}, {"licenses"}, id="licenses-over-max"),
        pytest.param(
            {"licenses": 2_000_000, "time_zone": "Nowhere/Atall"},
            {"licenses", "time_zone"},
            id="licenses-and-zone",
        ),
        pytest.param(
            {"time_zone": "Mars/Olympus_Mons", "session_timeout_minutes": 0, "name": ""},
            {"time_zone", "session_timeout_minutes", "name"},
            id="zone-timeout-and-name",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_each_bad_field_and_nothing_is_saved(
    client: Client, world: World, db: Database, change: dict[str, Any], wrong: set[str]
) -> None:
    before = stored(db)
    # A super_admin, who may change every setting: only the values are wrong.
    refused = api(client, "PATCH", "acme/settings", world.super_token, change)
    assert error_of(refused) == (400, "invalid_request")
    assert stored(db) == before
    assert settings_of(client, world.admin_token) == ACME_AT_START
    fields = refused.json()["error"].get("fields")
    assert isinstance(fields, dict), refused.json()
    assert set(fields) == wrong
    assert all(isinstance(sentence, str) and sentence for sentence in fields.values())


@pytest.mark.parametrize("change", [{}, {"colour": "red"}, {"name": None}, [1, 2]])
def test_an_empty_or_unknown_change_is_refused(
    client: Client, world: World, db: Database, change: Any
) -> None:
    before = stored(db)
    refused = api(client, "PATCH", "acme/settings", world.admin_token, change)
    assert error_of(refused) == (400, "invalid_request")
    assert stored(db) == before


def test_a_new_timeout_applies_to_the_open_sessions_at_once(
    client: Client, world: World, clock: FrozenClock
) -> None:
    alice = login(client, world, "alice")
    clock.advance(timedelta(minutes=10))
    bob = login(client, world, "bob")
    clock.advance(timedelta(minutes=1))
    # alice has been quiet for 11 minutes, bob for 1: a 5-minute timeout ends alice's only.
    answer = api(
        client, "PATCH", "acme/settings", world.admin_token, {"session_timeout_minutes": 5}
    )
    assert answer.status_code == 200, answer.text
    gone = call(client, "POST", f"{alice['session_id']}/heartbeat", alice["token"])
    assert error_of(gone) == (410, "session_expired")
    beat = call(client, "POST", f"{bob['session_id']}/heartbeat", bob["token"])
    assert beat.status_code == 200
    assert beat.json()["expires_at"] == (clock.now() + timedelta(minutes=5)).isoformat().replace(
        "+00:00", "Z"
    )


def test_the_usage_api_and_the_grid_follow_a_new_time_zone(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    # 22:50 UTC on Tuesday 10 March: 23:50 in Paris, 18:50 in New York (summer time there).
    clock.set(datetime(2026, 3, 10, 22, 50, tzinfo=UTC))
    alice = login(client, world, "alice")
    clock.set(datetime(2026, 3, 10, 23, 10, tzinfo=UTC))  # 00:10 on the 11th in Paris
    assert call(client, "DELETE", alice["session_id"], alice["token"]).status_code == 204
    clock.set(datetime(2026, 3, 10, 23, 45, tzinfo=UTC))
    login(client, world, "bob")
    clock.set(datetime(2026, 3, 10, 23, 50, tzinfo=UTC))

    def usage() -> dict[str, Any]:
        response = api(client, "GET", "acme/usage", world.admin_token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def grid() -> dict[str, Any]:
        response = api(client, "GET", "acme/active-sessions", world.admin_token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    paris = usage()  # computed, and kept, in Paris time first
    assert paris["time_zone"] == "Europe/Paris"
    assert paris["as_of"] == "2026-03-11T00:50:00+01:00"
    assert len(paris["days"]) == 30
    assert [(d["date"], d["max_concurrent"]) for d in paris["days"][-3:]] == [
        ("2026-03-09", 0),
        ("2026-03-10", 1),  # alice, from 23:50
        ("2026-03-11", 1),  # alice until 00:10, bob from 00:45
    ]
    rows = grid()
    assert rows["time_zone"] == "Europe/Paris"
    assert [r["session_start"] for r in rows["sessions"]] == ["2026-03-11T00:45:00+01:00"]
    listed = api(client, "GET", "acme/users", world.admin_token).json()
    assert listed["time_zone"] == "Europe/Paris"

    moved = api(
        client, "PATCH", "acme/settings", world.admin_token, {"time_zone": "America/New_York"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["license_history"] == [
        {"at": "2026-01-09T08:00:00-05:00", "licenses": 3, "changed_by": None}
    ]

    new_york = usage()
    assert new_york["time_zone"] == "America/New_York"
    assert new_york["as_of"] == "2026-03-10T19:50:00-04:00"
    assert len(new_york["days"]) == 30
    assert [(d["date"], d["max_concurrent"]) for d in new_york["days"][-3:]] == [
        ("2026-03-08", 0),
        ("2026-03-09", 0),
        ("2026-03-10", 1),  # alice 18:50-19:10, bob from 19:45: never both
    ]
    assert new_york["current"] == 1
    rows = grid()
    assert rows["time_zone"] == "America/New_York"
    assert [r["session_start"] for r in rows["sessions"]] == ["2026-03-10T19:45:00-04:00"]
    listed = api(client, "GET", "acme/users", world.admin_token).json()
    assert listed["time_zone"] == "America/New_York"
    alice_row = next(u for u in listed["users"] if u["username"] == "alice")
    assert alice_row["last_login_at"] == "2026-03-10T18:50:00-04:00"

    [row] = audit_rows(db, world.acme.id)
    assert row["details"] == {
        "setting": "time_zone",
        "from": "Europe/Paris",
        "to": "America/New_York",
    }
    assert row["actor"] == "admin"


def test_a_refused_change_keeps_sessions_and_their_times(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    alice = login(client, world, "alice")
    clock.advance(timedelta(minutes=20))
    before = stored(db)
    refused = api(
        client,
        "PATCH",
        "acme/settings",
        world.admin_token,
        {"session_timeout_minutes": 5, "licenses": 1},
    )
    assert error_of(refused) == (403, "not_allowed")
    assert stored(db) == before
    # The 30-minute timeout still holds for alice.
    clock.advance(timedelta(minutes=9))
    beat = call(client, "POST", f"{alice['session_id']}/heartbeat", alice["token"])
    assert beat.status_code == 200, beat.text
    assert settings_of(client, world.admin_token)["session_timeout_minutes"] == 30.0
    assert (
        open_session(client, world.app_key, {"username": "bob", "password": PASSWORD}).status_code
        == 201
    )
