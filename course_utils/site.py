"""Render the committed notebooks into an offline static site and reveal.js slide decks.

Nothing is executed: the notebooks are committed with their outputs, and this module only
converts them. Every script a page loads (MathJax, require.js, the widget renderer, reveal.js) is
copied into the output folder, so the site and the slides work without a network.

Where the scripts come from (at build time, never at view time):

- MathJax 2: the ``jupyter-server-mathjax`` package installed with the course.
- require.js, ``@jupyter-widgets/html-manager`` (the widget renderer), reveal.js and jQuery: the npm
  registry, fetched once with ``npm pack`` (Node.js) into a per-user cache folder and reused
  afterwards: ``$COURSE_UTILS_CACHE``, else ``$XDG_CACHE_HOME/course_utils`` or
  ``~/.cache/course_utils`` (``~/Library/Caches/course_utils`` on macOS), never the package folder.

The course folder (the one holding ``notebooks/``, ``exercises/`` and ``README.md``) is given with
``--root`` and defaults to the current folder, so an installed package builds any checkout.

Usage::

    python -m course_utils.site html build/site [--root COURSE_DIR]      # make html
    python -m course_utils.site slides build/slides [--root COURSE_DIR]  # make slides
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_utils import site_a11y


def cache_dir() -> Path:
    """Where fetched scripts are kept between builds (outside the installed package)."""
    if os.environ.get("COURSE_UTILS_CACHE"):
        return Path(os.environ["COURSE_UTILS_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "course_utils"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "course_utils"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "course_utils" / "Cache"
    return Path.home() / ".cache" / "course_utils"


class NoNotebooksError(ValueError):
    """The course folder holds no lecture notebook (``notebooks/NN_*.ipynb``)."""

#: npm packages the pages load, pinned; (package spec, files or folders to copy, target folder)
NPM_PACKAGES = {
    "requirejs": ("requirejs@2.3.7", ["require.js"]),
    "html-manager": ("@jupyter-widgets/html-manager@1.0.15", ["dist"]),
    "reveal.js": ("reveal.js@4.6.1", ["dist", "plugin"]),
    "jquery": ("jquery@3.7.1", ["dist/jquery.min.js"]),
    # not served: injected by tests/test_accessibility.py to audit every page (WCAG 2.1 AA)
    "axe-core": ("axe-core@4.14.1", ["axe.min.js"]),
}
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"

# A lab template without the Mermaid loader (it points at a CDN and the course has no diagrams).
_TEMPLATE_OVERRIDE = """{%- extends 'BASE/index.html.j2' -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""

# Slides only: layout that lets a slide fit 1280 x 720 (tests/test_slides.py measures it). No
# prompts, smaller code that wraps instead of running off the right edge, figures that leave room
# for their caption.
_SLIDES_CSS = """{%- block html_head_css -%}
<style type="text/css">
:root {
  --jp-cell-prompt-width: 0px;
  --jp-code-font-size: 14px;
  --jp-content-font-size1: 19px;
}
.reveal .jp-InputPrompt, .reveal .jp-OutputPrompt { display: none; }
.reveal .jp-Cell-inputWrapper pre, .reveal .jp-OutputArea-output pre {
  white-space: pre-wrap; overflow-wrap: anywhere; box-sizing: border-box;
}
.reveal .jp-OutputArea-output img { max-width: 100%; max-height: 400px; width: auto; height: auto; }
.reveal .slides section h1 { font-size: 40px; }
.reveal .slides section h2 { font-size: 30px; }
</style>
{%- endblock html_head_css -%}
"""


@dataclass
class Page:
    """One rendered notebook: where it came from and where it went."""

    source: Path
    target: Path
    title: str
    minutes: str


# --------------------------------------------------------------------------------------------
# vendored scripts
# --------------------------------------------------------------------------------------------
def _npm_package(name: str) -> Path:
    """Extract the pinned npm package ``name`` into the vendor cache (once) and return its path."""
    spec, _ = NPM_PACKAGES[name]
    dest = cache_dir() / "vendor" / name
    stamp = dest / ".spec"
    if stamp.exists() and stamp.read_text() == spec:
        return dest
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            f"npm is needed once to fetch {spec} for the offline site; install Node.js"
        )
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    out = subprocess.run(
        [npm, "pack", spec, "--silent", "--pack-destination", str(dest)],
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = dest / out.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as tar:
        tar.extractall(dest, filter="data")
    tarball.unlink()
    stamp.write_text(spec)
    return dest


def _copy_npm(name: str, target: Path) -> None:
    pkg = _npm_package(name) / "package"
    _, items = NPM_PACKAGES[name]
    target.mkdir(parents=True, exist_ok=True)
    for item in items:
        src = pkg / item
        if src.is_dir():
            shutil.copytree(src, target / Path(item).name, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target / Path(item).name)


def _copy_mathjax(target: Path) -> None:
    import jupyter_server_mathjax

    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(static, target, dirs_exist_ok=True)


def vendor_scripts(static: Path, *, reveal: bool = False) -> dict[str, str]:
    """Copy every script a page needs into ``static``; return their paths relative to it."""
    _copy_mathjax(static / "mathjax")
    _copy_npm("requirejs", static / "requirejs")
    _copy_npm("html-manager", static / "html-manager")
    urls = {
        "mathjax": f"mathjax/MathJax.js?config={MATHJAX_CONFIG}",
        "require": "requirejs/require.js",
        "widgets": "html-manager/dist/embed-amd.js",
    }
    if reveal:
        _copy_npm("reveal.js", static / "reveal.js")
        _copy_npm("jquery", static / "jquery")
        urls["reveal"] = "reveal.js"
        urls["jquery"] = "jquery/jquery.min.js"
    return urls


# --------------------------------------------------------------------------------------------
# notebooks
# --------------------------------------------------------------------------------------------
def notebook_title(path: Path) -> str:
    """The notebook's title: its first Markdown heading without the "NN ·" prefix."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, flags=re.M)
            if m:
                return re.sub(r"^\d\d\s*[·\-:]\s*", "", m.group(1).strip())
    return path.stem


def study_minutes(readme: Path) -> dict[str, str]:
    """Study time per lecture from the README's syllabus table (the one place it is written)."""
    minutes = {}
    if not readme.is_file():
        return minutes
    for line in readme.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*(\d\d)\s*\|.*\(notebooks/([^)]+)\.ipynb\)", line)
        if m:
            cells = [c.strip() for c in line.strip("|").split("|")]
            minutes[m.group(2)] = cells[3]
    return minutes


