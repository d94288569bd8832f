"""An OpenID Provider inside the test process, reached through httpx's MockTransport: it
publishes a discovery document and its keys, issues codes and tokens the way a provider
does (PKCE checked, each code once), and mints any token a test needs, good or hostile.

`FakeProvider(...).sso` is single sign-on that reaches only it (every host resolves to one
public address, so the policy lets it through); the tests' app uses one (tests/conftest.py).
The real provider (tests/oidc, Node's oidc-provider) proves seatkeeper works with one;
this one lets a test say exactly what a token holds, and take the provider down.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import ipaddress
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar

from seatkeeper.clock import Clock, SystemClock
from seatkeeper.domain import sso as rules
from seatkeeper.domain.destinations import Policy
from seatkeeper.services import sso
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.providers import Providers
from seatkeeper.storage.db import Database

ISSUER = "https://idp.example.com"
PUBLIC_ADDRESS = ipaddress.ip_address("93.184.216.34")
SECRET_KEY = "a secret key of the tests"
CLIENT_ID = "seatkeeper-acme"
CLIENT_SECRET = "s3cr3t-Of-The-Client-9f8e7d"


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@functools.cache
def _first_key() -> RSAKey:
    """The key every fake provider starts with (made once: an RSA key takes a while)."""
    return new_key("key-1")


def discovery(issuer: str = ISSUER) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "end_session_endpoint": f"{issuer}/logout",
    }


class FakeProvider:
    """The provider at `issuer`. `documents` maps hosts to the discovery document they
    answer (another issuer's, to test a mismatch; none, to answer 404); `up` False makes
    every request fail to connect; `requests` is every request it saw."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        issuer: str = ISSUER,
        secret_key: str | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.issuer = issuer
        self.keys = [_first_key()]
        self.up = True
        self.codes: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        self.documents = {urlsplit(issuer).netloc: discovery(issuer)}
        transport = httpx.MockTransport(self._answer)
        providers = Providers(Policy(), lambda _host, _port: [PUBLIC_ADDRESS], transport=transport)
        self.sso = sso.SingleSignOn(providers, sso.Sealer(secret_key))

    @property
    def key(self) -> RSAKey:
        return self.keys[-1]

    def rotate(self, kid: str) -> None:
        """Sign from now on with a new key, published beside the old one."""
        self.keys.append(new_key(kid))

    def paths(self) -> list[str]:
        """The paths asked, in order."""
        return [r.url.path for r in self.requests]

    def _answer(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        self.requests.append(request)
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            document = self.documents.get(request.headers.get("host", ""))
            if document is None:
                return httpx.Response(404, json={"error": "not found"})
            return httpx.Response(200, json=document)
        if path == "/jwks":
            return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in self.keys]})
        if path == "/token" and request.method == "POST":
            return self._token(request)
        return httpx.Response(404, json={"error": "not found"})

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return httpx.Response(401, json={"error": "invalid_client"})
        grant = self.codes.pop(form.get("code", ""), None)  # a code serves once
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return httpx.Response(400, json={"error": "invalid_grant"})
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        if challenge != grant["code_challenge"]:
            return httpx.Response(400, json={"error": "invalid_grant"})
        tokens = {"access_token": "a", "token_type": "Bearer", "id_token": grant["id_token"]}
        return httpx.Response(200, json=tokens)

    def id_token(
        self,
        username: str,
        *,
        audience: str | list[str] = CLIENT_ID,
        nonce: str | None = None,
        issued: datetime | None = None,
        lifetime: timedelta = timedelta(minutes=10),
        key: RSAKey | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """An ID token as the provider would sign it (anything a test overrides aside)."""
        at = issued or self.clock.now()
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"sub-{username}",
            "aud": audience,
            "iat": int(at.timestamp()),
            "exp": int((at + lifetime).timestamp()),
            "preferred_username": username,
            "sid": f"sid-{username}",
        }
        if nonce is not None:
            body["nonce"] = nonce
        body.update(claims or {})
        signer = key or self.key
        return jwt.encode({"alg": "RS256", "kid": signer.kid}, body, signer)

    def logout_token(self, username: str, **claims: Any) -> str:
        """A back-channel logout token for the user (a claim given None is left out)."""
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": int(self.clock.now().timestamp()),
            "exp": int((self.clock.now() + timedelta(minutes=2)).timestamp()),
            "jti": secrets.token_hex(8),
            "sub": f"sub-{username}",
            "sid": f"sid-{username}",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, body, self.key)

    def approve(self, authorization_url: str, username: str, **claims: Any) -> tuple[str, str]:
        """The user signs in at the provider: the code and state it sends back."""
        asked = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        assert asked["code_challenge_method"] == "S256" and asked["client_id"] == CLIENT_ID
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "redirect_uri": asked["redirect_uri"],
            "code_challenge": asked["code_challenge"],
            "id_token": self.id_token(username, nonce=asked["nonce"], claims=claims),
        }
        return code, asked["state"]


def use(app: Litestar, fake: FakeProvider) -> None:
    """The app's single sign-on is the fake's."""
    app.state.runtime = dataclasses.replace(app.state.runtime, sso=fake.sso)


def provider_body(**changes: Any) -> dict[str, Any]:
    """A valid body for PUT /api/v1/accounts/{account}/sso."""
    body: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "display_name": "Acme Okta",
        "roles_claim": "groups",
        "role_map": {"support-admins": "account_admin", "designers": "designer"},
        "default_role": "agent",
        "passwords_allowed": True,
        "audiences": ["agent-app"],
        "client_secret": CLIENT_SECRET,
    }
    return {**body, **changes}


def keep_provider(
    db: Database, fake: FakeProvider, *, now: datetime, slug: str = "acme", **changes: Any
) -> None:
    """The account's provider (provider_body's, with `changes`), set unless it has one."""
    if sso.provider(db, OPERATOR, slug) is not None:
        return
    body = provider_body(**changes)
    secret = body.pop("client_secret")
    settings = rules.provider_settings(**body)
    sso.set_provider(db, fake.sso, OPERATOR, slug, settings, client_secret=secret, now=now)
