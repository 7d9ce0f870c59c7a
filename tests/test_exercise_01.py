"""Exercise 01 (symmetry): the registered questions, the model solution and the blank exercise.

* The solution's own functions (read from solutions/01_symmetry.ipynb) pass the visible checks
  and the hidden checks for many grader draws. All checks here are deterministic comparisons with
  a float64 reference (rtol 1e-6: far above float64 rounding of a few dozen operations, far below
  any formula mistake), so a correct answer can only fail through a broken check.
* Typical mistakes lose the points of the check they break.
* Stubs (zeros, None, the input, raising) earn 0 on every question.
* The predictions (which units stay clones) agree with gradient descent run on the grader's
  starting weights: an exact count, checked on many draws.
* A corpus of typical wrong answers (real misconceptions, at least 5 per question) earns at most
  25 % of each question on the hidden inputs of several draws, and check() fails every one.
* No closed form of a graded question appears in the generated student notebook.
* At least 60 % of the points go to questions past the lecture (listed with the reason below).
* The grader CLI gives the committed solution 10/10 and the generated blank exercise 0/10.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from _exercise_helpers import (
    assert_judged_on_their_rule,
    assert_no_closed_forms,
    assert_points_split,
    assert_stubs_earn_zero,
    assert_wrong_answers_fail,
    hidden_points,
)
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
from course_utils.grading.registry import exercises

# The registry imports the questions modules itself: a module imported before it loads would
# hide its VERSION / ALLOWED_IMPORTS / CHANGED_IN_ from registry.exercise_info (seen as a
# metadata mismatch in test_exercises_sync when it runs after this file). Load it first.
exercises()
ex01 = sys.modules["course_utils.grading.questions.ex01_symmetry"]
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
#: questions whose answer needs a step lecture 01 does not show, and the step:
PAST_THE_LECTURE = {
    # the lecture proves that full clones stay clones; here starts are partly symmetric (units
    # sharing only some of column, bias, outgoing weights), with biases and several outputs
    "surviving_units": "partial symmetry",
    # the same argument in every hidden layer of a deep net
    "surviving_units_deep": "partial symmetry, deep",
}


@pytest.fixture(scope="module")
def answers() -> dict:
    return solution_namespace(SOLUTION, IDS)


def test_questions_and_points():
    assert_points_split("01_symmetry", IDS, PREDICTIONS, STRETCH, FULL)
    from course_utils.grading.registry import questions_for

    past = sum(q.points for q in questions_for("01_symmetry") if q.id in PAST_THE_LECTURE)
    assert past >= 0.6 * FULL, past


def test_metadata():
    assert ex01.VERSION and set(ex01.ALLOWED_IMPORTS) == {"numpy", "math"}


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


# ---- typical wrong answers: each earns at most 25 %, check() fails it --------------------------
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _grads(
    x,
    y,
    w1,
    w2,
    *,
    tanh_prime=True,
    mean=True,
    reshape=True,
    extra_sigmoid=False,
    pre_activation=False,
):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    y = y[:, None] if reshape else y
    z = x @ w1
    h = np.tanh(z)
    p = _sigmoid(h @ w2)
    d2 = (p - y) / (len(x) if mean else 1)
    if extra_sigmoid:
        d2 = d2 * p * (1 - p)
    back = d2 @ w2.T
    if tanh_prime:
        back = back * (1 - (z if pre_activation else h) ** 2)
    return x.T @ back, h.T @ d2  # fmt: skip


def _train(
    x, y, w1, w2, *, lr, steps, sign=-1.0, which="both", frozen=False, off=0, sequential=False
):
    w1, w2 = np.array(w1, dtype=float), np.array(w2, dtype=float)
    g1, g2 = _grads(x, y, w1, w2)
    for _ in range(max(steps - off, 0)):
        if not frozen:
            g1, g2 = _grads(x, y, w1, w2)
        if which in ("both", "w1"):
            w1 += sign * lr * g1
        if sequential:
            g1, g2 = _grads(x, y, w1, w2)
        if which in ("both", "w2"):
            w2 += sign * lr * g2
    return w1, w2  # fmt: skip


def _count_greedy(w, tol, same):
    reps = []
    for col in np.asarray(w, dtype=float).T:
        if not any(same(col - r) for r in reps):
            reps.append(col)
    return len(reps)


def _count_local(w, tol=0.0):
    """The right count, written out: the library's is out of reach while grading."""
    return _count_greedy(w, tol, lambda d: float(np.max(np.abs(d), initial=0.0)) <= tol)


