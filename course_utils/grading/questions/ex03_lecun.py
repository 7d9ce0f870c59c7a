"""Exercise 03 (LeCun initialization): fans, LeCun normal and uniform, variance of a sum, and
the questions past the lecture: fans of grouped/depthwise convolutions, a funnel's end-to-end
gradient ratio for ReLU and tanh, and (stretch) the std at which a deep net with a scaled tanh
a tanh(b z) settles, including the regime where it settles at 0.

Every question's first (main) call group holds the inputs on which the common wrong rules differ
from the right one, so a misconception fails the main check and earns nothing; only a side
requirement (a ValueError, a dtype) is a secondary check."""

from __future__ import annotations

import functools
import math

import numpy as np

from course_utils import initializers, theory
from course_utils.activations import gaussian_expectation
from course_utils.grading.checks import (
    Call,
    CheckResult,
    Outcome,
    QuestionCheck,
    random_initializer,
)
from course_utils.grading.predictions import apply_gate, predicted
from course_utils.grading.registry import question

EXERCISE = "03_lecun"
#: bumped whenever a question of this exercise changes (grading an older copy says which)
VERSION = "3"
#: what a graded answer may import (the notebook's first cell says so too)
ALLOWED_IMPORTS = ("numpy", "math")
#: questions changed or added in VERSION 3
CHANGED_IN_3 = (
    "fan_in_and_fan_out", "lecun_normal", "lecun_uniform", "sum_variance", "grouped_conv_fans",
    "funnel_gradient_ratio", "scaled_tanh_fixed_std",
)  # fmt: skip


# ---- fan_in_and_fan_out ------------------------------------------------------------------------
def _fan_calls(rng: np.random.Generator) -> list[Call]:
    def size(lo: int, hi: int) -> int:
        return int(rng.integers(lo, hi + 1))

    calls = [Call(((size(1, 2000), size(1, 2000)),), group="fans") for _ in range(2)]
    for dims in (1, 2, 3):
        spatial = tuple(size(2, 7) for _ in range(dims))
        c_in, c_out = size(2, 256), size(2, 256)
        while c_in == c_out:
            c_out = size(2, 256)
        calls.append(Call((spatial + (c_in, c_out),), group="fans"))
        calls.append(Call(((c_out, c_in) + spatial,), {"layout": "out_in"}, group="fans"))
    calls.append(Call(((size(1, 500), size(501, 900)),), {"layout": "out_in"}, group="fans"))
    calls.append(Call(((size(1, 100),),), group="fewer than 2 dims"))
    return calls


def _fans_no_receptive(shape, *, layout="in_out"):
    return (shape[-2], shape[-1]) if layout == "in_out" else (shape[1], shape[0])


def _fans_layout_ignored(shape, *, layout="in_out"):
    r = math.prod(shape[:-2])
    return shape[-2] * r, shape[-1] * r


def _fans_out_in_unswapped(shape, *, layout="in_out"):
    if layout == "in_out":
        return _fans_layout_ignored(shape)
    r = math.prod(shape[2:])
    return shape[0] * r, shape[1] * r


