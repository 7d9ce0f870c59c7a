"""The static course site (`make html`) and the slide decks (`make slides`) build offline.

Every page the index lists exists, every image a page shows exists, and no page loads a script
or stylesheet from another host: MathJax, require.js, the widget renderer and reveal.js are copied
into the output folder.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

from course_utils import site

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
APPENDICES = sorted((ROOT / "notebooks").glob("A[0-9]_*.ipynb"))  # optional, linked from a lecture


class _Refs(HTMLParser):
    """Collect the resources a page loads (scripts, styles, images) and the links it offers."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img") and a.get("src"):
            self.loads.append(a["src"])
        if tag == "link" and a.get("href") and "stylesheet" in (a.get("rel") or ""):
            self.loads.append(a["href"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])


def _refs(page: Path) -> _Refs:
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _local_target(page: Path, ref: str) -> Path | None:
    parts = urlsplit(ref)
    if parts.scheme in ("data",) or ref.startswith("#"):
        return None
    assert not parts.scheme and not parts.netloc, f"{page.name} loads {ref} from another host"
    return (page.parent / parts.path).resolve()


@pytest.fixture(scope="module")
def built_site(course_site):
    """The course's site, built from another working folder with the course folder given
    (once per session: tests/conftest.py)."""
    if not LECTURES:
        pytest.skip("no lecture notebooks yet")
    return course_site


