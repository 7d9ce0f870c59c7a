"""End to end: the grader CLI on the pilot solution, the blank exercise and broken submissions.

All submissions are graded by ONE run of ``python -m course_utils.grade --jobs 2`` (a module
fixture) to keep the suite fast; each test reads its submission's report from the JSON. The
broken submissions are made from the committed solution by replacing one piece of source, so
they stay in step with it. Inputs are drawn fresh by the grader (no ``--seed``): a correct
answer must pass on whatever it draws (tolerances of 5 standard errors, see test_grading.py).
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.grading import sandbox

pytestmark = pytest.mark.skipif(
    sandbox.unavailable_reason() is not None,
    reason=f"no bubblewrap sandbox here: {sandbox.unavailable_reason()}",
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "03_lecun.ipynb"
EXERCISE = ROOT / "exercises" / "03_lecun.ipynb"
from course_utils.grading import questions_for  # noqa: E402

POINTS = {q.id: q.points for q in questions_for("03_lecun")}
FULL = sum(POINTS.values())

LECUN_NORMAL_BODY = (
    "    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)\n"
    "    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=shape).astype(dtype)"
)
LECUN_UNIFORM_DEF = 'def lecun_uniform(shape, rng, *, layout="in_out", dtype=np.float32):'
SUM_BODY = "    return n * var_w * (var_x + mean_x**2)"


def _replace(nb, old: str, new: str) -> None:
    hits = [c for c in nb.cells if old in c.source]
    assert len(hits) == 1, f"{old!r} found in {len(hits)} cells"
    hits[0].source = hits[0].source.replace(old, new)


def _insert_after_setup(nb, source: str) -> None:
    nb.cells.insert(2, nbformat.v4.new_code_cell(source))


def _variants() -> dict[str, callable]:
    def syntax_error(nb):
        _replace(nb, "def lecun_normal(shape, rng,", "def lecun_normal(shape, rng")

    def raises(nb):
        _replace(nb, LECUN_UNIFORM_DEF, LECUN_UNIFORM_DEF + '\n    raise RuntimeError("boom")')

    def wrong_variance(nb):
        _replace(
            nb, "np.sqrt(1.0 / fan_in), size=shape)", "np.sqrt(2.0 / (fan_in + _fo)), size=shape)"
        )
        _replace(
            nb,
            "fan_in, _ = fan_in_and_fan_out(shape, layout=layout)\n    return rng.normal",
            "fan_in, _fo = fan_in_and_fan_out(shape, layout=layout)\n    return rng.normal",
        )

    def wrong_shape(nb):
        _replace(
            nb,
            "np.sqrt(1.0 / fan_in), size=shape).astype(dtype)",
            "np.sqrt(1.0 / fan_in), size=shape).astype(dtype).ravel()",
        )

    def global_state(nb):
        _replace(
            nb,
            "rng.normal(0.0, np.sqrt(1.0 / fan_in), size=shape)",
            "np.random.normal(0.0, np.sqrt(1.0 / fan_in), size=shape)",
        )

    def infinite_loop(nb):
        _insert_after_setup(nb, "while True:\n    pass")
        _replace(nb, SUM_BODY, "    while True:\n        pass")

    def killed_kernel(nb):
        _insert_after_setup(nb, "import os\nos._exit(1)")
        _replace(nb, LECUN_UNIFORM_DEF, LECUN_UNIFORM_DEF + "\n    import os\n    os._exit(3)")

    def flood(nb):
        _insert_after_setup(nb, "for _ in range(3000):\n    print('x' * 1000)")

    def tampered(nb):
        # a wrong lecun_normal plus attempts to fool the checks from inside the notebook
        _replace(nb, "np.sqrt(1.0 / fan_in), size=shape)", "np.sqrt(3.0 / fan_in), size=shape)")
        _insert_after_setup(
            nb,
            "import course_utils.grading.checks as _c\n"
            "_c.score = lambda qid, pts, checks: _c.QuestionResult(qid, pts, pts, True, 'ok')\n"
            "np.var = lambda *a, **k: 0.0\n"
            "np.allclose = lambda *a, **k: True\n"
            "np.array_equal = lambda *a, **k: True\n",
        )

    def library_reference(nb):
        _replace(
            nb,
            LECUN_UNIFORM_DEF,
            "from course_utils.initializers import lecun_uniform\n\n"
            + LECUN_UNIFORM_DEF.replace("lecun_uniform", "_unused"),
        )

    def missing_name(nb):
        _replace(nb, "def sum_variance(", "def sum_of_variances(")
        _replace(nb, 'check("sum_variance", sum_variance)', 'check("sum_variance")')

    def older_copy(nb):
        nb.metadata.setdefault("course", {})["version"] = "2"

    return {
        "older_copy": older_copy,
        "syntax_error": syntax_error,
        "raises": raises,
        "wrong_variance": wrong_variance,
        "wrong_shape": wrong_shape,
        "global_state": global_state,
        "infinite_loop": infinite_loop,
        "killed_kernel": killed_kernel,
        "flood": flood,
        "tampered": tampered,
        "library_reference": library_reference,
        "missing_name": missing_name,
    }


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    files = {"solution": SOLUTION, "blank": EXERCISE}
    for name, change in _variants().items():
        nb = nbformat.read(SOLUTION, as_version=4)
        change(nb)
        path = folder / f"{name}.ipynb"
        nbformat.write(nb, path)
        files[name] = path
    bad = folder / "not_json.ipynb"
    bad.write_text("this is { not a notebook", encoding="utf-8")
    files["not_json"] = bad
    before = {name: _digest(p) for name, p in files.items()}
    out_json, out_csv = folder / "grades.json", folder / "gradebook.csv"
    cmd = [
        sys.executable,
        "-m",
        "course_utils.grade",
        *map(str, files.values()),
        "--json",
        str(out_json),
        "--csv",
        str(out_csv),
        "--jobs",
        "2",
        "--timeout",
        "3",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    reports = json.loads(out_json.read_text()) if out_json.exists() else []
    by_name = {name: r for name, r in zip(files, reports, strict=False)}
    return {
        "proc": proc,
        "reports": by_name,
        "files": files,
        "before": before,
        "csv": out_csv,
    }


def _q(report: dict, qid: str) -> dict:
    return next(q for q in report["questions"] if q["id"] == qid)


def test_exit_status_zero_and_one_report_per_submission(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stderr[-2000:]
    assert len(graded["reports"]) == len(graded["files"])
    assert "Traceback" not in graded["proc"].stdout


def test_json_fields_exactly_as_designed(graded):
    for report in graded["reports"].values():
        assert set(report) == {
            "submission",
            "exercise",
            "status",
            "score",
            "max_score",
            "questions",
            "error",
            "flags",  # instructor's notes that never change a score (issue 21, items 3 and 8)
            "student",
        }
        assert isinstance(report["flags"], list)
        for q in report["questions"]:
            assert set(q) == {"id", "points", "max_points", "passed", "message"}


def test_no_submission_file_changed(graded):
    after = {name: _digest(p) for name, p in graded["files"].items()}
    assert after == graded["before"]


def test_solution_gets_full_marks(graded):
    r = graded["reports"]["solution"]
    assert (r["status"], r["exercise"], r["score"], r["max_score"]) == (
        "graded",
        "03_lecun",
        FULL,
        FULL,
    )
    assert r["error"] is None
    assert all(q["passed"] for q in r["questions"])
    assert [q["id"] for q in r["questions"]] == list(POINTS)


def test_blank_exercise_is_graded_zero(graded):
    r = graded["reports"]["blank"]
    assert (r["status"], r["score"], r["max_score"]) == ("graded", 0.0, FULL)
    assert all("not implemented" in q["message"] for q in r["questions"])


def test_syntax_error_costs_only_that_question(graded):
    r = graded["reports"]["syntax_error"]
    q = _q(r, "lecun_normal")
    assert q["points"] == 0 and "not defined" in q["message"] and "SyntaxError" in q["message"]
    assert r["score"] == FULL - POINTS["lecun_normal"]


def test_exception_in_graded_function(graded):
    q = _q(graded["reports"]["raises"], "lecun_uniform")
    assert q["points"] == 0 and "RuntimeError: boom" in q["message"]
    assert graded["reports"]["raises"]["score"] == FULL - POINTS["lecun_uniform"]


def test_wrong_variance_earns_nothing_but_gets_a_diagnosis(graded):
    # the variance is the main check: dtype, seeds etc. count only once it passes
    q = _q(graded["reports"]["wrong_variance"], "lecun_normal")
    assert q["points"] == 0 and not q["passed"]
    assert "variance" in q["message"] and "Glorot" in q["message"]


def test_wrong_shape(graded):
    q = _q(graded["reports"]["wrong_shape"], "lecun_normal")
    assert not q["passed"] and "shape:" in q["message"] and "expected" in q["message"]


def test_global_random_state(graded):
    q = _q(graded["reports"]["global_state"], "lecun_normal")
    assert not q["passed"] and "global random state" in q["message"]
    assert "different seeds gave identical values" in q["message"]


def test_infinite_loops_are_interrupted(graded):
    r = graded["reports"]["infinite_loop"]
    assert r["status"] == "graded" and "timed out" in r["error"]
    q = _q(r, "sum_variance")
    assert q["points"] == 0 and "timeout" in q["message"]
    assert r["score"] == FULL - POINTS["sum_variance"]  # the looping top-level cell did not stop the others


def test_killed_kernel(graded):
    r = graded["reports"]["killed_kernel"]
    assert r["status"] == "graded" and "killed the kernel" in r["error"]
    q = _q(r, "lecun_uniform")
    assert q["points"] == 0 and "killed the kernel" in q["message"]
    assert r["score"] == FULL - POINTS["lecun_uniform"]  # cells after the os._exit cell still ran on a fresh kernel


def test_output_flood_is_not_kept(graded):
    r = graded["reports"]["flood"]
    assert r["score"] == FULL and "characters of output" in r["error"]


def test_patching_numpy_or_grading_in_the_notebook_changes_nothing(graded):
    q = _q(graded["reports"]["tampered"], "lecun_normal")
    assert not q["passed"] and "variance" in q["message"] and "3/fan_in" in q["message"]


def test_library_reference_earns_zero(graded):
    q = _q(graded["reports"]["library_reference"], "lecun_uniform")
    assert (
        q["points"] == 0 and "library's own course_utils.initializers.lecun_uniform" in q["message"]
    )


def test_missing_name(graded):
    q = _q(graded["reports"]["missing_name"], "sum_variance")
    assert q["points"] == 0 and "not defined" in q["message"]


def test_not_json_is_an_error_report(graded):
    r = graded["reports"]["not_json"]
    assert r["status"] == "error" and r["score"] == 0 and "not a readable notebook" in r["error"]


def test_gradebook_has_a_row_per_student_and_exercise_with_points_per_question(graded):
    rows = list(csv.DictReader(graded["csv"].open()))
    assert len(rows) == len(graded["files"])  # every file here is another student's
    assert list(rows[0])[:3] == ["student", "exercise", "score"]
    sol = next(r for r in rows if r["submissions"].endswith("solutions/03_lecun.ipynb"))
    assert sol["student"] == "solutions"  # named exactly after the exercise: its folder
    assert float(sol["lecun_normal"]) == POINTS["lecun_normal"] and float(sol["score"]) == FULL
    err = next(r for r in rows if r["submissions"].endswith("not_json.ipynb"))
    assert err["status"] == "error" and err["student"] == "not_json"


@pytest.mark.parametrize(
    "args",
    [[], ["does/not/exist.ipynb"], ["--jobs", "0", "solutions"], ["--timeout", "-1", "solutions"]],
)
def test_usage_errors_exit_2(args):
    proc = subprocess.run(
        [sys.executable, "-m", "course_utils.grade", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr


def test_definitions_survive_the_clock(tmp_path):
    """Solution 02 with a slow experiment early on: past the cells' time share, the cell holding
    ``T_GRID = np.linspace(...)`` beside the ``def`` that uses it still defines both, so every
    question earns full marks, and each computation left out is named in the report."""
    solution = ROOT / "solutions" / "02_small_vs_large_random.ipynb"
    nb = nbformat.read(solution, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first + 1, nbformat.v4.new_code_cell("import time\ntime.sleep(600)"))
    grid = [c for c in nb.cells if "T_GRID = np.linspace" in c.source]
    assert len(grid) == 1 and "def " in grid[0].source  # the mixed cell this test is about
    path = tmp_path / "02_small_vs_large_random.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "out.json"
    cmd = [sys.executable, "-m", "course_utils.grade", str(path), "--json", str(out)]
    proc = subprocess.run(
        [*cmd, "--notebook-timeout", "60", "--quiet"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (report,) = json.loads(out.read_text())
    full = sum(q.points for q in questions_for("02_small_vs_large_random"))
    assert report["score"] == full, report
    assert "share" in report["error"] and "skipped `check(" in report["error"], report["error"]


def test_an_older_copy_is_graded_as_is_and_told_what_changed(graded):
    r = graded["reports"]["older_copy"]
    assert r["score"] == FULL, r
    assert "this copy is version 2 of exercise 03_lecun" in r["error"], r["error"]
    assert "fan_in_and_fan_out" in r["error"]


def test_a_90_mb_answer_keeps_the_grader_small(tmp_path):
    """One answer event of about 89 MB (a 66 MB float64 array, base64 in JSON): the grader reads
    it in chunks, decodes the base64 straight into one buffer and drops the wire text once
    decoded. Measured here: 354-365 MB peak (VmHWM of the grader process) against 158 MB for the
    same notebook without it; the issue saw 1.13 GB."""
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import numpy as np\n_calls = [0]\n_honest = sum_variance\n\n\n"
            "def sum_variance(*args, **kwargs):\n    _calls[0] += 1\n"
            "    return np.ones(8_300_000) if _calls[0] == 1 else _honest(*args, **kwargs)\n"
        )
    )
    path = tmp_path / "03_lecun-big.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "grades.json"
    code = (
        "import re, sys\n"
        "from course_utils.grading.cli import main\n"
        f"rc = main([{str(path)!r}, '--json', {str(out)!r}, '--quiet'])\n"
        "status = open('/proc/self/status').read()\n"
        "print('PEAK_KB', re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=900, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak_mb = int(proc.stdout.split("PEAK_KB")[1].split()[0]) / 1024
    print(f"grader peak memory with a 90 MB answer: {peak_mb:.0f} MB")
    assert peak_mb < 600
    (report,) = json.loads(out.read_text())
    q = _q(report, "sum_variance")
    assert q["points"] == 0 and "(8300000,)" in q["message"], q  # judged, not dropped
    assert report["score"] == FULL - POINTS["sum_variance"], report
