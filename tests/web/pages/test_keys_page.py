"""The Applications and keys page: the list (never a secret), a new key shown once, revoke
and rotate behind a confirmation, CSRF on every form, escaping of hostile names."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from seatkeeper.clock import FrozenClock
from seatkeeper.domain.model import KeyKind
from seatkeeper.services import keys
from seatkeeper.services.access import OPERATOR
from seatkeeper.storage.db import Database
from tests.conftest import World, bearer
from tests.web.pages.test_pages import form_token, log_in

Client = TestClient[Litestar]
PAGE = "/accounts/acme/keys"


def _opened(client: Client) -> str:
    page = client.get(PAGE)
    assert page.status_code == 200, page.text
    return page.text


def _post(client: Client, path: str, data: dict[str, str]) -> Any:
    token = form_token(_opened(client))
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _key_id(db: Database, name: str) -> int:
    return next(k.id for k in keys.list_keys(db, OPERATOR, "acme").keys if k.name == name)


def _flows(client: Client, key: str) -> int:
    return client.get("/api/v1/flows", headers=bearer(key)).status_code


def test_the_page_lists_keys_without_secrets_and_is_in_the_account_menu(
    client: Client, world: World
) -> None:
    log_in(client, "admin")
    page = _opened(client)
    assert 'data-testid="nav-keys"' in page and 'href="/accounts/acme/keys"' in page
    assert page.count('data-testid="key-row"') == 4
    for secret in (world.app_key, world.admin_token, world.agent_token, world.designer_token):
        assert secret not in page and secret[8:] not in page
    assert "Application key" in page and "User token" in page


def test_a_key_made_on_the_page_is_shown_once(client: Client, world: World) -> None:
    log_in(client, "admin")
    made = _post(client, PAGE, {"kind": "application", "name": "CRM", "expires_in_days": "30"})
    assert made.status_code == 200, made.text
    found = re.findall(r'value="(sk_app_[^"]+)"', made.text)
    assert len(found) == 1 and 'data-testid="new-key"' in made.text
    assert _flows(client, found[0]) == 200
    again = _opened(client)
    assert found[0] not in again and "CRM" in again
    assert made.headers.get("cache-control") == "no-store"


def test_revoke_and_rotate_from_the_page(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    log_in(client, "admin")
    key_id = _key_id(db, "t")
    rotated = _post(client, f"{PAGE}/{key_id}/rotate", {"grace_minutes": "10"})
    assert rotated.status_code == 200, rotated.text
    (new_key,) = re.findall(r'value="(sk_app_[^"]+)"', rotated.text)
    assert "the old key works 10 more minutes" in rotated.text
    assert _flows(client, new_key) == 200 and _flows(client, world.app_key) == 200
    revoked = _post(client, f"{PAGE}/{key_id}/revoke", {})
    assert revoked.status_code == 303 and revoked.headers["location"] == PAGE
    shown = client.get(PAGE).text
    assert "was revoked: it is refused from now on" in shown
    assert _flows(client, world.app_key) == 401 and _flows(client, new_key) == 200
    again = _post(client, f"{PAGE}/{key_id}/revoke", {})
    assert "already revoked" in html.unescape(client.get(again.headers["location"]).text)


def test_forms_without_the_csrf_token_change_nothing(
    client: Client, world: World, db: Database
) -> None:
    log_in(client, "admin")
    key_id = _key_id(db, "t")
    before = keys.list_keys(db, OPERATOR, "acme").keys
    for path, data in [
        (PAGE, {"kind": "application", "name": "sneaky"}),
        (f"{PAGE}/{key_id}/revoke", {}),
        (f"{PAGE}/{key_id}/rotate", {"grace_minutes": "0"}),
    ]:
        for token in ({}, {"csrf_token": "guess"}):
            answer = client.post(path, data={**data, **token}, follow_redirects=False)
            assert answer.status_code == 403, (path, answer.status_code)
    assert keys.list_keys(db, OPERATOR, "acme").keys == before
    assert _flows(client, world.app_key) == 200


def test_hostile_names_are_escaped_or_refused(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    name = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    keys.make_key(db, OPERATOR, "acme", kind=KeyKind.APPLICATION, name=name, now=clock.now())
    log_in(client, "admin")
    page = _opened(client)
    assert "<script>alert" not in page and "<img src=x" not in page
    cells = re.findall(r'data-testid="cell-name">([^<]*)</td>', page)
    assert name in [html.unescape(c) for c in cells]
    before = keys.list_keys(db, OPERATOR, "acme").keys
    for bad in ({"name": "x" * 500}, {"expires_in_days": "nan"}):
        answer = _post(client, PAGE, {"kind": "application", "name": "ok", **bad})
        assert answer.status_code == 303, answer.text
        shown = client.get(answer.headers["location"]).text
        assert 'data-testid="keys-error"' in shown
    control = _post(client, PAGE, {"kind": "application", "name": "a\x00b"})
    assert control.status_code == 400 and "must not contain control characters" in control.text
    for grace in ("-5", "1e308", "lots"):
        answer = _post(client, f"{PAGE}/{_key_id(db, 't')}/rotate", {"grace_minutes": grace})
        assert answer.status_code == 303
        assert 'data-testid="keys-error"' in client.get(answer.headers["location"]).text
    assert keys.list_keys(db, OPERATOR, "acme").keys == before


def test_an_expired_key_shows_as_expired(
    client: Client, world: World, db: Database, clock: FrozenClock
) -> None:
    keys.make_key(
        db, OPERATOR, "acme", kind=KeyKind.APPLICATION, name="brief",
        expires_at=clock.now() + timedelta(hours=1), now=clock.now(),
    )  # fmt: skip
    clock.advance(timedelta(hours=1))
    log_in(client, "admin")
    row = re.search(r'<tr data-testid="key-row"[^>]*data-name="brief"[^>]*>', _opened(client))
    assert row is not None and 'data-state="expired"' in row.group(0)
