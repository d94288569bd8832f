"""A lean HTTP/1.1 client for load from Python: one keep-alive connection, one request
at a time, on asyncio streams.

Where wrk's fixed-duration runs do not fit (each agent exactly once, waiting out a
Retry-After), the load comes from Python; it must then cost the client little. httpx's
AsyncClient with 64 connections answered GET /healthz about 100 times a second here, this
more than 2,000 times, on the same core: with httpx the client, not the server, would
have set the pace.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


class Connection:
    """One keep-alive connection to `url`'s host; requests go one after another."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self._reader, self._writer, self._host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only plain http:// addresses: {url}")
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        return cls(reader, writer, parts.netloc)

    async def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Response:
        """Send one request and read its whole answer (Content-Length framed)."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        self._writer.write("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        found = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            if name:
                found[name.strip().lower()] = value.strip()
        status = int(status_line.split()[1])
        if status in (204, 304):  # no body, and no Content-Length to say so
            return Response(status, found, b"")
        if "content-length" not in found:  # the server under test always sends it
            raise RuntimeError(f"an answer without Content-Length: {status_line} {found}")
        content = await self._reader.readexactly(int(found["content-length"]))
        return Response(status, found, content)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()
