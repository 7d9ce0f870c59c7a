"""Exercise 02 (small vs large random values): questions, model solution, blank exercise.

* The solution's own functions (read from solutions/02_small_vs_large_random.ipynb) pass the
  visible checks and the hidden checks for many grader draws. The function checks compare with the
  library on float64 inputs of moderate scale (no chaotic amplification of rounding), with rtol
  1e-5 for the statistics (float32 answers differ by ~1e-7 relative) and 1e-12 for the fractions,
  which are ratios of integer counts. ``alive_std`` is judged by the deterministic mean-field
  prediction, so it has no sampling error.
* Typical mistakes lose the points of the check they break.
* The grader CLI gives the committed solution 10/10 and the generated blank exercise 0/10.
"""

from __future__ import annotations

import math
import re

import nbformat
import numpy as np
import pytest
from _grading_helpers import (
    assert_full_marks,
    assert_passes_hidden_checks,
    assert_zero,
    failed,
    grade,
    notebooks,
    solution_namespace,
)

from course_utils.grading import questions_for, run_checks

SOLUTION, EXERCISE = notebooks("02_small_vs_large_random")
IDS = ["layer_stats", "saturation_fraction", "dead_unit_fraction", "alive_std"]
FUNCTIONS = IDS[:3]
FULL = 10.0


@pytest.fixture(scope="module")
def answers() -> dict:
    ns = solution_namespace(SOLUTION, FUNCTIONS)
    ns["alive_std"] = _solution_alive_std()
    return ns


def _solution_alive_std() -> float:
    """The value the committed solution derives from its scan (printed as ``alive_std = ...``)."""
    nb = nbformat.read(SOLUTION, as_version=4)
    text = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    found = re.findall(r"alive_std = ([0-9.]+) \(sigma \* sqrt\(500\) = ([0-9.]+)\)", text)
    assert len(found) == 1, found
    value = float(found[0][0])
    # the scan's alive range is printed in units of 1/sqrt(500); the answer sits inside it
    lo, hi = (
        float(v)
        for v in re.findall(r"alive for sigma \* sqrt\(500\) from (\S+) to (\S+);", text)[0]
    )
    assert lo < value * math.sqrt(500) < hi
    return value


def test_questions_and_points():
    qs = questions_for("02_small_vs_large_random")
    assert [q.id for q in qs] == IDS
    assert sum(q.points for q in qs) == FULL


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_the_visible_checks(answers, qid):
    r = run_checks(qid, answers[qid])
    assert r.passed and r.points == r.max_points, failed(r)


@pytest.mark.parametrize("qid", FUNCTIONS)
def test_solution_passes_the_hidden_checks_for_many_draws(answers, qid):
    assert_passes_hidden_checks(qid, answers[qid])


# ---- typical mistakes ---------------------------------------------------------------------------
_F = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z}


def stats_of_pre_activations(weights, x, activation):
    a, means, stds = np.asarray(x), [], []
    for w in weights:
        z = a @ w
        a = _F[activation](z)
        means.append(z.mean())
        stds.append(z.std())
    return np.array(means), np.array(stds)


def stats_per_unit_then_averaged(weights, x, activation):
    a, means, stds = np.asarray(x), [], []
    for w in weights:
        a = _F[activation](a @ w)
        means.append(a.mean())
        stds.append(a.std(axis=0).mean())  # the std across the batch, averaged over units
    return np.array(means), np.array(stds)


def saturation_with_ge(a, threshold=0.99):
    return float(np.mean(np.abs(a) >= threshold))


def saturation_ignoring_threshold(a, threshold=0.99):
    return float(np.mean(np.abs(a) > 0.99))


def dead_entries(a):
    return float(np.mean(np.asarray(a) == 0))


@pytest.mark.parametrize(
    "qid, fn, failing",
    [
        ("layer_stats", stats_of_pre_activations, {"tanh", "relu"}),
        ("layer_stats", stats_per_unit_then_averaged, {"tanh", "relu", "linear"}),
        ("saturation_fraction", saturation_with_ge, {"default threshold"}),
        ("saturation_fraction", saturation_ignoring_threshold, {"threshold="}),
        ("dead_unit_fraction", dead_entries, {"units"}),
    ],
)
def test_typical_mistakes_fail_their_checks(qid, fn, failing):
    r = run_checks(qid, fn)
    assert set(failed(r)) == failing, failed(r)
    assert r.points < r.max_points


@pytest.mark.parametrize(
    "sigma, passed, words",
    [
        (0.01, False, "too small"),
        (0.03, False, "too small"),
        (0.1, False, "too large"),
        (1.0, False, "too large"),
        (1 / math.sqrt(500), True, "alive"),
        (0.06, True, "alive"),
        (-0.05, False, "positive"),
        ("0.07", False, "number"),
    ],
)
def test_alive_std_accepts_the_fan_in_scaled_band_only(sigma, passed, words):
    r = run_checks("alive_std", sigma)
    message = r.checks[0].message
    assert r.passed is passed and words in message, message


def test_alive_std_verdict_agrees_with_a_simulation():
    """The grader's mean-field verdict matches a direct simulation of the 10-layer, 500-unit tanh
    network at two scales inside and two outside the band. Layer-10 std over 200 x 500 entries
    has a sampling spread of a few 1e-3 (estimated from repeated draws), far inside the margins
    (>= 0.04) between these scales' predicted stds and the band edges 0.2 and 0.8."""
    from course_utils.grading.questions.ex02_small_vs_large_random import alive_verdict
    from course_utils.network import forward, init_weights

    rng = np.random.default_rng(11)
    x = rng.standard_normal((200, 500)).astype(np.float32)
    for sigma in (0.035, 0.055, 0.075, 0.11):
        a = forward(x, init_weights([500] * 11, "random_normal", rng, std=sigma), "tanh").outputs
        simulated = 0.2 <= float(a.std()) <= 0.8 and float(np.mean(np.abs(a) > 0.99)) < 0.05
        assert alive_verdict(sigma)[0] is simulated, (sigma, float(a.std()))


def test_library_reference_earns_zero():
    from course_utils.theory import saturation_fraction

    r = run_checks("saturation_fraction", saturation_fraction)
    assert r.points == 0


# ---- the grader on the committed notebooks ------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade(SOLUTION, EXERCISE, out_dir=tmp_path_factory.mktemp("grades"), jobs=2)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solutions"], "02_small_vs_large_random", FULL, IDS)


def test_blank_exercise_is_graded_zero_without_crashing(graded):
    r = graded["exercises"]
    assert_zero(r, "02_small_vs_large_random", FULL)
    messages = {q["id"]: q["message"] for q in r["questions"]}
    assert all("not implemented" in messages[q] for q in FUNCTIONS), messages
    assert "not defined" in messages["alive_std"], messages
