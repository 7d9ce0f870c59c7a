"""Exercise 02 (small versus large random values): per-layer statistics, saturated and dead
units, and two predictions from the lecture's recursions: the saturated fraction per layer of a
tanh net with any width profile, and the scale at which the backward factor of a deep tanh (or,
stretch, sigmoid) network is 1 end to end.

Each question has one main call group holding the inputs on which the common wrong rules differ
from the right one, so a misconception earns nothing. The predictions cannot be simulated to the
grader's tolerance (0.1 % on saturated fractions, 0.5 % on a scale found by bisection)."""

from __future__ import annotations

import functools
import math

import numpy as np

from course_utils import theory
from course_utils.activations import gaussian_expectation
from course_utils.grading.checks import Call
from course_utils.grading.predictions import predicted
from course_utils.grading.registry import question

EXERCISE = "02_small_vs_large_random"
#: bumped whenever a question of this exercise changes (grading an older copy says which)
VERSION = "3"
#: what a graded answer may import (the notebook's first cell says so too)
ALLOWED_IMPORTS = ("numpy", "math")
#: questions whose checks changed in VERSION 3 (same signatures; groups merged, inputs added)
CHANGED_IN_3 = ("layer_stats", "saturation_fraction", "predicted_saturation")
ACTIVATIONS = ("tanh", "relu", "linear")


# ---- layer_stats -------------------------------------------------------------------------------
def _net(rng: np.random.Generator, activation: str, depth: int | None = None) -> tuple:
    """Float64 weights of moderate scale (no chaos, so float32 and float64 answers agree)."""
    depth = int(rng.integers(1, 6)) if depth is None else depth
    widths = [int(rng.integers(3, 60)) for _ in range(depth + 1)]
    gain = math.sqrt(2.0) if activation == "relu" else 1.0
    weights = [
        rng.standard_normal((a, b)) * gain * float(rng.uniform(0.3, 1.1)) / math.sqrt(a)
        for a, b in zip(widths[:-1], widths[1:], strict=True)
    ]
    x = rng.standard_normal((int(rng.integers(20, 200)), widths[0])) * float(rng.uniform(0.5, 2))
    return weights, x, activation


def _stats_calls(rng: np.random.Generator) -> list[Call]:
    return [Call(_net(rng, act), group="networks") for act in ACTIVATIONS for _ in range(2)]


def _visible_stats() -> list[Call]:
    calls = []
    for i, act in enumerate(ACTIVATIONS):
        calls.append(Call(_net(np.random.default_rng(100 + i), act, depth=3), group="networks"))
    return calls


question(
    "layer_stats",
    exercise=EXERCISE,
    points=1.5,
    title="per-layer mean and std of the activations",
    check=predicted(
        theory.layer_stats,
        visible=_visible_stats(),
        hidden=_stats_calls,
        rtol=1e-5,
        atol=1e-12,
        mistakes={
            "the statistics are those of the pre-activations z_l, not of a_l = f(z_l)": (
                lambda weights, x, activation: _stats_variant(weights, x, activation, pre=True)
            ),
            "the std is taken per unit over the batch and then averaged; the question asks for "
            "the std of all entries of a_l together": lambda weights, x, activation: _stats_variant(
                weights, x, activation, per_unit=True
            ),
            "the variance is returned where the std is asked": lambda weights, x, activation: (
                _stats_variant(weights, x, activation, variance=True)
            ),
            "off by one layer: the input x is counted as a layer": lambda weights, x, act: (
                _stats_variant(weights, x, act, shift=True)
            ),
        },
        hints={
            "networks": "one entry per layer; the statistics are over the whole (batch, units) "
            "array of each layer's activations, after the nonlinearity; 'linear' applies none",
        },
    ),
    forbidden=(
        "course_utils.theory.layer_stats",
        "course_utils.theory.trace_stats",
        "course_utils.network.forward",
    ),
)


_F = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z}


def _stats_variant(
    weights, x, activation, *, pre=False, per_unit=False, variance=False, shift=False
):
    """The right statistics with one switch on: the wrong rules of the mistakes above."""
    a, means, stds = np.asarray(x, dtype=float), [], []
    if shift:
        means.append(a.mean())
        stds.append(a.std())
    for w in weights:
        z = a @ np.asarray(w, dtype=float)
        a = _F[activation](z)
        v = z if pre else a
        means.append(v.mean())
        s = v.std(axis=0).mean() if per_unit else v.std()
        stds.append(s * s if variance else s)
    n = len(weights)
    return np.array(means[:n]), np.array(stds[:n])  # fmt: skip


