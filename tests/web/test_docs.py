"""The OpenAPI document and the /docs page, which must work with no internet."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import TestClient

Client = TestClient[Litestar]


def test_docs_page_loads_only_local_assets(client: Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) >= 3
    for asset in assets:
        assert asset.startswith("/"), asset  # nothing from a CDN
        assert client.get(asset).status_code == 200, asset
    assert "<script>" not in page.text  # no inline script


def test_openapi_documents_the_contract(client: Client) -> None:
    spec = client.get("/docs/openapi.json").json()
    paths = spec["paths"]
    assert set(paths) >= {
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}/heartbeat",
        "/api/v1/sessions/{session_id}/interactions",
        "/api/v1/sessions/{session_id}/interactions/{interaction_id}/steps",
        "/api/v1/sessions/{session_id}/interactions/{interaction_id}",
        "/api/v1/sessions/{session_id}",
        "/api/v1/accounts/{account}/active-sessions",
        "/api/v1/accounts/{account}/active-sessions/terminate",
        "/api/v1/accounts/{account}/usage",
    }
    open_session = paths["/api/v1/sessions"]["post"]
    assert set(open_session["responses"]) >= {"200", "201", "400", "401", "403", "409"}
    assert "license_limit_reached" in open_session["responses"]["409"]["description"]
    step = paths["/api/v1/sessions/{session_id}/interactions/{interaction_id}/steps"]["post"]
    assert "session_terminated" in step["responses"]["410"]["description"]
    assert open_session["security"] == [{"ApplicationKey": []}]
    beat = paths["/api/v1/sessions/{session_id}/heartbeat"]["post"]["responses"]
    assert beat["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Heartbeat"
    }
    assert spec["components"]["schemas"]["Heartbeat"]["required"] == ["expires_at", "session_id"]
    assert "session_terminated" in beat["410"]["description"]
    assert set(spec["components"]["securitySchemes"]) == {
        "ApplicationKey",
        "SessionToken",
        "AdminToken",
        "MetricsToken",
        "WaitTicket",
    }


def test_every_call_for_a_session_documents_each_way_it_can_have_ended(client: Client) -> None:
    paths = client.get("/docs/openapi.json").json()["paths"]
    calls = [
        (path, method, operation)
        for path, operations in paths.items()
        if path.startswith("/api/v1/sessions/{session_id}")
        for method, operation in operations.items()
    ]
    assert len(calls) == 6  # heartbeat, state, logout, open, step and close an Interaction
    for path, method, operation in calls:
        ended = operation["responses"]["410"]["description"]
        for code in ("session_terminated", "session_expired", "user_disabled"):
            assert code in ended, (method, path, code)


def test_bodies_that_refuse_unknown_fields_say_so(client: Client) -> None:
    schemas = client.get("/docs/openapi.json").json()["components"]["schemas"]
    for strict in ("TerminateRequest", "OpenSessionRequest", "NewUser", "SettingsChange"):
        assert schemas[strict]["additionalProperties"] is False, strict
    for answer in ("ActiveSessions", "Usage", "SessionOpened"):
        assert "additionalProperties" not in schemas[answer], answer
