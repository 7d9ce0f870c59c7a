"""Predicted per-layer variances, forward and backward, and the statistics to compare them with.

The recursions
--------------
For ``z_l = a_{l-1} @ W_l`` with i.i.d. zero-mean weights of variance :math:`v_l`, independent of
the activations, every pre-activation has mean 0 and

.. math:: q_l = \\operatorname{Var}(z_l) = n_{l-1}\\, v_l\\, E[a_{l-1}^2],
          \\qquad E[a_l^2] = E_{z \\sim N(0, q_l)}[f(z)^2],

with :math:`E[a_0^2] = E[x^2]` (``input_var``). The *second moment* of the input enters, not its
variance: a ReLU's output has mean :math:`\\sqrt{q/2\\pi} \\ne 0` and :math:`E[a^2] = q/2`, so
He et al.'s ``Var(w) = 2/n`` is needed where LeCun/Glorot's ``1/n`` was derived for zero-mean
inputs. Backwards, with :math:`g_l = \\partial L / \\partial a_l` and
:math:`\\delta_l = g_l \\odot f'(z_l)`:

.. math:: E[g_{l-1}^2] = n_l\\, v_l\\, E[f'(z_l)^2]\\, E[g_l^2]

(assuming, as Glorot & Bengio and He et al. do, that the backward weights and signals are
independent of the forward ones). For linear layers both recursions are exact in expectation over
the weights; for ReLU too, because :math:`E[\\mathrm{relu}(z)^2] = E[z^2]/2` for every symmetric
``z``. For smooth activations the Gaussian form of ``z`` is the wide-layer (mean-field) limit.

Equal widths and Glorot on a ReLU net give :math:`q_l = q_{l-1}/2`: the std halves every two
layers, :math:`2^{-(L-1)/2}` after ``L`` layers (about 4e-5 at L = 30); He gives
:math:`q_l = q_{l-1}`.

References
----------
- X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward neural
  networks" (2010).
- K. He, X. Zhang, S. Ren, J. Sun, "Delving Deep into Rectifiers" (2015).
- B. Poole, S. Lahiri, M. Raghu, J. Sohl-Dickstein, S. Ganguli, "Exponential expressivity in deep
  neural networks through transient chaos" (2016).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_utils.activations import Activation
from course_utils.initializers import INITIALIZERS
from course_utils.network import (
    ActivationSpec,
    Gradients,
    Trace,
    _check_widths,
    forward,
    resolve_activations,
)

__all__ = [
    "VariancePrediction",
    "weight_variance",
    "predict",
    "forward_variance",
    "backward_variance",
    "predicted_std",
    "layer_stats",
    "trace_stats",
    "saturation_fraction",
    "dead_fraction",
    "update_ratio",
]


# --------------------------------------------------------------------------------------------
# Var(w) of every scheme
# --------------------------------------------------------------------------------------------
def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def weight_variance(
    scheme: str | Callable[..., np.ndarray],
    fan_in: int,
    fan_out: int,
    *,
    multiplier: float = 1.0,
    **scheme_kwargs: Any,
) -> float:
    """:math:`\\operatorname{Var}(w)` of one weight of a ``(fan_in, fan_out)`` layer drawn by ``scheme``.

    ==================  ===========================================================
    scheme              Var(w)
    ==================  ===========================================================
    zeros, constant     0 (every weight equal: no spread; the recursions do not apply)
    random_normal       ``std**2`` (default std 0.01)
    random_uniform      ``limit**2 / 3`` (default limit 0.05)
    lecun_*             ``1 / fan_in``
    glorot_*            ``2 / (fan_in + fan_out)``
    he_*                ``2 / fan_in`` (``mode="fan_out"``: ``2 / fan_out``)
    variance_scaling    ``scale / fan`` for its ``mode`` (fan never below 1)
    orthogonal          ``gain**2 / max(fan_in, fan_out)``
    ==================  ===========================================================

    Orthogonal: with ``fan_in >= fan_out`` the columns are orthonormal, so each column's
    ``fan_in`` squared entries sum to 1 and, by symmetry, each has mean square ``1 / fan_in``;
    when the matrix is wide the rows are orthonormal and it is ``1 / fan_out``.

    Parameters
    ----------
    scheme : str or callable
        A name from ``INITIALIZERS``. A callable is measured instead: one ``(fan_in, fan_out)``
        matrix drawn with ``numpy.random.default_rng(0)``, its mean square.
    fan_in, fan_out : int
    multiplier : float
        The weights are ``multiplier * scheme(...)``, so the variance is multiplied by
        ``multiplier**2``.
    **scheme_kwargs
        As for the initializer (``std=``, ``limit=``, ``gain=``, ``mode=``, ``scale=``, ...).

    Examples
    --------
    >>> weight_variance("he_normal", 256, 128)
    0.0078125
    >>> weight_variance("random_normal", 500, 500, std=0.01)
    0.0001
    """
    m2 = _real("multiplier", multiplier) ** 2
    for name, n in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"{name} must be an int >= 1, got {n!r}")
    kw = dict(scheme_kwargs)
    kw.pop("layout", None)
    kw.pop("dtype", None)
    if callable(scheme) and not isinstance(scheme, str):
        w = np.asarray(scheme((fan_in, fan_out), np.random.default_rng(0), **kw), dtype=np.float64)
        return m2 * float(np.mean(w**2))
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be a name or a callable, got {type(scheme).__name__}")

    def take(**defaults: Any) -> dict[str, Any]:
        unknown = set(kw) - set(defaults)
        if unknown:
            raise ValueError(f"scheme {scheme!r} does not take {', '.join(sorted(unknown))}")
        return {**defaults, **kw}

    if scheme in ("zeros",):
        take()
        return 0.0
    if scheme == "constant":
        take(value=1.0)
        return 0.0
    if scheme == "random_normal":
        return m2 * _real("std", take(std=0.01)["std"]) ** 2
    if scheme == "random_uniform":
        return m2 * _real("limit", take(limit=0.05)["limit"]) ** 2 / 3.0
    if scheme in ("lecun_normal", "lecun_uniform"):
        take()
        return m2 / fan_in
    if scheme in ("glorot_normal", "glorot_uniform"):
        take()
        return m2 * 2.0 / (fan_in + fan_out)
    if scheme in ("he_normal", "he_uniform"):
        mode = take(mode="fan_in")["mode"]
        if mode not in ("fan_in", "fan_out"):
            raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
        return m2 * 2.0 / (fan_in if mode == "fan_in" else fan_out)
    if scheme == "variance_scaling":
        p = take(scale=1.0, mode="fan_in", distribution="normal")
        fans = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        if p["mode"] not in fans:
            raise ValueError(f"mode must be one of {', '.join(fans)}, got {p['mode']!r}")
        return m2 * _real("scale", p["scale"]) / max(1.0, fans[p["mode"]])
    if scheme == "orthogonal":
        return m2 * _real("gain", take(gain=1.0)["gain"]) ** 2 / max(fan_in, fan_out)
    if scheme in INITIALIZERS:  # a scheme added to the registry later: measure it
        return weight_variance(INITIALIZERS[scheme], fan_in, fan_out, multiplier=multiplier, **kw)
    raise ValueError(
        f"scheme must be one of {', '.join(map(repr, INITIALIZERS))} or a callable; got {scheme!r}"
    )


# --------------------------------------------------------------------------------------------
# the recursions
# --------------------------------------------------------------------------------------------
@dataclass
class VariancePrediction:
    """Predicted per-layer moments, one entry per layer ``l = 1..L`` (arrays of length L).

    Attributes
    ----------
    widths : list of int
    weight_var : ndarray
        :math:`v_l = \\operatorname{Var}(w)` of each layer.
    pre_activation_var : ndarray
        :math:`q_l = \\operatorname{Var}(z_l) = E[z_l^2]` (pre-activations have mean 0).
    activation_second_moment : ndarray
        :math:`E[a_l^2]`.
    activation_mean : ndarray
        :math:`E[a_l]`.
    activation_var : ndarray
        :math:`\\operatorname{Var}(a_l) = E[a_l^2] - E[a_l]^2`.
    grad_var : ndarray
        :math:`E[(\\partial L/\\partial a_l)^2]`; the last entry is ``grad_output_var``.
    pre_activation_grad_var : ndarray
        :math:`E[(\\partial L/\\partial z_l)^2] = E[f'(z_l)^2]\\,E[(\\partial L/\\partial a_l)^2]`.
    weight_grad_var : ndarray
        Per example: :math:`E[(\\partial L/\\partial W_l)^2] = E[a_{l-1}^2]\\,
        E[(\\partial L/\\partial z_l)^2]`.
    input_grad_var : float
        :math:`E[(\\partial L/\\partial x)^2]`.
    """

    widths: list[int]
    weight_var: np.ndarray
    pre_activation_var: np.ndarray
    activation_second_moment: np.ndarray
    activation_mean: np.ndarray
    activation_var: np.ndarray
    grad_var: np.ndarray
    pre_activation_grad_var: np.ndarray
    weight_grad_var: np.ndarray
    input_grad_var: float

    @property
    def pre_activation_std(self) -> np.ndarray:
        """:math:`\\sqrt{q_l}`."""
        return np.sqrt(self.pre_activation_var)

    @property
    def activation_std(self) -> np.ndarray:
        """Std of :math:`a_l` (around its mean)."""
        return np.sqrt(np.maximum(self.activation_var, 0.0))

    @property
    def grad_std(self) -> np.ndarray:
        """Root mean square of :math:`\\partial L/\\partial a_l`."""
        return np.sqrt(self.grad_var)


def _weight_variances(
    widths: list[int], scheme: Any, multiplier: float, scheme_kwargs: dict[str, Any]
) -> np.ndarray:
    if isinstance(scheme, Sequence) and not isinstance(scheme, str):
        v = np.asarray(scheme, dtype=np.float64)
        if v.shape != (len(widths) - 1,) or np.any(v < 0):
            raise ValueError(
                f"scheme given as variances must be {len(widths) - 1} numbers >= 0, got {scheme!r}"
            )
        return v * multiplier**2
    return np.array(
        [
            weight_variance(scheme, n_in, n_out, multiplier=multiplier, **scheme_kwargs)
            for n_in, n_out in zip(widths[:-1], widths[1:], strict=True)
        ]
    )


def predict(
    widths: Sequence[int],
    scheme: str | Callable[..., np.ndarray] | Sequence[float],
    activation: ActivationSpec,
    *,
    input_var: float = 1.0,
    grad_output_var: float = 1.0,
    output_activation: str | Activation | None = None,
    multiplier: float = 1.0,
    **scheme_kwargs: Any,
) -> VariancePrediction:
    """Predicted moments of every layer, forward and backward.

    Parameters
    ----------
    widths : list of int
        ``[n_0, n_1, ..., n_L]``; any widths (a funnel is fine).
    scheme : str, callable, or list of L floats
        An initializer name (see :func:`weight_variance`), a callable, or the weight variances
        themselves.
    activation : str, Activation, or a list of L
    input_var : float
        :math:`E[x^2]` of each input feature (its variance when zero-mean).
    grad_output_var : float
        :math:`E[(\\partial L/\\partial a_L)^2]`, where the backward recursion starts.
    output_activation : optional
        Replaces the last layer's activation.
    multiplier : float
        Weights scaled by this factor (variance by its square).
    **scheme_kwargs
        For the scheme (``std=``, ``gain=``, ``mode=``, ...).

    Returns
    -------
    VariancePrediction

    Examples
    --------
    >>> p = predict([100] * 4, "he_normal", "relu")
    >>> p.pre_activation_var.tolist()
    [2.0, 2.0, 2.0]
    >>> p = predict([100] * 4, "glorot_normal", "relu")
    >>> p.pre_activation_var.tolist()
    [1.0, 0.5, 0.25]
    """
    widths = _check_widths(widths)
    depth = len(widths) - 1
    acts = resolve_activations(activation, depth, output_activation)
    iv = _real("input_var", input_var)
    gv = _real("grad_output_var", grad_output_var)
    if iv < 0 or gv < 0:
        raise ValueError("input_var and grad_output_var must be >= 0")
    v = _weight_variances(widths, scheme, _real("multiplier", multiplier), scheme_kwargs)

    q = np.empty(depth)
    m2 = np.empty(depth)
    mu = np.empty(depth)
    d2 = np.empty(depth)
    prev = iv
    for i, f in enumerate(acts):
        q[i] = widths[i] * v[i] * prev
        m2[i] = float(f.second_moment(q[i]))
        mu[i] = float(f.mean(q[i]))
        d2[i] = float(f.derivative_second_moment(q[i]))
        prev = m2[i]
    g = np.empty(depth)
    gz = np.empty(depth)
    g[-1] = gv
    for i in range(depth - 1, -1, -1):
        gz[i] = d2[i] * g[i]
        below = widths[i + 1] * v[i] * gz[i]
        if i:
            g[i - 1] = below
        else:
            input_grad = below
    a_prev = np.concatenate([[iv], m2[:-1]])
    return VariancePrediction(
        widths=widths,
        weight_var=v,
        pre_activation_var=q,
        activation_second_moment=m2,
        activation_mean=mu,
        activation_var=m2 - mu**2,
        grad_var=g,
        pre_activation_grad_var=gz,
        weight_grad_var=a_prev * gz,
        input_grad_var=float(input_grad),
    )


def forward_variance(
    widths: Sequence[int],
    scheme: str | Callable[..., np.ndarray] | Sequence[float],
    activation: ActivationSpec,
    *,
    input_var: float = 1.0,
    **kwargs: Any,
) -> np.ndarray:
    """Predicted :math:`\\operatorname{Var}(z_l)` of the pre-activations, ``l = 1..L``.

    Shorthand for ``predict(...).pre_activation_var``; see :func:`predict`.

    Examples
    --------
    >>> forward_variance([64, 64, 64], "lecun_normal", "linear").tolist()
    [1.0, 1.0]
    """
    return predict(widths, scheme, activation, input_var=input_var, **kwargs).pre_activation_var


def backward_variance(
    widths: Sequence[int],
    scheme: str | Callable[..., np.ndarray] | Sequence[float],
    activation: ActivationSpec,
    *,
    grad_output_var: float = 1.0,
    **kwargs: Any,
) -> np.ndarray:
    """Predicted :math:`E[(\\partial L/\\partial a_l)^2]` for ``l = 0..L`` (``l = 0`` is ``dL/dx``).

    Length ``L + 1``, ordered from the input up; the last entry is ``grad_output_var``.
    A funnel shows LeCun's backward drift, a factor ``n_l / n_{l-1}`` per layer:

    Examples
    --------
    >>> backward_variance([400, 200, 100], "lecun_normal", "linear").tolist()
    [0.25, 0.5, 1.0]
    """
    p = predict(widths, scheme, activation, grad_output_var=grad_output_var, **kwargs)
    return np.concatenate([[p.input_grad_var], p.grad_var])


def predicted_std(
    depth: int,
    scheme: str | Callable[..., np.ndarray],
    activation: str | Activation,
    *,
    width: int = 256,
    input_std: float = 1.0,
    **scheme_kwargs: Any,
) -> float:
    """Predicted std of the last pre-activation :math:`z_L` of a ``depth``-layer network.

    All layers have ``width`` units, the input has ``width`` features with
    :math:`E[x^2] =` ``input_std**2``, no biases. Returns :math:`\\sqrt{q_L}` from
    :func:`predict`. With unit-variance input this is also the ratio ``std(z_L) / std(x)``.

    For fan-based schemes the width cancels: Glorot on ReLU gives :math:`q_1 = 1`, then a factor
    1/2 per layer, :math:`2^{-(L-1)/2}` (:math:`2^{-14.5} \\approx 4.3 \\times 10^{-5}` at
    ``L = 30``), while He keeps :math:`\\sqrt 2` at every depth (the ReLU outputs have
    :math:`E[a^2] = q/2 = 1`).

    Examples
    --------
    >>> predicted_std(30, "glorot_normal", "relu") == 2 ** -14.5
    True
    >>> round(predicted_std(30, "he_normal", "relu"), 6)
    1.414214
    """
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 1:
        raise ValueError(f"depth must be an int >= 1, got {depth!r}")
    if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 1:
        raise ValueError(f"width must be an int >= 1, got {width!r}")
    s = _real("input_std", input_std)
    p = predict([int(width)] * (int(depth) + 1), scheme, activation, input_var=s * s, **scheme_kwargs)
    return float(math.sqrt(p.pre_activation_var[-1]))


# --------------------------------------------------------------------------------------------
# statistics of a simulated network
# --------------------------------------------------------------------------------------------
def layer_stats(
    weights: Sequence[np.ndarray], x: np.ndarray, activation: ActivationSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of each layer's activations :math:`a_1, ..., a_L` over batch and units.

    Runs :func:`course_utils.network.forward` and summarises every entry of each
    ``(batch, n_l)`` activation array (in float64).

    Returns
    -------
    (means, stds) : two float64 ndarrays of length L

    Examples
    --------
    >>> w = [np.full((2, 3), 0.5, np.float32)]
    >>> means, stds = layer_stats(w, np.array([[1.0, 1.0], [-1.0, -1.0]]), "relu")
    >>> means.tolist(), stds.tolist()
    ([0.5], [0.5])
    """
    trace = forward(x, weights, activation)
    means = np.array([float(np.mean(a, dtype=np.float64)) for a in trace.activations])
    stds = np.array([float(np.std(a, dtype=np.float64)) for a in trace.activations])
    return means, stds