# ---- saturation_fraction -----------------------------------------------------------------------
def _saturation_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(3):
        shape = (int(rng.integers(1, 300)), int(rng.integers(1, 60)))
        a = np.tanh(rng.standard_normal(shape) * float(rng.uniform(0.1, 5.0)))
        calls.append(Call((a,), group="saturated entries"))
    a = np.tanh(rng.standard_normal(500) * 3.0)
    a[:25] = 0.99  # on the threshold: not saturated (strict inequality)
    a[25:50] = -0.99
    calls.append(Call((a,), group="saturated entries"))
    for _ in range(2):
        a = np.tanh(rng.standard_normal((int(rng.integers(10, 200)), 30)) * 2.0)
        kw = {"threshold": float(rng.uniform(0.5, 0.9))}
        calls.append(Call((a,), kw, group="saturated entries"))
    return calls


question(
    "saturation_fraction",
    exercise=EXERCISE,
    points=1,
    title="fraction of saturated tanh outputs, |a| > threshold",
    check=predicted(
        theory.saturation_fraction,
        visible=[
            Call((np.array([0.0, 0.5, 0.995, -1.0]),), group="saturated entries"),
            Call((np.array([[0.99, -0.99], [0.9999, 0.2]]),), group="saturated entries"),
            Call((np.array([0.0, 0.6, -0.8, 0.95]),), {"threshold": 0.7}, "saturated entries"),
        ],
        hidden=_saturation_calls,
        rtol=1e-12,
        atol=1e-12,
        mistakes={
            "|a| equal to the threshold is counted as saturated (>= where > belongs)": (
                lambda a, threshold=0.99: float(np.mean(np.abs(np.asarray(a)) >= threshold))
            ),
            "the threshold argument is ignored (0.99 is used)": lambda a, threshold=0.99: float(
                np.mean(np.abs(np.asarray(a)) > 0.99)
            ),
            "the sign is kept: only a > threshold is counted, not a < -threshold": (
                lambda a, threshold=0.99: float(np.mean(np.asarray(a) > threshold))
            ),
        },
        hints={
            "saturated entries": "over every entry; the sign does not matter, |a| equal to the "
            "threshold is not saturated, and the threshold argument (default 0.99) decides",
        },
    ),
    forbidden=("course_utils.theory.saturation_fraction",),
)


# ---- dead_unit_fraction ------------------------------------------------------------------------
def dead_unit_reference(a: np.ndarray) -> float:
    """Fraction of units (columns of a (batch, units) array) that are 0 for every example."""
    return theory.dead_fraction(a, per="unit")


def _dead_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(4):
        batch, units = int(rng.integers(1, 50)), int(rng.integers(2, 80))
        z = rng.standard_normal((batch, units)) + rng.normal(
            0.0, 2.0, units
        )  # some units mostly off
        calls.append(Call((np.maximum(z, 0.0),), group="units"))
    calls.append(
        Call((np.zeros((int(rng.integers(2, 20)), int(rng.integers(2, 20)))),), group="units")
    )
    return calls


question(
    "dead_unit_fraction",
    exercise=EXERCISE,
    points=1,
    title="fraction of ReLU units that output 0 for the whole batch",
    check=predicted(
        dead_unit_reference,
        visible=[
            Call((np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]),), group="units"),
            Call((np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 3.0]]),), group="units"),
            Call((np.ones((4, 5)),), group="units"),
        ],
        hidden=_dead_calls,
        rtol=1e-12,
        atol=1e-12,
        mistakes={
            "you count zero entries instead of dead units (columns)": lambda a: float(
                np.mean(np.asarray(a) == 0)
            ),
        },
        hints={
            "units": "a unit is a column; it is dead when every entry of its column is 0; "
            "the answer is a fraction of columns, not of entries",
        },
    ),
    forbidden=("course_utils.theory.dead_fraction",),
)


# ---- prediction: saturated fraction per layer ---------------------------------------------------
SATURATION = 0.99


def _tanh_sq(z: np.ndarray) -> np.ndarray:
    return np.tanh(z) ** 2


