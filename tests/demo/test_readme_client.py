"""The README's Python client example runs as written against the demo's account."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from seatkeeper.clock import SystemClock
from seatkeeper.config import Settings
from seatkeeper.demo.account import AGENT_PASSWORD, provision
from seatkeeper.demo.history import DEMO_AGENTS, FLOWS
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from seatkeeper.storage.tables import agent_sessions, interactions
from seatkeeper.web.app import create_app
from tests.servers import served

README = Path(__file__).parents[2] / "README.md"


def readme_client_example() -> str:
    """The code block under the README's "Python client" heading."""
    found = re.search(r"### Python client\n+```python\n(.*?)```", README.read_text(), re.S)
    assert found, "the README has a Python client example"
    return found.group(1)


def test_the_example_names_what_a_reader_replaces() -> None:
    code = readme_client_example()
    for placeholder in ('"http://127.0.0.1:8000"', '"sk_app_..."', '"alice"', '"her password"'):
        assert code.count(placeholder) == 1, placeholder


@pytest.mark.slow
def test_the_readme_client_example_works_against_the_demo(
    settings: Settings, db: Database, passwords: Passwords
) -> None:
    clock = SystemClock()
    demo = provision(db, passwords, now=clock.now())
    code = readme_client_example()
    with served(create_app(settings)) as base_url:
        # Only the placeholders a reader replaces: the server, the key and an agent.
        for placeholder, value in (
            ('"http://127.0.0.1:8000"', repr(base_url)),
            ('"sk_app_..."', repr(demo.application_key)),
            ('"alice"', repr(DEMO_AGENTS[0])),
            ('"her password"', repr(AGENT_PASSWORD)),
        ):
            code = code.replace(placeholder, value)
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    with db.read() as conn:
        done = conn.execute(
            select(interactions.c.flow, interactions.c.step, interactions.c.closed_at)
        ).all()
        left_open = conn.execute(select(agent_sessions).where(agent_sessions.c.ended_at.is_(None)))
        assert left_open.all() == []  # it logged out
    assert [(flow, step) for flow, step, _ in done] == [
        ("Password Reset", FLOWS["Password Reset"][-1])
    ]
    assert done[0].closed_at is not None