def _keys(*parts):
    return np.concatenate(
        [np.asarray(p, float).reshape(-1, np.asarray(p).shape[-1]) for p in parts]
    )


CORPUS = {
    "constant": {
        "2-D only": lambda shape, rng=None, *, value, dtype=np.float32: np.full(
            (shape[0], shape[-1]), value, dtype=dtype
        ),
        "shape reversed": lambda shape, rng=None, *, value, dtype=np.float32: np.full(
            tuple(reversed(shape)), value, dtype=dtype
        ),
        "value ignored (ones)": lambda shape, rng=None, *, value, dtype=np.float32: np.ones(
            shape, dtype=dtype
        ),
        "first dimension only": lambda shape, rng=None, *, value, dtype=np.float32: np.full(
            shape[0], value, dtype=dtype
        ),
        "random values scaled by value": lambda shape, rng=None, *, value, dtype=np.float32: (
            np.random.default_rng(rng).standard_normal(shape) * value
        ).astype(dtype),
    },
    "count_distinct_units": {
        "rows": lambda w, *, tol=0.0: _count_local(np.asarray(w).T, tol=tol),
        "tol ignored": lambda w, *, tol=0.0: int(np.unique(np.asarray(w).T, axis=0).shape[0]),
        "tol by rounding": lambda w, *, tol=0.0: ex01._count_rounding(w, tol),
        "Euclidean distance": lambda w, *, tol=0.0: _count_greedy(
            w, tol, lambda d: float(np.sqrt(np.sum(d * d))) <= tol
        ),
        "strict <": lambda w, *, tol=0.0: _count_greedy(
            w, tol, lambda d: float(np.max(np.abs(d))) < tol or not np.any(d)
        ),
        "first entry only": lambda w, *, tol=0.0: _count_greedy(
            w, tol, lambda d: abs(float(d[0])) <= tol
        ),
        "distinct entries": lambda w, *, tol=0.0: int(np.unique(np.asarray(w)).size),
    },
    "two_layer_gradients": {
        "no tanh derivative": lambda x, y, w1, w2: _grads(x, y, w1, w2, tanh_prime=False),
        "summed, not averaged": lambda x, y, w1, w2: _grads(x, y, w1, w2, mean=False),
        "labels not a column": lambda x, y, w1, w2: _grads(x, y, w1, w2, reshape=False),
        "extra sigmoid derivative": lambda x, y, w1, w2: _grads(x, y, w1, w2, extra_sigmoid=True),
        "derivative at the pre-activation": lambda x, y, w1, w2: _grads(
            x, y, w1, w2, pre_activation=True
        ),
        "transposed product": lambda x, y, w1, w2: tuple(
            g.T.reshape(g.shape) for g in _grads(x, y, w1, w2)
        ),
    },
    "two_layer_train": {
        "ascending": lambda x, y, w1, w2, *, lr, steps: _train(
            x, y, w1, w2, lr=lr, steps=steps, sign=1.0
        ),
        "only w1 updated": lambda x, y, w1, w2, *, lr, steps: _train(
            x, y, w1, w2, lr=lr, steps=steps, which="w1"
        ),
        "only w2 updated": lambda x, y, w1, w2, *, lr, steps: _train(
            x, y, w1, w2, lr=lr, steps=steps, which="w2"
        ),
        "gradient of the start reused": lambda x, y, w1, w2, *, lr, steps: _train(
            x, y, w1, w2, lr=lr, steps=steps, frozen=True
        ),
        "one step too few": lambda x, y, w1, w2, *, lr, steps: _train(
            x, y, w1, w2, lr=lr, steps=steps, off=1
        ),
        "w2's gradient after w1's update": lambda x, y, w1, w2, *, lr, steps: _train(
            x, y, w1, w2, lr=lr, steps=steps, sequential=True
        ),
    },  # fmt: skip
    "surviving_units": {
        "columns of w1 only": lambda w1, b1, w2: int(np.unique(np.asarray(w1).T, axis=0).shape[0]),
        "biases left out": lambda w1, b1, w2: int(
            np.unique(_keys(w1, np.asarray(w2).T).T, axis=0).shape[0]
        ),
        "outgoing weights left out": lambda w1, b1, w2: int(
            np.unique(_keys(w1, np.asarray(b1).reshape(1, -1)).T, axis=0).shape[0]
        ),
        "tiny differences merged (tol 1e-6)": lambda w1, b1, w2: _count_local(
            _keys(w1, np.asarray(b1).reshape(1, -1), np.asarray(w2).T), tol=1e-6
        ),
        "every unit different": lambda w1, b1, w2: np.asarray(w1).shape[1],
        "every unit a clone": lambda w1, b1, w2: 1,
    },  # fmt: skip
    "surviving_units_deep": {
        "incoming columns only": lambda ws: [
            int(np.unique(np.asarray(w).T, axis=0).shape[0]) for w in ws[:-1]
        ],
        "outgoing rows only": lambda ws: [
            int(np.unique(np.asarray(w), axis=0).shape[0]) for w in ws[1:]
        ],
        "tiny differences merged (tol 1e-6)": lambda ws: [
            _count_local(_keys(a, np.asarray(b).T), tol=1e-6)
            for a, b in zip(ws[:-1], ws[1:], strict=True)
        ],
        "every unit different": lambda ws: [np.asarray(w).shape[1] for w in ws[:-1]],
        "one entry per weight matrix": lambda ws: (
            ex01.surviving_units_deep_reference(ws) + [np.asarray(ws[-1]).shape[1]]
        ),
        "last hidden layer missing": lambda ws: ex01.surviving_units_deep_reference(ws)[:-1],
    },
}


