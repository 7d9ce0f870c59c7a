"""Every slide of every lecture deck fits a 1280 x 720 screen (issue 14, "Slides").

The decks are built exactly as ``make slides`` builds them (``course_utils.site.build_slides``)
into a temporary folder. Headless Chromium (Debian's ``/usr/bin/chromium``; Playwright never
downloads a browser) opens each deck at a 1280 x 720 viewport and walks every slide reveal.js
knows (``Reveal.getSlides()``: horizontal slides and their vertical sub-slides) with all of its
fragments shown. On each slide it measures, in screen pixels (reveal's scale included):

- how far the rendered content (every visible element of the slide) reaches past the bottom,
  top, right or left edge of the viewport, and
- how much of an element's content its own box cuts off (``overflow`` not ``visible`` and
  ``scrollWidth > clientWidth``, e.g. a long code line in a ``<pre>`` cut at the right edge).

A slide with more than ``TOLERANCE_PX`` of either fails the test, which names the deck, the
slide's reveal index ``h/v`` (and the notebook cell that starts it) and the overflow in pixels.

Helper for authors (prints the overflow of every slide, not just the failures)::

    .venv/bin/python tests/test_slides.py              # every deck
    .venv/bin/python tests/test_slides.py 05 06_beyond # selected lectures (prefix of the name)

A slide that does not fit is fixed in the notebook: choose what the slide shows (a long code
cell as ``skip`` or ``notes`` in its ``slideshow`` metadata, or split it with a ``subslide``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
VIEWPORT = {"width": 1280, "height": 720}
#: sub-pixel rounding and anti-aliasing; anything larger is content the audience cannot see
TOLERANCE_PX = 2.0
LOAD_TIMEOUT_MS = 60_000

# Runs in the page: wait for reveal and MathJax, then switch transitions off.
_READY_JS = r"""
async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  // nbconvert's template loads reveal.js through require.js: find the module it defined
  const find = () => {
    if (window.Reveal) return window.Reveal;
    const defined = (window.require && require.s && require.s.contexts._.defined) || {};
    const key = Object.keys(defined).find((k) => /reveal\.js\/dist\/reveal(\.js)?$/.test(k));
    return key ? defined[key] : undefined;
  };
  for (let i = 0; i < 600 && !(find() && find().isReady && find().isReady()); i++) {
    await sleep(50);
  }
  const R = find();
  if (!(R && R.isReady && R.isReady())) return "reveal.js did not start";
  window.Reveal = R;
  Reveal.configure({transition: "none", backgroundTransition: "none", history: false});
  if (window.MathJax && MathJax.Hub) {
    await new Promise((resolve) => MathJax.Hub.Queue(resolve));
  }
  await document.fonts.ready;
  return "";
}
"""

# Runs in the page: show slide `i` of Reveal.getSlides() with every fragment, then measure it.
_MEASURE_JS = r"""
async (i) => {
  const slide = Reveal.getSlides()[i];
  const idx = Reveal.getIndices(slide);
  Reveal.slide(idx.h, idx.v || 0);
  while (Reveal.nextFragment()) {}
  // The deck re-typesets the new slide's formulas in a 'slidechanged' handler: let it queue
  // its work (one frame), wait for MathJax's queue to drain, then let reveal re-centre.
  await new Promise((r) => requestAnimationFrame(r));
  if (window.MathJax && MathJax.Hub) {
    await new Promise((resolve) => MathJax.Hub.Queue(resolve));
  }
  Reveal.layout();  // getBoundingClientRect below forces style and layout
  const scale = Reveal.getScale();
  const vw = window.innerWidth, vh = window.innerHeight;
  let top = Infinity, left = Infinity, bottom = -Infinity, right = -Infinity;
  let clip = 0, clipWhat = "";
  const describe = (el) => {
    const cls = (el.className && typeof el.className === "string")
      ? "." + el.className.trim().split(/\s+/).slice(0, 2).join(".") : "";
    return el.tagName.toLowerCase() + cls;
  };
  // Elements whose insides need no visit: their own box (and scroll size) says it all.
  const opaque = (el) => el.tagName === "PRE" || el.tagName === "IMG" || el.tagName === "svg"
    || el.tagName === "TABLE" || el.classList.contains("MathJax_Display")
    || el.classList.contains("MathJax");
  const walker = document.createTreeWalker(slide, NodeFilter.SHOW_ELEMENT, {
    acceptNode: (el) => {
      if (el.tagName === "ASIDE" || el.classList.contains("MJX_Assistive_MathML")) {
        return NodeFilter.FILTER_REJECT;
      }
      const p = el.parentElement;
      return (p && p !== slide && opaque(p)) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
    },
  });
  for (let el = walker.nextNode(); el; el = walker.nextNode()) {
    const cs = getComputedStyle(el);
    if (cs.display === "none" || cs.visibility === "hidden") continue;
    const r = el.getBoundingClientRect();
    if (r.width < 0.5 || r.height < 0.5) continue;
    top = Math.min(top, r.top); left = Math.min(left, r.left);
    bottom = Math.max(bottom, r.bottom); right = Math.max(right, r.right);
    if (cs.overflowX === "visible") right = Math.max(right, r.left + el.scrollWidth * scale);
    if (cs.overflowY === "visible") bottom = Math.max(bottom, r.top + el.scrollHeight * scale);
    if (cs.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1) {
      const cut = (el.scrollWidth - el.clientWidth) * scale;
      if (cut > clip) { clip = cut; clipWhat = describe(el) + " cuts a line wider than its box"; }
    }
    if (cs.overflowY !== "visible" && el.scrollHeight > el.clientHeight + 1) {
      const cut = (el.scrollHeight - el.clientHeight) * scale;
      if (cut > clip) { clip = cut; clipWhat = describe(el) + " cuts content taller than its box"; }
    }
  }
  const text = Array.from((slide.innerText || "").trim().replace(/\s+/g, " ")).slice(0, 60)
    .join("");  // whole code points: MathJax text holds surrogate pairs
  if (top === Infinity) return {h: idx.h, v: idx.v || 0, empty: true, text};
  return {
    h: idx.h, v: idx.v || 0, text, scale,
    height: (bottom - top), width: (right - left),
    below: Math.max(0, bottom - vh), above: Math.max(0, -top),
    right: Math.max(0, right - vw), left: Math.max(0, -left),
    clip, clipWhat,
  };
}
"""


@dataclass
class SlideFit:
    """How one slide of a deck fits the viewport (all lengths in screen pixels)."""

    deck: str
    index: int  # position in Reveal.getSlides()
    h: int
    v: int
    text: str
    cell: int | None = None  # notebook cell that starts the slide, when known
    below: float = 0.0
    above: float = 0.0
    right: float = 0.0
    left: float = 0.0
    clip: float = 0.0
    clip_what: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def overflow(self) -> float:
        return max(self.below, self.above, self.right, self.left, self.clip)

    def problems(self) -> list[str]:
        out = []
        for name, value in (
            ("past the bottom", self.below),
            ("past the top", self.above),
            ("past the right edge", self.right),
            ("past the left edge", self.left),
        ):
            if value > TOLERANCE_PX:
                out.append(f"content reaches {value:.0f} px {name}")
        if self.clip > TOLERANCE_PX:
            out.append(f"{self.clip_what} by {self.clip:.0f} px")
        return out

    def label(self) -> str:
        cell = f", cell {self.cell}" if self.cell is not None else ""
        return f"{self.deck} slide {self.index} (h/v {self.h}/{self.v}{cell}) '{self.text}'"


def slide_start_cells(notebook: Path) -> list[int]:
    """Notebook cell index that starts each slide, in reveal order (``Reveal.getSlides()``).

    nbconvert opens a new horizontal slide at a ``slide`` cell and a vertical one at a
    ``subslide`` cell; the first shown cell opens the first slide; ``skip`` cells vanish.
    """
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    starts = []
    for i, cell in enumerate(nb.cells):
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if kind == "skip":
            continue
        if not starts or kind in ("slide", "subslide"):
            starts.append(i)
    return starts


def build_decks(out: Path, root: Path = ROOT) -> list[Path]:
    """Build every lecture's deck like ``make slides`` into ``out``; return the deck paths."""
    from course_utils import site

    return [Path(p) for p in site.build_slides(Path(out), root=root)]


