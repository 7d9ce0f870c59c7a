"""Experiments of lectures 03-05 (LeCun, Glorot, He): small, tested drivers behind the figures.

Each function runs one experiment of the lectures and returns plain numbers, so a notebook calls
it in one line and a test can check it against the theory.

Contents
--------
* :func:`sum_variance_mc` / :func:`sum_variance_theory` - Monte-Carlo of
  ``Var(sum_i w_i x_i) = n Var(w) Var(x)`` and what happens when its assumptions are broken
* :func:`uniform_limit` - the bound ``a`` of ``U(-a, a)`` that has a given variance
* :func:`scaled_tanh` - LeCun's ``1.7159 tanh(2x/3)`` and its derivative (from
  :mod:`course_utils.activations`)
* :func:`mean_field_variances` - the layer-to-layer variance map ``q_l = c E[f(sqrt(q_(l-1)) z)^2]``
  (:func:`course_utils.theory.predict` for a given ``n Var(w)``)
* :func:`propagate` - forward std and backward gradient variance, layer by layer, of the course's
  numpy MLP (:func:`course_utils.network.forward` / :func:`~course_utils.network.backward`)
* :func:`funnel_gradient_theory` - predicted backward variance through layers of changing width
* :func:`torch_linear_weight_variance`, :func:`torch_default_depth_stds` - PyTorch's default
  ``nn.Linear`` initialization measured, and followed through a deep ReLU stack
* :func:`he_reproduction` - He et al.'s 30-layer experiment (Xavier stalls, He trains)
* :func:`he_reproduction_over_seeds` - the same for several settings and seeds, trained as one
  batch (a single run is chaotic; only statistics over seeds hold on every machine)
* :func:`sum_variance_se` - standard error of the Monte-Carlo variance (kurtosis included)
* :func:`pre_std_over_seeds`, :func:`log_variance_sd` - seed-to-seed spread of a deep net's
  std and its finite-width (log-normal) prediction
* :func:`torch_linear_init_stats` - variance and bound of one seeded ``nn.Linear``
* :func:`init_diagnostics` - logit std and first-layer gradient norm at initialization

References
----------
- Y. LeCun, L. Bottou, G. Orr, K.-R. Mueller, "Efficient BackProp" (1998).
- X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward neural
  networks" (AISTATS 2010).
- K. He, X. Zhang, S. Ren, J. Sun, "Delving Deep into Rectifiers: Surpassing Human-Level
  Performance on ImageNet Classification" (ICCV 2015).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from course_utils import network, theory
from course_utils.activations import SCALED_TANH_A as LECUN_TANH_A
from course_utils.activations import SCALED_TANH_B as LECUN_TANH_B
from course_utils.activations import Activation, get_activation, scaled_tanh, scaled_tanh_derivative

__all__ = [
    "SUM_CASES",
    "LECUN_TANH_A",
    "LECUN_TANH_B",
    "Propagation",
    "sum_variance_mc",
    "sum_variance_theory",
    "uniform_limit",
    "scaled_tanh",
    "scaled_tanh_derivative",
    "mean_field_variances",
    "propagate",
    "funnel_gradient_theory",
    "torch_linear_weight_variance",
    "torch_default_depth_stds",
    "he_reproduction",
    "SeedRuns",
    "he_reproduction_over_seeds",
    "sum_variance_se",
    "sum_second_moment_theory",
    "sum_moments_mc",
    "propagate_over_seeds",
    "lecun_in_frameworks",
    "largest_rebound",
    "pre_std_over_seeds",
    "log_variance_sd",
    "torch_linear_init_stats",
    "init_diagnostics",
    "landscape_ridges",
    "descent_budget",
    "first_step_below",
    "backward_factors",
    "mean_example_cosine",
]

#: The ways :func:`sum_variance_mc` can (or cannot) break the identity Var(y) = n Var(w) Var(x).
SUM_CASES = ("independent", "mean_x", "mean_w_and_x", "correlated_x", "shared", "aligned")


# ------------------------------------------------------------------------------- validation
def _as_rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}"
    )


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _nonneg(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


# ------------------------------------------------------------------------- variance of a sum
def sum_variance_theory(
    n: int,
    *,
    var_w: float = 1.0,
    var_x: float = 1.0,
    mean_w: float = 0.0,
    mean_x: float = 0.0,
    case: str = "independent",
) -> float:
    """Exact variance of ``y = sum_{i=1}^n w_i x_i`` in each case of :func:`sum_variance_mc`.

    For independent pairs, :math:`\\operatorname{Var}(w x) = E[w^2]E[x^2] - E[w]^2E[x]^2`, so

    .. math:: \\operatorname{Var}(y) = n\\left[(\\sigma_w^2 + \\mu_w^2)(\\sigma_x^2 + \\mu_x^2)
              - \\mu_w^2\\mu_x^2\\right],

    which is :math:`n\\sigma_w^2\\sigma_x^2` only when :math:`\\mu_w = \\mu_x = 0`; with
    :math:`\\mu_w = 0` alone it is :math:`n\\sigma_w^2 E[x^2]` (the second moment of x enters).

    - ``"independent"``, ``"mean_x"``, ``"mean_w_and_x"``: the formula above (the cases differ
      only in the means the caller passes).
    - ``"correlated_x"``: one input ``x`` repeated ``n`` times (correlation 1 between inputs)
      with ``n`` fresh i.i.d. weights: ``y = x sum_i w_i``. With :math:`\\mu_w = 0` the cross
      terms :math:`E[w_i w_j]E[x_i x_j]` vanish and the variance is still
      :math:`n\\sigma_w^2 E[x^2]`: correlated inputs do not matter, only the weights' independence.
    - ``"shared"``: one ``w`` repeated ``n`` times, multiplying one repeated ``x``
      (the weights are no longer independent): ``y = n w x`` and the variance grows like
      :math:`n^2`.
    - ``"aligned"``: ``x_i = sign(w_i) |z_i|`` with ``z_i ~ N(0, var_x)`` and ``w_i`` zero-mean
      normal: every product is ``|w_i||z_i| >= 0``; the variance is
      :math:`n\\sigma_w^2\\sigma_x^2(1 - 4/\\pi^2)` but the mean :math:`n\\,2\\sigma_w\\sigma_x/\\pi`
      grows with ``n``, so :math:`E[y^2]` grows like :math:`n^2` (means are ignored here).

    Examples
    --------
    >>> sum_variance_theory(100, var_w=0.01)
    1.0
    >>> sum_variance_theory(100, var_w=0.01, mean_x=1.0, case="mean_x")
    2.0
    """
    n = _positive_int("n", n)
    var_w, var_x = _nonneg("var_w", var_w), _nonneg("var_x", var_x)
    mean_w, mean_x = _real("mean_w", mean_w), _real("mean_x", mean_x)
    if case not in SUM_CASES:
        raise ValueError(f"case must be one of {', '.join(map(repr, SUM_CASES))}; got {case!r}")
    one_term = (var_w + mean_w**2) * (var_x + mean_x**2) - mean_w**2 * mean_x**2
    if case == "shared":
        return n**2 * one_term
    if case == "aligned":
        return n * var_w * var_x * (1.0 - 4.0 / math.pi**2)
    if case == "correlated_x":
        second_x = var_x + mean_x**2
        return second_x * (n * var_w + n**2 * mean_w**2) - (n * mean_w * mean_x) ** 2
    return n * one_term


def sum_second_moment_theory(
    n: int,
    *,
    var_w: float = 1.0,
    var_x: float = 1.0,
    mean_w: float = 0.0,
    mean_x: float = 0.0,
    case: str = "independent",
) -> float:
    r"""Exact second moment :math:`E[y^2] = \operatorname{Var}(y) + E[y]^2` of the sums of
    :func:`sum_variance_mc`: what the next layer receives as its input's second moment.

    :math:`E[y] = n\mu_w\mu_x` in every case but ``"aligned"``, where every product is
    :math:`|w_i||z_i|` and :math:`E[y] = n\,E|w|\,E|z| = 2n\sigma_w\sigma_x/\pi` (means
    ignored, as in :func:`sum_variance_theory`). Whenever :math:`E[y] \ne 0` it grows like
    ``n`` and :math:`E[y^2]` like :math:`n^2`, even where the variance grows like ``n``.

    Examples
    --------
    >>> round(sum_second_moment_theory(64, var_w=1 / 64, mean_w=0.05, mean_x=1.0, case="mean_w_and_x"), 6)
    12.4
    """
    var = sum_variance_theory(n, var_w=var_w, var_x=var_x, mean_w=mean_w, mean_x=mean_x, case=case)
    if case == "aligned":
        mean = 2.0 * n * math.sqrt(var_w * var_x) / math.pi
    else:
        mean = n * mean_w * mean_x
    return var + mean**2


def sum_variance_mc(
    n: int,
    rng: np.random.Generator | int,
    *,
    n_samples: int = 20_000,
    var_w: float = 1.0,
    var_x: float = 1.0,
    mean_w: float = 0.0,
    mean_x: float = 0.0,
    case: str = "independent",
    distribution: str = "normal",
) -> float:
    """Monte-Carlo estimate of ``Var(y)``, ``y = sum_{i=1}^n w_i x_i``, over ``n_samples`` draws.

    Each draw is one neuron: ``n`` fresh weights and ``n`` fresh inputs. The identity
    :math:`\\operatorname{Var}(y) = n\\operatorname{Var}(w)\\operatorname{Var}(x)` (LeCun et al.,
    "Efficient BackProp", 1998) holds when the ``w_i`` and ``x_i`` are independent and zero-mean;
    ``case`` breaks one assumption at a time (see :func:`sum_variance_theory` for the exact
    answers). ``distribution`` ("normal" or "uniform") is the law of the weights; inputs are
    normal. The sample variance has standard error about
    :math:`\\operatorname{Var}(y)\\sqrt{2/(N-1)}` when ``y`` is close to normal.

    Examples
    --------
    >>> v = sum_variance_mc(64, 0, n_samples=4000, var_w=1 / 64)
    >>> bool(abs(v - 1.0) < 0.1)
    True
    """
    y = _sum_draws(n, rng, n_samples, var_w, var_x, mean_w, mean_x, case, distribution)
    return float(y.var(ddof=1))


def _sum_draws(n, rng, n_samples, var_w, var_x, mean_w, mean_x, case, distribution) -> np.ndarray:
    """``n_samples`` draws of ``y = sum_i w_i x_i``, the arguments checked first (ValueError
    naming the argument)."""
    n = _positive_int("n", n)
    n_samples = _positive_int("n_samples", n_samples)
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    var_w, var_x = _nonneg("var_w", var_w), _nonneg("var_x", var_x)
    mean_w, mean_x = _real("mean_w", mean_w), _real("mean_x", mean_x)
    if case not in SUM_CASES:
        raise ValueError(f"case must be one of {', '.join(map(repr, SUM_CASES))}; got {case!r}")
    if distribution not in ("normal", "uniform"):
        raise ValueError(f"distribution must be 'normal' or 'uniform', got {distribution!r}")
    rng = _as_rng(rng)
    cols = 1 if case == "shared" else n
    if distribution == "normal":
        w = rng.standard_normal((n_samples, cols)) * math.sqrt(var_w)
    else:
        a = uniform_limit(var_w)
        w = rng.uniform(-a, a, size=(n_samples, cols))
    w += mean_w
    x_cols = 1 if case == "correlated_x" else cols
    x = rng.standard_normal((n_samples, x_cols)) * math.sqrt(var_x) + mean_x
    if case == "aligned":
        x = np.sign(w) * np.abs(x - mean_x)
    return (w * x).sum(axis=1) * (n if case == "shared" else 1)


def sum_moments_mc(
    n: int,
    rng: np.random.Generator | int,
    *,
    n_samples: int = 20_000,
    var_w: float = 1.0,
    var_x: float = 1.0,
    mean_w: float = 0.0,
    mean_x: float = 0.0,
    case: str = "independent",
    distribution: str = "normal",
) -> tuple[float, float]:
    """Monte-Carlo ``(Var(y), E[y^2])`` of the same draws as :func:`sum_variance_mc`.

    The variance says how much ``y`` varies, the second moment what the next layer's weighted
    sum receives (lecture 05): they differ by :math:`E[y]^2`
    (:func:`sum_second_moment_theory`).

    Examples
    --------
    >>> v, m2 = sum_moments_mc(64, 0, n_samples=4000, var_w=1 / 64, case="aligned")
    >>> bool(m2 > 20 * v)
    True
    """
    y = _sum_draws(n, rng, n_samples, var_w, var_x, mean_w, mean_x, case, distribution)
    return float(y.var(ddof=1)), float(np.mean(y**2))


def uniform_limit(variance: float) -> float:
    """Bound ``a`` of ``U(-a, a)`` with the given variance: ``a = sqrt(3 variance)``.

    :math:`\\operatorname{Var}\\,U(-a, a) = \\frac{1}{2a}\\int_{-a}^{a} t^2\\,dt = a^2/3`.
    LeCun's ``1/n_in`` gives :math:`a = \\sqrt{3/n_{in}}`, Glorot's ``2/(n_in + n_out)`` gives
    :math:`a = \\sqrt{6/(n_{in} + n_{out})}`.

    Examples
    --------
    >>> uniform_limit(1 / 3)
    1.0
    """
    return math.sqrt(3.0 * _nonneg("variance", variance))


# ------------------------------------------------------------------------------ activations
def _activation(activation: Any) -> Activation:
    """A name, an :class:`~course_utils.activations.Activation`, or ``("leaky_relu", slope)``."""
    if isinstance(activation, tuple) and len(activation) == 2 and activation[0] == "leaky_relu":
        return get_activation("leaky_relu", slope=_nonneg("negative slope", activation[1]))
    if isinstance(activation, tuple):
        raise ValueError(f"activation must be a name or ('leaky_relu', a); got {activation!r}")
    return get_activation(activation)


# ------------------------------------------------------------------------------- mean field
def mean_field_variances(
    depth: int,
    activation: Any,
    *,
    weight_gain: float = 1.0,
    q0: float = 1.0,
    first_layer_linear_input: bool = True,
    n_quadrature: int = 101,
) -> np.ndarray:
    """Predicted pre-activation variance per layer of a wide network, ``q_1 .. q_depth``.

    With ``n_in Var(w) = weight_gain`` and pre-activations close to normal (wide layers), layer
    ``l`` receives inputs whose second moment is :math:`E[f(\\sqrt{q_{l-1}}\\,z)^2]`,
    :math:`z \\sim N(0, 1)`, so

    .. math:: q_l = c\\,E\\big[f(\\sqrt{q_{l-1}}\\,z)^2\\big], \\qquad q_1 = c\\,q_0,

    (the first layer sees the raw input, variance ``q0``, when ``first_layer_linear_input``).
    This is :func:`course_utils.theory.predict` with the variances given directly; its
    expectations are Gauss-Legendre quadratures (``n_quadrature`` is accepted and ignored). For ReLU
    :math:`E[\\mathrm{relu}(\\sqrt q z)^2] = q/2`, hence He's ``c = 2``; for a linear network
    ``q_l = c^l q_0``. Reference: LeCun et al. (1998); He et al. (2015); the recursion is the
    mean-field "length map" of Poole et al., "Exponential expressivity in deep neural networks
    through transient chaos" (2016).

    Examples
    --------
    >>> mean_field_variances(3, "relu", weight_gain=2.0).round(6).tolist()
    [2.0, 2.0, 2.0]
    """
    depth = _positive_int("depth", depth)
    c = _nonneg("weight_gain", weight_gain)
    q0 = _nonneg("q0", q0)
    f = _activation(activation)
    # the raw input has E[x^2] = q0; otherwise it is f of a N(0, q0) pre-activation
    input_var = q0 if first_layer_linear_input else float(f.second_moment(q0))
    # one unit per layer with Var(w) = c: the recursion only sees the product n Var(w)
    p = theory.predict([1] * (depth + 1), [c] * depth, f, input_var=input_var)
    return p.pre_activation_var


# -------------------------------------------------------------------------- numpy propagation
class Propagation(NamedTuple):
    """Per-layer statistics of one forward and backward pass (see :func:`propagate`).

    ``pre_std[l]``: std of the pre-activations ``z_(l+1)`` of layer ``l + 1``.
    ``act_std[l]``: std of its activations ``a_(l+1) = f(z_(l+1))``.
    ``grad_var[l]``: variance of ``dL/da_l``, the gradient reaching the input of layer
    ``l + 1`` (``grad_var[0]`` is at the network's input, ``grad_var[-1]`` is the injected
    ``dL/da_L``, so it has ``depth + 1`` entries).
    ``pre_activations``, ``activations``, ``grads``: the arrays themselves (for histograms).
    """

    pre_std: np.ndarray
    act_std: np.ndarray
    grad_var: np.ndarray
    pre_activations: list
    activations: list
    grads: list


def propagate(
    widths: Sequence[int],
    scheme: Any,
    activation: Any,
    rng: np.random.Generator | int,
    *,
    batch: int = 1000,
    scheme_kwargs: dict | None = None,
    weights: Sequence[np.ndarray] | None = None,
) -> Propagation:
    """Push a standard-normal batch forward and a standard-normal gradient backward.

    Forward: :math:`z_l = a_{l-1} W_l`, :math:`a_l = f(z_l)`, :math:`a_0 = x \\sim N(0, I)`.
    Backward, from :math:`g_L = \\partial L/\\partial a_L \\sim N(0, I)` (independent of the
    forward pass): :math:`\\partial L/\\partial a_{l-1} = (g_l \\odot f'(z_l)) W_l^T`, whose
    variance is :math:`n_{out} \\operatorname{Var}(w)\\operatorname{Var}(g_l)` when ``f' = 1``
    (Glorot & Bengio, 2010). Weights have the course's ``(fan_in, fan_out)`` layout.

    Parameters
    ----------
    widths : sequence of int
        ``[n_0, n_1, ..., n_L]``.
    scheme : str or callable
        A name of :data:`course_utils.initializers.INITIALIZERS` or an initializer
        ``(shape, rng, **kw)``; ignored when ``weights`` is given.
    activation : str, Activation, or ("leaky_relu", slope)
        A name of :data:`course_utils.activations.ACTIVATION_NAMES`.
    rng : numpy.random.Generator or int
    batch : int
    scheme_kwargs : dict, optional
        Extra keywords for the initializer (e.g. ``{"std": 0.01}``).
    weights : list of arrays, optional
        Use these weights instead of drawing new ones.

    Examples
    --------
    >>> p = propagate([256] * 4, "lecun_normal", "linear", 0, batch=500)
    >>> bool(np.all(abs(p.pre_std - 1) < 0.1))
    True
    """
    batch = _positive_int("batch", batch)
    f = _activation(activation)
    rng = _as_rng(rng)
    widths = network._check_widths(widths)
    shapes = list(zip(widths[:-1], widths[1:], strict=True))
    if weights is None:
        init = network.resolve_scheme(scheme)
        weights = [init(shape, rng, **(scheme_kwargs or {})) for shape in shapes]
    elif [np.shape(w) for w in weights] != shapes:
        raise ValueError("weights must have shapes (widths[l], widths[l + 1])")
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    x = rng.standard_normal((batch, weights[0].shape[0]))
    trace = network.forward(x, weights, f)
    g = rng.standard_normal((batch, weights[-1].shape[1]))
    grads = network.backward(trace, weights, f, g, weight_grads=False)
    signals = [grads.inputs, *grads.activations]
    return Propagation(
        pre_std=np.array([z.std() for z in trace.pre_activations]),
        act_std=np.array([a.std() for a in trace.activations]),
        grad_var=np.array([s.var() for s in signals]),
        pre_activations=trace.pre_activations,
        activations=trace.activations,
        grads=signals,
    )


def funnel_gradient_theory(widths: Sequence[int], weight_variances: Sequence[float]) -> np.ndarray:
    """Predicted ``Var(dL/da_l)``, l = 0..L, for a linear net and a unit-variance top gradient.

    One layer multiplies the backward variance by :math:`n_{out}\\operatorname{Var}(w)`
    (Glorot & Bengio, 2010); with LeCun's :math:`\\operatorname{Var}(w) = 1/n_{in}` that is
    :math:`n_{out}/n_{in}`, which is 1 only when the width does not change.

    Examples
    --------
    >>> funnel_gradient_theory([400, 200, 100], [1 / 400, 1 / 200]).tolist()
    [0.25, 0.5, 1.0]
    """
    widths = [_positive_int("widths", n) for n in widths]
    if len(weight_variances) != len(widths) - 1:
        raise ValueError("weight_variances must have len(widths) - 1 entries")
    out = [1.0]
    for n_out, v in zip(reversed(widths[1:]), reversed(list(weight_variances)), strict=True):
        out.append(out[-1] * n_out * _nonneg("weight_variances", v))
    return np.array(out[::-1])


# --------------------------------------------------------------------------------- PyTorch
def torch_linear_weight_variance(n_in: int, n_out: int, seed: int) -> tuple[float, float]:
    """Variance of a freshly constructed ``torch.nn.Linear(n_in, n_out)`` weight, and its theory.

    PyTorch initializes ``nn.Linear.weight`` with ``kaiming_uniform_(w, a=sqrt(5))``: gain
    :math:`\\sqrt{2/(1 + a^2)} = \\sqrt{1/3}`, bound
    :math:`\\text{gain}\\sqrt{3/n_{in}} = 1/\\sqrt{n_{in}}`, so
    :math:`w \\sim U(-1/\\sqrt{n_{in}}, 1/\\sqrt{n_{in}})` with variance :math:`1/(3 n_{in})`.

    Returns
    -------
    (measured, theory) : tuple of float

    Examples
    --------
    >>> m, t = torch_linear_weight_variance(300, 200, 0)
    >>> bool(abs(m / t - 1) < 0.02)
    True
    """
    import torch

    n_in, n_out = _positive_int("n_in", n_in), _positive_int("n_out", n_out)
    torch.manual_seed(int(seed))
    layer = torch.nn.Linear(n_in, n_out)
    return float(layer.weight.detach().double().var()), 1.0 / (3.0 * n_in)


def torch_linear_init_stats(n_in: int, n_out: int, seed: int) -> tuple[float, float, float]:
    """Variance, its theory ``1/(3 n_in)``, and ``max|w| sqrt(n_in)`` of ONE seeded ``nn.Linear``.

    Same layer as :func:`torch_linear_weight_variance` (built after ``torch.manual_seed(seed)``);
    the bound of ``U(-1/sqrt(n_in), 1/sqrt(n_in))`` shows as ``max|w| sqrt(n_in)`` just below 1.

    Examples
    --------
    >>> v, t, b = torch_linear_init_stats(300, 200, 0)
    >>> bool(0.99 < b <= 1.0)
    True
    """
    import torch

    n_in, n_out = _positive_int("n_in", n_in), _positive_int("n_out", n_out)
    torch.manual_seed(int(seed))
    w = torch.nn.Linear(n_in, n_out).weight.detach().double()
    return float(w.var()), 1.0 / (3.0 * n_in), float(w.abs().max()) * math.sqrt(n_in)


def torch_default_depth_stds(
    width: int = 256, depth: int = 30, *, batch: int = 1000, seed: int = 0
) -> np.ndarray:
    """Std of the pre-activations of each layer of ``depth`` default ``nn.Linear`` + ReLU.

    Layers are ``torch.nn.Linear(width, width, bias=False)`` built after
    ``torch.manual_seed(seed)`` (bias left out so that only the weight scale acts); the input is
    a standard-normal batch. Each layer multiplies the pre-activation variance by
    :math:`n\\cdot\\frac{1}{3n}\\cdot\\frac12 = \\frac16`, so the std of layer ``L`` over layer 1
    is :math:`6^{-(L-1)/2}` (``6**-14.5`` for 30 layers).

    Examples
    --------
    >>> s = torch_default_depth_stds(128, 3, batch=500)
    >>> s.shape
    (3,)
    """
    import torch

    width, depth = _positive_int("width", width), _positive_int("depth", depth)
    batch = _positive_int("batch", batch)
    torch.manual_seed(int(seed))
    layers = [torch.nn.Linear(width, width, bias=False) for _ in range(depth)]
    g = torch.Generator().manual_seed(int(seed) + 1)
    a = torch.randn(batch, width, generator=g, dtype=torch.float64)
    stds = []
    with torch.no_grad():
        for layer in layers:
            z = a @ layer.weight.double().T
            stds.append(float(z.std()))
            a = torch.relu(z)
    return np.array(stds)


def _he_setup(depth: int, width: int, n_train: int, dataset: str, seed: int):
    from course_utils.data import make_dataset, standardize

    depth, width = _positive_int("depth", depth), _positive_int("width", width)
    data = make_dataset(dataset, seed, n_train=_positive_int("n_train", n_train), n_test=100)
    (x,) = standardize(data[0])
    n_classes = int(data[1].max()) + 1
    return x, data[1], [2] + [width] * depth + [n_classes]


def _check_schemes(schemes: Any) -> None:
    if isinstance(schemes, str) or not all(isinstance(s, str) for s in schemes):
        raise TypeError(f"schemes must be a sequence of initializer names, got {schemes!r}")


def he_reproduction(
    schemes: Sequence[str] = ("glorot_normal", "he_normal"),
    *,
    depth: int = 30,
    width: int = 64,
    epochs: int = 30,
    lr: float = 0.001,
    momentum: float = 0.9,
    batch_size: int = 50,
    n_train: int = 1200,
    dataset: str = "spirals",
    seed: int = 0,
) -> dict[str, Any]:
    """He et al.'s 30-layer experiment on the CPU: a deep ReLU MLP trained with each scheme.

    He et al. ("Delving Deep into Rectifiers", 2015, Fig. 3) trained a 30-layer ReLU network
    from scratch: with Xavier/Glorot initialization it did not learn at all, with theirs it
    converged. Here the network is ``depth`` hidden ``Linear + ReLU`` layers of ``width`` units
    (biases zero) and a linear output layer, initialized with each scheme through
    :func:`course_utils.training.apply_init` (same seed), and trained by SGD with momentum and
    cross-entropy on a 3-class spiral data set (:func:`course_utils.data.spirals`, standardized).
    Glorot's variance 1/n on square ReLU layers halves the signal variance at every layer, so
    the logits and the early layers' gradients start many orders of magnitude below their He
    values (:func:`init_diagnostics` measures both) and SGD makes no progress in the same budget.
    The defaults (small learning rate, batches of 50) keep the plain 30-layer He network's
    training stable; larger steps make its loss jump back towards chance.

    Returns
    -------
    dict
        scheme name -> :class:`course_utils.training.History` (per-epoch loss and accuracy).

    Examples
    --------
    >>> runs = he_reproduction(("he_normal",), depth=3, width=16, epochs=2)  # doctest: +SKIP
    """
    from course_utils.training import apply_init, build_mlp, train

    _check_schemes(schemes)
    x, y, widths = _he_setup(depth, width, n_train, dataset, seed)
    runs: dict[str, Any] = {}
    for scheme in schemes:
        model = build_mlp(widths, "relu")
        apply_init(model, scheme, rng=seed)
        runs[scheme] = train(
            model,
            x,
            y,
            loss="ce",
            optimizer="sgd",
            lr=lr,
            momentum=momentum,
            epochs=_positive_int("epochs", epochs),
            batch_size=batch_size,
            seed=seed,
            progress=False,
        )
    return runs


class SeedRuns(NamedTuple):
    """Per-epoch curves of one training setting over several seeds (rows: seeds)."""

    seeds: list[int]
    loss: np.ndarray  # (seeds, epochs); NaN from the epoch a run diverged
    accuracy: np.ndarray  # (seeds, epochs); NaN where the loss is not finite


def he_reproduction_over_seeds(
    settings: Any,
    seeds: Sequence[int] = range(5),
    *,
    depth: int = 30,
    width: int = 64,
    epochs: int = 30,
    momentum: float = 0.9,
    batch_size: int = 50,
    n_train: int = 1200,
    dataset: str = "spirals",
) -> dict[str, SeedRuns]:
    """:func:`he_reproduction` for several settings and seeds, all networks trained at once.

    A single run of the plain 30-layer ReLU network is chaotic: a rounding difference of one
    float32 ulp (another CPU's BLAS kernel) grows into a different loss curve within a few
    epochs, so only statistics over seeds say what a setting does. For every setting
    ``label -> (scheme, lr)`` and every seed ``s`` this builds the network of
    :func:`he_reproduction` with seed ``s`` (its own spiral data set, ``apply_init(model,
    scheme, rng=s)``, zero biases) and trains all ``len(settings) * len(seeds)`` networks
    together as one batch of matrix products (``torch.baddbmm``): the same mini-batch SGD with
    momentum (PyTorch's rule ``v <- momentum v + g``, ``p <- p - lr v``) and mean cross-entropy,
    each network on its own shuffled batches (``torch.randperm`` from a generator seeded with
    ``s``, as :func:`course_utils.training.train` draws them). The loss of epoch ``t`` is the
    mean of the mini-batch losses measured before each update, weighted by batch size (as in
    :class:`course_utils.training.History`). A run that diverges keeps NaN from then on; the
    other runs are unaffected.

    Parameters
    ----------
    settings : dict
        ``label -> (scheme, lr)``, e.g. ``{"He, lr 0.01": ("he_normal", 0.01)}``.
    seeds : sequence of int
        One independent experiment (data, initialization, batch order) per seed.

    Returns
    -------
    dict
        label -> :class:`SeedRuns` with ``loss`` and ``accuracy`` of shape ``(seeds, epochs)``.

    Examples
    --------
    >>> runs = he_reproduction_over_seeds({"He": ("he_normal", 0.001)}, [0, 1], depth=3,
    ...                                   width=8, epochs=2, n_train=60)
    >>> runs["He"].loss.shape
    (2, 2)
    """
    import torch

    from course_utils.training import apply_init, build_mlp, weight_layers

    if not isinstance(settings, dict) or not settings:
        raise TypeError("settings must be a non-empty dict label -> (scheme, lr)")
    for label, value in settings.items():
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)):
            raise TypeError(f"settings[{label!r}] must be a tuple (scheme, lr), got {value!r}")
        lr = value[1]
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not 0 < lr < math.inf:
            raise ValueError(f"settings[{label!r}]: lr must be a positive number, got {lr!r}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not len(seeds):
        raise TypeError("seeds must be a non-empty sequence of ints")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"seeds must be non-negative ints, got {s!r}")
    seeds = [int(s) for s in seeds]
    epochs = _positive_int("epochs", epochs)
    batch_size = _positive_int("batch_size", batch_size)
    momentum = _nonneg("momentum", momentum)
    data = {s: _he_setup(depth, width, n_train, dataset, s) for s in seeds}
    weights, biases, xs, ys, rates, row_seed = [], [], [], [], [], []
    for scheme, lr in settings.values():
        for s in seeds:
            x, y, widths = data[s]
            model = apply_init(build_mlp(widths, "relu"), scheme, rng=s)
            layers = weight_layers(model)
            weights.append([layer.weight.detach().T for layer in layers])  # (in, out)
            biases.append([layer.bias.detach() for layer in layers])
            xs.append(torch.as_tensor(np.asarray(x, dtype=np.float32)))
            ys.append(torch.as_tensor(np.asarray(y), dtype=torch.long))
            rates.append(float(lr))
            row_seed.append(s)
    m, n = len(weights), xs[0].shape[0]
    ws = [torch.stack([w[k] for w in weights]).contiguous().requires_grad_()
          for k in range(len(weights[0]))]  # fmt: skip
    bs = [torch.stack([b[k] for b in biases]).unsqueeze(1).contiguous().requires_grad_()
          for k in range(len(biases[0]))]  # fmt: skip
    params = ws + bs
    velocity = [torch.zeros_like(p) for p in params]
    x_all, y_all = torch.stack(xs), torch.stack(ys)
    lr_t = torch.tensor(rates, dtype=torch.float32)
    rows = torch.arange(m).unsqueeze(1)
    shuffles = {s: torch.Generator().manual_seed(s) for s in seeds}
    loss = np.empty((m, epochs))
    accuracy = np.empty((m, epochs))
    for epoch in range(epochs):
        perms = {s: torch.randperm(n, generator=shuffles[s]) for s in seeds}
        order = torch.stack([perms[s] for s in row_seed])
        total, correct = torch.zeros(m, dtype=torch.float64), torch.zeros(m, dtype=torch.float64)
        for start in range(0, n, batch_size):
            idx = order[:, start : start + batch_size]
            h = x_all[rows, idx]
            for k in range(len(ws)):
                h = torch.baddbmm(bs[k], h, ws[k])
                if k < len(ws) - 1:
                    h = torch.relu(h)
            target = y_all[rows, idx]
            ce = torch.nn.functional.cross_entropy(
                h.reshape(-1, h.shape[-1]), target.reshape(-1), reduction="none"
            )
            per_net = ce.reshape(m, -1).mean(dim=1)
            for p in params:
                p.grad = None
            per_net.sum().backward()  # each network's loss depends on its own weights only
            with torch.no_grad():
                for p, v in zip(params, velocity, strict=True):
                    v.mul_(momentum).add_(p.grad)
                    p.sub_(lr_t.view(-1, *([1] * (p.ndim - 1))) * v)
                total += per_net.detach().double() * idx.shape[1]
                correct += (h.argmax(dim=-1) == target).double().sum(dim=1)
        loss[:, epoch] = (total / n).numpy()
        accuracy[:, epoch] = (correct / n).numpy()
    accuracy[~np.isfinite(loss)] = np.nan
    out: dict[str, SeedRuns] = {}
    for i, label in enumerate(settings):
        part = slice(i * len(seeds), (i + 1) * len(seeds))
        out[str(label)] = SeedRuns(list(seeds), loss[part], accuracy[part])
    return out


def init_diagnostics(
    schemes: Sequence[str] = ("glorot_normal", "he_normal"),
    *,
    depth: int = 30,
    width: int = 64,
    n_train: int = 1200,
    dataset: str = "spirals",
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    r"""Logit std and first-layer gradient norm at initialization, for :func:`he_reproduction`.

    Builds exactly the network of :func:`he_reproduction` (same widths, data and seed), runs
    the whole training set forward once in float64 (so that tiny values are not lost to float32
    rounding) and back-propagates the mean cross-entropy. Predicted for square ReLU layers: the
    logit std scales like :math:`(n\operatorname{Var}(w)/2)^{L/2}`, i.e. by :math:`2^{-L/2}`
    for Glorot relative to He, and by the chain rule the first layer's gradient carries the
    product of all later layers' factors as well.

    Returns
    -------
    dict
        scheme name -> ``(std of the logits, Frobenius norm of dL/dW_1)``.

    Examples
    --------
    >>> d = init_diagnostics(("he_normal",), depth=3, width=16, n_train=60)
    >>> sorted(d)
    ['he_normal']
    """
    import torch

    from course_utils.training import apply_init, build_mlp, weight_layers

    _check_schemes(schemes)
    x, y, widths = _he_setup(depth, width, n_train, dataset, seed)
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    yt = torch.as_tensor(np.asarray(y), dtype=torch.long)
    out: dict[str, tuple[float, float]] = {}
    for scheme in schemes:
        model = build_mlp(widths, "relu")
        apply_init(model, scheme, rng=seed)
        model = model.double()
        logits = model(xt)
        loss = torch.nn.functional.cross_entropy(logits, yt)
        loss.backward()
        first = weight_layers(model)[0].weight.grad
        out[scheme] = (float(logits.detach().std()), float(first.norm()))
    return out


# ------------------------------------------------------------------ sampling error, seeds
def sum_variance_se(
    n: int,
    n_samples: int,
    *,
    var_w: float = 1.0,
    var_x: float = 1.0,
    distribution: str = "normal",
) -> float:
    """Standard error of the Monte-Carlo ``Var(y)`` of :func:`sum_variance_mc` ("independent").

    For ``N`` draws of a variable with variance :math:`\\sigma^2` and fourth central moment
    :math:`\\mu_4`, :math:`SE(s^2) \approx \\sqrt{(\\mu_4 - \\sigma^4)/N}`. For
    :math:`y = \\sum_{i=1}^n w_i x_i` with independent zero-mean terms :math:`t_i = w_i x_i`,
    :math:`E[t^4] = E[w^4]E[x^4] = k_w k_x \\sigma_w^4\\sigma_x^4` (kurtosis :math:`k = 3` for a
    normal, :math:`9/5` for a uniform) and
    :math:`\\mu_4(y) = n E[t^4] + 3n(n-1)(\\sigma_w^2\\sigma_x^2)^2`. At ``n = 1`` a product of
    two normals has kurtosis 9, so the relative SE is :math:`\\sqrt{8/N}`; for large ``n``,
    ``y`` is close to normal and it tends to :math:`\\sqrt{2/N}`.

    Examples
    --------
    >>> round(sum_variance_se(1, 20_000) / 1.0, 4)
    0.02
    """
    n = _positive_int("n", n)
    n_samples = _positive_int("n_samples", n_samples)
    var_w, var_x = _nonneg("var_w", var_w), _nonneg("var_x", var_x)
    kurt = {"normal": 3.0, "uniform": 9.0 / 5.0}
    if distribution not in kurt:
        raise ValueError(f"distribution must be 'normal' or 'uniform', got {distribution!r}")
    s2 = var_w * var_x
    mu4 = n * kurt[distribution] * 3.0 * s2**2 + 3.0 * n * (n - 1) * s2**2
    return math.sqrt((mu4 - (n * s2) ** 2) / n_samples)


def pre_std_over_seeds(
    widths: Sequence[int],
    scheme: Any,
    activation: Any,
    seeds: Sequence[int],
    *,
    batch: int = 200,
    scheme_kwargs: dict | None = None,
) -> np.ndarray:
    """Std of every layer's pre-activations for several independent draws of the weights.

    One forward pass (no backward, so it is cheap) of a standard-normal batch through fresh
    weights for each seed, each from ``numpy.random.default_rng(seed)``. A finite-width network
    is one random draw: its per-layer std fluctuates around the mean-field prediction, and the
    spread across seeds shows by how much (:func:`log_variance_sd` predicts it).

    Returns
    -------
    numpy.ndarray, shape (len(seeds), L)

    Examples
    --------
    >>> pre_std_over_seeds([64] * 4, "lecun_normal", "linear", [0, 1], batch=50).shape
    (2, 3)
    """
    batch = _positive_int("batch", batch)
    f = _activation(activation)
    widths = network._check_widths(widths)
    if isinstance(seeds, (str, bytes)) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    init = network.resolve_scheme(scheme)
    rows = []
    for seed in seeds:
        rng = _as_rng(seed)
        weights = [
            np.asarray(init((a, b), rng, **(scheme_kwargs or {})), dtype=np.float64)
            for a, b in zip(widths[:-1], widths[1:], strict=True)
        ]
        x = rng.standard_normal((batch, widths[0]))
        trace = network.forward(x, weights, f)
        rows.append([z.std() for z in trace.pre_activations])
    return np.array(rows)


def log_variance_sd(widths: Sequence[int], activation: str) -> float:
    r"""Predicted SD of ``log`` of a deep net's output variance over its input variance.

    For a fixed input ``a``, the pre-activations ``z_j = a . w_j`` of a layer of width ``n`` are
    independent normals, so the layer's variance factor :math:`|f(z)|^2 / E|f(z)|^2` is an
    average of ``n`` i.i.d. terms with relative variance :math:`k/n`: :math:`k = 2` for a linear
    layer (:math:`\chi^2_n/n`) and :math:`k = E[\mathrm{relu}^4]/E[\mathrm{relu}^2]^2 - 1 =
    (3/2)/(1/4) - 1 = 5` after a ReLU. The log of a product of independent factors adds their
    variances (delta method), so the SD is :math:`\sqrt{\sum_l k/n_l}` over the output widths
    ``widths[1:]``. Divide by 2 for the log of a std. Over many layers the ratio is close to
    log-normal: a single network can sit tens of percent away from the mean-field value. This is
    the spread for one input vector; for ReLU it also holds for the std over a batch (deep ReLU
    layers correlate the inputs, tested), whereas a linear network's batch variance averages many
    input directions and fluctuates much less.

    Examples
    --------
    >>> round(log_variance_sd([512] * 30, "relu"), 3)
    0.532
    """
    widths = network._check_widths(widths)
    k = {"linear": 2.0, "relu": 5.0}
    if activation not in k:
        raise ValueError(f"activation must be 'linear' or 'relu', got {activation!r}")
    return math.sqrt(sum(k[activation] / n for n in widths[1:]))


# ------------------------------------------------------- lectures 03 and 05: seeds, frameworks
def propagate_over_seeds(
    widths: Sequence[int],
    scheme: Any,
    activation: Any,
    seeds: Sequence[int],
    *,
    batch: int = 200,
    scheme_kwargs: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`propagate` once per seed: per-layer forward std and backward gradient variance.

    Each seed draws fresh weights, a fresh input batch and a fresh top gradient from
    ``numpy.random.default_rng(seed)``. One network's gradient variance at the input is one
    random draw (its per-layer factors are random, relative spread about :math:`\\sqrt{k/n}`);
    the mean over seeds is what the variance argument predicts.

    Returns
    -------
    (pre_std, grad_var) : numpy.ndarray, shapes ``(len(seeds), L)`` and ``(len(seeds), L + 1)``

    Examples
    --------
    >>> s, g = propagate_over_seeds([32] * 3, "lecun_normal", "linear", [0, 1], batch=20)
    >>> s.shape, g.shape
    ((2, 2), (2, 3))
    """
    if isinstance(seeds, (str, bytes)) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    runs = [
        propagate(
            widths, scheme, activation, _as_rng(seed), batch=batch, scheme_kwargs=scheme_kwargs
        )
        for seed in seeds
    ]
    return np.array([r.pre_std for r in runs]), np.array([r.grad_var for r in runs])


def lecun_in_frameworks(n_in: int, n_out: int, seed: int) -> dict[str, tuple[float, float]]:
    """LeCun normal as three libraries draw it: ``n_in Var(w)`` and ``max|w| sqrt(n_in)``.

    - the course's :func:`~course_utils.initializers.lecun_normal`: plain
      :math:`N(0, 1/n_{in})`;
    - Keras' ``lecun_normal`` is a *truncated* normal: cut at two standard deviations after
      dividing the std by 0.8796 (the std of a standard normal truncated to [-2, 2]) so that the
      variance is still :math:`1/n_{in}`; the course's ``variance_scaling(...,
      distribution="truncated_normal")`` follows that convention, and no weight exceeds
      :math:`2/0.8796/\\sqrt{n_{in}} = 2.27/\\sqrt{n_{in}}`;
    - PyTorch has no ``lecun_normal``: ``kaiming_normal_(w, nonlinearity="linear")`` (gain 1,
      ``mode="fan_in"``) has std :math:`1/\\sqrt{n_{in}}`, i.e. is LeCun normal. Its weight is
      stored ``(n_out, n_in)`` (fan-in = ``size(1)``); drawn from a seeded ``torch.Generator``.

    Returns
    -------
    dict
        label -> ``(n_in * variance, max |w| * sqrt(n_in))`` of one ``(n_in, n_out)`` matrix.

    Examples
    --------
    >>> r = lecun_in_frameworks(200, 300, 0)
    >>> bool(r["Keras-style truncated normal"][1] <= 2 / 0.8796 + 1e-6)
    True
    """
    import torch

    from course_utils.initializers import lecun_normal, variance_scaling

    n_in, n_out = _positive_int("n_in", n_in), _positive_int("n_out", n_out)
    rng = _as_rng(seed)
    plain = lecun_normal((n_in, n_out), rng, dtype=np.float64)
    trunc = variance_scaling(
        (n_in, n_out),
        rng,
        scale=1.0,
        mode="fan_in",
        distribution="truncated_normal",
        dtype=np.float64,
    )
    w = torch.empty(n_out, n_in, dtype=torch.float64)
    torch.nn.init.kaiming_normal_(
        w, nonlinearity="linear", generator=torch.Generator().manual_seed(int(seed))
    )
    out = {}
    for label, a in (
        ("course lecun_normal", plain),
        ("Keras-style truncated normal", trunc),
        ('torch kaiming_normal_(nonlinearity="linear")', w.numpy()),
    ):
        out[label] = (float(n_in * a.var()), float(np.abs(a).max() * math.sqrt(n_in)))
    return out


# --------------------------------------------------------------------------- lectures 00 and 02


def landscape_ridges(grad: Any, lo: float, hi: float, *, n: int = 4001) -> np.ndarray:
    """The local maxima (ridges) of a one-dimensional loss on ``[lo, hi]``.

    A ridge is where the derivative changes sign from positive to negative; each sign change on
    a grid of ``n`` points is refined by 60 bisection steps.

    Parameters
    ----------
    grad : callable
        The loss's derivative, vectorized over a numpy array (e.g.
        :func:`course_utils.plots.landscape_grad`).
    lo, hi : float
        The interval, ``lo < hi``.
    n : int
        Grid points, >= 3.

    Returns
    -------
    numpy.ndarray
        The ridges in ascending order.

    Examples
    --------
    >>> landscape_ridges(lambda w: -2 * (w - 1.0), -3.0, 3.0).round(6).tolist()
    [1.0]
    """
    lo, hi = _real("lo", lo), _real("hi", hi)
    if not lo < hi:
        raise ValueError(f"lo must be below hi, got lo={lo}, hi={hi}")
    n = _positive_int("n", n)
    if n < 3:
        raise ValueError(f"n must be >= 3, got {n}")
    w = np.linspace(lo, hi, n)
    g = np.asarray(grad(w), dtype=np.float64)
    out = []
    for i in np.nonzero((g[:-1] > 0) & (g[1:] <= 0))[0]:
        a, b = float(w[i]), float(w[i + 1])
        for _ in range(60):
            m = 0.5 * (a + b)
            a, b = (m, b) if float(grad(np.float64(m))) > 0 else (a, m)
        out.append(0.5 * (a + b))
    return np.array(out)


def descent_budget(
    grad: Any, curvature: Any, w0: float, *, lr: float = 0.1, tol: float = 1e-4
) -> dict[str, float]:
    """Where gradient descent from ``w0`` spends its steps: the geometric phase and the rest.

    Gradient descent ``w <- w - lr L'(w)`` stops when ``|L'(w)| < tol``. Near its minimum
    ``w*`` the loss is a parabola, the distance shrinks by ``rate = |1 - lr L''(w*)|`` per step
    and ``|L'| ~ L''(w*) |w - w*|``, so a start at distance ``d_0`` *inside* that parabola
    would stop after

    .. math:: k_{geo} = \\frac{\\ln\\big(\\mathrm{tol} / (L''(w^*)\\,d_0)\\big)}{\\ln \\mathrm{rate}}

    steps. The actual count minus ``k_geo`` is what the start costs beyond its distance: steps
    spent where the loss is not yet a parabola, e.g. on the flat top of a nearby ridge.

    Parameters
    ----------
    grad, curvature : callable
        ``L'`` and ``L''`` of the loss.
    w0 : float
        The start.
    lr, tol : float
        Step size and stopping tolerance (positive).

    Returns
    -------
    dict
        ``steps`` (actual), ``w_star`` (end point), ``curvature`` (``L''(w*)``), ``rate``,
        ``distance`` (``|w0 - w*|``), ``geometric_steps`` (``k_geo``), ``extra_steps``
        (``steps - k_geo``), ``start_slope`` (``|L'(w0)|``).

    Examples
    --------
    >>> r = descent_budget(lambda w: 2 * w, lambda w: 2.0, 1.0, lr=0.25, tol=1e-3)
    >>> r["steps"], round(r["geometric_steps"], 2), r["rate"]
    (11, 10.97, 0.5)
    """
    from course_utils.plots import gradient_descent_1d

    w0 = _real("w0", w0)
    path, steps = gradient_descent_1d(grad, w0, lr=lr, tol=tol)
    w_star = float(path[-1])
    c = float(curvature(w_star))
    rate = abs(1.0 - float(lr) * c)
    d0 = abs(w0 - w_star)
    if c <= 0 or not 0 < rate < 1 or d0 == 0:
        geo = float("nan")
    else:
        geo = math.log(float(tol) / (c * d0)) / math.log(rate)
    return {
        "steps": int(steps),
        "w_star": w_star,
        "curvature": c,
        "rate": rate,
        "distance": d0,
        "geometric_steps": geo,
        "extra_steps": steps - geo,
        "start_slope": abs(float(grad(w0))),
    }


def first_step_below(values: Any, level: float) -> int | None:
    """The first index at which ``values`` is below ``level``, or ``None`` if it never is.

    Used for the length of a loss plateau: ``first_step_below(loss, 0.99 * math.log(2))``.

    Examples
    --------
    >>> first_step_below([0.7, 0.69, 0.5, 0.2], 0.6), first_step_below([1.0, 2.0], 0.5)
    (2, None)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    level = _real("level", level)
    hits = np.flatnonzero(v < level)
    return int(hits[0]) if hits.size else None


def backward_factors(
    weights: Sequence[Any], pre_activations: Sequence[Any], activation: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Measured per-layer factor of the backward recursion, ``n_l Var(W_l) E[f'(z_l)^2]``.

    Back-propagating ``g_(l-1) = (g_l * f'(z_l)) W_l^T`` through i.i.d. zero-mean weights gives
    ``E[g_(l-1)^2] = n_l Var(W_l) E[f'(z_l)^2] E[g_l^2]`` (``n_l`` = fan-out of the sum, the
    layer's width). A saturated tanh unit has ``f' ~ 0`` and passes almost nothing, but the
    factor averages over all units: with large weights the few unsaturated ones carry a
    gradient that still grows from layer to layer.

    Parameters
    ----------
    weights : sequence of arrays ``(n_(l-1), n_l)``
    pre_activations : sequence of arrays ``(batch, n_l)``
        ``trace.pre_activations`` of :func:`course_utils.network.forward`.
    activation : str or Activation

    Returns
    -------
    factor : numpy.ndarray, shape (L,)
        ``n_l * mean(W_l^2) * mean(f'(z_l)^2)`` per layer.
    slope_sq : numpy.ndarray, shape (L,)
        ``mean(f'(z_l)^2)`` per layer.

    Examples
    --------
    >>> w = [np.full((4, 4), 0.5)]; z = [np.zeros((3, 4))]
    >>> [float(v[0]) for v in backward_factors(w, z, "tanh")]
    [1.0, 1.0]
    """
    act = _activation(activation)
    if len(weights) != len(pre_activations) or not weights:
        raise ValueError(
            "weights and pre_activations must be non-empty and of the same length, got "
            f"{len(weights)} and {len(pre_activations)}"
        )
    factor, slope_sq = [], []
    for i, (w, z) in enumerate(zip(weights, pre_activations, strict=True)):
        w = np.asarray(w, dtype=np.float64)
        z = np.asarray(z, dtype=np.float64)
        if w.ndim != 2 or z.ndim != 2 or z.shape[1] != w.shape[1]:
            raise ValueError(
                f"layer {i + 1}: weight {w.shape} and pre-activations {z.shape} do not match"
            )
        s = float(np.mean(np.square(act.derivative(z))))
        slope_sq.append(s)
        factor.append(w.shape[1] * float(np.mean(np.square(w))) * s)
    return np.array(factor), np.array(slope_sq)


def largest_rebound(loss: Sequence[float]) -> tuple[float, int, float, float]:
    """The largest rise of a loss curve above its best value so far.

    For each epoch ``t`` the ratio ``loss[t] / min(loss[:t])``; the largest one says how far a
    training run fell back (a factor 12 is a jump, not a bump). Epochs count from 1.

    Returns
    -------
    (ratio, epoch, best_before, value) : tuple
        The ratio, the epoch where it happens, the lowest loss before it and the loss there.
        ``ratio <= 1`` means the curve never rose above its running minimum.

    Examples
    --------
    >>> ratio, epoch, best, value = largest_rebound([1.0, 0.5, 0.25, 1.5, 0.05])
    >>> ratio, epoch, best, value
    (6.0, 4, 0.25, 1.5)
    """
    values = np.asarray(loss, dtype=float)
    if values.ndim != 1 or len(values) < 2 or not np.all(np.isfinite(values)) or values.min() <= 0:
        raise ValueError("loss must be a 1-D sequence of at least 2 finite positive values")
    best = np.minimum.accumulate(values)[:-1]
    ratios = values[1:] / best
    t = int(np.argmax(ratios))
    return float(ratios[t]), t + 2, float(best[t]), float(values[t + 1])


def mean_example_cosine(a: Any) -> float:
    """Mean cosine similarity between the rows (examples) of a layer's activations.

    How alike a layer represents different inputs. A wide random ReLU layer fed independent
    Gaussian inputs (cosine 0) gives about ``1/pi`` (the arc-cosine kernel at 0); deeper layers
    move it towards 1, as a deep ReLU network maps all inputs onto nearly the same direction.
    Rows of zeros (an example that no unit responds to) are left out.

    Parameters
    ----------
    a : array_like, shape (batch, width)

    Returns
    -------
    float
        The mean of ``u_i . u_j / (|u_i| |u_j|)`` over pairs ``i != j`` of non-zero rows.

    Examples
    --------
    >>> mean_example_cosine(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]]))
    0.3333333333333333
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"a must be 2-D (batch, width), got shape {a.shape}")
    norms = np.linalg.norm(a, axis=1)
    u = a[norms > 0] / norms[norms > 0, None]
    if u.shape[0] < 2:
        raise ValueError("a must have at least two non-zero rows")
    c = u @ u.T
    n = u.shape[0]
    return float((c.sum() - np.trace(c)) / (n * (n - 1)))
