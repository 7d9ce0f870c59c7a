"""Exercise 03 (LeCun initialization): fans, LeCun normal and uniform, variance of a sum, and
the predictions: fans of grouped/depthwise convolutions, a funnel's end-to-end gradient ratio,
and (stretch) the std reached by LeCun's scaled tanh."""

from __future__ import annotations

import functools
import math

import numpy as np

from course_utils import initializers, theory
from course_utils.activations import gaussian_expectation
from course_utils.grading.checks import Call
from course_utils.grading.predictions import predicted
from course_utils.grading.registry import initializer_question, question

EXERCISE = "03_lecun"


# ---- fan_in_and_fan_out ------------------------------------------------------------------------
def _fan_calls(rng: np.random.Generator) -> list[Call]:
    def size(lo: int, hi: int) -> int:
        return int(rng.integers(lo, hi + 1))

    calls = [Call(((size(1, 2000), size(1, 2000)),), group="in_out layout") for _ in range(3)]
    for dims in (1, 2, 3):
        spatial = tuple(size(1, 7) for _ in range(dims))
        c_in, c_out = size(1, 256), size(1, 256)
        calls.append(Call((spatial + (c_in, c_out),), group="in_out layout"))
        calls.append(Call(((c_out, c_in) + spatial,), {"layout": "out_in"}, group="out_in layout"))
    calls.append(Call(((size(1, 500), size(1, 500)),), {"layout": "out_in"}, group="out_in layout"))
    calls.append(Call(((size(1, 100),),), group="fewer than 2 dims"))
    return calls


question(
    "fan_in_and_fan_out",
    exercise=EXERCISE,
    points=1,
    title="fan-in and fan-out of dense weights and conv kernels, both layouts",
    check=predicted(
        initializers.fan_in_and_fan_out,
        visible=[
            Call(((784, 256),), group="in_out layout"),
            Call(((256, 10),), group="in_out layout"),
            Call(((3, 3, 16, 32),), group="in_out layout"),
            Call(((5, 24, 48),), group="in_out layout"),
            Call(((32, 16, 3, 3),), {"layout": "out_in"}, group="out_in layout"),
            Call(((10, 256),), {"layout": "out_in"}, group="out_in layout"),
            Call(((7,),), group="fewer than 2 dims"),
        ],
        hidden=_fan_calls,
        rtol=0.0,
        hints={
            "in_out layout": "a dense weight is (fan_in, fan_out); a conv kernel's outputs each "
            "sum over the whole receptive field of every input channel",
            "out_in layout": "PyTorch stores the channels first, output channels before input ones",
            "fewer than 2 dims": "raise ValueError for a shape with fewer than 2 dimensions",
        },
    ),
    forbidden=(
        "course_utils.initializers.fan_in_and_fan_out",
        "torch.nn.init._calculate_fan_in_and_fan_out",
    ),
)


# ---- lecun_normal, lecun_uniform ---------------------------------------------------------------
for _family, _title in (
    ("normal", "LeCun normal: N(0, 1/fan_in)"),
    ("uniform", "LeCun uniform: U(-sqrt(3/fan_in), sqrt(3/fan_in))"),
):
    initializer_question(
        f"lecun_{_family}",
        exercise=EXERCISE,
        points=1.5,
        title=_title,
        variance=lambda fan_in, fan_out: 1.0 / fan_in,
        variance_label="1/fan_in",
        family=_family,
    )


# ---- variance of a sum of products -------------------------------------------------------------
def sum_variance_reference(n: int, var_w: float, var_x: float, mean_x: float = 0.0) -> float:
    """Var(sum_i w_i x_i) for n independent pairs, E[w] = 0: n Var(w) E[x^2] = n Var(w) (Var(x) + E[x]^2)."""
    return n * var_w * (var_x + mean_x**2)


def _sum_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(3):
        n = int(rng.integers(1, 4096))
        calls.append(
            Call(
                (n, float(rng.uniform(1e-4, 1.0)), float(rng.uniform(0.05, 4.0))),
                group="zero-mean inputs",
            )
        )
    for _ in range(3):
        n = int(rng.integers(1, 4096))
        args = (n, float(rng.uniform(1e-4, 1.0)), float(rng.uniform(0.05, 4.0)))
        calls.append(
            Call(args, {"mean_x": float(rng.uniform(0.2, 3.0))}, group="inputs with a mean")
        )
    return calls


