"""Property-based fuzzing of every operation in the OpenAPI document (schemathesis).

Each operation gets generated requests, valid and invalid, with working credentials and,
mostly, the ids of a real account, session and Interaction, so requests reach past the
authentication into the code that parses and acts on them. Every answer must be below
500 and match what the document says of it (status, content type, body schema); after
every request the database must hold its invariants.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import hypothesis
import msgspec
import pytest
import schemathesis
from hypothesis import strategies as st
from litestar import Litestar
from schemathesis import Case
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Err
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from seatkeeper.clock import FrozenClock
from seatkeeper.config import Settings
from seatkeeper.domain.model import KeyKind, SettingsChange, WaitOutcome
from seatkeeper.services import access, admin, agents, flows, groups, keys, webhooks
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.secrets import WAIT_TOKEN_PREFIX, Passwords, new_token, token_hash
from seatkeeper.services.settings import change_settings
from seatkeeper.storage import waits
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import accounts, agent_sessions, interactions
from tests.conftest import World, bearer
from tests.sso_fakes import ISSUER, FakeProvider, keep_provider

EXAMPLES = 100  # per operation, valid and invalid
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class Live:
    """A real session of acme's, with one open Interaction, for the agent-side calls."""

    token: str
    session_id: str
    interaction_id: str


@dataclass
class Targets:
    """The real things of acme's that a case's path may name."""

    flow: str
    webhook_id: int
    key_id: int = 0  # a key of its own to revoke
    rotated_key_id: int = 0  # and one to rotate (a revoked key is not rotated)
    kept_keys: frozenset[int] = frozenset()  # the keys the fuzzing works with: never its target
    group_id: int = 0  # a seat group of acme's
    wait_id: int = 0  # a place in acme's line
    ticket: str = ""  # and its ticket


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Webhook addresses over http too: more of the generated ones are accepted.
    return settings.model_copy(update={"webhook_allow_http": True})


def _aim_provider(case: Case[Any]) -> None:
    """A provider's issuer that answers (the fake one), in place of any made-up address; a
    valid case's text made plain too, so that settings are saved (random valid text is
    mostly refused for its control characters: the hostile bodies test covers those)."""
    body = case.body
    if not (case.path.endswith("/sso") and isinstance(body, dict)):
        return
    issuer = body.get("issuer")
    if isinstance(issuer, str) and issuer:
        body["issuer"] = ISSUER
    if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
        body.update(issuer=ISSUER, client_id="seatkeeper-acme", display_name="Acme SSO")
        body.update(role_map={})
        body.update(username_claim="preferred_username", scopes="openid", audiences=[])
        body.update(roles_claim=None, default_role="agent", passwords_allowed=True)
        body.pop("client_secret", None)


@pytest.fixture
def live(db: Database, world: World, clock: FrozenClock) -> list[Live]:
    """Holds the current live session; replaced when a fuzzed call ends it."""
    return [_open(db, world, clock)]


def _open(db: Database, world: World, clock: FrozenClock) -> Live:
    opened = agents.open_session(
        db, Passwords(fast=True), application_key=world.app_key, credentials=None, clock=clock
    )
    sid = str(opened.session.id)
    item = agents.open_interaction(
        db, token=opened.token, session_id=sid, flow="Password Reset", clock=clock
    )
    return Live(opened.token, sid, str(item.id))


def _still_open(db: Database, session_id: str) -> bool:
    with db.engine.connect() as conn:
        ended = conn.execute(
            select(agent_sessions.c.ended_at).where(agent_sessions.c.id == UUID(session_id))
        ).scalar_one()
    return ended is None


