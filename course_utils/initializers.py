"""Weight initializers: fans, gains, one ``variance_scaling`` core and its named presets.

Every initializer has the signature ``init(shape, rng, **kw) -> np.ndarray``.

Layouts
-------
The course's numpy code computes ``y = x @ W``, so a dense weight has shape ``(fan_in, fan_out)``
and a conv kernel ``(kh, kw, c_in, c_out)``: the ``"in_out"`` layout used by Keras and JAX.
PyTorch stores ``(c_out, c_in, kh, kw)``: the ``"out_in"`` layout. Every function that needs the
fans takes ``layout="in_out" | "out_in"``.

Randomness
----------
``rng`` is a :class:`numpy.random.Generator`; an ``int`` seed is turned into
``numpy.random.default_rng(seed)``. Nothing here touches numpy's global random state.

References
----------
- Y. LeCun, L. Bottou, G. Orr, K.-R. Mueller, "Efficient BackProp" (1998).
- X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward neural
  networks" (AISTATS 2010).
- K. He, X. Zhang, S. Ren, J. Sun, "Delving Deep into Rectifiers: Surpassing Human-Level
  Performance on ImageNet Classification" (ICCV 2015).
- A. Saxe, J. McClelland, S. Ganguli, "Exact solutions to the nonlinear dynamics of learning in
  deep linear neural networks" (ICLR 2014).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "fan_in_and_fan_out",
    "gain",
    "variance_scaling",
    "zeros",
    "constant",
    "random_normal",
    "random_uniform",
    "lecun_normal",
    "lecun_uniform",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "orthogonal",
    "INITIALIZERS",
    "TRUNCATED_NORMAL_STD_CORRECTION",
    "LAYOUTS",
    "MODES",
    "DISTRIBUTIONS",
]

#: Standard deviation of a standard normal truncated to [-2, 2]. Dividing the pre-truncation std
#: by this number makes the truncated distribution's variance equal to the requested one.
TRUNCATED_NORMAL_STD_CORRECTION = 0.87962566103423978

LAYOUTS = ("in_out", "out_in")
MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("normal", "truncated_normal", "uniform")

Shape = Sequence[int] | int
Initializer = Callable[..., np.ndarray]


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _as_shape(shape: Shape) -> tuple[int, ...]:
    """Return ``shape`` as a tuple of non-negative ints, or raise naming ``shape``."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (int(shape),)
    if isinstance(shape, np.ndarray) or not isinstance(shape, Sequence) or isinstance(shape, str):
        raise TypeError(f"shape must be a tuple of ints, got {type(shape).__name__}: {shape!r}")
    out = []
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"shape must contain only ints, got {shape!r}")
        if d < 0:
            raise ValueError(f"shape must contain non-negative sizes, got {tuple(shape)!r}")
        out.append(int(d))
    return tuple(out)


def _as_rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        "rng must be a numpy.random.Generator or an int seed, "
        f"got {type(rng).__name__}; use rng=np.random.default_rng(seed)"
    )


def _as_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype must be a numpy floating dtype, got {dtype!r}") from err
    if not np.issubdtype(dt, np.floating):
        raise TypeError(f"dtype must be a floating dtype such as np.float32, got {dt}")
    return dt


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def _check_non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


# --------------------------------------------------------------------------------------------
# fans and gains
# --------------------------------------------------------------------------------------------
def fan_in_and_fan_out(shape: Shape, *, layout: str = "in_out") -> tuple[int, int]:
    """Fan-in and fan-out of a dense weight or a convolution kernel.

    For a dense weight the fans are the two dimensions. For a conv kernel, every output unit sees
    ``receptive_field * c_in`` inputs, where ``receptive_field`` is the product of the spatial
    dimensions (``kh * kw`` in 2-D):

    .. math:: \\text{fan\\_in} = k_h k_w c_{in}, \\qquad \\text{fan\\_out} = k_h k_w c_{out}.

    Parameters
    ----------
    shape : tuple of int
        At least 2 dimensions. ``"in_out"``: ``(fan_in, fan_out)`` or ``(*spatial, c_in, c_out)``
        (Keras, JAX, this course). ``"out_in"``: ``(fan_out, fan_in)`` or
        ``(c_out, c_in, *spatial)`` (PyTorch).
    layout : {"in_out", "out_in"}

    Returns
    -------
    (fan_in, fan_out) : tuple of int
        Equal to ``torch.nn.init._calculate_fan_in_and_fan_out`` for the same kernel.

    Examples
    --------
    >>> fan_in_and_fan_out((3, 3, 16, 32))
    (144, 288)
    >>> fan_in_and_fan_out((32, 16, 3, 3), layout="out_in")
    (144, 288)
    """
    _check_choice("layout", layout, LAYOUTS)
    shape = _as_shape(shape)
    if len(shape) < 2:
        raise ValueError(
            f"shape must have at least 2 dimensions to define fan_in and fan_out, got {shape!r}"
        )
    if layout == "in_out":
        receptive = math.prod(shape[:-2])
        return shape[-2] * receptive, shape[-1] * receptive
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


