"""The seatkeeper group's options (--database-url, --version) are taken after any subcommand too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from seatkeeper.cli import main
from seatkeeper.config import Settings
from seatkeeper.demo import runner


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database made with the option after the subcommand, holding the account acme.

    The environment names another database, with no schema: a command that ignored the
    option would refuse to use it.
    """
    monkeypatch.setenv("SEATKEEPER_FAST_PASSWORD_HASHING", "true")
    monkeypatch.setenv("SEATKEEPER_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    chosen = f"sqlite:///{tmp_path / 'chosen.db'}"
    upgraded = invoke("db", "upgrade", "--database-url", chosen)
    assert upgraded.exit_code == 0, upgraded.output
    created = invoke("accounts", "create", "acme", "--licenses", "3", "--database-url", chosen)
    assert created.exit_code == 0, created.output
    return chosen


def test_an_account_created_with_the_option_after_is_listed_with_it_before(url: str) -> None:
    listed = invoke("--database-url", url, "accounts", "list")
    assert listed.exit_code == 0, listed.output
    assert "acme" in listed.output
    elsewhere = invoke("accounts", "list")
    assert elsewhere.exit_code == 1
    assert "has no seatkeeper schema yet" in elsewhere.output


@pytest.mark.parametrize(
    ("group", "command"),
    [
        ("accounts", ["list"]),
        ("users", ["list", "acme"]),
        ("tokens", ["list", "acme"]),
        ("flows", ["list", "acme"]),
        ("sso", ["show", "acme"]),
        ("history", ["rebuild", "acme"]),
        ("sessions", ["list", "acme"]),
        ("db", ["upgrade"]),
    ],
)
@pytest.mark.parametrize("where", ["after the group", "after the command"])
def test_every_group_uses_the_database_named_after_its_subcommand(
    url: str, group: str, command: list[str], where: str
) -> None:
    option = ["--database-url", url]
    args = [group, *option, *command] if where == "after the group" else [group, *command, *option]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    if group == "db":
        assert "The database is already at revision" in result.output
    if group == "history":
        assert "Kept the usage days of 1 account." in result.output


def test_a_command_outside_any_group_uses_the_database_named_after_it(url: str) -> None:
    result = invoke("usage", "acme", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert "acme" in result.output


def test_the_option_after_the_subcommand_wins(url: str, tmp_path: Path) -> None:
    unusable = f"sqlite:///{tmp_path / 'missing' / 'x.db'}"
    assert invoke("--database-url", unusable, "accounts", "list").exit_code == 1
    later = invoke("--database-url", unusable, "accounts", "list", "--database-url", url)
    assert later.exit_code == 0, later.output
    assert "acme" in later.output
    deepest = invoke("accounts", "--database-url", unusable, "list", "--database-url", url)
    assert deepest.exit_code == 0, deepest.output
    assert "acme" in deepest.output


def test_a_bad_url_after_the_subcommand_gets_the_same_clear_error(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    for bad in (f"sqlite:///{blocked}/sub/x.db", "nonsense://"):
        before = invoke("--database-url", bad, "accounts", "list")
        after = invoke("accounts", "list", "--database-url", bad)
        assert after.exit_code == before.exit_code == 1, (bad, after.output)
        assert after.output == before.output
        assert "seatkeeper cannot use the database" in after.output
        assert "Traceback" not in after.output


@pytest.mark.parametrize("bad", ["sqlite:///x\x00.db", "sqlite:///x\n.db", "\x1b[31m<b>"])
@pytest.mark.parametrize("after", [False, True])
def test_a_url_with_control_characters_is_refused_plainly(
    bad: str, after: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    option, command = ["--database-url", bad], ["accounts", "list"]
    result = invoke(*([*command, *option] if after else [*option, *command]))
    assert result.exit_code == 2, result.output
    assert "A database URL must not contain control characters" in result.output
    assert list(tmp_path.iterdir()) == []


def _every_command(command: click.Command, path: list[str]) -> Iterator[list[str]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _every_command(sub, [*path, name])


@pytest.mark.parametrize("path", list(_every_command(main, [])), ids=" ".join)
def test_every_command_shows_the_global_options_once_in_its_help(path: list[str]) -> None:
    shown = invoke(*path, "--help")
    assert shown.exit_code == 0, shown.output
    listed = [line.split()[0] for line in shown.output.splitlines() if line.startswith("  -")]
    assert listed.count("--database-url") == 1
    assert listed.count("--version") == 1


def test_the_version_is_shown_after_a_subcommand_too() -> None:
    before, after = invoke("--version"), invoke("accounts", "list", "--version")
    assert after.exit_code == 0
    assert after.output == before.output
    assert "version" in after.output


def test_the_demo_runs_on_the_database_named_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Settings] = []
    monkeypatch.setattr(runner, "run_demo", lambda settings, **_: ran.append(settings))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = invoke("--database-url", "sqlite:///elsewhere.db", "demo", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert [s.database_url for s in ran] == [url]