def syllabus_exercises(readme: Path) -> dict[str, str]:
    """Each lecture's exercise from the README's syllabus table (lecture 08's is 07_modern)."""
    found = {}
    if not readme.is_file():
        return found
    for line in readme.read_text(encoding="utf-8").splitlines():
        lecture = re.match(r"\|\s*\d\d\s*\|.*\(notebooks/([^)]+)\.ipynb\)", line)
        exercise = re.search(r"\(exercises/([^)]+)\.ipynb\)", line)
        if lecture and exercise:
            found[lecture.group(1)] = exercise.group(1)
    return found


def repository_url(root: Path | None = None) -> str:
    """``[project.urls] Repository``: from ``root/pyproject.toml`` when there is one, else from the
    installed package's metadata (the one place the address is written)."""
    pyproject = None if root is None else Path(root) / "pyproject.toml"
    if pyproject is not None and pyproject.is_file():
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10: no tomllib; read the one line
            match = re.search(r'^Repository\s*=\s*"([^"]+)"', pyproject.read_text(), re.M)
            url = match.group(1) if match else None
        else:
            with open(pyproject, "rb") as f:
                url = tomllib.load(f).get("project", {}).get("urls", {}).get("Repository")
        if url:
            return url.rstrip("/")
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        for entry in metadata("course_utils").get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            if label.strip().lower() == "repository":
                return url.strip().rstrip("/")
    except PackageNotFoundError:
        pass
    raise ValueError("no Repository URL in pyproject.toml or the installed metadata")


