"""Exercise 04 (Glorot initialization): Glorot normal and uniform, the backward variance ratio,
and the predictions: a Glorot funnel's forward and backward ratios, the std of a stack of
PyTorch-default nn.Linear layers (weights and biases), and (stretch) its limit in depth."""

from __future__ import annotations

import functools
import math

import numpy as np

from course_utils import theory
from course_utils.activations import get_activation
from course_utils.grading.checks import Call
from course_utils.grading.predictions import predicted
from course_utils.grading.registry import initializer_question, question
from course_utils.initializers import fan_in_and_fan_out

EXERCISE = "04_glorot"

for _family, _title in (
    ("normal", "Glorot normal: N(0, 2/(fan_in + fan_out))"),
    ("uniform", "Glorot uniform: U(-sqrt(6/(fan_in + fan_out)), +sqrt(6/(fan_in + fan_out)))"),
):
    initializer_question(
        f"glorot_{_family}",
        exercise=EXERCISE,
        points=1.5,
        title=_title,
        variance=lambda fan_in, fan_out: 2.0 / (fan_in + fan_out),
        variance_label="2/(fan_in + fan_out)",
        family=_family,
        also_forbidden=(f"torch.nn.init.xavier_{_family}_",),
    )


def backward_variance_ratio_reference(
    shape: tuple[int, ...], weight_variance: float, *, layout: str = "in_out"
) -> float:
    """Var(dL/dx) / Var(dL/dy) of one layer: fan_out * Var(w) (Glorot & Bengio, 2010).

    dL/dx_i = sum_j w_ij dL/dy_j sums fan_out independent zero-mean products.
    """
    _, fan_out = fan_in_and_fan_out(shape, layout=layout)
    return fan_out * weight_variance


def _ratio_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(3):
        n_in, n_out = (int(v) for v in rng.integers(1, 2049, size=2))
        var = float(
            rng.choice([1.0 / n_in, 2.0 / (n_in + n_out), 2.0 / n_in, rng.uniform(1e-4, 0.1)])
        )
        calls.append(Call(((n_in, n_out), var), group="dense"))
    for _ in range(2):
        k = int(rng.choice([1, 3, 5]))
        c_in, c_out = (int(v) for v in rng.integers(1, 257, size=2))
        var = float(rng.uniform(1e-4, 0.05))
        calls.append(Call(((k, k, c_in, c_out), var), group="conv kernel"))
        calls.append(Call(((c_out, c_in, k, k), var), {"layout": "out_in"}, group="out_in layout"))
    return calls


question(
    "backward_variance_ratio",
    exercise=EXERCISE,
    points=1,
    title="backward variance ratio of a layer: fan_out * Var(w)",
    check=predicted(
        backward_variance_ratio_reference,
        visible=[
            Call(((400, 100), 1 / 400), group="dense"),
            Call(((100, 400), 2 / 500), group="dense"),
            Call(((3, 3, 16, 32), 1 / 144), group="conv kernel"),
            Call(((32, 16, 3, 3), 1 / 144), {"layout": "out_in"}, group="out_in layout"),
        ],
        hidden=_ratio_calls,
        rtol=1e-6,
        mistakes={
            "the forward factor fan_in * Var(w) is used; backwards the sum runs over the "
            "outputs": lambda shape, v, layout="in_out": (
                fan_in_and_fan_out(shape, layout=layout)[0] * v
            ),
        },
        hints={
            "dense": "lecture 04, backward derivation: how many terms does dL/dx_i sum?",
            "conv kernel": "a conv kernel's fans include the receptive field",
            "out_in layout": "PyTorch's layout puts the output channels first",
        },
    ),
)


# ---- prediction: a Glorot funnel, both directions ----------------------------------------------
def glorot_funnel_ratios_reference(widths: list[int]) -> tuple[float, float]:
    """(Var(z_L) / E[x^2], E[(dL/dx)^2] / E[(dL/da_L)^2]) of a linear Glorot-normal net: the
    products of 2 n_(l-1) / (n_(l-1) + n_l) and of 2 n_l / (n_(l-1) + n_l)."""
    p = theory.predict(list(widths), "glorot_normal", "linear")
    return float(p.pre_activation_var[-1]), float(p.input_grad_var)


def _funnel_widths(rng: np.random.Generator) -> list[int]:
    depth = int(rng.integers(2, 7))
    widths = [int(v) for v in rng.integers(16, 2049, size=depth + 1)]
    if rng.random() < 0.5:
        widths.sort(reverse=True)
    return widths


question(
    "glorot_funnel_ratios",
    exercise=EXERCISE,
    points=2,
    title="predict the forward and backward variance ratios of a linear Glorot net",
    check=predicted(
        glorot_funnel_ratios_reference,
        visible=[
            Call(([1024, 256, 64, 10],), group="width profiles"),
            Call(([100, 400, 100],), group="width profiles"),
        ],
        hidden=lambda rng: [Call((_funnel_widths(rng),), group="width profiles") for _ in range(4)],
        rtol=1e-6,
        mistakes={
            "the two ratios are swapped": lambda widths: glorot_funnel_ratios_reference(widths)[
                ::-1
            ],
            "LeCun's ratios are given (1 forward, n_L/n_0 backward), not Glorot's": (
                lambda widths: (1.0, widths[-1] / widths[0])
            ),
            "both directions are assumed preserved": lambda widths: (1.0, 1.0),
        },
        hints={
            "width profiles": "lecture 04: one forward factor n_in Var(w) and one backward factor "
            "n_out Var(w) per layer, with Glorot's Var(w); return (forward, backward)",
        },
    ),
    forbidden=("course_utils.theory.predict", "course_utils.theory.backward_variance"),
)


