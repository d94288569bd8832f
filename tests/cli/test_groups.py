"""`seatkeeper groups`: the operator manages seat groups; refusals exit non-zero and change
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from seatkeeper.storage import accounts, audit
from seatkeeper.storage import groups as stored
from seatkeeper.storage.db import Database
from tests.cli.test_cli import run


def state(db_url: str) -> Any:
    """acme's groups, its members and the audit rows about them."""
    db = Database(db_url)
    try:
        with db.read() as conn:
            account = accounts.account_by_slug(conn, "acme")
            assert account is not None
            rows = audit.events(conn, account.id, ["group_created", "group_changed"])
            return stored.groups_of(conn, account.id), stored.memberships(conn, account.id), rows
    finally:
        db.dispose()


@pytest.fixture
def acme(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SEATKEEPER_FAST_PASSWORD_HASHING", "true")
    cli_db = db_url
    run(cli_db, "accounts", "create", "acme", "--licenses", "10")
    for name in ("alice", "bob"):
        made = run(cli_db, "users", "create", "acme", name, "--link")
        assert made.exit_code == 0, made.output
    return cli_db


def test_the_operator_manages_groups(acme: str) -> None:
    made = run(acme, "groups", "create", "acme", "Billing", "--reserved", "5", "--maximum", "6")
    assert made.exit_code == 0, made.output
    assert "Created group 'Billing': 5 licenses reserved, at most 6." in made.output
    members = run(acme, "groups", "members", "acme", "billing", "alice", "BOB")
    assert "Group 'Billing' has 2 members: alice, bob." in members.output
    changed = run(acme, "groups", "set", "acme", "Billing", "--reserved", "1", "--no-maximum")
    assert "Group 'Billing': 1 license reserved, no maximum." in changed.output
    guests = run(acme, "groups", "guests", "acme", "--maximum", "3")
    assert "Group 'Guests': 0 licenses reserved, at most 3." in guests.output
    listed = run(acme, "groups", "list", "acme").output.splitlines()
    assert listed[0].split() == ["Billing", "reserved", "1", "maximum", "-", "2", "members"]
    assert listed[1].split() == ["Guests", "reserved", "0", "maximum", "3", "Guest", "sessions"]
    _, _, rows = state(acme)
    assert str(rows[0]["actor"]).endswith("(operator command)")
    assert run(acme, "groups", "delete", "acme", "Billing").exit_code == 0
    assert [g.name for g, _ in state(acme)[0]] == ["Guests"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "acme", "Big", "--reserved", "11"], "13 licenses, more than the account's 10."),
        (["create", "acme", "Billing"], "already has a group 'Billing'"),
        (["create", "acme", "<b>\x1b[2J</b>"], "must not contain control characters"),
        (["create", "acme", "guests"], "is the Guests group's name"),
        (["create", "acme", "A", "--maximum", "-1"], "must be between 0 and 1,000,000"),
        (["set", "acme", "Nobody", "--reserved", "1"], "The account has no group 'Nobody'."),
        (["set", "acme", "Billing", "--maximum", "2", "--no-maximum"], "not both"),
        (["members", "acme", "Billing", "alice", "mallory"], "no user 'mallory'"),
        (["guests", "acme", "--reserved", "99"], "add up to 101 licenses"),
        (["list", "nowhere"], "There is no account 'nowhere'."),
    ],
)
def test_a_refused_change_exits_non_zero_and_changes_nothing(
    acme: str, args: list[str], message: str
) -> None:
    run(acme, "groups", "create", "acme", "Billing", "--reserved", "2")
    before = state(acme)
    refused = run(acme, "groups", *args)
    assert refused.exit_code != 0, refused.output
    assert message in refused.output
    assert state(acme) == before
