"""Exercise 03 (LeCun): questions, model solution, blank exercise, and the predictions' references
checked against simulations.

* The solution's functions pass the visible and the hidden checks for many grader draws.
* Stubs (zeros, None, the input, raising) earn 0 on every question; typical mistakes are named.
* The references agree with simulation: the grouped-convolution fans are counted exactly with
  torch's conv on all-ones weights; the funnel ratio and the scaled-tanh std agree with simulated
  networks within 5 standard errors (from the spread between independent networks) plus a stated
  allowance for the finite width.
* The grader CLI gives the committed solution full marks and the generated blank exercise 0.
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
from course_utils.grading.questions import ex03_lecun as ex03

SOLUTION, EXERCISE = notebooks("03_lecun")
IDS = [
    "fan_in_and_fan_out",
    "lecun_normal",
    "lecun_uniform",
    "sum_variance",
    "grouped_conv_fans",
    "funnel_gradient_ratio",
    "scaled_tanh_std",
]
PREDICTIONS = {"grouped_conv_fans", "funnel_gradient_ratio", "scaled_tanh_std"}
STRETCH = "scaled_tanh_std"
FULL = 12.0


@pytest.fixture(scope="module")
def answers() -> dict:
    return solution_functions(SOLUTION, IDS)


def test_questions_and_points():
    assert_points_split("03_lecun", IDS, PREDICTIONS, STRETCH, FULL)


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_the_visible_checks(answers, qid):
    r = run_checks(qid, answers[qid])
    assert r.passed and r.points == r.max_points, r.message


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_the_hidden_checks_for_many_draws(answers, qid):
    assert_passes_hidden_checks(qid, answers[qid], seeds=8)


@pytest.mark.parametrize("qid", IDS)
def test_stubs_earn_zero(qid):
    assert_stubs_earn_zero(qid)


@pytest.mark.parametrize(
    "qid, fn, words",
    [
        (
            "grouped_conv_fans",
            lambda ks, ci, co, g=1: (math.prod(ks) * ci, math.prod(ks) * co),
            "ignored",
        ),
        (
            "grouped_conv_fans",
            lambda ks, ci, co, g=1: (math.prod(ks) * ci // g, math.prod(ks) * co),
            "stored weight shape",
        ),
        ("funnel_gradient_ratio", lambda widths, act: widths[0] / widths[-1], "inverted"),
        ("funnel_gradient_ratio", lambda widths, act: widths[-1] / widths[0], "derivative"),
        ("scaled_tanh_std", ex03._scaled_pre_activation, "pre-activation"),
        ("sum_variance", lambda n, vw, vx, mean_x=0.0: n * vw * vx, "second moment"),
    ],
)
def test_wrong_answers_are_diagnosed_without_the_answer(qid, fn, words):
    r = run_checks(qid, fn)
    assert r.points < r.max_points and words in r.message, r.message


# ---- references against simulation -------------------------------------------------------------
def test_grouped_conv_fans_count_the_products_of_torch_convolutions():
    """All-ones weights and inputs: an interior output equals the number of products it sums
    (fan_in); the gradient of the sum of outputs at an interior input equals the number of
    outputs it feeds (fan_out). Exact counts, 1-D, 2-D and 3-D, grouped and depthwise."""
    torch = pytest.importorskip("torch")
    conv = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d,
            3: torch.nn.functional.conv3d}  # fmt: skip
    for ks, c_in, c_out, g in [((3,), 6, 9, 3), ((3, 5), 8, 16, 4), ((3, 3), 8, 8, 8),
                               ((3, 3, 3), 4, 8, 2), ((5, 3), 6, 12, 1)]:  # fmt: skip
        d = len(ks)
        x = torch.ones((1, c_in) + (11,) * d, dtype=torch.float64, requires_grad=True)
        w = torch.ones((c_out, c_in // g) + ks, dtype=torch.float64)
        y = conv[d](x, w, groups=g)
        y.sum().backward()
        fan_in = int(y[(0, 0) + tuple(n // 2 for n in y.shape[2:])])
        fan_out = int(x.grad[(0, 0) + (5,) * d])
        assert (fan_in, fan_out) == ex03.grouped_conv_fans_reference(ks, c_in, c_out, g)


def _simulated_ratio(widths, activation, rng, batch=100):
    f = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}[activation]
    df = {"linear": lambda z: np.ones_like(z), "relu": lambda z: (z > 0).astype(float),
          "tanh": lambda z: 1 - np.tanh(z) ** 2}[activation]  # fmt: skip
    ws = [
        rng.standard_normal((a, b)) / math.sqrt(a)
        for a, b in zip(widths[:-1], widths[1:], strict=True)
    ]
    a, zs = rng.standard_normal((batch, widths[0])), []
    for w in ws:
        zs.append(a @ w)
        a = f(zs[-1])
    g = rng.standard_normal((batch, widths[-1]))
    g_out = float(np.mean(g**2))
    for w, z in zip(reversed(ws), reversed(zs), strict=True):
        g = (g * df(z)) @ w.T
    return float(np.mean(g**2)) / g_out


@pytest.mark.parametrize("activation", ["linear", "relu", "tanh"])
def test_funnel_gradient_ratio_agrees_with_simulated_networks(activation):
    """Mean over R = 20 networks within 5 SE (spread between networks) + 3 % of the prediction
    (finite-width corrections, O(1/n) per layer with n >= 64)."""
    rng = np.random.default_rng(31)
    for widths in ([1024, 256, 64, 10], [512, 64, 256, 32]):
        runs = np.array([_simulated_ratio(widths, activation, rng) for _ in range(20)])
        se = runs.std(ddof=1) / math.sqrt(len(runs))
        want = ex03.funnel_gradient_ratio_reference(widths, activation)
        assert abs(runs.mean() - want) <= 5 * se + 0.03 * want, (widths, runs.mean(), want, se)


def test_scaled_tanh_std_agrees_with_simulated_networks():
    """Width 600, batch 100, R = 6 networks: the std of a_L within 5 SE + 1 % (finite width)."""
    rng = np.random.default_rng(32)
    for depth, a, b in ((10, 1.7159, 2 / 3), (5, 1.5, 1.0), (12, 1.2, 0.9)):
        stds = []
        for _ in range(6):
            x = rng.standard_normal((100, 600))
            for _ in range(depth):
                x = a * np.tanh(b * (x @ (rng.standard_normal((600, 600)) / math.sqrt(600))))
            stds.append(float(x.std()))
        se = np.std(stds, ddof=1) / math.sqrt(len(stds))
        want = ex03.scaled_tanh_std_reference(depth, a, b)
        assert abs(np.mean(stds) - want) <= 5 * se + 0.01 * want, (depth, np.mean(stds), want)


# ---- the grader on the committed notebooks ------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade(SOLUTION, EXERCISE, out_dir=tmp_path_factory.mktemp("grades"), jobs=2)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solutions"], "03_lecun", FULL, IDS)


def test_blank_exercise_is_graded_zero_without_crashing(graded):
    assert_zero(graded["exercises"], "03_lecun", FULL)
