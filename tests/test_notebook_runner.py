"""One notebook runner: the kernel environment and notebook execution live in
course_utils.notebook_runner (environment written once in kernel_env), used by the notebook
builder, the bench and the grader; the bench does not import the grading package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from course_utils import kernel_env, notebook_runner

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_profiles_differ_only_in_code_paths():
    default = kernel_env.kernel_environment("default")
    portable = kernel_env.kernel_environment("portable")
    assert default == kernel_env.KERNEL_ENV and default is not kernel_env.KERNEL_ENV
    changed = {k for k in portable if portable.get(k) != default.get(k)}
    assert changed == {
        "OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES", "ATEN_CPU_CAPABILITY", "MKL_CBWR",
        "MKL_ENABLE_INSTRUCTIONS",
    }  # fmt: skip
    # threads and hash seed are the same: only the SIMD/BLAS code paths move
    for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONHASHSEED"):
        assert portable[key] == default[key] == kernel_env.KERNEL_ENV[key]


def test_profile_from_the_environment_and_bad_names(monkeypatch):
    monkeypatch.setenv(kernel_env.PROFILE_VARIABLE, "portable")
    assert kernel_env.kernel_environment()["OPENBLAS_CORETYPE"] == "Sandybridge"
    monkeypatch.setenv(kernel_env.PROFILE_VARIABLE, "")
    assert kernel_env.kernel_environment()["OPENBLAS_CORETYPE"] == "Haswell"
    with pytest.raises(ValueError, match="profile"):
        kernel_env.kernel_environment("fast")
    monkeypatch.setenv(kernel_env.PROFILE_VARIABLE, "nope")
    with pytest.raises(ValueError, match="profile"):
        kernel_env.kernel_environment()


def test_execute_notebook_rejects_a_bad_timeout(tmp_path):
    with pytest.raises(ValueError, match="timeout"):
        notebook_runner.execute_notebook(tmp_path / "x.ipynb", timeout=0)


def test_build_bench_and_grader_share_the_runner():
    build = _imports(ROOT / "course_utils" / "grading" / "build.py")
    bench = _imports(ROOT / "benchmarks" / "run.py")
    runner = _imports(ROOT / "course_utils" / "grading" / "runner.py")
    assert "course_utils.notebook_runner.execute_notebook" in build
    assert not any(n.startswith("nbclient") for n in build)
    assert "course_utils.notebook_runner.execute_notebook" in bench
    assert not any(n.startswith("course_utils.grading") for n in bench), sorted(bench)
    assert "course_utils.notebook_runner.start_kernel" in runner
    assert "course_utils.notebook_runner.kernel_environment" in runner
    assert not any(n.startswith("jupyter_client") for n in runner)
    # nothing else in the library starts kernels or executes notebooks
    for path in (ROOT / "course_utils").rglob("*.py"):
        if path.name == "notebook_runner.py":
            continue
        names = _imports(path)
        assert "nbclient" not in names and "nbclient.NotebookClient" not in names, path
        assert "jupyter_client.manager" not in names, path


def test_executes_in_place_with_the_chosen_profile(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os; print(os.environ['OPENBLAS_CORETYPE'], os.getcwd())")]
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    for profile, expected in (("default", "Haswell"), ("portable", "Sandybridge")):
        seconds = notebook_runner.execute_notebook(path, timeout=60, profile=profile)
        out = nbformat.read(path, as_version=4).cells[0].outputs[0]["text"].split()
        assert out == [expected, str(tmp_path.resolve())] and seconds > 0
        assert "execution" not in nbformat.read(path, as_version=4).cells[0].metadata