def trace_stats(trace: Trace, grads: Gradients | None = None) -> dict[str, np.ndarray]:
    """Per-layer summaries of a :class:`Trace` (and :class:`Gradients`), to set beside theory.

    Every value is a float64 array of length L, over all entries of the layer:
    ``pre_activation_mean/std/second_moment``, ``activation_mean/std/second_moment``, and with
    ``grads``: ``grad_second_moment`` (of :math:`\\partial L/\\partial a_l`; compare with
    :attr:`VariancePrediction.grad_var`), ``grad_std``, ``weight_grad_norm`` (Frobenius; left out
    when the backward pass skipped the weight gradients).

    Examples
    --------
    >>> t = forward(np.ones((4, 2)), [np.ones((2, 2), np.float32)], "linear")
    >>> trace_stats(t)["activation_second_moment"].tolist()
    [4.0]
    """
    out: dict[str, np.ndarray] = {}
    for key, arrays in (("pre_activation", trace.pre_activations), ("activation", trace.activations)):
        out[f"{key}_mean"] = np.array([np.mean(a, dtype=np.float64) for a in arrays])
        out[f"{key}_std"] = np.array([np.std(a, dtype=np.float64) for a in arrays])
        out[f"{key}_second_moment"] = np.array(
            [np.mean(np.square(a, dtype=np.float64)) for a in arrays]
        )
    if grads is not None:
        gs = [g for g in grads.activations if g is not None]
        out["grad_second_moment"] = np.array([np.mean(np.square(g, dtype=np.float64)) for g in gs])
        out["grad_std"] = np.array([np.std(g, dtype=np.float64) for g in gs])
        if all(g is not None for g in grads.weights):  # absent with weight_grads=False
            out["weight_grad_norm"] = np.array(
                [np.linalg.norm(np.asarray(g, dtype=np.float64)) for g in grads.weights]
            )
    return out