question(
    "fan_in_and_fan_out",
    exercise=EXERCISE,
    points=1,
    title="fan-in and fan-out of dense weights and conv kernels, both layouts",
    check=predicted(
        initializers.fan_in_and_fan_out,
        visible=[
            Call(((784, 256),), group="fans"),
            Call(((3, 3, 16, 32),), group="fans"),
            Call(((5, 24, 48),), group="fans"),
            Call(((32, 16, 3, 3),), {"layout": "out_in"}, group="fans"),
            Call(((10, 256),), {"layout": "out_in"}, group="fans"),
            Call(((7,),), group="fewer than 2 dims"),
        ],
        hidden=_fan_calls,
        rtol=0.0,
        mistakes={
            "the receptive field is left out: a conv output sums over its whole window in every "
            "input channel": _fans_no_receptive,
            "the layout is ignored: out_in (PyTorch) stores the output channels first": (
                _fans_layout_ignored
            ),
            "in the out_in layout fan_in and fan_out are swapped (PyTorch's shape is "
            "(c_out, c_in, ...))": _fans_out_in_unswapped,
            "fan_in and fan_out are swapped": lambda shape, *, layout="in_out": tuple(
                reversed(initializers.fan_in_and_fan_out(shape, layout=layout))
            ),
        },
        hints={
            "fans": "fan_in counts the products one output value sums, fan_out the outputs one "
            "input value feeds; the layout says which axes are the channels",
            "fewer than 2 dims": "raise ValueError for a shape with fewer than 2 dimensions",
        },
    ),
    # torch's private _calculate_fan_in_and_fan_out is not forbidden: stubbing it broke the
    # construction of torch's own nn.Linear / nn.Conv* in the grading kernel
    forbidden=("course_utils.initializers.fan_in_and_fan_out",),
)


# ---- lecun_normal, lecun_uniform ---------------------------------------------------------------
#: the checks that carry the concept: the variance, the shape of the law, the uniform's bound,
#: and drawing from the rng argument; the others (runs, shape, dtype, mean)
#: count only when these pass, so a wrong law or a wrong variance earns nothing
_INIT_MAIN = (
    "variance",
    "distribution",
    "bound",
    "same seed, same values",
    "different seeds differ",
    "uses only rng",
)


class ConceptGate(QuestionCheck):
    """``inner``'s checks with those named in ``concept`` merged into one main check (passed only
    when each of them passed, weighted by their total, its message every failure's): a wrong
    variance, a wrong law or draws from numpy's global state then earn nothing, while a missed
    side requirement (the dtype) still keeps partial credit. (Several separate main checks would
    each still earn their own weight when another one fails.)"""

    def __init__(self, inner: QuestionCheck, concept: tuple[str, ...], name: str) -> None:
        self.inner = inner
        self.concept = tuple(concept)
        self.name = name
        self.calls_object = inner.calls_object

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        return self.inner.calls(rng)

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        results = self.inner.verdict(calls, outcomes, name)
        parts = [r for r in results if r.name in self.concept]
        rest = [r for r in results if r.name not in self.concept]
        failing = [r for r in parts if not r.passed]
        merged = CheckResult(
            self.name,
            bool(parts) and not failing,
            "; ".join(f"{r.name}: {r.message}" for r in failing) or "correct law from rng",
            weight=sum(r.weight for r in parts) or 1.0,
            main=True,
        )
        return apply_gate([merged, *rest], [self.name])


for _family, _title in (
    ("normal", "LeCun normal: Gaussian weights with the LeCun variance"),
    ("uniform", "LeCun uniform: uniform weights with the LeCun variance"),
):
    question(
        f"lecun_{_family}",
        exercise=EXERCISE,
        points=1,
        title=_title,
        check=ConceptGate(
            random_initializer(
                lambda fan_in, fan_out: 1.0 / fan_in,
                family=_family,
                variance_label="LeCun's variance",
            ),
            _INIT_MAIN,
            "variance, law and rng",
        ),
        forbidden=(
            f"course_utils.initializers.lecun_{_family}",
            "course_utils.initializers.variance_scaling",
            "course_utils.initializers.INITIALIZERS",
        ),
    )


# ---- variance of a sum of products -------------------------------------------------------------
def sum_variance_reference(n: int, var_w: float, var_x: float, mean_x: float = 0.0) -> float:
    """Var(sum_i w_i x_i) for n independent pairs, E[w] = 0: n Var(w) E[x^2] = n Var(w) (Var(x) + E[x]^2)."""
    return n * var_w * (var_x + mean_x**2)


