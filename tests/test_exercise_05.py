"""Exercise 05_he: the solution grades to full marks, the blank exercise to 0, and mistakes fail.

One run of the grader CLI on both notebooks (a module fixture); then in-process checks of
typical wrong answers with run_checks (visible inputs, the same verdict a student sees): the
mode="fan_out" variance and the ValueError are graded, stubs earn 0, and the predictions'
references agree with simulated networks and with torch.nn.init.calculate_gain.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _exercise_helpers import assert_points_split, assert_stubs_earn_zero, solution_functions
from _grading_helpers import (
    assert_full_marks,
    assert_passes_hidden_checks,
    assert_zero,
    grade,
    notebooks,
)

from course_utils.grading import run_checks
from course_utils.grading.questions import ex05_he as ex05
from course_utils.initializers import fan_in_and_fan_out

SOLUTION, EXERCISE = notebooks("05_he")
IDS = ["he_normal", "he_uniform", "predicted_std", "he_activation_std", "quadrature_gain"]
PREDICTIONS = {"he_activation_std", "quadrature_gain"}
STRETCH = "quadrature_gain"
FULL = 10.0


def test_questions_and_points():
    assert_points_split("05_he", IDS, PREDICTIONS, STRETCH, FULL)


@pytest.fixture(scope="module")
def answers() -> dict:
    return solution_functions(SOLUTION, IDS)


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_the_hidden_checks_for_many_draws(answers, qid):
    assert_passes_hidden_checks(qid, answers[qid], seeds=8)


@pytest.mark.parametrize("qid", IDS)
def test_stubs_earn_zero(qid):
    assert_stubs_earn_zero(qid)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return grade(SOLUTION, EXERCISE, out_dir=tmp_path_factory.mktemp("grades"))


def test_solution_gets_full_marks(reports):
    assert_full_marks(reports["solutions"], "05_he", FULL, IDS)


def test_blank_exercise_gets_zero(reports):
    assert_zero(reports["exercises"], "05_he", FULL)


def glorot_as_he(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
    fan_in, fan_out = fan_in_and_fan_out(shape, layout=layout)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape).astype(dtype)


def he_uniform_std_as_limit(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    a = np.sqrt(2.0 / fan_in)
    return rng.uniform(-a, a, size=shape).astype(dtype)


def std_forgetting_first_layer(depth, scheme, activation):
    c = 2.0 if scheme.startswith("he_") else 1.0
    m = {"linear": 1.0, "relu": 0.5}[activation]
    return float(np.sqrt((c * m) ** depth))


@pytest.mark.parametrize(
    ("qid", "fn"),
    [
        ("he_normal", glorot_as_he),
        ("he_uniform", he_uniform_std_as_limit),
        ("predicted_std", std_forgetting_first_layer),
    ],
)
def test_typical_mistakes_lose_points(qid, fn):
    """Wrong by a factor >= 1.25 in variance (or sqrt 2 in std), far beyond the tolerances."""
    r = run_checks(qid, fn)
    assert r.points < r.max_points


def he_ignoring_mode(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(dtype)


def he_accepting_any_mode(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
    fan_in, fan_out = fan_in_and_fan_out(shape, layout=layout)
    fan = fan_out if mode == "fan_out" else fan_in
    return rng.normal(0.0, np.sqrt(2.0 / fan), size=shape).astype(dtype)


@pytest.mark.parametrize(
    "fn, failing",
    [
        (he_ignoring_mode, {"variance with mode='fan_out'", "ValueError for an unknown mode"}),
        (he_accepting_any_mode, {"ValueError for an unknown mode"}),
    ],
)
def test_mode_and_value_error_are_graded(fn, failing):
    r = run_checks("he_normal", fn)
    assert {c.name for c in r.checks if not c.passed} == failing, r.message
    assert 0 < r.points < r.max_points


@pytest.mark.parametrize(
    "qid, fn, words",
    [
        (
            "he_activation_std",
            lambda w, a, mode="fan_in": math.sqrt(ex05._leaky_moments(w, a, mode)[1]),
            "mean",
        ),
        (
            "he_activation_std",
            lambda w, a, mode="fan_in": math.sqrt(
                ex05._leaky_moments(w, a, "fan_in")[1] - ex05._leaky_moments(w, a, "fan_in")[2] ** 2
            ),
            "mode is ignored",
        ),
        ("quadrature_gain", ex05._gain_from_variance, "second moment"),
        ("quadrature_gain", lambda act, param=None: math.sqrt(2), "ReLU's gain"),
    ],
)
def test_wrong_predictions_are_diagnosed(qid, fn, words):
    r = run_checks(qid, fn)
    assert r.points < r.max_points and words in r.message, r.message


def test_quadrature_gain_agrees_with_torch_where_torch_has_a_formula():
    torch = pytest.importorskip("torch")
    for slope in (0.01, 0.2, 0.5):
        want = torch.nn.init.calculate_gain("leaky_relu", slope)
        assert ex05.quadrature_gain_reference("leaky_relu", slope) == pytest.approx(want, rel=1e-9)


def test_quadrature_gain_keeps_the_variance_of_simulated_layers():
    """A wide layer (4000 units, 200 inputs, R = 8 draws) with Var(w) = g^2 / n after f applied
    to unit-variance inputs: the pre-activation variance is 1 within 5 SE + 1 %."""
    rng = np.random.default_rng(51)
    for act, param in (("gelu", None), ("silu", None), ("elu", 0.7)):
        f = ex05._activation(act, param)
        g = ex05.quadrature_gain_reference(act, param)
        runs = []
        for _ in range(8):
            x = f(rng.standard_normal((200, 4000)))
            runs.append(
                float(np.mean((x @ (rng.standard_normal((4000, 300)) * g / math.sqrt(4000))) ** 2))
            )
        se = np.std(runs, ddof=1) / math.sqrt(len(runs))
        assert abs(np.mean(runs) - 1) <= 5 * se + 0.01, (act, np.mean(runs), se)


def test_he_activation_std_agrees_with_simulated_networks():
    """R = 30 networks: sqrt of the mean activation variance within 5 SE (delta method) + 1 %."""
    rng = np.random.default_rng(52)
    for widths, slope, mode in (
        ([256, 512, 128], 0.1, "fan_out"),
        ([300, 300, 300, 100], 0.0, "fan_in"),
    ):
        variances = []
        for _ in range(30):
            a = rng.standard_normal((200, widths[0]))
            for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
                fan = n_in if mode == "fan_in" else n_out
                z = a @ (rng.standard_normal((n_in, n_out)) * math.sqrt(2 / fan))
                a = np.where(z > 0, z, slope * z)
            variances.append(float(a.var()))
        std = math.sqrt(np.mean(variances))
        se = np.std(variances, ddof=1) / math.sqrt(30) / (2 * std)
        want = ex05.he_activation_std_reference(widths, slope, mode)
        assert abs(std - want) <= 5 * se + 0.01 * want, (widths, std, want, se)


def test_reference_matches_theory_module():
    """The graded reference is course_utils.theory.predicted_std: Glorot+ReLU at 30 is 2^-14.5."""
    from course_utils.theory import predicted_std

    assert predicted_std(30, "glorot_normal", "relu") == pytest.approx(2**-14.5, rel=1e-12)
    assert predicted_std(30, "he_normal", "relu") == pytest.approx(np.sqrt(2), rel=1e-12)