def _per_layer(a: np.ndarray | Sequence[np.ndarray], fn: Callable[[np.ndarray], float]):
    if isinstance(a, Trace):
        a = a.activations
    if isinstance(a, np.ndarray):
        return fn(a)
    if isinstance(a, Sequence) and not isinstance(a, str):
        return np.array([fn(np.asarray(x)) for x in a])
    raise TypeError(
        f"a must be an array, a list of arrays (one per layer) or a Trace, got {type(a).__name__}"
    )


def saturation_fraction(
    a: np.ndarray | Sequence[np.ndarray] | Trace, threshold: float = 0.99
) -> float | np.ndarray:
    """Fraction of tanh outputs in saturation, :math:`|a| > \\text{threshold}` (default 0.99).

    There :math:`\\tanh' = 1 - a^2 < 0.02`, so almost no gradient passes (lecture 02).

    Parameters
    ----------
    a : array, list of arrays, or Trace
        One activation array, or one per layer (``trace.activations``).
    threshold : float in (0, 1]
        For scaled tanh use a fraction of 1.7159.

    Returns
    -------
    float for one array; float64 ndarray of length L for a list or a Trace.

    Examples
    --------
    >>> saturation_fraction(np.array([0.0, 0.5, 0.995, -1.0]))
    0.5
    """
    t = _real("threshold", threshold)
    if t <= 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    return _per_layer(a, lambda x: float(np.mean(np.abs(x) > t)))


