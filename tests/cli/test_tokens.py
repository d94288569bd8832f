"""`seatkeeper tokens list|revoke|rotate` (and create with an expiry) on the database."""

from __future__ import annotations

import pytest

from seatkeeper.clock import SystemClock
from seatkeeper.domain.errors import InvalidToken
from seatkeeper.services import access, agents
from seatkeeper.storage import audit
from seatkeeper.storage.db import Database
from tests.cli.test_cli import run


@pytest.fixture
def acme(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SEATKEEPER_FAST_PASSWORD_HASHING", "true")
    assert run(db_url, "accounts", "create", "acme", "--licenses", "5").exit_code == 0
    created = run(db_url, "users", "create", "acme", "boss", "--role", "account_admin", "--link")
    assert created.exit_code == 0, created.output
    return db_url


def _works(db_url: str, key: str) -> bool:
    db = Database(db_url)
    try:
        if key.startswith("sk_app_"):
            agents.application_account(db, key, clock=SystemClock())
        else:
            access.authenticate_token(db, key)
    except InvalidToken:
        return False
    finally:
        db.dispose()
    return True


def _ids(db_url: str) -> dict[str, str]:
    """Each listed row's name and kind, to its id."""
    listed = run(db_url, "tokens", "list", "acme")
    assert listed.exit_code == 0, listed.output
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    return {f"{row[1]} {row[2]}": row[0] for row in rows}


def test_list_revoke_and_rotate(acme: str) -> None:
    app = run(acme, "tokens", "create", "acme", "--kind", "application", "--name", "crm")
    assert app.exit_code == 0, app.output
    key = app.stdout.strip()
    token = run(
        acme, "tokens", "create", "acme", "--kind", "user", "--user", "boss", "--expires-in", "30"
    ).stdout.strip()
    assert _works(acme, key) and _works(acme, token)

    listed = run(acme, "tokens", "list", "acme")
    lines = listed.stdout.splitlines()
    assert lines[0].split() == [
        "ID", "NAME", "KIND", "USER", "CREATED", "LAST", "USED", "EXPIRES", "STATE",
    ]  # fmt: skip
    assert key not in listed.output and token not in listed.output
    assert key[7:] not in listed.output and token[8:] not in listed.output
    user_row = next(line for line in lines if " boss " in line)
    assert "never" not in user_row.split("user token")[1].split()[2:4]  # an expiry is shown
    assert user_row.endswith("Active")
    ids = _ids(acme)

    rotated = run(acme, "tokens", "rotate", "acme", ids["crm application"], "--grace", "5")
    assert rotated.exit_code == 0, rotated.output
    new_key = rotated.stdout.strip()
    assert new_key.startswith("sk_app_") and new_key != key
    assert "works 5 more minutes" in rotated.stderr
    assert _works(acme, new_key) and _works(acme, key)
    assert "Rotated: works until" in run(acme, "tokens", "list", "acme").stdout

    revoked = run(acme, "tokens", "revoke", "acme", ids["crm application"])
    assert revoked.exit_code == 0, revoked.output
    assert "Revoked the application key 'crm'" in revoked.output
    assert not _works(acme, key) and _works(acme, new_key)
    assert run(acme, "tokens", "revoke", "acme", ids["cli user"]).exit_code == 0
    assert not _works(acme, token)

    again = run(acme, "tokens", "revoke", "acme", ids["cli user"])
    assert again.exit_code == 1 and "already revoked" in again.output
    db = Database(acme)
    with db.read() as conn:
        account_id = conn.exec_driver_sql("SELECT id FROM accounts").scalar_one()
        rows = audit.events(conn, account_id, ["application_key_rotated", "key_revoked"])
    db.dispose()
    assert [r["action"] for r in reversed(rows)] == [
        "application_key_rotated",
        "key_revoked",
        "key_revoked",
    ]
    assert all(r["actor"].endswith("(operator command)") for r in rows)
    assert new_key not in str(rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rotate", "acme", "999"], "no key or token with the id 999"),
        (["revoke", "acme", "0"], "is not in the range"),
        (["rotate", "acme", "1", "--grace", "-1"], "is not in the range"),
        (["rotate", "acme", "1", "--grace", "99999"], "is not in the range"),
        (["create", "acme", "--kind", "application", "--expires-in", "0"], "is not in the range"),
        (["create", "acme", "--kind", "application", "--name", "a\x1bb"], "control characters"),
        (["create", "acme", "--kind", "application", "--name", "<x>" * 40], "1 to 100"),
        (["list", "nowhere"], "There is no account 'nowhere'"),
    ],
)
def test_refusals_say_why_and_change_nothing(acme: str, args: list[str], message: str) -> None:
    run(acme, "tokens", "create", "acme", "--kind", "application")
    before = run(acme, "tokens", "list", "acme").stdout
    answer = run(acme, "tokens", *args)
    assert answer.exit_code != 0
    assert message in answer.output
    assert run(acme, "tokens", "list", "acme").stdout == before
