"""The seatkeeper command: provisioning, schema upgrades, and its refusals."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from seatkeeper.cli import main
from seatkeeper.storage import accounts, audit
from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import head_revision
from tests.servers import wait_until_up
from tests.waiting import PATIENCE


def run(db_url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--database-url", db_url, *args], input=stdin)


@pytest.fixture
def cli_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SEATKEEPER_FAST_PASSWORD_HASHING", "true")
    return db_url


def test_provisioning_an_account_from_the_command_line(cli_db: str) -> None:
    created = run(
        cli_db,
        "accounts",
        "create",
        "acme",
        "--name",
        "Acme Support",
        "--licenses",
        "25",
        "--time-zone",
        "Europe/Paris",
        "--timeout",
        "45",
    )
    assert created.exit_code == 0, created.output
    assert "Created account 'acme' with 25 licenses." in created.output

    user = run(
        cli_db,
        "users",
        "create",
        "acme",
        "alice",
        "--role",
        "account_admin",
        "--password-stdin",
        stdin="a long password\n",
    )
    assert user.exit_code == 0, user.output
    assert "Created account_admin 'alice'" in user.output

    token = run(cli_db, "tokens", "create", "acme", "--kind", "user", "--user", "alice")
    assert token.exit_code == 0, token.output
    assert token.stdout.strip().startswith("sk_user_")
    key = run(cli_db, "tokens", "create", "acme", "--kind", "application")
    assert key.stdout.strip().startswith("sk_app_")

    changed = run(cli_db, "accounts", "set", "acme", "--licenses", "30", "--no-guests")
    assert changed.exit_code == 0, changed.output
    assert "30 licenses" in changed.output and "guests not allowed" in changed.output

    listed = run(cli_db, "accounts", "list")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["ACCOUNT", "NAME", "IN", "USE", "TIME", "ZONE", "TIMEOUT", "GUESTS"]
    assert lines[1].split() == [
        "acme",
        "Acme",
        "Support",
        "0",
        "/",
        "30",
        "Europe/Paris",
        "45",
        "min",
        "no",
    ]

    # Every change is audited as the operator who ran the command; no key is written down.
    db = Database(cli_db)
    with db.read() as conn:
        account = accounts.account_by_slug(conn, "acme")
        assert account is not None
        rows = audit.events(
            conn,
            account.id,
            [
                "account_created",
                "user_created",
                "user_token_created",
                "application_key_created",
                "setting_changed",
            ],
        )
    db.dispose()
    assert [row["action"] for row in reversed(rows)] == [
        "account_created",
        "user_created",
        "user_token_created",
        "application_key_created",
        "setting_changed",
        "setting_changed",
    ]
    assert all(row["actor"].endswith("(operator command)") for row in rows)
    assert all(row["actor_id"] is None for row in rows)
    written = str([row["details"] for row in rows])
    assert token.stdout.strip() not in written and key.stdout.strip() not in written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--licenses", "-5"], "between 0 and 1,000,000"),
        (["--licenses", "many"], "is not a whole number"),
        (["--licenses", "5", "--time-zone", "Mars/Olympus_Mons"], "is not an IANA time zone"),
        (["--licenses", "5", "--time-zone", "localtime"], "is not an IANA time zone"),
        (["--licenses", "5", "--timeout", "0"], "between 1 minute and 24 hours"),
    ],
)
def test_bad_account_values_exit_2_and_create_nothing(
    cli_db: str, args: list[str], message: str
) -> None:
    result = run(cli_db, "accounts", "create", "acme", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "No accounts yet" in run(cli_db, "accounts", "list").output


def test_bad_changes_exit_2_and_change_nothing(cli_db: str) -> None:
    run(cli_db, "accounts", "create", "acme", "--licenses", "5")
    for args in (["--licenses", "-1"], ["--time-zone", "Nowhere/City"]):
        assert run(cli_db, "accounts", "set", "acme", *args).exit_code == 2
    assert run(cli_db, "accounts", "list").output.splitlines()[1].split()[2:6] == [
        "0",
        "/",
        "5",
        "UTC",
    ]


def test_refusals_from_the_services_exit_1_with_their_sentence(cli_db: str) -> None:
    run(cli_db, "accounts", "create", "acme", "--licenses", "5")
    again = run(cli_db, "accounts", "create", "acme", "--licenses", "5")
    assert again.exit_code == 1
    assert "An account 'acme' already exists." in again.output
    nobody = run(cli_db, "accounts", "set", "nobody", "--licenses", "3")
    assert nobody.exit_code == 1 and "There is no account 'nobody'." in nobody.output
    short = run(cli_db, "users", "create", "acme", "bob", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "at least 8 characters long" in short.output
    lost = run(cli_db, "tokens", "create", "acme", "--kind", "user", "--user", "ghost")
    assert lost.exit_code == 1 and "has no user 'ghost'" in lost.output
    no_user = run(cli_db, "tokens", "create", "acme", "--kind", "user")
    assert no_user.exit_code == 2 and "--user" in no_user.output


def test_db_upgrade_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'new.db'}"
    first = run(url, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert f"from revision (empty) to {head_revision()}" in first.output
    second = run(url, "db", "upgrade")
    assert f"already at revision {head_revision()}" in second.output


def test_commands_refuse_a_database_without_the_current_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    for args in (["serve", "--port", "1"], ["accounts", "list"]):
        result = run(url, *args)
        assert result.exit_code == 1
        assert "has no seatkeeper schema yet" in result.output
        assert "Run `seatkeeper db upgrade`" in result.output


def test_a_schema_from_a_newer_seatkeeper_is_refused_by_name(cli_db: str) -> None:
    db = Database(cli_db)
    with db.write() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.dispose()
    result = run(cli_db, "serve")
    assert result.exit_code == 1
    assert "is at revision 9999, which this seatkeeper does not know" in result.output
    assert "a newer seatkeeper has upgraded it" in result.output


def test_bad_settings_and_unusable_databases_get_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEATKEEPER_PORT", "abc")
    bad_port = CliRunner().invoke(main, ["accounts", "list"])
    assert bad_port.exit_code == 2
    assert "Invalid setting: SEATKEEPER_PORT" in bad_port.output
    monkeypatch.delenv("SEATKEEPER_PORT")
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    for url in (
        f"sqlite:///{blocked}/sub/x.db",
        "nonsense://",
        "postgresql+psycopg://nobody@127.0.0.1:1/x",
    ):
        result = run(url, "db", "upgrade")
        assert result.exit_code == 1, (url, result.output)
        assert "seatkeeper cannot use the database" in result.output, result.output
        assert "Traceback" not in result.output


def test_serve_on_a_handed_socket_turns_nagle_off(tmp_path: Path) -> None:
    # A process manager hands over a listening TCP socket; connections accepted on it
    # inherit TCP_NODELAY from it, or every answer waits for the client's delayed ACK.
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert run(url, "db", "upgrade").exit_code == 0
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        fd = listener.fileno()
        with (tmp_path / "server-0.log").open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "seatkeeper",
                    "--database-url",
                    url,
                    "serve",
                    "--fd",
                    str(fd),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=[fd],
            )
        try:
            wait_until_up(f"http://127.0.0.1:{listener.getsockname()[1]}", proc, tmp_path)
            assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            proc.terminate()
            proc.wait(PATIENCE)


def test_serve_refuses_a_descriptor_that_is_not_a_socket(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert run(url, "db", "upgrade").exit_code == 0
    with (tmp_path / "not-a-socket").open("w") as f:
        result = run(url, "serve", "--fd", str(f.fileno()))
    assert result.exit_code == 2
    assert "Invalid value for --fd: " in result.output
    assert "is not an open socket: Socket operation on non-socket" in result.output


def test_managing_users_from_the_command_line_follows_the_pages_rules(cli_db: str) -> None:
    assert run(cli_db, "accounts", "create", "acme", "--licenses", "5").exit_code == 0
    boss = run(cli_db, "users", "create", "acme", "boss", "--role", "account_admin", "--link")
    assert boss.exit_code == 0, boss.output
    link = boss.output.split("valid 7 days, shown once): /set-password#")[1].split()[0]
    assert link.startswith("sk_pw_")
    assert "put its address before it, or set SEATKEEPER_PUBLIC_URL" in boss.output
    made = run(cli_db, "users", "create", "acme", "ann", "--password-stdin", stdin="secret ann\n")
    assert made.exit_code == 0, made.output

    raised = run(cli_db, "users", "set", "acme", "ann", "--role", "designer", "--disable")
    assert (raised.exit_code, raised.output) == (0, "'ann' is designer, disabled.\n")
    listed = run(cli_db, "users", "list", "acme").output.splitlines()
    assert [line.split()[:2] for line in listed] == [["ann", "designer"], ["boss", "account_admin"]]
    assert listed[0].endswith("last login never  disabled")

    last = run(cli_db, "users", "set", "acme", "boss", "--role", "agent")
    assert last.exit_code == 1
    assert "last enabled Account Admin" in last.output
    assert run(cli_db, "users", "list", "acme").output.splitlines()[1].split()[1] == "account_admin"

    reset = run(cli_db, "users", "reset-password", "acme", "ann")
    assert reset.exit_code == 0 and " /set-password#sk_pw_" in reset.output
    nobody = run(cli_db, "users", "set", "acme", "nobody", "--enable")
    assert (nobody.exit_code, nobody.output) == (1, "Error: The account has no user 'nobody'.\n")


def test_one_time_links_start_with_the_public_url(
    cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEATKEEPER_PUBLIC_URL", "https://seats.example.com/")
    assert run(cli_db, "accounts", "create", "acme", "--licenses", "5").exit_code == 0
    made = run(cli_db, "users", "create", "acme", "boss", "--role", "account_admin", "--link")
    assert made.exit_code == 0, made.output
    assert "shown once): https://seats.example.com/set-password#sk_pw_" in made.output
    assert "SEATKEEPER_PUBLIC_URL" not in made.output
    monkeypatch.setenv("SEATKEEPER_PUBLIC_URL", "javascript:alert(1)")
    refused = run(cli_db, "users", "reset-password", "acme", "boss")
    assert refused.exit_code != 0
    assert "SEATKEEPER_PUBLIC_URL" in refused.output and "sk_pw_" not in refused.output
