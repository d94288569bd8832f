"""A real OpenID Provider for the tests: Node's oidc-provider (tests/oidc), started on a
loopback port, driven through its own login and consent pages.

Without Node.js or its packages (`npm ci --prefix tests/oidc`, which `make test` runs), the
tests that need it skip, saying why; SEATKEEPER_TEST_NODE=required (CI) fails them instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest

from tests.node_packages import skip_when_off, unavailable
from tests.waiting import PATIENCE, wait_until

HERE = Path(__file__).parent / "oidc"
USERS = {
    "ada": {"groups": ["seat-admins"]},
    "grace": {"groups": ["seat-designers"]},
    "alan": {"groups": ["agents"]},
    "agent-7": {"groups": ["agents"]},
}


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uri: str


class _Forms(HTMLParser):
    """The first form of a page: its action and its inputs' names and values."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = found.get("action") or ""
        elif tag == "input" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


@dataclass
class Provider:
    issuer: str

    def register(self, *, redirect_uri: str, back_channel_logout_uri: str | None = None) -> Client:
        """A client of the provider, registered as a web application would be."""
        metadata: dict[str, object] = {
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
        }
        if back_channel_logout_uri is not None:
            metadata["backchannel_logout_uri"] = back_channel_logout_uri
            metadata["backchannel_logout_session_required"] = True
        answer = httpx.post(f"{self.issuer}/reg", json=metadata, timeout=PATIENCE)
        assert answer.status_code == 201, answer.text
        made = answer.json()
        return Client(made["client_id"], made["client_secret"], redirect_uri)

    def sign_in(self, authorization_url: str, username: str, *, http: httpx.Client) -> str:
        """A person at the provider: logs in as `username` (if not already) and consents.
        Returns where the provider sends the browser back, not followed."""
        url = authorization_url
        for _ in range(20):
            answer = http.get(url)
            while answer.status_code == 200 and "<form" in answer.text:
                form = _Forms()
                form.feed(answer.text)
                fields = form.fields
                if "login" in fields:
                    fields.update(login=username, password="any")
                answer = http.post(urljoin(url, form.action or ""), data=fields)
            location = answer.headers.get("location")
            assert answer.is_redirect and location, answer.text[:500]
            url = urljoin(url, str(location))
            if not url.startswith(self.issuer):
                return url
        raise AssertionError("the provider kept redirecting")

    def id_token_for(self, client: Client, username: str, *, http: httpx.Client) -> str:
        """The whole code flow as an Agent Application would run it: its ID token."""
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        query = {
            "client_id": client.client_id,
            "response_type": "code",
            "redirect_uri": client.redirect_uri,
            "scope": "openid profile groups",
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": base64.urlsafe_b64encode(digest).decode().rstrip("="),
            "code_challenge_method": "S256",
        }
        back = self.sign_in(f"{self.issuer}/auth?{urlencode(query)}", username, http=http)
        code = parse_qs(urlsplit(back).query)["code"][0]
        tokens = httpx.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": client.redirect_uri,
                "code_verifier": verifier,
            },
            auth=(client.client_id, client.client_secret),
            timeout=PATIENCE,
        )
        assert tokens.status_code == 200, tokens.text
        token: str = tokens.json()["id_token"]
        return token

    def sign_out(self, *, http: httpx.Client) -> None:
        """The person signs out at the provider (RP-initiated logout, confirmed): the
        provider posts a logout token to each client they had signed in to."""
        answer = http.get(f"{self.issuer}/session/end")
        form = _Forms()
        form.feed(answer.text)
        fields = {**form.fields, "logout": "yes"}
        done = http.post(urljoin(f"{self.issuer}/session/end", form.action or ""), data=fields)
        assert done.status_code in (200, 303), done.text[:500]


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """The provider, for the whole run of the tests."""
    skip_when_off()
    node = shutil.which("node")
    if node is None:
        unavailable("Node.js is not installed: the real OpenID Provider cannot run")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        unavailable("the OpenID Provider's packages are missing: run `npm ci --prefix tests/oidc`")
    users = tmp_path_factory.mktemp("oidc") / "users.json"
    users.write_text(json.dumps(USERS))
    log = users.with_name("provider.log")
    with log.open("w") as errors:
        process = subprocess.Popen(
            [str(node), str(HERE / "provider.mjs")],
            env={**os.environ, "OIDC_USERS": str(users), "OIDC_PORT": "0"},
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if not first:
            raise AssertionError(f"the OpenID Provider did not start: {log.read_text()}")
        issuer = json.loads(first)["issuer"]

        def answers() -> bool:
            try:
                return httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, "the OpenID Provider to answer")
        yield Provider(issuer)
    finally:
        process.terminate()
        process.wait(timeout=PATIENCE)
