"""Talking to OpenID Providers: discovery, signing keys, the code exchange, ID tokens.

OAuth 2.0's messages are Authlib's (the authorization URL, PKCE, the token request); JOSE is
joserfc's (signatures, claims). seatkeeper adds what a tenant's provider must not be
able to do: every request goes only where the operator lets outbound requests go
(public addresses, unless a network is allowed), checked again at every connection, with
no redirect followed; and only asymmetric signatures from the provider's published keys
are accepted (never `none`, never HMAC).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from seatkeeper.domain.destinations import Policy
from seatkeeper.domain.errors import InvalidInput, ProviderUnavailable, SignInRefused
from seatkeeper.domain.sso import ProviderSettings
from seatkeeper.services.outbound import CheckedTransport, Resolve

TIMEOUT_SECONDS = 5.0
METADATA_SECONDS = 3600.0  # a discovery document is read again after an hour
KEYS_SECONDS = 3600.0  # and the signing keys too, or at once when a new key id appears
KEYS_AT_MOST_EVERY = 1.0  # an unknown key id fetches the keys once a second at most
LEEWAY_SECONDS = 60  # clocks of the provider and of seatkeeper may differ this much
LONGEST_TOKEN = 16_384
LONGEST_DOCUMENT = 1_000_000  # bytes of a discovery document or a key set
SIGNATURES = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
BACK_CHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """What a provider's discovery document says seatkeeper needs."""

    authorization: str
    token: str
    jwks: str
    end_session: str | None


class Providers:
    """The OpenID Providers this instance talks to, with their documents and keys cached
    (per issuer, shared by the accounts that use the same provider)."""

    def __init__(
        self,
        policy: Policy,
        resolve: Resolve,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        inner = transport or httpx.HTTPTransport()
        self._transport = CheckedTransport(policy, resolve, inner, what="provider")
        self._lock = threading.Lock()
        self._endpoints: dict[str, tuple[float, Endpoints]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}
        self._unknown: dict[str, float] = {}  # when an unknown key id last fetched the keys

    def _client(self) -> httpx.Client:
        return httpx.Client(
            transport=self._transport,
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
            trust_env=False,
        )

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            with self._client() as http:
                answer = http.get(url, headers={"Accept": "application/json"})
        except InvalidInput as exc:  # the policy refused the address
            raise ProviderUnavailable(f"The provider's {what} is refused: {exc.message}") from None
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"The provider could not be reached for its {what} ({type(exc).__name__}): "
                "try again in a moment, or ask an administrator to check single sign-on."
            ) from None
        if answer.status_code != 200 or len(answer.content) > LONGEST_DOCUMENT:
            raise ProviderUnavailable(
                f"The provider answered {answer.status_code} for its {what}: try again in a "
                "moment, or ask an administrator to check single sign-on."
            )
        try:
            found = answer.json()
        except ValueError:
            found = None
        if not isinstance(found, dict):
            raise ProviderUnavailable(f"The provider's {what} is not a JSON object.")
        return found

    def endpoints(self, issuer: str, *, fresh: bool = False) -> Endpoints:
        """The provider's endpoints, from its discovery document (cached)."""
        with self._lock:
            kept = self._endpoints.get(issuer)
        if kept is not None and not fresh and time.monotonic() - kept[0] < METADATA_SECONDS:
            return kept[1]
        document = self._get_json(
            f"{issuer}/.well-known/openid-configuration", "discovery document"
        )
        if document.get("issuer") != issuer:
            raise ProviderUnavailable(
                f"The provider's discovery document names the issuer {document.get('issuer')!r}, "
                f"not {issuer!r}: the issuer URL must be exactly the provider's."
            )
        urls = [document.get(k) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")]
        if not all(isinstance(u, str) and u for u in urls):
            raise ProviderUnavailable(
                "The provider's discovery document lacks an authorization, token or keys endpoint."
            )
        end_session = document.get("end_session_endpoint")
        found = Endpoints(
            authorization=str(urls[0]),
            token=str(urls[1]),
            jwks=str(urls[2]),
            end_session=end_session if isinstance(end_session, str) else None,
        )
        with self._lock:
            self._endpoints[issuer] = (time.monotonic(), found)
        return found

    def _key_set(self, issuer: str, kid: str | None) -> KeySet:
        """The provider's signing keys; fetched again at once when `kid` is not among them
        (a rotation), but not more than once a second for unknown ids, so that made-up
        ones cannot flood the provider."""
        now = time.monotonic()
        with self._lock:
            kept = self._keys.get(issuer)
            if kept is not None and now - kept[0] < KEYS_SECONDS:
                if kid is None or any(k.kid == kid for k in kept[1].keys):
                    return kept[1]
                if now - self._unknown.get(issuer, -KEYS_AT_MOST_EVERY) < KEYS_AT_MOST_EVERY:
                    return kept[1]
                self._unknown[issuer] = now
        document = self._get_json(self.endpoints(issuer).jwks, "signing keys")
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise ProviderUnavailable("The provider's signing keys cannot be read.") from None
        with self._lock:
            self._keys[issuer] = (time.monotonic(), keys)
        return keys

    def authorization_url(
        self,
        provider: ProviderSettings,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_verifier: str,
    ) -> str:
        """Where to send the browser: the provider's authorization endpoint, asking for a
        code (PKCE S256), with the state and nonce the answer must carry back."""
        return str(
            prepare_grant_uri(
                self.endpoints(provider.issuer).authorization,
                provider.client_id,
                "code",
                redirect_uri=redirect_uri,
                scope=provider.scopes,
                state=state,
                nonce=nonce,
                code_challenge=create_s256_code_challenge(code_verifier),
                code_challenge_method="S256",
            )
        )

    def exchange(
        self,
        provider: ProviderSettings,
        client_secret: str,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str,
    ) -> str:
        """The ID token the provider gives for an authorization code (used once), asked
        with the client's secret (HTTP Basic, form-encoded as RFC 6749 says)."""
        endpoint = self.endpoints(provider.issuer).token
        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
        )
        auth = httpx.BasicAuth(quote(provider.client_id, safe=""), quote(client_secret, safe=""))
        try:
            with self._client() as http:
                answer = http.post(
                    endpoint,
                    content=body,
                    auth=auth,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Accept": "application/json",
                    },
                )
                token = answer.json()
        except InvalidInput as exc:
            raise ProviderUnavailable(
                f"The provider's token endpoint is refused: {exc.message}"
            ) from None
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(
                f"The provider could not be reached to finish the sign-in ({type(exc).__name__})."
            ) from None
        if not isinstance(token, dict):
            raise ProviderUnavailable("The provider's token endpoint answered no JSON object.")
        if answer.status_code != 200:
            error = str(token.get("error", answer.status_code))[:60]
            raise SignInRefused(f"The provider refused the sign-in ({error}): start again.")
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("The provider answered without an ID token (scope openid).")
        return id_token

    def verify(
        self,
        provider: ProviderSettings,
        token: str,
        *,
        audiences: tuple[str, ...],
        now: datetime,
        nonce: str | None = None,
        logout: bool = False,
    ) -> Mapping[str, Any]:
        """The claims of an ID token (or a back-channel logout token) the provider signed
        for one of `audiences`, checked as OpenID Connect requires; else SignInRefused."""
        if len(token) > LONGEST_TOKEN:
            raise SignInRefused("The token is too long to be one.")
        try:
            header = extract_compact(token.encode()).protected
        except (JoseError, ValueError, TypeError):
            raise SignInRefused("The token cannot be read as a signed JWT.") from None
        algorithm = header.get("alg")
        if algorithm not in SIGNATURES:
            raise SignInRefused(
                f"The token's signature algorithm {str(algorithm)[:20]!r} is not accepted: "
                "only the provider's public-key signatures are."
            )
        kid = header.get("kid")
        keys = self._key_set(provider.issuer, kid if isinstance(kid, str) else None)
        try:
            claims = jwt.decode(token, keys, algorithms=[algorithm]).claims
        except (JoseError, ValueError, TypeError):
            raise SignInRefused("The token's signature is not the provider's.") from None
        _check_claims(provider, claims, audiences=audiences, now=now, nonce=nonce, logout=logout)
        return claims


