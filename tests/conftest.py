"""Fixtures: every test gets its own database, a frozen clock, and an app wired to both."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from seatkeeper.clock import FrozenClock
from seatkeeper.config import Settings
from seatkeeper.domain.model import Account, AgentSession, Role, User
from seatkeeper.services import access, accounts
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.flows import add_flow
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.users import add_user
from seatkeeper.storage import sessions
from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import upgrade
from seatkeeper.web.app import create_app
from tests.sso_fakes import SECRET_KEY, FakeProvider, use

START = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # a Tuesday, 14:00 in Paris
PASSWORD = "correct horse battery"


PG_MODE = os.environ.get("SEATKEEPER_TEST_POSTGRES", "auto")
PG_URL = os.environ.get(
    "SEATKEEPER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once; each test starts from a copy of it."""
    path = tmp_path_factory.mktemp("template") / "seatkeeper.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[Engine]:
    """A connection to the PostgreSQL server the PostgreSQL half of the suite runs on."""
    if PG_MODE == "off":
        pytest.skip("PostgreSQL tests are off (SEATKEEPER_TEST_POSTGRES=off)")
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL is not reachable at {make_url(PG_URL).render_as_string()}: {exc.orig}"
        if PG_MODE == "required":
            pytest.fail(f"{reason} (SEATKEEPER_TEST_POSTGRES=required)")
        pytest.skip(f"{reason}; set SEATKEEPER_TEST_POSTGRES_URL to run these tests")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres: Engine) -> Iterator[str]:
    """A PostgreSQL database migrated once; each test gets a copy of it."""
    name = f"seatkeeper_template_{uuid4().hex[:12]}"
    with postgres.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(_pg_database(name))
    yield name
    with postgres.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _pg_database(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, template_db: Path) -> Iterator[str]:
    """A fresh, migrated database of its own for every test, on each backend."""
    with fresh_database(request, tmp_path, template_db) as url:
        yield url


@contextmanager
def fresh_database(
    request: pytest.FixtureRequest, tmp_path: Path, template_db: Path
) -> Iterator[str]:
    """A copy of the migrated template on the test's backend (`request.param`)."""
    if request.param == "sqlite":
        path = tmp_path / "seatkeeper.db"
        shutil.copy(template_db, path)
        yield f"sqlite:///{path}"
        return
    template: str = request.getfixturevalue("postgres_template")
    postgres: Engine = request.getfixturevalue("postgres")
    name = f"seatkeeper_test_{uuid4().hex[:12]}"
    with postgres.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _pg_database(name)
    with postgres.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(db_url: str) -> Settings:
    # No periodic task: tests sweep (and send webhooks) when they mean to, with their
    # frozen clock. Heartbeats written at once: tests move their clock faster than a batch
    # is written.
    return Settings(
        database_url=db_url,
        fast_password_hashing=True,
        sweep_seconds=0,
        webhook_seconds=0,
        heartbeat_batch_seconds=0,
    )


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
def fake(clock: FrozenClock) -> FakeProvider:
    """The OpenID Provider the tests' app reaches for single sign-on: in this process, so
    nothing leaves the machine (it publishes a discovery document and keys, nothing more,
    until a test gives an account a provider)."""
    return FakeProvider(clock, secret_key=SECRET_KEY)


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, db: Database, fake: FakeProvider) -> Litestar:
    made = create_app(settings, clock=clock, database=db)
    use(made, fake)
    return made


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


# The Flows acme and globex offer, with steps: an Interaction names one of them.
WORLD_FLOWS = {
    "Billing Dispute": ("Verify", "Review charges", "Next"),
    "New Order": ("Verify", "Pick", "Pay", "Next"),
    "Password Reset": ("Verify", "Verify identity", "Send link", "Send reset link", "Next"),
    "Refund": ("Verify", "Refund"),
    "X": ("X", "Next"),
}


def offer(db: Database, *names: str, slug: str = "acme") -> None:
    """Have the account offer Flows of these names (steps "Verify" and "Next")."""
    for name in names:
        add_flow(db, OPERATOR, slug, name=name, steps=["Verify", "Next"], now=datetime.now(UTC))


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
        OPERATOR,
        slug="acme",
        name="Acme Support",
        licenses=3,
        time_zone="Europe/Paris",
        session_timeout=timedelta(minutes=30),
        console_enabled=True,
        now=now - timedelta(days=60),
    )
    globex = accounts.create_account(
        db,
        OPERATOR,
        slug="globex",
        name="Globex",
        licenses=5,
        time_zone="America/New_York",
        now=now - timedelta(days=60),
    )
    accounts.create_account(
        db, OPERATOR, slug="ops", name="Operators", licenses=0, time_zone="UTC", now=now
    )
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
        add_user(
            db,
            passwords,
            OPERATOR,
            slug,
            username=username,
            password=PASSWORD,
            role=role,
            now=now,
        )

    for slug in ("acme", "globex"):  # the Flows the tests' agents work in
        for name, steps in WORLD_FLOWS.items():
            add_flow(db, OPERATOR, slug, name=name, steps=steps, now=now)

    def token(slug: str, username: str) -> str:
        return accounts.create_user_token(
            db, OPERATOR, account_slug=slug, username=username, name="test", now=now
        )

    return World(
        acme=acme,
        globex=globex,
        app_key=accounts.create_application_key(
            db, OPERATOR, account_slug="acme", name="t", now=now
        ),
        globex_app_key=accounts.create_application_key(
            db, OPERATOR, account_slug="globex", name="t", now=now
        ),
        admin_token=token("acme", "admin"),
        globex_admin_token=token("globex", "gadmin"),
        super_token=token("ops", "root"),
        agent_token=token("acme", "alice"),
        designer_token=token("acme", "dan"),
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_admin(db: Database, slug: str, now: datetime) -> User:
    """An account_admin of `slug`, as the admin services see one (through a token)."""
    add_user(
        db,
        Passwords(fast=True),
        OPERATOR,
        slug,
        username="boss",
        password="boss-password",
        role=Role.ACCOUNT_ADMIN,
        now=now,
    )
    token = accounts.create_user_token(
        db, OPERATOR, account_slug=slug, username="boss", name="t", now=now
    )
    return access.authenticate_token(db, token)


def insert_guests(db: Database, account_id: int, now: datetime, count: int) -> list[AgentSession]:
    """`count` Guest sessions opened straight in storage at `now`, expiring a day later."""
    with db.write() as conn:
        return [
            sessions.insert_session(
                conn, account_id=account_id, user_id=None, now=now, expires_at=now + timedelta(1)
            )
            for _ in range(count)
        ]