def measure_deck(page, deck: Path, notebook: Path | None = None) -> list[SlideFit]:
    """Open ``deck`` in ``page`` (a Playwright page) and measure every slide."""
    page.goto(deck.resolve().as_uri(), wait_until="load", timeout=LOAD_TIMEOUT_MS)
    error = page.evaluate(_READY_JS)
    if error:
        raise RuntimeError(f"{deck.name}: {error}")
    n = page.evaluate("Reveal.getTotalSlides()")
    assert n == page.evaluate("Reveal.getSlides().length")
    cells = slide_start_cells(notebook) if notebook is not None else []
    if len(cells) != n:
        cells = []
    fits = []
    for i in range(n):
        m = page.evaluate(_MEASURE_JS, i)
        text = m["text"].encode("utf-8", "replace").decode("utf-8")
        fit = SlideFit(deck=deck.name, index=i, h=m["h"], v=m["v"], text=text)
        fit.cell = cells[i] if cells else None
        if not m.get("empty"):
            fit.below, fit.above = m["below"], m["above"]
            fit.right, fit.left = m["right"], m["left"]
            fit.clip, fit.clip_what = m["clip"], m["clipWhat"]
            fit.extra = {"height": m["height"], "width": m["width"], "scale": m["scale"]}
        fits.append(fit)
    return fits