def _tiny_course(folder: Path) -> Path:
    """A course folder with one lecture notebook (one heading, one printed output)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 01 · A tiny lecture\n\nText with $x^2$."),
        nbformat.v4.new_code_cell(
            "print(1 + 1)", outputs=[nbformat.v4.new_output("stream", name="stdout", text="2\n")]
        ),
    ]
    (folder / "notebooks").mkdir(parents=True)
    nbformat.write(nb, folder / "notebooks" / "01_tiny.ipynb")
    return folder


def test_cli_builds_the_course_folder_given_with_root(tmp_path, monkeypatch, capsys):
    course = _tiny_course(tmp_path / "course")
    monkeypatch.chdir(tmp_path)  # not the course folder, not the repository
    assert site.main(["html", str(tmp_path / "out"), "--root", str(course)]) == 0
    assert "wrote 1 pages" in capsys.readouterr().out
    assert (tmp_path / "out" / "notebooks" / "01_tiny.html").is_file()
    assert "A tiny lecture" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["html", "slides"])
def test_cli_fails_clearly_without_notebooks(kind, tmp_path, monkeypatch, capsys):
    """Run from a folder that is not a course: an error naming --root, exit 2, nothing written
    (it used to print "wrote 0 pages" and exit 0)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        site.main([kind, str(tmp_path / "out")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "no lecture notebooks" in err and "--root" in err and str(tmp_path) in err
    assert not (tmp_path / "out").exists()
    with pytest.raises(site.NoNotebooksError):
        site.build_slides(tmp_path / "out", root=tmp_path)


def test_fetched_scripts_are_cached_outside_the_package(monkeypatch, tmp_path):
    package = Path(site.__file__).resolve().parent
    monkeypatch.delenv("COURSE_UTILS_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    default = site.cache_dir().resolve()
    assert not default.is_relative_to(package.parent), default  # not site-packages, not the repo
    assert default.is_relative_to(Path.home().resolve())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert site.cache_dir() == tmp_path / "xdg" / "course_utils"
    monkeypatch.setenv("COURSE_UTILS_CACHE", str(tmp_path / "mine"))
    assert site.cache_dir() == tmp_path / "mine"


def test_every_lecture_and_exercise_has_a_page(built_site):
    out, pages = built_site
    rendered = {p.source.resolve() for p in pages}
    for nb in LECTURES + sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb")):
        assert nb.resolve() in rendered
        assert (out / nb.parent.name / (nb.stem + ".html")).is_file()


def test_index_lists_lectures_in_syllabus_order(built_site):
    out, _ = built_site
    refs = _refs(out / "index.html")
    lecture_links = [h for h in refs.links if h.startswith("notebooks/")]
    appendices = [f"notebooks/{nb.stem}.html" for nb in APPENDICES]  # listed after the table
    assert lecture_links == [f"notebooks/{nb.stem}.html" for nb in LECTURES] + appendices
    for href in refs.links:
        if not urlsplit(href).scheme:
            assert (out / href).is_file(), href


def test_pages_load_only_local_files_that_exist(built_site):
    out, pages = built_site
    images = 0
    for page in pages:
        refs = _refs(page.target)
        for ref in refs.loads:
            target = _local_target(page.target, ref)
            if target is not None:
                assert target.is_file(), f"{page.target.name}: missing {ref}"
                images += target.suffix == ".png"
        for href in refs.links:  # links between notebooks were rewritten to the pages
            if not urlsplit(href).scheme and not href.startswith("#"):
                assert not href.split("#")[0].endswith(".ipynb"), href
    n_figures = sum(  # PNG outputs (output metadata may name "image/png" too: alt text)
        "image/png" in output.get("data", {})
        for nb in LECTURES + APPENDICES
        for cell in nbformat.read(nb, as_version=4).cells
        for output in cell.get("outputs", [])
    )
    assert images == n_figures, "every figure in a committed notebook appears as an image file"


def test_mathjax_is_served_from_the_site(built_site):
    out, pages = built_site
    mathjax = [r for r in _refs(pages[0].target).loads if "MathJax.js" in r]
    assert mathjax, "MathJax must be loaded"
    assert _local_target(pages[0].target, mathjax[0]).is_file()


def test_slides_are_offline_reveal_decks(tmp_path):
    if not LECTURES:
        pytest.skip("no lecture notebooks yet")
    decks = site.build_slides(tmp_path, root=ROOT)
    assert [d.name for d in decks] == [f"{nb.stem}.slides.html" for nb in LECTURES]
    for deck in decks:
        text = deck.read_text(encoding="utf-8")
        assert text.count("<section") > 3, f"{deck.name}: lecture cells carry slide metadata"
        for ref in _refs(deck).loads:
            target = _local_target(deck, ref)
            if target is not None:
                assert target.is_file(), f"{deck.name}: missing {ref}"
                if target.suffix == ".css":  # a stylesheet must not pull fonts from a CDN
                    css = target.read_text(encoding="utf-8", errors="replace")
                    assert not re.search(r"@import\s+url\(\s*['\"]?https?:", css), target.name
    assert (tmp_path / "static" / "reveal.js" / "dist" / "reveal.js").is_file()


def test_index_page_renders_in_headless_chromium(built_site, chromium):
    """Open the built index in Debian's Chromium with the network cut off: the syllabus table
    renders with one row per lecture, and a lecture page typesets its math with the local
    MathJax. A screenshot of the index goes to tests/artifacts/ (git-ignored)."""
    from conftest import CHROMIUM_ARGS
    pytest.importorskip("playwright", reason="Playwright's Python package is not installed")
    from playwright.sync_api import sync_playwright

    out, _ = built_site
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    from playwright.sync_api import Error as PlaywrightError

    remote = []

    def visit() -> None:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 900})
                page.on("request", lambda r: remote.append(r.url) if r.url.startswith("http") else None)
                page.goto((out / "index.html").as_uri())
                assert page.locator("tbody tr").count() == len(LECTURES)
                page.screenshot(path=str(artifacts / "site_index.png"), full_page=True)
                page.goto((out / "notebooks" / f"{LECTURES[0].stem}.html").as_uri())
                page.wait_for_function(
                    "window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0"
                    " && document.querySelector('.MathJax, .MathJax_Display, mjx-container')",
                    timeout=60_000,
                )
            finally:
                browser.close()

    try:
        visit()
    except PlaywrightError as err:  # the browser process died under us (seen once in CI, with
        if "closed" not in str(err):  # other tests' browsers running): one fresh try
            raise
        print(f"Chromium closed during the visit ({str(err).splitlines()[0]}); visiting again")
        visit()
    assert not remote, f"the site fetched from the network: {remote[:5]}"
    assert (artifacts / "site_index.png").stat().st_size > 10_000


def test_index_shows_titles_and_study_times_from_the_readme(built_site):
    out, pages = built_site
    index = (out / "index.html").read_text(encoding="utf-8")
    minutes = site.study_minutes(ROOT / "README.md")
    for nb in LECTURES:
        assert minutes.get(nb.stem, "").isdigit(), f"README gives no study time for {nb.stem}"
        assert f"<td>{minutes[nb.stem]}</td>" in index
        assert site.notebook_title(nb) in index


def test_index_links_each_lectures_exercise_slides_and_colab(built_site):
    """Lecture 08's exercise is 07_modern (the README's syllabus says so); every lecture has its
    deck; the Colab links open the lecture and its exercise at the release tag."""
    from course_utils import __version__

    out, _ = built_site
    index = (out / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr><td>(\d\d)</td>(.*?)</tr>", index, flags=re.S)
    assert [n for n, _ in rows] == [nb.stem[:2] for nb in LECTURES]
    exercise_of = site.syllabus_exercises(ROOT / "README.md")
    if (ROOT / "notebooks" / "08_modern_architectures.ipynb").is_file():
        assert exercise_of["08_modern_architectures"] == "07_modern"
    tag = f"https://colab.research.google.com/github/init-course/init-course/blob/v{__version__}/"
    for nb, (_, row) in zip(LECTURES, rows, strict=True):
        assert f'href="slides/{nb.stem}.slides.html"' in row
        assert (out / "slides" / f"{nb.stem}.slides.html").is_file()
        assert f'href="{tag}notebooks/{nb.name}"' in row
        ex = exercise_of.get(nb.stem)
        if ex:
            assert f'href="exercises/{ex}.html"' in row, nb.stem
            assert f'href="{tag}exercises/{ex}.ipynb"' in row, nb.stem
        else:
            assert "exercises/" not in row, nb.stem


def test_text_mode_escapes_are_undone_for_mathjax2():
    fix = site.mathjax2_text_escapes
    assert fix(r"$\frac{2}{\text{fan\_in} + \text{fan\_out}}$") == (
        r"$\frac{2}{\text{fan_in} + \text{fan_out}}$"
    )
    assert fix(r"$\mathrm{fan\_in}$ and a\_b") == r"$\mathrm{fan\_in}$ and a\_b"  # math mode: kept
    assert fix(r"$\textrm{50\% \& \#1}$") == r"$\textrm{50% & #1}$"


def test_no_escaped_underscore_reaches_mathjax_in_text_mode(built_site):
    """MathJax 2 shows \\text{fan\\_in} with its backslash (JupyterLab's MathJax 3 does not)."""
    out, pages = built_site
    bad = re.compile(r"\\(?:text|textrm|mbox)\{[^{}]*\\[_%&#]")
    found = [p.target.name for p in pages if bad.search(p.target.read_text(encoding="utf-8"))]
    assert not found
    markdown = [
        c.source for p in pages for c in nbformat.read(p.source, as_version=4).cells
        if c.cell_type == "markdown"
    ]  # fmt: skip
    assert any(bad.search(text) for text in markdown), "the sources hold the case this tests"
