"""Layer-sequential unit-variance (LSUV) initialization, in numpy (PyTorch models: torch_lsuv).

Mishkin & Matas ("All you need is a good init", ICLR 2016) replace the derivation of a variance
formula by a measurement. The recipe:

1. pre-initialize every weight with an orthogonal matrix (Saxe, McClelland & Ganguli, 2014);
2. for each layer ``l = 1 .. L`` in order, push a data batch through the network, measure the
   variance of the layer's output ``z_l = a_(l-1) W_l (+ b_l)`` over all its entries, and rescale

   .. math:: W_l \\leftarrow W_l / \\sqrt{\\operatorname{Var}(z_l)}

   until :math:`|\\operatorname{Var}(z_l) - 1| < \\text{tol}` or ``max_iter`` rescalings were made.

Without a bias the output is linear in the weight, so ``Var(c z) = c^2 Var(z)`` and one rescaling
lands exactly on the target for the batch it was measured on: the loop stops after at most one
step per layer. With a bias (PyTorch's layers carry one by default) the rescaling does not scale
the bias, the update overshoots or undershoots, and the loop needs a few more steps: that is why
the paper's algorithm is a loop and why the iteration count per layer is reported here.

"The layer's output" is the pre-activation ``z_l`` (the output of the dense or conv layer, before
its nonlinearity). That is what LSUV can always reach: a tanh output has variance below 1 whatever
the scale, so its variance could never be made equal to 1.

Functions
---------
* :func:`layer_output_variance` - ``Var(a W + b)`` over all entries
* :func:`lsuv_step` - one rescaling of one weight matrix (the exercise's question)
* :func:`lsuv` - the loop over the layers of the course's numpy network
* :func:`lsuv_init` - orthogonal pre-init of a network of given widths, then :func:`lsuv`
* :func:`lsuv_torch`, :func:`layer_variances_torch`, :func:`default_variances_torch`,
  :func:`training_comparison` - the same on PyTorch models: they live in
  :mod:`course_utils.torch_lsuv` (beside the other torch code) and are exported here too,
  imported on first use, so this module imports without torch
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_utils.initializers import orthogonal

# The torch half (course_utils.torch_lsuv), exported here and imported on first use.
_TORCH_NAMES = (
    "LayerReport", "default_variances_torch", "layer_variances_torch", "lsuv_torch",
    "training_comparison",
)  # fmt: skip

__all__ = [
    *_TORCH_NAMES,
    "ACTIVATIONS",
    "LSUVResult",
    "layer_output_variance",
    "lsuv",
    "lsuv_init",
    "lsuv_step",
]

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free form of 1 / (1 + exp(-z))


#: The activations the numpy LSUV loop understands by name (DESIGN.md's list).
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda z: z,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "sigmoid": _sigmoid,
    "selu": lambda z: _SELU_SCALE * np.where(z > 0, z, _SELU_ALPHA * np.expm1(np.minimum(z, 0))),
}


def _activation(activation: str | Callable) -> Callable[[np.ndarray], np.ndarray]:
    if callable(activation):
        return activation
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(
        f"activation must be a callable or one of {', '.join(ACTIVATIONS)}; got {activation!r}"
    )


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _max_iter(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"max_iter must be an int >= 0, got {value!r}")
    return int(value)


def _matrix(name: str, a: Any) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    return a


def layer_output_variance(w: Any, inputs: Any, bias: Any = None) -> float:
    """Variance of a dense layer's output ``z = inputs @ w + bias`` over all its entries.

    .. math:: \\operatorname{Var}(z) = \\frac{1}{BN}\\sum_{b,j} (z_{bj} - \\bar z)^2

    (the population variance of the whole batch-by-units block, as the paper measures a layer's
    output blob). Computed in float64.

    Parameters
    ----------
    w : array, shape (fan_in, fan_out)
    inputs : array, shape (batch, fan_in)
    bias : array of shape (fan_out,), optional

    Examples
    --------
    >>> round(layer_output_variance(np.eye(2), np.array([[1.0, -1.0], [-1.0, 1.0]])), 6)
    1.0
    """
    w = _matrix("w", w)
    inputs = _matrix("inputs", inputs)
    if inputs.shape[1] != w.shape[0]:
        raise ValueError(
            f"inputs must have w.shape[0] = {w.shape[0]} columns, got shape {inputs.shape}"
        )
    z = inputs.astype(np.float64) @ w.astype(np.float64)
    if bias is not None:
        z = z + np.asarray(bias, dtype=np.float64).reshape(1, -1)
    return float(z.var())


def lsuv_step(w: Any, inputs: Any, *, bias: Any = None, target: float = 1.0) -> np.ndarray:
    """One LSUV step: rescale ``w`` so the layer's output variance on ``inputs`` becomes ``target``.

    .. math:: W \\leftarrow W \\sqrt{\\frac{\\text{target}}{\\operatorname{Var}(x W + b)}}

    Without a bias the new output variance equals ``target`` exactly (``Var(cz) = c^2 Var(z)``).
    Mishkin & Matas, "All you need is a good init" (ICLR 2016), Algorithm 1.

    Parameters
    ----------
    w : array, shape (fan_in, fan_out)
        The layer's weight (in_out layout: the layer computes ``inputs @ w``).
    inputs : array, shape (batch, fan_in)
        The layer's input on a data batch (the previous layer's activations).
    bias : array of shape (fan_out,), optional
        Added to the output; not rescaled.
    target : float > 0
        The variance to reach.

    Returns
    -------
    numpy.ndarray
        A new array, same shape and dtype as ``w``.

    Raises
    ------
    ValueError
        If the output variance is 0 or not finite (a dead or exploding layer cannot be rescaled).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((256, 64)); w = 0.3 * rng.standard_normal((64, 32))
    >>> round(layer_output_variance(lsuv_step(w, x), x), 6)
    1.0
    """
    target = _positive("target", target)
    w = _matrix("w", w)
    v = layer_output_variance(w, inputs, bias)
    if not math.isfinite(v) or v <= 0.0:
        raise ValueError(f"the layer's output variance is {v!r}; LSUV needs a finite value > 0")
    return (w * math.sqrt(target / v)).astype(w.dtype, copy=False)


@dataclass(frozen=True)
class LSUVResult:
    """What :func:`lsuv` did, layer by layer.

    Attributes
    ----------
    weights : list of arrays
        The rescaled weights (new arrays; the inputs are not modified).
    iterations : list of int
        Rescalings made in each layer (0 when the layer was already within ``tol``).
    variances : list of float
        Each layer's output variance on the batch after its last rescaling.
    initial_variances : list of float
        Each layer's output variance before it was rescaled (earlier layers already fixed).
    converged : list of bool
        Whether ``|variance - target| < tol`` was reached within ``max_iter``.
    """

    weights: list[np.ndarray]
    iterations: list[int]
    variances: list[float]
    initial_variances: list[float]
    converged: list[bool] = field(default_factory=list)


def lsuv(
    weights: Sequence[Any],
    x: Any,
    activation: str | Callable = "tanh",
    *,
    biases: Sequence[Any] | None = None,
    tol: float = 0.1,
    max_iter: int = 10,
    target: float = 1.0,
) -> LSUVResult:
    """Rescale the layers of a numpy MLP one after the other until each output has unit variance.

    For ``l = 1 .. L``: compute ``z_l = a_(l-1) W_l + b_l`` on the batch; while
    ``|Var(z_l) - target| >= tol`` and fewer than ``max_iter`` steps were made, apply
    :func:`lsuv_step`; then ``a_l = f(z_l)`` feeds the next layer. The activation is applied
    after every layer, as in :func:`course_utils.network.forward`.

    Parameters
    ----------
    weights : sequence of arrays (fan_in, fan_out)
        Pre-initialized weights (orthogonal in the paper; see :func:`lsuv_init`).
    x : array, shape (batch, n_0)
        A data batch.
    activation : str or callable
        A name in :data:`ACTIVATIONS` or an elementwise function.
    biases : sequence of arrays, optional
        One per layer (or ``None`` entries); kept fixed.
    tol : float > 0
        Tolerance on the variance (paper: 0.1).
    max_iter : int >= 0
        Maximum rescalings per layer (paper: 10).
    target : float > 0
        Target variance (paper: 1).

    Returns
    -------
    LSUVResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ws = [orthogonal((32, 32), rng) * 3 for _ in range(4)]
    >>> res = lsuv(ws, rng.standard_normal((128, 32)), "relu")
    >>> res.iterations, [round(v, 3) for v in res.variances]
    ([1, 1, 1, 1], [1.0, 1.0, 1.0, 1.0])
    """
    tol = _positive("tol", tol)
    target = _positive("target", target)
    max_iter = _max_iter(max_iter)
    f = _activation(activation)
    if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence) or not weights:
        raise TypeError("weights must be a non-empty list of 2-D arrays")
    ws = [_matrix(f"weights[{i}]", w).copy() for i, w in enumerate(weights)]
    if biases is None:
        bs: list[Any] = [None] * len(ws)
    else:
        if len(biases) != len(ws):
            raise ValueError(f"biases must have one entry per layer ({len(ws)}), got {len(biases)}")
        bs = [None if b is None else np.asarray(b, dtype=np.float64) for b in biases]
    a = _matrix("x", x).astype(np.float64)
    if a.shape[1] != ws[0].shape[0]:
        raise ValueError(f"x must have {ws[0].shape[0]} columns, got shape {a.shape}")
    iterations, variances, initial, converged = [], [], [], []
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        if a.shape[1] != w.shape[0]:
            raise ValueError(
                f"weights[{i}] must have {a.shape[1]} rows to follow the previous layer, "
                f"got shape {w.shape}"
            )
        v = layer_output_variance(w, a, b)
        initial.append(v)
        steps = 0
        while abs(v - target) >= tol and steps < max_iter:
            if not math.isfinite(v) or v <= 0.0:
                raise ValueError(
                    f"layer {i} (weights[{i}]) has output variance {v!r}; LSUV needs a finite "
                    "value > 0 (a dead or exploding layer cannot be rescaled)"
                )
            w = lsuv_step(w, a, bias=b, target=target)
            v = layer_output_variance(w, a, b)
            steps += 1
        ws[i] = w
        iterations.append(steps)
        variances.append(v)
        converged.append(abs(v - target) < tol)
        z = a @ w.astype(np.float64)
        if b is not None:
            z = z + b.reshape(1, -1)
        a = np.asarray(f(z), dtype=np.float64)
    return LSUVResult(ws, iterations, variances, initial, converged)


def lsuv_init(
    widths: Sequence[int],
    x: Any,
    activation: str | Callable,
    rng: np.random.Generator | int,
    *,
    gain: float = 1.0,
    tol: float = 0.1,
    max_iter: int = 10,
    dtype: Any = np.float32,
) -> LSUVResult:
    """LSUV from scratch: orthogonal weights for ``widths``, then :func:`lsuv` on the batch ``x``.

    Parameters
    ----------
    widths : sequence of int
        ``[n_0, n_1, ..., n_L]``; layer ``l`` has a ``(n_(l-1), n_l)`` weight.
    x : array, shape (batch, n_0)
    activation : str or callable
    rng : numpy.random.Generator or int
    gain : float
        Gain of the orthogonal pre-init (irrelevant for the result's scale, which LSUV sets).
    tol, max_iter : see :func:`lsuv`
    dtype : dtype of the pre-initialized weights

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> res = lsuv_init([20, 50, 50, 1], rng.standard_normal((200, 20)), "tanh", rng)
    >>> [w.shape for w in res.weights]
    [(20, 50), (50, 50), (50, 1)]
    """
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or len(widths) < 2:
        raise ValueError(f"widths must be a sequence of at least 2 ints, got {widths!r}")
    if not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0 for n in widths
    ):
        raise ValueError(f"widths must be positive ints, got {widths!r}")
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        rng = np.random.default_rng(int(rng))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or an int, got {type(rng).__name__}")
    ws = [
        orthogonal((int(n_in), int(n_out)), rng, gain=gain, dtype=dtype)
        for n_in, n_out in zip(widths[:-1], widths[1:], strict=True)
    ]
    return lsuv(ws, x, activation, tol=tol, max_iter=max_iter)


def __getattr__(name: str):  # PEP 562: the torch half, imported when first asked for
    if name in _TORCH_NAMES:
        from course_utils import torch_lsuv

        return getattr(torch_lsuv, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