_GAINS_ONE = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended gain for a nonlinearity: the factor that multiplies the std of the init.

    Same table as ``torch.nn.init.calculate_gain``:

    ==============  =====================================
    nonlinearity    gain
    ==============  =====================================
    linear, conv*,  1
    sigmoid
    tanh            5/3
    relu            sqrt(2)
    leaky_relu      sqrt(2 / (1 + a^2)), a = param (0.01)
    selu            3/4
    ==============  =====================================

    The ReLU value follows from He et al. (2015): for a symmetric pre-activation ``y``,
    ``E[relu(y)^2] = Var(y) / 2``, so the weights need twice the variance of the linear case.

    Examples
    --------
    >>> round(gain("relu"), 6)
    1.414214
    """
    if not isinstance(nonlinearity, str):
        raise TypeError(f"nonlinearity must be a string, got {type(nonlinearity).__name__}")
    if nonlinearity in _GAINS_ONE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4.0
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, numbers.Real):
            raise ValueError(f"param (negative_slope) must be a number, got {param!r}")
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    known = (*_GAINS_ONE, "tanh", "relu", "leaky_relu", "selu")
    raise ValueError(f"nonlinearity must be one of {', '.join(known)}; got {nonlinearity!r}")


# --------------------------------------------------------------------------------------------
# the core
# --------------------------------------------------------------------------------------------
def _truncated_standard_normal(rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
    """Standard normal samples conditioned on |z| <= 2, by redrawing the rejected ones."""
    z = rng.standard_normal(size)
    bad = np.abs(z) > 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return z


def variance_scaling(
    shape: Shape,
    rng: np.random.Generator | int,
    *,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "normal",
    layout: str = "in_out",
    dtype: Any = np.float32,
) -> np.ndarray:
    """Draw weights whose variance is ``scale / fan``: the one core of every named scheme.

    .. math:: \\operatorname{Var}(w) = \\frac{\\text{scale}}{n}, \\qquad
              n = \\text{fan\\_in},\\ \\text{fan\\_out}\\ \\text{or}\\
              \\tfrac12(\\text{fan\\_in} + \\text{fan\\_out})

    - ``"normal"``: :math:`w \\sim N(0, \\text{scale}/n)`.
    - ``"truncated_normal"``: a normal cut at two of its standard deviations, whose std is first
      divided by 0.87962566103423978 (the std of a standard normal truncated to [-2, 2]) so the
      variance is still ``scale / n`` (the Keras convention; ``torch.nn.init.trunc_normal_`` does
      not correct).
    - ``"uniform"``: :math:`w \\sim U(-a, a)` with :math:`a = \\sqrt{3\\,\\text{scale}/n}`, since
      :math:`\\operatorname{Var}\\,U(-a, a) = a^2 / 3`.

    Presets: LeCun ``scale=1, fan_in``; Glorot ``scale=1, fan_avg``; He ``scale=2, fan_in``.
    Same design as Keras' ``VarianceScaling`` and ``jax.nn.initializers.variance_scaling``.

    Parameters
    ----------
    shape : tuple of int, at least 2 dims
    rng : numpy.random.Generator or int seed
    scale : float >= 0
    mode : {"fan_in", "fan_out", "fan_avg"}
    distribution : {"normal", "truncated_normal", "uniform"}
    layout : {"in_out", "out_in"}
    dtype : floating dtype, default float32

    Examples
    --------
    >>> w = variance_scaling((512, 256), 0, scale=2.0)   # He normal
    >>> w.shape, w.dtype
    ((512, 256), dtype('float32'))
    """
    scale = _check_non_negative("scale", scale)
    _check_choice("mode", mode, MODES)
    _check_choice("distribution", distribution, DISTRIBUTIONS)
    shape = _as_shape(shape)
    fan_in, fan_out = fan_in_and_fan_out(shape, layout=layout)
    dt = _as_dtype(dtype)
    rng = _as_rng(rng)
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
    variance = scale / max(1.0, fan)
    if distribution == "normal":
        w = rng.standard_normal(shape) * math.sqrt(variance)
    elif distribution == "truncated_normal":
        std = math.sqrt(variance) / TRUNCATED_NORMAL_STD_CORRECTION
        w = _truncated_standard_normal(rng, shape) * std
    else:
        limit = math.sqrt(3.0 * variance)
        w = rng.uniform(-limit, limit, size=shape)
    return w.astype(dt, copy=False)


# --------------------------------------------------------------------------------------------
# simple schemes
# --------------------------------------------------------------------------------------------
def zeros(shape: Shape, rng: Any = None, *, dtype: Any = np.float32) -> np.ndarray:
    """All weights zero. Deterministic; ``rng`` is accepted for a uniform signature and unused.

    Every unit of a layer then computes the same function and receives the same gradient: the
    symmetry problem (lecture 01).

    Examples
    --------
    >>> zeros((2, 3)).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    return np.zeros(_as_shape(shape), dtype=_as_dtype(dtype))


