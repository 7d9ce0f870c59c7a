"""Exercise 01 (the symmetry problem): constant init, counting distinct units, clones survive
gradient descent."""

from __future__ import annotations

import numpy as np

from course_utils import initializers, symmetry
from course_utils.grading.checks import (
    Call,
    CheckResult,
    DeterministicCheck,
    Outcome,
    Rng,
    deterministic,
)
from course_utils.grading.registry import question

EXERCISE = "01_symmetry"


# ---- constant ------------------------------------------------------------------------------------
class _ConstantCheck(DeterministicCheck):
    """Values against the library's ``constant``, plus the dtype of every returned array."""

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        results = super().verdict(calls, outcomes, name)
        wrong = []
        n_arrays = 0
        for call, out in zip(calls, outcomes, strict=True):
            if not out.ok or not isinstance(out.value, np.ndarray):
                continue
            n_arrays += 1
            want = np.dtype(call.kwargs.get("dtype", "float32"))
            if out.value.dtype != want:
                wrong.append(f"{call.describe(name)} has dtype {out.value.dtype}, expected {want}")
        if n_arrays == 0:
            results.append(CheckResult("dtype", False, "no output to check"))
        elif wrong:
            results.append(
                CheckResult("dtype", False, wrong[0] + " (pass dtype= to np.full or use .astype)")
            )
        else:
            results.append(CheckResult("dtype", True, "float32 by default, dtype= honoured"))
        return results


def _constant_calls(rng: np.random.Generator) -> list[Call]:
    def dim() -> int:
        return int(rng.integers(1, 40))

    calls = []
    for _ in range(2):
        calls.append(Call(((dim(), dim()),), {"value": float(rng.uniform(-3, 3))}, group="dense"))
    calls.append(
        Call(((dim(), dim()),), {"value": float(rng.uniform(-1, 1)), "dtype": "float64"}, "dense")
    )
    kh = int(rng.integers(1, 6))
    calls.append(
        Call(((kh, kh, dim(), dim()),), {"value": float(rng.uniform(-1, 1))}, group="conv kernel")
    )
    calls.append(Call(((dim(),),), {"value": 0.0}, group="conv kernel"))
    seed = int(rng.integers(0, 2**31))
    calls.append(
        Call(((dim(), dim()), Rng(seed)), {"value": 0.25}, group="rng accepted and unused")
    )
    return calls


question(
    "constant",
    exercise=EXERCISE,
    points=2,
    title="constant(shape, rng=None, *, value): every weight equal to value",
    check=_ConstantCheck(
        initializers.constant,
        visible=[
            Call(((3, 4),), {"value": 0.5}, group="dense"),
            Call(((2, 2),), {"value": -1.0, "dtype": "float64"}, group="dense"),
            Call(((3, 3, 2, 4),), {"value": 0.1}, group="conv kernel"),
            Call(((4, 5), Rng(0)), {"value": 0.25}, group="rng accepted and unused"),
        ],
        hidden=_constant_calls,
        rtol=1e-6,  # float32 rounding of value; the dtype is checked separately
        atol=0.0,
        hints={
            "dense": "np.full(shape, value, dtype=dtype)",
            "conv kernel": "any number of dimensions: pass the whole shape tuple",
            "rng accepted and unused": "take rng as the second positional argument and ignore it",
        },
    ),
    forbidden=(
        "course_utils.initializers.constant",
        "course_utils.initializers.INITIALIZERS",
    ),
)


# ---- count_distinct_units -----------------------------------------------------------------------
def _clustered(
    rng: np.random.Generator, fan_in: int, n_units: int, n_distinct: int, noise: float
) -> np.ndarray:
    """``n_units`` columns, each a copy of one of ``n_distinct`` well-separated prototypes (every
    prototype used at least once), plus uniform noise of size ``noise`` per entry."""
    protos = rng.standard_normal((fan_in, n_distinct))
    protos[0] += 4.0 * np.arange(n_distinct)  # separation >= 4 in the first entry
    which = np.concatenate(
        [np.arange(n_distinct), rng.integers(0, n_distinct, n_units - n_distinct)]
    )
    rng.shuffle(which)
    return protos[:, which] + rng.uniform(-noise, noise, (fan_in, n_units))


def _count_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(3):
        fan_in, n_units = int(rng.integers(1, 12)), int(rng.integers(2, 30))
        k = int(rng.integers(1, n_units + 1))
        calls.append(Call((_clustered(rng, fan_in, n_units, k, 0.0),), group="exact copies"))
    fan_in, n_units = int(rng.integers(2, 12)), int(rng.integers(2, 30))
    calls.append(
        Call((np.full((fan_in, n_units), float(rng.uniform(-1, 1))),), group="exact copies")
    )
    for _ in range(3):
        fan_in, n_units = int(rng.integers(1, 12)), int(rng.integers(2, 30))
        k = int(rng.integers(1, n_units + 1))
        w = _clustered(rng, fan_in, n_units, k, 1e-9)
        calls.append(Call((w,), {"tol": 1e-6}, group="with a tolerance"))
    return calls


