"""Where a webhook may go: public addresses only, whatever the spelling of the others."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from seatkeeper.config import Settings
from seatkeeper.domain.destinations import Policy, check_addresses, check_url, networks
from seatkeeper.domain.errors import DestinationRefused, InvalidInput

INSIDE = [
    "127.0.0.1",  # loopback
    "127.1",  # short form
    "2130706433",  # decimal
    "0x7f000001",  # hex
    "0x7f.0.0.1",
    "0177.0.0.1",  # octal
    "017700000001",
    "127.0.0.1.",  # trailing dot
    "０x7f000001",  # full-width, as IDNA reads it
    "１２７.０.０.１",
    "localhost",
    "localhost.",
    "LOCALHOST",
    "api.localhost",
    "0.0.0.0",  # unspecified
    "0",
    "10.0.0.1",  # private
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # link-local: the cloud's metadata service
    "100.64.0.1",  # shared address space
    "192.0.0.1",  # IETF protocol assignments
    "198.18.0.1",  # benchmarking
    "192.0.2.1",  # documentation
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",  # broadcast
    "[::1]",  # IPv6 loopback
    "[0:0:0:0:0:0:0:1]",
    "[::]",  # unspecified
    "[fe80::1]",  # link-local
    "[fc00::1]",  # unique local
    "[fd12:3456::1]",
    "[ff02::1]",  # multicast
    "[ff0e::1]",  # global-scope multicast: is_global, still refused
    "[2001:db8::1]",  # documentation
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[::ffff:169.254.169.254]",
    "[::ffff:10.0.0.1]",
    "[::127.0.0.1]",  # IPv4-compatible (deprecated)
    "[64:ff9b::127.0.0.1]",  # NAT64
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
    "[2002:a9fe:a9fe::1]",  # 6to4 of 169.254.169.254
]


@pytest.mark.parametrize("host", INSIDE)
@pytest.mark.parametrize("scheme", ["https", "http"])
def test_every_spelling_of_an_inside_address_is_refused(scheme: str, host: str) -> None:
    lenient = Policy(allow_http=True)
    with pytest.raises(DestinationRefused, match="not a public internet address"):
        check_url(f"{scheme}://{host}:8443/hook", lenient)
    with pytest.raises(DestinationRefused):
        check_url(f"{scheme}://{host}/latest/meta-data/", Policy())


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@8.8.8.8/",
        "https://user@hooks.example.com/",
        "https://:pass@hooks.example.com/",
        "https://user:pass@127.0.0.1/",
        "https://hooks.example.com@127.0.0.1/",
    ],
)
def test_an_address_with_credentials_is_refused(url: str) -> None:
    with pytest.raises(DestinationRefused, match="user name or password"):
        check_url(url, Policy(allowed_networks=networks("127.0.0.0/8")))


def test_http_only_where_the_operator_allows_it() -> None:
    with pytest.raises(DestinationRefused, match="only https://"):
        check_url("http://hooks.example.com/in", Policy())
    assert check_url("http://hooks.example.com/in", Policy(allow_http=True)).port == 80
    for url in ["ftp://hooks.example.com/", "file:///etc/passwd", "gopher://8.8.8.8/"]:
        with pytest.raises(InvalidInput):
            check_url(url, Policy(allow_http=True))


@pytest.mark.parametrize(
    "url", ["https://[fe80::1%25eth0]/", "https://a\\b@8.8.8.8/", "https://[", "https://a:0x1/"]
)
def test_an_address_that_cannot_be_read_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_url(url, Policy())


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://[::ffff:8.8.8.8]/hook",
        "https://hooks.example.com/hook",  # a name: resolved, then checked (services)
        "https://1password.example/hook",  # a name that starts with a digit
        "https://HOOKS.example.com./hook?x=1",
    ],
)
def test_public_addresses_and_names_pass(url: str) -> None:
    found = check_url(url, Policy())
    assert (found.scheme, found.port) == ("https", 443)
    assert not found.host.endswith(".") and found.host == found.host.lower()


def test_what_the_operator_allows_is_reached_anyway_and_nothing_more() -> None:
    policy = Policy(allowed_networks=networks(" 127.0.0.0/8, fd00:1::/64"), allow_http=True)
    for url in ["http://127.0.0.1:9/x", "http://0x7f000001/", "https://[::ffff:127.0.0.1]/"]:
        assert check_url(url, policy).address is not None
    assert check_url("https://[fd00:1::5]/", policy).port == 443
    for url in ["http://10.0.0.1/", "https://[fd00:2::5]/", "https://[::1]/"]:
        with pytest.raises(DestinationRefused):
            check_url(url, policy)


def test_a_name_is_refused_when_any_of_its_addresses_is_inside() -> None:
    public = ipaddress.ip_address("93.184.215.14")
    check_addresses([public], Policy())
    for inside in ["127.0.0.1", "::1", "::ffff:10.0.0.1", "169.254.169.254"]:
        with pytest.raises(DestinationRefused):
            check_addresses([public, ipaddress.ip_address(inside)], Policy())
    with pytest.raises(DestinationRefused):
        check_addresses([], Policy())


def test_the_settings_read_the_networks_and_refuse_a_wrong_one() -> None:
    settings = Settings(webhook_allowed_networks="10.1.2.0/24,fd00::/8", webhook_allow_http=True)
    assert [str(n) for n in networks(settings.webhook_allowed_networks)] == [
        "10.1.2.0/24",
        "fd00::/8",
    ]
    assert (Settings().webhook_allowed_networks, Settings().webhook_allow_http) == ("", False)
    with pytest.raises(ValidationError, match=r"'10\.1\.2\.0/33' is not a network"):
        Settings(webhook_allowed_networks="10.1.2.0/33")