def dead_fraction(
    a: np.ndarray | Sequence[np.ndarray] | Trace, per: str = "entry"
) -> float | np.ndarray:
    """Fraction of ReLU outputs that are exactly 0.

    Parameters
    ----------
    a : array (batch, units), list of them, or Trace
    per : {"entry", "unit"}
        ``"entry"``: fraction of all entries equal to 0 (about 1/2 for a healthy ReLU layer).
        ``"unit"``: fraction of units (columns) that are 0 for *every* example of the batch -
        dead units, which get no gradient at all.

    Returns
    -------
    float for one array; float64 ndarray of length L for a list or a Trace.

    Examples
    --------
    >>> a = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    >>> dead_fraction(a), round(dead_fraction(a, per="unit"), 4)
    (0.6666666666666666, 0.3333)
    """
    if per == "entry":
        return _per_layer(a, lambda x: float(np.mean(x == 0)))
    if per == "unit":

        def unit(x: np.ndarray) -> float:
            if x.ndim != 2:
                raise ValueError(f"a must be 2-D (batch, units) for per='unit', got {x.shape}")
            return float(np.mean(np.all(x == 0, axis=0)))

        return _per_layer(a, unit)
    raise ValueError(f"per must be 'entry' or 'unit', got {per!r}")


def update_ratio(
    weights: Sequence[np.ndarray], grads: Gradients | Sequence[np.ndarray], lr: float
) -> np.ndarray:
    """Update-to-data ratio of each layer, :math:`\\text{lr}\\,\\lVert \\nabla W_l \\rVert /
    \\lVert W_l \\rVert` (Frobenius norms).

    A rule of thumb (Karpathy's CS231n notes) puts healthy values near 1e-3; far below, the
    layer barely learns; far above, it is unstable. ``inf`` for an all-zero layer with a non-zero
    gradient, ``nan`` if both are zero.

    Examples
    --------
    >>> update_ratio([np.ones((2, 2))], [np.ones((2, 2))], lr=0.01).tolist()
    [0.01]
    """
    gs = grads.weights if isinstance(grads, Gradients) else grads
    if len(gs) != len(weights):
        raise ValueError(f"grads has {len(gs)} layers but weights has {len(weights)}")
    lr_f = _real("lr", lr)
    out = []
    for w, g in zip(weights, gs, strict=True):
        wn = float(np.linalg.norm(np.asarray(w, dtype=np.float64)))
        gn = lr_f * float(np.linalg.norm(np.asarray(g, dtype=np.float64)))
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.float64(gn) / np.float64(wn))
    return np.array(out)