def _notebook_for(deck: Path, root: Path = ROOT) -> Path | None:
    nb = root / "notebooks" / deck.name.replace(".slides.html", ".ipynb")
    return nb if nb.is_file() else None


def _missing_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is not installed (pip install playwright)"
    return None


# --------------------------------------------------------------------------------------------
# the test
# --------------------------------------------------------------------------------------------
LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


PROBE = "00_probe.slides.html"


def _probe_notebook(root: Path) -> Path:
    """A deck with one slide that fits and three that do not, each in its own way."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    def slide(cell):
        cell.metadata["slideshow"] = {"slide_type": "slide"}
        return cell

    long_code = "\n".join(f"x{i} = {i}  # line {i}" for i in range(60))
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Probe\n\nA short slide that fits."),
            slide(new_code_cell(long_code)),
            slide(new_markdown_cell('<div style="width: 1500px">a box wider than the slide</div>')),
            slide(
                new_markdown_cell(
                    '<div style="width: 300px; overflow: hidden; white-space: nowrap">'
                    + "a line cut by its own box " * 10
                    + "</div>"
                )
            ),
        ]
    )
    path = root / "notebooks" / "00_probe.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def measured(tmp_path_factory, course_decks) -> dict[str, list[SlideFit]]:
    reason = _missing_reason()
    if reason:
        pytest.skip(reason)
    if not LECTURES:
        pytest.skip("no lecture notebooks")
    from playwright.sync_api import sync_playwright

    start = time.perf_counter()
    decks = course_decks[1]  # built once per session (tests/conftest.py)
    probe_root = tmp_path_factory.mktemp("probe")
    probe_nb = _probe_notebook(probe_root)
    (probe_deck,) = build_decks(probe_root / "slides", root=probe_root)
    results = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            results[PROBE] = measure_deck(page, probe_deck, probe_nb)
            for deck in decks:
                results[deck.name] = measure_deck(page, deck, _notebook_for(deck))
        finally:
            browser.close()
    print(f"built and measured {len(decks)} decks in {time.perf_counter() - start:.1f} s")
    return results


def test_the_measurement_catches_each_kind_of_overflow(measured):
    """A slide that fits passes; too tall, too wide and cut-off content are each caught."""
    fits = measured[PROBE]
    assert [f.cell for f in fits] == [0, 1, 2, 3]
    assert not fits[0].problems(), fits[0].problems()
    assert fits[1].below > 300 and not fits[1].right, fits[1]  # 60 code lines
    assert fits[2].right > 200, fits[2]  # 1500 px box at scale ~0.99 in a 1280 px window
    assert fits[3].clip > 500 and "cuts" in fits[3].clip_what, fits[3]
    assert all(f.problems() for f in fits[1:])


def test_every_lecture_has_a_deck_with_slides(measured):
    decks = {name: fits for name, fits in measured.items() if name != PROBE}
    assert sorted(decks) == sorted(f"{nb.stem}.slides.html" for nb in LECTURES)
    for deck, fits in decks.items():
        assert len(fits) >= 2, f"{deck} has {len(fits)} slide(s)"


@pytest.mark.parametrize("lecture", [nb.stem for nb in LECTURES])
def test_every_slide_fits_1280x720(measured, lecture):
    fits = measured[f"{lecture}.slides.html"]
    bad = [f"{fit.label()}: {'; '.join(fit.problems())}" for fit in fits if fit.problems()]
    assert not bad, (
        f"{len(bad)} of {len(fits)} slides do not fit {VIEWPORT['width']} x "
        f"{VIEWPORT['height']}:\n" + "\n".join(bad)
    )


# --------------------------------------------------------------------------------------------
# helper for authors: python tests/test_slides.py [LECTURE-PREFIX ...]
# --------------------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    import tempfile

    reason = _missing_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        decks = build_decks(Path(tmp))
        if argv:
            decks = [d for d in decks if any(d.name.startswith(a) for a in argv)]
            if not decks:
                print(f"no deck matches {argv}", file=sys.stderr)
                return 2
        failing = 0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                for deck in decks:
                    fits = measure_deck(page, deck, _notebook_for(deck))
                    bad = sum(1 for f in fits if f.problems())
                    failing += bad
                    print(f"== {deck.name}: {len(fits)} slides, {bad} overflow")
                    for f in fits:
                        size = (
                            f"{f.extra['width']:.0f}x{f.extra['height']:.0f}px"
                            if f.extra
                            else "empty"
                        )
                        status = "; ".join(f.problems()) or "fits"
                        print(
                            f"  {f.index:3d} h/v {f.h}/{f.v} cell {f.cell}  {size:>11}  {status}"
                            f"  | {f.text}"
                        )
            finally:
                browser.close()
        print(f"{failing} slide(s) overflow; {time.perf_counter() - start:.1f} s")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