_NEAR = np.array([[1.0, 1.0 + 1e-12, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0], [5.0, 5.0, 5.0, 5.0]])
_VISIBLE_COUNT = [
    Call((np.full((3, 5), 0.5),), group="exact copies"),
    Call((np.eye(4),), group="exact copies"),
    Call((np.array([[1.0, 2.0, 1.0, 2.0, 3.0], [0.5, 0.5, 0.5, 0.5, 0.5]]),), group="exact copies"),
    Call((_NEAR,), {"tol": 1e-9}, group="with a tolerance"),
    Call((_NEAR,), group="exact copies"),
]

question(
    "count_distinct_units",
    exercise=EXERCISE,
    points=2,
    title="count the distinct hidden units (columns) of a weight matrix",
    check=deterministic(
        symmetry.count_distinct_units,
        visible=_VISIBLE_COUNT,
        hidden=_count_calls,
        rtol=0.0,
        atol=0.0,
        hints={
            "exact copies": "a unit is a column of W (in_out layout): count the distinct columns, "
            "e.g. with np.unique(w.T, axis=0)",
            "with a tolerance": "two columns are the same unit when max |difference| <= tol",
        },
    ),
    forbidden=("course_utils.symmetry.count_distinct_units",),
)


# ---- the two-layer network: gradients and training --------------------------------------------
def _net_inputs(rng: np.random.Generator, constant_start: bool) -> tuple:
    n, d, k = int(rng.integers(5, 60)), int(rng.integers(1, 6)), int(rng.integers(2, 12))
    x = rng.standard_normal((n, d))
    y = (rng.random(n) < 0.5).astype(np.float64)
    y[0], y[1] = 0.0, 1.0  # both classes present
    if constant_start:
        w1 = np.full((d, k), float(rng.uniform(-0.8, 0.8)))
        w2 = np.full((k, 1), float(rng.uniform(-0.8, 0.8)))
    else:
        w1 = rng.standard_normal((d, k)) * 0.5
        w2 = rng.standard_normal((k, 1)) * 0.5
    return x, y, w1, w2


def _visible_net(constant_start: bool, seed: int) -> tuple:
    return _net_inputs(np.random.default_rng(seed), constant_start)


question(
    "two_layer_gradients",
    exercise=EXERCISE,
    points=3,
    title="backpropagation through h = tanh(x W1), p = sigmoid(h W2), binary cross-entropy",
    check=deterministic(
        symmetry.two_layer_gradients,
        visible=[
            Call(_visible_net(False, 1), group="random weights"),
            Call(_visible_net(False, 2), group="random weights"),
            Call(_visible_net(True, 3), group="constant weights"),
        ],
        hidden=lambda rng: (
            [Call(_net_inputs(rng, False), group="random weights") for _ in range(3)]
            + [Call(_net_inputs(rng, True), group="constant weights") for _ in range(2)]
        ),
        rtol=1e-6,
        atol=1e-12,
        hints={
            "random weights": "delta2 = (p - y[:, None]) / n; dW2 = h.T @ delta2; "
            "dW1 = x.T @ ((delta2 @ W2.T) * (1 - h**2)); return (dW1, dW2)",
            "constant weights": "the same formula; with equal columns every column of dW1 is equal",
        },
    ),
    forbidden=(
        "course_utils.symmetry.two_layer_gradients",
        "course_utils.symmetry.two_layer_train",
    ),
)


def _train_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for constant_start in (False, False, True, True):
        kw = {"lr": float(rng.uniform(0.1, 1.0)), "steps": int(rng.integers(1, 40))}
        group = "constant start" if constant_start else "random start"
        calls.append(Call(_net_inputs(rng, constant_start), kw, group=group))
    return calls


question(
    "two_layer_train",
    exercise=EXERCISE,
    points=3,
    title="k steps of full-batch gradient descent (clones stay clones)",
    check=deterministic(
        symmetry.two_layer_train,
        visible=[
            Call(_visible_net(False, 4), {"lr": 0.5, "steps": 10}, group="random start"),
            Call(_visible_net(True, 5), {"lr": 0.5, "steps": 25}, group="constant start"),
        ],
        hidden=_train_calls,
        rtol=1e-6,
        atol=1e-10,
        hints={
            "random start": "copy w1 and w2, then repeat: (dW1, dW2) = two_layer_gradients(...); "
            "w1 -= lr * dW1; w2 -= lr * dW2; return (w1, w2)",
            "constant start": "the same loop; the columns of w1 must stay equal",
        },
    ),
    forbidden=(
        "course_utils.symmetry.two_layer_gradients",
        "course_utils.symmetry.two_layer_train",
    ),
)