question(
    "sum_variance",
    exercise=EXERCISE,
    points=1,
    title="Var(y) for y = sum of n products w_i x_i",
    check=predicted(
        sum_variance_reference,
        visible=[
            Call((100, 0.01, 1.0), group="zero-mean inputs"),
            Call((784, 1 / 784, 2.0), group="zero-mean inputs"),
            Call((10, 0.5, 1.0), {"mean_x": 1.0}, group="inputs with a mean"),
        ],
        hidden=_sum_calls,
        rtol=1e-6,
        mistakes={
            "the mean of x is left out (Var(x) where its second moment belongs)": (
                lambda n, var_w, var_x, mean_x=0.0: n * var_w * var_x
            ),
        },
        hints={
            "zero-mean inputs": "independent terms add their variances; one term is a product "
            "of two independent variables",
            "inputs with a mean": "expand Var(w x) with E[w] = 0: which moment of x survives?",
        },
    ),
)


# ---- derivation: fans of grouped and depthwise convolutions ----------------------------------------
def grouped_conv_fans_reference(
    kernel_size: tuple[int, ...], c_in: int, c_out: int, groups: int = 1
) -> tuple[int, int]:
    """(fan_in, fan_out) of a grouped convolution: each output channel sees only the c_in/groups
    channels of its group, each input channel feeds only the c_out/groups outputs of its group."""
    if groups < 1 or c_in % groups or c_out % groups:
        raise ValueError(f"groups must divide c_in and c_out, got {groups}")
    r = math.prod(kernel_size)
    return r * c_in // groups, r * c_out // groups


def _conv_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(2):
        g = int(rng.choice([2, 4, 8]))
        ks = tuple(int(v) for v in rng.choice([1, 3, 5, 7], size=int(rng.integers(1, 4))))
        calls.append(
            Call(
                (ks, g * int(rng.integers(1, 17)), g * int(rng.integers(1, 17)), g), group="grouped"
            )
        )
    for _ in range(2):
        c = int(rng.integers(2, 129))
        ks = tuple(int(v) for v in rng.choice([3, 5, 7], size=2))
        calls.append(Call((ks, c, c * int(rng.integers(1, 4)), c), group="depthwise"))
    c_in = int(rng.integers(2, 65))
    calls.append(Call(((3, 3), c_in, c_in + 1, c_in), group="groups that do not divide"))
    calls.append(Call(((3,), 6, 6, 0), group="groups that do not divide"))
    return calls


question(
    "grouped_conv_fans",
    exercise=EXERCISE,
    points=2,
    title="derive the fan-in and fan-out of grouped and depthwise convolutions",
    check=predicted(
        grouped_conv_fans_reference,
        visible=[
            Call(((3, 3), 64, 128, 4), group="grouped"),
            Call(((5,), 12, 24, 3), group="grouped"),
            Call(((3, 3), 32, 32, 32), group="depthwise"),
            Call(((3, 3), 6, 9, 4), group="groups that do not divide"),
        ],
        hidden=_conv_calls,
        rtol=0.0,
        mistakes={
            "the groups are ignored: every output sees every input channel": (
                lambda ks, c_in, c_out, groups=1: (math.prod(ks) * c_in, math.prod(ks) * c_out)
            ),
            "fan_out is read off the stored weight shape (c_out, c_in/groups, k...), as "
            "torch's _calculate_fan_in_and_fan_out does; an input channel feeds only the "
            "outputs of its own group": lambda ks, c_in, c_out, groups=1: (
                math.prod(ks) * c_in // groups,
                math.prod(ks) * c_out,
            ),
        },
        hints={
            "grouped": "count, for one output value, how many products are summed; then, for one "
            "input value, how many outputs it feeds",
            "depthwise": "depthwise is the grouped case with one input channel per group",
            "groups that do not divide": "a grouping must split both channel counts evenly: "
            "raise ValueError otherwise",
        },
    ),
    forbidden=(
        "course_utils.initializers.fan_in_and_fan_out",
        "torch.nn.init._calculate_fan_in_and_fan_out",
    ),
)


