"""The operator grants an overdraft with `accounts set --overdraft`; bad values change nothing."""

from __future__ import annotations

import pytest

from seatkeeper.storage import accounts, audit
from seatkeeper.storage.db import Database
from tests.cli.test_cli import run


@pytest.fixture
def cli_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SEATKEEPER_FAST_PASSWORD_HASHING", "true")
    return db_url


def acme(db_url: str) -> tuple[int, list[dict[str, object]]]:
    """acme's overdraft and its setting changes in the audit trail."""
    db = Database(db_url)
    try:
        with db.read() as conn:
            account = accounts.account_by_slug(conn, "acme")
            assert account is not None
            return account.overdraft, audit.events(conn, account.id, ["setting_changed"])
    finally:
        db.dispose()


def test_the_operator_grants_an_overdraft_and_it_is_audited(cli_db: str) -> None:
    run(cli_db, "accounts", "create", "acme", "--licenses", "25")
    granted = run(cli_db, "accounts", "set", "acme", "--overdraft", "5")
    assert granted.exit_code == 0, granted.output
    assert "Account 'acme': 25 licenses and an overdraft of 5, UTC" in granted.output
    overdraft, [row] = acme(cli_db)
    assert overdraft == 5
    assert str(row["actor"]).endswith("(operator command)")
    assert row["details"] == {"setting": "overdraft", "from": 0, "to": 5}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "The overdraft must be between 0 and 100,000; got -1."),
        ("100001", "The overdraft must be between 0 and 100,000; got 100,001."),
        ("many", "'many' is not a whole number."),
        ("<b>3</b>", "'<b>3</b>' is not a whole number."),
        ("3\x07", "is not a whole number."),
    ],
)
def test_a_bad_overdraft_exits_2_and_changes_nothing(cli_db: str, value: str, message: str) -> None:
    run(cli_db, "accounts", "create", "acme", "--licenses", "25")
    refused = run(cli_db, "accounts", "set", "acme", "--overdraft", value)
    assert refused.exit_code == 2, refused.output
    assert message in refused.output
    assert acme(cli_db) == (0, [])
