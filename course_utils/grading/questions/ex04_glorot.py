"""Exercise 04 (Glorot initialization): Glorot normal and uniform, the backward variance ratio of
one layer, and the predictions past the lecture: a Glorot funnel's forward and backward ratios
with ReLU between the layers, the std of a stack of PyTorch-default nn.Linear layers (weights
and biases), and (stretch) its limit in depth.

Points past the lectures (8 of 12): ``glorot_funnel_ratios`` (3: the backward ReLU factor and
where the activations sit are not in lecture 04), ``pytorch_default_std`` (3: the lecture leaves
the bias out; tanh needs a Gaussian expectation) and ``pytorch_default_limit_std`` (2, stretch:
a fixed point). Every prediction is compared to 1e-4 or tighter, which no simulation within the
call budget reaches.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from course_utils.activations import get_activation
from course_utils.grading.checks import (
    Call,
    random_initializer,
)
from course_utils.grading.predictions import predicted
from course_utils.grading.questions._law_gate import LawGatedInitializer
from course_utils.grading.registry import question
from course_utils.initializers import fan_in_and_fan_out

EXERCISE = "04_glorot"
#: bumped whenever a question of this exercise changes (2: ReLU funnel, one-group predictions,
#: the law of an initializer gates its points, misconceptions named)
VERSION = "2"
#: what a graded answer may import
ALLOWED_IMPORTS = ("numpy", "math")
#: questions changed in version 2 (grading an older copy names them): every check was
#: reworked, and new inputs or arguments were added to the predictions
CHANGED_IN_2 = (
    "glorot_normal",
    "glorot_uniform",
    "backward_variance_ratio",
    "glorot_funnel_ratios",
    "pytorch_default_std",
    "pytorch_default_limit_std",
)


# ---- initializers: the law (variance and family) carries the concept ----------------------------
def _glorot(fi: int, fo: int) -> float:
    return 2.0 / (fi + fo)


#: variances a Glorot answer lands on by a typical mistake
GLOROT_MISCONCEPTIONS: dict[str, Callable[[int, int], float]] = {
    "the variance 2/(fan_in + fan_out) used as the standard deviation": lambda fi, fo: (
        _glorot(fi, fo) ** 2
    ),
    "the standard deviation used as the variance (a missing square root)": lambda fi, fo: math.sqrt(
        _glorot(fi, fo)
    ),
    "the 2 is missing: 1/(fan_in + fan_out) is half of Glorot's variance": lambda fi, fo: (
        1 / (fi + fo)
    ),
    "the standard deviation sqrt(Var) used as the uniform limit a (a^2/3 = Var needs a = "
    "sqrt(3 Var))": lambda fi, fo: _glorot(fi, fo) / 3,
    "the uniform limit a used without its square root": lambda fi, fo: (
        (3 * _glorot(fi, fo)) ** 2 / 3
    ),
    "fan_in alone (LeCun), not the average of the two fans": lambda fi, fo: 1 / fi,
    "fan_out alone, not the average of the two fans": lambda fi, fo: 1 / fo,
    "PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (variance 1/(3 fan_in))": (
        lambda fi, fo: 1 / (3 * fi)
    ),
}

for _family, _title, _concept in (
    ("normal", "Glorot normal: N(0, 2/(fan_in + fan_out))", ("variance", "distribution")),
    ("uniform", "Glorot uniform: the uniform law with Glorot's variance", None),
):
    question(
        f"glorot_{_family}",
        exercise=EXERCISE,
        points=1.5,
        title=_title,
        check=LawGatedInitializer(
            random_initializer(_glorot, family=_family, variance_label="2/(fan_in + fan_out)"),
            misconceptions=GLOROT_MISCONCEPTIONS,
            target=_glorot,
            **({"concept": _concept} if _concept else {}),
        ),
        forbidden=(
            f"course_utils.initializers.glorot_{_family}",
            "course_utils.initializers.variance_scaling",
            "course_utils.initializers.INITIALIZERS",
            f"torch.nn.init.xavier_{_family}_",
        ),
    )


# ---- the backward variance ratio of one layer ----------------------------------------------------
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
        n_in = int(rng.integers(16, 2049))
        n_out = max(1, int(n_in * rng.choice([0.2, 0.5, 3.0, 6.0])))
        var = float(
            rng.choice([1.0 / n_in, 2.0 / (n_in + n_out), 2.0 / n_in, rng.uniform(1e-4, 0.1)])
        )
        calls.append(Call(((n_in, n_out), var)))
    for _ in range(2):
        k = int(rng.choice([3, 5]))
        c_in = int(rng.integers(4, 257))
        c_out = c_in * int(rng.choice([2, 3])) + int(rng.integers(1, 8))
        var = float(rng.uniform(1e-4, 0.05))
        calls.append(Call(((k, k, c_in, c_out), var)))
        calls.append(Call(((c_out, c_in, k, k), var), {"layout": "out_in"}))
    return calls


def _fans(shape: tuple[int, ...], layout: str = "in_out") -> tuple[int, int]:
    return fan_in_and_fan_out(shape, layout=layout)


question(
    "backward_variance_ratio",
    exercise=EXERCISE,
    points=1,
    title="backward variance ratio of a layer: dense or conv, either layout",
    check=predicted(
        backward_variance_ratio_reference,
        visible=[
            Call(((400, 100), 1 / 400)),
            Call(((100, 400), 2 / 500)),
            Call(((3, 3, 16, 32), 1 / 144)),
            Call(((32, 16, 3, 3), 1 / 144), {"layout": "out_in"}),
        ],
        hidden=_ratio_calls,
        rtol=1e-6,
        mistakes={
            "the forward factor fan_in * Var(w) is used (the wrong fan): backwards the sum runs "
            "over the outputs": lambda shape, v, layout="in_out": _fans(shape, layout)[0] * v,
            "Glorot's average fan (fan_in + fan_out)/2 is used; one direction has one fan": (
                lambda shape, v, layout="in_out": sum(_fans(shape, layout)) / 2 * v
            ),
            "the layout is ignored: PyTorch's out_in layout puts the output channels first": (
                lambda shape, v, layout="in_out": _fans(shape)[1] * v
            ),
            "the receptive field is left out: a conv kernel's fan_out is kh * kw * c_out": (
                lambda shape, v, layout="in_out": (
                    (shape[-1] if layout == "in_out" else shape[0]) * v
                )
            ),
            "the ratio of standard deviations is returned where the ratio of variances is asked "
            "(std for variance)": lambda shape, v, layout="in_out": math.sqrt(
                _fans(shape, layout)[1] * v
            ),
            "weight_variance is squared, as if it were a standard deviation (variance for std)": (
                lambda shape, v, layout="in_out": _fans(shape, layout)[1] * v * v
            ),
        },
        hints={
            "answers": "lecture 04, 'The backward derivation': how many terms does dL/dx_i sum, "
            "and which dimensions of a conv kernel (in its layout) count them?",
        },
    ),
    forbidden=("course_utils.theory.predict", "course_utils.theory.backward_variance"),
)


# ---- prediction: a Glorot funnel with linear or ReLU units, both directions ---------------------
def glorot_funnel_ratios_reference(
    widths: list[int], activation: str = "linear"
) -> tuple[float, float]:
    """(Var(z_L) / E[x^2], E[(dL/dx)^2] / E[(dL/dz_L)^2]) of a Glorot-normal net with
    ``activation`` ("linear" or "relu") between the layers and none after the last.

    Layer l scales the forward variance by 2 n_(l-1) / (n_(l-1) + n_l) and the backward one by
    2 n_l / (n_(l-1) + n_l); each of the L - 1 ReLUs between them multiplies the forward second
    moment by 1/2 (E[relu(z)^2] = q/2) and the backward one by E[relu'(z)^2] = 1/2."""
    if activation not in ("linear", "relu"):
        raise ValueError(f"activation must be 'linear' or 'relu', got {activation!r}")
    between = len(widths) - 2  # activations between the layers
    return _funnel_with(list(widths), activation, fwd_relus=between, bwd_relus=between)


def _funnel_parts(widths: list[int]) -> tuple[float, float]:
    fwd = bwd = 1.0
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        fwd *= 2 * a / (a + b)
        bwd *= 2 * b / (a + b)
    return fwd, bwd


def _funnel_with(widths, activation, *, fwd_relus, bwd_relus):
    fwd, bwd = _funnel_parts(widths)
    if activation != "relu":
        return fwd, bwd
    return fwd * 0.5**fwd_relus, bwd * 0.5**bwd_relus


def _funnel_widths(rng: np.random.Generator) -> list[int]:
    depth = int(rng.integers(2, 7))
    widths = [int(v) for v in rng.integers(16, 2049, size=depth + 1)]
    if rng.random() < 0.5:
        widths.sort(reverse=True)
    return widths


question(
    "glorot_funnel_ratios",
    exercise=EXERCISE,
    points=3,
    title="predict the forward and backward variance ratios of a Glorot net, linear or ReLU",
    check=predicted(
        glorot_funnel_ratios_reference,
        visible=[
            Call(([1024, 256, 64, 10], "linear")),
            Call(([100, 400, 100], "relu")),
            Call(([512, 512, 512, 512], "relu")),
            Call(([64, 512, 32, 256], "relu")),
        ],
        hidden=lambda rng: [
            Call((_funnel_widths(rng), act)) for act in ("linear", "relu", "relu", "relu")
        ],
        rtol=1e-6,
        mistakes={
            "the two ratios are swapped (forward first, then backward)": lambda w, act="linear": (
                glorot_funnel_ratios_reference(w, act)[::-1]
            ),
            "LeCun's ratios (1 forward, n_L/n_0 backward) are given, not Glorot's": (
                lambda w, act="linear": (1.0, w[-1] / w[0])
            ),
            "both directions are assumed preserved": lambda w, act="linear": (1.0, 1.0),
            "the ReLU factor 1/2 is missing (the linear answer for a ReLU net)": (
                lambda w, act="linear": _funnel_parts(w)
            ),
            "the ReLU factor is applied once per layer, one too many: there is no ReLU after "
            "the last layer (off by one layer)": lambda w, act="linear": _funnel_with(
                w, act, fwd_relus=len(w) - 1, bwd_relus=len(w) - 1
            ),
            "the backward pass has no ReLU factor: relu'(z) is 0 on half the units, so "
            "E[relu'(z)^2] = 1/2 scales the gradient's second moment too": (
                lambda w, act="linear": _funnel_with(w, act, fwd_relus=len(w) - 2, bwd_relus=0)
            ),
            "ratios of standard deviations are returned where ratios of variances are asked "
            "(std for variance)": lambda w, act="linear": tuple(
                math.sqrt(r) for r in glorot_funnel_ratios_reference(w, act)
            ),
        },
        hints={
            "answers": "lecture 04, 'The backward derivation' and 'The compromise': one forward "
            "and one backward factor per layer, and each ReLU between two layers acts on both "
            "directions; return (forward, backward)",
        },
    ),
    forbidden=(
        "course_utils.theory.predict",
        "course_utils.theory.backward_variance",
        "course_utils.theory.forward_variance",
    ),
)


# ---- prediction: PyTorch's default nn.Linear, weights and biases ---------------------------------
def _tanh_of_std(q: float) -> float:
    return math.tanh(math.sqrt(q)) ** 2


def _default_q(
    widths: list[int],
    activation: str,
    *,
    bias_var=None,
    weight_var=None,
    layers=None,
    input_m2=None,
    second_moment=None,
) -> float:
    """q_L of a stack of nn.Linear layers with PyTorch's default init: W and b both
    U(-1/sqrt(n_in), 1/sqrt(n_in)), Var = 1/(3 n_in); activation between the layers. The keywords
    build the wrong answers (another bias or weight variance, the wrong layers, ...)."""
    f = get_activation(activation)
    bias_var = bias_var or (lambda n_in, n_out: 1.0 / (3 * n_in))
    weight_var = weight_var or (lambda n_in, n_out: 1.0 / (3 * n_in))
    m2_of = second_moment or (lambda q: float(f.second_moment(q)))
    pairs = list(zip(widths[:-1], widths[1:], strict=True)) if layers is None else layers(widths)
    m2 = 1.0 if input_m2 is None else input_m2(f)
    q = 0.0
    for n_in, n_out in pairs:
        q = n_in * weight_var(n_in, n_out) * m2 + bias_var(n_in, n_out)
        m2 = m2_of(q)
    return q


def pytorch_default_std_reference(widths: list[int], activation: str) -> float:
    """Std of the last pre-activation z_L = a_(L-1) W_L + b_L of PyTorch-default nn.Linear layers
    with ``activation`` between them, inputs with E[x^2] = 1:
    q_l = E[a_(l-1)^2] / 3 + 1 / (3 n_(l-1))."""
    if activation not in ("linear", "relu", "tanh"):
        raise ValueError(f"activation must be 'linear', 'relu' or 'tanh', got {activation!r}")
    return math.sqrt(_default_q(list(widths), activation))


def _default_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for activation in ("relu", "tanh", "linear", "relu"):
        depth = int(rng.integers(2, 9))
        widths = [int(v) for v in rng.integers(16, 1025, size=depth + 1)]
        calls.append(Call((widths, activation)))
    return calls


def _sq(fn):
    return lambda widths, act: math.sqrt(fn(widths, act))


question(
    "pytorch_default_std",
    exercise=EXERCISE,
    points=3,
    title="predict the output std of a stack of PyTorch-default nn.Linear layers (with biases)",
    check=predicted(
        pytorch_default_std_reference,
        visible=[
            Call(([784, 256, 256, 10], "relu")),
            Call(([100, 100, 100, 100, 100], "tanh")),
            Call(([64, 32, 16], "linear")),
            Call(([32, 512, 128], "tanh")),
        ],
        hidden=_default_calls,
        rtol=1e-4,
        mistakes={
            "the biases are left out: PyTorch draws them from the same range as the weights": (
                _sq(lambda w, a: _default_q(w, a, bias_var=lambda n, m: 0.0))
            ),
            "the bias variance is taken as 1/fan_in, the square of its bound, not a third of it": (
                _sq(lambda w, a: _default_q(w, a, bias_var=lambda n, m: 1.0 / n))
            ),
            "the weight variance is taken as 1/fan_in (LeCun); kaiming_uniform with a = sqrt(5) "
            "gives a third of that": _sq(
                lambda w, a: _default_q(w, a, weight_var=lambda n, m: 1.0 / n)
            ),
            "the gain sqrt(1/3) is used where its square belongs (Var(w) = gain^2 / fan_in, "
            "gain vs gain^2)": _sq(
                lambda w, a: _default_q(w, a, weight_var=lambda n, m: 1.0 / (math.sqrt(3) * n))
            ),
            "fan_out is used for the bias and weight ranges; nn.Linear uses fan_in (the wrong "
            "fan)": _sq(
                lambda w, a: _default_q(
                    w, a, weight_var=lambda n, m: 1 / (3 * m), bias_var=lambda n, m: 1 / (3 * m)
                )
            ),
            "the ReLU factor 1/2 is missing (E[relu(z)^2] = q/2)": _sq(
                lambda w, a: _default_q(w, "linear" if a == "relu" else a)
            ),
            "tanh is applied to the std (tanh(sqrt q)^2) instead of averaged over z ~ N(0, q)": (
                _sq(
                    lambda w, a: _default_q(
                        w, a, second_moment=_tanh_of_std if a == "tanh" else None
                    )
                )
            ),
            "the inputs go through the activation before the first layer (off by one layer)": (
                _sq(lambda w, a: _default_q(w, a, input_m2=lambda f: float(f.second_moment(1.0))))
            ),
            "one layer too many: the recursion runs once per width, not once per layer": _sq(
                lambda w, a: _default_q(
                    w, a, layers=lambda ws: list(zip(ws, ws[1:] + ws[-1:], strict=True))
                )
            ),
            "the variance q_L is returned where the standard deviation is asked (variance for std)": (
                lambda w, a: _default_q(w, a)
            ),
        },
        hints={
            "answers": "lecture 04, 'What frameworks do by default': the weights' variance per "
            "layer; the bias is independent of everything else. Check: with one layer the "
            "answer depends only on n_0",
        },
    ),
    forbidden=(
        "course_utils.theory.predict",
        "course_utils.theory.forward_variance",
    ),
)


# ---- stretch: the bias floor --------------------------------------------------------------------
def _fixed_point(width: int, activation: str, *, m2=None, weight_scale=1 / 3) -> float:
    f = get_activation(activation)
    m2 = m2 or (lambda q: float(f.second_moment(q)))
    q = 1.0
    new = q
    for _ in range(5000):
        new = weight_scale * m2(q) + 1.0 / (3 * width)
        if abs(new - q) <= 1e-15 * max(q, 1e-300):
            break
        q = new
    return new


@functools.lru_cache(maxsize=256)
def pytorch_default_limit_std_reference(width: int, activation: str) -> float:
    """The limit in depth of the std of z_L for square default nn.Linear layers: the fixed point
    of q = E[f(z)^2]_(z ~ N(0, q)) / 3 + 1 / (3 n)."""
    if activation not in ("relu", "tanh", "sigmoid", "linear"):  # linear: for the tests
        raise ValueError(f"activation must be 'relu', 'tanh' or 'sigmoid', got {activation!r}")
    return math.sqrt(_fixed_point(width, activation))


def _variance_map(width, act):
    f = get_activation(act)
    return math.sqrt(_fixed_point(width, act, m2=lambda q: float(f.variance(q))))


question(
    "pytorch_default_limit_std",
    exercise=EXERCISE,
    points=2,
    title="stretch: the std a deep stack of default nn.Linear layers settles at (the bias floor)",
    check=predicted(
        pytorch_default_limit_std_reference,
        visible=[
            Call((256, "relu")),
            Call((50, "tanh")),
            Call((100, "sigmoid")),
        ],
        hidden=lambda rng: [
            Call((int(rng.integers(16, 4097)), "relu")),
            Call((int(rng.integers(16, 201)), "tanh")),
            Call((int(rng.integers(16, 4097)), "sigmoid")),
        ],
        rtol=1e-4,
        mistakes={
            "without the biases the signal would vanish: the limit is set by the bias": (
                lambda width, act: 0.0
            ),
            "the floor is the bias alone, 1/(3 n); the layers add a share of the signal above "
            "it": lambda width, act: math.sqrt(1.0 / (3 * width)),
            "the small-q approximation (the activation taken as linear) is used; the exact fixed "
            "point is asked, and a ReLU keeps only half the second moment": lambda width, act: (
                math.sqrt(1.0 / (2 * width))
            ),
            "the variance of f(z) enters the map; the next layer needs its second moment (the "
            "mean of a ReLU or sigmoid output counts too)": _variance_map,
            "the gain sqrt(1/3) is used where its square belongs (gain vs gain^2)": (
                lambda width, act: math.sqrt(
                    _fixed_point(width, act, weight_scale=1 / math.sqrt(3))
                )
            ),
            "the variance q* is returned where the standard deviation is asked (variance for std)": (
                lambda width, act: pytorch_default_limit_std_reference(width, act) ** 2
            ),
        },
        hints={
            "answers": "the per-layer recursion of question 5 with equal widths stops changing "
            "at some q: what equation does that q satisfy? Check it against 40 simulated layers",
        },
    ),
    forbidden=(
        "course_utils.theory.predict",
        "course_utils.theory.forward_variance",
        "course_utils.theory.mean_field_fixed_point",
        "course_utils.theory.bias_floor",
    ),
)
