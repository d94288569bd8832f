"""The storm benchmark's own parts: its line of agents, its count of over-allocations,
and its lean HTTP client (against a tiny server here; `python -m bench --quick --only
storm` runs the whole against seatkeeper)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bench.claims import peak
from bench.http1 import Connection
from bench.storm import line_up, percentile

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_line_is_seven_named_to_three_guests_interleaved() -> None:
    agents = line_up(2_500)
    named = [a for a in agents if a.username is not None]
    assert len(named) == 1_750
    assert len({a.username for a in named}) == len(named)  # each named agent once
    assert all(
        sum(a.username is None for a in agents[n : n + 10]) == 3 for n in range(0, 2_500, 10)
    )
    assert agents[0].body() == {"username": "storm-00001", "password": agents[0].body()["password"]}
    assert agents[1].body() == {}  # agent 2, the first Guest


def test_over_allocations_are_starts_above_the_cap() -> None:
    held = [(at(0), None), (at(1), at(5)), (at(5), None)]  # an end before a start at once
    assert peak(held, 2) == (2, 0)
    assert peak([*held, (at(2), at(3))], 2) == (3, 1)


def test_percentiles_are_nearest_rank_in_ms() -> None:
    values = [n / 1000 for n in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([], 50) is None


def test_the_client_keeps_one_connection_for_its_requests() -> None:
    async def scenario() -> list[tuple[int, str, bytes]]:
        connections = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                body = await reader.readexactly(length)
                answer = b'{"echo": "%s"}' % body
                writer.write(
                    b"HTTP/1.1 409 Conflict\r\nRetry-After: 2\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(answer), answer)
                )

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        conn = await Connection.open(f"http://127.0.0.1:{port}")
        answers = []
        for body in (b"{}", b"x"):
            r = await conn.request("POST", "/api/v1/sessions", body=body)
            answers.append((r.status, r.headers["retry-after"], r.body))
        await conn.close()
        server.close()
        assert connections == 1
        return answers

    assert asyncio.run(scenario()) == [
        (409, "2", b'{"echo": "{}"}'),
        (409, "2", b'{"echo": "x"}'),
    ]
