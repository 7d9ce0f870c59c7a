"""Exercise 01 (the symmetry problem): constant init, counting distinct units, clones survive
gradient descent, and predicting which units stay clones (the prediction questions).

The predictions go past the lecture (partial symmetry: units that share only some of their
incoming weights, bias and outgoing weights) and cannot be simulated with the student's own
helpers: question 5's network has biases and several outputs, which the student's two-layer
trainer does not support, and some starts split a clone group by 1e-9, below any tolerance a
simulation would count with. Every question's first (main) call group holds the inputs on which
the common wrong rules differ from the right one."""

from __future__ import annotations

import math

import numpy as np

from course_utils import initializers, symmetry
from course_utils.grading.checks import NO_OUTPUT, Call, CheckResult, Outcome, Rng
from course_utils.grading.predictions import PredictedCheck, apply_gate, predicted
from course_utils.grading.registry import question

EXERCISE = "01_symmetry"
#: bumped whenever a question of this exercise changes (grading an older copy says which)
VERSION = "3"
#: what a graded answer may import (the notebook's first cell says so too)
ALLOWED_IMPORTS = ("numpy", "math")
#: questions changed in VERSION 3 (points, checks; surviving_units takes the biases b1)
CHANGED_IN_3 = (
    "constant",
    "count_distinct_units",
    "two_layer_train",
    "surviving_units",
    "surviving_units_deep",
)


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
        Call(((kh, kh, dim(), dim()),), {"value": float(rng.uniform(-1, 1))}, group="dense")
    )
    calls.append(Call(((dim(),),), {"value": 0.0}, group="dense"))
    seed = int(rng.integers(0, 2**31))
    calls.append(
        Call(((dim(), dim()), Rng(seed)), {"value": 0.25}, group="rng accepted and unused")
    )
    return calls


