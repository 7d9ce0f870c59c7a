"""Build a JupyterLite site of the course (``make lite``): the browser runs Python with Pyodide.

The site holds the course wheel (``course_utils``, so ``check()`` works in the browser) and the
lectures and exercises that run without torch: torch has no Pyodide build. A notebook needs torch
when one of its code cells imports ``torch`` or ``tqdm`` or a course module built on torch
(``course_utils.training``, ``modern_torch``), or calls a library function that imports
torch in its body (lecture 03's ``lecun_in_frameworks``); those are left out and listed.

Each notebook copied into the site gets one first cell, ``%pip install -q course_utils``: in the
Pyodide kernel ``%pip`` is piplite, which installs the wheel the site ships (its ``pypi/`` index),
and numpy and matplotlib from the Pyodide distribution. The repository's notebooks are untouched.

The kernel loads Pyodide itself from its CDN unless a local Pyodide distribution is given:
``--pyodide PATH_OR_URL`` (a ``pyodide-*.tar.bz2`` release archive or its unpacked folder; it is
passed to ``jupyter lite build --pyodide``) puts it into the site, which then needs no network.

Usage::

    python tools/build_lite.py build/lite [--root COURSE_DIR] [--pyodide PATH_OR_URL]
    python tools/build_lite.py --list       # which notebooks go in, which stay out (and why)

Needs the ``lite`` extra: ``pip install -c constraints.txt -e '.[lite]'``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "exercises")
INSTALL_CELL = (
    "# JupyterLite: install the course from this site's wheel\n%pip install -q course_utils"
)
# The JupyterLab extensions the site carries: the Pyodide kernel, widgets, code highlighting.
EXTENSIONS = (
    "@jupyterlite/pyodide-kernel-extension",
    "@jupyter-widgets/jupyterlab-manager",
    "jupyterlab_pygments",
)
_NEEDS_TORCH = re.compile(
    r"^\s*(?:import|from)\s+(?:torch|tqdm)\b"
    r"|\bcourse_utils\.(?:training|modern_torch)\b"
    r"|^\s*from\s+course_utils\s+import\s+[^\n]*\b(?:training|modern_torch)\b",
    flags=re.M,
)


def _imports_torch(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import) and any(
            a.name.split(".")[0] in ("torch", "tqdm") for a in sub.names
        ):
            return True
        if (
            isinstance(sub, ast.ImportFrom)
            and sub.module
            and (
                sub.module.split(".")[0] in ("torch", "tqdm")
                or _NEEDS_TORCH.search(f"from {sub.module} import x")
            )
        ):
            return True
    return False


def torch_functions(root: Path = ROOT) -> set[str]:
    """Names of the library's functions that import torch in their body (lazily, when called):
    a notebook calling one needs torch though it never imports it. A name also defined without
    torch in another module is left out (``symmetry.train`` is numpy, ``training.train`` is not;
    the training module's import is caught anyway)."""
    with_torch: set[str] = set()
    without: set[str] = set()
    for py in sorted((root / "course_utils").rglob("*.py")):
        if "grading" in py.parts:  # notebooks reach grading only through check()
            continue
        for node in ast.parse(py.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                (with_torch if _imports_torch(node) else without).add(node.name)
    return with_torch - without


def torch_imports(path: Path, functions: set[str] | frozenset = frozenset()) -> list[str]:
    """The lines that make the notebook at ``path`` need torch (empty: it runs without): imports
    of torch or of a course module built on it, and calls of ``functions``."""
    nb = nbformat.read(path, as_version=4)
    calls = (
        re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(functions))) + r")\s*\(")
        if functions
        else None
    )
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for pattern in (_NEEDS_TORCH, calls):
            for m in pattern.finditer(cell.source) if pattern else ():
                line = cell.source[cell.source.rfind("\n", 0, m.start()) + 1 :].split("\n")[0]
                found.append(line.strip())
    return found


