"""Exercise 01 (symmetry): the registered questions, the model solution and the blank exercise.

* The solution's own functions (read from solutions/01_symmetry.ipynb) pass the visible checks
  and the hidden checks for many grader draws. All checks here are deterministic comparisons with
  a float64 reference (rtol 1e-6: far above float64 rounding of a few dozen operations, far below
  any formula mistake), so a correct answer can only fail through a broken check.
* Typical mistakes lose the points of the check they break.
* The grader CLI gives the committed solution 10/10 and the generated blank exercise 0/10.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_utils.grading import get_question, harness, questions_for, run_checks
from course_utils.grading.judge import judge, request_for

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_symmetry.ipynb"
EXERCISE = ROOT / "exercises" / "01_symmetry.ipynb"
IDS = ["constant", "count_distinct_units", "two_layer_gradients", "two_layer_train"]
FULL = 10.0


def _solution_namespace() -> dict:
    """Execute the solution's graded cells (those whose nbgrader grade_id is a question id)."""
    nb = nbformat.read(SOLUTION, as_version=4)
    ns: dict = {"np": np}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in IDS:
            exec(compile(cell.source, "solution", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def answers() -> dict:
    return _solution_namespace()


def _failed(result):
    return {c.name: c.message for c in result.checks if not c.passed}


def test_questions_and_points():
    qs = questions_for("01_symmetry")
    assert [q.id for q in qs] == IDS
    assert sum(q.points for q in qs) == FULL


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_the_visible_checks(answers, qid):
    r = run_checks(qid, answers[qid])
    assert r.passed and r.points == r.max_points, _failed(r)


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_the_hidden_checks_for_many_draws(answers, qid):
    q = get_question(qid)
    for seed in range(15):
        calls = q.check.calls(np.random.default_rng(seed))
        answer = harness.run_question({q.name: answers[qid]}, request_for(q, calls, time_limit=20))
        r = judge(q, calls, answer)
        assert r.passed, (qid, seed, _failed(r))


# ---- typical mistakes ---------------------------------------------------------------------------
def constant_no_dtype(shape, rng=None, *, value, dtype=np.float32):
    return np.full(shape, value)


def constant_2d_only(shape, rng=None, *, value, dtype=np.float32):
    return np.full((shape[0], shape[-1]), value, dtype=dtype)


def count_rows(w, *, tol=0.0):
    return int(np.unique(np.asarray(w), axis=0).shape[0])


def count_ignoring_tol(w, *, tol=0.0):
    return int(np.unique(np.asarray(w).T, axis=0).shape[0])


def gradients_without_tanh_derivative(x, y, w1, w2):
    y = np.asarray(y, dtype=float)[:, None]
    h = np.tanh(x @ w1)
    d2 = (1 / (1 + np.exp(-(h @ w2))) - y) / len(x)
    return x.T @ (d2 @ w2.T), h.T @ d2


def gradients_summed_not_averaged(x, y, w1, w2):
    y = np.asarray(y, dtype=float)[:, None]
    h = np.tanh(x @ w1)
    d2 = 1 / (1 + np.exp(-(h @ w2))) - y
    return x.T @ ((d2 @ w2.T) * (1 - h**2)), h.T @ d2


def train_ascending(x, y, w1, w2, *, lr, steps):
    w1, w2 = np.array(w1, dtype=float), np.array(w2, dtype=float)
    for _ in range(steps):
        h = np.tanh(x @ w1)
        d2 = (1 / (1 + np.exp(-(h @ w2))) - np.asarray(y, dtype=float)[:, None]) / len(x)
        g1, g2 = x.T @ ((d2 @ w2.T) * (1 - h**2)), h.T @ d2
        w1 += lr * g1
        w2 += lr * g2
    return w1, w2


@pytest.mark.parametrize(
    "qid, fn, failing",
    [
        ("constant", constant_no_dtype, {"dtype"}),
        ("constant", constant_2d_only, {"conv kernel"}),
        ("count_distinct_units", count_rows, {"exact copies", "with a tolerance"}),
        ("count_distinct_units", count_ignoring_tol, {"with a tolerance"}),
        (
            "two_layer_gradients",
            gradients_without_tanh_derivative,
            {"random weights", "constant weights"},
        ),
        (
            "two_layer_gradients",
            gradients_summed_not_averaged,
            {"random weights", "constant weights"},
        ),
        ("two_layer_train", train_ascending, {"random start", "constant start"}),
    ],
)
def test_typical_mistakes_fail_their_checks(qid, fn, failing):
    r = run_checks(qid, fn)
    assert set(_failed(r)) == failing, _failed(r)
    assert r.points < r.max_points


def test_library_reference_earns_zero():
    from course_utils.symmetry import count_distinct_units

    r = run_checks("count_distinct_units", count_distinct_units)
    assert r.points == 0


# ---- the grader on the committed notebooks ------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("grades") / "grades.json"
    cmd = [
        sys.executable,
        "-m",
        "course_utils.grade",
        str(SOLUTION),
        str(EXERCISE),
        "--json",
        str(out),
        "--jobs",
        "2",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_solution_gets_full_marks(graded):
    r = graded[0]
    assert (r["status"], r["exercise"], r["score"], r["max_score"]) == (
        "graded",
        "01_symmetry",
        FULL,
        FULL,
    ), r
    assert [q["id"] for q in r["questions"]] == IDS


def test_blank_exercise_is_graded_zero_without_crashing(graded):
    r = graded[1]
    assert (r["status"], r["exercise"], r["score"], r["max_score"]) == (
        "graded",
        "01_symmetry",
        0.0,
        FULL,
    ), r
    assert all("not implemented" in q["message"] for q in r["questions"])