# ---- prediction: PyTorch's default nn.Linear, weights and biases ---------------------------------
def _default_q(widths: list[int], activation: str, *, bias_var=None, weight_var=None) -> float:
    """q_L of a stack of nn.Linear layers with PyTorch's default init: W and b both
    U(-1/sqrt(n_in), 1/sqrt(n_in)), Var = 1/(3 n_in); activation between the layers."""
    f = get_activation(activation)
    bias_var = bias_var or (lambda n: 1.0 / (3 * n))
    weight_var = weight_var or (lambda n: 1.0 / (3 * n))
    second_moment = 1.0
    q = 0.0
    for n_in in widths[:-1]:
        q = n_in * weight_var(n_in) * second_moment + bias_var(n_in)
        second_moment = float(f.second_moment(q))
    return q


def pytorch_default_std_reference(widths: list[int], activation: str) -> float:
    """Std of the last pre-activation z_L = a_(L-1) W_L + b_L of PyTorch-default nn.Linear layers
    with ``activation`` between them, inputs with E[x^2] = 1:
    q_l = E[a_(l-1)^2] / 3 + 1 / (3 n_(l-1))."""
    return math.sqrt(_default_q(list(widths), activation))


def _default_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for activation in ("relu", "tanh", "linear", "relu"):
        depth = int(rng.integers(2, 9))
        widths = [int(v) for v in rng.integers(16, 1025, size=depth + 1)]
        calls.append(Call((widths, activation), group=activation))
    return calls


question(
    "pytorch_default_std",
    exercise=EXERCISE,
    points=3,
    title="predict the output std of a stack of PyTorch-default nn.Linear layers (with biases)",
    check=predicted(
        pytorch_default_std_reference,
        visible=[
            Call(([784, 256, 256, 10], "relu"), group="relu"),
            Call(([100, 100, 100, 100, 100], "tanh"), group="tanh"),
            Call(([64, 32, 16], "linear"), group="linear"),
        ],
        hidden=_default_calls,
        rtol=1e-4,
        mistakes={
            "the biases are left out: PyTorch draws them from the same range as the weights": (
                lambda widths, act: math.sqrt(_default_q(widths, act, bias_var=lambda n: 1e-300))
            ),
            "the bias variance is taken as 1/fan_in, the square of its bound, not a third of it": (
                lambda widths, act: math.sqrt(_default_q(widths, act, bias_var=lambda n: 1.0 / n))
            ),
            "the weight variance is taken as 1/fan_in (LeCun); kaiming_uniform with a = sqrt(5) "
            "gives a third of that": lambda widths, act: math.sqrt(
                _default_q(widths, act, weight_var=lambda n: 1.0 / n)
            ),
        },
        hints={
            "relu": "lecture 04, framework defaults: the weights' variance per layer; the bias "
            "adds its own variance to every pre-activation",
            "tanh": "the same recursion; tanh's second moment needs a Gaussian expectation",
            "linear": "no activation between the layers",
        },
    ),
    forbidden=(
        "course_utils.theory.predict",
        "course_utils.theory.forward_variance",
    ),
)


@functools.lru_cache(maxsize=256)
def pytorch_default_limit_std_reference(width: int, activation: str) -> float:
    """The limit in depth of the std of z_L for square default nn.Linear layers: the fixed point
    q* = E[f(z)^2]_(q*) / 3 + 1 / (3 n) (relu: 2 / (5 n); linear: 1 / (2 n))."""
    f = get_activation(activation)
    q = 1.0
    for _ in range(2000):
        new = float(f.second_moment(q)) / 3 + 1.0 / (3 * width)
        if abs(new - q) <= 1e-15 * max(q, 1e-300):
            break
        q = new
    return math.sqrt(new)


question(
    "pytorch_default_limit_std",
    exercise=EXERCISE,
    points=2,
    title="stretch: the std a deep stack of default nn.Linear layers settles at (the bias floor)",
    check=predicted(
        pytorch_default_limit_std_reference,
        visible=[
            Call((256, "relu"), group="floor"),
            Call((50, "tanh"), group="floor"),
            Call((100, "sigmoid"), group="floor"),
        ],
        hidden=lambda rng: [
            Call((int(rng.integers(16, 4097)), "relu"), group="floor"),
            Call((int(rng.integers(16, 201)), "tanh"), group="floor"),
            Call((int(rng.integers(16, 4097)), "sigmoid"), group="floor"),
        ],
        rtol=1e-4,
        mistakes={
            "without the biases the signal would vanish: the limit is set by the bias": (
                lambda width, act: 0.0
            ),
            "the floor is the bias alone, 1/(3 n); the layers add a share of the signal above "
            "it": lambda width, act: math.sqrt(1.0 / (3 * width)),
            "the small-q approximation 1/(2n) (tanh taken as linear) is used; the exact fixed "
            "point of the tanh recursion is asked": lambda width, act: math.sqrt(1.0 / (2 * width)),
        },
        hints={
            "floor": "the per-layer recursion of question 5 with equal widths has a fixed point; "
            "tanh is not exactly linear and the sigmoid's outputs are not zero-mean",
        },
    ),
    forbidden=("course_utils.theory.predict", "course_utils.theory.forward_variance"),
)
