"""X-Forwarded-For against a real `seatkeeper serve`: believed only from the proxies the
operator names, and never to make /metrics answer."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from seatkeeper.domain import throttle
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import login_failures
from tests.conftest import PASSWORD, World
from tests.servers import server_process, wait_until_up
from tests.waiting import PATIENCE

LOOPBACK = "127.0.0.1"


def outside_address() -> str | None:
    """This machine's address on a network (not loopback), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # no packet leaves: only the route is looked up
        except OSError:
            return None
        host: str = probe.getsockname()[0]
    return None if host.startswith("127.") or host == "0.0.0.0" else host


@contextmanager
def serving(db_url: str, tmp_path: Path, proxies: str) -> Iterator[int]:
    """`seatkeeper serve` on every interface, naming `proxies`; yields its port."""
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))  # loopback and the outside address alike
        listener.listen(64)
        port = listener.getsockname()[1]
        env = {"SEATKEEPER_FORWARDED_ALLOW_IPS": proxies}
        with server_process(db_url, listener, tmp_path / "server-0.log", env=env) as proc:
            wait_until_up(f"http://{LOOPBACK}:{port}", proc, tmp_path)
            yield port


@pytest.mark.parametrize("named", [False, True])
def test_a_forged_forwarded_for_never_makes_metrics_answer(
    db_url: str, world: World, tmp_path: Path, named: bool
) -> None:
    outside = outside_address()
    if outside is None:
        pytest.skip("this machine has no address but loopback")
    # The client from outside is a named proxy, or not; the one on loopback is named too.
    proxies = f"{outside},{LOOPBACK}" if named else ""
    with serving(db_url, tmp_path, proxies) as port:
        local, remote = f"http://{LOOPBACK}:{port}", f"http://{outside}:{port}"
        assert httpx.get(f"{local}/metrics", timeout=PATIENCE).status_code == 200
        for forged in ("127.0.0.1", "::1", "127.0.0.1, 127.0.0.1"):
            answer = httpx.get(
                f"{remote}/metrics", headers={"X-Forwarded-For": forged}, timeout=PATIENCE
            )
            assert answer.status_code == 403, (forged, answer.text)
            assert answer.json()["error"]["code"] == "not_allowed"
        # A request a proxy on this machine forwarded from elsewhere is not local either.
        relayed = httpx.get(
            f"{local}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=PATIENCE
        )
        assert relayed.status_code == (403 if named else 200)


def log_in(client: httpx.Client, username: str, password: str, forwarded: str) -> int:
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None, form
    data = {"account": "acme", "username": username, "password": password}
    answer = client.post(
        "/login",
        data={**data, "csrf_token": token.group(1)},
        headers={"X-Forwarded-For": forwarded},
    )
    client.cookies.delete("seatkeeper_login")
    return answer.status_code


@pytest.mark.parametrize("named", [False, True])
def test_a_named_proxys_forwarded_for_is_throttled_and_an_unnamed_ones_is_ignored(
    db_url: str, db: Database, world: World, tmp_path: Path, named: bool
) -> None:
    with (
        serving(db_url, tmp_path, LOOPBACK if named else "") as port,
        httpx.Client(base_url=f"http://{LOOPBACK}:{port}", timeout=PATIENCE) as client,
    ):
        for n in range(throttle.FROM_ADDRESS):
            assert log_in(client, f"guess-{n}", "wrong", "203.0.113.7") == 303
        assert log_in(client, "admin", PASSWORD, "203.0.113.7") == 429
        # Another client of the proxy: a client of its own when the proxy is named; when
        # not, the same address as every other (the proxy's), which is paused.
        assert log_in(client, "admin", PASSWORD, "203.0.113.8") == (303 if named else 429)
    with db.read() as conn:
        sources = set(conn.execute(select(login_failures.c.source)).scalars())
    assert sources == ({"203.0.113.7"} if named else {LOOPBACK})
