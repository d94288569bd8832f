"""Who is calling: the socket's peer, and the client's address (through the proxies the
operator names, and only those).

`seatkeeper serve` turns uvicorn's own proxy handling off; `ForwardedFor` does it
instead, after keeping the socket's peer in the request's scope. A proxy that is not
named (SEATKEEPER_FORWARDED_ALLOW_IPS; none by default) has its X-Forwarded-For and
X-Forwarded-Proto ignored. `/metrics` asks `socket_peer`, which no header changes.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

Connection = ASGIConnection[Any, Any, Any, Any]

PEER = "seatkeeper.peer"  # the scope's key for the socket's peer, (host, port) or None
_NEXT = "seatkeeper.after_proxies"  # the app ForwardedFor hands the request to
MAX_ADDRESS = 45  # characters of the longest IPv6 address (IPv4 in its last 32 bits)


def client_address(connection: Connection) -> str | None:
    """The client's address: the socket's peer, or what a named proxy says it forwards.

    The one answer to "where does this request come from" (login throttling, limits per
    address, the logins' records).
    """
    client = connection.scope.get("client")
    return client[0] if client else None


def socket_peer(connection: Connection) -> str | None:
    """The address at the other end of the socket, whatever any header says."""
    scope: dict[str, Any] = connection.scope  # type: ignore[assignment]
    peer = scope[PEER] if PEER in scope else scope.get("client")
    return peer[0] if peer else None


class ForwardedFor(ASGIMiddleware):
    """Keeps the socket's peer, then lets the named proxies (a comma-separated list of
    addresses and networks, or * for any; empty for none) set the client's address and
    scheme with X-Forwarded-For and X-Forwarded-Proto (uvicorn's ProxyHeadersMiddleware).

    A forwarded address that is not an IP address is not used: the peer stays the client.
    """

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, trusted: str) -> None:
        hosts = [host.strip() for host in trusted.split(",") if host.strip()]
        named: list[str] | str = "*" if hosts == ["*"] else hosts
        self.proxies = ProxyHeadersMiddleware(self._forwarded, named) if hosts else None  # type: ignore[arg-type]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        raw: dict[str, Any] = scope  # type: ignore[assignment]
        raw.setdefault(PEER, raw.get("client"))
        if self.proxies is None:
            await next_app(scope, receive, send)
            return
        raw[_NEXT] = next_app
        await self.proxies(raw, receive, send)  # type: ignore[arg-type]

    @staticmethod
    async def _forwarded(raw: dict[str, Any], receive: Receive, send: Send) -> None:
        """After the proxy headers were read: a forwarded client that is no IP address is
        not believed."""
        next_app: ASGIApp = raw.pop(_NEXT)
        client = raw.get("client")
        if client != raw[PEER] and not _is_address(client[0] if client else ""):
            raw["client"] = raw[PEER]
        await next_app(raw, receive, send)  # type: ignore[arg-type]


def _is_address(text: str) -> bool:
    """Whether `text` is an IPv4 or IPv6 address (no longer than one can be)."""
    if len(text) > MAX_ADDRESS:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
