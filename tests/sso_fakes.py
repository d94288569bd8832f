"""A fake OpenID Provider for tests: single sign-on that reaches only a mock transport.

`FakeProvider().sso` answers the discovery document of https://idp.example.com and 404 for
anything else (every host resolves to one public address, so the policy lets it through);
`use(app, fake)` puts it in an app's runtime. Every request it saw is in `requests`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from datetime import datetime
from typing import Any

import httpx
from litestar import Litestar

from seatkeeper.domain import sso as rules
from seatkeeper.domain.destinations import Policy
from seatkeeper.services import sso
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.providers import Providers
from seatkeeper.services.sso import Sealer, SingleSignOn
from seatkeeper.storage.db import Database

ISSUER = "https://idp.example.com"
PUBLIC_ADDRESS = ipaddress.ip_address("93.184.216.34")
SECRET_KEY = "a secret key of the tests"
CLIENT_SECRET = "s3cr3t-Of-The-Client-9f8e7d"


def discovery(issuer: str = ISSUER) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
    }


class FakeProvider:
    """The provider at ISSUER; `documents` maps more hosts to the discovery document they
    answer (another issuer's, to test a mismatch)."""

    def __init__(self, *, secret_key: str | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.documents: dict[str, dict[str, Any]] = {"idp.example.com": discovery()}
        policy = Policy((), allow_http=False)
        providers = Providers(
            policy,
            resolve=lambda host, port: [PUBLIC_ADDRESS],
            transport=httpx.MockTransport(self._answer),
        )
        self.sso = SingleSignOn(providers, Sealer(secret_key))

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        host = request.headers.get("host", "")
        document = self.documents.get(host)
        if request.url.path != "/.well-known/openid-configuration" or document is None:
            return httpx.Response(404, json={"error": "not found"})
        return httpx.Response(200, json=document)


def use(app: Litestar, fake: FakeProvider) -> None:
    """The app's single sign-on is the fake's (before the app starts)."""
    app.state.runtime = dataclasses.replace(app.state.runtime, sso=fake.sso)


def provider_body(**changes: Any) -> dict[str, Any]:
    """A valid body for PUT /api/v1/accounts/{account}/sso."""
    body: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": "seatkeeper-acme",
        "display_name": "Acme Okta",
        "roles_claim": "groups",
        "role_map": {"support-admins": "account_admin", "designers": "designer"},
        "default_role": "agent",
        "passwords_allowed": True,
        "audiences": ["agent-app"],
        "client_secret": CLIENT_SECRET,
    }
    return {**body, **changes}


def keep_provider(db: Database, fake: FakeProvider, *, now: datetime, slug: str = "acme") -> None:
    """The account's provider (provider_body's), set unless it has one."""
    if sso.provider(db, OPERATOR, slug) is not None:
        return
    body = provider_body()
    secret = body.pop("client_secret")
    settings = rules.provider_settings(**body)
    sso.set_provider(db, fake.sso, OPERATOR, slug, settings, client_secret=secret, now=now)
