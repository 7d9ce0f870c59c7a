"""Exercise 05 (He initialization): He normal and uniform with both modes, the predicted std of
a deep square network, and the predictions: the activation std of a leaky-ReLU network with any
width profile and mode, and (stretch) the gain of an activation the lectures do not cover."""

from __future__ import annotations

import functools
import math

import numpy as np

from course_utils import theory
from course_utils.activations import gaussian_expectation, get_activation
from course_utils.grading.checks import Call
from course_utils.grading.predictions import initializer_with_mode, predicted
from course_utils.grading.registry import question

EXERCISE = "05_he"

for _family, _title, _points in (
    ("normal", "He normal: N(0, 2/fan), mode fan_in or fan_out, ValueError otherwise", 2),
    ("uniform", "He uniform: U(-sqrt(6/fan), sqrt(6/fan)), both modes, ValueError otherwise", 1.5),
):
    question(
        f"he_{_family}",
        exercise=EXERCISE,
        points=_points,
        title=_title,
        check=initializer_with_mode(2.0, family=_family, label="2"),
        forbidden=(
            f"course_utils.initializers.he_{_family}",
            "course_utils.initializers.variance_scaling",
            "course_utils.initializers.INITIALIZERS",
            f"torch.nn.init.kaiming_{_family}_",
        ),
    )

_SCHEMES = (
    "lecun_normal",
    "lecun_uniform",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
)


def _std_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for activation in ("relu", "relu", "linear", "linear"):
        depth = int(rng.integers(1, 61))
        scheme = str(rng.choice(_SCHEMES))
        group = "relu" if activation == "relu" else "linear"
        calls.append(Call((depth, scheme, activation), group=group))
    return calls


question(
    "predicted_std",
    exercise=EXERCISE,
    points=1.5,
    title="predicted std of the last pre-activation of a square deep network",
    check=predicted(
        theory.predicted_std,
        visible=[
            Call((30, "glorot_normal", "relu"), group="relu"),
            Call((30, "he_normal", "relu"), group="relu"),
            Call((1, "lecun_uniform", "relu"), group="relu"),
            Call((10, "he_uniform", "linear"), group="linear"),
            Call((5, "glorot_uniform", "linear"), group="linear"),
        ],
        hidden=_std_calls,
        rtol=1e-6,
        mistakes={
            "the first layer is given the ReLU factor 1/2 too; it sees the raw input": (
                lambda depth, scheme, act: math.sqrt(
                    ((2.0 if scheme.startswith("he_") else 1.0) * (0.5 if act == "relu" else 1.0))
                    ** depth
                )
            ),
        },
        hints={
            "relu": "lecture 05: the first layer sees the raw input, later ones a ReLU output",
            "linear": "without an activation every layer multiplies the variance by n Var(w)",
        },
    ),
    forbidden=("course_utils.theory.predicted_std", "course_utils.theory.predict"),
)


