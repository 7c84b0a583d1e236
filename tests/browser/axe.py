"""axe-core (npm, pinned in package-lock.json, installed by `make install`)
run inside a Playwright page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parent.parent.parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")),
  }));
}"""


def violations(page: Any) -> list[dict[str, Any]]:
    """All axe-core violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed ({AXE} is missing): run `make install` (npm ci)", pytrace=False)
    if not page.evaluate("typeof window.axe === 'object'"):
        # Evaluated through DevTools, not added as a <script>: our Content-Security-Policy runs no inline
        # script, and the pages are checked as they are served, policy included.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    return page.evaluate(RUN)  # type: ignore[no-any-return]


def blocking(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations: the ones the journey must not have."""
    return [v for v in violations(page) if v["impact"] in BLOCKING]


def describe(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, items in found.items():
        for v in items:
            lines.append(f"{where}: {v['id']} ({v['impact']}) — {v['help']}")
            lines.extend(f"    {target}" for target in v["targets"][:5])
    return "\n".join(lines)