def colab_url(notebook: str, root: Path | None = None) -> str:
    """Google Colab's address of ``notebook`` (a path in the repository, ``notebooks/00_x.ipynb``)
    at the release tag ``v{__version__}``, the release its first cell installs in Colab."""
    from course_utils import __version__

    repo = repository_url(root)
    m = re.match(r"https://github\.com/([^/]+/[^/]+?)(?:\.git)?$", repo)
    if not m:
        raise ValueError(f"Colab opens notebooks from GitHub only; the repository is {repo}")
    return f"https://colab.research.google.com/github/{m.group(1)}/blob/v{__version__}/{notebook}"


# MathJax 2 (the site's) typesets \text{...} literally, so \text{fan\_in} shows its backslash;
# MathJax 3 in JupyterLab reads the escape as "_". nbconvert's markdown keeps math as written, so
# the escapes are undone here, inside text-mode arguments only, before rendering.
_TEXT_MODE = re.compile(r"\\(text|textrm|textit|textbf|textsf|texttt|mbox)\{([^{}]*)\}")
_TEXT_ESCAPE = re.compile(r"\\([_%&#])")


def _unescape_text(m: re.Match) -> str:
    return "\\" + m.group(1) + "{" + _TEXT_ESCAPE.sub(r"\1", m.group(2)) + "}"


def mathjax2_text_escapes(source: str) -> str:
    r"""``\text{fan\_in}`` -> ``\text{fan_in}`` (also ``\%``, ``\&``, ``\#``) in Markdown source."""
    return _TEXT_MODE.sub(_unescape_text, source)


def _relink(text: str) -> str:
    """Links between notebooks point at the rendered pages instead of the .ipynb files."""
    return re.sub(r'href="(?!https?:)([^"#]+?)\.ipynb(#[^"]*)?"', r'href="\1.html\2"', text)


def _exporter(kind: str, urls: dict[str, str], depth: int):
    from nbconvert import HTMLExporter, SlidesExporter
    from nbconvert.preprocessors import ExtractOutputPreprocessor
    from traitlets.config import Config

    up = "../" * depth
    c = Config()
    c.HTMLExporter.mathjax_url = up + urls["mathjax"]
    c.HTMLExporter.require_js_url = up + urls["require"]
    c.HTMLExporter.widget_renderer_url = up + urls["widgets"]
    c.HTMLExporter.jquery_url = up + urls.get("jquery", urls["require"])
    base = "reveal" if kind == "slides" else "lab"
    template_dir = cache_dir() / "templates"
    template_dir.mkdir(parents=True, exist_ok=True)
    template = (
        _TEMPLATE_OVERRIDE.replace("BASE", base)
        + (_SLIDES_CSS if kind == "slides" else "")
        + site_a11y.TEMPLATE_BLOCKS  # alt text from the figures' metadata, contrast, links
    )
    (template_dir / f"course_{base}.html.j2").write_text(template)
    c.HTMLExporter.extra_template_paths = [str(template_dir)]
    c.HTMLExporter.template_file = f"course_{base}.html.j2"
    if kind == "slides":
        c.SlidesExporter.reveal_url_prefix = up + urls["reveal"]
        c.SlidesExporter.reveal_theme = (
            "white"  # its fonts ship with reveal.js (simple imports Google Fonts)
        )
        exporter = SlidesExporter(config=c)
    else:
        exporter = HTMLExporter(config=c)
        exporter.register_preprocessor(ExtractOutputPreprocessor(config=c), enabled=True)
    return exporter


#: The Colab-only install lines at the top of each notebook's first code cell (written by
#: tools/colab_cell.py; a test keeps these markers equal to the tool's). They do nothing outside
#: Colab, so the site and the slides leave them out (on a slide they pushed the title off).
COLAB_BEGIN = "# --- Google Colab only"
COLAB_END = "# --- end of the Colab lines ---"


