"""Exercise 02 (small vs large random values): questions, model solution, blank exercise.

* The solution's own functions (read from solutions/02_small_vs_large_random.ipynb) pass the
  visible checks and the hidden checks for many grader draws. The function checks compare with the
  library on float64 inputs of moderate scale (no chaotic amplification of rounding), with rtol
  1e-5 for the statistics (float32 answers differ by ~1e-7 relative) and 1e-12 for the fractions,
  which are ratios of integer counts. The predictions are deterministic numbers (quadrature and
  bisection), compared to 0.1 % (saturation) and 0.5 % (sigma).
* The predicted references agree with simulated networks (the tolerances below are derived from
  the spread between independently drawn networks).
* Typical mistakes lose the points of the check they break; stubs earn 0.
* A corpus of typical wrong answers (real misconceptions, at least 5 per question) earns at most
  25 % of each question on the hidden inputs of several draws, and check() fails every one.
* No closed form of a graded question appears in the generated student notebook.
* At least 60 % of the points go to questions past the lecture (listed with the reason below).
* The grader CLI gives the committed solution full marks and the generated blank exercise 0.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from _exercise_helpers import (
    assert_judged_on_their_rule,
    assert_no_closed_forms,
    assert_points_split,
    assert_stubs_earn_zero,
    assert_wrong_answers_fail,
    solution_functions,
)
from _grading_helpers import (
    assert_full_marks,
    assert_passes_hidden_checks,
    assert_zero,
    failed,
    grade,
    notebooks,
)

from course_utils.grading import run_checks
from course_utils.grading.registry import exercises

# The registry imports the questions modules itself: a module imported before it loads would
# hide its VERSION / ALLOWED_IMPORTS / CHANGED_IN_ from registry.exercise_info (seen as a
# metadata mismatch in test_exercises_sync when it runs after this file). Load it first.
exercises()
ex02 = sys.modules["course_utils.grading.questions.ex02_small_vs_large_random"]
SOLUTION, EXERCISE = notebooks("02_small_vs_large_random")
IDS = [
    "layer_stats",
    "saturation_fraction",
    "dead_unit_fraction",
    "predicted_saturation",
    "gradient_preserving_std",
    "sigmoid_gradient_preserving_std",
]
PREDICTIONS = set(IDS[3:])
STRETCH = "sigmoid_gradient_preserving_std"
FULL = 11.0
#: questions whose answer needs a step lecture 02 does not show, and the step:
PAST_THE_LECTURE = {
    # the lecture predicts one square layer's saturation; here every layer of any width profile,
    # through the tanh recursion, with any threshold
    "predicted_saturation": "width profiles, recursion through tanh",
    # the lecture's backward factors at given sigma; here the sigma that makes their product 1
    # (forward recursion inside a bisection)
    "gradient_preserving_std": "solving for the critical scale",
    # another activation whose outputs are not zero-mean
    "sigmoid_gradient_preserving_std": "sigmoid",
}


@pytest.fixture(scope="module")
def answers() -> dict:
    return solution_functions(SOLUTION, IDS)


def test_questions_and_points():
    assert_points_split("02_small_vs_large_random", IDS, PREDICTIONS, STRETCH, FULL)
    from course_utils.grading.registry import questions_for

    qs = questions_for("02_small_vs_large_random")
    past = sum(q.points for q in qs if q.id in PAST_THE_LECTURE)
    assert past >= 0.6 * FULL, past


def test_metadata():
    assert ex02.VERSION and set(ex02.ALLOWED_IMPORTS) == {"numpy", "math"}


@pytest.mark.parametrize("qid", IDS)
def test_stubs_earn_zero(qid):
    assert_stubs_earn_zero(qid)


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_the_visible_checks(answers, qid):
    r = run_checks(qid, answers[qid])
    assert r.passed and r.points == r.max_points, failed(r)


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_the_hidden_checks_for_many_draws(answers, qid):
    # the predictions are deterministic numbers, so a few draws cover their inputs' range
    assert_passes_hidden_checks(qid, answers[qid], seeds=5 if qid in PREDICTIONS else 15)


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
        ("layer_stats", stats_of_pre_activations, {"networks"}),
        ("layer_stats", stats_per_unit_then_averaged, {"networks"}),
        ("saturation_fraction", saturation_with_ge, {"saturated entries"}),
        ("saturation_fraction", saturation_ignoring_threshold, {"saturated entries"}),
        ("dead_unit_fraction", dead_entries, {"units"}),
    ],
)
def test_typical_mistakes_fail_their_checks(qid, fn, failing):
    r = run_checks(qid, fn)
    assert set(failed(r)) == failing, failed(r)
    assert r.points < r.max_points


def test_answer_of_lecture_02_is_not_the_answer():
    """Lecture 02 prints (5/3)/sqrt(500) = 0.0745 for width 500; the backward factor gives less."""
    sigma = ex02.gradient_preserving_std_reference(500, 10)
    assert abs(sigma - 5 / 3 / math.sqrt(500)) > 0.01
    r = run_checks("gradient_preserving_std", lambda width, depth: 5 / 3 / math.sqrt(width))
    assert r.points == 0 and "5/3" in r.message


@pytest.mark.parametrize(
    "qid, fn, words",
    [
        ("gradient_preserving_std", lambda width, depth: 1 / math.sqrt(width), "near z = 0"),
        ("predicted_saturation", ex02._saturation_linear_recursion, "tanh between layers"),
        ("predicted_saturation", ex02._saturation_fan_out, "fan_out"),
        ("sigmoid_gradient_preserving_std", ex02._sigmoid_with_variance, "second moment"),
    ],
)
def test_wrong_predictions_are_diagnosed(qid, fn, words):
    r = run_checks(qid, fn)
    assert r.points == 0 and words in r.message, r.message


def _simulate_tanh(widths, sigma, rng, batch=500):
    a = rng.standard_normal((batch, widths[0]))
    out = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        a = np.tanh(a @ (rng.standard_normal((n_in, n_out)) * sigma))
        out.append(float(np.mean(np.abs(a) > 0.99)))
    return np.array(out)


def test_predicted_saturation_agrees_with_simulated_networks():
    """Mean over R = 6 independent networks of each layer's saturated fraction; tolerance 5 SE of
    that mean (SE from the spread between networks) plus 0.01 for the mean-field limit's
    finite-width error, O(1/n) with n >= 50."""
    rng = np.random.default_rng(21)
    for seed in range(3):
        for call in ex02._saturation_calls(np.random.default_rng(seed))[:3]:
            widths, sigma = call.args
            runs = np.array([_simulate_tanh(widths, sigma, rng) for _ in range(6)])
            se = runs.std(axis=0, ddof=1) / math.sqrt(len(runs))
            predicted = ex02.predicted_saturation_reference(widths, sigma)
            assert np.all(np.abs(runs.mean(axis=0) - predicted) <= 5 * se + 0.01), (
                widths, sigma, runs.mean(axis=0), predicted,
            )  # fmt: skip


def _grad_ratio(width, depth, sigma, f, df, rng, batch=200):
    acts, zs = [rng.standard_normal((batch, width))], []
    ws = [rng.standard_normal((width, width)) * sigma for _ in range(depth)]
    for w in ws:
        zs.append(acts[-1] @ w)
        acts.append(f(zs[-1]))
    g = rng.standard_normal((batch, width))
    g_out = float(np.mean(g**2))
    for w, z in zip(reversed(ws), reversed(zs), strict=True):
        g = (g * df(z)) @ w.T
    return float(np.mean(g**2)) / g_out


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_gradient_preserving_std_agrees_with_simulated_networks(activation):
    """At the predicted sigma the simulated E[(dL/dx)^2] / E[(dL/da_L)^2] is 1: mean over R = 8
    networks within 5 SE (spread between networks) + 0.03 (finite width 300, O(depth / n))."""
    if activation == "tanh":
        f, df = np.tanh, lambda z: 1 - np.tanh(z) ** 2
        sigma = ex02.gradient_preserving_std_reference(300, 8)
    else:
        f = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
        df = lambda z: f(z) * (1 - f(z))  # noqa: E731
        sigma = ex02.sigmoid_gradient_preserving_std_reference(300, 8)
    rng = np.random.default_rng(22)
    ratios = np.array([_grad_ratio(300, 8, sigma, f, df, rng) for _ in range(8)])
    se = ratios.std(ddof=1) / math.sqrt(len(ratios))
    assert abs(ratios.mean() - 1) <= 5 * se + 0.03, (ratios.mean(), se)
    # and the answer is sharp: 10 % off in sigma is far from 1
    off = np.array([_grad_ratio(300, 8, 1.1 * sigma, f, df, rng) for _ in range(4)])
    assert off.mean() > 1.3


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
    assert all("not implemented" in messages[q] for q in IDS), messages


# ---- typical wrong answers: each earns at most 25 %, check() fails it --------------------------
def _sat(widths, sigma, threshold=0.99, **kw):
    # library-free: the references call course_utils.theory.predict, stubbed while grading
    return ex02.saturation_variant(widths, sigma, threshold, **kw)


CORPUS = {
    "layer_stats": {
        "pre-activations": stats_of_pre_activations,
        "per-unit std averaged": stats_per_unit_then_averaged,
        "variance for std": lambda w, x, act: ex02._stats_variant(w, x, act, variance=True),
        "input counted as a layer": lambda w, x, act: ex02._stats_variant(w, x, act, shift=True),
        "ReLU as |z|": lambda w, x, act: (
            _abs_stats(w, x) if act == "relu" else ex02._stats_variant(w, x, act)
        ),
    },
    "saturation_fraction": {
        ">= threshold": saturation_with_ge,
        "threshold ignored": saturation_ignoring_threshold,
        "sign kept": lambda a, threshold=0.99: float(np.mean(np.asarray(a) > threshold)),
        "count, not fraction": lambda a, threshold=0.99: int(np.sum(np.abs(a) > threshold)),
        "percent": lambda a, threshold=0.99: 100 * float(np.mean(np.abs(a) > threshold)),
    },
    "dead_unit_fraction": {
        "zero entries": dead_entries,
        "any zero in the column": lambda a: float(np.mean(np.any(np.asarray(a) == 0, axis=0))),
        "rows, not columns": lambda a: float(np.mean(np.all(np.asarray(a) == 0, axis=1))),
        "count, not fraction": lambda a: int(np.sum(np.all(np.asarray(a) == 0, axis=0))),
        "alive fraction": lambda a: float(np.mean(np.any(np.asarray(a) != 0, axis=0))),
    },
    "predicted_saturation": {
        "linear recursion": ex02._saturation_linear_recursion,
        "fan_out": ex02._saturation_fan_out,
        "width left out": ex02._saturation_no_width,
        "artanh missing": lambda widths, sigma, threshold=0.99: _sat(
            widths, sigma, threshold, edge=threshold
        ),
        "one tail": lambda widths, sigma, threshold=0.99: _sat(widths, sigma, threshold, tails=1),
        "threshold ignored": lambda widths, sigma, threshold=0.99: _sat(widths, sigma),
    },
    "gradient_preserving_std": {
        "near z = 0": lambda width, depth: 1 / math.sqrt(width),
        "gain 5/3": lambda width, depth: 5 / 3 / math.sqrt(width),
        "depth - 1 factors": lambda width, depth: ex02.critical_variant(
            width, depth, "tanh", factors=depth - 1
        ),
        "E[f'] not squared": lambda width, depth: ex02.critical_variant(
            width, depth, "tanh", square=False
        ),
        "no forward recursion": lambda width, depth: ex02.critical_variant(
            width, depth, "tanh", recursion=False
        ),
        "sigma sqrt(n) returned": lambda width, depth: (
            ex02.critical_variant(width, depth, "tanh") * math.sqrt(width)
        ),
    },
    "sigmoid_gradient_preserving_std": {
        "variance carried": ex02._sigmoid_with_variance,
        "tanh answer": lambda width, depth: ex02.critical_variant(width, depth, "tanh"),
        "E[s'] not squared": lambda width, depth: ex02.critical_variant(
            width, depth, "sigmoid", square=False
        ),
        "slope at 0": lambda width, depth: 4 / math.sqrt(width),
        "no forward recursion": lambda width, depth: ex02.critical_variant(
            width, depth, "sigmoid", recursion=False
        ),
    },
}


def _abs_stats(weights, x, _activation="relu"):
    a, means, stds = np.asarray(x, dtype=float), [], []
    for w in weights:
        a = np.abs(a @ w)
        means.append(a.mean())
        stds.append(a.std())
    return np.array(means), np.array(stds)


@pytest.mark.parametrize("qid", IDS)
def test_wrong_answers_earn_at_most_a_quarter(qid):
    assert_wrong_answers_fail(qid, CORPUS[qid], seeds=2 if qid in PREDICTIONS else 3)
    assert_judged_on_their_rule(qid, CORPUS[qid])


# ---- no answer in the student's notebook -------------------------------------------------------
CLOSED_FORMS = {
    "layer_stats": [r"keep the current activation in one variable"],
    "saturation_fraction": [r"mean of a boolean array"],
    "dead_unit_fraction": [r"reduce over the batch axis"],
    "predicted_saturation": [r"erfc", r"artanh\(?\s*(0\.99|t)\)?\s*/\s*\\?sqrt",
                             r"q_l\s*=\s*n_\{l-1\}", r"\\tanh\(z\)\^2\\big\]",
                             r"n_\{l-1\}\\?,?\s*\\sigma\^2"],
    "gradient_preserving_std": [r"n\\?,?\s*\\sigma\^2\\?,?\s*\\mathbb E\[\s*(f|\\tanh)'",
                                r"q_\{l\+1\}\s*=",
                                r"\\sigma\\sqrt\s*n"],
    "sigmoid_gradient_preserving_std": [r"second\s+moment", r"about\s+\$?1/4",
                                        r"s\(z\)\(1\s*-\s*s\(z\)\)"],
}  # fmt: skip


def test_no_closed_form_in_the_student_notebook():
    assert_no_closed_forms(EXERCISE, CLOSED_FORMS)
