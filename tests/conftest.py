"""Fixtures: every test gets its own database, a frozen clock, and an app wired to both."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.config import Settings
from seatkeeper.domain.model import Account, Role
from seatkeeper.services import accounts
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import upgrade
from seatkeeper.web.app import create_app

START = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # a Tuesday, 14:00 in Paris
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once; each test starts from a copy of it."""
    path = tmp_path_factory.mktemp("template") / "seatkeeper.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(tmp_path: Path, template_db: Path) -> str:
    path = tmp_path / "seatkeeper.db"
    shutil.copy(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, fast_password_hashing=True)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def passwords() -> Passwords:
    return Passwords(fast=True)


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, db: Database) -> Litestar:
    return create_app(settings, clock=clock, database=db)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


@dataclass
class World:
    """Two accounts with their people and keys, as most tests need them."""

    acme: Account
    globex: Account
    app_key: str  # acme's application key
    globex_app_key: str
    admin_token: str  # acme's account_admin
    globex_admin_token: str
    super_token: str  # a super_admin (member of the ops account)
    agent_token: str  # alice's user token: the admin API refuses it
    designer_token: str


@pytest.fixture
def world(db: Database, passwords: Passwords, clock: FrozenClock) -> World:
    now = clock.now()
    acme = accounts.create_account(
        db,
        slug="acme",
        name="Acme Support",
        licenses=3,
        time_zone="Europe/Paris",
        session_timeout=timedelta(minutes=30),
        now=now - timedelta(days=60),
    )
    globex = accounts.create_account(
        db,
        slug="globex",
        name="Globex",
        licenses=5,
        time_zone="America/New_York",
        now=now - timedelta(days=60),
    )
    accounts.create_account(db, slug="ops", name="Operators", licenses=0, time_zone="UTC", now=now)
    people = [
        ("acme", "alice", Role.AGENT),
        ("acme", "bob", Role.AGENT),
        ("acme", "carol", Role.AGENT),
        ("acme", "dave", Role.AGENT),
        ("acme", "dan", Role.DESIGNER),
        ("acme", "admin", Role.ACCOUNT_ADMIN),
        ("globex", "gina", Role.AGENT),
        ("globex", "gadmin", Role.ACCOUNT_ADMIN),
        ("ops", "root", Role.SUPER_ADMIN),
    ]
    for slug, username, role in people:
        accounts.create_user(
            db,
            passwords,
            account_slug=slug,
            username=username,
            password=PASSWORD,
            role=role,
            now=now,
        )

    def token(slug: str, username: str) -> str:
        return accounts.create_user_token(
            db, account_slug=slug, username=username, name="test", now=now
        )

    return World(
        acme=acme,
        globex=globex,
        app_key=accounts.create_application_key(db, account_slug="acme", name="t", now=now),
        globex_app_key=accounts.create_application_key(
            db, account_slug="globex", name="t", now=now
        ),
        admin_token=token("acme", "admin"),
        globex_admin_token=token("globex", "gadmin"),
        super_token=token("ops", "root"),
        agent_token=token("acme", "alice"),
        designer_token=token("acme", "dan"),
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