# ---- prediction: a funnel's end-to-end gradient ratio -------------------------------------------
def funnel_gradient_ratio_reference(widths: list[int], activation: str) -> float:
    """E[(dL/dx)^2] / E[(dL/da_L)^2] for a LeCun-normal net with these widths: the product of
    the backward factors n_l Var(w_l) E[f'(z_l)^2] = (n_l / n_(l-1)) E[f'(z_l)^2]."""
    return float(theory.predict(list(widths), "lecun_normal", activation).input_grad_var)


def _funnel_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for activation in ("tanh", "relu", "linear", "tanh"):
        depth = int(rng.integers(3, 7))
        widths = sorted((int(v) for v in rng.integers(16, 2049, size=depth + 1)), reverse=True)
        if rng.random() < 0.5:
            widths[int(rng.integers(1, depth))] = int(rng.integers(16, 2049))  # a bottleneck/bulge
        calls.append(Call((widths, activation), group=activation))
    return calls


question(
    "funnel_gradient_ratio",
    exercise=EXERCISE,
    points=3,
    title="predict the end-to-end gradient ratio of a LeCun network with any width profile",
    check=predicted(
        funnel_gradient_ratio_reference,
        visible=[
            Call(([1024, 256, 64, 10], "tanh"), group="tanh"),
            Call(([784, 400, 100], "relu"), group="relu"),
            Call(([1000, 100, 500, 50], "linear"), group="linear"),
        ],
        hidden=_funnel_calls,
        rtol=1e-3,
        mistakes={
            "the ratio is inverted: LeCun fixes n_in Var(w), the backward pass multiplies by "
            "n_out Var(w)": lambda widths, activation: widths[0] / widths[-1],
            "the activation's derivative is left out of the backward factors": (
                lambda widths, activation: widths[-1] / widths[0]
            ),
            "the gradient is assumed preserved, as the forward signal is": lambda widths, act: 1.0,
        },
        hints={
            "tanh": "each backward factor needs E[tanh'(z_l)^2] at that layer's q_l, and the "
            "forward recursion gives q_l",
            "relu": "E[relu'(z)^2] is the same at every layer",
            "linear": "the factors telescope",
        },
    ),
    forbidden=(
        "course_utils.theory.predict",
        "course_utils.theory.backward_variance",
        "course_utils.theory.forward_variance",
    ),
)


# ---- stretch: LeCun's scaled tanh ---------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def scaled_tanh_std_reference(depth: int, a: float, b: float) -> float:
    """Std of a_L for f(z) = a tanh(b z), LeCun normal (Var(w) = 1/n), unit-variance inputs, a
    wide square net: q_1 = 1, q_(l+1) = E[f(z_l)^2], the answer sqrt(E[f(z_L)^2]) (f is odd, so
    its mean is 0)."""
    q = 1.0
    for _ in range(int(depth)):
        m2 = float(gaussian_expectation(lambda z: (a * np.tanh(b * z)) ** 2, q))
        q = m2
    return math.sqrt(m2)


def _scaled_pre_activation(depth: int, a: float, b: float) -> float:
    q = 1.0
    for _ in range(int(depth) - 1):
        q = float(gaussian_expectation(lambda z: (a * np.tanh(b * z)) ** 2, q))
    return math.sqrt(q)


question(
    "scaled_tanh_std",
    exercise=EXERCISE,
    points=2,
    title="stretch: predict the std that a LeCun network with a tanh-like a tanh(b z) reaches",
    check=predicted(
        scaled_tanh_std_reference,
        visible=[
            Call((10, 1.7159, 2 / 3), group="scaled tanh"),
            Call((3, 1.0, 1.0), group="scaled tanh"),
        ],
        hidden=lambda rng: [
            Call(
                (
                    int(rng.integers(2, 41)),
                    float(rng.uniform(1.0, 2.0)),
                    float(rng.uniform(0.5, 1.2)),
                ),
                group="scaled tanh",
            )
            for _ in range(4)
        ],
        rtol=1e-4,
        mistakes={
            "you return the pre-activation's std sqrt(q_L), not the activation's": (
                _scaled_pre_activation
            ),
            "the activation is treated as linear, slope a b": lambda depth, a, b: (a * b) ** depth,
        },
        hints={
            "scaled tanh": "one Gaussian expectation per layer; with LeCun each layer's q is the "
            "second moment of the layer below",
        },
    ),
    forbidden=("course_utils.theory.predict", "course_utils.theory.predicted_std"),
)
