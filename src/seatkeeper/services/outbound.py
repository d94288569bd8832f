"""Requests to addresses a tenant configures (webhooks, OpenID Providers): they go only
where the operator's policy lets them (public addresses, unless a network is allowed),
checked at every request, to the very address that was checked."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import httpx

from seatkeeper.domain import destinations
from seatkeeper.domain.destinations import Destination, IPAddress, Policy

Resolve = Callable[[str, int], list[IPAddress]]  # host, port -> its addresses (or OSError)


def resolve_with_system(host: str, port: int) -> list[IPAddress]:
    """Every address the system's resolver gives the name (raises OSError if none)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:  # a label too long to encode: no such name
        raise OSError(f"cannot resolve {host!r}") from exc
    return [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in found]


def reach(
    url: str, policy: Policy, resolve: Resolve, *, what: str = "webhook"
) -> tuple[Destination, IPAddress]:
    """The destination, checked, and the one checked address to connect to: every address
    the host has must be allowed (a name with one public and one private address is
    refused). Raises InvalidInput (DestinationRefused) or, for a name that does not
    resolve, OSError."""
    destination = destinations.check_url(url, policy, what=what)
    if destination.address is not None:
        addresses = [destination.address]
    else:
        addresses = resolve(destination.host, destination.port)
    destinations.check_addresses(addresses, policy)
    address = addresses[0]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return destination, address


class CheckedTransport(httpx.BaseTransport):
    """An httpx transport that sends each request only where `reach` allows, to the checked
    address (the host still named in the Host header and in TLS), so that a second lookup
    cannot lead elsewhere. A name that does not resolve fails as a connection would."""

    def __init__(
        self, policy: Policy, resolve: Resolve, inner: httpx.BaseTransport, *, what: str
    ) -> None:
        self.policy = policy
        self.resolve = resolve
        self.inner = inner
        self.what = what

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            target, address = reach(str(request.url), self.policy, self.resolve, what=self.what)
        except OSError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        request.url = request.url.copy_with(host=str(address))
        if target.address is None:
            request.extensions = {**request.extensions, "sni_hostname": target.host}
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