@pytest.mark.parametrize("qid", IDS)
def test_wrong_answers_earn_at_most_a_quarter(qid):
    assert_wrong_answers_fail(qid, CORPUS[qid])
    assert_judged_on_their_rule(qid, CORPUS[qid])


def test_a_missing_dtype_keeps_partial_credit_never_full():
    r = run_checks("constant", lambda shape, rng=None, *, value, dtype=np.float32: np.full(
        shape, value))  # fmt: skip
    assert 0 < r.points < r.max_points and "dtype" in failed(r)


def test_modifying_the_callers_arrays_loses_half_never_full():
    """The text says "do not modify the arguments": the harness reports which arrays a call
    changed; right values from an in-place update keep half of the question, in check() and on
    the hidden inputs, and the message names the arrays."""

    def mutating(x, y, w1, w2, *, lr, steps):
        for _ in range(steps):
            g1, g2 = _grads(x, y, w1, w2)
            w1 -= lr * g1
            w2 -= lr * g2
        return w1, w2

    r = run_checks("two_layer_train", mutating)
    assert r.points == r.max_points / 2 and "changed the caller's w1, w2" in r.message
    assert hidden_points("two_layer_train", mutating) == r.max_points / 2


def test_wrong_predictions_are_diagnosed_without_the_answer():
    r = run_checks("surviving_units", CORPUS["surviving_units"]["columns of w1 only"])
    assert r.points == 0 and "your value is what you get when" in r.message
    r = run_checks("count_distinct_units", CORPUS["count_distinct_units"]["tol by rounding"])
    assert r.points == 0 and "rounding" in r.message, r.message


