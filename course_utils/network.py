"""A numpy multilayer perceptron whose forward and backward passes record every layer.

The network is plain data and functions, so a notebook can look at everything:

>>> import numpy as np
>>> from course_utils.network import init_weights, forward, backward
>>> rng = np.random.default_rng(0)
>>> weights = init_weights([4, 8, 8, 1], "he_normal", rng)       # widths n_0, n_1, ..., n_L
>>> [w.shape for w in weights]
[(4, 8), (8, 8), (8, 1)]
>>> x = rng.standard_normal((5, 4)).astype(np.float32)
>>> trace = forward(x, weights, "relu")
>>> [z.shape for z in trace.pre_activations]
[(5, 8), (5, 8), (5, 1)]
>>> grads = backward(trace, weights, "relu", np.ones((5, 1), np.float32))
>>> [g.shape for g in grads.weights]
[(4, 8), (8, 8), (8, 1)]

Conventions
-----------
Layer ``l = 1..L`` computes, with ``a_0 = x`` (rows are examples, layout ``"in_out"``)::

    z_l = a_{l-1} @ W_l (+ b_l)        W_l has shape (n_{l-1}, n_l)
    a_l = f_l(z_l)

``activation`` is one name (or :class:`~course_utils.activations.Activation`) for every layer,
or a list with one per layer; ``output_activation=`` replaces the last layer's (e.g. a ReLU net
with a sigmoid output). Biases are optional and absent by default, as in the classic
initialization experiments; :func:`init_biases` makes zero biases to pass as ``biases=``.

The backward pass is the chain rule, layer by layer from the top::

    delta_l = dL/dz_l = dL/da_l * f_l'(z_l)
    dL/dW_l = a_{l-1}^T @ delta_l,   dL/db_l = sum over the batch of delta_l
    dL/da_{l-1} = delta_l @ W_l^T

It agrees with ``torch.autograd`` to float tolerance (see ``tests/test_network.py``). It costs
the 3 matrix products per layer plus a few elementwise passes: the derivative is taken from the
stored output where that is cheaper (tanh ``1 - a^2``), and float32 stays float32.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_utils.activations import Activation, get_activation
from course_utils.initializers import INITIALIZERS

__all__ = [
    "Trace",
    "Gradients",
    "init_weights",
    "resolve_scheme",
    "init_biases",
    "forward",
    "backward",
    "resolve_activations",
]

ActivationSpec = str | Activation | Sequence[str | Activation]


# --------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------
@dataclass
class Trace:
    """Everything the forward pass computed, one entry per layer ``l = 1..L``.

    Attributes
    ----------
    inputs : ndarray, (batch, n_0)
        ``a_0 = x`` (cast to the weights' dtype).
    pre_activations : list of L ndarrays, (batch, n_l)
        ``z_l = a_{l-1} @ W_l (+ b_l)``.
    activations : list of L ndarrays, (batch, n_l)
        ``a_l = f_l(z_l)``. For a linear layer this is the same array object as ``z_l``.
    activation_fns : list of L Activation
        The activation of each layer, as resolved from the names.
    biases : list of L ndarrays or None
        The biases used, if any.
    """

    inputs: np.ndarray
    pre_activations: list[np.ndarray]
    activations: list[np.ndarray]
    activation_fns: list[Activation] = field(default_factory=list)
    biases: list[np.ndarray] | None = None

    @property
    def depth(self) -> int:
        """Number of layers ``L``."""
        return len(self.activations)

    @property
    def outputs(self) -> np.ndarray:
        """The network's output ``a_L``."""
        return self.activations[-1]

    @property
    def activation_names(self) -> list[str]:
        """The activation name of each layer."""
        return [f.name for f in self.activation_fns]


@dataclass
class Gradients:
    """Everything the backward pass computed, one entry per layer ``l = 1..L``.

    Attributes
    ----------
    weights : list of L ndarrays
        ``dL/dW_l``, same shapes as the weights (``None`` with ``weight_grads=False``).
    activations : list of L ndarrays
        ``dL/da_l``: the back-propagated signal arriving at layer ``l`` (the last one is
        ``grad_output``). ``None`` for the last layer when the gradient was given with respect to
        the pre-activation (``grad_wrt="pre_activations"``).
    pre_activations : list of L ndarrays
        ``dL/dz_l = dL/da_l * f'(z_l)`` (``delta_l``).
    inputs : ndarray
        ``dL/dx``, the signal that would flow into a layer below the network.
    biases : list of L ndarrays or None
        ``dL/db_l`` when the forward pass used biases.
    """

    weights: list[np.ndarray | None]
    activations: list[np.ndarray | None]
    pre_activations: list[np.ndarray]
    inputs: np.ndarray
    biases: list[np.ndarray] | None = None


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def _check_widths(widths: Sequence[int]) -> list[int]:
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence | np.ndarray):
        raise TypeError(
            f"widths must be a list of ints [n_0, ..., n_L], got {type(widths).__name__}"
        )
    out = []
    for n in widths:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"widths must contain ints, got {widths!r}")
        if n < 1:
            raise ValueError(f"widths must be >= 1, got {list(widths)!r}")
        out.append(int(n))
    if len(out) < 2:
        raise ValueError(
            f"widths must list at least the input and one layer, [n_0, n_1, ...]; got {out!r}"
        )
    return out