def predicted_saturation_reference(
    widths: list[int], sigma: float, threshold: float = SATURATION
) -> np.ndarray:
    """Predicted fraction of |a_l| > threshold per layer, tanh net, weights randn * sigma, unit
    input: q_1 = n_0 sigma^2, q_l = n_(l-1) sigma^2 E[tanh(z)^2] (z ~ N(0, q_(l-1))), and
    P(|tanh z| > t) = erfc(artanh(t) / sqrt(2 q))."""
    p = theory.predict(list(widths), "random_normal", "tanh", std=float(sigma))
    edge = math.atanh(float(threshold))
    return np.array([math.erfc(edge / math.sqrt(2.0 * q)) for q in p.pre_activation_var])


def _saturation_from_q(q: np.ndarray, threshold: float) -> np.ndarray:
    edge = math.atanh(float(threshold))
    return np.array([math.erfc(edge / math.sqrt(2.0 * v)) for v in q])


def _saturation_linear_recursion(widths, sigma, threshold=SATURATION):
    q = np.cumprod([n * sigma**2 for n in widths[:-1]])
    return _saturation_from_q(q, threshold)


def _saturation_fan_out(widths, sigma, threshold=SATURATION):
    q, prev = [], 1.0
    for n in widths[1:]:
        q.append(n * sigma**2 * prev)
        prev = float(gaussian_expectation(_tanh_sq, q[-1]))
    return _saturation_from_q(np.array(q), threshold)


def _saturation_no_width(widths, sigma, threshold=SATURATION):
    q, prev = [], 1.0
    for _ in widths[1:]:
        q.append(sigma**2 * prev)
        prev = float(gaussian_expectation(_tanh_sq, q[-1]))
    return _saturation_from_q(np.array(q), threshold)


def _saturation_edge(widths, sigma, threshold, *, edge):
    p = theory.predict(list(widths), "random_normal", "tanh", std=float(sigma))
    return np.array([math.erfc(edge / math.sqrt(2.0 * q)) for q in p.pre_activation_var])


def saturation_variant(
    widths, sigma, threshold=SATURATION, *, edge: float | None = None, tails: int = 2
) -> np.ndarray:
    """The tanh recursion with Gaussian expectations only (library-free, for the tests' wrong
    answers): the right prediction by default; ``edge`` replaces artanh(threshold), ``tails=1``
    counts one side."""
    out, m2 = [], 1.0
    cut = math.atanh(float(threshold)) if edge is None else float(edge)
    for n_in in widths[:-1]:
        q = n_in * float(sigma) ** 2 * m2
        out.append(math.erfc(cut / math.sqrt(2.0 * q)) * tails / 2)
        m2 = float(gaussian_expectation(_tanh_sq, q))
    return np.array(out)


def _profile(rng: np.random.Generator) -> list[int]:
    depth = int(rng.integers(3, 7))
    return [int(v) for v in rng.integers(50, 1001, size=depth + 1)]


def _saturation_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(3):
        widths = _profile(rng)
        sigma = float(rng.uniform(1.0, 3.0)) / math.sqrt(float(np.mean(widths[:-1])))
        calls.append(Call((widths, sigma), group="width profiles"))
    widths = _profile(rng)
    sigma = float(rng.uniform(1.0, 3.0)) / math.sqrt(float(np.mean(widths[:-1])))
    kw = {"threshold": float(rng.uniform(0.9, 0.98))}
    calls.append(Call((widths, sigma), kw, group="width profiles"))
    return calls


question(
    "predicted_saturation",
    exercise=EXERCISE,
    points=3,
    title="predict the saturated fraction of every layer of a tanh net with any width profile",
    check=predicted(
        predicted_saturation_reference,
        visible=[
            Call(([100, 300, 300, 100], 0.1), group="width profiles"),
            Call(([784, 200, 50, 400, 400], 0.08), group="width profiles"),
            Call(([500, 500, 500], 0.06), {"threshold": 0.95}, group="width profiles"),
        ],
        hidden=_saturation_calls,
        rtol=1e-3,
        atol=2e-4,
        mistakes={
            "the tanh between layers is left out (the linear recursion: each layer multiplies "
            "q by n sigma^2)": _saturation_linear_recursion,
            "each layer uses its own width (fan_out) instead of the width of its input (fan_in)": (
                _saturation_fan_out
            ),
            "the width is left out of q (a pre-activation sums n_(l-1) products)": (
                _saturation_no_width
            ),
            "the threshold is applied to z instead of to tanh(z) (artanh is missing)": (
                lambda widths, sigma, threshold=SATURATION: _saturation_edge(
                    widths, sigma, threshold, edge=float(threshold)
                )
            ),
            "only one tail is counted (tanh saturates at +1 and at -1)": (
                lambda widths, sigma, threshold=SATURATION: (
                    0.5 * predicted_saturation_reference(widths, sigma, threshold)
                )
            ),
        },
        hints={
            "width profiles": "one value per layer; each layer's pre-activation variance comes "
            "from the layer below and the width that feeds it (lecture 02, section 1), and the "
            "threshold moves the edge where tanh saturates (lecture 02, section 2)",
        },
    ),
    forbidden=(
        "course_utils.theory.predict",
        "course_utils.theory.forward_variance",
        "course_utils.theory.predicted_std",
    ),
)