def strip_colab_lines(source: str) -> str:
    """``source`` without a leading Colab block (unchanged when it has none)."""
    if not source.startswith(COLAB_BEGIN):
        return source
    end = source.find(COLAB_END)
    return source if end < 0 else source[end + len(COLAB_END) :].lstrip("\n")


def _render(source: Path, target: Path, exporter) -> None:
    nb = site_a11y.strip_widgets(nbformat.read(source, as_version=4))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = mathjax2_text_escapes(cell.source)
        elif cell.cell_type == "code":
            cell.source = strip_colab_lines(cell.source)
    files_dir = f"{target.stem}_files"
    resources = {
        "metadata": {"name": source.stem, "path": str(source.parent)},
        "output_files_dir": files_dir,
    }
    body, res = exporter.from_notebook_node(nb, resources=resources)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_relink(body), encoding="utf-8")
    for name, data in res.get("outputs", {}).items():
        out = target.parent / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)


def _sources(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in (root / folder).glob("[0-9][0-9]_*.ipynb"))


def _appendices(root: Path) -> list[Path]:
    """Optional appendix notebooks (``notebooks/A1_*.ipynb``): rendered, listed after the table."""
    return sorted((root / "notebooks").glob("A[0-9]_*.ipynb"))


def course_root(root: Path | str | None = None) -> Path:
    """The course folder (default: the current folder); raises when it has no lecture notebook."""
    root = Path.cwd() if root is None else Path(root)
    if not _sources(root, "notebooks"):
        raise NoNotebooksError(
            f"no lecture notebooks (notebooks/NN_*.ipynb) in {root.resolve()}: pass the course "
            "folder, the one holding notebooks/ and exercises/, as --root COURSE_DIR"
        )
    return root


def build_html(out: Path, root: Path | str | None = None, *, slides: bool = True) -> list[Page]:
    """Render lectures and exercises of the course folder ``root`` (default: the current folder)
    into ``out`` with an index page in syllabus order. With ``slides`` (the default) each lecture's
    reveal.js deck goes to ``out/slides/`` too, sharing ``out/static``, and the index links it."""
    root = course_root(root)
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    urls = vendor_scripts(out / "static", reveal=slides)
    urls = {k: "static/" + v for k, v in urls.items()}
    exporter = _exporter("html", urls, depth=1)
    pages = []
    minutes = study_minutes(root / "README.md")
    for folder in ("notebooks", "exercises"):
        for src in _sources(root, folder):
            target = out / folder / (src.stem + ".html")
            _render(src, target, exporter)
            pages.append(Page(src, target, notebook_title(src), minutes.get(src.stem, "")))
    for src in _appendices(root):  # linked from their lecture, listed below the index table
        target = out / "notebooks" / (src.stem + ".html")
        _render(src, target, exporter)
        pages.append(Page(src, target, notebook_title(src), ""))
    decks = {}
    if slides:
        deck_exporter = _exporter("slides", urls, depth=1)
        for src in _sources(root, "notebooks"):
            decks[src.stem] = out / "slides" / f"{src.stem}.slides.html"
            _render(src, decks[src.stem], deck_exporter)
    exercise_of = syllabus_exercises(root / "README.md")
    try:
        colab = functools.partial(colab_url, root=root)
        colab("notebooks/x.ipynb")
    except ValueError:  # not a GitHub repository: no Colab column
        colab = None
    index = _index_page(pages, out, exercise_of=exercise_of, decks=decks, colab=colab)
    (out / "index.html").write_text(index, encoding="utf-8")
    (out / "manifest.json").write_text(
        json.dumps([str(p.target.relative_to(out)) for p in pages], indent=1)
    )
    return pages


def build_slides(out: Path, root: Path | str | None = None) -> list[Path]:
    """One reveal.js deck per lecture of the course folder ``root`` (default: the current folder),
    ``out/NN_topic.slides.html``, scripts copied beside them."""
    root = course_root(root)
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    urls = vendor_scripts(out / "static", reveal=True)
    urls = {k: "static/" + v for k, v in urls.items()}
    exporter = _exporter("slides", urls, depth=0)
    decks = []
    for src in _sources(root, "notebooks"):
        target = out / f"{src.stem}.slides.html"
        _render(src, target, exporter)
        decks.append(target)
    return decks


