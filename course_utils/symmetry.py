"""The symmetry problem: a small numpy classifier with biases, full-batch gradient descent, and
measurements of how alike the hidden units of a layer are.

Lecture 01 trains the classic ``2-10-5-1`` network (ReLU hidden layers, sigmoid output, binary
cross-entropy, plain full-batch gradient descent) on two concentric circles from three starts:
all zeros, a non-zero constant, and scaled random values. This module holds that network as plain
data (:class:`MLP`) and functions, so a notebook reads like the maths; the forward and backward
passes are the course's engine, :func:`course_utils.network.forward` and
:func:`course_utils.network.backward`, with biases and a sigmoid output:

.. math::

    z_l = a_{l-1} W_l + b_l, \\qquad a_l = f(z_l) \\;(l < L), \\qquad
    p = \\sigma(z_L), \\qquad
    \\mathcal{L} = -\\frac{1}{n}\\sum_i \\big[y_i \\log p_i + (1 - y_i) \\log (1 - p_i)\\big].

Layout is the course's ``in_out``: ``W_l`` has shape ``(n_(l-1), n_l)``, so **hidden unit j of
layer l is column j of W_l** (plus entry j of ``b_l``).

Exact clones
------------
If two columns of ``W_l`` and two entries of ``b_l`` are equal, the two units compute the same
function and receive the same gradient, so in exact arithmetic they stay equal for ever. In
floating point that holds only if both columns go through the *same* sequence of roundings. An
optimised BLAS ``matmul`` does not promise that: it splits the output into blocks handled by
different kernels (vector body versus remainder, with or without fused multiply-add), and at
width 500 two equal columns of ``x @ W`` can differ in the last bit. ``exact=True`` computes the
products as an element-wise multiply followed by a sum over the shared axis; IEEE-754 makes
every element-wise operation correctly rounded, so equal columns in give bit-equal columns out on
any machine (the ``exact`` option of :func:`course_utils.network.forward`). It is slower (it
materialises an ``(n, k, m)`` array) and meant for small networks.

References
----------
- Y. LeCun, L. Bottou, G. Orr, K.-R. Mueller, "Efficient BackProp" (1998), section 4.6.
- I. Goodfellow, Y. Bengio, A. Courville, "Deep Learning" (2016), section 8.4 ("break symmetry").
- X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward neural
  networks" (AISTATS 2010).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_utils import network
from course_utils.network import Gradients

__all__ = [
    "HIDDEN_ACTIVATIONS",
    "MLP",
    "Gradients",
    "History",
    "init_mlp",
    "forward_pass",
    "bce_loss",
    "loss_and_gradients",
    "train",
    "predict_proba",
    "accuracy",
    "unit_spread",
    "count_distinct_units",
    "collapse_clones",
    "two_layer_gradients",
    "two_layer_train",
    "teacher_task",
    "compare_starts",
    "DivergedError",
    "min_unit_cosine",
    "gradients_over_seeds",
]

HIDDEN_ACTIVATIONS = ("relu", "tanh", "linear")
_EPS = 1e-12


# --------------------------------------------------------------------------- validation


def _as_matrix(name: str, a: Any, *, dims: int = 2) -> np.ndarray:
    if isinstance(a, (str, bytes)) or a is None:
        raise TypeError(f"{name} must be an array, got {type(a).__name__}")
    arr = np.asarray(a)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != dims:
        raise ValueError(f"{name} must be {dims}-D, got shape {arr.shape}")
    return arr


def _check_hidden(hidden: str) -> None:
    if hidden not in HIDDEN_ACTIVATIONS:
        raise ValueError(f"hidden must be one of {', '.join(HIDDEN_ACTIVATIONS)}; got {hidden!r}")


def _check_tol(tol: Any) -> float:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    return float(tol)


def _labels_column(name: str, y: Any, n: int) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64).reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"{name} must hold {n} labels, got {arr.shape[0]}")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must contain only the labels 0 and 1")
    return arr[:, None]


class DivergedError(FloatingPointError):
    """Raised by :func:`train` when the loss stops being finite; ``step`` is where it happened."""

    def __init__(self, step: int) -> None:
        super().__init__(f"loss is not finite at step {step}; lower lr")
        self.step = int(step)


# --------------------------------------------------------------------------- the network


@dataclass
class MLP:
    """A fully connected binary classifier: ``weights[l]`` is ``(n_l, n_(l+1))``, ``biases[l]``
    is ``(n_(l+1),)``; hidden layers use ``hidden``, the output a sigmoid."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    hidden: str = "relu"

    def __post_init__(self) -> None:
        _check_hidden(self.hidden)
        if len(self.weights) != len(self.biases) or not self.weights:
            raise ValueError("weights and biases must be non-empty lists of the same length")
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if w.ndim != 2 or b.shape != (w.shape[1],):
                raise ValueError(
                    f"layer {i + 1}: weight must be 2-D and bias of shape (fan_out,), got "
                    f"{w.shape} and {b.shape}"
                )
            if i and self.weights[i - 1].shape[1] != w.shape[0]:
                raise ValueError(
                    f"layer {i + 1}: fan_in {w.shape[0]} does not match the layer below"
                )
        if self.weights[-1].shape[1] != 1:
            raise ValueError("the output layer must have one unit (binary classifier)")

    @property
    def widths(self) -> list[int]:
        """``[n_0, n_1, ..., n_L]``."""
        return [self.weights[0].shape[0]] + [w.shape[1] for w in self.weights]

    def copy(self) -> MLP:
        """A deep copy (training never modifies its input)."""
        return MLP([w.copy() for w in self.weights], [b.copy() for b in self.biases], self.hidden)