def _current(db: Database, world: World, clock: FrozenClock, live: list[Live]) -> Live:
    """The live session, or a new one when a fuzzed call ended it (freeing seats if needed)."""
    if _still_open(db, live[0].session_id):
        return live[0]
    boss = access.authenticate_token(db, world.admin_token)
    _clear_line(db, world.acme.id, clock)  # or the terminations would seat it
    with db.engine.connect() as conn:
        open_ids = conn.execute(
            select(agent_sessions.c.id).where(
                agent_sessions.c.account_id == world.acme.id, agent_sessions.c.ended_at.is_(None)
            )
        ).scalars()
        ids = list(open_ids)
    admin.terminate_sessions(db, boss, "acme", ids, clock=clock)
    # A fuzzed settings change may have turned Guests off, or a fuzzed Guests maximum left
    # them none: the harness's session is a Guest's.
    change_settings(db, OPERATOR, "acme", SettingsChange(guests_allowed=True), now=clock.now())
    groups.set_guests(db, OPERATOR, "acme", maximum=None, now=clock.now())
    live[0] = _open(db, world, clock)
    return live[0]


@pytest.fixture
def targets(db: Database, world: World, clock: FrozenClock) -> Targets:
    flows.add_flow(db, OPERATOR, "acme", name="Fuzzed Flow", steps=["One", "Two"], now=clock.now())
    boss = access.authenticate_token(db, world.admin_token)
    hook = webhooks.add_webhook(db, boss, "acme", "https://hooks.example.com/hook", now=clock.now())
    kept = frozenset(k.id for k in keys.list_keys(db, OPERATOR, "acme").keys)
    made = [
        keys.make_key(db, boss, "acme", kind=KeyKind.APPLICATION, name=name, now=clock.now())
        for name in ("Fuzzed Key", "Rotated Key")
    ]
    return Targets("Fuzzed Flow", hook.id, made[0].key.id, made[1].key.id, kept)


def _keep_webhook(db: Database, clock: FrozenClock, targets: Targets) -> None:
    """The webhook the cases name: another of acme's, or a new one, once a case removed it."""
    _, states = webhooks.webhooks_of(db, OPERATOR, "acme")
    ids = [state.webhook.id for state in states]
    if targets.webhook_id not in ids:
        targets.webhook_id = ids[0] if ids else _new_webhook(db, clock)


def _keep_group(db: Database, clock: FrozenClock, targets: Targets) -> None:
    """The seat group the cases name: a new one, once a case deleted it."""
    found = groups.list_groups(db, OPERATOR, "acme")
    if targets.group_id not in {r.group.id for r in found.teams}:
        name = f"Fuzzed Group {len(found.rows)}-{clock.now().timestamp():.0f}"
        targets.group_id = groups.create_group(db, OPERATOR, "acme", name=name, now=clock.now()).id


def _clear_line(db: Database, account_id: int, clock: FrozenClock) -> None:
    with db.write() as conn:
        waiting = [w.id for w in waits.line(conn, account_id)]
        waits.end_waits(conn, account_id, waiting, at=clock.now(), outcome=WaitOutcome.LEFT)


def _keep_wait(db: Database, world: World, clock: FrozenClock, targets: Targets) -> None:
    """The place in line the cases follow: a new one, once a case ended it (left, or
    seated and taken). It is kept a day: the clock moves on with every case."""
    with db.read() as conn:
        if targets.wait_id in {w.id for w in waits.line(conn, world.acme.id)}:
            return
    targets.ticket = new_token(WAIT_TOKEN_PREFIX)
    with db.write() as conn:
        targets.wait_id = waits.insert_wait(
            conn,
            account_id=world.acme.id,
            user_id=None,
            token_hash=token_hash(targets.ticket),
            asker=None,
            at=clock.now(),
            expires_at=clock.now() + timedelta(days=1),
        ).id


def _new_webhook(db: Database, clock: FrozenClock) -> int:
    return webhooks.add_webhook(
        db, OPERATOR, "acme", "https://hooks.example.com/hook", now=clock.now()
    ).id


