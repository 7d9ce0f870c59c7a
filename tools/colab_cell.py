"""Put the Colab install lines at the top of the first code cell of every course notebook.

In Google Colab a notebook opened from GitHub arrives alone: the course library is not there.
The lines this tool writes install it there, from the tagged release that matches the notebook
(``git+REPOSITORY@vVERSION``, without the ``[torch]`` extra, so Colab's own torch is used), and do
nothing anywhere else: outside Colab ``import google.colab`` fails and the lines print nothing, so
nbval's recorded outputs stay as they are. ``COURSE_INSTALL_SOURCE`` overrides what is installed
(a wheel, a branch): tests/test_colab.py points it at a locally built wheel.

Usage (from the course folder)::

    python tools/colab_cell.py            # write the lines into notebooks/ and solutions/
    python tools/colab_cell.py --check    # exit 1 and name every notebook without the current lines

Exercises are not written: they get the lines from their solution through the generator
(``python -m course_utils.grading.build exercises solutions exercises``). Running the tool twice
changes nothing the second time; a block from an older version is replaced, not duplicated.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "solutions")
BEGIN = "# --- Google Colab only (written by tools/colab_cell.py; elsewhere this does nothing) ---"
END = "# --- end of the Colab lines ---"


def course_version(root: Path = ROOT) -> str:
    """``__version__`` as written in ``course_utils/__init__.py`` (read, not imported)."""
    text = (root / "course_utils" / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, flags=re.M)
    if not m:
        raise ValueError(f"no __version__ in {root / 'course_utils' / '__init__.py'}")
    return m.group(1)


def repository_url(root: Path = ROOT) -> str:
    """``[project.urls] Repository`` of pyproject.toml: the one place the address is written."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: pytest brings tomli there
        import tomli as tomllib

    with open(root / "pyproject.toml", "rb") as f:
        urls = tomllib.load(f)["project"].get("urls", {})
    if "Repository" not in urls:
        raise ValueError("pyproject.toml has no [project.urls] Repository")
    return urls["Repository"].rstrip("/")


def install_source(root: Path = ROOT) -> str:
    """What pip installs in Colab: the release tag ``v{version}`` of the repository."""
    return f"git+{repository_url(root)}@v{course_version(root)}"


def colab_lines(root: Path = ROOT) -> str:
    """The block, BEGIN to END, that starts the first code cell."""
    source = install_source(root)
    return f"""{BEGIN}
try:
    import google.colab  # noqa: F401  (present only in Colab)
except ImportError:
    pass
else:  # install the course, release v{course_version(root)}, with Colab's own torch
    import importlib
    import os
    import subprocess
    import sys

    _source = os.environ.get("COURSE_INSTALL_SOURCE", "{source}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", _source], check=True)
    importlib.invalidate_caches()
{END}"""


def _strip_block(source: str) -> str:
    """The cell's source without an existing block (any version) and the blank line after it."""
    if not source.startswith(BEGIN):
        return source
    end = source.find(END)
    if end < 0:
        raise ValueError("the Colab block has no end marker: fix the cell by hand")
    return source[end + len(END) :].lstrip("\n")


def with_block(source: str, block: str) -> str:
    """``source`` with ``block`` (and one blank line) on top, replacing an older block."""
    rest = _strip_block(source)
    return block + "\n\n" + rest if rest else block


def first_code_cell(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            return cell
    return None


def has_current_block(path: Path, block: str) -> bool:
    nb = nbformat.read(path, as_version=4)
    cell = first_code_cell(nb)
    return cell is not None and cell.source.startswith(block + "\n")


def apply(path: Path, block: str) -> bool:
    """Write the block into the notebook at ``path``; True when the file changed. Only the first
    code cell's source changes (outputs, execution counts and metadata are kept)."""
    nb = nbformat.read(path, as_version=4)
    cell = first_code_cell(nb)
    if cell is None:
        raise ValueError(f"{path}: no code cell")
    new = with_block(cell.source, block)
    if new == cell.source:
        return False
    cell.source = new
    nbformat.write(nb, path)
    return True


def notebooks(root: Path = ROOT, folders: tuple[str, ...] = FOLDERS) -> list[Path]:
    return [
        p
        for folder in folders
        for p in sorted((root / folder).glob("*.ipynb"))
        if ".ipynb_checkpoints" not in p.parts
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/colab_cell.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 when a notebook lacks the current lines",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the course folder")
    parser.add_argument(
        "--exercises",
        action="store_true",
        help="with --check, also check exercises/ (generated from solutions/)",
    )
    args = parser.parse_args(argv)
    block = colab_lines(args.root)
    if args.check:
        folders = FOLDERS + (("exercises",) if args.exercises else ())
        stale = [p for p in notebooks(args.root, folders) if not has_current_block(p, block)]
        for p in stale:
            print(f"{p.relative_to(args.root)}: missing or outdated Colab lines", file=sys.stderr)
        if stale:
            print(
                "run: python tools/colab_cell.py && python -m course_utils.grading.build "
                "exercises solutions exercises",
                file=sys.stderr,
            )
        return 1 if stale else 0
    changed = [p for p in notebooks(args.root) if apply(p, block)]
    for p in changed:
        print(f"updated {p.relative_to(args.root)}")
    print(f"{len(changed)} notebook(s) updated; install source {install_source(args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