def _check_weights(weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence):
        raise TypeError(
            f"weights must be a list of 2-D arrays (one per layer), got {type(weights).__name__}"
        )
    if len(weights) == 0:
        raise ValueError("weights must contain at least one layer")
    for i, w in enumerate(weights):
        if not isinstance(w, np.ndarray):
            raise TypeError(f"weights[{i}] must be a numpy array, got {type(w).__name__}")
        if w.ndim != 2:
            raise ValueError(f"weights[{i}] must be 2-D (fan_in, fan_out), got shape {w.shape}")
        if not np.issubdtype(w.dtype, np.floating):
            raise TypeError(f"weights[{i}] must have a floating dtype, got {w.dtype}")
        if i and w.shape[0] != weights[i - 1].shape[1]:
            raise ValueError(
                f"weights[{i}] has fan_in {w.shape[0]} but weights[{i - 1}] has fan_out "
                f"{weights[i - 1].shape[1]}"
            )
    return list(weights)


def resolve_activations(
    activation: ActivationSpec, depth: int, output_activation: str | Activation | None = None
) -> list[Activation]:
    """One :class:`Activation` per layer from a name, an object, or a per-layer list.

    Examples
    --------
    >>> [a.name for a in resolve_activations("relu", 3, output_activation="sigmoid")]
    ['relu', 'relu', 'sigmoid']
    """
    if isinstance(activation, str | Activation):
        acts = [get_activation(activation)] * depth
    elif isinstance(activation, Sequence):
        if len(activation) != depth:
            raise ValueError(
                f"activation must be one name or a list of {depth} (one per layer), "
                f"got a list of {len(activation)}"
            )
        acts = [get_activation(a) for a in activation]
    else:
        raise TypeError(
            "activation must be a name such as 'tanh', an Activation, or a list of them, "
            f"got {type(activation).__name__}"
        )
    if output_activation is not None:
        acts[-1] = get_activation(output_activation)
    return acts


def _check_biases(biases: Sequence[np.ndarray] | None, weights: list[np.ndarray]):
    if biases is None:
        return None
    if isinstance(biases, np.ndarray) or not isinstance(biases, Sequence):
        raise TypeError(f"biases must be None or a list of 1-D arrays, got {type(biases).__name__}")
    if len(biases) != len(weights):
        raise ValueError(
            f"biases must have one array per layer ({len(weights)}), got {len(biases)}"
        )
    out = []
    for i, (b, w) in enumerate(zip(biases, weights, strict=True)):
        b = np.asarray(b)
        if b.shape != (w.shape[1],):
            raise ValueError(f"biases[{i}] must have shape ({w.shape[1]},), got {b.shape}")
        out.append(b)
    return out


# --------------------------------------------------------------------------------------------
# construction
# --------------------------------------------------------------------------------------------
def resolve_scheme(scheme: str | Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """The initializer ``(shape, rng, **kw)`` named by ``scheme`` (a callable passes through).

    Examples
    --------
    >>> resolve_scheme("he_normal").__name__
    'he_normal'
    """
    if isinstance(scheme, str):
        if scheme not in INITIALIZERS:
            raise ValueError(
                f"scheme must be one of {', '.join(map(repr, INITIALIZERS))} or a callable; "
                f"got {scheme!r}"
            )
        return INITIALIZERS[scheme]
    if callable(scheme):
        return scheme
    raise TypeError(f"scheme must be a name or a callable, got {type(scheme).__name__}")


def _as_generator(rng: np.random.Generator | int | None) -> np.random.Generator | None:
    """An int seed becomes a Generator; a Generator and ``None`` pass through."""
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}"
        )
    return rng


