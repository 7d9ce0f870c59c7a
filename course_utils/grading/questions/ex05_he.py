"""Exercise 05 (He initialization): He normal and uniform with both modes, and the predictions
past the lecture: the std of a deep square network trained with inverted dropout, the activation
std of a leaky-ReLU network with any width profile and mode, and (stretch) the gain of an
activation the lectures do not cover.

Points past the lectures (7.5 of 10): ``predicted_std`` (2.5: dropout between the layers is not
in lecture 05; which moment it changes is the step), ``he_activation_std`` (3: the mean of a
leaky ReLU's output and the fan_out form on any widths) and ``quadrature_gain`` (2, stretch:
GELU, SiLU, ELU by quadrature). Every prediction is compared to 1e-4 or tighter, at depths up
to 60, which no simulation within the call budget reaches.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from course_utils.activations import gaussian_expectation
from course_utils.grading.checks import Call
from course_utils.grading.predictions import initializer_with_mode, predicted
from course_utils.grading.questions._law_gate import LawGatedInitializer
from course_utils.grading.registry import question

EXERCISE = "05_he"
#: bumped whenever a question of this exercise changes (2: dropout in question 3, one-group
#: predictions, the law of an initializer gates its points, misconceptions named)
VERSION = "2"
#: what a graded answer may import (scipy is not installed for students: math.erf is there)
ALLOWED_IMPORTS = ("numpy", "math")
#: questions changed in version 2 (grading an older copy names them): every check was
#: reworked, and new inputs or arguments were added to the predictions
CHANGED_IN_2 = (
    "he_normal",
    "he_uniform",
    "predicted_std",
    "he_activation_std",
    "quadrature_gain",
)


def _he(fi: int, fo: int) -> float:
    return 2.0 / fi


#: variances a He answer (default mode) lands on by a typical mistake
HE_MISCONCEPTIONS = {
    "the variance 2/fan used as the standard deviation": lambda fi, fo: (2.0 / fi) ** 2,
    "the standard deviation used as the variance (a missing square root)": lambda fi, fo: math.sqrt(
        2.0 / fi
    ),
    "the gain^2 = 2 used as the gain: std 2/sqrt(fan) (gain vs gain^2)": lambda fi, fo: 4.0 / fi,
    "the gain sqrt(2) used where gain^2 belongs: Var = sqrt(2)/fan (gain vs gain^2)": (
        lambda fi, fo: math.sqrt(2.0) / fi
    ),
    "the ReLU factor 2 is missing (LeCun's 1/fan_in)": lambda fi, fo: 1.0 / fi,
    "the standard deviation sqrt(2/fan) used as the uniform limit a (a = sqrt(3 Var))": (
        lambda fi, fo: 2.0 / (3 * fi)
    ),
    "fan_out in the default mode (the wrong fan): mode='fan_in' divides by fan_in": (
        lambda fi, fo: 2.0 / fo
    ),
    "Glorot's 2/(fan_in + fan_out)": lambda fi, fo: 2.0 / (fi + fo),
}

for _family, _title, _points, _concept in (
    ("normal", "He normal: N(0, 2/fan), mode fan_in or fan_out, ValueError otherwise", 1.5,
     ("variance", "distribution")),
    ("uniform", "He uniform: the uniform law with He's variance, both modes, ValueError "
     "otherwise", 1, ("variance", "distribution", "bound")),
):  # fmt: skip
    question(
        f"he_{_family}",
        exercise=EXERCISE,
        points=_points,
        title=_title,
        check=LawGatedInitializer(
            initializer_with_mode(2.0, family=_family, label="2"),
            misconceptions=HE_MISCONCEPTIONS,
            target=_he,
            samples=("fan_in|sample",),
            concept=_concept,
        ),
        forbidden=(
            f"course_utils.initializers.he_{_family}",
            "course_utils.initializers.variance_scaling",
            "course_utils.initializers.INITIALIZERS",
            f"torch.nn.init.kaiming_{_family}_",
        ),
    )


# ---- prediction: a square deep network trained with inverted dropout ----------------------------
_SCHEMES = (
    "lecun_normal",
    "lecun_uniform",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
)
_KEEPS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.9)


def _square_q(
    depth: int,
    scheme: str,
    activation: str,
    keep: float = 1.0,
    *,
    dropout=None,
    relus=None,
    drops=None,
    c_of=None,
) -> float:
    """q_depth of a square network: layer 1 sees the raw input (q_1 = c), every later layer
    c m / keep times the one before (c = n Var(w), m = E[f(z)^2]/q). The keywords build wrong
    answers: another dropout factor, the wrong number of activations or dropout layers."""
    c = (2.0 if scheme.startswith("he_") else 1.0) if c_of is None else c_of(scheme)
    m = {"linear": 1.0, "relu": 0.5}[activation]
    d = 1.0 / keep if dropout is None else dropout(keep)
    relus = depth - 1 if relus is None else relus(depth)
    drops = depth - 1 if drops is None else drops(depth)
    return c**depth * m**relus * d**drops


def predicted_std_reference(depth: int, scheme: str, activation: str, keep: float = 1.0) -> float:
    """Predicted std of the last pre-activation z_depth of a square network (no biases, unit
    input), inverted dropout with keep probability ``keep`` on every hidden layer's output, at
    training time: E[(mask a / keep)^2] = E[a^2] / keep, so q_l = c m q_(l-1) / keep, q_1 = c."""
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {_SCHEMES}, got {scheme!r}")
    if activation not in ("linear", "relu"):
        raise ValueError(f"activation must be 'linear' or 'relu', got {activation!r}")
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep!r}")
    return math.sqrt(_square_q(int(depth), scheme, activation, float(keep)))


def _std_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for k, activation in enumerate(("relu", "relu", "linear", "relu", "linear")):
        depth = int(rng.integers(2, 61))
        scheme = str(rng.choice(_SCHEMES))
        keep = 1.0 if k == 4 else float(rng.choice(_KEEPS))
        calls.append(Call((depth, scheme, activation), {"keep": keep}))
    return calls


def _wrong_std(**kw):
    return lambda depth, scheme, act, keep=1.0: math.sqrt(_square_q(depth, scheme, act, keep, **kw))


question(
    "predicted_std",
    exercise=EXERCISE,
    points=2.5,
    title="predict the std of the last pre-activation of a deep square net with dropout",
    check=predicted(
        predicted_std_reference,
        visible=[
            Call((30, "glorot_normal", "relu"), {"keep": 1.0}),
            Call((30, "he_normal", "relu"), {"keep": 0.8}),
            Call((1, "lecun_uniform", "relu"), {"keep": 0.5}),
            Call((10, "he_uniform", "linear"), {"keep": 0.9}),
            Call((5, "glorot_uniform", "linear"), {"keep": 0.5}),
            Call((12, "lecun_normal", "relu"), {"keep": 0.75}),
        ],
        hidden=_std_calls,
        rtol=1e-6,
        mistakes={
            "dropout is ignored: inverted dropout keeps the mean of an activation, not its "
            "second moment": _wrong_std(dropout=lambda p: 1.0),
            "dropout is taken to shrink the second moment by keep; the 1/keep rescaling of "
            "inverted dropout is forgotten": _wrong_std(dropout=lambda p: p),
            "the 1/keep rescaling is squared: it scales the activation by 1/keep, so the "
            "second moment by keep/keep^2 = 1/keep, not 1/keep^2": _wrong_std(
                dropout=lambda p: 1.0 / p**2
            ),
            "dropout is applied to the input too: it sits between the layers (off by one "
            "layer)": _wrong_std(drops=lambda d: d),
            "the first layer is given the ReLU factor 1/2 too; it sees the raw input (off by "
            "one layer)": _wrong_std(relus=lambda d: d),
            "the uniform schemes are given a third of the variance (the std used as the limit); "
            "a uniform scheme has the same variance as its normal twin": _wrong_std(
                c_of=lambda s: (
                    (2.0 if s.startswith("he_") else 1.0) / (3.0 if s.endswith("uniform") else 1.0)
                )
            ),
            "the variance q is returned where the standard deviation is asked (variance for std)": (
                lambda depth, scheme, act, keep=1.0: _square_q(depth, scheme, act, keep)
            ),
        },
        hints={
            "answers": "lecture 05, 'The precise derivation' and 'The first layer': which moment "
            "of a layer's input sets the next variance, and what does dropout's mask and "
            "rescaling do to it?",
        },
    ),
    forbidden=("course_utils.theory.predicted_std", "course_utils.theory.predict"),
)


# ---- prediction: the activation std of a leaky-ReLU network, any widths, either mode ------------
def _leaky_moments(widths, slope, mode, *, var_w=None, input_m2=1.0):
    """(q_L, E[a_L^2], E[a_L]) for He-normal (ReLU gain) weights; ``var_w`` replaces the weight
    variance (n_in, n_out, slope, mode) -> Var(w) to build wrong answers."""
    q, m2 = 0.0, input_m2
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        v = (
            2.0 / (n_in if mode == "fan_in" else n_out)
            if var_w is None
            else var_w(n_in, n_out, slope, mode)
        )
        q = n_in * v * m2
        m2 = q * (1 + slope**2) / 2
    mean = (1 - slope) * math.sqrt(q / (2 * math.pi))
    return q, m2, mean


def he_activation_std_reference(widths: list[int], slope: float, mode: str = "fan_in") -> float:
    """Std (around its mean) of the last layer's activations a_L = f(z_L), f leaky ReLU with
    ``slope`` (0 is ReLU), weights He normal (Var = 2/fan for ``mode``), unit-variance inputs.

    For z ~ N(0, q): E[f(z)^2] = q (1 + a^2) / 2 and E[f(z)] = (1 - a) sqrt(q / 2 pi)."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    _, m2, mean = _leaky_moments(list(widths), float(slope), mode)
    return math.sqrt(max(m2 - mean * mean, 0.0))


