"""Exercise 03 (LeCun): questions, model solution, blank exercise, and the predictions' references
checked against simulations.

* The solution's functions pass the visible and the hidden checks for many grader draws.
* Stubs (zeros, None, the input, raising) earn 0 on every question; typical mistakes are named.
* The references agree with simulation: the grouped-convolution fans are counted exactly with
  torch's conv on all-ones weights; the funnel ratio and the scaled-tanh std agree with simulated
  networks within 5 standard errors (from the spread between independent networks) plus a stated
  allowance for the finite width.
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
    grade,
    notebooks,
)

from course_utils.grading import run_checks
from course_utils.grading.registry import exercises

# The registry imports the questions modules itself: a module imported before it loads would
# hide its VERSION / ALLOWED_IMPORTS / CHANGED_IN_ from registry.exercise_info (seen as a
# metadata mismatch in test_exercises_sync when it runs after this file). Load it first.
exercises()
ex03 = sys.modules["course_utils.grading.questions.ex03_lecun"]
SOLUTION, EXERCISE = notebooks("03_lecun")
IDS = [
    "fan_in_and_fan_out",
    "lecun_normal",
    "lecun_uniform",
    "sum_variance",
    "grouped_conv_fans",
    "funnel_gradient_ratio",
    "scaled_tanh_fixed_std",
]
PREDICTIONS = {"grouped_conv_fans", "funnel_gradient_ratio", "scaled_tanh_fixed_std"}
STRETCH = "scaled_tanh_fixed_std"
FULL = 12.0
#: questions whose answer needs a step lecture 03 does not show, and the step:
PAST_THE_LECTURE = {
    # grouped and depthwise convolutions: the lecture counts fans of plain kernels only
    "grouped_conv_fans": "groups",
    # the lecture's funnel is linear (n_out/n_in per layer); ReLU and tanh add E[f'(z_l)^2]
    # at each layer's q_l from the forward recursion, on width profiles with bottlenecks
    "funnel_gradient_ratio": "activations and width profiles",
    # the lecture measures where 1.7159 tanh(2x/3) settles; here any a, b, the fixed point of
    # the variance map (not a finite depth) and the regime a b <= 1 where it is 0
    "scaled_tanh_fixed_std": "fixed point and its regimes",
}


@pytest.fixture(scope="module")
def answers() -> dict:
    return solution_functions(SOLUTION, IDS)


def test_questions_and_points():
    assert_points_split("03_lecun", IDS, PREDICTIONS, STRETCH, FULL)
    from course_utils.grading.registry import questions_for

    past = sum(q.points for q in questions_for("03_lecun") if q.id in PAST_THE_LECTURE)
    assert past >= 0.6 * FULL, past


def test_metadata():
    assert ex03.VERSION and set(ex03.ALLOWED_IMPORTS) == {"numpy", "math"}


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
        (
            "scaled_tanh_fixed_std",
            lambda a, b: ex03.scaled_tanh_fixed_std_reference(a, b) ** 2,
            "variance",
        ),
        ("sum_variance", lambda n, vw, vx, mean_x=0.0: n * vw * vx, "second moment"),
        ("sum_variance", lambda n, vw, vx, mean_x=0.0: n * vw * (vx + mean_x), "unsquared"),
        (
            "funnel_gradient_ratio",
            lambda widths, act: ex03._funnel_variant(widths, act, relu_half=False),
            "1/2",
        ),
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


def test_scaled_tanh_fixed_std_agrees_with_simulated_networks():
    """Width 600, batch 100, 60 layers, R = 4 networks: the std of a_L within 5 SE + 2 % (finite
    width); below slope 1 the std is far below any a b > 1 case (it decays to 0 like a power)."""
    rng = np.random.default_rng(32)
    for a, b in ((1.7159, 2 / 3), (1.5, 1.0), (2.0, 0.7)):
        stds = []
        for _ in range(4):
            x = rng.standard_normal((100, 600))
            for _ in range(60):
                x = a * np.tanh(b * (x @ (rng.standard_normal((600, 600)) / math.sqrt(600))))
            stds.append(float(x.std()))
        se = np.std(stds, ddof=1) / math.sqrt(len(stds))
        want = ex03.scaled_tanh_fixed_std_reference(a, b)
        assert abs(np.mean(stds) - want) <= 5 * se + 0.02 * want, (a, b, np.mean(stds), want)
    assert ex03.scaled_tanh_fixed_std_reference(1.5, 0.6) == 0.0


# ---- the grader on the committed notebooks ------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade(SOLUTION, EXERCISE, out_dir=tmp_path_factory.mktemp("grades"), jobs=2)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solutions"], "03_lecun", FULL, IDS)


def test_blank_exercise_is_graded_zero_without_crashing(graded):
    assert_zero(graded["exercises"], "03_lecun", FULL)


# ---- typical wrong answers: each earns at most 25 %, check() fails it --------------------------
def _fans_right(shape, layout):
    """The right fans, written out (the library's function is out of reach while grading)."""
    if len(shape) < 2:
        raise ValueError("shape needs 2 dimensions")
    if layout == "in_out":
        r = math.prod(shape[:-2])
        return shape[-2] * r, shape[-1] * r
    r = math.prod(shape[2:])
    return shape[1] * r, shape[0] * r


def _fan_receptive_from_wrong_axes(shape, *, layout="in_out"):
    r = math.prod(shape[2:]) if layout == "in_out" else math.prod(shape[:-2])
    c_in, c_out = (shape[-2], shape[-1]) if layout == "in_out" else (shape[1], shape[0])
    if len(shape) < 2:
        raise ValueError("shape")
    return c_in * r, c_out * r


def _fan_dense_only(shape, *, layout="in_out"):
    if len(shape) < 2:
        raise ValueError("shape")
    return (shape[0], shape[-1]) if layout == "in_out" else (shape[-1], shape[0])


def _init(std_of, family="normal", draw=None):
    """An initializer drawing from ``family`` with std ``std_of(fan_in, fan_out)``."""

    def init(shape, rng, *, layout="in_out", dtype=np.float32):
        fan_in, fan_out = _fans_right(shape, layout)
        std = std_of(fan_in, fan_out)
        if draw is not None:
            return draw(rng, std, shape).astype(dtype)
        if family == "normal":
            return rng.normal(0.0, std, size=shape).astype(dtype)
        limit = math.sqrt(3) * std
        return rng.uniform(-limit, limit, size=shape).astype(dtype)

    return init


def _global_normal(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = _fans_right(shape, layout)
    return (np.random.standard_normal(shape) / math.sqrt(fan_in)).astype(dtype)  # noqa: NPY002


def _global_uniform(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = _fans_right(shape, layout)
    limit = math.sqrt(3 / fan_in)
    return np.random.uniform(-limit, limit, size=shape).astype(dtype)  # noqa: NPY002


def _layout_ignored(family):
    def init(shape, rng, *, layout="in_out", dtype=np.float32):
        fan_in, _ = _fans_right(shape, "in_out")
        if family == "normal":
            return rng.normal(0.0, 1 / math.sqrt(fan_in), size=shape).astype(dtype)
        limit = math.sqrt(3 / fan_in)
        return rng.uniform(-limit, limit, size=shape).astype(dtype)

    return init


CORPUS = {
    "fan_in_and_fan_out": {
        "no receptive field": ex03._fans_no_receptive,
        "layout ignored": ex03._fans_layout_ignored,
        "out_in channels not swapped": ex03._fans_out_in_unswapped,
        "fan_in and fan_out swapped": lambda shape, *, layout="in_out": tuple(
            reversed(_fans_right(shape, layout))
        ),
        "receptive field from the wrong axes": _fan_receptive_from_wrong_axes,
        "first and last dims only": _fan_dense_only,
    },
    "lecun_normal": {
        "variance used as std": _init(lambda fi, fo: 1 / fi),
        "fan_out": _init(lambda fi, fo: 1 / math.sqrt(fo)),
        "Glorot variance": _init(lambda fi, fo: math.sqrt(2 / (fi + fo))),
        "uniform draws": _init(lambda fi, fo: 1 / math.sqrt(fi), family="uniform"),
        "global np.random": _global_normal,
        "layout ignored": _layout_ignored("normal"),
    },
    "lecun_uniform": {
        "limit 1/sqrt(fan_in) (factor 3 missing)": _init(
            lambda fi, fo: 1 / math.sqrt(3 * fi), family="uniform"
        ),
        "normal draws": _init(lambda fi, fo: 1 / math.sqrt(fi), family="normal"),
        "limit used as std": _init(lambda fi, fo: 3 / math.sqrt(fi), family="uniform"),
        "Glorot limit": _init(lambda fi, fo: math.sqrt(2 / (fi + fo)), family="uniform"),
        "U(0, limit)": _init(
            lambda fi, fo: 1 / math.sqrt(fi),
            draw=lambda rng, std, shape: rng.uniform(0, math.sqrt(3) * std, size=shape),
        ),
        "global np.random": _global_uniform,
        "layout ignored": _layout_ignored("uniform"),
    },
    "sum_variance": {
        "mean left out": lambda n, vw, vx, mean_x=0.0: n * vw * vx,
        "mean not squared": lambda n, vw, vx, mean_x=0.0: n * vw * (vx + mean_x),
        "mean added once": lambda n, vw, vx, mean_x=0.0: n * vw * vx + mean_x**2,
        "n left out": lambda n, vw, vx, mean_x=0.0: vw * (vx + mean_x**2),
        "std instead of variance": lambda n, vw, vx, mean_x=0.0: math.sqrt(
            n * vw * (vx + mean_x**2)
        ),
        "n squared": lambda n, vw, vx, mean_x=0.0: n**2 * vw * (vx + mean_x**2),
    },
    "grouped_conv_fans": {
        "groups ignored": lambda ks, ci, co, g=1: (math.prod(ks) * ci, math.prod(ks) * co),
        "torch's stored shape": lambda ks, ci, co, g=1: (
            math.prod(ks) * ci // g,
            math.prod(ks) * co,
        ),
        "only fan_out divided": lambda ks, ci, co, g=1: (
            math.prod(ks) * ci,
            math.prod(ks) * co // g,
        ),
        "receptive field left out": lambda ks, ci, co, g=1: (ci // g, co // g),
        "swapped": lambda ks, ci, co, g=1: (math.prod(ks) * co // g, math.prod(ks) * ci // g),
        "divided twice": lambda ks, ci, co, g=1: (
            math.prod(ks) * ci // g**2,
            math.prod(ks) * co // g**2,
        ),
    },  # fmt: skip
    "funnel_gradient_ratio": {
        "inverted": lambda widths, act: widths[0] / widths[-1],
        "no derivative": lambda widths, act: widths[-1] / widths[0],
        "ReLU 1/2 missing": lambda w, act: ex03._funnel_variant(w, act, relu_half=False),
        "E[f'] not squared": lambda w, act: ex03._funnel_variant(w, act, square=False),
        "no forward recursion": lambda w, act: ex03._funnel_variant(w, act, recursion=False),
        "off by one layer": lambda w, act: ex03._funnel_variant(w, act, skip=1),
        "preserved": lambda widths, act: 1.0,
    },
    "scaled_tanh_fixed_std": {
        "variance for std": lambda a, b: ex03.scaled_tanh_fixed_std_reference(a, b) ** 2,
        "10 layers": lambda a, b: ex03._iterate_map(a, b, 10),
        "30 layers": lambda a, b: ex03._iterate_map(a, b, 30),
        "saturation level a": lambda a, b: a,
        "plain tanh": lambda a, b: ex03.scaled_tanh_fixed_std_reference(1.0, 1.0),
        "linear slope": lambda a, b: 0.0 if a * b <= 1 else a * b,
    },
}


@pytest.mark.parametrize("qid", IDS)
def test_wrong_answers_earn_at_most_a_quarter(qid):
    assert_wrong_answers_fail(qid, CORPUS[qid])
    assert_judged_on_their_rule(qid, CORPUS[qid])


def test_a_missing_value_error_keeps_partial_credit_never_full():
    def no_error(ks, ci, co, g=1):
        return math.prod(ks) * ci // max(g, 1), math.prod(ks) * co // max(g, 1)

    r = run_checks("grouped_conv_fans", no_error)
    assert 0 < r.points < r.max_points


# ---- no answer in the student's notebook -------------------------------------------------------
CLOSED_FORMS = {
    "fan_in_and_fan_out": [r"fan\\?_in\}?\s*=\s*r", r"receptive field times",
                           r"3\s*\\cdot\s*3\s*\\cdot\s*64"],
    "lecun_normal": [r"N\(0,\s*1\s*/\s*fan", r"frac\{1\}\{\\?text\{fan", r"1\s*/\s*\\?sqrt", r"sqrt\(\s*1\s*/\s*fan",
                     r"n_\{?in\}?\s*\\?,?\s*\\mathrm\{Var\}\(w\)\s*=\s*1",
                     r"\\mathrm\{Var\}\(w\)\s*=\s*1\s*/\s*n"],
    "lecun_uniform": [r"sqrt\{?\(?\s*3\s*/", r"a\^2\s*/\s*3", r"sqrt\(3"],
    "sum_variance": [r"\\sigma_x\^2\s*\+\s*\\mu_x\^2", r"var_x\s*\+\s*mean_x", r"E\[w\^2\s*x\^2\]",
                     r"mathbb E\[w\^2"],
    "grouped_conv_fans": [r"c_\{?in\}?\s*/\s*g", r"c_in\s*//?\s*groups", r"c_\{?out\}?\s*/\s*g"],
    "funnel_gradient_ratio": [r"n_l\s*/\s*n_\{l-1\}", r"f'\(z(_l)?\)\^2", r"1/2 at every"],
    "scaled_tanh_fixed_std": [r"fixed point (is|at) 0", r"a\s*b\s*(\\le|<=|\\leq)\s*1",
                              r"tanh\(u\)\^2\s*<"],
}  # fmt: skip


def test_no_closed_form_in_the_student_notebook():
    assert_no_closed_forms(EXERCISE, CLOSED_FORMS)
