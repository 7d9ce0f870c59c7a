"""Exercise 02 (small versus large random values): per-layer statistics, saturated and dead
units, and a scale that keeps a deep tanh network alive."""

from __future__ import annotations

import math
import numbers

import numpy as np

from course_utils import theory
from course_utils.grading.checks import Call, deterministic, value
from course_utils.grading.registry import question

EXERCISE = "02_small_vs_large_random"
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
    return [Call(_net(rng, act), group=act) for act in ACTIVATIONS for _ in range(2)]


def _visible_stats() -> list[Call]:
    calls = []
    for i, act in enumerate(ACTIVATIONS):
        calls.append(Call(_net(np.random.default_rng(100 + i), act, depth=3), group=act))
    return calls


question(
    "layer_stats",
    exercise=EXERCISE,
    points=3,
    title="per-layer mean and std of the activations",
    check=deterministic(
        theory.layer_stats,
        visible=_visible_stats(),
        hidden=_stats_calls,
        rtol=1e-5,
        atol=1e-12,
        hints={
            "tanh": "a = x; for each W: a = np.tanh(a @ W); record a.mean() and a.std() "
            "over the whole (batch, units) array",
            "relu": "relu(z) = np.maximum(z, 0); the mean is not 0 here",
            "linear": "'linear' means no activation at all: a = a @ W",
        },
    ),
    forbidden=(
        "course_utils.theory.layer_stats",
        "course_utils.theory.trace_stats",
        "course_utils.network.forward",
    ),
)


# ---- saturation_fraction -----------------------------------------------------------------------
def _saturation_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(3):
        shape = (int(rng.integers(1, 300)), int(rng.integers(1, 60)))
        a = np.tanh(rng.standard_normal(shape) * float(rng.uniform(0.1, 5.0)))
        calls.append(Call((a,), group="default threshold"))
    a = np.tanh(rng.standard_normal(500) * 3.0)
    a[:5] = 0.99  # on the threshold: not saturated (strict inequality)
    a[5:10] = -0.99
    calls.append(Call((a,), group="default threshold"))
    for _ in range(2):
        a = np.tanh(rng.standard_normal((int(rng.integers(10, 200)), 30)) * 2.0)
        calls.append(Call((a,), {"threshold": float(rng.uniform(0.5, 0.999))}, group="threshold="))
    return calls


question(
    "saturation_fraction",
    exercise=EXERCISE,
    points=2,
    title="fraction of saturated tanh outputs, |a| > threshold",
    check=deterministic(
        theory.saturation_fraction,
        visible=[
            Call((np.array([0.0, 0.5, 0.995, -1.0]),), group="default threshold"),
            Call((np.array([[0.99, -0.99], [0.9999, 0.2]]),), group="default threshold"),
            Call((np.array([0.0, 0.6, -0.8, 0.95]),), {"threshold": 0.7}, group="threshold="),
        ],
        hidden=_saturation_calls,
        rtol=1e-12,
        atol=1e-12,
        hints={
            "default threshold": "np.mean(np.abs(a) > threshold) over every entry; the sign does "
            "not matter and |a| = threshold is not saturated",
            "threshold=": "use the threshold argument (default 0.99)",
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
    points=2,
    title="fraction of ReLU units that output 0 for the whole batch",
    check=deterministic(
        dead_unit_reference,
        visible=[
            Call((np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]),), group="units"),
            Call((np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 3.0]]),), group="units"),
            Call((np.ones((4, 5)),), group="units"),
        ],
        hidden=_dead_calls,
        rtol=1e-12,
        atol=1e-12,
        hints={
            "units": "a unit is a column: it is dead when np.all(a[:, j] == 0); return the mean "
            "over columns of that test (not the fraction of zero entries)",
        },
    ),
    forbidden=("course_utils.theory.dead_fraction",),
)


# ---- alive_std ---------------------------------------------------------------------------------
ALIVE_WIDTH, ALIVE_DEPTH = 500, 10
STD_RANGE = (0.2, 0.8)
MAX_SATURATED = 0.05
SATURATION = 0.99


def alive_verdict(sigma: float) -> tuple[bool, str]:
    """Judge ``sigma`` with the mean-field prediction for a 10-layer tanh net of width 500 and
    unit-variance inputs: layer-10 activation std in [0.2, 0.8] and fewer than 5% of its
    activations saturated, P(|z_10| > artanh 0.99) = erfc(artanh(0.99) / sqrt(2 q_10))."""
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real):
        return False, f"alive_std must be a number, got {type(sigma).__name__}"
    sigma = float(sigma)
    if not math.isfinite(sigma) or sigma <= 0:
        return False, f"alive_std must be a positive number, got {sigma!r}"
    p = theory.predict([ALIVE_WIDTH] * (ALIVE_DEPTH + 1), "random_normal", "tanh", std=sigma)
    std = math.sqrt(float(p.activation_var[-1]))
    q = float(p.pre_activation_var[-1])
    saturated = math.erfc(math.atanh(SATURATION) / math.sqrt(2.0 * q)) if q > 0 else 0.0
    detail = f"sigma = {sigma:.4g}: layer-10 std {std:.3g}, saturated fraction {saturated:.3g}"
    if std < STD_RANGE[0]:
        return False, detail + f" - the signal fades (std < {STD_RANGE[0]}): sigma is too small"
    if std > STD_RANGE[1] or saturated >= MAX_SATURATED:
        return False, detail + " - the units saturate: sigma is too large"
    return True, detail + " - alive"


question(
    "alive_std",
    exercise=EXERCISE,
    points=3,
    title="a std that keeps a 10-layer, 500-unit tanh network alive",
    check=value(alive_verdict, check_name="alive"),
)