def _index_page(
    pages: list[Page],
    out: Path,
    *,
    exercise_of: dict[str, str] | None = None,
    decks: dict[str, Path] | None = None,
    colab=None,
) -> str:
    """The syllabus table: each lecture with its study time, its exercise (the README's syllabus
    says which; else the exercise of the same name), its slides, and Colab links."""
    exercise_of = exercise_of or {}
    decks = decks or {}
    lectures = [
        p for p in pages if p.source.parent.name == "notebooks" and p.source.stem[:2].isdigit()
    ]
    appendices = [
        f'<a href="{p.target.relative_to(out).as_posix()}">{html.escape(p.title)}</a>'
        for p in pages
        if p.source.parent.name == "notebooks" and not p.source.stem[:2].isdigit()
    ]
    more = f"<p>Optional appendices: {' &middot; '.join(appendices)}</p>" if appendices else ""
    exercises = {p.source.stem: p for p in pages if p.source.parent.name == "exercises"}

    def rel(path: Path) -> str:
        return path.relative_to(out).as_posix()

    def colab_link(page: Page, label: str) -> str:
        url = colab(f"{page.source.parent.name}/{page.source.name}")
        return f'<a href="{html.escape(url)}">{label}</a>'

    rows = []
    for p in lectures:
        stem = p.source.stem
        ex = exercises.get(exercise_of.get(stem, stem))
        ex_link = (
            f'<a href="{rel(ex.target)}">{html.escape(ex.source.stem)}</a>' if ex else "&mdash;"
        )
        deck = decks.get(stem)
        deck_link = f'<a href="{rel(deck)}">slides</a>' if deck else "&mdash;"
        cells = [
            f"<td>{html.escape(stem[:2])}</td>",
            f'<td><a href="{rel(p.target)}">{html.escape(p.title)}</a></td>',
            f"<td>{html.escape(p.minutes) or '&mdash;'}</td>",
            f"<td>{ex_link}</td>",
            f"<td>{deck_link}</td>",
        ]
        if colab is not None:
            links = [colab_link(p, "lecture")] + ([colab_link(ex, "exercise")] if ex else [])
            cells.append(f"<td>{' &middot; '.join(links)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = ["#", "Lecture", "Study time (min)", "Exercise", "Slides"]
    head += ["Open in Colab"] if colab is not None else []
    header = "".join(f"<th>{h}</th>" for h in head)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Weight initialization: a hands-on course</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.5; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ccc; padding: .4rem .6rem; text-align: left; }}
th {{ background: #f0f4f8; }}
a {{ color: #0072B2; }}
</style>
</head>
<body>
<h1>Weight initialization: a hands-on course</h1>
<p>Why the starting point of training matters, from the symmetry problem to LeCun, Glorot and He
initialization, orthogonal matrices and LSUV. Each lecture is a notebook rendered with its outputs;
each exercise is the student version that <code>check()</code> and the grader work with.</p>
<table>
<thead><tr>{header}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
{more}
<p>Run the notebooks yourself: <code>make lab</code> (or open one in Colab from the table: its first
cell installs the course there). Source and tests: <code>make test</code>.</p>
</body>
</html>
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.site", description=__doc__)
    parser.add_argument("kind", choices=["html", "slides"])
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        metavar="COURSE_DIR",
        help="the course folder holding notebooks/ and exercises/ (default: the current folder)",
    )
    parser.add_argument(
        "--no-slides", action="store_true", help="html: leave the slide decks out of the site"
    )
    args = parser.parse_args(argv)
    try:
        if args.kind == "html":
            pages = build_html(args.out, root=args.root, slides=not args.no_slides)
            print(f"wrote {len(pages)} pages and {args.out / 'index.html'}")
        else:
            decks = build_slides(args.out, root=args.root)
            print(f"wrote {len(decks)} slide decks to {args.out}")
    except NoNotebooksError as err:
        parser.error(str(err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