def init_weights(
    widths: Sequence[int],
    scheme: str | Callable[..., np.ndarray],
    rng: np.random.Generator | int,
    **scheme_kwargs: Any,
) -> list[np.ndarray]:
    """Draw the weights of an MLP with layer widths ``[n_0, n_1, ..., n_L]``.

    Layer ``l`` gets ``scheme((n_{l-1}, n_l), rng, **scheme_kwargs)``, in order, from one
    generator, as a float32 array (unless ``dtype=`` is passed to the scheme).

    Parameters
    ----------
    widths : list of int
        Input width first, then the width of each layer.
    scheme : str or callable
        A name from :data:`course_utils.initializers.INITIALIZERS` (``"he_normal"``,
        ``"random_normal"``, ...) or any callable with the initializer signature
        ``(shape, rng, **kw)``.
    rng : numpy.random.Generator or int
        The source of randomness (an int is used as a seed). ``None`` is passed on as is, which
        the deterministic schemes (``"zeros"``, ``"constant"``) accept.
    **scheme_kwargs
        Passed to the scheme, e.g. ``std=0.01`` for ``"random_normal"``, ``value=0.5`` for
        ``"constant"``, ``gain=...`` for ``"orthogonal"``, ``mode="fan_out"`` for He.

    Returns
    -------
    list of L ndarrays, shapes ``(n_{l-1}, n_l)``

    Examples
    --------
    >>> ws = init_weights([784, 500, 10], "random_normal", 0, std=0.01)
    >>> [w.shape for w in ws], ws[0].dtype
    ([(784, 500), (500, 10)], dtype('float32'))
    """
    widths = _check_widths(widths)
    init = resolve_scheme(scheme)
    rng = _as_generator(rng)
    weights = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        w = np.asarray(init((n_in, n_out), rng, **scheme_kwargs))
        if w.shape != (n_in, n_out):
            raise ValueError(f"scheme returned shape {w.shape}, expected {(n_in, n_out)}")
        if "dtype" not in scheme_kwargs:
            w = w.astype(np.float32, copy=False)
        weights.append(w)
    return weights


def init_biases(
    widths: Sequence[int], value: float = 0.0, dtype: Any = np.float32
) -> list[np.ndarray]:
    """Biases for :func:`forward`: one array of shape ``(n_l,)`` per layer, all ``value``.

    Examples
    --------
    >>> [b.shape for b in init_biases([2, 10, 5, 1])]
    [(10,), (5,), (1,)]
    """
    widths = _check_widths(widths)
    return [np.full(n, value, dtype=dtype) for n in widths[1:]]


# --------------------------------------------------------------------------------------------
# forward and backward
# --------------------------------------------------------------------------------------------
#: Products with at most this many multiply-adds skip BLAS (see :func:`_matmul`).
SMALL_MATMUL = 1 << 16


def _matmul(a: np.ndarray, b: np.ndarray, exact: bool | None = None) -> np.ndarray:
    """``a @ b``; small products summed in one fixed order so equal columns give equal results.

    BLAS kernels compute different output columns with different code paths (vector lanes, edge
    tiles), so two mathematically equal columns can differ in the last bit. For a symmetry
    experiment (lecture 01: units that start equal must stay *exactly* equal) that is fatal, so
    products of up to :data:`SMALL_MATMUL` multiply-adds - tiny networks, where BLAS buys
    nothing - are a broadcast multiply and a sum over the middle axis, which adds the terms of
    every output entry in the same order ``k = 0, 1, ...``. ``exact=True`` takes that path at
    any size, ``exact=False`` always calls BLAS; ``None`` chooses by size.
    """
    if exact is None:
        exact = _is_small(a, b)
    if exact:
        return np.multiply(a[:, :, None], b[None, :, :]).sum(axis=1)
    return a @ b


def _reuse(
    buffers: Sequence[np.ndarray | None] | None, i: int, shape: tuple, dtype
) -> np.ndarray | None:
    """``buffers[i]`` when it can hold a result of ``shape`` and ``dtype`` (else ``None``)."""
    if buffers is None or i >= len(buffers):
        return None
    buf = buffers[i]
    if (
        isinstance(buf, np.ndarray)
        and buf.shape == shape
        and buf.dtype == dtype
        and buf.flags.c_contiguous
        and buf.flags.writeable
    ):
        return buf
    return None


def _product(
    a: np.ndarray, b: np.ndarray, exact: bool | None, out: np.ndarray | None
) -> np.ndarray:
    """``a @ b`` into ``out`` when given (BLAS path only), else as :func:`_matmul`."""
    if out is not None and not (exact or (exact is None and _is_small(a, b))):
        return np.matmul(a, b, out=out)
    return _matmul(a, b, exact)


