"""The Gradescope autograder zip: built from the course, run on a solution and on a blank.

The zip is unzipped into a temporary folder that stands for Gradescope's ``/autograder``
(``AUTOGRADER_ROOT``), and ``run_autograder`` runs with this environment's Python
(``AUTOGRADER_PYTHON``) instead of the venv ``setup.sh`` would create.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from course_utils.grading import autograder
from course_utils.grading.registry import questions_for

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "03_lecun"
STATUSES = {"passed", "failed"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory):
    return autograder.build(EXERCISE, out_dir=tmp_path_factory.mktemp("ag"), root=ROOT)


def test_zip_holds_setup_run_and_the_course_wheel(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        setup = zf.read("setup.sh").decode()
        run = zf.read("run_autograder").decode()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    wheels = [n for n in names if n.startswith("course_utils-") and n.endswith(".whl")]
    assert {"setup.sh", "run_autograder"} <= names and len(wheels) == 1
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert "bubblewrap" in setup and "constraints.txt" in names
    # grading exercise 03 needs no torch: setup.sh installs none (tests below cover one that does)
    assert "torch==" not in setup and "[grade]" in setup
    assert f"run {EXERCISE}" in run and "AUTOGRADER_ROOT" in run
    assert zip_path.stat().st_size < 2_000_000


def test_build_rejects_an_unknown_exercise(tmp_path):
    with pytest.raises(ValueError, match="exercise"):
        autograder.build("99_nothing", out_dir=tmp_path, root=ROOT)


def _validate(results: dict) -> None:
    """Gradescope's results.json: top-level fields and one well-formed test per question."""
    assert isinstance(results["score"], float)
    assert isinstance(results["execution_time"], float) and results["execution_time"] >= 0
    assert isinstance(results["output"], str) and results["output"]
    ids = [q.id for q in questions_for(EXERCISE)]
    assert [t["name"].split(":")[0] for t in results["tests"]] == ids
    for t in results["tests"]:
        assert set(t) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert t["status"] in STATUSES and t["visibility"] in VISIBILITY
        assert 0.0 <= t["score"] <= t["max_score"]
        assert t["output"], "every question carries a message"
        # hidden inputs are shapes and seeds drawn at grading time: no tuple of sizes may appear
        assert not re.search(r"\(\d+,\s*\d+", t["output"]), t["output"]
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


def _run(zip_path: Path, tmp_path: Path, notebook: Path) -> dict:
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    shutil.copy(notebook, root / "submission" / notebook.name)
    before = (root / "submission" / notebook.name).read_bytes()
    script = root / "source" / "run_autograder"
    script.chmod(0o755)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    subprocess.run(["bash", str(script)], env=env, check=True, capture_output=True, timeout=600)
    results = json.loads((root / "results" / "results.json").read_text())
    assert (root / "submission" / notebook.name).read_bytes() == before  # never written
    return results


def test_solution_gets_full_marks(zip_path, tmp_path):
    results = _run(zip_path, tmp_path, ROOT / "solutions" / f"{EXERCISE}.ipynb")
    _validate(results)
    assert all(t["status"] == "passed" for t in results["tests"]), results
    assert results["score"] == pytest.approx(sum(q.points for q in questions_for(EXERCISE)))


def test_blank_gets_zero_with_reasons(zip_path, tmp_path):
    results = _run(zip_path, tmp_path, ROOT / "exercises" / f"{EXERCISE}.ipynb")
    _validate(results)
    assert results["score"] == 0.0
    assert all(t["status"] == "failed" for t in results["tests"])


def test_empty_submission_is_reported_not_crashed(tmp_path):
    (tmp_path / "submission").mkdir()
    results = autograder.run(EXERCISE, tmp_path)
    assert results["score"] == 0.0 and results["tests"] == []
    assert "No .ipynb" in results["output"]
    assert json.loads((tmp_path / "results" / "results.json").read_text()) == results


# ---- visibility and the torch step (issue 23) -------------------------------------------------
def test_visibility_is_a_build_option(tmp_path):
    path = autograder.build(
        EXERCISE,
        out_dir=tmp_path,
        root=ROOT,
        wheel=_any_wheel(tmp_path),
        visibility="after_published",
    )
    with zipfile.ZipFile(path) as zf:
        run = zf.read("run_autograder").decode()
    assert "--visibility after_published" in run
    with pytest.raises(ValueError, match="visibility"):
        autograder.build(EXERCISE, out_dir=tmp_path, root=ROOT, visibility="later")
    report = {"exercise": EXERCISE, "score": 1.0, "max_score": 2.0, "status": "graded",
              "questions": [{"id": "q", "points": 1.0, "max_points": 2.0, "passed": False,
                             "message": "m"}]}  # fmt: skip
    held = autograder.results_from_report(
        report, seconds=1.0, note="", visibility="after_published"
    )
    assert held["visibility"] == "after_published"
    assert {t["visibility"] for t in held["tests"]} == {"after_published"}
    shown = autograder.results_from_report(report, seconds=1.0, note="")
    assert {t["visibility"] for t in shown["tests"]} == {"visible"}


def _any_wheel(tmp_path: Path) -> Path:
    wheel = tmp_path / "course_utils-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("course_utils/__init__.py", "")
    return wheel


def test_torch_only_where_grading_needs_it_and_never_the_cuda_build(tmp_path):
    needs = {ex: autograder.needs_torch(ex, ROOT) for ex in ("03_lecun", "04_glorot", "07_modern")}
    assert needs == {"03_lecun": False, "04_glorot": True, "07_modern": True}
    path = autograder.build("07_modern", out_dir=tmp_path, root=ROOT, wheel=_any_wheel(tmp_path))
    with zipfile.ZipFile(path) as zf:
        setup = zf.read("setup.sh").decode()
    assert "--index-url https://download.pytorch.org/whl/cpu" in setup
    # the only torch install is the CPU index's; when it fails, setup stops with a message
    assert setup.count('"torch==') == 2  # x86-64 from the CPU index; aarch64 (CPU-only wheel)
    block = setup[setup.index("x86_64)") : setup.index(";;")]
    assert "exit 1" in block and "CUDA" in block and "||" not in block
    proc = subprocess.run(["bash", "-n", "-c", setup], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
