"""/metrics: scraped and parsed as Prometheus does, and who may scrape it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from seatkeeper.clock import FrozenClock
from seatkeeper.config import Settings
from seatkeeper.domain.events import SessionOpened
from seatkeeper.services import expiry
from seatkeeper.storage.db import Database
from seatkeeper.storage.unit import record
from seatkeeper.web import metrics
from seatkeeper.web.app import create_app
from seatkeeper.web.metrics import _loopback
from tests.conftest import PASSWORD, World, bearer
from tests.servers import served
from tests.waiting import PATIENCE
from tests.web.api.test_agent import call, error_of, login, open_session

Client = TestClient[Litestar]
TOKEN = "scrape-secret"
HEARTBEAT = "/api/v1/sessions/{session_id}/heartbeat"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def scraped(settings: Settings, clock: FrozenClock, db: Database) -> Litestar:
    with_token = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    return create_app(with_token, clock=clock, database=db)


def scrape(client: Client) -> Samples:
    answer = client.get("/metrics", headers=bearer(TOKEN))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_sessions_denials_and_ends_and_show_licenses_in_use(
    scraped: Litestar, world: World, clock: FrozenClock
) -> None:
    acme = str(world.acme.id)
    with TestClient(scraped) as client:
        before = scrape(client)
        alice, bob, carol = (login(client, world, name) for name in ("alice", "bob", "carol"))
        refused = open_session(client, world.app_key, {"username": "dave", "password": PASSWORD})
        assert error_of(refused) == (409, "license_limit_reached")
        assert call(client, "POST", f"{alice['session_id']}/heartbeat", alice["token"]).is_success
        full = scrape(client)
        client.post(
            "/api/v1/accounts/acme/active-sessions/terminate",
            json={"session_ids": [alice["session_id"]]},
            headers=bearer(world.admin_token),
        )
        call(client, "DELETE", bob["session_id"], bob["token"])
        clock.advance(timedelta(minutes=31))
        expiry.sweep_expired(scraped.state.runtime.db, now=clock.now())
        after = scrape(client)
    assert carol["session_id"]

    gauges = {"account_id": acme, "account": "acme"}
    assert value(full, "seatkeeper_licenses_in_use", **gauges) == 3
    assert value(full, "seatkeeper_licenses_total", **gauges) == 3
    assert value(after, "seatkeeper_licenses_in_use", **gauges) == 0
    globex = {"account_id": str(world.globex.id), "account": "globex"}
    assert value(after, "seatkeeper_licenses_total", **globex) == 5

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("seatkeeper_sessions_opened_total", account_id=acme) == 3
    assert grew("seatkeeper_denials_total", account_id=acme) == 1
    for reason in ("terminated", "logout", "timeout"):
        assert grew("seatkeeper_sessions_ended_total", account_id=acme, reason=reason) == 1

    beats = {"method": "POST", "route": HEARTBEAT, "status": "200"}
    assert value(full, "seatkeeper_request_seconds_count", **beats) == 1
    assert value(full, "seatkeeper_request_seconds_bucket", **beats, le="+Inf") == 1
    assert value(full, "seatkeeper_request_seconds_sum", **beats) > 0
    opens = {"method": "POST", "route": "/api/v1/sessions", "status": "409"}
    assert value(full, "seatkeeper_request_seconds_count", **opens) == 1


def test_a_transaction_that_rolls_back_counts_nothing(
    db: Database, world: World, clock: FrozenClock
) -> None:
    def opened() -> float:
        name, labels = "seatkeeper_sessions_opened_total", {"account_id": str(world.acme.id)}
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = opened()
    db.after_commit = metrics.count
    with pytest.raises(RuntimeError), db.write() as conn:
        record(conn, SessionOpened(world.acme.id, clock.now()))
        raise RuntimeError("changed my mind")
    assert opened() == before
    with db.write() as conn:
        record(conn, SessionOpened(world.acme.id, clock.now()))
    assert opened() == before + 1


def test_with_a_token_a_scrape_must_carry_it(scraped: Litestar) -> None:
    with TestClient(scraped) as client:
        assert error_of(client.get("/metrics")) == (401, "missing_credentials")
        assert error_of(client.get("/metrics", headers=bearer("guess"))) == (401, "invalid_token")


def test_without_a_token_only_this_machine_may_scrape(app: Litestar, world: World) -> None:
    with TestClient(app) as client:  # a client the server sees as "testclient", not loopback
        refused = client.get("/metrics")
        assert error_of(refused) == (403, "not_allowed")
        assert "SEATKEEPER_METRICS_TOKEN" in refused.json()["error"]["message"]
    with served(app) as url:  # over TCP from 127.0.0.1
        answer = httpx.get(f"{url}/metrics", timeout=PATIENCE)
        assert answer.status_code == 200
        assert 'seatkeeper_licenses_total{account="acme",account_id=' in answer.text


def test_the_api_document_says_what_metrics_answers(client: Client) -> None:
    # Found by the API fuzzing: the refusals and the text format were not documented.
    operation = client.get("/docs/openapi.json").json()["paths"]["/metrics"]["get"]
    assert set(operation["responses"]) >= {"200", "401", "403"}
    (media,) = operation["responses"]["200"]["content"]
    assert media.startswith("text/plain")
    assert {"MetricsToken": []} in operation["security"]


def test_an_empty_metrics_token_is_refused_as_a_setting(db_url: str) -> None:
    with pytest.raises(ValueError, match="metrics_token"):
        Settings(database_url=db_url, metrics_token="")


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.7", False),
        ("::ffff:10.0.0.7", False),
        ("testclient", False),
    ],
)
def test_loopback_addresses(host: str, local: bool) -> None:
    assert _loopback(host) is local