def _is_small(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape[0] * a.shape[1] * b.shape[1] <= SMALL_MATMUL


def forward(
    x: np.ndarray,
    weights: Sequence[np.ndarray],
    activation: ActivationSpec,
    *,
    biases: Sequence[np.ndarray] | None = None,
    output_activation: str | Activation | None = None,
    exact: bool | None = None,
    out: Trace | None = None,
) -> Trace:
    """Run the network on a batch and record every layer.

    .. math:: z_l = a_{l-1} W_l + b_l, \\qquad a_l = f_l(z_l), \\qquad a_0 = x

    Parameters
    ----------
    x : array, (batch, n_0)
        One example per row. Cast to the weights' dtype (float32 by default).
    weights : list of L arrays, (n_{l-1}, n_l)
    activation : str, Activation, or list of L of them
        ``"linear" | "tanh" | "relu" | "leaky_relu" | "sigmoid" | "selu" | "scaled_tanh"``.
    biases : list of L arrays (n_l,), optional
        Default: no biases.
    output_activation : str or Activation, optional
        Replaces the last layer's activation (e.g. ``"sigmoid"`` for a classifier).
    exact : bool, optional
        How the products are summed (see :func:`_matmul`): ``True`` in one fixed order, so equal
        columns stay bit-equal (slow beyond small networks); ``False`` with BLAS; default: the
        fixed order for products of at most :data:`SMALL_MATMUL` multiply-adds, BLAS above.
    out : Trace, optional
        A trace from an earlier call whose arrays are overwritten instead of allocating new ones
        (those with the right shape and dtype), for loops that run the same network many times:
        recording every layer of a 10 x 500 network on a batch of 1000 touches 40 MB of fresh
        memory per call otherwise. The returned trace then shares those arrays.

    Returns
    -------
    Trace
        ``.inputs``, ``.pre_activations`` (L arrays), ``.activations`` (L arrays).

    Raises
    ------
    ValueError
        ``x`` not 2-D or its width differs from ``weights[0].shape[0]``; mismatched layers.
    TypeError
        ``x`` or a weight is not a numeric array.

    Examples
    --------
    >>> w = [np.eye(2, dtype=np.float32)]
    >>> forward(np.array([[-1.0, 2.0]]), w, "relu").outputs.tolist()
    [[0.0, 2.0]]
    """
    weights = _check_weights(weights)
    acts = resolve_activations(activation, len(weights), output_activation)
    dtype = np.result_type(*weights)
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"x must be a numeric array, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (batch, n_0), got shape {x.shape}")
    if x.shape[1] != weights[0].shape[0]:
        raise ValueError(
            f"x has {x.shape[1]} features but weights[0] expects {weights[0].shape[0]} "
            "(shape (fan_in, fan_out))"
        )
    x = np.ascontiguousarray(x, dtype=dtype)
    bs = _check_biases(biases, weights)
    zs: list[np.ndarray] = []
    as_: list[np.ndarray] = []
    a = x
    if out is not None and not isinstance(out, Trace):
        raise TypeError(
            f"out must be a Trace from an earlier forward call, got {type(out).__name__}"
        )
    out_z = out.pre_activations if out is not None else None
    out_a = out.activations if out is not None else None
    for i, (w, f) in enumerate(zip(weights, acts, strict=True)):
        shape = (a.shape[0], w.shape[1])
        z = _product(a, w, exact, _reuse(out_z, i, shape, dtype))
        if bs is not None:
            np.add(z, bs[i], out=z)
        if f.name == "linear":
            a = z
        else:
            buf = _reuse(out_a, i, shape, dtype)
            a = f(z, out=buf if buf is not None and buf is not z else None)
        zs.append(z)
        as_.append(a)
    return Trace(inputs=x, pre_activations=zs, activations=as_, activation_fns=acts, biases=bs)