# ============================================================================================
# Special functions, spectra of deep products, mean-field fixed points (lecture 06 and its
# appendix). Moved here from course_utils.plots, which keeps only the figures.
# ============================================================================================
__all__ += [
    "bias_floor",
    "chi2_log_step",
    "conv_singular_values",
    "digamma",
    "gaussian_norm_ratios",
    "gaussian_product_spectra",
    "linear_recurrence_norms",
    "mean_field_chi",
    "mean_field_fixed_point",
    "newman_lyapunov_exponents",
    "norm_ratios",
    "product_singular_values",
    "qr_sign_fix_samples",
    "trigamma",
]


def _as_generator(rng: Any, name: str = "rng") -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy.random.Generator or an int, got {type(rng).__name__}")


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _as_1d(v: Any, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    return a


def qr_sign_fix_samples(
    rng: np.random.Generator | int, n_draws: int = 4000, n: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """``Q[0, 0]`` of ``n x n`` orthogonal matrices from ``np.linalg.qr``, without and with the fix.

    For each draw a Gaussian ``A`` is factored ``A = QR``; the fixed matrix multiplies column
    ``j`` of ``Q`` by ``sign(R_jj)`` (Mezzadri 2007), which makes ``Q`` Haar-distributed. Under
    Haar, ``Q[0, 0]`` of a 3 x 3 matrix is uniform on ``[-1, 1]`` (Archimedes).

    Returns
    -------
    raw, fixed : numpy.ndarray, shape (n_draws,)

    Examples
    --------
    >>> raw, fixed = qr_sign_fix_samples(0, 200)
    >>> bool((raw < 0).all()), bool(0.3 < (fixed > 0).mean() < 0.7)
    (True, True)
    """
    gen = _as_generator(rng)
    n_draws = _positive_int("n_draws", n_draws)
    n = _positive_int("n", n, 2)
    q, r = np.linalg.qr(gen.standard_normal((n_draws, n, n)))
    signs = np.sign(np.diagonal(r, axis1=1, axis2=2))
    return q[:, 0, 0].copy(), q[:, 0, 0] * signs[:, 0]


def digamma(x: Any) -> np.ndarray:
    """The digamma function ``psi(x) = d/dx log Gamma(x)`` for ``x > 0`` (float64).

    Recurrence ``psi(x) = psi(x + 1) - 1/x`` up to ``x >= 10``, then the asymptotic series
    ``log x - 1/(2x) - 1/(12x^2) + 1/(120x^4) - 1/(252x^6) + 1/(240x^8)`` (next term below
    1e-12 there).

    Examples
    --------
    >>> round(float(digamma(1.0)), 10)  # -Euler's constant
    -0.5772156649
    """
    x = np.array(x, dtype=np.float64)
    if not np.all(x > 0):
        raise ValueError("digamma: x must be > 0")
    acc = np.zeros_like(x)
    while np.any(x < 10):
        small = x < 10
        acc = acc - np.where(small, 1.0 / x, 0.0)
        x = np.where(small, x + 1.0, x)
    inv2 = 1.0 / x**2
    series = (
        np.log(x) - 0.5 / x - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 / 240)))
    )
    return acc + series


def trigamma(x: Any) -> np.ndarray:
    """The trigamma function ``psi'(x)`` for ``x > 0`` (float64), by recurrence and series.

    ``psi'(x) = psi'(x + 1) + 1/x^2``; for ``x >= 10``
    ``1/x + 1/(2x^2) + 1/(6x^3) - 1/(30x^5) + 1/(42x^7) - 1/(30x^9)`` (next term below 1e-12).

    Examples
    --------
    >>> round(float(trigamma(1.0)), 10)  # pi^2 / 6
    1.6449340668
    """
    x = np.array(x, dtype=np.float64)
    if not np.all(x > 0):
        raise ValueError("trigamma: x must be > 0")
    acc = np.zeros_like(x)
    while np.any(x < 10):
        small = x < 10
        acc = acc + np.where(small, 1.0 / x**2, 0.0)
        x = np.where(small, x + 1.0, x)
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv + 0.5 * inv2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 / 30)))
    return acc + series


def newman_lyapunov_exponents(n: int) -> np.ndarray:
    """Lyapunov exponents of products of ``n x n`` Gaussian matrices with entries ``N(0, 1/n)``.

    .. math:: \\mu_k = \\tfrac12\\Big[\\log\\tfrac2n + \\psi\\big(\\tfrac{n-k+1}{2}\\big)\\Big],
              \\qquad k = 1, \\ldots, n

    (C. M. Newman, "The distribution of Lyapunov exponents: exact results for random matrices",
    Comm. Math. Phys. 1986): ``log s_k(W_1 ... W_L) / L -> mu_k`` as ``L -> infinity``. All are
    negative; the largest is ``mu_1 ~ -1/(2n)``.

    Returns
    -------
    numpy.ndarray, shape (n,)
        ``mu_1 > mu_2 > ... > mu_n``.

    Examples
    --------
    >>> mu = newman_lyapunov_exponents(256)
    >>> bool((mu < 0).all()), round(float(mu[0] * 2 * 256), 2)
    (True, -1.0)
    """
    n = _positive_int("n", n)
    k = np.arange(1, n + 1)
    return 0.5 * (math.log(2.0 / n) + digamma((n - k + 1) / 2.0))


def product_singular_values(weights: Sequence[Any]) -> np.ndarray:
    """Singular values (largest first) of ``weights[0] @ weights[1] @ ... `` in float64.

    Examples
    --------
    >>> product_singular_values([np.eye(3) * 2, np.eye(3) * 0.5]).tolist()
    [1.0, 1.0, 1.0]
    """
    if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence) or not weights:
        raise TypeError("weights must be a non-empty list of 2-D arrays")
    p = np.asarray(weights[0], dtype=np.float64)
    for w in weights[1:]:
        p = p @ np.asarray(w, dtype=np.float64)
    return np.linalg.svd(p, compute_uv=False)


