"""7. Named agents' opens: a password (argon2id, OWASP's parameters) against an ID token.

The same use case (`agents.open_session`, timed; then a logout, not timed, so that every
open takes a seat) with the same agents, one after another in this process: once proving
who the agent is with their password, once with an ID token from the account's OpenID
Provider (RS256, its keys fetched once and kept). The provider answers in this process
(httpx's MockTransport): what is measured is seatkeeper's own work, the signature check
included.
"""

from __future__ import annotations

import ipaddress
import time
from datetime import UTC, datetime, timedelta

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from bench.common import Context
from bench.report import Target, fmt
from seatkeeper.clock import SystemClock
from seatkeeper.domain.destinations import Policy
from seatkeeper.domain.model import Role
from seatkeeper.domain.sso import provider_settings
from seatkeeper.services import access, accounts, agents, sso, users
from seatkeeper.services.providers import Providers
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from seatkeeper.storage.schema import upgrade

NAME = "sso"
TITLE = "7. Named agents' session opens: password against ID token"
AGENTS = 50
ISSUER = "https://idp.example.com"
PASSWORD = "a long enough password 7"
RATIO_TARGET = 10.0
SQLITE_TARGET = 500.0


def run(ctx: Context) -> None:
    url = ctx.backend.fresh("sso")
    upgrade(url)
    db = Database(url)
    try:
        _measure(ctx, db)
    finally:
        db.dispose()


def _provider() -> tuple[RSAKey, sso.SingleSignOn]:
    key = RSAKey.generate_key(2048, parameters={"kid": "bench", "alg": "RS256", "use": "sig"})
    documents = {
        "/.well-known/openid-configuration": {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/auth",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks",
        },
        "/jwks": {"keys": [key.as_dict(private=False)]},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=documents[request.url.path])

    public = [ipaddress.ip_address("93.184.216.34")]
    providers = Providers(Policy(), lambda _h, _p: public, transport=httpx.MockTransport(answer))
    return key, sso.SingleSignOn(providers, sso.Sealer(None))


def _measure(ctx: Context, db: Database) -> None:
    clock = SystemClock()
    now = clock.now()
    passwords = Passwords()  # the production parameters
    accounts.create_account(
        db, access.OPERATOR, slug="bench", name="Bench", licenses=AGENTS,
        time_zone="UTC", session_timeout=timedelta(minutes=30), now=now,
    )  # fmt: skip
    names = [f"agent{n}" for n in range(AGENTS)]
    for name in names:
        users.add_user(
            db, passwords, access.OPERATOR, "bench", username=name, role=Role.AGENT,
            password=PASSWORD, now=now,
        )  # fmt: skip
    key, single = _provider()
    settings = provider_settings(issuer=ISSUER, client_id="bench", display_name="Bench ID")
    sso.set_provider(db, single, access.OPERATOR, "bench", settings, client_secret="x", now=now)
    app_key = accounts.create_application_key(
        db, access.OPERATOR, account_slug="bench", name="bench", now=now
    )
    exp = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    tokens = {
        name: jwt.encode(
            {"alg": "RS256", "kid": "bench"},
            {
                "iss": ISSUER,
                "aud": "bench",
                "sub": name,
                "preferred_username": name,
                "iat": int(time.time()),
                "exp": exp,
            },
            key,
        )
        for name in names
    }

    def open_and_leave(
        identify: agents.Identify | None, credentials: tuple[str, str] | None
    ) -> float:
        """Seconds the open took (the logout that frees the seat again is not counted)."""
        started = time.perf_counter()
        opened = agents.open_session(
            db, passwords, application_key=app_key, credentials=credentials, clock=clock,
            identify=identify,
        )  # fmt: skip
        took = time.perf_counter() - started
        agents.logout(db, token=opened.token, session_id=str(opened.session.id), clock=clock)
        return took

    def by_token(name: str) -> agents.Identify:
        return lambda account: sso.user_for_id_token(
            db, single, account, tokens[name], now=clock.now()
        )

    def with_password(name: str) -> float:
        return open_and_leave(None, (name, PASSWORD))

    def with_token(name: str) -> float:
        return open_and_leave(by_token(name), None)

    rates = {}
    for label, one in (("password (argon2id)", with_password), ("ID token (RS256)", with_token)):
        one(names[0])  # warm: the provider's keys are fetched here, once
        rates[label] = AGENTS / sum(one(name) for name in names)
    table = ctx.table(TITLE, ("way in", "opens", "opens/s", "ms per open", "ratio"))
    base = rates["password (argon2id)"]
    for label, rate in rates.items():
        table.add(label, str(AGENTS), fmt(rate, 0), fmt(1000 / rate, 1), f"{rate / base:.1f}x")
    token_rate = rates["ID token (RS256)"]
    ctx.report.target(
        Target(
            ctx.backend.label,
            TITLE,
            "ID token / password",
            f">= {RATIO_TARGET:.0f}x",
            f"{token_rate / base:.1f}x",
            token_rate / base >= RATIO_TARGET,
        )
    )
    if ctx.backend.name == "sqlite":
        ctx.report.target(
            Target(
                ctx.backend.label,
                TITLE,
                "ID-token opens/s",
                f"> {SQLITE_TARGET:.0f}/s",
                f"{token_rate:.0f}/s",
                token_rate > SQLITE_TARGET,
            )
        )
