"""The Colab lines of tools/colab_cell.py: in every notebook, idempotent, and what they do.

The simulated-Colab test runs the lines in a fresh venv: first as they run anywhere else (no
``google.colab``: nothing printed, nothing installed), then with a stub ``google.colab`` package
on the path and ``COURSE_INSTALL_SOURCE`` pointing at a wheel of the course built here (Colab would
install the tagged release from the repository instead), and checks the course imports from that
venv afterwards. The fresh venv sees the test environment's third-party packages (numpy,
matplotlib, ipywidgets...) through a folder of links that leaves out the course itself, so pip
resolves the dependencies without a network, as Colab's preinstalled ones would be.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import nbformat
import pytest

from course_utils import __version__

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("colab_cell", ROOT / "tools" / "colab_cell.py")
colab_cell = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(colab_cell)


def _block_code(block: str) -> str:
    return block + "\n"


def test_lines_pin_the_current_release():
    block = colab_cell.colab_lines()
    assert f"git+https://github.com/init-course/init-course@v{__version__}" in block
    assert "[torch]" not in block  # Colab's own torch
    assert colab_cell.course_version() == __version__
    compile(block, "<colab lines>", "exec")


def test_every_notebook_has_the_current_lines():
    """Fails until `python tools/colab_cell.py` and the exercise generator have run after a
    version change (the message names the notebooks and the command)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "colab_cell.py"), "--check", "--exercises"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def _toy_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport math\nprint(math.pi)"),
        nbformat.v4.new_code_cell("x = 1"),
    ]
    nb.cells[1].execution_count = 1
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="3.14\n")]
    nbformat.write(nb, path)


def test_tool_is_idempotent_and_replaces_an_old_block(tmp_path):
    path = tmp_path / "nb.ipynb"
    _toy_notebook(path)
    old = colab_cell.colab_lines().replace(f"v{__version__}", "v0.0.1")
    assert colab_cell.apply(path, old)
    assert not colab_cell.has_current_block(path, colab_cell.colab_lines())
    block = colab_cell.colab_lines()
    assert colab_cell.apply(path, block)  # the old version's block is replaced
    before = path.read_bytes()
    assert not colab_cell.apply(path, block)  # a second run changes nothing
    assert path.read_bytes() == before
    nb = nbformat.read(path, as_version=4)
    src = nb.cells[1].source
    assert src.count(colab_cell.BEGIN) == 1 and "v0.0.1" not in src
    assert src == block + "\n\n%matplotlib inline\nimport math\nprint(math.pi)"
    # outputs, execution count and the other cells are kept
    assert nb.cells[1].outputs[0].text == "3.14\n" and nb.cells[1].execution_count == 1
    assert nb.cells[2].source == "x = 1"
    assert colab_cell.has_current_block(path, block)


def test_check_mode_reports_and_changes_nothing(tmp_path):
    for folder in ("notebooks", "solutions", "course_utils"):
        (tmp_path / folder).mkdir()
    (tmp_path / "course_utils" / "__init__.py").write_text('__version__ = "9.8.7"\n')
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[project.urls]\nRepository = "https://example.org/o/r"\n'
    )
    _toy_notebook(tmp_path / "notebooks" / "00_a.ipynb")
    before = (tmp_path / "notebooks" / "00_a.ipynb").read_bytes()
    tool = [sys.executable, str(ROOT / "tools" / "colab_cell.py"), "--root", str(tmp_path)]
    r = subprocess.run([*tool, "--check"], capture_output=True, text=True)
    assert r.returncode == 1 and "00_a.ipynb" in r.stderr
    assert (tmp_path / "notebooks" / "00_a.ipynb").read_bytes() == before
    assert subprocess.run(tool, capture_output=True).returncode == 0
    assert (
        "git+https://example.org/o/r@v9.8.7" in (tmp_path / "notebooks" / "00_a.ipynb").read_text()
    )
    assert subprocess.run([*tool, "--check"], capture_output=True).returncode == 0


def test_course_grade_version():
    r = subprocess.run(
        [sys.executable, "-m", "course_utils.grade", "--version"], capture_output=True, text=True
    )
    assert r.returncode == 0 and r.stdout.strip().endswith(__version__)


