"""`make lite` (tools/build_lite.py): the JupyterLite site builds with the course wheel and the
notebooks that run without torch; check() imports where Pyodide can run it.

Running the notebooks in Pyodide cannot be tested here: the kernel loads Pyodide from its CDN (or
a local Pyodide distribution given with --pyodide), and neither is available on this machine.
What is tested is the site's content and what Pyodide needs from the course: no torch in the
notebooks it holds, and `course_utils.grading.check` importable and working without subprocess,
multiprocessing or the sandbox (modules that Pyodide lacks or cannot use are blocked).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("build_lite", ROOT / "tools" / "build_lite.py")
build_lite = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_lite)


def test_selection_leaves_out_exactly_the_torch_notebooks():
    keep, left_out = build_lite.select(ROOT)
    assert keep and left_out
    for path in keep:
        text = "\n".join(
            c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
        )
        assert "import torch" not in text and "course_utils.training" not in text, path
    for lines in left_out.values():
        assert lines  # each left-out notebook names the line that needs torch
    names = {p.relative_to(ROOT).as_posix() for p in keep}
    assert "notebooks/01_symmetry.ipynb" in names and "exercises/03_lecun.ipynb" in names
    assert "notebooks/05_he.ipynb" not in names  # imports torch
    assert "notebooks/03_lecun.ipynb" not in names  # calls experiments.lecun_in_frameworks


def test_selection_sees_course_modules_and_functions_built_on_torch(tmp_path):
    """Imports of torch or of course_utils.training, and calls of a library function that imports
    torch in its body (lecture 03 calls experiments.lecun_in_frameworks), need torch; numpy-only
    modules (lsuv's numpy half, symmetry.train) do not."""
    functions = build_lite.torch_functions(ROOT)
    assert "lecun_in_frameworks" in functions and "train" not in functions
    cases = {
        "from course_utils.training import train": True,
        "from course_utils import data, training": True,
        "import torch.nn as nn": True,
        "for k in ex.lecun_in_frameworks(10, 300, 0):\n    pass": True,
        "from course_utils.lsuv import lsuv\nfrom course_utils.symmetry import train": False,
        "x = 1  # torch is mentioned only in a comment": False,
    }
    for i, code in enumerate(cases):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(code)]
        nbformat.write(nb, tmp_path / f"{i}.ipynb")
    found = [bool(build_lite.torch_imports(tmp_path / f"{i}.ipynb", functions)) for i in range(6)]
    assert found == list(cases.values())


# What Pyodide lacks or cannot run (no processes, no sandbox) and torch (no Pyodide build).
_BLOCKED = ("torch", "tqdm", "subprocess", "multiprocessing", "resource", "fcntl", "pty",
            "termios", "bubblewrap", "sqlite3", "ssl", "lzma", "tkinter", "venv")  # fmt: skip


def test_check_works_without_what_pyodide_lacks():
    code = f"""
import sys
# numpy first: Pyodide ships it with what it needs (on Python 3.10 its `platform` import pulls
# in subprocess, which Pyodide's stdlib has though it cannot start a process)
import numpy as np
for name in {_BLOCKED!r}:
    sys.modules[name] = None
from course_utils.grading import check

def sum_variance(n, var_w, var_x, mean_x=0.0):
    return n * var_w * (var_x + mean_x**2)

def wrong(n, var_w, var_x, mean_x=0.0):
    return n * var_w * var_x

good, bad = check("sum_variance", sum_variance), check("sum_variance", wrong)
print("RESULT", good.passed if hasattr(good, "passed") else good, bad.passed if hasattr(bad, "passed") else bad)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "RESULT" in r.stdout, r.stdout[-2000:]


def _lite_installed() -> bool:
    return all(
        importlib.util.find_spec(m) for m in ("jupyterlite_core", "jupyterlite_pyodide_kernel")
    )


@pytest.mark.slow
@pytest.mark.skipif(not _lite_installed(), reason="jupyterlite-core / -pyodide-kernel not "
                    "installed (pip install -c constraints.txt -e '.[lite]')")  # fmt: skip
def test_make_lite_builds_the_site(tmp_path):
    out = tmp_path / "lite"
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_lite.py"), str(out), "--root", str(ROOT)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "course-lite.json").read_text())
    keep, left_out = build_lite.select(ROOT)
    assert summary["notebooks"] == [p.relative_to(ROOT).as_posix() for p in keep]
    for rel in summary["notebooks"]:
        nb = nbformat.read(out / "files" / rel, as_version=4)
        assert nb.cells[0].source == build_lite.INSTALL_CELL  # piplite installs the course
    for rel in summary["left_out_need_torch"]:
        assert not (out / "files" / rel).exists()
    # the course wheel is indexed for piplite, and the site's config points piplite at it
    wheel = summary["wheel"]
    assert (out / "pypi" / wheel).is_file()
    assert "course-utils" in json.loads((out / "pypi" / "all.json").read_text())
    config = json.loads((out / "jupyter-lite.json").read_text())["jupyter-config-data"]
    urls = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert any(u.startswith("./pypi/all.json") for u in urls["pipliteUrls"])
    names = {e["name"] for e in config["federated_extensions"]}
    assert names == set(build_lite.EXTENSIONS)  # no instructor extension (nbgrader) in the site
    assert (out / "index.html").is_file() and (out / "lab" / "index.html").is_file()