def _check_claims(
    provider: ProviderSettings,
    claims: dict[str, Any],
    *,
    audiences: tuple[str, ...],
    now: datetime,
    nonce: str | None,
    logout: bool,
) -> None:
    at = int(now.timestamp())
    rules: dict[str, Any] = {
        "iss": {"essential": True, "value": provider.issuer},
        "aud": {"essential": True, "values": list(audiences)},
        "iat": {"essential": True},
    }
    if not logout:
        rules["exp"] = {"essential": True}
        rules["sub"] = {"essential": True}
    try:
        jwt.JWTClaimsRegistry(now=at, leeway=LEEWAY_SECONDS, **rules).validate(claims)
    except JoseError as exc:
        raise SignInRefused(_claim_problem(exc)) from None
    iat = claims["iat"]
    if not isinstance(iat, int | float) or iat > at + LEEWAY_SECONDS:
        raise SignInRefused("The token was issued in the future: check the provider's clock.")
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") not in audiences:
        raise SignInRefused("The token was issued to another application (azp).")
    if logout:
        events = claims.get("events")
        if not isinstance(events, dict) or BACK_CHANNEL_EVENT not in events:
            raise SignInRefused("The logout token does not carry the back-channel logout event.")
        if "nonce" in claims or not isinstance(claims.get("jti"), str):
            raise SignInRefused("A logout token has a jti and no nonce.")
        if not isinstance(claims.get("sub"), str) and not isinstance(claims.get("sid"), str):
            raise SignInRefused("The logout token names neither a user (sub) nor a session (sid).")
    elif nonce is not None and claims.get("nonce") != nonce:
        raise SignInRefused("The token's nonce is not this sign-in's: start again.")


def _claim_problem(exc: JoseError) -> str:
    claim = getattr(exc, "claim", None) or str(exc)
    if exc.error == "expired_token":
        return "The token has expired: sign in again."
    if "aud" in claim:
        return "The token was issued to another application (aud)."
    if "iss" in claim:
        return "The token was issued by another provider (iss)."
    return f"The token's claims are not valid ({claim[:60]})."