def gaussian_product_spectra(
    n: int, depth: int, rng: np.random.Generator | int, trials: int = 1
) -> np.ndarray:
    """Singular values of ``trials`` independent products of ``depth`` Gaussian ``N(0, 1/n)``
    ``n x n`` matrices (each row of the result is one product, largest value first).

    Since ``E[W W^T] = I`` per layer, ``E[mean_k s_k^2] = 1`` for every product.

    Examples
    --------
    >>> s = gaussian_product_spectra(64, 5, 0, trials=2)
    >>> s.shape
    (2, 64)
    """
    n, depth = _positive_int("n", n), _positive_int("depth", depth)
    trials = _positive_int("trials", trials)
    gen = _as_generator(rng)
    return np.array([
        product_singular_values([gen.standard_normal((n, n)) / math.sqrt(n) for _ in range(depth)])
        for _ in range(trials)
    ])  # fmt: skip


def chi2_log_step(n: int) -> tuple[float, float]:
    """Mean and variance of ``log(||xW||^2 / ||x||^2)`` for one Gaussian ``N(0, 1/n)`` layer.

    ``||xW||^2 / ||x||^2 ~ chi^2_n / n``, and ``log chi^2_n`` has mean ``psi(n/2) + log 2`` and
    variance ``psi'(n/2)``, so the step has mean ``psi(n/2) + log(2/n) ~ -1/n`` and variance
    ``psi'(n/2) ~ 2/n``.

    Examples
    --------
    >>> m, v = chi2_log_step(256)
    >>> round(m * 256, 2), round(v * 256 / 2, 2)
    (-1.0, 1.0)
    """
    n = _positive_int("n", n)
    return float(digamma(n / 2.0) + math.log(2.0 / n)), float(trigamma(n / 2.0))


def norm_ratios(x: Any, weights: Sequence[Any]) -> np.ndarray:
    """``||x W_1 ... W_l||^2 / ||x||^2`` after every layer ``l``, for each row of ``x``.

    Returns
    -------
    numpy.ndarray, shape (len(weights), batch)

    Examples
    --------
    >>> norm_ratios(np.ones((2, 3)), [2 * np.eye(3), np.eye(3)]).tolist()
    [[4.0, 4.0], [4.0, 4.0]]
    """
    h = np.atleast_2d(np.asarray(x, dtype=np.float64))
    if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence) or not weights:
        raise TypeError("weights must be a non-empty list of 2-D arrays")
    norm0 = np.sum(h**2, axis=1)
    out = np.empty((len(weights), h.shape[0]))
    for layer, w in enumerate(weights):
        h = h @ np.asarray(w, dtype=np.float64)
        out[layer] = np.sum(h**2, axis=1) / norm0
    return out