@dataclass
class History:
    """What :func:`train` measured, one entry per step ``0 .. steps`` (before each update and
    after the last one).

    ``spread[t, l]`` is :func:`unit_spread` of hidden layer ``l + 1`` at step ``t`` (weights and
    bias), ``output_bias[t]`` the output unit's bias, ``grad_norms[t, l]`` the Frobenius norm of
    ``dL/dW_(l+1)``.
    """

    loss: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray | None
    spread: np.ndarray
    output_bias: np.ndarray
    grad_norms: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


def init_mlp(
    widths: Sequence[int],
    scheme: str | Callable[..., np.ndarray],
    rng: np.random.Generator | int | None = None,
    *,
    hidden: str = "relu",
    bias: float = 0.0,
    dtype: Any = np.float64,
    **scheme_kwargs: Any,
) -> MLP:
    """Build an :class:`MLP` with weights from an initializer and constant biases.

    Parameters
    ----------
    widths : sequence of int
        ``[n_0, n_1, ..., n_L]`` with ``n_L = 1``, e.g. ``[2, 10, 5, 1]``.
    scheme : str or callable
        A name of :data:`course_utils.initializers.INITIALIZERS` or a callable
        ``(shape, rng, **kw) -> array``. Applied to every layer with shape ``(n_(l-1), n_l)``.
    rng : numpy.random.Generator or int, optional
        Random source (not needed for ``"zeros"`` / ``"constant"``).
    hidden : {"relu", "tanh", "linear"}
    bias : float
        Initial value of every bias (0 in the classic experiments).
    dtype : numpy dtype
        ``float64`` by default, so that the symmetry measurements are not limited by float32.
    **scheme_kwargs
        Passed to the initializer, e.g. ``value=0.5`` or ``std=0.01``.

    Examples
    --------
    >>> net = init_mlp([2, 10, 5, 1], "he_normal", 0)
    >>> [w.shape for w in net.weights]
    [(2, 10), (10, 5), (5, 1)]
    """
    _check_hidden(hidden)
    widths = network._check_widths(widths)
    init = network.resolve_scheme(scheme)
    gen = network._as_generator(rng)
    # drawn in the initializer's own dtype (float32 for the named ones), then cast
    weights = [
        np.asarray(init((a, b), gen, **scheme_kwargs), dtype=dtype)
        for a, b in zip(widths[:-1], widths[1:], strict=True)
    ]
    biases = network.init_biases(widths, float(bias), dtype)
    return MLP(weights, biases, hidden)


