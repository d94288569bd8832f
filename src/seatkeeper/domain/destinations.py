"""Where a webhook may be sent: public addresses only, unless the operator allows a network.

A webhook's address is checked when it is registered and again at every delivery: the
host, read the way the operating system's resolver would read it (`2130706433`,
`0x7f000001`, `0177.0.0.1` and `127.1` are all 127.0.0.1; a trailing dot changes
nothing), must be a global unicast address, or a name whose every address is one.
IPv4-mapped and IPv4-compatible IPv6 addresses are judged as the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from seatkeeper.domain.errors import DestinationRefused, InvalidInput
from seatkeeper.domain.validation import is_printable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LONGEST_URL = 2000
NOT_PUBLIC = "it is not a public internet address"


@dataclass(frozen=True, slots=True)
class Policy:
    """What the operator allows beyond public https addresses."""

    allowed_networks: tuple[Network, ...] = ()  # on-premise receivers, reached anyway
    allow_http: bool = False


def networks(text: str) -> tuple[Network, ...]:
    """Comma-separated networks in CIDR notation ("10.1.2.0/24, fd00::/8"); a bare
    address is a network of one. A wrong one raises ValueError, naming it."""
    found = []
    for part in text.split(","):
        if part.strip():
            try:
                found.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{part.strip()!r} is not a network (e.g. 10.1.2.0/24)") from None
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked webhook address: where to connect, and what to say the host is."""

    url: str  # as registered
    scheme: str  # "https" or "http"
    host: str  # the name (lowercase, no trailing dot), or the address, as the URL spells it
    port: int
    target: str  # path and query, as sent in the request line
    address: IPAddress | None  # when the host is an address, in whatever spelling


def check_url(url: str, policy: Policy, *, what: str = "webhook") -> Destination:
    """Read and check a webhook's address, without resolving names (see `check_addresses`).

    Raises InvalidInput when it cannot be read, DestinationRefused when it may not be used.
    """
    address = url.strip()
    if not is_printable(address):
        raise InvalidInput(f"A {what} address cannot hold control characters.")
    if len(address) > LONGEST_URL:
        raise InvalidInput(f"A {what} address has {LONGEST_URL:,} characters at most.")
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError as exc:  # "http://[", "http://host:99999"
        raise InvalidInput(f"This {what} address cannot be read: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"A {what} needs an https:// address with a host name.")
    if scheme == "http" and not policy.allow_http:
        raise DestinationRefused("only https:// addresses are allowed on this server")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise DestinationRefused("an address cannot carry a user name or password")
    host = _host(parts, what)
    literal = address_of(host)
    if literal is not None:
        check_addresses([literal], policy)
    elif host == "localhost" or host.endswith(".localhost"):
        raise DestinationRefused(NOT_PUBLIC)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(
        url=address,
        scheme=scheme,
        host=host,
        port=port if port is not None else (443 if scheme == "https" else 80),
        target=target,
        address=literal,
    )


def _host(parts: SplitResult, what: str) -> str:
    host = (parts.hostname or "").rstrip(".")
    if not host.isascii():  # full-width digits spell 127.0.0.1 once encoded
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise InvalidInput(f"This {what} address's host name cannot be read.") from None
    if not host or "%" in host or "\\" in host:  # no IPv6 zone, nothing a parser may split
        raise InvalidInput(f"This {what} address's host name cannot be read.")
    return host


def address_of(host: str) -> IPAddress | None:
    """The address a host spells, in any form the resolver accepts; None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host.replace(".", "").isalnum() and host[0].isdigit():  # 127.1, 0x7f000001, 0177.0.0.1
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None  # a name, such as 1password.example: it is resolved, then checked
    return None


def is_allowed(address: IPAddress, policy: Policy) -> bool:
    """A public unicast address, or one in a network the operator allows."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or _compatible(address)
        if carried is not None:
            address = carried
    if any(address in net for net in policy.allowed_networks if net.version == address.version):
        return True
    return address.is_global and not address.is_multicast and not address.is_reserved


def _compatible(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address in an IPv4-compatible IPv6 address (::a.b.c.d, deprecated), or
    in a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) one."""
    number = int(address)
    if number >> 32 == 0 and number > 1:  # not :: nor ::1
        return ipaddress.IPv4Address(number & 0xFFFFFFFF)
    if address in ipaddress.IPv6Network("64:ff9b::/96"):
        return ipaddress.IPv4Address(number & 0xFFFFFFFF)
    return address.sixtofour


def check_addresses(addresses: list[IPAddress], policy: Policy) -> None:
    """Every address a destination has must be allowed (a name that answers one public and
    one private address is refused)."""
    if not addresses or not all(is_allowed(a, policy) for a in addresses):
        raise DestinationRefused(NOT_PUBLIC)