def gaussian_norm_ratios(x: Any, depth: int, rng: np.random.Generator | int) -> np.ndarray:
    """:func:`norm_ratios` with a fresh Gaussian ``N(0, 1/n)`` network for every row of ``x``.

    Each input gets its own ``depth`` square layers, so the columns of the result are
    independent samples of the random walk of the log norm (see :func:`chi2_log_step`).

    Examples
    --------
    >>> gaussian_norm_ratios(np.ones((3, 16)), 4, 0).shape
    (4, 3)
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    depth = _positive_int("depth", depth)
    gen = _as_generator(rng)
    n = x.shape[1]
    cols = [
        norm_ratios(row[None, :], [gen.standard_normal((n, n)) / math.sqrt(n)
                                   for _ in range(depth)])[:, 0]
        for row in x
    ]  # fmt: skip
    return np.stack(cols, axis=1)


def linear_recurrence_norms(w: Any, h0: Any, steps: int) -> np.ndarray:
    """``||h_0 W^t|| / ||h_0||`` for ``t = 1 .. steps`` (a linear recurrent net without input).

    Examples
    --------
    >>> linear_recurrence_norms(0.5 * np.eye(2), np.ones(2), 3).tolist()
    [0.5, 0.25, 0.125]
    """
    w = np.asarray(w, dtype=np.float64)
    h = np.asarray(h0, dtype=np.float64).ravel()
    steps = _positive_int("steps", steps)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] != h.size:
        raise ValueError(f"w must be square with h0's size {h.size}, got shape {w.shape}")
    norm0 = np.linalg.norm(h)
    out = np.empty(steps)
    for t in range(steps):
        h = h @ w
        out[t] = np.linalg.norm(h) / norm0
    return out


def mean_field_fixed_point(
    activation: str | Activation, weight_scale: float, bias_var: float = 0.0
) -> float:
    """Fixed point ``q*`` of the wide-layer variance map ``q -> s E[f(z)^2] + v_b``, ``z ~ N(0, q)``.

    ``s = fan_in Var(w)`` (the gain squared) and ``v_b = Var(b)``. A deep net whose layers all
    have these parameters has pre-activation variances ``q_l`` that converge to ``q*`` (Poole
    et al. 2016). For ``tanh`` without bias, ``E[tanh(z)^2] = q - 2q^2 + O(q^3)``, so ``q* = 0``
    when ``s <= 1`` (the variance decays to 0, slowly) and ``q* > 0`` when ``s > 1``.

    Found by bisection on ``g(q) = s E[f(z)^2] + v_b - q``: ``q* = 0`` when ``g`` is not positive
    just above 0 (and ``v_b = 0``); otherwise the root where ``g`` turns negative.

    Raises
    ------
    ValueError
        When the map has no finite fixed point (``g`` stays positive, e.g. ReLU with ``s > 2``).

    Examples
    --------
    >>> round(mean_field_fixed_point("tanh", 25 / 9), 4)  # PyTorch's tanh gain 5/3
    1.1785
    >>> mean_field_fixed_point("tanh", 1.0)
    0.0
    """
    from course_utils.activations import get_activation

    f = get_activation(activation) if not isinstance(activation, Activation) else activation
    s = _real("weight_scale", weight_scale)
    vb = _real("bias_var", bias_var)
    if s < 0 or vb < 0:
        raise ValueError(f"weight_scale and bias_var must be >= 0, got {s}, {vb}")

    def g(q: float) -> float:
        return s * float(f.second_moment(q)) + vb - q

    lo = 1e-9
    if vb == 0 and g(lo) <= 0:
        return 0.0
    hi = max(1.0, 2 * vb)
    for _ in range(60):
        if g(hi) < 0:
            break
        lo, hi = hi, 2 * hi
    else:
        raise ValueError(
            f"the variance map of {f.name} with weight_scale {s} has no finite fixed point"
        )
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if g(mid) > 0 else (lo, mid)
        if hi - lo < 1e-13 * hi:
            break
    return 0.5 * (lo + hi)


def mean_field_chi(activation: str | Activation, weight_scale: float, q: float) -> float:
    """``chi = s E[f'(z)^2]``, ``z ~ N(0, q)``: the factor by which one layer multiplies the mean
    squared gradient (and the squared distance between two nearby inputs) at variance ``q``.

    ``chi < 1``: ordered, gradients vanish with depth; ``chi > 1``: chaotic, they grow as
    ``chi^L`` in mean square (Poole et al. 2016; Schoenholz et al. 2017). Evaluated at the fixed
    point :func:`mean_field_fixed_point`, ``chi = 1`` is the edge of chaos.

    Examples
    --------
    >>> s = 25 / 9
    >>> round(mean_field_chi("tanh", s, mean_field_fixed_point("tanh", s)), 3)
    1.21
    """
    from course_utils.activations import get_activation

    f = get_activation(activation) if not isinstance(activation, Activation) else activation
    s = _real("weight_scale", weight_scale)
    q = _real("q", q)
    if s < 0 or q < 0:
        raise ValueError(f"weight_scale and q must be >= 0, got {s}, {q}")
    return s * float(f.derivative_second_moment(q))


def bias_floor(fan_in: int, *, weight_scale: float = 1 / 3, bias_scale: float = 1 / 3) -> float:
    """Pre-activation variance at which weights and biases balance when the signal is small.

    A layer ``z = a W + b`` with ``fan_in Var(w) = s`` and ``Var(b) = c / fan_in`` gives
    ``q_l = s E[a_{l-1}^2] + c / fan_in``. Once ``q`` is small, tanh is nearly the identity
    (``E[tanh(z)^2] = q - 2q^2 + ...``), so ``q_l ~ s q_{l-1} + c / fan_in``: for ``s < 1`` the
    variance stops shrinking at the fixed point

    .. math:: q^* = \\frac{c / n}{1 - s}.

    PyTorch's default ``nn.Linear`` draws both the weight and the bias from
    ``U(+-1/sqrt(fan_in))``: ``s = 1/3`` and ``c = 1/3``, so ``q* = 1 / (2 fan_in)``.

    Examples
    --------
    >>> round(bias_floor(64) * 128, 12)  # 1 / (2 * 64)
    1.0
    """
    n = _positive_int("fan_in", fan_in)
    s = _real("weight_scale", weight_scale)
    c = _real("bias_scale", bias_scale)
    if not 0 <= s < 1 or c < 0:
        raise ValueError(f"need 0 <= weight_scale < 1 and bias_scale >= 0, got {s}, {c}")
    return c / n / (1.0 - s)


def conv_singular_values(kernels: Any, size: int) -> np.ndarray:
    """Singular values of a stack of 2-D convolutions with circular padding on a ``size x size``
    grid, as one linear map (largest first).

    A circular convolution is diagonalized by the 2-D Fourier transform: at frequency
    ``(u, v)`` it multiplies the channel vector by the ``c_in x c_out`` matrix
    ``K(u, v) = sum_ij K[i, j] exp(-2 pi i (i u + j v) / size)``, so the singular values of the
    whole map are those of ``K(u, v)`` over all ``size^2`` frequencies, and a stack of layers
    multiplies these matrices frequency by frequency (Sedghi, Gupta & Long 2019).

    Parameters
    ----------
    kernels : array ``(kh, kw, c_in, c_out)`` or a list of them
        In the course's ``in_out`` layout; consecutive channel counts must match.
    size : int
        Side of the (periodic) input grid, at least the kernel size.

    Examples
    --------
    >>> k = np.zeros((3, 3, 2, 2)); k[1, 1] = np.eye(2)  # the identity map
    >>> conv_singular_values(k, 4).round(6).tolist() == [1.0] * 32
    True
    """
    ks = [kernels] if isinstance(kernels, np.ndarray) else list(kernels)
    if not ks:
        raise ValueError("kernels must hold at least one (kh, kw, c_in, c_out) array")
    size = _positive_int("size", size)
    total = None
    for i, k in enumerate(ks):
        k = np.asarray(k, dtype=np.float64)
        if k.ndim != 4:
            raise ValueError(f"kernels[{i}] must have shape (kh, kw, c_in, c_out), got {k.shape}")
        if k.shape[0] > size or k.shape[1] > size:
            raise ValueError(f"size {size} is smaller than kernel {k.shape[:2]}")
        padded = np.zeros((size, size) + k.shape[2:])
        padded[: k.shape[0], : k.shape[1]] = k
        kf = np.fft.fft2(padded, axes=(0, 1))  # (size, size, c_in, c_out)
        if total is not None and total.shape[-1] != kf.shape[-2]:
            raise ValueError(f"kernels[{i}] has c_in {kf.shape[-2]}, expected {total.shape[-1]}")
        total = kf if total is None else total @ kf
    s = np.linalg.svd(total, compute_uv=False).ravel()
    return np.sort(s)[::-1]


# ============================================================================================
# Lecture 00's one-dimensional landscape and gradient descent on it (moved from plots, which
# draws them and re-exports these names).
# ============================================================================================
__all__ += [
    "LANDSCAPE_MINIMA",
    "LANDSCAPE_STARTS",
    "basins_of_attraction",
    "gradient_descent_1d",
    "landscape_grad",
    "landscape_loss",
]


LANDSCAPE_STARTS: dict[str, float] = {"A": -5.5, "B": 1.0, "C": 4.5}
"""Starting points of lecture 00's picture: each rolls into a different minimum, after a
different number of steps (33, 46 and 39 at the default ``lr=0.1``, ``tol=1e-4``)."""


def landscape_loss(w: Any) -> Any:
    """A one-dimensional non-convex loss with three minima.

    .. math:: L(w) = 0.06\\,w^2 + \\sin(1.6\\,w) + 0.15\\,w

    The quadratic bowl keeps it bounded below; the sine adds a ridge between neighbouring
    valleys. On ``[-6, 6]`` it has minima near ``w = -4.74`` (L = -0.33), ``w = -0.99``
    (L = -1.09, the global one) and ``w = 2.75`` (L = -0.09): see :data:`LANDSCAPE_MINIMA`.

    Examples
    --------
    >>> round(float(landscape_loss(0.0)), 6)
    0.0
    """
    w = np.asarray(w, dtype=np.float64)
    out = 0.06 * w**2 + np.sin(1.6 * w) + 0.15 * w
    return float(out) if out.ndim == 0 else out


def landscape_grad(w: Any) -> Any:
    """Derivative of :func:`landscape_loss`: ``0.12 w + 1.6 cos(1.6 w) + 0.15``."""
    w = np.asarray(w, dtype=np.float64)
    out = 0.12 * w + 1.6 * np.cos(1.6 * w) + 0.15
    return float(out) if out.ndim == 0 else out


def _landscape_minima() -> tuple[float, ...]:
    """Stationary points with positive curvature on [-6, 6], found by bisection on the grad."""
    w = np.linspace(-6.0, 6.0, 2401)
    g = landscape_grad(w)
    minima = []
    for i in np.nonzero((g[:-1] < 0) & (g[1:] >= 0))[0]:
        a, b = w[i], w[i + 1]
        for _ in range(60):
            m = 0.5 * (a + b)
            a, b = (m, b) if landscape_grad(m) < 0 else (a, m)
        minima.append(float(0.5 * (a + b)))
    return tuple(minima)


LANDSCAPE_MINIMA: tuple[float, ...] = _landscape_minima()
"""The local minima of :func:`landscape_loss` on [-6, 6] (to bisection precision)."""


def gradient_descent_1d(
    grad: Callable[[float], float],
    w0: float,
    *,
    lr: float = 0.1,
    tol: float = 1e-4,
    max_steps: int = 10_000,
) -> tuple[np.ndarray, int]:
    """Plain gradient descent ``w <- w - lr * grad(w)`` on a scalar parameter.

    Stops as soon as ``|grad(w)| < tol`` (converged to a stationary point) or after
    ``max_steps`` updates.

    Parameters
    ----------
    grad : callable
        Derivative of the loss, e.g. :func:`landscape_grad`.
    w0 : float
        Starting point.
    lr : float
        Learning rate (step size), positive.
    tol : float
        Gradient magnitude below which the descent has converged, positive.
    max_steps : int
        Upper bound on the number of updates.

    Returns
    -------
    path : numpy.ndarray, shape (n_steps + 1,)
        ``w_0, w_1, ..., w_n``; ``path[-1]`` is the end point.
    n_steps : int
        Number of updates made. Equal to ``max_steps`` when the descent did not converge
        (check ``abs(grad(path[-1])) < tol``).

    Examples
    --------
    >>> path, n = gradient_descent_1d(lambda w: 2 * w, 1.0, lr=0.25, tol=1e-3)
    >>> n, float(path[1])
    (11, 0.5)
    """
    lr = float(lr)
    tol = float(tol)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 0:
        raise ValueError(f"max_steps must be a non-negative int, got {max_steps!r}")
    w = float(w0)
    path = [w]
    for step in range(int(max_steps)):
        g = float(grad(w))
        if not math.isfinite(g):
            raise FloatingPointError(f"gradient is not finite at w = {w} (step {step}); lower lr")
        if abs(g) < tol:
            return np.asarray(path), step
        w -= lr * g
        path.append(w)
    return np.asarray(path), int(max_steps)


def basins_of_attraction(
    starts: Any, *, lr: float = 0.1, tol: float = 1e-4, merge: float = 1e-2
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run :func:`gradient_descent_1d` on the lecture-00 landscape from every start.

    Each start ``w0`` is followed until ``|L'(w)| < tol``. The end points are grouped into the
    minima actually reached (ends closer than ``merge`` are the same minimum; a stop at
    ``|L'| < tol`` lies within about ``tol / L''(w*)`` of it), and each start gets the index of
    its minimum: its *basin of attraction*. Minima outside the range of the starts (for starts
    near an edge) are found too, unlike :data:`LANDSCAPE_MINIMA`, which lists those in [-6, 6].

    Parameters
    ----------
    starts : 1-D array of float
        Starting points.
    lr, tol : float
        Step size and stopping tolerance of gradient descent.
    merge : float
        End points closer than this belong to the same minimum.

    Returns
    -------
    ends, steps, basin, minima : numpy.ndarray
        End point, number of steps and basin index per start; the minima reached (ascending,
        the median end point of each group), indexed by ``basin``.

    Examples
    --------
    >>> ends, steps, basin, minima = basins_of_attraction([-5.5, 1.0, 4.5])
    >>> basin.tolist(), np.round(minima, 2).tolist()
    ([0, 1, 2], [-4.74, -0.99, 2.75])
    """
    starts = _as_1d(starts, "starts")
    ends = np.empty(starts.size)
    steps = np.empty(starts.size, dtype=np.int64)
    for i, w0 in enumerate(starts):
        path, n = gradient_descent_1d(landscape_grad, float(w0), lr=lr, tol=tol)
        ends[i], steps[i] = path[-1], n
    order = np.sort(ends)
    groups = np.split(order, np.flatnonzero(np.diff(order) > merge) + 1)
    minima = np.array([float(np.median(g)) for g in groups])
    basin = np.argmin(np.abs(ends[:, None] - minima[None, :]), axis=1)
    return ends, steps, basin, minima