def backward(
    trace: Trace,
    weights: Sequence[np.ndarray],
    activation: ActivationSpec | None,
    grad_output: np.ndarray,
    *,
    output_activation: str | Activation | None = None,
    grad_wrt: str = "activations",
    exact: bool | None = None,
    weight_grads: bool = True,
    out: Gradients | None = None,
) -> Gradients:
    """Back-propagate ``grad_output = dL/da_L`` through a recorded forward pass.

    .. math::
        \\delta_l = \\frac{\\partial L}{\\partial a_l} \\odot f_l'(z_l), \\quad
        \\frac{\\partial L}{\\partial W_l} = a_{l-1}^\\top \\delta_l, \\quad
        \\frac{\\partial L}{\\partial a_{l-1}} = \\delta_l W_l^\\top

    Parameters
    ----------
    trace : Trace
        From :func:`forward` with the same weights.
    weights : list of L arrays
    activation : str, Activation, list, or None
        The same as in the forward pass (checked against the trace; ``None`` reuses the
        trace's).
    grad_output : array, (batch, n_L)
        ``dL/da_L``, e.g. ``2 (a_L - y) / batch`` for a mean squared error.
    output_activation : str or Activation, optional
        As in :func:`forward`.
    grad_wrt : {"activations", "pre_activations"}
        ``"pre_activations"`` says ``grad_output`` is already ``dL/dz_L`` (the stable way to
        combine a sigmoid output with cross-entropy: ``(sigmoid(z_L) - y) / batch``).
    exact : bool, optional
        As in :func:`forward`.
    weight_grads : bool
        ``False`` skips ``dL/dW_l`` (``.weights`` is then a list of ``None``): a third fewer
        matrix products when only the back-propagated signal is wanted (the init lab's explorer,
        the variance experiments of lectures 03-05).
    out : Gradients, optional
        Gradients from an earlier call whose arrays are overwritten instead of allocating new
        ones (as ``out`` in :func:`forward`).

    Returns
    -------
    Gradients
        ``.weights`` (``dL/dW_l``), ``.activations`` (``dL/da_l``), ``.pre_activations``,
        ``.inputs`` (``dL/dx``) and ``.biases`` (if the forward pass had biases).

    Examples
    --------
    >>> w = [np.array([[2.0]])]
    >>> t = forward(np.array([[3.0]]), w, "linear")
    >>> backward(t, w, "linear", np.array([[1.0]])).weights[0].tolist()   # d(x w)/dw = x
    [[3.0]]
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be the Trace returned by forward, got {type(trace).__name__}")
    weights = _check_weights(weights)
    depth = len(weights)
    if trace.depth != depth:
        raise ValueError(f"trace has {trace.depth} layers but weights has {depth}")
    for i, (w, z) in enumerate(zip(weights, trace.pre_activations, strict=True)):
        if z.shape[1] != w.shape[1]:
            raise ValueError(f"weights[{i}] does not match the trace (layer width {z.shape[1]})")
    if activation is None:
        acts = list(trace.activation_fns)
    else:
        acts = resolve_activations(activation, depth, output_activation)
        if trace.activation_fns and acts != list(trace.activation_fns):
            raise ValueError(
                f"activation {[a.name for a in acts]} differs from the forward pass's "
                f"{trace.activation_names}"
            )
    if grad_wrt not in ("activations", "pre_activations"):
        raise ValueError(f"grad_wrt must be 'activations' or 'pre_activations', got {grad_wrt!r}")
    out_shape = trace.activations[-1].shape
    g = np.asarray(grad_output)
    if g.shape != out_shape:
        raise ValueError(f"grad_output must have the output's shape {out_shape}, got {g.shape}")
    dtype = trace.activations[-1].dtype
    g = np.ascontiguousarray(g, dtype=dtype)

    grad_w: list[np.ndarray | None] = [None] * depth
    grad_a: list[np.ndarray | None] = [None] * depth
    grad_z: list[np.ndarray] = [None] * depth  # type: ignore[list-item]
    grad_b: list[np.ndarray] | None = [None] * depth if trace.biases is not None else None  # type: ignore[list-item]
    if out is not None and not isinstance(out, Gradients):
        raise TypeError(
            f"out must be Gradients from an earlier backward call, got {type(out).__name__}"
        )
    out_w = out.weights if out is not None else None
    out_a = out.activations if out is not None else None
    out_z = out.pre_activations if out is not None else None
    for i in range(depth - 1, -1, -1):
        a_prev = trace.activations[i - 1] if i else trace.inputs
        if i == depth - 1 and grad_wrt == "pre_activations":
            delta = g
        else:
            grad_a[i] = g
            buf = _reuse(out_z, i, g.shape, dtype)
            delta = acts[i].backprop(
                g,
                trace.pre_activations[i],
                trace.activations[i],
                out=buf if buf is not None and buf is not g else None,
            )
        grad_z[i] = delta
        if weight_grads:
            grad_w[i] = _product(a_prev.T, delta, exact, _reuse(out_w, i, weights[i].shape, dtype))
        if grad_b is not None:
            grad_b[i] = delta.sum(axis=0)
        shape = (delta.shape[0], weights[i].shape[0])
        if i:
            buf = _reuse(out_a, i - 1, shape, dtype)
        else:
            buf = out.inputs if out is not None else None
            buf = _reuse([buf], 0, shape, dtype)
        g = _product(delta, weights[i].T, exact, buf)
    return Gradients(
        weights=grad_w, activations=grad_a, pre_activations=grad_z, inputs=g, biases=grad_b
    )
