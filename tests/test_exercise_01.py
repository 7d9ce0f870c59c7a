"""Exercise 01 (symmetry): the registered questions, the model solution and the blank exercise.

* The solution's own functions (read from solutions/01_symmetry.ipynb) pass the visible checks
  and the hidden checks for many grader draws. All checks here are deterministic comparisons with
  a float64 reference (rtol 1e-6: far above float64 rounding of a few dozen operations, far below
  any formula mistake), so a correct answer can only fail through a broken check.
* Typical mistakes lose the points of the check they break.
* Stubs (zeros, None, the input, raising) earn 0 on every question.
* The predictions (which units stay clones) agree with gradient descent run on the grader's
  starting weights: an exact count, checked on many draws.
* The grader CLI gives the committed solution 10/10 and the generated blank exercise 0/10.
"""

from __future__ import annotations

import numpy as np
import pytest
from _exercise_helpers import assert_points_split, assert_stubs_earn_zero
from _grading_helpers import (
    assert_full_marks,
    assert_passes_hidden_checks,
    assert_zero,
    failed,
    grade,
    notebooks,
    solution_namespace,
)

from course_utils import symmetry
from course_utils.grading import run_checks
from course_utils.grading.questions import ex01_symmetry as ex01

SOLUTION, EXERCISE = notebooks("01_symmetry")
IDS = [
    "constant",
    "count_distinct_units",
    "two_layer_gradients",
    "two_layer_train",
    "surviving_units",
    "surviving_units_deep",
]
PREDICTIONS = {"surviving_units", "surviving_units_deep"}
STRETCH = "surviving_units_deep"
FULL = 10.0


@pytest.fixture(scope="module")
def answers() -> dict:
    return solution_namespace(SOLUTION, IDS)


def test_questions_and_points():
    assert_points_split("01_symmetry", IDS, PREDICTIONS, STRETCH, FULL)


@pytest.mark.parametrize("qid", IDS)
def test_stubs_earn_zero(qid):
    assert_stubs_earn_zero(qid)


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_the_visible_checks(answers, qid):
    r = run_checks(qid, answers[qid])
    assert r.passed and r.points == r.max_points, failed(r)


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_the_hidden_checks_for_many_draws(answers, qid):
    assert_passes_hidden_checks(qid, answers[qid])


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
    assert set(failed(r)) == failing, failed(r)
    assert r.points < r.max_points


def surviving_counting_columns_only(w1, w2):
    return int(np.unique(np.asarray(w1).T, axis=0).shape[0])


def surviving_every_unit(w1, w2):
    return np.asarray(w1).shape[1]


@pytest.mark.parametrize("fn", [surviving_counting_columns_only, surviving_every_unit])
def test_wrong_predictions_are_diagnosed_without_the_answer(fn):
    r = run_checks("surviving_units", fn)
    assert r.points == 0
    assert "your value is what you get when" in r.message


# ---- the predictions against gradient descent ---------------------------------------------------
def _train_deep(x, y, weights, lr, steps):
    """Full-batch gradient descent on tanh hidden layers, sigmoid output, mean BCE, no biases."""
    ws = [np.array(w, dtype=float) for w in weights]
    y = np.asarray(y, dtype=float)[:, None]
    for _ in range(steps):
        acts = [x]
        for w in ws[:-1]:
            acts.append(np.tanh(acts[-1] @ w))
        p = 1 / (1 + np.exp(-(acts[-1] @ ws[-1])))
        delta = (p - y) / len(x)
        grads = [None] * len(ws)
        for i in range(len(ws) - 1, -1, -1):
            grads[i] = acts[i].T @ delta
            if i:
                delta = (delta @ ws[i].T) * (1 - acts[i] ** 2)
        ws = [w - lr * g for w, g in zip(ws, grads, strict=True)]
    return ws


def test_surviving_units_matches_gradient_descent_on_hidden_draws():
    """An exact count: after 1 and 5 steps the distinct columns of W1 are the predicted number."""
    rng = np.random.default_rng(11)
    for seed in range(40):
        for call in ex01._surviving_calls(np.random.default_rng(seed)):
            w1, w2 = call.args
            x = rng.standard_normal((60, w1.shape[0]))
            y = (rng.random(60) < 0.5).astype(float)
            for steps in (1, 5):
                w1_k, _ = symmetry.two_layer_train(x, y, w1, w2, lr=0.5, steps=steps)
                measured = symmetry.count_distinct_units(w1_k, tol=1e-10)
                assert measured == ex01.surviving_units_reference(w1, w2), (seed, steps)


def test_surviving_units_deep_matches_gradient_descent_on_hidden_draws():
    rng = np.random.default_rng(12)
    for seed in range(40):
        for call in ex01._deep_calls(np.random.default_rng(seed)):
            (ws,) = call.args
            x = rng.standard_normal((60, ws[0].shape[0]))
            y = (rng.random(60) < 0.5).astype(float)
            trained = _train_deep(x, y, ws, lr=0.5, steps=3)
            measured = [symmetry.count_distinct_units(w, tol=1e-10) for w in trained[:-1]]
            assert measured == ex01.surviving_units_deep_reference(ws), seed


def test_hidden_draws_contain_split_clones():
    """The draws are informative: counting columns only is wrong on most of them."""
    wrong = 0
    for seed in range(20):
        for call in ex01._surviving_calls(np.random.default_rng(seed))[:4]:
            w1, w2 = call.args
            wrong += surviving_counting_columns_only(w1, w2) != ex01.surviving_units_reference(
                w1, w2
            )
    assert wrong >= 40


def test_library_reference_earns_zero():
    from course_utils.symmetry import count_distinct_units

    r = run_checks("count_distinct_units", count_distinct_units)
    assert r.points == 0


# ---- the grader on the committed notebooks ------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade(SOLUTION, EXERCISE, out_dir=tmp_path_factory.mktemp("grades"), jobs=2)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solutions"], "01_symmetry", FULL, IDS)


def test_blank_exercise_is_graded_zero_without_crashing(graded):
    r = graded["exercises"]
    assert_zero(r, "01_symmetry", FULL)
    assert all("not implemented" in q["message"] for q in r["questions"])
