"""The command line says 1 license, 1 step, 1 account: never "1 licenses"."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from seatkeeper.cli import main

Invoke = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("SEATKEEPER_FAST_PASSWORD_HASHING", "true")
    monkeypatch.setenv("SEATKEEPER_DATABASE_URL", f"sqlite:///{tmp_path / 'plurals.db'}")

    def invoke(*args: str) -> Result:
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result

    invoke("db", "upgrade")
    return invoke


ONE_TOO_MANY = re.compile(r"\b1 (licenses|Interactions|steps|accounts|sessions|minutes|days)\b")


def test_an_account_with_one_license_is_told_in_the_singular(run: Invoke) -> None:
    said = [
        run("accounts", "create", "solo", "--licenses", "1").output,
        run("accounts", "set", "solo", "--max-interactions", "1").output,
        run("flows", "add", "solo", "Greeting", "--step", "Say hello").output,
        run("history", "rebuild", "solo").output,
        run("usage", "solo").output,
    ]
    assert "Created account 'solo' with 1 license." in said[0]
    assert "Account 'solo': 1 license, UTC" in said[1]
    assert "at most 1 Interaction open per session" in said[1]
    assert "Added the Flow 'Greeting' (1 step) to 'solo'." in said[2]
    assert "Kept the usage days of 1 account." in said[3]
    assert "| = the 1 license the account owns." in said[4]
    assert "at most 0 of the 1 license were in use at once." in said[4]
    for output in said:
        assert not ONE_TOO_MANY.search(output), output


def test_one_more_minute_of_grace_is_singular(run: Invoke) -> None:
    run("accounts", "create", "solo", "--licenses", "1")
    made = run("tokens", "create", "solo", "--kind", "application").output
    key_id = re.search(r"Its id is (\d+)", made)
    assert key_id is not None, made
    rotated = run("tokens", "rotate", "solo", key_id[1], "--grace", "1").output
    assert "the old key works 1 more minute." in rotated
