"""Exercise 01 (the symmetry problem): constant init, counting distinct units, clones survive
gradient descent, and predicting which units stay clones (the prediction questions)."""

from __future__ import annotations

import numpy as np

from course_utils import initializers, symmetry
from course_utils.grading.checks import Call, CheckResult, Outcome, Rng
from course_utils.grading.predictions import PredictedCheck, apply_gate, predicted
from course_utils.grading.registry import question

EXERCISE = "01_symmetry"


# ---- constant ------------------------------------------------------------------------------------
class _ConstantCheck(PredictedCheck):
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
                CheckResult("dtype", False, wrong[0] + " (the dtype argument decides the type)")
            )
        else:
            results.append(CheckResult("dtype", True, "float32 by default, dtype= honoured"))
        return apply_gate(results, ["dense"])


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
    points=1,
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
            "dense": "every entry equals value, the array has the requested shape",
            "conv kernel": "any number of dimensions: use the whole shape, not just two entries",
            "rng accepted and unused": "rng is the second positional argument; it is not used",
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
    points=1.5,
    title="count the distinct hidden units (columns) of a weight matrix",
    check=predicted(
        symmetry.count_distinct_units,
        visible=_VISIBLE_COUNT,
        hidden=_count_calls,
        rtol=0.0,
        atol=0.0,
        mistakes={
            "you count distinct rows (inputs) instead of columns (units)": lambda w, tol=0.0: (
                symmetry.count_distinct_units(np.asarray(w).T, tol=tol)
            ),
        },
        hints={
            "exact copies": "a unit is a column of w (its incoming weights, in_out layout): "
            "compare columns, not rows",
            "with a tolerance": "two columns are the same unit when their largest entry-wise "
            "difference is at most tol",
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
    points=1.5,
    title="backpropagation through h = tanh(x W1), p = sigmoid(h W2), binary cross-entropy",
    check=predicted(
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
            "random weights": "the loss is a mean over the n examples (a factor 1/n), y is a 1-D "
            "array (make it a column before subtracting), tanh' = 1 - tanh^2",
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
    points=1,
    title="k steps of full-batch gradient descent (clones stay clones)",
    check=predicted(
        symmetry.two_layer_train,
        visible=[
            Call(_visible_net(False, 4), {"lr": 0.5, "steps": 10}, group="random start"),
            Call(_visible_net(True, 5), {"lr": 0.5, "steps": 25}, group="constant start"),
        ],
        hidden=_train_calls,
        rtol=1e-6,
        atol=1e-10,
        hints={
            "random start": "both matrices are updated at every step, with the gradients of the "
            "current weights; work on copies, never on the arguments",
            "constant start": "the same loop; the columns of w1 must stay equal",
        },
    ),
    forbidden=(
        "course_utils.symmetry.two_layer_gradients",
        "course_utils.symmetry.two_layer_train",
    ),
)


# ---- prediction: which units stay clones ------------------------------------------------------
def surviving_units_reference(w1: np.ndarray, w2: np.ndarray) -> int:
    """Distinct hidden units after any number >= 1 of gradient steps (generic data).

    Units j and k stay exact clones iff they start with the same incoming column ``w1[:, j]``
    *and* the same outgoing weights ``w2[j, :]``: then they have the same output, the same
    back-propagated delta, hence the same gradient (the induction of lecture 01). If either
    differs, their outputs or their deltas differ and the gradients separate them.
    """
    keys = np.concatenate([np.asarray(w1, float), np.asarray(w2, float).T], axis=0)
    return int(np.unique(keys.T, axis=0).shape[0])


def surviving_units_deep_reference(weights: list[np.ndarray]) -> list[int]:
    """Per hidden layer l = 1..L-1: distinct (incoming column of W_l, outgoing row of W_(l+1))."""
    return [
        surviving_units_reference(w_in, w_out)
        for w_in, w_out in zip(weights[:-1], weights[1:], strict=True)
    ]


def clone_structured_weights(
    rng: np.random.Generator, widths: list[int], *, groups: list[int], split: float = 0.3
) -> list[np.ndarray]:
    """Weights of a net ``widths`` whose hidden units come in clone groups, some of them split.

    Hidden layer l has ``groups[l-1]`` groups; ``W_l[i, j] = M_l[g(i), g(j)]`` makes units of a
    group share their incoming column and outgoing row. Then a fraction ``split`` of the hidden
    units get an outgoing row changed by amounts that are constant over the next layer's groups:
    the unit leaves its group (same input, different output weights) while the next layer's clone
    structure is kept. Entries are well separated (no accidental equalities)."""
    labels = [np.arange(widths[0])]
    for n, m in zip(widths[1:-1], groups, strict=True):
        g = np.concatenate([np.arange(m), rng.integers(0, m, n - m)])
        rng.shuffle(g)
        labels.append(g)
    labels.append(np.arange(widths[-1]))
    weights = []
    for l_in, l_out in zip(labels[:-1], labels[1:], strict=True):
        m = rng.standard_normal((l_in.max() + 1, l_out.max() + 1)) * 0.7
        weights.append(m[np.ix_(l_in, l_out)])
    for li in range(1, len(widths) - 1):
        n = widths[li]
        chosen = rng.random(n) < split
        nxt = labels[li + 1]
        for j in np.flatnonzero(chosen):
            d = rng.uniform(0.2, 0.6, nxt.max() + 1) * rng.choice([-1.0, 1.0], nxt.max() + 1)
            weights[li][j, :] += d[nxt]
    return weights


def _surviving_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(4):
        d, k = int(rng.integers(2, 6)), int(rng.integers(4, 16))
        w1, w2 = clone_structured_weights(
            rng, [d, k, 1], groups=[int(rng.integers(1, 4))], split=float(rng.uniform(0.1, 0.5))
        )
        calls.append(Call((w1, w2), group="clone groups"))
    d, k = int(rng.integers(2, 6)), int(rng.integers(4, 12))
    w2 = np.full((k, 1), float(rng.uniform(0.2, 1.0)))
    calls.append(Call((rng.standard_normal((d, k)), w2), group="equal outgoing weights"))
    return calls


def _visible_surviving() -> list[Call]:
    r = np.random.default_rng(101)
    calls = []
    for k, g in ((6, 2), (8, 1)):
        w1, w2 = clone_structured_weights(r, [3, k, 1], groups=[g], split=0.4)
        calls.append(Call((w1, w2), group="clone groups"))
    calls.append(
        Call((r.standard_normal((2, 5)), np.full((5, 1), 0.5)), group="equal outgoing weights")
    )
    return calls


def _distinct_columns(w: np.ndarray) -> int:
    return int(np.unique(np.asarray(w, float).T, axis=0).shape[0])


question(
    "surviving_units",
    exercise=EXERCISE,
    points=3,
    title="predict how many distinct hidden units remain after gradient descent",
    check=predicted(
        surviving_units_reference,
        visible=_visible_surviving(),
        hidden=_surviving_calls,
        rtol=0.0,
        mistakes={
            "you compare only the incoming weights (columns of w1): two units with equal columns "
            "but different outgoing weights receive different gradients": lambda w1, w2: (
                _distinct_columns(w1)
            ),
            "you compare only the outgoing weights w2": lambda w1, w2: _distinct_columns(
                np.asarray(w2).T
            ),
            "you assume every unit ends up different": lambda w1, w2: np.asarray(w1).shape[1],
            "you assume every unit ends up a clone": lambda w1, w2: 1,
        },
        hints={
            "clone groups": "follow one step of the lecture's induction: what must two units "
            "share for their forward outputs AND their back-propagated deltas to be equal?",
            "equal outgoing weights": "equal outgoing weights alone do not make clones",
        },
    ),
    forbidden=(
        "course_utils.symmetry.two_layer_gradients",
        "course_utils.symmetry.two_layer_train",
        "course_utils.symmetry.train",
    ),
)


def _deep_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(3):
        depth = int(rng.integers(3, 6))
        widths = [int(rng.integers(2, 5))] + [int(rng.integers(4, 12)) for _ in range(depth - 1)]
        widths.append(1)
        groups = [int(rng.integers(1, min(4, n) + 1)) for n in widths[1:-1]]
        ws = clone_structured_weights(
            rng, widths, groups=groups, split=float(rng.uniform(0.1, 0.4))
        )
        calls.append(Call((ws,), group="deep clone groups"))
    return calls


def _visible_deep() -> list[Call]:
    r = np.random.default_rng(102)
    ws = clone_structured_weights(r, [3, 6, 5, 1], groups=[2, 2], split=0.3)
    return [Call((ws,), group="deep clone groups")]


question(
    "surviving_units_deep",
    exercise=EXERCISE,
    points=2,
    title="stretch: distinct units per hidden layer of a deep network after gradient descent",
    check=predicted(
        surviving_units_deep_reference,
        visible=_visible_deep(),
        hidden=_deep_calls,
        rtol=0.0,
        mistakes={
            "you compare only each layer's incoming columns": lambda ws: [
                _distinct_columns(w) for w in ws[:-1]
            ],
            "you compare only each layer's outgoing rows": lambda ws: [
                _distinct_columns(np.asarray(w).T) for w in ws[1:]
            ],
        },
        hints={
            "deep clone groups": "return one count per hidden layer (L - 1 of them); apply the "
            "two-layer argument to every hidden layer, with its incoming and outgoing matrices",
        },
    ),
    forbidden=(
        "course_utils.symmetry.two_layer_gradients",
        "course_utils.symmetry.two_layer_train",
        "course_utils.symmetry.train",
    ),
)
