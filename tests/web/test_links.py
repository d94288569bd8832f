"""One-time links to set a password: made from the configured public address (never from
a request's Host header), and their token never reaches a log, the server's access log
included (it travels in the link's fragment, and then in a form's body)."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.config import Settings
from seatkeeper.storage.db import Database
from seatkeeper.web.app import create_app
from tests.conftest import World, bearer
from tests.servers import server_process, wait_until_up
from tests.waiting import PATIENCE
from tests.web.api.test_users import NEW_PASSWORD, link_token, spend_link
from tests.web.pages.test_pages import form_token, log_in

Client = TestClient[Litestar]
HOSTILE_HOST = "evil.example"
PUBLIC = "https://seats.example.com"


def create_with_link(client: Client, world: World, **headers: str) -> Any:
    made = client.post(
        "/api/v1/accounts/acme/users",
        json={"username": "erin", "role": "agent"},
        headers={**bearer(world.admin_token), **headers},
    )
    assert made.status_code == 201, made.text
    return made.json()["set_password_url"]


def test_without_a_public_url_a_link_is_a_path_whatever_the_host_header(
    client: Client, world: World
) -> None:
    url = create_with_link(client, world, Host=HOSTILE_HOST, **{"X-Forwarded-Host": HOSTILE_HOST})
    assert re.fullmatch(r"/set-password#sk_pw_[\w-]+", url), url
    assert spend_link(client, link_token(url), NEW_PASSWORD).status_code == 303

    log_in(client, "admin")
    token = form_token(client.get("/accounts/acme/users").text)
    page = client.post(
        "/accounts/acme/users",
        data={"username": "fred", "role": "agent", "csrf_token": token},
        headers={"Host": HOSTILE_HOST},
    )
    assert page.status_code == 200, page.text
    shown = re.search(r'data-testid="password-link" aria-label="One-time link"', page.text)
    assert shown and HOSTILE_HOST not in page.text
    assert re.search(r'value="/set-password#sk_pw_[\w-]+"', page.text)
    assert 'data-testid="password-link-relative"' in page.text


def test_a_link_starts_with_the_public_url_whatever_the_host_header(
    settings: Settings, clock: FrozenClock, db: Database, world: World
) -> None:
    app = create_app(
        settings.model_copy(update={"public_url": PUBLIC + "/"}), clock=clock, database=db
    )
    with TestClient(app) as client:
        url = create_with_link(client, world, Host=HOSTILE_HOST)
        assert re.fullmatch(rf"{re.escape(PUBLIC)}/set-password#sk_pw_[\w-]+", url), url


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "https://user:pw@seats.example.com",
        "https://seats.example.com/?next=x",
        "https://seats.example.com/#x",
        "seats.example.com",
        "https://",
        "https://seats.example.com/\x00",
    ],
)
def test_a_public_url_that_is_not_a_server_address_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="must be the server's http"):
        Settings(public_url=value)


def test_a_link_used_on_a_real_server_leaves_its_token_in_no_log(
    db_url: str, world: World, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    env = {"SEATKEEPER_LOG_LEVEL": "info", "SEATKEEPER_PUBLIC_URL": PUBLIC}
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        server = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with server_process(db_url, listener, log, env=env) as proc:
            wait_until_up(server, proc, tmp_path)
            with httpx.Client(base_url=server, timeout=PATIENCE) as http:
                made = http.post(
                    "/api/v1/accounts/acme/users",
                    json={"username": "erin", "role": "agent"},
                    headers={**bearer(world.admin_token), "Host": HOSTILE_HOST},
                )
                assert made.status_code == 201, made.text
                link = made.json()["set_password_url"]
                assert link.startswith(f"{PUBLIC}/set-password#sk_pw_"), link
                token = link.split("#", 1)[1]
                # A browser opens the link on this server: the fragment stays in the browser.
                opened = http.get(server + link.removeprefix(PUBLIC))
                assert opened.status_code == 200, opened.text
                form = {"token": token, "csrf_token": form_token(opened.text)}
                refused = http.post(
                    "/set-password",
                    data={**form, "password": NEW_PASSWORD, "confirm": "not the same one"},
                )
                assert refused.status_code == 400, refused.text
                done = http.post(
                    "/set-password",
                    data={**form, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                )
                assert done.status_code == 303, done.text
                assert done.headers["location"] == "/login?account=acme&username=erin"
                # What a token in an address would leave behind: the log does keep addresses.
                assert http.get("/healthz?probe=in-the-address").status_code == 200
                # A link of the old form (or one mangled): its token is redacted all the same.
                old = "sk_pw_" + "x" * 43
                assert http.get(f"/set-password/{old}?again={old}").status_code == 404
    logged = log.read_text()
    assert '"POST /set-password HTTP/1.1" 303' in logged, logged
    assert "/healthz?probe=in-the-address" in logged, logged
    assert token not in logged
    assert old not in logged and "/set-password/sk_pw_[redacted]" in logged, logged
    assert token.removeprefix("sk_pw_")[:16] not in logged