def _deps_folder(target: Path) -> Path:
    """Links to this environment's installed packages, the course left out."""
    target.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        name = entry.name.lower()
        if name.startswith(("course_utils", "__editable__", "_course_utils")) or name.endswith(
            ".pth"
        ):
            continue
        (target / entry.name).symlink_to(entry)
    return target


@pytest.mark.slow
def test_cell_in_a_simulated_colab(tmp_path):
    """Outside Colab the lines print and install nothing; with a stub google.colab they install
    the course (here from a local wheel) and it imports from the fresh venv."""
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(ROOT)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("course_utils-*.whl")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    fresh_site = Path(
        subprocess.check_output(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    deps = _deps_folder(tmp_path / "deps")
    (fresh_site / "zz_deps.pth").write_text(str(deps) + "\n")
    cell = tmp_path / "cell.py"
    cell.write_text(_block_code(colab_cell.colab_lines()))
    probe = "import course_utils, sys; print(course_utils.__version__, course_utils.__file__)"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["COURSE_INSTALL_SOURCE"] = str(wheel)
    env["PIP_NO_INDEX"] = "1"  # nothing from the network: the dependencies are already there
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    # 1. anywhere else: nothing printed, nothing installed
    away = subprocess.run(
        [str(py), str(cell)], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert away.returncode == 0 and away.stdout == "" and away.stderr == "", away.stderr
    not_there = subprocess.run([str(py), "-c", probe], capture_output=True, cwd=tmp_path, env=env)
    assert not_there.returncode != 0  # the course is not installed in the fresh venv
    assert not list(fresh_site.glob("course_utils*"))

    # 2. in (simulated) Colab: the stub package makes `import google.colab` succeed
    stub = tmp_path / "stub"
    (stub / "google" / "colab").mkdir(parents=True)
    (stub / "google" / "__init__.py").write_text("")
    (stub / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab."""\n')
    colab_env = {**env, "PYTHONPATH": str(stub)}
    # the cell installs and the course imports in the same process, as in a Colab kernel
    inside = subprocess.run(
        [str(py), "-c", cell.read_text() + "\n" + probe],
        capture_output=True, text=True, cwd=tmp_path, env=colab_env,
    )  # fmt: skip
    assert inside.returncode == 0, inside.stderr
    version, where = inside.stdout.split()[-2:]
    assert version == __version__
    assert Path(where).resolve().is_relative_to(fresh_site.resolve())
    assert list(fresh_site.glob(f"course_utils-{__version__}.dist-info"))
    # check() is there too (the grading package came with the wheel)
    after = subprocess.run(
        [str(py), "-c", "from course_utils.grading import check; print(callable(check))"],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert after.returncode == 0 and after.stdout.strip() == "True", after.stderr


def test_readme_links_every_lecture_and_exercise_to_colab_at_the_release():
    from course_utils import site

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    notebooks += sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
    for nb in notebooks:
        url = site.colab_url(nb.relative_to(ROOT).as_posix(), root=ROOT)
        assert f"({url})" in readme, f"README has no Colab link for {nb.name}"
    versions = set(
        re.findall(r"colab\.research\.google\.com/github/[^)\s]*/blob/([^/)\s]+)/", readme)
    )
    assert versions == {f"v{__version__}"}, versions
    # the Windows commands are there for a reader without make
    assert "### Windows without make" in readme and r".venv\Scripts\python" in readme


def test_site_and_slides_leave_the_colab_lines_out():
    """The rendered site and the slide decks drop the block (it does nothing outside Colab; on
    lecture 08's title slide it pushed the content 284 px past the bottom)."""
    from course_utils import site

    block = colab_cell.colab_lines(ROOT)
    assert block.startswith(site.COLAB_BEGIN) and block.rstrip().endswith(site.COLAB_END)
    source = block + "\n\nimport numpy as np\n"
    assert site.strip_colab_lines(source) == "import numpy as np\n"
    assert site.strip_colab_lines("import numpy as np\n") == "import numpy as np\n"