def _aim(case: Case[Any], live: Live, targets: Targets) -> None:
    """Point the case's path at acme and its real session, Interaction, Flow and webhook."""
    params = case.path_parameters if case.path_parameters is not None else {}
    real = {
        "account": "acme",
        "session_id": live.session_id,
        "interaction_id": live.interaction_id,
        "name": targets.flow,
        "webhook_id": targets.webhook_id,
        "username": "bob",
        "key_id": _key_target(case, targets),
        "group_id": targets.group_id,
        "wait_id": targets.wait_id,
    }
    params.update({name: value for name, value in real.items() if name in params})
    # A follow of a place in line may wait 30 s for it to move: the fuzzing's client waits
    # 10 s for an answer, so a valid wait is cut short (the API tests wait in full).
    query = case.query if case.query is not None else {}
    if isinstance(query.get("timeout"), int | float) and query["timeout"] > 0.1:
        query["timeout"] = 0.1


def _spare(case: Case[Any], targets: Targets) -> None:
    """A made-up key id that happens to name a key the fuzzing itself uses names its own
    target instead (revoking the application key or the admin token would stop the run)."""
    params = case.path_parameters if case.path_parameters is not None else {}
    if params.get("key_id") in targets.kept_keys:
        params["key_id"] = _key_target(case, targets)


def _key_target(case: Case[Any], targets: Targets) -> int:
    return targets.rotated_key_id if case.path.endswith("/rotate") else targets.key_id


def _credentials(case: Case[Any], world: World, live: Live, ticket: str) -> dict[str, str]:
    """The Authorization header the operation's security asks for."""
    security = case.operation.definition.raw.get("security") or [{}]
    scheme = next(iter(security[0]), None)
    token = {
        "ApplicationKey": world.app_key,
        "SessionToken": live.token,
        "AdminToken": world.admin_token,
        "WaitTicket": ticket,
    }.get(scheme or "")
    # An invalid case that leaves the header out or malforms it on purpose keeps it so.
    sends_one = any(name.lower() == "authorization" for name in case.headers or {})
    headers = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    fuzzed = headers is not None and headers.mode.is_negative
    return bearer(token) if token and sends_one and not fuzzed else {}


def assert_invariants(db: Database) -> None:
    """Open sessions ≤ licenses; every ended session has a reason; no Interaction open in one."""
    with db.engine.connect() as conn:
        open_per_account = (
            select(agent_sessions.c.account_id, func.count().label("n"))
            .where(agent_sessions.c.ended_at.is_(None))
            .group_by(agent_sessions.c.account_id)
            .subquery()
        )
        over = conn.execute(
            select(accounts.c.slug, open_per_account.c.n, accounts.c.licenses).join(
                open_per_account, open_per_account.c.account_id == accounts.c.id
            )
        ).all()
        assert all(n <= licenses for _, n, licenses in over), over
        reasonless = conn.execute(
            select(func.count())
            .select_from(agent_sessions)
            .where(agent_sessions.c.ended_at.is_not(None), agent_sessions.c.end_reason.is_(None))
        ).scalar_one()
        assert reasonless == 0
        orphans = conn.execute(
            select(func.count())
            .select_from(interactions.join(agent_sessions))
            .where(interactions.c.closed_at.is_(None), agent_sessions.c.ended_at.is_not(None))
        ).scalar_one()
        assert orphans == 0


