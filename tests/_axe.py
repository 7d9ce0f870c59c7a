"""axe-core in Debian's Chromium: audit pages of the site and the slides against WCAG 2.1 AA.

Used by tests/test_accessibility.py, and on its own to count violations per rule:
``python tests/_axe.py build/site/index.html build/slides/*.slides.html``.
axe-core is fetched once with ``npm pack`` into the site's vendor cache (like the other
vendored scripts) and injected into each page; nothing is downloaded by the browser.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from conftest import CHROMIUM, CHROMIUM_ARGS

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")


def axe_source() -> str:
    from course_utils import site

    return (site._npm_package("axe-core") / "package" / "axe.min.js").read_text(encoding="utf-8")


_RUN = """async (tags) => {
  const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                  nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5),
                                  count: v.nodes.length}));
}"""


def audit(pages: list[Path], *, chromium: str = CHROMIUM) -> dict[str, list[dict]]:
    """Violations per page: ``{page: [{id, impact, help, nodes, count}]}``.

    Slide decks are audited in reveal's print layout, where every slide is laid out at once.
    """
    from playwright.sync_api import sync_playwright

    source = axe_source()
    results: dict[str, list[dict]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        for path in pages:
            uri = Path(path).resolve().as_uri()
            deck = str(path).endswith(".slides.html")
            # reveal.js hides every slide but the current one, and axe skips hidden content; its
            # print layout (?print-pdf) lays every slide out at once, so one audit sees them all.
            page.goto(uri + ("?print-pdf" if deck else ""))
            page.wait_for_load_state("load")
            if deck:
                page.wait_for_selector(".pdf-page", state="attached")
            page.add_script_tag(content=source)
            found: dict[str, dict] = {}
            for v in page.evaluate(_RUN, TAGS):
                found[v["id"]] = v
            results[str(path)] = list(found.values())
        browser.close()
    return results


def summary(results: dict[str, list[dict]]) -> str:
    """A table: rule, impact, pages, elements (as in the accessibility issue)."""
    pages: Counter = Counter()
    elements: Counter = Counter()
    impact = {}
    for violations in results.values():
        for v in violations:
            pages[v["id"]] += 1
            elements[v["id"]] += v["count"]
            impact[v["id"]] = v["impact"]
    lines = ["| rule | impact | pages | elements |", "|---|---|---|---|"]
    for rule in sorted(pages, key=lambda r: -elements[r]):
        lines.append(f"| {rule} | {impact[rule]} | {pages[rule]} | {elements[rule]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    found = audit([Path(a) for a in sys.argv[1:] if not a.startswith("--")])
    print(summary(found))
    if "--json" in sys.argv:
        print(json.dumps(found, indent=1))