# ---- prediction: the activation std of a leaky-ReLU network, any widths, either mode ----------------
def he_activation_std_reference(widths: list[int], slope: float, mode: str = "fan_in") -> float:
    """Std (around its mean) of the last layer's activations a_L = f(z_L), f leaky ReLU with
    ``slope`` (0 is ReLU), weights He normal (Var = 2/fan for ``mode``), unit-variance inputs.

    For z ~ N(0, q): E[f(z)^2] = q (1 + a^2) / 2 and E[f(z)] = (1 - a) sqrt(q / 2 pi)."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    act = get_activation("leaky_relu", slope=float(slope)) if slope else "relu"
    p = theory.predict(list(widths), "he_normal", act, mode=mode)
    return float(p.activation_std[-1])


def _leaky_moments(widths, slope, mode):
    q, m2 = 0.0, 1.0
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        q = n_in * 2.0 / (n_in if mode == "fan_in" else n_out) * m2
        m2 = q * (1 + slope**2) / 2
    mean = (1 - slope) * math.sqrt(q / (2 * math.pi))
    return q, m2, mean


def _he_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for mode in ("fan_in", "fan_out", "fan_in", "fan_out"):
        depth = int(rng.integers(2, 9))
        widths = [int(v) for v in rng.integers(32, 1025, size=depth + 1)]
        slope = 0.0 if rng.random() < 0.3 else float(np.round(rng.uniform(0.01, 0.5), 3))
        group = "fan_in" if mode == "fan_in" else "mode='fan_out'"
        calls.append(Call((widths, slope), {"mode": mode}, group=group))
    return calls


question(
    "he_activation_std",
    exercise=EXERCISE,
    points=3,
    title="predict the activation std of a leaky-ReLU He network with any widths and mode",
    check=predicted(
        he_activation_std_reference,
        visible=[
            Call(([784, 512, 256, 128], 0.0), {"mode": "fan_in"}, group="fan_in"),
            Call(([256, 256, 256], 0.1), {"mode": "fan_in"}, group="fan_in"),
            Call(([100, 400, 50], 0.2), {"mode": "fan_out"}, group="mode='fan_out'"),
        ],
        hidden=_he_calls,
        rtol=1e-6,
        mistakes={
            "you return the pre-activation's std sqrt(q_L), not the activation's": (
                lambda widths, slope, mode="fan_in": math.sqrt(
                    _leaky_moments(widths, slope, mode)[0]
                )
            ),
            "the mean of the (leaky) ReLU output is not subtracted: that is sqrt(E[a^2]), not "
            "the std": lambda widths, slope, mode="fan_in": math.sqrt(
                _leaky_moments(widths, slope, mode)[1]
            ),
            "the slope is ignored (a plain ReLU)": lambda widths, slope, mode="fan_in": (
                he_activation_std_reference(widths, 0.0, mode)
            ),
            "mode is ignored: fan_out uses each layer's output width": (
                lambda widths, slope, mode="fan_in": he_activation_std_reference(
                    widths, slope, "fan_in"
                )
            ),
        },
        hints={
            "fan_in": "lecture 05: carry E[a^2] from layer to layer; the std of the last "
            "activations needs their mean as well",
            "mode='fan_out'": "with mode='fan_out' the variance of layer l is 2 / n_l",
        },
    ),
    forbidden=("course_utils.theory.predict", "course_utils.theory.predicted_std"),
)


# ---- stretch: a gain by quadrature ----------------------------------------------------------------
_ERF = np.vectorize(math.erf, otypes=[float])


def _activation(name: str, param: float | None):
    if name == "gelu":
        return lambda z: z * 0.5 * (1.0 + _ERF(z / math.sqrt(2.0)))
    if name == "silu":
        return lambda z: z / (1.0 + np.exp(-z))
    if name == "elu":
        alpha = 1.0 if param is None else float(param)
        return lambda z: np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))
    if name == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return lambda z: np.where(z > 0, z, slope * z)
    raise ValueError(f"activation must be 'gelu', 'silu', 'elu' or 'leaky_relu', got {name!r}")


@functools.lru_cache(maxsize=256)
def quadrature_gain_reference(activation: str, param: float | None = None) -> float:
    """The gain g with Var(w) = g^2 / fan_in keeping a unit-variance pre-activation at unit
    variance: g = 1 / sqrt(E[f(z)^2]), z ~ N(0, 1) (ReLU: sqrt 2; leaky ReLU: sqrt(2/(1+a^2)),
    as torch.nn.init.calculate_gain)."""
    f = _activation(activation, param)
    return 1.0 / math.sqrt(float(gaussian_expectation(lambda z: f(z) ** 2, 1.0)))


def _gain_from_variance(activation, param=None):
    f = _activation(activation, param)
    m1 = float(gaussian_expectation(f, 1.0))
    return 1.0 / math.sqrt(float(gaussian_expectation(lambda z: f(z) ** 2, 1.0)) - m1 * m1)


def _gain_backward(activation, param=None):
    f = _activation(activation, param)
    h = 1e-5

    def d2(z):
        return ((f(z + h) - f(z - h)) / (2 * h)) ** 2

    return 1.0 / math.sqrt(float(gaussian_expectation(d2, 1.0)))


question(
    "quadrature_gain",
    exercise=EXERCISE,
    points=2,
    title="stretch: the gain of GELU, SiLU, ELU or leaky ReLU by Gaussian quadrature",
    check=predicted(
        quadrature_gain_reference,
        visible=[
            Call(("gelu",), group="gains"),
            Call(("leaky_relu", 0.2), group="gains"),
            Call(("elu", 1.0), group="gains"),
        ],
        hidden=lambda rng: [
            Call(("silu",), group="gains"),
            Call(("gelu",), group="gains"),
            Call(("elu", float(np.round(rng.uniform(0.3, 2.0), 3))), group="gains"),
            Call(("leaky_relu", float(np.round(rng.uniform(0.01, 0.6), 3))), group="gains"),
        ],
        rtol=1e-4,
        mistakes={
            "the variance of f(z) is used; the next layer needs its second moment": (
                _gain_from_variance
            ),
            "the backward quantity E[f'(z)^2] is used; the gain here is the forward one": (
                _gain_backward
            ),
            "ReLU's gain sqrt 2 is used for every activation": lambda activation, param=None: (
                math.sqrt(2.0)
            ),
        },
        hints={
            "gains": "the gain makes n Var(w) E[f(z)^2] = 1 for z ~ N(0, 1): one Gaussian "
            "expectation, computed numerically",
        },
    ),
    forbidden=("torch.nn.init.calculate_gain", "course_utils.initializers.gain"),
)