def _sum_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(2):
        n = int(rng.integers(2, 4096))
        args = (n, float(rng.uniform(1e-4, 1.0)), float(rng.uniform(0.05, 4.0)))
        calls.append(Call(args, group="variance of the sum"))
    for _ in range(3):
        n = int(rng.integers(2, 4096))
        args = (n, float(rng.uniform(1e-4, 1.0)), float(rng.uniform(0.05, 4.0)))
        mean = float(rng.choice([-1.0, 1.0]) * rng.uniform(1.5, 3.0))  # |mean| != 1: mean^2 != mean
        calls.append(Call(args, {"mean_x": mean}, group="variance of the sum"))
    return calls


question(
    "sum_variance",
    exercise=EXERCISE,
    points=1,
    title="Var(y) for y = sum of n products w_i x_i, inputs with a mean",
    check=predicted(
        sum_variance_reference,
        visible=[
            Call((100, 0.01, 1.0), group="variance of the sum"),
            Call((784, 1 / 784, 2.0), group="variance of the sum"),
            Call((10, 0.5, 1.0), {"mean_x": 2.0}, group="variance of the sum"),
            Call((64, 0.25, 0.5), {"mean_x": -1.5}, group="variance of the sum"),
        ],
        hidden=_sum_calls,
        rtol=1e-6,
        mistakes={
            "the mean of x is left out (Var(x) where its second moment belongs)": (
                lambda n, var_w, var_x, mean_x=0.0: n * var_w * var_x
            ),
            "the mean enters unsquared": lambda n, var_w, var_x, mean_x=0.0: (
                n * var_w * (var_x + mean_x)
            ),
            "the mean is added outside the sum (once, not once per term)": (
                lambda n, var_w, var_x, mean_x=0.0: n * var_w * var_x + mean_x**2
            ),
            "the number of terms is left out": lambda n, var_w, var_x, mean_x=0.0: (
                var_w * (var_x + mean_x**2)
            ),
            "a standard deviation is returned where the variance is asked": (
                lambda n, var_w, var_x, mean_x=0.0: math.sqrt(n * var_w * (var_x + mean_x**2))
            ),
        },
        hints={
            "variance of the sum": "independent terms add their variances; expand the variance "
            "of one product w x with E[w] = 0 and ask which moment of x survives",
        },
    ),
    forbidden=(
        "course_utils.experiments.sum_variance_theory",
        "course_utils.experiments.sum_second_moment_theory",
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
        ks = tuple(int(v) for v in rng.choice([3, 5, 7], size=int(rng.integers(1, 4))))
        a, b = int(rng.integers(1, 17)), int(rng.integers(1, 17))
        b = b + 1 if b == a else b  # c_in != c_out
        calls.append(Call((ks, g * a, g * b, g), group="grouped and depthwise"))
    for _ in range(2):
        c = int(rng.integers(2, 129))
        ks = tuple(int(v) for v in rng.choice([3, 5, 7], size=2))
        calls.append(Call((ks, c, c * int(rng.integers(2, 4)), c), group="grouped and depthwise"))
    c_in = int(rng.integers(2, 65))
    calls.append(Call(((3, 3), c_in, c_in + 1, c_in), group="groups that do not divide"))
    calls.append(Call(((3,), 6, 6, 0), group="groups that do not divide"))
    return calls


question(
    "grouped_conv_fans",
    exercise=EXERCISE,
    points=2.5,
    title="derive the fan-in and fan-out of grouped and depthwise convolutions",
    check=predicted(
        grouped_conv_fans_reference,
        visible=[
            Call(((3, 3), 64, 128, 4), group="grouped and depthwise"),
            Call(((5,), 12, 24, 3), group="grouped and depthwise"),
            Call(((3, 3), 32, 64, 32), group="grouped and depthwise"),
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
            "only fan_out is divided by the groups: one output value still reads only the "
            "channels of its own group": lambda ks, c_in, c_out, groups=1: (
                math.prod(ks) * c_in,
                math.prod(ks) * c_out // groups,
            ),
            "the receptive field is left out": lambda ks, c_in, c_out, groups=1: (
                c_in // groups,
                c_out // groups,
            ),
            "fan_in and fan_out are swapped": lambda ks, c_in, c_out, groups=1: (
                math.prod(ks) * c_out // groups,
                math.prod(ks) * c_in // groups,
            ),
        },
        hints={
            "grouped and depthwise": "count, for one output value, how many products are "
            "summed; then, for one input value, how many outputs it feeds; depthwise is the "
            "grouped case with one input channel per group",
            "groups that do not divide": "a grouping must split both channel counts evenly: "
            "raise ValueError otherwise",
        },
    ),
    forbidden=("course_utils.initializers.fan_in_and_fan_out",),
)


# ---- prediction: a funnel's end-to-end gradient ratio -------------------------------------------
def funnel_gradient_ratio_reference(widths: list[int], activation: str) -> float:
    """E[(dL/dx)^2] / E[(dL/da_L)^2] for a LeCun-normal net with these widths: the product of
    the backward factors n_l Var(w_l) E[f'(z_l)^2] = (n_l / n_(l-1)) E[f'(z_l)^2]."""
    return float(theory.predict(list(widths), "lecun_normal", activation).input_grad_var)


def _tanh_prime_sq(z):
    return (1 - np.tanh(z) ** 2) ** 2


def _funnel_variant(widths, activation, *, square=True, recursion=True, relu_half=True, skip=0):
    """The wrong rules of the corpus, one switch each (the right rule with every switch on)."""
    ratio, q = 1.0, 1.0
    pairs = list(zip(widths[:-1], widths[1:], strict=True))[skip:]
    for n_in, n_out in pairs:
        if activation == "linear":
            e = 1.0
        elif activation == "relu":
            e = 0.5 if relu_half else 1.0
        elif square:
            e = float(gaussian_expectation(_tanh_prime_sq, q))
        else:
            e = float(gaussian_expectation(lambda z: 1 - np.tanh(z) ** 2, q))
        ratio *= n_out / n_in * e
        if recursion and activation == "tanh":
            q = float(gaussian_expectation(lambda z: np.tanh(z) ** 2, q))
    return ratio


def _funnel_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for activation in ("tanh", "relu", "linear", "tanh", "relu"):
        depth = int(rng.integers(3, 7))
        widths = sorted((int(v) for v in rng.integers(16, 2049, size=depth + 1)), reverse=True)
        if rng.random() < 0.5:
            widths[int(rng.integers(1, depth))] = int(rng.integers(16, 2049))  # a bottleneck/bulge
        calls.append(Call((widths, activation), group="width profiles"))
    return calls


question(
    "funnel_gradient_ratio",
    exercise=EXERCISE,
    points=3.5,
    title="predict the end-to-end gradient ratio of a LeCun network with any width profile",
    check=predicted(
        funnel_gradient_ratio_reference,
        visible=[
            Call(([1024, 256, 64, 10], "tanh"), group="width profiles"),
            Call(([784, 400, 100], "relu"), group="width profiles"),
            Call(([1000, 100, 500, 50], "linear"), group="width profiles"),
            Call(([512, 512, 128, 128, 32], "tanh"), group="width profiles"),
        ],
        hidden=_funnel_calls,
        rtol=1e-3,
        mistakes={
            "the ReLU factor 1/2 (half the units pass no gradient) is missing": (
                lambda widths, activation: _funnel_variant(widths, activation, relu_half=False)
            ),
            "the ratio is inverted: LeCun fixes the forward factor, the backward pass multiplies "
            "by n_out Var(w)": lambda widths, activation: widths[0] / widths[-1],
            "the activation's derivative is left out of the backward factors": (
                lambda widths, activation: widths[-1] / widths[0]
            ),
            "E[f'(z)] is used where E[f'(z)^2] belongs (a variance multiplies by the square)": (
                lambda widths, activation: _funnel_variant(widths, activation, square=False)
            ),
            "every tanh layer is taken at q = 1: the forward recursion (q shrinks through tanh) "
            "is left out": lambda widths, activation: _funnel_variant(
                widths, activation, recursion=False
            ),
            "off by one layer: the first layer's factor is missing": (
                lambda widths, activation: _funnel_variant(widths, activation, skip=1)
            ),
            "the gradient is assumed preserved, as the forward signal is": lambda widths, act: 1.0,
        },
        hints={
            "width profiles": "one backward factor per layer, each with the layer's widths and "
            "the activation's derivative at that layer's pre-activation variance, which the "
            "forward recursion gives",
        },
    ),
    forbidden=(
        "course_utils.theory.predict",
        "course_utils.theory.backward_variance",
        "course_utils.theory.forward_variance",
    ),
)


# ---- stretch: where LeCun's scaled tanh settles -------------------------------------------------
def _variance_map(q: float, a: float, b: float) -> float:
    """E[(a tanh(b z))^2] for z ~ N(0, q): the next layer's q with LeCun weights (n Var(w) = 1)."""
    return float(gaussian_expectation(lambda z: (a * np.tanh(b * z)) ** 2, q))


@functools.lru_cache(maxsize=256)
def scaled_tanh_fixed_std_reference(a: float, b: float) -> float:
    """Std at which the activations of an infinitely deep, wide LeCun-normal network with
    f(z) = a tanh(b z) settle: sqrt(q*) with q* the largest fixed point of the variance map
    q -> E[f(z)^2], z ~ N(0, q). Since tanh(u)^2 < u^2, the map is below (a b)^2 q, so for
    a b <= 1 the only fixed point is 0 (the signal dies, slowly); for a b > 1 the map starts
    above the diagonal and ends below it (it is bounded by a^2): one non-zero crossing, found by
    bisection on log q."""
    a, b = float(a), float(b)
    if a * b <= 1.0:
        return 0.0
    lo, hi = 1e-12, a * a  # map(lo) > lo (slope (ab)^2 > 1 near 0), map(a^2) < a^2
    for _ in range(100):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if _variance_map(mid, a, b) > mid else (lo, mid)
    return math.sqrt(math.sqrt(lo * hi))


def _iterate_map(a: float, b: float, depth: int) -> float:
    q = 1.0
    for _ in range(depth):
        q = _variance_map(q, a, b)
    return math.sqrt(q)


def _fixed_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(3):
        a = float(rng.uniform(1.0, 2.5))
        calls.append(Call((a, float(rng.uniform(1.1, 2.0)) / a), group="scaled tanh"))
    for _ in range(2):
        a = float(rng.uniform(1.0, 2.5))
        calls.append(Call((a, float(rng.uniform(0.5, 0.95)) / a), group="scaled tanh"))
    return calls


question(
    "scaled_tanh_fixed_std",
    exercise=EXERCISE,
    points=2,
    title="stretch: predict the std at which a deep LeCun network with a tanh(b z) settles",
    check=predicted(
        scaled_tanh_fixed_std_reference,
        visible=[
            Call((1.7159, 2 / 3), group="scaled tanh"),
            Call((2.0, 1.0), group="scaled tanh"),
            Call((1.5, 0.6), group="scaled tanh"),
        ],
        hidden=_fixed_calls,
        rtol=1e-3,
        atol=1e-6,
        mistakes={
            "you return the fixed point's variance q*, not its standard deviation": (
                lambda a, b: scaled_tanh_fixed_std_reference(a, b) ** 2
            ),
            "you stop after 10 layers: the std is still moving there": lambda a, b: _iterate_map(
                a, b, 10
            ),
            "the saturation level a is returned (every unit at +-a)": lambda a, b: a,
            "the activation is treated as plain tanh (a and b ignored)": lambda a, b: (
                scaled_tanh_fixed_std_reference(1.0, 1.0)
            ),
        },
        hints={
            "scaled tanh": "the std where the layer-to-layer variance map stops changing; ask "
            "first whether small signals grow or shrink through one layer",
        },
    ),
    forbidden=("course_utils.theory.predict", "course_utils.theory.predicted_std"),
)