question(
    "constant",
    exercise=EXERCISE,
    points=0.5,
    title="constant(shape, rng=None, *, value): every weight equal to value",
    check=_ConstantCheck(
        initializers.constant,
        visible=[
            Call(((3, 4),), {"value": 0.5}, group="dense"),
            Call(((2, 2),), {"value": -1.0, "dtype": "float64"}, group="dense"),
            Call(((3, 3, 2, 4),), {"value": 0.1}, group="dense"),
            Call(((4, 5), Rng(0)), {"value": 0.25}, group="rng accepted and unused"),
        ],
        hidden=_constant_calls,
        rtol=1e-6,  # float32 rounding of value; the dtype is checked separately
        atol=0.0,
        hints={
            "dense": "every entry equals value, the array has the requested shape, whatever its "
            "number of dimensions (dense weights and conv kernels)",
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
    rng: np.random.Generator,
    fan_in: int,
    n_units: int,
    n_distinct: int,
    tol: float = 0.0,
    *,
    same_first: bool = False,
) -> np.ndarray:
    """``n_units`` columns, each a copy of one of ``n_distinct`` well-separated prototypes (every
    prototype used at least once). With ``tol > 0`` every entry of every copy moves by
    +-0.45 tol (random signs): two copies of a prototype differ by 0 or 0.9 tol per entry (the
    same unit), their Euclidean distance exceeds tol when two entries differ, and the prototypes
    sit on rounding boundaries (k + 1/2) tol, so rounding to tol splits copies apart. With
    ``same_first`` every prototype has the same first entry (comparing one entry is not enough)."""
    protos = rng.standard_normal((fan_in, n_distinct))
    if same_first:
        protos[0] = protos[0, 0]
        protos[1 % fan_in] += 4.0 * np.arange(n_distinct) if fan_in > 1 else 0.0
    else:
        protos[0] += 4.0 * np.arange(n_distinct)  # separation >= 4 in the first entry
    which = np.concatenate(
        [np.arange(n_distinct), rng.integers(0, n_distinct, n_units - n_distinct)]
    )
    rng.shuffle(which)
    w = protos[:, which]
    if tol > 0:
        on_boundary = (np.floor(protos / tol) + 0.5) * tol
        w = on_boundary[:, which] + 0.45 * tol * rng.choice([-1.0, 1.0], size=w.shape)
    return w


def _count_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(2):
        fan_in, n_units = int(rng.integers(2, 12)), int(rng.integers(3, 30))
        k = int(rng.integers(2, n_units))
        w = _clustered(rng, fan_in, n_units, k, same_first=True)
        calls.append(Call((w,), group="distinct units"))
    fan_in, n_units = int(rng.integers(2, 12)), int(rng.integers(2, 30))
    calls.append(
        Call((np.full((fan_in, n_units), float(rng.uniform(-1, 1))),), group="distinct units")
    )
    for tol in (1e-6, 1e-4, 1e-2):
        fan_in, n_units = int(rng.integers(3, 12)), int(rng.integers(6, 30))
        k = int(rng.integers(2, n_units // 2))
        w = _clustered(rng, fan_in, n_units, k, tol)
        calls.append(Call((w,), {"tol": tol}, group="distinct units"))
    # two columns exactly tol apart (exact binary fractions): the same unit
    k = int(rng.integers(1, 6))
    w = np.zeros((3, 2 * k))
    w[0, k:] = 0.25
    w[1] = np.tile(4.0 * np.arange(k), 2)
    calls.append(Call((w,), {"tol": 0.25}, group="distinct units"))
    return calls


_NEAR = np.array([[1.0, 1.0 + 1e-12, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0], [5.0, 5.0, 5.0, 5.0]])
_VISIBLE_COUNT = [
    Call((np.full((3, 5), 0.5),), group="distinct units"),
    Call((np.eye(4),), group="distinct units"),
    Call(
        (np.array([[1.0, 2.0, 1.0, 2.0, 3.0], [0.5, 0.5, 0.5, 0.5, 0.5]]),), group="distinct units"
    ),
    Call((np.array([[0.5, 0.5, 0.5], [1.0, 2.0, 1.0]]),), group="distinct units"),
    Call((_NEAR,), {"tol": 1e-9}, group="distinct units"),
    Call((_NEAR,), group="distinct units"),
    Call((_clustered(np.random.default_rng(7), 4, 9, 3, 1e-3),), {"tol": 1e-3}, "distinct units"),
    Call((np.array([[0.0, 0.5, 4.0], [1.0, 1.0, 1.0]]),), {"tol": 0.5}, group="distinct units"),
]


def _count_rounding(w, tol=0.0):
    w = np.asarray(w, dtype=float)
    if tol > 0:
        w = np.round(w, int(round(-math.log10(tol))))
    return int(np.unique(w.T, axis=0).shape[0])


def _count_greedy(w, tol, distance):
    reps: list[np.ndarray] = []
    for col in np.asarray(w, dtype=float).T:
        if not any(distance(col - r) for r in reps):
            reps.append(col)
    return len(reps)


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
            "tol is applied by rounding: two values closer than tol can round to different "
            "numbers when a rounding boundary lies between them": _count_rounding,
            "tol is ignored (only exact copies are merged)": lambda w, tol=0.0: (
                symmetry.count_distinct_units(w)
            ),
            "the distance between columns is Euclidean; the rule compares every entry on its "
            "own (largest entry-wise difference)": lambda w, tol=0.0: _count_greedy(
                w, tol, lambda d: float(np.sqrt(np.sum(d * d))) <= tol
            ),
            "a difference of exactly tol is counted as different (< where <= belongs)": (
                lambda w, tol=0.0: (
                    _count_greedy(w, tol, lambda d: tol > 0 and float(np.max(np.abs(d))) < tol)
                    if tol > 0
                    else symmetry.count_distinct_units(w)
                )
            ),
        },
        hints={
            "distinct units": "a unit is a column of w (its incoming weights, in_out layout); "
            "two columns are the same unit when their largest entry-wise difference is at most tol",
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


_TRAIN_ARGS = ("x", "y", "w1", "w2")


class _TrainCheck(PredictedCheck):
    """Values against the library's ``two_layer_train``, plus "do not modify the arguments":
    the harness reports which array arguments a call changed. Training the caller's arrays in
    place loses half of the question (a side requirement: the values may still be right)."""

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        results = super().verdict(calls, outcomes, name)
        changed = [(c, o) for c, o in zip(calls, outcomes, strict=True) if o.ok and o.modified]
        if not any(o.ok for o in outcomes):
            results.append(CheckResult("arguments unchanged", False, NO_OUTPUT, weight=2.0))
        elif changed:
            call, out = changed[0]
            which = ", ".join(
                _TRAIN_ARGS[k] if isinstance(k, int) and k < len(_TRAIN_ARGS) else str(k)
                for k in out.modified
            )
            results.append(
                CheckResult(
                    "arguments unchanged",
                    False,
                    f"{call.describe(name)} changed the caller's {which}: the updates must act "
                    "on copies (the text says: do not modify the arguments)",
                    weight=2.0,
                )
            )
        else:
            results.append(CheckResult("arguments unchanged", True, "the caller's arrays are "
                                       "untouched", weight=2.0))  # fmt: skip
        return apply_gate(results, ["random start"])


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
    points=0.5,
    title="k steps of full-batch gradient descent (clones stay clones)",
    check=_TrainCheck(
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
def surviving_units_reference(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray) -> int:
    """Distinct hidden units (columns of W1) after any number >= 1 of gradient steps, generic data.

    Units j and k stay exact clones iff they start with the same incoming column ``w1[:, j]``,
    the same bias ``b1[j]`` *and* the same outgoing weights ``w2[j, :]``: then they have the same
    output, the same back-propagated delta, hence the same gradients (the induction of lecture
    01). If any of the three differs, their outputs or their deltas differ, and so do their
    gradients: the columns of W1 separate at the first step.
    """
    keys = np.concatenate(
        [
            np.asarray(w1, float),
            np.asarray(b1, float).reshape(1, -1),
            np.asarray(w2, float).T,
        ],
        axis=0,
    )
    return int(np.unique(keys.T, axis=0).shape[0])


def _keys_deep(w_in: np.ndarray, w_out: np.ndarray) -> int:
    keys = np.concatenate([np.asarray(w_in, float), np.asarray(w_out, float).T], axis=0)
    return int(np.unique(keys.T, axis=0).shape[0])


def surviving_units_deep_reference(weights: list[np.ndarray]) -> list[int]:
    """Per hidden layer l = 1..L-1: distinct (incoming column of W_l, outgoing row of W_(l+1))."""
    return [_keys_deep(w_in, w_out) for w_in, w_out in zip(weights[:-1], weights[1:], strict=True)]


def partly_symmetric_start(
    rng: np.random.Generator,
    d: int,
    k: int,
    m: int,
    *,
    groups: int,
    split: float,
    size: float = 0.4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(w1, b1, w2)`` of a ``d-k-m`` net whose hidden units come in ``groups`` clone groups
    (same incoming column, bias and outgoing row), after which a fraction ``split`` of the units
    has *one* of the three changed (which one at random) by about ``size``: such a unit leaves its
    group. Entries are well separated (no accidental equalities)."""
    g = np.concatenate([np.arange(groups), rng.integers(0, groups, k - groups)])
    rng.shuffle(g)
    w1 = (rng.standard_normal((d, groups)) * 0.7)[:, g]
    b1 = (rng.standard_normal(groups) * 0.3)[g]
    w2 = (rng.standard_normal((groups, m)) * 0.7)[g, :]
    for j in np.flatnonzero(rng.random(k) < split):
        what = int(rng.integers(0, 3))
        step = size * rng.uniform(0.5, 1.5) * rng.choice([-1.0, 1.0])
        if what == 0:
            w1[int(rng.integers(0, d)), j] += step
        elif what == 1:
            b1[j] += step
        else:
            w2[j, int(rng.integers(0, m))] += step
    return w1, b1, w2


def clone_structured_weights(
    rng: np.random.Generator,
    widths: list[int],
    *,
    groups: list[int],
    split: float = 0.3,
    size: float = 0.4,
) -> list[np.ndarray]:
    """Weights of a net ``widths`` whose hidden units come in clone groups, some of them split.

    Hidden layer l has ``groups[l-1]`` groups; ``W_l[i, j] = M_l[g(i), g(j)]`` makes units of a
    group share their incoming column and outgoing row. Then a fraction ``split`` of the hidden
    units get their outgoing row or their incoming column changed by amounts of about ``size``
    that are constant over the neighbouring layer's groups: the unit leaves its group while the
    neighbours' clone structure is kept. Entries are well separated (no accidental equalities)."""
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
        for j in np.flatnonzero(chosen):
            # change the outgoing row (constant over the next layer's groups) or the incoming
            # column (constant over the previous layer's groups): either keeps the neighbours'
            # clone structure
            side = li + 1 if rng.random() < 0.5 else li - 1
            g = labels[side]
            d = size * rng.uniform(0.5, 1.5, g.max() + 1) * rng.choice([-1.0, 1.0], g.max() + 1)
            if side == li + 1:
                weights[li][j, :] += d[g]
            else:
                weights[li - 1][:, j] += d[g]
    return weights


def _surviving_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for size in (0.4, 0.4, 0.4, 1e-9):
        d, k, m = int(rng.integers(2, 6)), int(rng.integers(5, 16)), int(rng.integers(1, 4))
        start = partly_symmetric_start(
            rng, d, k, m, groups=int(rng.integers(1, 4)), split=float(rng.uniform(0.3, 0.6)),
            size=size,
        )  # fmt: skip
        calls.append(Call(start, group="partly symmetric starts"))
    d, k = int(rng.integers(2, 6)), int(rng.integers(4, 12))
    w2 = np.full((k, 1), float(rng.uniform(0.2, 1.0)))
    calls.append(
        Call((rng.standard_normal((d, k)), np.zeros(k), w2), group="partly symmetric starts")
    )
    return calls


def _visible_surviving() -> list[Call]:
    r = np.random.default_rng(101)
    calls = [
        Call(
            partly_symmetric_start(r, 3, 8, 1, groups=2, split=0.5), group="partly symmetric starts"
        ),
        Call(
            partly_symmetric_start(r, 2, 10, 2, groups=3, split=0.5),
            group="partly symmetric starts",
        ),
        Call(
            partly_symmetric_start(r, 3, 9, 1, groups=2, split=0.5, size=1e-9),
            group="partly symmetric starts",
        ),
        Call(
            (r.standard_normal((2, 5)), np.zeros(5), np.full((5, 1), 0.5)),
            group="partly symmetric starts",
        ),
    ]
    # units 0-3 share column and outgoing weight; their biases differ: 4 distinct units
    w1 = np.repeat(np.array([[0.3], [-0.5]]), 4, axis=1)
    calls.append(
        Call(
            (w1, np.array([0.0, 0.1, 0.2, 0.3]), np.full((4, 1), 0.4)),
            group="partly symmetric starts",
        )
    )
    return calls


def _distinct_columns(w: np.ndarray) -> int:
    return int(np.unique(np.asarray(w, float).T, axis=0).shape[0])


def _distinct_keys(*parts: np.ndarray, tol: float = 0.0) -> int:
    keys = np.concatenate(
        [np.asarray(p, float).reshape(-1, np.asarray(p).shape[-1]) for p in parts]
    )
    return symmetry.count_distinct_units(keys, tol=tol)


question(
    "surviving_units",
    exercise=EXERCISE,
    points=4,
    title="predict how many distinct hidden units remain after gradient descent",
    check=predicted(
        surviving_units_reference,
        visible=_visible_surviving(),
        hidden=_surviving_calls,
        rtol=0.0,
        mistakes={
            "you compare only the incoming weights (columns of w1): two units with equal columns "
            "but a different bias or different outgoing weights receive different gradients": (
                lambda w1, b1, w2: _distinct_columns(w1)
            ),
            "the biases are left out: a different bias makes a different output": (
                lambda w1, b1, w2: _distinct_keys(w1, np.asarray(w2).T)
            ),
            "the outgoing weights are left out: a different outgoing weight makes a different "
            "back-propagated delta": lambda w1, b1, w2: _distinct_keys(
                w1, np.asarray(b1).reshape(1, -1)
            ),
            "a tiny difference is treated as none: in exact arithmetic any difference separates "
            "two units at the first step": lambda w1, b1, w2: _distinct_keys(
                w1, np.asarray(b1).reshape(1, -1), np.asarray(w2).T, tol=1e-6
            ),
            "you assume every unit ends up different": lambda w1, b1, w2: np.asarray(w1).shape[1],
            "you assume every unit ends up a clone": lambda w1, b1, w2: 1,
        },
        hints={
            "partly symmetric starts": "follow one step of the lecture's induction for two "
            "units: what must they share for their outputs and their back-propagated deltas "
            "to be equal?",
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
    for size in (0.4, 0.4, 1e-9):
        depth = int(rng.integers(3, 6))
        widths = [int(rng.integers(2, 5))] + [int(rng.integers(4, 12)) for _ in range(depth - 1)]
        widths.append(int(rng.integers(1, 3)))
        groups = [int(rng.integers(1, min(4, n) + 1)) for n in widths[1:-1]]
        ws = clone_structured_weights(
            rng, widths, groups=groups, split=float(rng.uniform(0.2, 0.5)), size=size
        )
        calls.append(Call((ws,), group="deep clone groups"))
    return calls


def _visible_deep() -> list[Call]:
    r = np.random.default_rng(102)
    return [
        Call(
            (clone_structured_weights(r, [3, 6, 5, 1], groups=[2, 2], split=0.4),),
            group="deep clone groups",
        ),
        Call(
            (clone_structured_weights(r, [2, 8, 6, 4, 2], groups=[2, 3, 2], split=0.4, size=1e-9),),
            group="deep clone groups",
        ),
    ]


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
            "a tiny difference is treated as none: in exact arithmetic any difference separates "
            "two units": lambda ws: [
                _distinct_keys(a, np.asarray(b).T, tol=1e-6)
                for a, b in zip(ws[:-1], ws[1:], strict=True)
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
