"""An OpenID Provider inside the test process, reached through httpx's MockTransport: it
publishes a discovery document and its keys, issues codes and tokens the way a provider
does (PKCE checked, each code once), and mints any token a test needs, good or hostile.

The real provider (tests/oidc, Node's oidc-provider) proves seatkeeper works with one;
this one lets a test say exactly what a token holds, and take the provider down.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar

from seatkeeper.clock import Clock
from seatkeeper.domain.destinations import Policy
from seatkeeper.domain.sso import provider_settings
from seatkeeper.services import sso
from seatkeeper.services.access import OPERATOR
from seatkeeper.services.providers import Providers
from seatkeeper.storage.db import Database

PUBLIC_ADDRESS = ipaddress.ip_address("93.184.216.34")
CLIENT_ID = "seatkeeper-acme"
CLIENT_SECRET = "s3cret-of-the-client"


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class FakeProvider:
    """One provider at `issuer`; `up` False makes every request to it fail to connect."""

    clock: Clock
    issuer: str = "https://idp.example.com"
    keys: list[RSAKey] = field(default_factory=lambda: [new_key("key-1")])
    up: bool = True
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)  # paths asked, in order

    @property
    def key(self) -> RSAKey:
        return self.keys[-1]

    def rotate(self, kid: str) -> None:
        """Sign from now on with a new key, published beside the old one."""
        self.keys.append(new_key(kid))

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        self.requests.append(path)
        if path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/jwks",
                    "end_session_endpoint": f"{self.issuer}/logout",
                },
            )
        if path == "/jwks":
            return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in self.keys]})
        if path == "/token" and request.method == "POST":
            return self._token(request)
        return httpx.Response(404)

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
        return httpx.Response(
            200, json={"access_token": "a", "token_type": "Bearer", "id_token": grant["id_token"]}
        )

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

    def single_sign_on(self) -> sso.SingleSignOn:
        """seatkeeper's single sign-on, reaching this provider (at a public address)."""
        providers = Providers(
            Policy(),
            lambda _host, _port: [PUBLIC_ADDRESS],
            transport=httpx.MockTransport(self.handle),
        )
        return sso.SingleSignOn(providers, sso.Sealer(None))


def connect(app: Litestar, provider: FakeProvider) -> sso.SingleSignOn:
    """Make the app reach `provider` for single sign-on."""
    app.state.runtime = dataclasses.replace(app.state.runtime, sso=provider.single_sign_on())
    runtime_sso: sso.SingleSignOn = app.state.runtime.sso
    return runtime_sso


def configure(
    db: Database,
    single_sign_on: sso.SingleSignOn,
    provider: FakeProvider,
    *,
    slug: str = "acme",
    now: datetime,
    **options: Any,
) -> None:
    """Give the account `provider`, groups mapped to roles."""
    settings = provider_settings(
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        display_name="Acme ID",
        roles_claim="groups",
        role_map={"seat-admins": "account_admin", "seat-designers": "designer"},
        **options,
    )
    sso.set_provider(
        db, single_sign_on, OPERATOR, slug, settings, client_secret=CLIENT_SECRET, now=now
    )