# ---- prediction: the scale where the backward factor is 1 ----------------------------------------
def _log_input_grad(width: int, depth: int, c: float, activation: str, factors: int) -> float:
    p = theory.predict([width] * (depth + 1), "random_normal", activation, std=c / math.sqrt(width))
    g = np.concatenate([[p.input_grad_var], p.grad_var])  # E[g_0^2] .. E[g_L^2] = 1
    return math.log(g[depth - factors])


@functools.lru_cache(maxsize=512)
def _critical_c(width: int, depth: int, activation: str, factors: int | None = None) -> float:
    """sigma * sqrt(width) at which E[(dL/da_(L-factors))^2] = E[(dL/da_L)^2] (bisection in log)."""
    factors = depth if factors is None else factors
    lo, hi = 0.05, 200.0
    for _ in range(45):  # the bracket's log-width 8.3 shrinks to 2e-13
        mid = math.sqrt(lo * hi)
        if _log_input_grad(width, depth, mid, activation, factors) < 0:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


_ACTS = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "sigmoid": (_sig, lambda z: _sig(z) * (1 - _sig(z))),
}


@functools.lru_cache(maxsize=512)
def critical_variant(
    width: int,
    depth: int,
    activation: str,
    *,
    square: bool = True,
    recursion: bool = True,
    carry: str = "second moment",
    factors: int | None = None,
) -> float:
    """sigma for the wrong rules of the corpus (one switch each; all defaults: the right rule).

    ``square=False`` uses E[f'(z)] for E[f'(z)^2]; ``recursion=False`` keeps every layer at the
    first layer's q; ``carry="variance"`` feeds Var(f(z)) forward instead of E[f(z)^2];
    ``factors`` multiplies only the last ``factors`` layers' factors. Library-free (Gaussian
    expectations only), so the tests' wrong answers can call it while the references are stubbed."""
    f, fp = _ACTS[activation]

    def log_ratio(c: float) -> float:
        v, m2, total, q_first = c * c, 1.0, 0.0, None
        for layer in range(int(depth)):
            q = v * m2 if (recursion or q_first is None) else q_first
            q_first = q if q_first is None else q_first
            e = gaussian_expectation((lambda z: fp(z) ** 2) if square else fp, q)
            if factors is None or layer >= int(depth) - int(factors):
                total += math.log(v * float(e))
            m1 = float(gaussian_expectation(f, q))
            m2 = float(gaussian_expectation(lambda z: f(z) ** 2, q))
            if carry == "variance":
                m2 -= m1 * m1
        return total

    lo, hi = 0.05, 200.0
    for _ in range(45):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if log_ratio(mid) < 0 else (lo, mid)
    return math.sqrt(lo * hi) / math.sqrt(width)  # fmt: skip


def gradient_preserving_std_reference(width: int, depth: int) -> float:
    """The sigma of randn * sigma at which a square tanh net of ``depth`` layers passes the
    gradient from its output to its input unchanged on average: the product over the layers of
    the backward factors n sigma^2 E[tanh'(z_l)^2], with q_l from the forward recursion (unit
    input), equals 1 (lecture 02, section 3)."""
    return _critical_c(int(width), int(depth), "tanh") / math.sqrt(width)


def _grad_calls(rng: np.random.Generator) -> list[Call]:
    calls = [
        Call((int(rng.integers(50, 2001)), int(rng.integers(5, 31))), group="tanh networks")
        for _ in range(4)
    ]
    return calls


