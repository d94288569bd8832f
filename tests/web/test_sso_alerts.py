"""A sign-out by the account's identity provider that ends an agent's session clears the
capacity alerts use falls below, in the same transaction."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.storage import alerts as stored
from seatkeeper.storage.db import Database
from tests.conftest import World
from tests.sso_fakes import FakeProvider
from tests.web.api.test_alerts import guest
from tests.web.test_sso import open_with, provider, sign_in

__all__ = ["provider"]  # the fixture, used by name


def test_a_sign_out_by_the_provider_clears_the_alerts_at_once(
    client: TestClient[Litestar], provider: FakeProvider, world: World, db: Database
) -> None:
    sign_in(client, provider, "alan")
    assert open_with(client, world, provider.id_token("alan"))[0] == 201
    guest(client, world)
    guest(client, world)  # 3 of 3: the 90% and 100% alerts are raised
    with db.read() as conn:
        assert sorted(stored.active(conn, world.acme.id)) == [90, 100]
    token = provider.logout_token("alan")
    answer = client.post("/sso/acme/back-channel-logout", data={"logout_token": token})
    assert answer.status_code == 200
    with db.read() as conn:
        assert stored.active(conn, world.acme.id) == {}
