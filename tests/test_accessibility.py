"""The site and the slides meet WCAG 2.1 AA as axe-core measures it; figures carry alt text.

axe-core (fetched once with ``npm pack``, like the other vendored scripts) is injected into every
page of ``make html`` and every deck of ``make slides`` in Debian's Chromium; a violation of
impact serious or critical under the wcag2a/wcag2aa/wcag21a/wcag21aa rules fails the test with
the rule, the page and the first elements.
"""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from course_utils import site, site_a11y
from course_utils.site_a11y import CODE_BACKGROUND, TOKEN_COLOURS, contrast_ratio

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = "No description has been provided for this image"


@pytest.mark.parametrize("token", sorted(TOKEN_COLOURS))
def test_code_colours_have_aa_contrast_on_the_cell_background(token):
    assert contrast_ratio(TOKEN_COLOURS[token], CODE_BACKGROUND) >= 4.5


def test_contrast_ratio_matches_wcag_examples():
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic near-miss
    with pytest.raises(ValueError, match="colour"):
        contrast_ratio("#12345", "#ffffff")


def _course_with_one_notebook(tmp_path: Path, outputs: list) -> Path:
    (tmp_path / "notebooks").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 00 · A test page"), nbformat.v4.new_code_cell("x")]
    nb.cells[1].outputs = outputs
    nb.cells[1].execution_count = 1
    nbformat.write(nb, tmp_path / "notebooks" / "00_test.ipynb")
    return tmp_path


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.alts: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.alts.append(dict(attrs).get("alt"))


def _alts(html: str) -> list[str | None]:
    parser = _Images()
    parser.feed(html)
    return parser.alts


PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_pages_write_the_figure_description_into_alt(tmp_path):
    described = nbformat.v4.new_output(
        "display_data",
        data={"image/png": PNG, "text/plain": "std falls"},
        metadata={"image/png": {"alt": 'Std against layer: "Glorot" falls to 4e-5 <fast>.'}},
    )
    bare = nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure size 1x1>"})
    root = _course_with_one_notebook(tmp_path / "course", [described, bare])
    site.build_html(tmp_path / "site", root=root)
    html = (tmp_path / "site" / "notebooks" / "00_test.html").read_text()
    assert _alts(html) == ['Std against layer: "Glorot" falls to 4e-5 <fast>.', "<Figure size 1x1>"]
    assert PLACEHOLDER not in html


def test_widgets_become_a_note_in_static_pages():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    cell = nbformat.v4.new_code_cell("explorer")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "VBox()"},
        )
    ]
    nb.cells = [cell]
    out = site_a11y.strip_widgets(nb)
    assert "widgets" not in out.metadata
    assert out.cells[0].outputs[0]["data"] == {
        "text/html": f'<p class="course-widget-note">{site_a11y.WIDGET_NOTE}</p>'
    }
    assert "widgets" in nb.metadata  # the input is left alone


@pytest.fixture(scope="module")
def built(course_site, course_decks):
    """The site and the decks, built once per session (tests/conftest.py)."""
    return {"site": course_site[0], "slides": course_decks[0]}


def test_every_figure_in_the_site_has_a_real_description(built):
    missing = {}
    for page in sorted(built["site"].rglob("*.html")):
        if "static" in page.parts:
            continue
        alts = _alts(page.read_text(encoding="utf-8"))
        bad = [a for a in alts if not a or len(a) < 12 or a == PLACEHOLDER or a.startswith("<Figure")]
        if bad:
            missing[page.name] = len(bad)
    assert not missing, f"images without a figure description: {missing}"


def test_site_and_slides_pass_axe_core(built, chromium):
    pytest.importorskip("playwright")
    if shutil.which("npm") is None:
        pytest.skip("npm is needed once to fetch axe-core: install Node.js")
    from _axe import BLOCKING, audit, summary

    pages = [built["site"] / "index.html"]
    pages += sorted((built["site"] / "notebooks").glob("*.html"))
    pages += sorted((built["site"] / "exercises").glob("*.html"))
    pages += sorted(built["slides"].glob("*.slides.html"))
    assert len(pages) >= 15
    results = audit(pages, chromium=chromium)
    print("\naxe-core, wcag2a + wcag2aa, all impacts:\n" + summary(results))
    blocking = [
        f"{Path(page).name}: {v['id']} ({v['impact']}, {v['count']} elements, e.g. {v['nodes'][:2]})"
        for page, violations in results.items()
        for v in violations
        if v["impact"] in BLOCKING
    ]
    assert not blocking, "\n".join(blocking)