question(
    "gradient_preserving_std",
    exercise=EXERCISE,
    points=3,
    title="predict the sigma at which a deep tanh net's backward factor is 1 end to end",
    check=predicted(
        gradient_preserving_std_reference,
        visible=[
            Call((500, 10), group="tanh networks"),
            Call((200, 6), group="tanh networks"),
            Call((1000, 20), group="tanh networks"),
        ],
        hidden=_grad_calls,
        rtol=5e-3,
        mistakes={
            "the backward factor is taken near z = 0, where tanh' = 1 (n sigma^2 = 1); the "
            "layers' pre-activations are not near 0": lambda width, depth: 1 / math.sqrt(width),
            "PyTorch's tanh gain 5/3 is used: a rule of thumb, not the exact scale": (
                lambda width, depth: 5 / 3 / math.sqrt(width)
            ),
            "only depth - 1 factors are multiplied (down to a_1, not to the input x)": (
                lambda width, depth: _critical_c(width, depth, "tanh", depth - 1) / math.sqrt(width)
            ),
            "E[tanh'(z)] is used where E[tanh'(z)^2] belongs (a mean square multiplies by the "
            "square)": lambda width, depth: critical_variant(width, depth, "tanh", square=False),
            "every layer is taken at the first layer's q: the forward recursion (q changes "
            "through the tanh layers) is left out": lambda width, depth: critical_variant(
                width, depth, "tanh", recursion=False
            ),
            "you return sigma * sqrt(width), the width-free constant, not sigma": (
                lambda width, depth: (
                    gradient_preserving_std_reference(width, depth) * math.sqrt(width)
                )
            ),
        },
        hints={
            "tanh networks": "lecture 02, section 3: each layer's backward factor depends on that "
            "layer's pre-activation variance, which the forward pass sets; the answer is the "
            "sigma at which the whole product is 1",
        },
    ),
    forbidden=(
        "course_utils.theory.predict",
        "course_utils.theory.backward_variance",
        "course_utils.theory.forward_variance",
    ),
)


def sigmoid_gradient_preserving_std_reference(width: int, depth: int) -> float:
    """As :func:`gradient_preserving_std_reference` for the logistic sigmoid, whose outputs are
    not zero-mean: the forward recursion carries E[sigmoid(z)^2], not its variance."""
    return _critical_c(int(width), int(depth), "sigmoid") / math.sqrt(width)


@functools.lru_cache(maxsize=512)
def _sigmoid_with_variance(width: int, depth: int) -> float:
    """The mistake: the forward recursion with Var(sigmoid(z)) instead of E[sigmoid(z)^2]."""

    def sig(z):
        return 1.0 / (1.0 + np.exp(-z))

    def dsig2(z):
        s = sig(z)
        return (s * (1 - s)) ** 2

    def log_ratio(c):
        v, prev, total = c * c, 1.0, 0.0
        for _ in range(depth):
            q = v * prev
            total += math.log(v * float(gaussian_expectation(dsig2, q)))
            m1 = float(gaussian_expectation(sig, q))
            prev = float(gaussian_expectation(lambda z: sig(z) ** 2, q)) - m1 * m1
        return total

    lo, hi = 0.05, 200.0
    for _ in range(45):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if log_ratio(mid) < 0 else (lo, mid)
    return math.sqrt(lo * hi) / math.sqrt(width)


question(
    "sigmoid_gradient_preserving_std",
    exercise=EXERCISE,
    points=1.5,
    title="stretch: the same scale for a sigmoid network (outputs not zero-mean)",
    check=predicted(
        sigmoid_gradient_preserving_std_reference,
        visible=[
            Call((500, 10), group="sigmoid networks"),
            Call((100, 5), group="sigmoid networks"),
        ],
        hidden=lambda rng: [
            Call((int(rng.integers(50, 2001)), int(rng.integers(3, 21))), group="sigmoid networks")
            for _ in range(3)
        ],
        rtol=5e-3,
        mistakes={
            "the forward recursion carries the variance of the sigmoid's output; it must carry "
            "its second moment (the outputs have mean about 1/2)": _sigmoid_with_variance,
            "the tanh answer is reused: the sigmoid's slope and its outputs differ": (
                lambda width, depth: gradient_preserving_std_reference(width, depth)
            ),
            "E[s'(z)] is used where E[s'(z)^2] belongs": lambda width, depth: critical_variant(
                width, depth, "sigmoid", square=False
            ),
            "the slope at 0 (1/4) is used for every layer: sigma sqrt(n) = 4": (
                lambda width, depth: 4.0 / math.sqrt(width)
            ),
        },
        hints={
            "sigmoid networks": "the same recipe as for tanh, with the sigmoid and its "
            "derivative; which moment of a layer's output sets the next layer's variance?",
        },
    ),
    forbidden=(
        "course_utils.theory.predict",
        "course_utils.theory.backward_variance",
        "course_utils.theory.forward_variance",
    ),
)