def constant(
    shape: Shape, rng: Any = None, *, value: float = 1.0, dtype: Any = np.float32
) -> np.ndarray:
    """All weights equal to ``value``. Deterministic; ``rng`` is accepted and unused.

    Examples
    --------
    >>> constant((2, 2), value=0.5).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"value must be a real number, got {type(value).__name__}")
    return np.full(_as_shape(shape), float(value), dtype=_as_dtype(dtype))


def random_normal(
    shape: Shape, rng: np.random.Generator | int, *, std: float = 0.01, dtype: Any = np.float32
) -> np.ndarray:
    """:math:`w \\sim N(0, \\text{std}^2)` with a fixed std, whatever the layer's size.

    The classic ``np.random.randn(fan_in, fan_out) * 0.01``; lecture 02 shows why a fixed std
    cannot suit every width.

    Examples
    --------
    >>> random_normal((3, 4), 0, std=0.1).shape
    (3, 4)
    """
    std = _check_non_negative("std", std)
    shape = _as_shape(shape)
    dt = _as_dtype(dtype)
    return (_as_rng(rng).standard_normal(shape) * std).astype(dt, copy=False)


def random_uniform(
    shape: Shape, rng: np.random.Generator | int, *, limit: float = 0.05, dtype: Any = np.float32
) -> np.ndarray:
    """:math:`w \\sim U(-\\text{limit}, \\text{limit})`, variance ``limit**2 / 3``.

    Examples
    --------
    >>> bool(abs(random_uniform((100, 100), 0, limit=0.1)).max() <= 0.1)
    True
    """
    limit = _check_non_negative("limit", limit)
    shape = _as_shape(shape)
    dt = _as_dtype(dtype)
    return _as_rng(rng).uniform(-limit, limit, size=shape).astype(dt, copy=False)


# --------------------------------------------------------------------------------------------
# named presets of variance_scaling
# --------------------------------------------------------------------------------------------
def lecun_normal(
    shape: Shape, rng: np.random.Generator | int, *, layout: str = "in_out", dtype: Any = np.float32
) -> np.ndarray:
    """LeCun normal: :math:`w \\sim N(0, 1/\\text{fan\\_in})`.

    Keeps ``Var(y) = fan_in * Var(w) * Var(x) = Var(x)`` for zero-mean inputs
    (LeCun et al., "Efficient BackProp", 1998).

    Examples
    --------
    >>> round(float(lecun_normal((256, 128), 0).std()), 2)   # 1 / sqrt(256)
    0.06
    """
    return variance_scaling(shape, rng, scale=1.0, mode="fan_in", layout=layout, dtype=dtype)


def lecun_uniform(
    shape: Shape, rng: np.random.Generator | int, *, layout: str = "in_out", dtype: Any = np.float32
) -> np.ndarray:
    """LeCun uniform: :math:`w \\sim U(-\\sqrt{3/\\text{fan\\_in}}, \\sqrt{3/\\text{fan\\_in}})`.

    Variance ``1 / fan_in`` (LeCun et al., "Efficient BackProp", 1998).

    Examples
    --------
    >>> w = lecun_uniform((300, 10), 0); bool(abs(w).max() <= 0.1)
    True
    """
    return variance_scaling(
        shape, rng, scale=1.0, mode="fan_in", distribution="uniform", layout=layout, dtype=dtype
    )


def glorot_normal(
    shape: Shape, rng: np.random.Generator | int, *, layout: str = "in_out", dtype: Any = np.float32
) -> np.ndarray:
    """Glorot (Xavier) normal: :math:`w \\sim N(0, 2/(\\text{fan\\_in} + \\text{fan\\_out}))`.

    The compromise between the forward condition ``fan_in Var(w) = 1`` and the backward condition
    ``fan_out Var(w) = 1`` (Glorot & Bengio, "Understanding the difficulty of training deep
    feedforward neural networks", 2010). Matches ``torch.nn.init.xavier_normal_``.

    Examples
    --------
    >>> glorot_normal((100, 300), 0).shape
    (100, 300)
    """
    return variance_scaling(shape, rng, scale=1.0, mode="fan_avg", layout=layout, dtype=dtype)


def glorot_uniform(
    shape: Shape, rng: np.random.Generator | int, *, layout: str = "in_out", dtype: Any = np.float32
) -> np.ndarray:
    """Glorot (Xavier) uniform: :math:`U(-a, a)`, :math:`a = \\sqrt{6/(\\text{fan\\_in} + \\text{fan\\_out})}`.

    Variance ``2 / (fan_in + fan_out)`` (Glorot & Bengio, 2010); Keras' default for ``Dense``.
    Matches ``torch.nn.init.xavier_uniform_``.

    Examples
    --------
    >>> w = glorot_uniform((100, 200), 0); bool(abs(w).max() <= 0.2)
    True
    """
    return variance_scaling(
        shape, rng, scale=1.0, mode="fan_avg", distribution="uniform", layout=layout, dtype=dtype
    )


def he_normal(
    shape: Shape,
    rng: np.random.Generator | int,
    *,
    mode: str = "fan_in",
    layout: str = "in_out",
    dtype: Any = np.float32,
) -> np.ndarray:
    """He (Kaiming) normal: :math:`w \\sim N(0, 2/\\text{fan})`, fan = fan_in (default) or fan_out.

    For ReLU, ``E[x^2] = Var(y_prev) / 2`` because the inputs are rectified, so keeping the
    pre-activation variance needs ``fan_in Var(w) = 2`` (He et al., "Delving Deep into Rectifiers",
    2015). ``mode="fan_out"`` preserves the backward signal instead. Matches
    ``torch.nn.init.kaiming_normal_(w, nonlinearity="relu")``.

    Examples
    --------
    >>> round(float(he_normal((512, 512), 0).var()), 4)     # 2 / 512
    0.0039
    """
    _check_choice("mode", mode, ("fan_in", "fan_out"))
    return variance_scaling(shape, rng, scale=2.0, mode=mode, layout=layout, dtype=dtype)


def he_uniform(
    shape: Shape,
    rng: np.random.Generator | int,
    *,
    mode: str = "fan_in",
    layout: str = "in_out",
    dtype: Any = np.float32,
) -> np.ndarray:
    """He (Kaiming) uniform: :math:`U(-a, a)`, :math:`a = \\sqrt{6/\\text{fan}}`; variance ``2/fan``.

    He et al., "Delving Deep into Rectifiers" (2015). Matches
    ``torch.nn.init.kaiming_uniform_(w, nonlinearity="relu")``.

    Examples
    --------
    >>> w = he_uniform((600, 10), 0); bool(abs(w).max() <= 0.1)
    True
    """
    _check_choice("mode", mode, ("fan_in", "fan_out"))
    return variance_scaling(
        shape, rng, scale=2.0, mode=mode, distribution="uniform", layout=layout, dtype=dtype
    )


def orthogonal(
    shape: Shape,
    rng: np.random.Generator | int,
    *,
    gain: float = 1.0,
    layout: str = "in_out",
    dtype: Any = np.float32,
) -> np.ndarray:
    """A (semi-)orthogonal matrix scaled by ``gain`` (Saxe, McClelland & Ganguli, 2014).

    The tensor is viewed as a matrix: in ``"in_out"`` layout all axes but the last are flattened
    into rows, ``(prod(shape[:-1]), shape[-1])``; in ``"out_in"`` all axes but the first into
    columns, ``(shape[0], prod(shape[1:]))`` as ``torch.nn.init.orthogonal_`` does. A Gaussian
    matrix is factored ``A = QR`` and the columns of ``Q`` are multiplied by ``sign(diag(R))`` so
    that ``Q`` is uniformly (Haar) distributed. Then ``W^T W = gain^2 I`` when the matrix is tall
    or square and ``W W^T = gain^2 I`` when it is wide.

    Examples
    --------
    >>> w = orthogonal((64, 32), 0).astype(float)
    >>> bool(np.allclose(w.T @ w, np.eye(32), atol=1e-5))
    True
    """
    g = _check_non_negative("gain", gain)
    _check_choice("layout", layout, LAYOUTS)
    shape = _as_shape(shape)
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 dimensions for orthogonal, got {shape!r}")
    dt = _as_dtype(dtype)
    rng = _as_rng(rng)
    if layout == "in_out":
        rows, cols = math.prod(shape[:-1]), shape[-1]
    else:
        rows, cols = shape[0], math.prod(shape[1:])
    if rows == 0 or cols == 0:
        return np.zeros(shape, dtype=dt)
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # sign fix: Haar measure
    if rows < cols:
        q = q.T
    return (g * q).reshape(shape).astype(dt, copy=False)


#: Every initializer by name; each has the signature ``(shape, rng, **kw)``.
INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "constant": constant,
    "random_normal": random_normal,
    "random_uniform": random_uniform,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "orthogonal": orthogonal,
    "variance_scaling": variance_scaling,
}
