"""Real seatkeeper server processes for tests that need them (races, browsers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import uvicorn
from litestar import Litestar

from tests.waiting import PATIENCE, wait_until

SERVER_ENV = {
    "SEATKEEPER_FAST_PASSWORD_HASHING": "true",
    "SEATKEEPER_LOG_LEVEL": "warning",
    # Races log dozens of agents in at once: none is to be told the server is busy.
    "SEATKEEPER_LOGIN_QUEUE": "200",
    # and every agent of a race opens from this one address: no pace between their opens.
    "SEATKEEPER_OPENS_PER_MINUTE": "0",
}


@contextmanager
def running_servers(database_url: str, count: int, log_dir: Path) -> Iterator[list[str]]:
    """Start `count` server processes on one database; yields their base URLs.

    Each process is handed a socket this test bound and listens on already, so no
    other test (or server) can take its port in between.
    """
    with ExitStack() as stack:
        procs, urls = [], []
        for n in range(count):
            listener = stack.enter_context(socket.socket())
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            log = log_dir / f"server-{n}.log"
            procs.append(stack.enter_context(server_process(database_url, listener, log)))
            urls.append(f"http://127.0.0.1:{listener.getsockname()[1]}")
        for url, proc in zip(urls, procs, strict=True):
            wait_until_up(url, proc, log_dir)
        yield urls


@contextmanager
def server_process(
    database_url: str,
    listener: socket.socket,
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """One server process serving on `listener` (bound and listening already), its output
    in `log`, `env` added to its environment; stopped on leaving, unless it is gone
    already (a test may have killed it). Not waited for: see `wait_until_up`."""
    fd = listener.fileno()
    command = [
        sys.executable,
        "-m",
        "seatkeeper",
        "--database-url",
        database_url,
        "serve",
        "--fd",
        str(fd),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            env={**os.environ, **SERVER_ENV, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=[fd],
        )
        try:
            yield proc
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def served(app: Litestar) -> Iterator[str]:
    """`app` served by uvicorn from a thread of this process, on a free port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: server.started or not thread.is_alive(), "the in-process server to start"
        )
        if not server.started:
            raise RuntimeError("the in-process server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(PATIENCE)
        listener.close()


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log_dir: Path) -> None:
    """Wait until the server process answers its health check (or has exited: then fail
    with its logs)."""

    def up() -> bool:
        if proc.poll() is not None:
            logs = "\n".join(p.read_text() for p in log_dir.glob("server-*.log"))
            raise RuntimeError(f"server exited with {proc.returncode}:\n{logs}")
        try:
            return httpx.get(f"{url}/healthz", timeout=PATIENCE).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(up, f"the server at {url} to start", interval=0.1)
