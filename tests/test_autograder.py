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
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from course_utils.grading import autograder, sandbox
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


# ---- never a forgeable grade (issue 21, item 5) -----------------------------------------------
def test_visible_messages_leave_out_the_inputs_drawn_at_grading_time():
    names = [q.name for q in questions_for(EXERCISE)]
    samples = {
        "in_out layout: fan_in_and_fan_out((6, 76, 33)) returned (6, 76), which is not the "
        "prediction (and 2 more). Hint: a dense weight is (fan_in, fan_out)": (
            "fan_in_and_fan_out(…) returned (…), which is not the prediction",
            "Hint: a dense weight is (fan_in, fan_out)",
        ),
        "sum_variance(7, 0.25, var_x=2.0) returned 3.5, expected 4.75; check the mean": (
            "sum_variance(…) returned 3.5, expected …; check the mean",
        ),
        "shape: lecun_normal((3, 4), default_rng(17)) returned shape (4, 3), expected (3, 4)": (
            "lecun_normal(…) returned shape (…), expected …",
        ),
    }
    for message, kept in samples.items():
        shown = autograder.visible_message(message, names)
        assert not re.search(r"\d+,\s*\d+", shown), shown
        for part in kept:
            assert part in shown, (part, shown)
    assert autograder.visible_message("expected a number or array", names) == (
        "expected a number or array"
    )


def test_without_a_sandbox_or_a_separate_user_no_grade_is_written(zip_path, tmp_path):
    """No bubblewrap (turned off) and no safe separate user (an unprivileged user cannot run
    this Python, or the course is a source checkout, or the autograder is not root): the result
    says so with score 0 instead of a grade the notebook could have forged."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    shutil.copy(ROOT / "solutions" / f"{EXERCISE}.ipynb", root / "submission")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable,
           "COURSE_GRADING_NO_BWRAP": "1"}  # fmt: skip
    script = root / "source" / "run_autograder"
    subprocess.run(["bash", str(script)], env=env, check=True, capture_output=True, timeout=300)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0.0 and results["tests"] == [], results
    assert "cannot be graded safely" in results["output"], results["output"]


DAEMON = """
import subprocess, sys
_code = '''
import json, os, time
forged = json.dumps({"score": 99.0, "output": "forged", "tests": []})
open("/tmp/TOKEN.alive", "w").write(str(os.getuid()))
for _ in range(400):
    time.sleep(0.1)
    for target in (RESULTS, RESULTS + ".tmp"):
        try:
            with open(target, "w") as fh:
                fh.write(forged)
            os.replace(RESULTS + ".tmp", RESULTS)
        except OSError:
            pass
'''.replace("RESULTS", repr(RESULTS_PATH))
subprocess.Popen(["setsid", sys.executable, "-c", _code + "# TOKEN"],
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""

REAL_PACKAGE = """
import importlib.util
_spec = importlib.util.spec_from_file_location("_real", REAL_FILE)
_real = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_real)
raise RuntimeError("the real package was imported by path")
"""


def test_without_bubblewrap_the_kernel_runs_as_a_separate_user_and_forges_nothing(zip_path):
    """Gradescope without bubblewrap (turned off here), the autograder as root with the course
    installed from its wheel: a notebook leaves a `setsid` daemon that keeps rewriting
    results.json after grading, and imports the installed package by its file path. The daemon
    is gone before results.json is written and could not write it anyway; the package file is
    unreadable; the grade is the notebook's own (one wrong answer, the rest right)."""
    import nbformat
    from test_sandbox_bounds import in_searchable_namespace

    if os.geteuid() != 0:
        pytest.skip("the separate-user path needs a root autograder (as on Gradescope)")
    token = f"course-grade-daemon-{os.getpid()}"
    root = Path(tempfile.mkdtemp(prefix="course-autograder-"))  # searchable, like /autograder
    try:
        root.chmod(0o755)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(root / "source")
        site = root / "venv" / "site-packages"
        (wheel,) = (root / "source").glob("course_utils-*.whl")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
             "--target", str(site), str(wheel)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        for path in [root / "venv", *(root / "venv").rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        results_path = root / "results" / "results.json"
        nb = nbformat.read(ROOT / "solutions" / f"{EXERCISE}.ipynb", as_version=4)
        (wrong,) = [c for c in nb.cells if c.source.startswith("def sum_variance(")]
        wrong.source = "def sum_variance(n, var_w, var_x, mean_x=0.0):\n    return n * var_w * 1.5"
        daemon = DAEMON.replace("RESULTS_PATH", repr(str(results_path))).replace("TOKEN", token)
        real = REAL_PACKAGE.replace("REAL_FILE", repr(str(site / "course_utils" / "theory.py")))
        nb.cells[2:2] = [nbformat.v4.new_code_cell(daemon), nbformat.v4.new_code_cell(real)]
        (root / "submission").mkdir()
        nbformat.write(nb, root / "submission" / f"{EXERCISE}.ipynb")
        env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable,
               "COURSE_GRADING_NO_BWRAP": "1", "PYTHONPATH": str(site)}  # fmt: skip
        cmd = in_searchable_namespace(["bash", str(root / "source" / "run_autograder")])
        if cmd is None:
            pytest.skip("cannot make this Python searchable for another user here")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=root)
        assert proc.returncode == 0, proc.stderr[-3000:]
        written = results_path.read_text()
        time.sleep(3)  # the daemon would have rewritten it by now
        assert results_path.read_text() == written
        leftovers = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    leftovers.append(pid)
            except OSError:
                continue
        results = json.loads(written)
        alive = Path(f"/tmp/{token}.alive")
        daemon_uid = alive.read_text() if alive.exists() else None
    finally:
        Path(f"/tmp/{token}.alive").unlink(missing_ok=True)
        for pid in locals().get("leftovers", []):
            try:
                os.kill(int(pid), 9)
            except OSError:
                pass
        shutil.rmtree(root, ignore_errors=True)
    # the daemon ran, as the separate user: the grader's leased uid (61000 unless another
    # grader on this machine, such as a parallel test, holds it)
    assert daemon_uid is not None
    assert sandbox.SANDBOX_UID <= int(daemon_uid) < sandbox.SANDBOX_UID + sandbox.UID_RANGE
    assert leftovers == []  # every process of that uid was killed
    print(results["output"])
    assert "separate unprivileged user" in results["output"], results["output"]
    assert "cell 4 raised PermissionError" in results["output"], results["output"]
    assert "imported by path" not in results["output"]
    _validate(results)
    by_id = {t["name"].split(":")[0]: t for t in results["tests"]}
    assert by_id["sum_variance"]["status"] == "failed"
    rest = [t for qid, t in by_id.items() if qid != "sum_variance"]
    assert all(t["status"] == "passed" for t in rest), rest
    full = sum(q.points for q in questions_for(EXERCISE))
    assert results["score"] == pytest.approx(full - by_id["sum_variance"]["max_score"])
