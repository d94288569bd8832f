"""/docs renders the API documentation in a real browser with no internet."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def test_swagger_ui_renders_every_route_offline(
    page: Page, live_server: str, outside_requests: list[str]
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("seatkeeper")
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible()
    paths = set(operations.all_inner_texts())
    assert "/api/v1/sessions" in {p.replace("\u200b", "") for p in paths}
    assert operations.count() >= 9
    assert outside_requests == []
    assert errors == []