def select(root: Path = ROOT) -> tuple[list[Path], dict[Path, list[str]]]:
    """(notebooks for the site, {left-out notebook: the lines that need torch})."""
    keep, out = [], {}
    functions = torch_functions(root)
    for folder in FOLDERS:
        for path in sorted((root / folder).glob("*.ipynb")):
            lines = torch_imports(path, functions)
            if lines:
                out[path] = lines
            else:
                keep.append(path)
    return keep, out


def _lite_copy(source: Path, target: Path) -> None:
    nb = nbformat.read(source, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(INSTALL_CELL))
    nb.cells[0].pop("id", None)
    nbformat.validator.normalize(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def build_wheel(root: Path, dest: Path) -> Path:
    """The course wheel, built from ``root`` with the current environment's setuptools."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(dest), str(root)],
        check=True, cwd=dest.parent,
    )  # fmt: skip
    (wheel,) = dest.glob("course_utils-*.whl")
    return wheel


def _extension_args() -> list[str]:
    share = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    args = []
    for name in EXTENSIONS:
        if not (share / name / "package.json").is_file():
            raise SystemExit(f"the JupyterLab extension {name} is not installed in {share}")
        args += ["--LiteBuildConfig.federated_extensions", str(share / name)]
    return args


def build(out: Path, root: Path = ROOT, pyodide: str | None = None) -> dict:
    """Build the site into ``out`` (replaced); return the summary also written to
    ``out/course-lite.json``."""
    try:
        import jupyterlite_core  # noqa: F401
        import jupyterlite_pyodide_kernel  # noqa: F401
    except ImportError as err:
        raise SystemExit(
            f"{err.name} is missing: pip install -c constraints.txt -e '.[lite]'"
        ) from None
    root, out = Path(root).resolve(), Path(out).resolve()
    keep, left_out = select(root)
    with tempfile.TemporaryDirectory(prefix="course-lite-") as tmp:
        work = Path(tmp)
        (work / "wheels").mkdir()
        wheel = build_wheel(root, work / "wheels")
        contents = work / "contents"
        for path in keep:
            _lite_copy(path, contents / path.relative_to(root))
        lite_dir = work / "lite"  # an empty lite dir: no stray config from the course folder
        lite_dir.mkdir()
        shutil.rmtree(out, ignore_errors=True)
        cmd = [
            sys.executable, "-m", "jupyterlite_core", "build",
            "--lite-dir", str(lite_dir), "--contents", str(contents), "--output-dir", str(out),
            "--piplite-wheels", str(wheel), "--no-sourcemaps",
            # only the students' extensions, not every one the environment holds (nbgrader's)
            "--ignore-sys-prefix", *_extension_args(),
        ]  # fmt: skip
        if pyodide:
            cmd += ["--pyodide", pyodide]
        subprocess.run(cmd, check=True, cwd=lite_dir)
    summary = {
        "wheel": wheel.name,
        "notebooks": [p.relative_to(root).as_posix() for p in keep],
        "left_out_need_torch": {p.relative_to(root).as_posix(): v for p, v in left_out.items()},
        "pyodide": pyodide or "CDN (the kernel downloads Pyodide when it starts)",
    }
    (out / "course-lite.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/build_lite.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out", nargs="?", type=Path, help="the site's folder (e.g. build/lite)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course folder")
    parser.add_argument(
        "--pyodide", default=None, metavar="PATH_OR_URL", help="a local Pyodide distribution"
    )
    parser.add_argument("--list", action="store_true", help="print the selection and stop")
    args = parser.parse_args(argv)
    if args.list:
        keep, left_out = select(args.root)
        for p in keep:
            print(f"in   {p.relative_to(args.root)}")
        for p, lines in left_out.items():
            print(f"out  {p.relative_to(args.root)}  ({lines[0]})")
        return 0
    if args.out is None:
        parser.error("give the output folder, e.g. build/lite")
    summary = build(args.out, args.root, args.pyodide)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"wrote {args.out} ({size / 1e6:.0f} MB): {len(summary['notebooks'])} notebooks, "
          f"{summary['wheel']}; Pyodide: {summary['pyodide']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
