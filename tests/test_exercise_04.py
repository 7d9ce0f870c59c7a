"""Exercise 04_glorot: the solution grades to full marks, the blank exercise to 0, and mistakes fail.

One run of the grader CLI on both notebooks (a module fixture); then in-process checks of
typical wrong answers with run_checks (visible inputs, the same verdict a student sees), stubs
that earn 0, and the prediction references against simulations (numpy networks and PyTorch's
own nn.Linear), with tolerances from the spread between independently drawn networks.
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
from course_utils.grading.questions import ex04_glorot as ex04
from course_utils.initializers import fan_in_and_fan_out

SOLUTION, EXERCISE = notebooks("04_glorot")
IDS = [
    "glorot_normal",
    "glorot_uniform",
    "backward_variance_ratio",
    "glorot_funnel_ratios",
    "pytorch_default_std",
    "pytorch_default_limit_std",
]
PREDICTIONS = set(IDS[3:])
STRETCH = "pytorch_default_limit_std"
FULL = 11.0


def test_questions_and_points():
    assert_points_split("04_glorot", IDS, PREDICTIONS, STRETCH, FULL)


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
    assert_full_marks(reports["solutions"], "04_glorot", FULL, IDS)


def test_blank_exercise_gets_zero(reports):
    assert_zero(reports["exercises"], "04_glorot", FULL)


def lecun_as_glorot(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=shape).astype(dtype)


def uniform_without_sqrt3(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, fan_out = fan_in_and_fan_out(shape, layout=layout)
    a = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape).astype(dtype)


def ratio_with_fan_in(shape, weight_variance, *, layout="in_out"):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    return fan_in * weight_variance


@pytest.mark.parametrize(
    ("qid", "fn"),
    [
        ("glorot_normal", lecun_as_glorot),
        ("glorot_uniform", uniform_without_sqrt3),
        ("backward_variance_ratio", ratio_with_fan_in),
    ],
)
def test_typical_mistakes_lose_points(qid, fn):
    """Each wrong answer misses by a factor >= 1.25 in variance on the visible non-square shapes,
    far beyond the checks' 5-standard-error tolerance (or the deterministic rtol of 1e-6)."""
    r = run_checks(qid, fn)
    assert r.points < r.max_points


@pytest.mark.parametrize(
    "qid, fn, words",
    [
        ("glorot_funnel_ratios", lambda widths: (1.0, widths[-1] / widths[0]), "LeCun"),
        (
            "pytorch_default_std",
            lambda widths, act: math.sqrt(ex04._default_q(widths, act, bias_var=lambda n: 1e-300)),
            "biases are left out",
        ),
        ("pytorch_default_limit_std", lambda width, act: math.sqrt(1 / (3 * width)), "bias alone"),
        (
            "pytorch_default_limit_std",
            lambda width, act: (
                math.sqrt(2 / (5 * width))
                if act == "relu"
                else ex04.pytorch_default_limit_std_reference(width, act)
                if act == "sigmoid"
                else math.sqrt(1 / (2 * width))
            ),
            "small-q approximation",
        ),
    ],
)
def test_wrong_predictions_are_diagnosed(qid, fn, words):
    r = run_checks(qid, fn)
    assert r.points == 0 and words in r.message, r.message


# ---- references against simulation -------------------------------------------------------------
def test_glorot_funnel_ratios_agree_with_simulated_linear_networks():
    """R = 30 networks per profile: forward Var(z_L) / E[x^2] and backward ratio within 5 SE
    (spread between networks); linear layers are exact in expectation, so no width allowance."""
    rng = np.random.default_rng(41)
    for widths in ([1024, 256, 64, 10], [64, 512, 32]):
        fwd, bwd = [], []
        for _ in range(30):
            ws = [
                rng.normal(0, math.sqrt(2 / (a + b)), (a, b))
                for a, b in zip(widths[:-1], widths[1:], strict=True)
            ]
            x = rng.standard_normal((200, widths[0]))
            g = rng.standard_normal((200, widths[-1]))
            for w in ws:
                x = x @ w
            for w in reversed(ws):
                g = g @ w.T
            fwd.append(float(np.mean(x**2)))
            bwd.append(float(np.mean(g**2)))
        want = ex04.glorot_funnel_ratios_reference(widths)
        for runs, target in ((fwd, want[0]), (bwd, want[1])):
            se = np.std(runs, ddof=1) / math.sqrt(len(runs))
            assert abs(np.mean(runs) - target) <= 5 * se, (widths, np.mean(runs), target, se)


@pytest.mark.parametrize("activation", ["relu", "tanh", "linear"])
def test_pytorch_default_std_agrees_with_torch_nn_linear(activation):
    """PyTorch's own nn.Linear stacks (default init, biases included), R = 16 seeds: the output
    std within 5 SE (spread between stacks) + 2 % (finite width 128: O(1/n) corrections)."""
    torch = pytest.importorskip("torch")
    act = {"relu": torch.relu, "tanh": torch.tanh, "linear": lambda h: h}[activation]
    widths = [200, 128, 64, 128, 32]
    stds = []
    for seed in range(16):
        torch.manual_seed(seed)
        layers = [torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]
        with torch.no_grad():
            h = torch.randn(1000, widths[0], generator=torch.Generator().manual_seed(99 + seed))
            for k, layer in enumerate(layers):
                h = layer(h)
                if k < len(layers) - 1:
                    h = act(h)
        stds.append(float(torch.sqrt(torch.mean(h**2))))
    se = np.std(stds, ddof=1) / math.sqrt(len(stds))
    want = ex04.pytorch_default_std_reference(widths, activation)
    assert abs(np.mean(stds) - want) <= 5 * se + 0.02 * want, (np.mean(stds), want, se)


@pytest.mark.parametrize("activation", ["relu", "tanh", "linear", "sigmoid"])
def test_bias_floor_is_reached_by_deep_default_stacks(activation):
    """40 layers of width 128 (numpy draws of the same uniform laws): the rms of z_40 within 5 SE
    (R = 12 stacks) + 3 % of the predicted floor."""
    f = {"relu": lambda z: np.maximum(z, 0), "linear": lambda z: z, "tanh": np.tanh,
         "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[activation]  # fmt: skip
    rng = np.random.default_rng(42)
    n, rms = 128, []
    for _ in range(12):
        h = rng.standard_normal((500, n))
        for _ in range(40):
            bound = 1 / math.sqrt(n)
            z = h @ rng.uniform(-bound, bound, (n, n)) + rng.uniform(-bound, bound, n)
            h = f(z)
        rms.append(float(np.sqrt(np.mean(z**2))))
    se = np.std(rms, ddof=1) / math.sqrt(len(rms))
    want = ex04.pytorch_default_limit_std_reference(n, activation)
    assert abs(np.mean(rms) - want) <= 5 * se + 0.03 * want, (np.mean(rms), want, se)
