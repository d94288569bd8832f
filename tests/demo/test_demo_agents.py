"""The demo's simulated agents: who they are, the logins left free, and pausing them."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator

import pytest

from seatkeeper.clock import SystemClock
from seatkeeper.config import Settings
from seatkeeper.demo import DEFAULT_AGENTS, runner
from seatkeeper.demo import simulation as simulated
from seatkeeper.demo.account import AGENT_PASSWORD, DEMO_SLUG, DemoAccount, provision
from seatkeeper.demo.controls import pause_controls, read_keys
from seatkeeper.demo.history import DEMO_AGENTS, FREE_AGENTS, SIMULATED_AGENTS
from seatkeeper.demo.runner import crowd
from seatkeeper.demo.simulation import Simulation
from seatkeeper.domain.model import GridView
from seatkeeper.services import access, admin
from seatkeeper.services.secrets import Passwords
from seatkeeper.storage.db import Database
from seatkeeper.web.app import create_app
from tests.servers import served
from tests.waiting import PATIENCE, wait_until

clock = SystemClock()


@pytest.fixture
def demo(db: Database, passwords: Passwords) -> DemoAccount:
    return provision(db, passwords, now=clock.now())


def idle_simulation() -> Simulation:
    """A simulation that is never started: for its switches only."""
    return Simulation("http://127.0.0.1:9", "sk_app_unused", agents=[], guests=0)


def test_the_simulation_never_uses_the_printed_agents(
    demo: DemoAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set(FREE_AGENTS) <= set(DEMO_AGENTS)  # real users, with a history
    assert not set(FREE_AGENTS) & set(SIMULATED_AGENTS)
    for agents in range(0, 201):
        named, _ = crowd(agents)
        assert not set(named) & set(FREE_AGENTS), agents
    named, guests = crowd(DEFAULT_AGENTS)
    runner._announce(demo, base_url="http://h", named=named, guests=guests, pause="press p")
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    (logins,) = [line for line in lines if "Agent logins" in line]
    assert all(name in logins for name in FREE_AGENTS)
    assert not any(name in logins for name in SIMULATED_AGENTS)
    crowd_text = printed.split("Simulated agents")[1].split("to pause")[0]
    assert " ".join(crowd_text.split()) == ", ".join([*named, "3 Guests"])
    start = next(i for i, line in enumerate(lines) if "Simulated agents" in line)
    stop = next(i for i, line in enumerate(lines) if "to pause or resume" in line)
    assert stop - start > 1 and all(len(line) <= 79 for line in lines[start:stop])
    assert any(line.endswith("to pause or resume them: press p") for line in lines)


def test_p_pauses_and_resumes_other_keys_do_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    simulation = idle_simulation()
    read_keys(io.StringIO("x p"), simulation)
    assert simulation.paused
    read_keys(io.StringIO("\x1b[AP"), simulation)  # an arrow key, then P
    assert not simulation.paused
    assert capsys.readouterr().out.splitlines() == [
        "Simulated agents paused: they log out and stay out until resumed.",
        "Simulated agents resumed: they log in and work again.",
    ]


def test_sigusr1_toggles_the_agents_while_the_controls_are_on() -> None:
    simulation = idle_simulation()
    before = signal.getsignal(signal.SIGUSR1)
    with pause_controls(simulation, io.StringIO()) as how:
        assert how == f"kill -USR1 {os.getpid()}"  # no terminal: no key to press
        os.kill(os.getpid(), signal.SIGUSR1)
        wait_until(lambda: simulation.paused, "the signal to pause the agents")
        os.kill(os.getpid(), signal.SIGUSR1)
        wait_until(lambda: not simulation.paused, "the signal to resume the agents")
    assert signal.getsignal(signal.SIGUSR1) == before


def test_a_stopped_simulation_cannot_be_resumed() -> None:
    simulation = idle_simulation()
    simulation.pause()
    simulation.stop()
    simulation.resume()
    assert simulation.interrupted.is_set()  # every wait stays cut short: the agents leave


@pytest.fixture
def live(settings: Settings, demo: DemoAccount, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # A slow answer on a busy machine is not what these tests are about.
    monkeypatch.setattr(simulated, "HTTP_TIMEOUT_SECONDS", PATIENCE)
    with served(create_app(settings)) as base_url:
        yield base_url


def open_sessions(db: Database, demo: DemoAccount) -> int:
    user = access.authenticate_token(db, demo.admin_token)
    view = GridView(per_page=500)
    return len(admin.active_sessions(db, user, DEMO_SLUG, view=view, now=clock.now()).rows)


def crowd_of_four(base_url: str, demo: DemoAccount, *, paused: bool = False) -> Simulation:
    return Simulation(
        base_url,
        demo.application_key,
        agents=[(name, AGENT_PASSWORD) for name in SIMULATED_AGENTS[:2]],
        guests=2,
        seed=2,
        speed=50,
        paused=paused,
    )


@pytest.mark.slow
def test_paused_agents_log_out_and_stay_out_until_resumed(
    live: str, db: Database, demo: DemoAccount
) -> None:
    simulation = crowd_of_four(live, demo)
    simulation.start()
    try:
        wait_until(lambda: open_sessions(db, demo) >= 2, "simulated agents to open sessions")
        simulation.pause()
        # Every agent parked is an agent logged out and waiting for resume(): none can open.
        wait_until(lambda: simulation.parked == 4, "every simulated agent to stop")
        assert open_sessions(db, demo) == 0
        opened = simulation.stats.sessions
        simulation.resume()
        wait_until(lambda: open_sessions(db, demo) >= 1, "simulated agents to come back")
        assert simulation.stats.sessions > opened
    finally:
        simulation.stop(timeout=PATIENCE)
    assert simulation.stats.errors == 0


@pytest.mark.slow
def test_a_simulation_started_paused_opens_nothing(
    live: str, db: Database, demo: DemoAccount
) -> None:
    simulation = crowd_of_four(live, demo, paused=True)
    simulation.start()
    try:
        wait_until(lambda: simulation.parked == 4, "every simulated agent to wait")
        assert open_sessions(db, demo) == 0 and simulation.stats.sessions == 0
    finally:
        simulation.stop(timeout=PATIENCE)