def forward_pass(
    net: MLP, x: Any, *, exact: bool = False
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pre-activations ``[z_1, ..., z_L]`` and activations ``[a_1, ..., a_L]`` (``a_L = p``).

    Examples
    --------
    >>> net = init_mlp([2, 3, 1], "zeros")
    >>> z, a = forward_pass(net, np.ones((4, 2)))
    >>> a[-1].ravel().tolist()
    [0.5, 0.5, 0.5, 0.5]
    """
    trace = _forward(net, x, exact)
    return trace.pre_activations, trace.activations


def _forward(net: MLP, x: Any, exact: bool) -> network.Trace:
    x = _as_matrix("x", x)
    if x.shape[1] != net.widths[0]:
        raise ValueError(f"x must have {net.widths[0]} columns, got shape {x.shape}")
    return network.forward(
        x, net.weights, net.hidden, biases=net.biases, output_activation="sigmoid", exact=exact
    )


def bce_loss(p: Any, y: Any) -> float:
    """Mean binary cross-entropy ``-mean(y log p + (1 - y) log(1 - p))`` (p clipped to
    ``[1e-12, 1 - 1e-12]``).

    Examples
    --------
    >>> round(bce_loss(np.full(4, 0.5), [0, 1, 0, 1]), 6)  # ln 2
    0.693147
    """
    p = np.clip(np.asarray(p, dtype=np.float64).reshape(-1), _EPS, 1.0 - _EPS)
    y = _labels_column("y", y, p.shape[0]).ravel()
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def loss_and_gradients(
    net: MLP, x: Any, y: Any, *, exact: bool = False
) -> tuple[float, Gradients, list[np.ndarray]]:
    """Loss, gradients and activations for one full batch (backpropagation).

    With a sigmoid output and the cross-entropy loss, ``dL/dz_L = (p - y) / n``; then
    ``dL/dW_l = a_(l-1)^T dL/dz_l``, ``dL/db_l = sum_i dL/dz_l``,
    ``dL/dz_(l-1) = (dL/dz_l W_l^T) * f'(z_(l-1))``.

    Returns
    -------
    loss : float
    grads : course_utils.network.Gradients
        ``.weights``, ``.biases`` and ``.pre_activations`` (``dL/dz_l``) per layer.
    activations : list of arrays ``[a_1, ..., a_L]``

    Examples
    --------
    >>> net = init_mlp([2, 3, 1], "zeros")
    >>> loss, g, _ = loss_and_gradients(net, np.ones((2, 2)), [0, 1])
    >>> float(abs(g.weights[0]).max()), float(abs(g.weights[1]).max())
    (0.0, 0.0)
    """
    trace = _forward(net, x, exact)
    p = trace.outputs
    n = p.shape[0]
    yc = _labels_column("y", y, n).astype(p.dtype)
    loss = bce_loss(p, yc)
    grads = network.backward(
        trace, net.weights, None, (p - yc) / n, grad_wrt="pre_activations", exact=exact
    )
    return loss, grads, trace.activations


def predict_proba(net: MLP, x: Any, *, exact: bool = False) -> np.ndarray:
    """Probability of class 1, shape ``(n,)``."""
    return forward_pass(net, x, exact=exact)[1][-1].ravel()


def accuracy(net: MLP, x: Any, y: Any, *, exact: bool = False) -> float:
    """Fraction of points whose predicted class (``p > 0.5``) equals the label.

    A network that outputs exactly ``p = 0.5`` everywhere predicts class 0 for every point: on a
    balanced data set its accuracy is 0.5.
    """
    p = predict_proba(net, x, exact=exact)
    yc = _labels_column("y", y, p.shape[0]).ravel()
    return float(np.mean((p > 0.5) == (yc == 1)))


def train(
    net: MLP,
    x: Any,
    y: Any,
    *,
    lr: float,
    steps: int,
    x_test: Any = None,
    y_test: Any = None,
    exact: bool = False,
) -> tuple[MLP, History]:
    """Full-batch gradient descent ``theta <- theta - lr * dL/dtheta`` for ``steps`` updates.

    Measures, at every step (before each update, and once after the last): the loss, the train
    (and test) accuracy, the spread between the units of every hidden layer
    (:func:`unit_spread`), the output bias and the norm of every weight gradient.

    Parameters
    ----------
    net : MLP
        The initial network (not modified).
    x, y : arrays
        Training inputs ``(n, n_0)`` and 0/1 labels ``(n,)``.
    lr : float
        Learning rate, > 0.
    steps : int
        Number of updates, >= 0.
    x_test, y_test : arrays, optional
        Held-out points; their accuracy is recorded at every step.
    exact : bool
        Use the rounding-symmetric product (see the module docstring); for small networks.

    Returns
    -------
    net : MLP
        The trained copy.
    history : History

    Examples
    --------
    >>> x = np.array([[0.0, 1.0], [1.0, 0.0]]); y = np.array([0, 1])
    >>> net, hist = train(init_mlp([2, 4, 1], "constant", value=0.3), x, y, lr=0.5, steps=20)
    >>> float(hist.spread.max())
    0.0
    """
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    if (x_test is None) != (y_test is None):
        raise ValueError("x_test and y_test must be given together")
    net = net.copy()
    yc = _labels_column("y", y, np.asarray(x).shape[0]).ravel()
    n_hidden = len(net.weights) - 1
    loss = np.empty(steps + 1)
    acc = np.empty(steps + 1)
    test_acc = np.empty(steps + 1) if x_test is not None else None
    spread = np.empty((steps + 1, n_hidden))
    out_bias = np.empty(steps + 1)
    gnorm = np.empty((steps + 1, len(net.weights)))
    for t in range(steps + 1):
        value, grads, acts = loss_and_gradients(net, x, yc, exact=exact)
        if not np.isfinite(value):
            raise DivergedError(t)
        loss[t] = value
        acc[t] = float(np.mean((acts[-1].ravel() > 0.5) == (yc == 1)))
        if test_acc is not None:
            test_acc[t] = accuracy(net, x_test, y_test, exact=exact)
        spread[t] = [
            unit_spread(w, b) for w, b in zip(net.weights[:-1], net.biases[:-1], strict=True)
        ]
        out_bias[t] = float(net.biases[-1][0])
        gnorm[t] = [float(np.linalg.norm(g)) for g in grads.weights]
        if t == steps:
            break
        for i in range(len(net.weights)):
            net.weights[i] -= lr * grads.weights[i]
            net.biases[i] -= lr * grads.biases[i]
    return net, History(loss, acc, test_acc, spread, out_bias, gnorm)


# --------------------------------------------------------------------------- symmetry measures


def unit_spread(w: Any, b: Any = None) -> float:
    """How different the units of a layer are: the largest range across units of any incoming
    weight (and of the bias).

    .. math:: \\text{spread}(W, b) = \\max\\Big(\\max_i \\big(\\max_j W_{ij} - \\min_j W_{ij}\\big),\\;
              \\max_j b_j - \\min_j b_j\\Big)

    Unit ``j`` is column ``j`` of ``W`` (``in_out`` layout). The spread is 0 exactly when every
    unit has the same incoming weights and bias, i.e. when all units are clones.

    Examples
    --------
    >>> unit_spread(np.full((3, 4), 0.5))
    0.0
    >>> unit_spread(np.array([[1.0, 2.0], [0.0, 0.5]]))
    1.0
    """
    w = _as_matrix("w", w).astype(np.float64, copy=False)
    if w.shape[1] == 0:
        raise ValueError("w must have at least one unit (column)")
    s = float(np.max(np.ptp(w, axis=1))) if w.shape[0] else 0.0
    if b is not None:
        b = _as_matrix("b", b, dims=1).astype(np.float64, copy=False)
        if b.shape[0] != w.shape[1]:
            raise ValueError(f"b must have {w.shape[1]} entries (one per unit), got {b.shape[0]}")
        s = max(s, float(np.ptp(b)))
    return s


def count_distinct_units(w: Any, *, tol: float = 0.0) -> int:
    """Number of distinct hidden units (columns) of a weight matrix in the ``in_out`` layout.

    Two columns count as the same unit when they differ by at most ``tol`` in every entry
    (``max_i |W_ij - W_ik| <= tol``). Columns are grouped greedily in order: each column joins the
    first earlier group whose first column is within ``tol``, otherwise it starts a new group.
    With ``tol=0`` this is the number of distinct columns.

    Parameters
    ----------
    w : array_like, shape (fan_in, fan_out)
    tol : float
        Tolerance, >= 0 (use e.g. 1e-9 after floating-point computations).

    Returns
    -------
    int
        Between 1 and ``fan_out`` (0 for a matrix without columns).

    Examples
    --------
    >>> count_distinct_units(np.full((3, 5), 0.5))
    1
    >>> count_distinct_units(np.array([[1.0, 1.0, 2.0], [0.0, 0.0, 0.0]]))
    2
    """
    w = _as_matrix("w", w).astype(np.float64, copy=False)
    tol = _check_tol(tol)
    cols = w.T
    if cols.shape[0] == 0:
        return 0
    if tol == 0.0:
        return int(np.unique(cols, axis=0).shape[0])
    reps: list[np.ndarray] = []
    for c in cols:
        if not any(np.max(np.abs(c - r), initial=0.0) <= tol for r in reps):
            reps.append(c)
    return len(reps)


def min_unit_cosine(w: Any, b: Any = None) -> float:
    """How alike the units of a layer are, independently of the scale: the smallest cosine
    similarity between the incoming weight vectors of any two units.

    Unit ``j`` is column ``j`` of ``W`` (``in_out`` layout), extended by ``b_j`` when ``b`` is
    given. Clones give 1.0; units that share a large common value with a small spread around it
    (``0.5 + 1e-3 * noise``) give a value just below 1, whatever the absolute size of the noise;
    independent zero-mean draws give values spread over ``[-1, 1]``. Two zero vectors count as
    equal (cosine 1), a zero vector and a non-zero one as orthogonal (cosine 0).

    .. math:: \\min_{j \\neq k} \\frac{u_j \\cdot u_k}{\\lVert u_j \\rVert \\lVert u_k \\rVert}

    Parameters
    ----------
    w : array_like, shape (fan_in, fan_out), fan_out >= 2
    b : array_like, shape (fan_out,), optional

    Returns
    -------
    float in [-1, 1]

    Examples
    --------
    >>> min_unit_cosine(np.full((3, 4), 0.5))
    1.0
    >>> min_unit_cosine(np.array([[1.0, -1.0], [0.0, 0.0]]))
    -1.0
    """
    u = _as_matrix("w", w).astype(np.float64, copy=False)
    if b is not None:
        b = _as_matrix("b", b, dims=1).astype(np.float64, copy=False)
        if b.shape[0] != u.shape[1]:
            raise ValueError(f"b must have {u.shape[1]} entries (one per unit), got {b.shape[0]}")
        u = np.vstack([u, b[None, :]])
    if u.shape[1] < 2:
        raise ValueError(f"w must have at least two units (columns), got {u.shape[1]}")
    norms = np.linalg.norm(u, axis=0)
    zero = norms == 0
    unit = u / np.where(zero, 1.0, norms)
    cos = unit.T @ unit
    both_zero = zero[:, None] & zero[None, :]
    cos = np.where(both_zero, 1.0, cos)
    off = ~np.eye(u.shape[1], dtype=bool)
    return float(np.clip(cos[off].min(), -1.0, 1.0))


def gradients_over_seeds(
    widths: Sequence[int],
    scheme: str | Callable[..., np.ndarray],
    x: Any,
    y: Any,
    seeds: Sequence[int],
    *,
    hidden: str = "relu",
    **scheme_kwargs: Any,
) -> list[np.ndarray]:
    """Weight gradients at initialization of many independently drawn networks, pooled per layer.

    A small network has few weights per layer (``2-10-5-1``: 20, 50 and 5), too few for a
    histogram; the distribution of ``dL/dW_l`` over random starts shows up when the gradients of
    ``len(seeds)`` networks, each ``init_mlp(widths, scheme, default_rng(seed))``, are pooled.

    Returns
    -------
    list of 1-D arrays
        Entry ``l`` holds the ``len(seeds) * n_(l-1) * n_l`` entries of ``dL/dW_(l+1)``.

    Examples
    --------
    >>> x = np.array([[0.0, 1.0], [1.0, 0.0]]); y = [0, 1]
    >>> [g.size for g in gradients_over_seeds([2, 3, 1], "he_normal", x, y, range(4))]
    [24, 12]
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must contain at least one seed")
    pooled: list[list[np.ndarray]] = []
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seeds must be ints, got {seed!r}")
        net = init_mlp(widths, scheme, np.random.default_rng(int(seed)), hidden=hidden,
                       **scheme_kwargs)  # fmt: skip
        _, grads, _ = loss_and_gradients(net, x, y)
        if not pooled:
            pooled = [[] for _ in grads.weights]
        for acc, g in zip(pooled, grads.weights, strict=True):
            acc.append(np.ravel(g))
    return [np.concatenate(parts) for parts in pooled]


def collapse_clones(net: MLP, *, tol: float = 0.0) -> MLP:
    """The one-unit-per-layer network that computes the same function as a network of clones.

    If every hidden layer's units are clones (equal incoming weights and biases, so equal
    outputs ``a``), a unit of layer ``l + 1`` receives ``sum_i W_(l+1)[i, j] a = a * sum_i
    W_(l+1)[i, j]``: the ``n_l`` clones act as one unit whose outgoing weight is the column sum.
    So ``W'_1 = W_1[:, :1]`` and ``W'_l = [[sum_i W_l[i, 0]]]`` for ``l >= 2``, ``b'_l = b_l[:1]``.

    Raises ValueError if some hidden layer is not made of clones (``unit_spread > tol``).

    Examples
    --------
    >>> net = init_mlp([2, 10, 5, 1], "constant", value=0.5)
    >>> collapse_clones(net).widths
    [2, 1, 1, 1]
    """
    tol = _check_tol(tol)
    for i, (w, b) in enumerate(zip(net.weights[:-1], net.biases[:-1], strict=True)):
        s = unit_spread(w, b)
        if s > tol:
            raise ValueError(
                f"hidden layer {i + 1} is not made of clones: unit spread {s:.3g} > tol"
            )
    weights = [net.weights[0][:, :1].copy()]
    weights += [w[:, :1].sum(axis=0, keepdims=True) for w in net.weights[1:]]
    biases = [b[:1].copy() for b in net.biases]
    return MLP(weights, biases, net.hidden)


# --------------------------------------------------------------------------- exercise 01 references


def two_layer_gradients(x: Any, y: Any, w1: Any, w2: Any) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of the one-hidden-layer tanh classifier of exercise 01 (no biases).

    .. math::

        h = \\tanh(x W_1), \\quad p = \\sigma(h W_2), \\quad
        \\mathcal{L} = \\text{BCE}(p, y),\\\\
        \\delta_2 = (p - y)/n, \\quad \\partial\\mathcal{L}/\\partial W_2 = h^T \\delta_2, \\quad
        \\partial\\mathcal{L}/\\partial W_1 = x^T \\big[(\\delta_2 W_2^T) \\odot (1 - h^2)\\big].

    Parameters
    ----------
    x : (n, d) array; y : (n,) 0/1 labels; w1 : (d, k); w2 : (k, 1)

    Returns
    -------
    (dw1, dw2) : arrays of the shapes of ``w1`` and ``w2`` (float64)

    Examples
    --------
    >>> dw1, dw2 = two_layer_gradients(np.ones((2, 2)), [0, 1], np.full((2, 3), 0.1),
    ...                                np.full((3, 1), 0.2))
    >>> count_distinct_units(dw1)
    1
    """
    x = _as_matrix("x", x).astype(np.float64)
    w1 = _as_matrix("w1", w1).astype(np.float64)
    w2 = _as_matrix("w2", w2).astype(np.float64)
    if w1.shape[0] != x.shape[1]:
        raise ValueError(f"w1 must have {x.shape[1]} rows (fan_in), got shape {w1.shape}")
    if w2.shape != (w1.shape[1], 1):
        raise ValueError(f"w2 must have shape ({w1.shape[1]}, 1), got {w2.shape}")
    yc = _labels_column("y", y, x.shape[0])
    trace = network.forward(x, [w1, w2], "tanh", output_activation="sigmoid")
    d2 = (trace.outputs - yc) / x.shape[0]
    grads = network.backward(trace, [w1, w2], None, d2, grad_wrt="pre_activations")
    return grads.weights[0], grads.weights[1]


def two_layer_train(
    x: Any, y: Any, w1: Any, w2: Any, *, lr: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` full-batch gradient-descent updates of :func:`two_layer_gradients`' network.

    Returns new arrays ``(w1, w2)``; the inputs are not modified.

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0]]); y = [0, 1]
    >>> w1, w2 = two_layer_train(x, y, np.full((2, 4), 0.5), np.full((4, 1), 0.5), lr=1.0, steps=5)
    >>> count_distinct_units(w1, tol=1e-12)
    1
    """
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    w1 = _as_matrix("w1", w1).astype(np.float64)  # astype copies
    w2 = _as_matrix("w2", w2).astype(np.float64)
    for _ in range(int(steps)):
        dw1, dw2 = two_layer_gradients(x, y, w1, w2)
        w1 -= lr * dw1
        w2 -= lr * dw2
    return w1, w2


# --------------------------------------------------------------------------- lecture 02: training from several starts


def teacher_task(
    rng: np.random.Generator | int, *, n: int = 256, d: int = 50, hidden: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic binary task labelled by a fixed random "teacher" network.

    ``x ~ N(0, I_d)`` (``n`` rows); the teacher computes ``s = tanh(x T_1) t_2`` with
    ``T_1 ~ N(0, 1/d)`` of shape ``(d, hidden)`` and ``t_2 ~ N(0, 1/hidden)``; the label is
    ``1`` where ``s`` is above its median, so the classes are balanced (chance loss ``ln 2``).

    Parameters
    ----------
    rng : numpy.random.Generator or int
        The task's own random source (seed).
    n, d, hidden : int
        Examples, input dimension, teacher width (each >= 1; ``n`` >= 2).

    Returns
    -------
    x : ndarray, shape (n, d), float64
    y : ndarray, shape (n,), float64 of 0.0 / 1.0

    Examples
    --------
    >>> x, y = teacher_task(7)
    >>> x.shape, float(y.mean())
    ((256, 50), 0.5)
    """
    for name, v, lo in (("n", n, 2), ("d", d, 1), ("hidden", hidden, 1)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    gen = network._as_generator(rng)
    x = gen.standard_normal((n, d))
    t1 = gen.standard_normal((d, hidden)) / np.sqrt(d)
    t2 = gen.standard_normal(hidden) / np.sqrt(hidden)
    score = np.tanh(x @ t1) @ t2
    return x, (score > np.median(score)).astype(np.float64)


def compare_starts(
    widths: Sequence[int],
    starts: dict[str, tuple[str | Callable[..., np.ndarray], dict[str, Any]]],
    x: Any,
    y: Any,
    *,
    hidden: str = "relu",
    lr: float,
    steps: int,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Train the same architecture from several initializations and measure each start.

    For every ``name -> (scheme, scheme_kwargs)`` the network ``init_mlp(widths, scheme,
    default_rng(seed), hidden=hidden, **scheme_kwargs)`` is measured at initialization (std of
    the output logit ``z_L`` over the batch, norm of the first layer's weight gradient
    ``||dL/dW_1||``) and then trained with :func:`train`. A run whose loss stops being finite
    (e.g. ReLU weights far too large) is reported, not raised. Overflow warnings inside the
    diverging runs are silenced (they would only repeat the report).

    Returns
    -------
    dict
        ``name -> {"logit_std": float, "grad_norm_1": float, "history": History or None,
        "error": str or None, "diverged_at": int or None, "net": MLP or None}``; ``net`` is the
        trained network (``None`` when the run diverged), ``diverged_at`` the step whose loss
        was not finite.

    Examples
    --------
    >>> x, y = teacher_task(0, n=32, d=4, hidden=3)
    >>> out = compare_starts([4, 8, 1], {"lecun": ("lecun_normal", {})}, x, y,
    ...                      hidden="tanh", lr=0.1, steps=5)
    >>> sorted(out["lecun"]), out["lecun"]["error"]
    (['diverged_at', 'error', 'grad_norm_1', 'history', 'logit_std', 'net'], None)
    """
    if not isinstance(starts, dict) or not starts:
        raise ValueError("starts must be a non-empty dict name -> (scheme, kwargs)")
    results: dict[str, dict[str, Any]] = {}
    for name, start in starts.items():
        if not (isinstance(start, tuple) and len(start) == 2 and isinstance(start[1], dict)):
            raise ValueError(
                f"starts[{name!r}] must be a (scheme, kwargs dict) pair, got {start!r}"
            )
        scheme, kw = start
        net = init_mlp(widths, scheme, np.random.default_rng(seed), hidden=hidden, **kw)
        with np.errstate(over="ignore", invalid="ignore"):
            zs, _ = forward_pass(net, x)
            _, grads, _ = loss_and_gradients(net, x, y)
            entry: dict[str, Any] = {
                "logit_std": float(np.std(zs[-1])),
                "grad_norm_1": float(np.linalg.norm(grads.weights[0])),
                "history": None,
                "error": None,
                "diverged_at": None,
                "net": None,
            }
            try:
                entry["net"], entry["history"] = train(net, x, y, lr=lr, steps=steps)
            except DivergedError as err:
                entry["error"] = str(err)
                entry["diverged_at"] = err.step
        results[name] = entry
    return results