def test_every_operation(
    app: Litestar,
    db: Database,
    world: World,
    clock: FrozenClock,
    live: list[Live],
    targets: Targets,
    fake: FakeProvider,
) -> None:
    schema = schemathesis.openapi.from_asgi("/docs/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            pytest.fail(f"The OpenAPI document describes an operation wrongly: {result.err()}")
        operations.append(result.ok())
    assert len(operations) >= 20, "the OpenAPI document lost its operations"
    answered: dict[str, Counter[int]] = {}

    for operation in operations:
        # Valid requests and invalid ones; mostly with real ids, to reach the code behind them.
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            database=None,
        )
        @hypothesis.given(
            case=cases,
            real_ids=st.sampled_from([True, True, True, False]),
            real_step=st.booleans(),
        )
        def call(case: Case[Any], real_ids: bool, real_step: bool) -> None:
            session = _current(db, world, clock, live)
            if real_ids:
                _keep_webhook(db, clock, targets)
                _keep_group(db, clock, targets)
                _keep_wait(db, world, clock, targets)
                keep_provider(db, fake, now=clock.now())
                _aim(case, session, targets)
                _aim_provider(case)
            _spare(case, targets)
            if real_ids and real_step and isinstance(case.body, dict):
                # A Flow the account offers, and a step of the live Interaction's Flow.
                case.body.update(
                    {
                        k: v
                        for k, v in (("flow", targets.flow), ("step", "Verify"))
                        if k in case.body
                    }
                )
            headers = {
                **dict(case.headers or {}),
                **_credentials(case, world, session, targets.ticket),
            }
            response = case.call(headers=headers)
            answered.setdefault(case.operation.label, Counter())[response.status_code] += 1
            assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
            case.validate_response(response, checks=CHECKS, headers=headers)
            assert_invariants(db)
            clock.advance(timedelta(seconds=7))

        call()

    # Every operation was reached past its credentials and ids (an answer that is not
    # 401, 403 or 404), and all but one were done at least once (2xx): the ids and
    # tokens the cases were given work. /metrics refuses a TestClient (not this machine);
    # a settings change is mostly refused, as random zones and names are not valid.
    past = [k for k, codes in answered.items() if set(codes) - {401, 403, 404}]
    done = [k for k, codes in answered.items() if any(c < 300 for c in codes)]
    assert set(answered) - set(past) == {"GET /metrics"}, answered
    assert set(answered) - set(done) <= {
        "GET /metrics",
        "PATCH /api/v1/accounts/{account}/settings",
    }, answered


HOSTILE_EXAMPLES = 30  # per operation that takes a body
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def _hostile(value: Any, depth: int = 0) -> bool:
    """Whether a decoded body holds a control character or nests deeper than 16 levels."""
    if depth > 16:
        return True
    if isinstance(value, str):
        return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value)
    if isinstance(value, dict):
        return any(_hostile(k, depth) or _hostile(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_hostile(v, depth + 1) for v in value)
    return False


def test_hostile_bodies_to_every_operation(
    app: Litestar, client: Any, world: World, clock: FrozenClock, live: list[Live], db: Database
) -> None:
    """Every operation that takes a body, given generated JSON (with control characters,
    NUL included, in keys and values) and bodies nested deeper than the guard's limit:
    never a 500, and a 400 whenever the body holds a control character or nests too deep."""
    schema = schemathesis.openapi.from_asgi("/docs/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations() if not isinstance(r, Err)]
    with_body = [op for op in operations if op.body]
    assert len(with_body) >= 8, [op.label for op in with_body]
    deep = st.integers(17, 3000).map(lambda n: "[" * n + "]" * n)
    bodies = st.one_of(_JSON.map(lambda v: msgspec.json.encode(v).decode()), deep)
    for operation in with_body:
        _hostile_calls(operation, bodies, client, world, clock, live, db)()


def _hostile_calls(
    operation: Any,
    bodies: st.SearchStrategy[str],
    client: Any,
    world: World,
    clock: FrozenClock,
    live: list[Live],
    db: Database,
) -> Any:
    """The hypothesis test sending `operation` the generated bodies."""

    @hypothesis.settings(
        max_examples=HOSTILE_EXAMPLES,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        database=None,
    )
    @hypothesis.given(text=bodies)
    def call(text: str) -> None:
        session = _current(db, world, clock, live)
        path = operation.path
        for name, value in {
            "account": "acme",
            "session_id": session.session_id,
            "interaction_id": session.interaction_id,
            "username": "bob",
            "webhook_id": "1",  # a route is found (a hostile body is refused before the id
            "key_id": "1",  # is looked up)
            "group_id": "1",
        }.items():
            path = path.replace(f"{{{name}}}", value)
        token = world.admin_token if "/accounts/" in path else world.app_key
        if "/sessions/" in path:
            token = session.token
        response = client.request(
            operation.method.upper(),
            path,
            content=text.encode(),
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
        try:
            hostile = _hostile(msgspec.json.decode(text))
        except RecursionError:
            hostile = True
        if hostile:
            assert response.status_code == 400, (operation.label, text[:80], response.text)
        assert_invariants(db)

    return call