# ---- the predictions against gradient descent ---------------------------------------------------
def _train_net(x, y, weights, biases, lr, steps):
    """Full-batch gradient descent on tanh hidden layers with biases, sigmoid outputs, mean binary
    cross-entropy over examples and outputs. Element-wise products keep equal columns exactly equal
    (BLAS may round equal columns differently)."""
    ws = [np.array(w, dtype=float) for w in weights]
    bs = [np.array(b, dtype=float) for b in biases]
    for _ in range(steps):
        acts = [x]
        for w, b in zip(ws[:-1], bs[:-1], strict=True):
            acts.append(np.tanh(np.einsum("ni,ij->nj", acts[-1], w) + b))
        p = _sigmoid(np.einsum("ni,ij->nj", acts[-1], ws[-1]) + bs[-1])
        delta = (p - y) / y.size
        gw, gb = [None] * len(ws), [None] * len(ws)
        for i in range(len(ws) - 1, -1, -1):
            gw[i] = np.einsum("ni,nj->ij", acts[i], delta)
            gb[i] = delta.sum(axis=0)
            if i:
                delta = np.einsum("nj,ij->ni", delta, ws[i]) * (1 - acts[i] ** 2)
        ws = [w - lr * g for w, g in zip(ws, gw, strict=True)]
        bs = [b - lr * g for b, g in zip(bs, gb, strict=True)]
    return ws


def test_surviving_units_matches_gradient_descent_on_hidden_draws():
    """An exact count: after 1 and 5 steps the distinct columns of W1 are the predicted number
    (tol 1e-13: far above rounding, far below the 1e-9 splits' first-step separation)."""
    rng = np.random.default_rng(11)
    for seed in range(25):
        for call in ex01._surviving_calls(np.random.default_rng(seed)):
            w1, b1, w2 = call.args
            x = rng.standard_normal((60, w1.shape[0]))
            y = (rng.random((60, w2.shape[1])) < 0.5).astype(float)
            for steps in (1, 5):
                trained = _train_net(x, y, [w1, w2], [b1, np.zeros(w2.shape[1])], 0.5, steps)
                measured = symmetry.count_distinct_units(trained[0], tol=1e-13)
                assert measured == ex01.surviving_units_reference(w1, b1, w2), (seed, steps)


def test_surviving_units_deep_matches_gradient_descent_on_hidden_draws():
    rng = np.random.default_rng(12)
    for seed in range(25):
        for call in ex01._deep_calls(np.random.default_rng(seed)):
            (ws,) = call.args
            x = rng.standard_normal((60, ws[0].shape[0]))
            y = (rng.random((60, ws[-1].shape[1])) < 0.5).astype(float)
            trained = _train_net(x, y, ws, [np.zeros(w.shape[1]) for w in ws], 0.5, 3)
            measured = [symmetry.count_distinct_units(w, tol=1e-13) for w in trained[:-1]]
            assert measured == ex01.surviving_units_deep_reference(ws), seed


def test_hidden_draws_contain_split_clones():
    """The draws are informative: counting columns only is wrong on most of them."""
    wrong = 0
    for seed in range(20):
        for call in ex01._surviving_calls(np.random.default_rng(seed))[:4]:
            wrong += CORPUS["surviving_units"]["columns of w1 only"](
                *call.args
            ) != ex01.surviving_units_reference(*call.args)
    assert wrong >= 40


def test_library_reference_earns_zero():
    from course_utils.symmetry import count_distinct_units

    r = run_checks("count_distinct_units", count_distinct_units)
    assert r.points == 0


# ---- no answer in the student's notebook -------------------------------------------------------
CLOSED_FORMS = {
    "constant": [r"np\.full\b", r"full_like"],
    "count_distinct_units": [r"transpose", r"representative", r"unique\([^)]*\.T"],
    "two_layer_gradients": [r"\\delta_2\s*W_2\^\\top", r"h\^\\top\s*\\?,?\s*\\delta_2",
                            r"\(p\s*-\s*y\)\s*/\s*n", r"x\^\\top\s*\\?,?\s*\\delta_1",
                            r"1\s*-\s*h\^2"],
    "two_layer_train": [r"float copies", r"then update both"],
    "surviving_units": [r"distinct pairs", r"distinct (triples|triplets)",
                        r"incoming column.{0,60}outgoing", r"share both their incoming",
                        r"concatenat"],
    "surviving_units_deep": [r"\(column, row\) pairs", r"distinct \(column"],
}  # fmt: skip


def test_no_closed_form_in_the_student_notebook():
    assert_no_closed_forms(EXERCISE, CLOSED_FORMS)


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