def _he_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for k, mode in enumerate(("fan_in", "fan_out", "fan_in", "fan_out")):
        depth = int(rng.integers(2, 9))
        widths = [int(v) for v in rng.integers(32, 1025, size=depth + 1)]
        slope = 0.0 if k == 0 else float(np.round(rng.uniform(0.01, 0.5), 3))
        calls.append(Call((widths, slope), {"mode": mode}))
    return calls


def _wrong_leaky(pick, **kw):
    def answer(widths, slope, mode="fan_in"):
        q, m2, mean = _leaky_moments(widths, slope, mode, **kw)
        return pick(q, m2, mean, slope)

    return answer


def _std(q, m2, mean, slope):
    return math.sqrt(max(m2 - mean * mean, 0.0))


question(
    "he_activation_std",
    exercise=EXERCISE,
    points=3,
    title="predict the activation std of a leaky-ReLU He network with any widths and mode",
    check=predicted(
        he_activation_std_reference,
        visible=[
            Call(([784, 512, 256, 128], 0.0), {"mode": "fan_in"}),
            Call(([256, 256, 256], 0.1), {"mode": "fan_in"}),
            Call(([100, 400, 50], 0.2), {"mode": "fan_out"}),
            Call(([64, 256, 1024, 128], 0.3), {"mode": "fan_out"}),
        ],
        hidden=_he_calls,
        rtol=1e-6,
        mistakes={
            "the pre-activation's std sqrt(q_L) is returned, not the activation's": _wrong_leaky(
                lambda q, m2, mean, a: math.sqrt(q)
            ),
            "the mean of the (leaky) ReLU output is not subtracted: that is sqrt(E[a^2]), not "
            "the std": _wrong_leaky(lambda q, m2, mean, a: math.sqrt(m2)),
            "the slope is ignored (a plain ReLU)": lambda widths, slope, mode="fan_in": (
                he_activation_std_reference(widths, 0.0, mode)
            ),
            "mode is ignored (the wrong fan): fan_out uses each layer's output width": (
                lambda widths, slope, mode="fan_in": he_activation_std_reference(
                    widths, slope, "fan_in"
                )
            ),
            "the weights use the leaky-ReLU gain sqrt(2/(1+a^2)); the question fixes the ReLU "
            "gain, Var(w) = 2/fan": _wrong_leaky(
                _std,
                var_w=lambda n_in, n_out, a, mode: (
                    2.0 / ((1 + a * a) * (n_in if mode == "fan_in" else n_out))
                ),
            ),
            "the mean is ReLU's sqrt(q/2 pi); a leaky ReLU's negative side pulls it down by "
            "(1 - a)": _wrong_leaky(
                lambda q, m2, mean, a: math.sqrt(max(m2 - q / (2 * math.pi), 0.0))
            ),
            "the variance of a_L is returned where the standard deviation is asked (variance for std)": (
                _wrong_leaky(lambda q, m2, mean, a: m2 - mean * mean)
            ),
        },
        hints={
            "answers": "lecture 05, 'The precise derivation' and 'Leaky ReLU and the gain "
            "table': carry E[a^2] from layer to layer; the std of the last activations needs "
            "their mean as well, and mode='fan_out' divides by each layer's output width",
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


def _second_moment(activation, param=None):
    f = _activation(activation, param)
    return float(gaussian_expectation(lambda z: f(z) ** 2, 1.0))


@functools.lru_cache(maxsize=256)
def quadrature_gain_reference(activation: str, param: float | None = None) -> float:
    """The gain g with Var(w) = g^2 / fan_in keeping a unit-variance pre-activation at unit
    variance: g = 1 / sqrt(E[f(z)^2]), z ~ N(0, 1) (ReLU: sqrt 2; leaky ReLU: sqrt(2/(1+a^2)),
    as torch.nn.init.calculate_gain)."""
    return 1.0 / math.sqrt(_second_moment(activation, param))


def _gain_from_variance(activation, param=None):
    f = _activation(activation, param)
    m1 = float(gaussian_expectation(f, 1.0))
    return 1.0 / math.sqrt(_second_moment(activation, param) - m1 * m1)


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
            Call(("gelu",)),
            Call(("leaky_relu", 0.2)),
            Call(("elu", 1.0)),
            Call(("elu", 0.5)),
            Call(("silu",)),
        ],
        hidden=lambda rng: [
            Call(("silu",)),
            Call(("gelu",)),
            Call(("elu", float(np.round(rng.uniform(0.3, 2.0), 3)))),
            Call(("leaky_relu", float(np.round(rng.uniform(0.01, 0.6), 3)))),
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
            "g^2 = 1/E[f(z)^2], the factor on the variance, is returned; the gain multiplies the "
            "standard deviation (gain vs gain^2)": lambda activation, param=None: (
                1.0 / _second_moment(activation, param)
            ),
            "sqrt(E[f(z)^2]) is returned; the gain is its inverse": lambda activation, param=None: (
                math.sqrt(_second_moment(activation, param))
            ),
            "ELU's alpha (param) is ignored": lambda activation, param=None: (
                quadrature_gain_reference(activation, 1.0 if activation == "elu" else param)
            ),
        },
        hints={
            "answers": "the gain makes n Var(w) E[f(z)^2] = 1 for z ~ N(0, 1): one Gaussian "
            "expectation, computed numerically on a grid fine enough for four digits",
        },
    ),
    forbidden=("torch.nn.init.calculate_gain", "course_utils.initializers.gain"),
)
