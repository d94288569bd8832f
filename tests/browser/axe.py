"""axe-core in the browser tests: the pages checked against WCAG 2.0 and 2.1, A and AA.

axe.min.js comes from tests/axe (test-only, `npm ci --prefix tests/axe`, which `make
test` runs); it is evaluated in the page through the DevTools protocol, which the
pages' Content-Security-Policy does not govern, so nothing is loosened to check them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from tests.node_packages import skip_when_off, unavailable

AXE_JS = Path(__file__).parent.parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = {"serious", "critical"}

# Run in the page: axe's verdict on the whole document, as plain data.
_RUN = """async tags => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), why: n.failureSummary})),
    }));
}"""


def axe_source() -> str:
    """axe.min.js, or the test skips (fails when Node.js is required) without it."""
    skip_when_off()
    if not AXE_JS.is_file():
        unavailable("axe-core is not installed: run `npm ci --prefix tests/axe`")
    return AXE_JS.read_text()


def serious_violations(page: Page, source: str) -> list[dict[str, Any]]:
    """The page's WCAG A/AA violations of serious or critical impact, as axe finds them."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source)
    found: list[dict[str, Any]] = page.evaluate(_RUN, TAGS)
    return [v for v in found if v["impact"] in SERIOUS]


def describe(violations: list[dict[str, Any]]) -> str:
    """The violations, one rule a paragraph: its id, impact and help, then each element
    (its selector) and what axe found wrong with it."""
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "".join(f"  at {n['target']}\n    {_indent(n['why'])}\n" for n in v["nodes"])
        for v in violations
    )


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")
