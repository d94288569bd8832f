"""`seatkeeper sso show|set|remove` on the database, with the provider's discovery faked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from seatkeeper.services import sso
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import audit_events, sso_providers
from tests.cli.test_cli import run
from tests.sso_fakes import CLIENT_SECRET, ISSUER, SECRET_KEY, FakeProvider


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    made = FakeProvider(secret_key=SECRET_KEY)
    monkeypatch.setattr(sso, "from_settings", lambda settings: made.sso)
    return made


@pytest.fixture
def acme(db_url: str, monkeypatch: pytest.MonkeyPatch, fake: FakeProvider) -> str:
    monkeypatch.setenv("SEATKEEPER_FAST_PASSWORD_HASHING", "true")
    assert run(db_url, "accounts", "create", "acme", "--licenses", "5").exit_code == 0
    return db_url


def _stored(db_url: str) -> list[dict[str, object]]:
    db = Database(db_url)
    try:
        with db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(sso_providers))]
    finally:
        db.dispose()


def _audit(db_url: str) -> str:
    db = Database(db_url)
    try:
        with db.read() as conn:
            return repr(conn.execute(select(audit_events)).all())
    finally:
        db.dispose()


SET = ("sso", "set", "acme", "--issuer", ISSUER, "--client-id", "seatkeeper-acme")


def test_set_show_change_and_remove(acme: str) -> None:
    assert "has no single sign-on" in run(acme, "sso", "show", "acme").output
    made = run(
        acme, *SET, "--client-secret-stdin", "--name", "Acme Okta", "--roles-claim", "groups",
        "--role", "support-admins=account_admin", "--role", "designers=designer",
        "--audience", "agent-app", stdin=CLIENT_SECRET + "\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "Log in with Acme Okta" in made.output
    assert "/sso/acme/callback" in made.output and "/sso/acme/back-channel-logout" in made.output
    row = _stored(acme)[0]
    assert str(row["client_secret"]).startswith("fernet:")
    assert row["role_map"] == {"support-admins": "account_admin", "designers": "designer"}

    shown = run(acme, "sso", "show", "acme")
    assert shown.exit_code == 0, shown.output
    for words in (ISSUER, "seatkeeper-acme", "support-admins=account_admin", "agent-app"):
        assert words in shown.output
    assert "kept encrypted" in shown.output and "still work" in shown.output

    # Only the options given change; the secret is kept.
    off = run(acme, "sso", "set", "acme", "--no-passwords", "--name", "Okta")
    assert off.exit_code == 0, off.output
    after = _stored(acme)[0]
    assert after["passwords_allowed"] is False and after["display_name"] == "Okta"
    assert after["client_secret"] == row["client_secret"]
    assert after["role_map"] == row["role_map"] and after["audiences"] == ["agent-app"]
    assert "off (single sign-on only)" in run(acme, "sso", "show", "acme").output

    for result in (made, shown, off):
        assert CLIENT_SECRET not in result.output
    assert CLIENT_SECRET not in _audit(acme)

    removed = run(acme, "sso", "remove", "acme")
    assert removed.exit_code == 0 and "log in with passwords" in removed.output
    assert _stored(acme) == []
    again = run(acme, "sso", "remove", "acme")
    assert again.exit_code == 1 and "no single sign-on provider" in again.output


def test_passwords_come_back_while_the_provider_is_down(acme: str, fake: FakeProvider) -> None:
    made = run(acme, *SET, "--no-passwords", "--client-secret-stdin", stdin=CLIENT_SECRET)
    assert made.exit_code == 0, made.output
    fake.documents.clear()  # the provider answers nothing any more
    back = run(acme, "sso", "set", "acme", "--passwords")
    assert back.exit_code == 0, back.output
    assert _stored(acme)[0]["passwords_allowed"] is True
    assert "--passwords" in run(acme, "sso", "set", "--help").output


def test_a_new_provider_needs_its_secret_and_its_issuer(acme: str) -> None:
    no_secret = run(acme, *SET)  # stdin is no terminal: nothing to ask
    assert no_secret.exit_code == 2 and "--client-secret-stdin" in no_secret.output
    empty = run(acme, *SET, "--client-secret-stdin", stdin="")
    assert empty.exit_code == 2
    no_issuer = run(acme, "sso", "set", "acme", "--client-id", "x", "--client-secret-stdin")
    assert no_issuer.exit_code == 2 and "--issuer" in no_issuer.output
    assert _stored(acme) == []


def test_refusals_are_told_and_change_nothing(acme: str) -> None:
    wrong = run(
        acme, "sso", "set", "acme", "--issuer", "https://nowhere.example.com",
        "--client-id", "x", "--client-secret-stdin", stdin=CLIENT_SECRET,
    )  # fmt: skip
    assert wrong.exit_code == 1 and "answered 404" in wrong.output
    inside = run(
        acme, "sso", "set", "acme", "--issuer", "https://169.254.169.254",
        "--client-id", "x", "--client-secret-stdin", stdin=CLIENT_SECRET,
    )  # fmt: skip
    assert inside.exit_code == 1 and "refused" in inside.output
    bad = run(
        acme, *SET, "--role", "admins=super_admin", "--roles-claim", "groups",
        "--client-secret-stdin", stdin=CLIENT_SECRET,
    )  # fmt: skip
    assert bad.exit_code == 1 and "role_map" in bad.output and "account_admin" in bad.output
    rule = run(acme, *SET, "--role", "admins", "--client-secret-stdin", stdin=CLIENT_SECRET)
    assert rule.exit_code == 2 and "VALUE=ROLE" in rule.output
    unknown = run(acme, "sso", "show", "nosuch")
    assert unknown.exit_code == 1
    assert _stored(acme) == []
