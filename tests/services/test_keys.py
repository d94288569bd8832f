"""Application keys and user API tokens: made, listed, revoked, rotated, expiring; what
they open at each instant, and the audit trail of every change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.errors import (
    Conflict,
    InvalidInput,
    InvalidToken,
    KeyNotFound,
    NotAllowed,
)
from seatkeeper.domain.keys import ApiKey, KeyState
from seatkeeper.domain.model import KeyKind, Role
from seatkeeper.services import access, agents, keys
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import Passwords
from seatkeeper.services.users import add_user
from seatkeeper.storage import audit
from seatkeeper.storage import keys as stored
from seatkeeper.storage.db import Database
from tests.conftest import World

ACTIONS = [
    "application_key_created",
    "user_token_created",
    "key_revoked",
    "application_key_rotated",
]


def _works(db: Database, key: str, clock: FrozenClock) -> bool:
    try:
        agents.application_account(db, key, clock=clock)
    except InvalidToken:
        return False
    return True


def _token_works(db: Database, token: str, clock: FrozenClock) -> bool:
    try:
        access.authenticate_token(db, token, now=clock.now())
    except InvalidToken:
        return False
    return True


def _id_of(db: Database, world: World, name: str) -> int:
    found = keys.list_keys(db, OPERATOR, "acme").keys
    return next(k.id for k in found if k.name == name)


def test_a_revoked_application_key_is_refused_at_once(
    db: Database, world: World, clock: FrozenClock
) -> None:
    boss = access.authenticate_token(db, world.admin_token, now=clock.now())
    assert _works(db, world.app_key, clock)
    _, revoked = keys.revoke_key(db, boss, "acme", _id_of(db, world, "t"), now=clock.now())
    assert revoked.state(clock.now()) is KeyState.REVOKED
    assert not _works(db, world.app_key, clock)
    assert _works(db, world.globex_app_key, clock)  # another account's key is untouched
    with pytest.raises(Conflict, match="already revoked"):
        keys.revoke_key(db, boss, "acme", revoked.id, now=clock.now())


def test_a_revoked_user_token_is_refused_at_once(
    db: Database, world: World, clock: FrozenClock
) -> None:
    boss = access.authenticate_token(db, world.admin_token, now=clock.now())
    listed = keys.list_keys(db, boss, "acme").keys
    alices = next(k for k in listed if k.username == "alice")
    assert _token_works(db, world.agent_token, clock)
    keys.revoke_key(db, boss, "acme", alices.id, now=clock.now())
    assert not _token_works(db, world.agent_token, clock)
    assert _token_works(db, world.admin_token, clock)


@pytest.mark.parametrize("grace", [timedelta(0), timedelta(minutes=30)])
def test_rotation_the_new_key_works_at_once_the_old_one_for_the_grace(
    db: Database, world: World, clock: FrozenClock, grace: timedelta
) -> None:
    boss = access.authenticate_token(db, world.admin_token, now=clock.now())
    old_id = _id_of(db, world, "t")
    made = keys.rotate_key(db, boss, "acme", old_id, grace=grace, now=clock.now())
    assert made.secret.startswith("sk_app_") and made.secret != world.app_key
    assert made.key.name == "t" and made.key.state(clock.now()) is KeyState.ACTIVE
    assert _works(db, made.secret, clock)
    assert _works(db, world.app_key, clock) is (grace > timedelta(0))
    clock.advance(grace - timedelta(seconds=1) if grace else timedelta(seconds=1))
    assert _works(db, world.app_key, clock) is (grace > timedelta(0))
    clock.advance(timedelta(seconds=1))
    assert not _works(db, world.app_key, clock)
    assert _works(db, made.secret, clock)
    with db.read() as conn:
        old = stored.key_by_id(conn, world.acme.id, old_id)
    assert old is not None and old.replaced_by == made.key.id
    assert old.state(clock.now()) is KeyState.REVOKED


def test_a_rotated_key_in_its_grace_can_still_be_revoked_at_once(
    db: Database, world: World, clock: FrozenClock
) -> None:
    old_id = _id_of(db, world, "t")
    keys.rotate_key(db, OPERATOR, "acme", old_id, grace=timedelta(hours=1), now=clock.now())
    assert _works(db, world.app_key, clock)
    with pytest.raises(Conflict, match="rotated"):
        keys.rotate_key(db, OPERATOR, "acme", old_id, now=clock.now())
    keys.revoke_key(db, OPERATOR, "acme", old_id, now=clock.now())
    assert not _works(db, world.app_key, clock)


def test_keys_and_tokens_expire_with_the_clock(
    db: Database, world: World, clock: FrozenClock
) -> None:
    day = timedelta(days=1)
    app = keys.make_key(
        db, OPERATOR, "acme", kind=KeyKind.APPLICATION, name="short", expires_at=clock.now() + day,
        now=clock.now(),
    )  # fmt: skip
    token = keys.make_key(
        db, OPERATOR, "acme", kind=KeyKind.USER, name="short", username="admin",
        expires_at=clock.now() + day, now=clock.now(),
    )  # fmt: skip
    clock.advance(day - timedelta(seconds=1))
    assert _works(db, app.secret, clock) and _token_works(db, token.secret, clock)
    clock.advance(timedelta(seconds=1))
    assert not _works(db, app.secret, clock) and not _token_works(db, token.secret, clock)
    states = {k.id: k.state(clock.now()) for k in keys.list_keys(db, OPERATOR, "acme").keys}
    assert states[app.key.id] is states[token.key.id] is KeyState.EXPIRED
    with pytest.raises(Conflict, match="expired"):
        keys.rotate_key(db, OPERATOR, "acme", app.key.id, now=clock.now())


@pytest.mark.parametrize(
    ("expires", "message"),
    [(timedelta(0), "in the future"), (timedelta(days=3651), "at most 3650 days")],
)
def test_an_expiry_must_be_in_the_future_and_not_too_far(
    db: Database, world: World, clock: FrozenClock, expires: timedelta, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        keys.make_key(
            db, OPERATOR, "acme", kind=KeyKind.APPLICATION, name="x",
            expires_at=clock.now() + expires, now=clock.now(),
        )  # fmt: skip


def test_last_used_is_written_at_most_once_a_minute(
    db: Database, passwords: Passwords, world: World, clock: FrozenClock
) -> None:
    key_id = _id_of(db, world, "t")

    def key() -> ApiKey:
        return next(k for k in keys.list_keys(db, OPERATOR, "acme").keys if k.id == key_id)

    def open_one() -> None:
        agents.open_session(
            db, passwords, application_key=world.app_key, credentials=None, clock=clock
        )

    assert key().last_used_at is None
    first = clock.now()
    agents.application_account(db, world.app_key, clock=clock)
    assert key().last_used_at == first
    clock.advance(timedelta(seconds=59))
    agents.application_account(db, world.app_key, clock=clock)
    open_one()
    assert key().last_used_at == first
    clock.advance(timedelta(seconds=1))
    open_one()
    assert key().last_used_at == clock.now()
    clock.advance(timedelta(minutes=5))  # a user token's use is written down the same way
    access.authenticate_token(db, world.admin_token, now=clock.now())
    admins = next(k for k in keys.list_keys(db, OPERATOR, "acme").keys if k.username == "admin")
    assert admins.last_used_at == clock.now()


def test_an_admin_cannot_make_or_revoke_tokens_of_a_role_above_their_own(
    db: Database, world: World, clock: FrozenClock
) -> None:
    root_token = keys.list_keys(db, OPERATOR, "ops").keys[0]
    ops_admin = keys.make_key(
        db, OPERATOR, "ops", kind=KeyKind.USER, name="x", username="root", now=clock.now()
    )
    add_user(db, Passwords(fast=True), OPERATOR, "ops", username="opsadmin",
             role=Role.ACCOUNT_ADMIN, password="a long password", now=clock.now())  # fmt: skip
    made = keys.make_key(
        db, OPERATOR, "ops", kind=KeyKind.USER, name="x", username="opsadmin", now=clock.now()
    )
    admin = access.authenticate_token(db, made.secret, now=clock.now())
    with pytest.raises(NotAllowed):
        keys.make_key(
            db, admin, "ops", kind=KeyKind.USER, name="mine", username="root", now=clock.now()
        )
    with pytest.raises(NotAllowed):
        keys.revoke_key(db, admin, "ops", root_token.id, now=clock.now())
    assert _token_works(db, ops_admin.secret, clock)


def test_another_accounts_key_is_not_found(db: Database, world: World, clock: FrozenClock) -> None:
    boss = access.authenticate_token(db, world.admin_token, now=clock.now())
    globex_key = keys.list_keys(db, OPERATOR, "globex").keys[0]
    with pytest.raises(KeyNotFound):
        keys.revoke_key(db, boss, "acme", globex_key.id, now=clock.now())
    with pytest.raises(KeyNotFound):
        keys.rotate_key(db, boss, "acme", globex_key.id, now=clock.now())
    assert _works(db, world.globex_app_key, clock)


def test_user_tokens_are_not_rotated(db: Database, world: World, clock: FrozenClock) -> None:
    token = next(k for k in keys.list_keys(db, OPERATOR, "acme").keys if k.username == "admin")
    with pytest.raises(InvalidInput, match="Only application keys"):
        keys.rotate_key(db, OPERATOR, "acme", token.id, now=clock.now())


def test_every_change_is_audited_with_its_actor_and_no_secret(
    db: Database, world: World, clock: FrozenClock
) -> None:
    boss = access.authenticate_token(db, world.admin_token, now=clock.now())
    expires = clock.now() + timedelta(days=90)
    made = keys.make_key(
        db, boss, "acme", kind=KeyKind.APPLICATION, name="crm", expires_at=expires,
        now=clock.now(), source="10.1.2.3",
    )  # fmt: skip
    rotated = keys.rotate_key(
        db, boss, "acme", made.key.id, grace=timedelta(minutes=15), now=clock.now()
    )
    keys.revoke_key(db, boss, "acme", rotated.key.id, now=clock.now())
    with db.read() as conn:
        rows = audit.events(conn, world.acme.id, ACTIONS)
    mine = [r for r in reversed(rows) if r["actor"] == "admin"]
    assert [r["action"] for r in mine] == [
        "application_key_created",
        "application_key_rotated",
        "key_revoked",
    ]
    assert all(r["actor_id"] == boss.id for r in mine)
    assert mine[0]["details"]["expires_at"] == expires.isoformat()
    assert mine[0]["source"] == "10.1.2.3"
    assert mine[1]["details"]["grace_minutes"] == 15
    assert mine[1]["details"]["new_key_id"] == rotated.key.id
    assert mine[2]["details"]["key_id"] == rotated.key.id
    written = str(rows)
    assert made.secret not in written and rotated.secret not in written


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "line\nbreak", "x" * 101, "tab\there"])
def test_hostile_key_names_are_refused(
    db: Database, world: World, clock: FrozenClock, name: str
) -> None:
    before = keys.list_keys(db, OPERATOR, "acme").keys
    with pytest.raises(InvalidInput, match="name"):
        keys.make_key(db, OPERATOR, "acme", kind=KeyKind.APPLICATION, name=name, now=clock.now())
    assert keys.list_keys(db, OPERATOR, "acme").keys == before


def test_markup_in_a_name_is_kept_as_typed(db: Database, world: World, clock: FrozenClock) -> None:
    name = "<script>alert(1)</script> & 'quotes'"
    made = keys.make_key(db, OPERATOR, "acme", kind=KeyKind.APPLICATION, name=name, now=clock.now())
    assert made.key.name == name
