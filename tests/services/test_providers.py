"""Reaching an OpenID Provider: a provider that cannot be reached, for whatever reason, is
told in a sentence (502), never a server error."""

from __future__ import annotations

import httpx
import pytest

from seatkeeper.domain.destinations import IPAddress, Policy
from seatkeeper.domain.errors import ProviderUnavailable
from seatkeeper.services.providers import Providers
from tests.sso_fakes import ISSUER


def no_such_name(host: str, port: int) -> list[IPAddress]:
    raise OSError(f"cannot resolve {host!r}")


def never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing may be sent: {request.url}")


@pytest.mark.parametrize(
    ("issuer", "sentence"),
    [
        (ISSUER, "could not be reached"),  # a name that does not resolve
        ("https://127.0.0.1", "is refused"),  # an address the policy does not allow
        ("http://idp.example.com", "is refused"),  # http, which the policy does not allow
    ],
)
def test_a_provider_out_of_reach_is_told_plainly(issuer: str, sentence: str) -> None:
    providers = Providers(Policy(), no_such_name, transport=httpx.MockTransport(never))
    with pytest.raises(ProviderUnavailable) as refused:
        providers.endpoints(issuer)
    assert sentence in refused.value.message
