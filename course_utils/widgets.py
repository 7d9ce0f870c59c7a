"""The init lab: an ipywidgets explorer built on plain, testable functions.

Two panels, each a pure data function plus a figure function, and one widget that wires them:

* :func:`explorer_data` ``(**settings) -> dict of arrays``: a deep network whose layer widths
  follow a *profile* (constant, funnel, bottleneck, expanding, or a typed list), initialized with
  a ``scheme`` (every course initializer, PyTorch's default, LSUV on the batch) in a fan ``mode``
  times ``scale``, run forward on a standard-normal batch and backward from a standard-normal
  output gradient by the course's engine (:func:`course_utils.network.forward` /
  :func:`~course_utils.network.backward`). Per layer it returns histograms of the activations
  and the back-propagated gradients (by default on one x-range per row, so depth shows), their
  measured standard deviations, the mean-field theory (:func:`course_utils.theory.predict`), the
  saturated and dead fractions, and the singular values of the end-to-end input-output Jacobian
  at one example of the batch with the theory's reference. :func:`explorer_figure` draws it
  (and, given the previous figure, updates its artists in place); :func:`figure_png` renders it.
* :func:`training_data` ``(**settings) -> dict of arrays``: several schemes side by side, each
  trained over ``seeds`` initializations (default 3) on a 2-D data set from
  :mod:`course_utils.data` by one vectorized full-batch SGD loop (all runs at once);
  mean and spread of the loss and each run's decision boundary. :func:`training_figure` draws it.
* :func:`explorer` returns the widget (two tabs). Every control has a visible label.

Theory (mean field: Poole et al. 2016, Schoenholz et al. 2017), as derived in
:mod:`course_utils.theory`: with independent weights of variance :math:`v_l` and
pre-activations :math:`z_l \\sim N(0, q_l)`,

.. math::
    q_1 = n_0 v_1 E[x^2], \\qquad
    q_l = n_{l-1} v_l\\, E_{z \\sim N(0, q_{l-1})}[f(z)^2],

    \\operatorname{Var}(\\partial L/\\partial a_{l-1}) = n_l v_l\\,
    E_{z \\sim N(0, q_l)}[f'(z)^2]\\, \\operatorname{Var}(\\partial L/\\partial a_l).

The end-to-end Jacobian :math:`J = \\partial a_L / \\partial x = W_1 D_1 W_2 D_2 \\cdots W_L D_L`
(row-vector convention, :math:`D_l = \\operatorname{diag} f'(z_l)`) has
:math:`E\\lVert J\\rVert_F^2 = n_0 \\prod_l n_l v_l E[f'(z_l)^2]`, the same product that carries
the gradient variance back to the input, so the theory's root-mean-square singular value is
:math:`\\sqrt{n_0\\, \\mathrm{Var}(\\partial L/\\partial x) / k}` over the :math:`k = \\min_l n_l`
singular values a product of these shapes can have. The exact reference: orthogonal layers in a
linear network give :math:`k` singular values all equal to ``scale**L`` (dynamical isometry,
Saxe, McClelland & Ganguli 2014).
"""

from __future__ import annotations

import io
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator

from course_utils import network, theory
from course_utils.activations import get_activation
from course_utils.figure_alt import describe
from course_utils.initializers import INITIALIZERS, variance_scaling
from course_utils.plots import PALETTE

__all__ = [
    "ACTIVATIONS",
    "DEFAULTS",
    "HIST_MODES",
    "MODES",
    "MODE_SCHEMES",
    "PRESETS",
    "PROFILES",
    "SCHEMES",
    "TRAINING_DEFAULTS",
    "explorer",
    "explorer_average",
    "explorer_data",
    "explorer_description",
    "explorer_figure",
    "figure_png",
    "layer_widths",
    "training_data",
    "spectra_figure",
    "spread_text",
    "training_figure",
]

#: Activations offered by the explorer (names of :mod:`course_utils.activations`).
ACTIVATIONS: tuple[str, ...] = ("linear", "tanh", "relu", "leaky_relu", "sigmoid", "selu")

#: Schemes offered by the lab: every initializer of
#: :data:`course_utils.initializers.INITIALIZERS` ("random_normal" is std 0.01, the classic
#: "small random"; "random_uniform" U(-0.05, 0.05); "constant" sets every weight to
#: ``1 / fan_in``, so each unit averages its inputs; "variance_scaling" is scale 1, normal),
#: plus "pytorch_default" (``nn.Linear``'s ``kaiming_uniform_(a=sqrt(5))``:
#: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), variance 1/(3 fan_in)) and "lsuv" (Mishkin & Matas:
#: orthogonal, then each layer rescaled on the explorer's batch until its output variance is 1,
#: :func:`course_utils.lsuv.lsuv`).
SCHEMES: tuple[str, ...] = (
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
    "variance_scaling",
    "pytorch_default",
    "orthogonal",
    "lsuv",
)

#: Fan modes (Keras' ``variance_scaling``, PyTorch's ``mode=``).
MODES: tuple[str, ...] = ("fan_in", "fan_out", "fan_avg")

#: The schemes that take the ``mode`` setting, as ``(scale, distribution)`` of
#: :func:`course_utils.initializers.variance_scaling` (Var(w) = scale / fan). The others ignore
#: it: Glorot is fan_avg by definition; orthogonal, LSUV, the constants and the fixed-std
#: schemes have no fan.
MODE_SCHEMES: dict[str, tuple[float, str]] = {
    "lecun_normal": (1.0, "normal"),
    "lecun_uniform": (1.0, "uniform"),
    "he_normal": (2.0, "normal"),
    "he_uniform": (2.0, "uniform"),
    "variance_scaling": (1.0, "normal"),
    "pytorch_default": (1.0 / 3.0, "uniform"),
}

#: Width profiles of :func:`layer_widths` (or pass ``widths=[n_0, ..., n_L]``).
PROFILES: tuple[str, ...] = ("constant", "funnel", "bottleneck", "expanding")

#: Histogram x-axes: one range per row (all layers, so depth shows), each panel zoomed to its
#: own range, or ``log10 |value|`` on one range per row (exact zeros are left out).
HIST_MODES: tuple[str, ...] = ("shared", "per_layer", "log")

#: The explorer's default settings (the benchmark times one frame with these).
DEFAULTS: dict[str, Any] = {
    "depth": 10,
    "width": 256,
    "profile": "constant",
    "widths": None,
    "activation": "tanh",
    "scheme": "glorot_normal",
    "mode": "fan_in",
    "scale": 1.0,
    "input_std": 1.0,
    "batch": 256,
    "seed": 0,
    "bins": 40,
    "hist": "shared",
}

#: Defaults of the training panel: three schemes x three seeds of a small tanh net.
TRAINING_DEFAULTS: dict[str, Any] = {
    "dataset": "circles",
    "depth": 4,
    "width": 16,
    "activation": "tanh",
    "schemes": ("glorot_normal", "he_normal", "orthogonal"),
    "mode": "fan_in",
    "scale": 1.0,
    "seed": 0,
    "seeds": 3,
    "epochs": 300,
    "lr": 0.03,
    "momentum": 0.9,
    "grid": 60,
}

#: Funnel / bottleneck / expanding profiles narrow to ``width / FUNNEL_RATIO``.
FUNNEL_RATIO = 8

#: The lab's presets: exact settings the log sliders cannot hit (the scale slider moves in
#: steps of 10^0.01, so it shows 1.660 or 1.698, never 5/3). Choosing one sets these controls
#: (one redraw); every other control keeps its value.
PRESETS: dict[str, dict[str, Any]] = {
    "tanh, LeCun x 5/3 (PyTorch's tanh gain)": {
        "activation": "tanh", "scheme": "lecun_normal", "mode": "fan_in", "scale": 5 / 3,
        "input_std": 1.0,
    },
    "tanh, LeCun x 1 (critical gain, no biases)": {
        "activation": "tanh", "scheme": "lecun_normal", "mode": "fan_in", "scale": 1.0,
        "input_std": 1.0,
    },
    "relu, He x 2 (exploding)": {
        "activation": "relu", "scheme": "he_normal", "mode": "fan_in", "scale": 2.0,
        "input_std": 1.0,
    },
    "tanh, orthogonal, input std 0.1 (isometry, lecture 06)": {
        "activation": "tanh", "scheme": "orthogonal", "scale": 1.0, "input_std": 0.1,
        "depth": 50,
    },
}  # fmt: skip

# ------------------------------------------------------------------------------- validation


def _int_setting(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")
    return int(value)


def _float_setting(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{name} must be a finite number between {lo} and {hi}, got {value}")
    return float(value)


def _choice(name: str, value: Any, choices: Any) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _settings(given: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TypeError(f"unknown setting(s) {unknown}; expected some of {sorted(defaults)}")
    return {**defaults, **given}


def _widths_setting(value: Any) -> list[int] | None:
    """``None``, a sequence of ints, or a string like ``"256, 128, 64"``."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = [p for p in value.replace(",", " ").split() if p]
        try:
            value = [int(p) for p in parts]
        except ValueError:
            raise ValueError(
                f"widths must be whole numbers separated by commas, got {value!r}"
            ) from None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, Sequence) or isinstance(value, (bytes, str)):
        raise TypeError(f"widths must be a list of ints [n_0, ..., n_L], got {value!r}")
    out = [_int_setting("widths entry", v, 1, 4096) for v in value]
    if not 2 <= len(out) <= 51:
        raise ValueError(f"widths must list 2 to 51 widths [n_0, ..., n_L], got {len(out)}")
    return out


def layer_widths(profile: str, width: int, depth: int) -> list[int]:
    """Widths ``[n_0, n_1, ..., n_L]`` of a profile (``L = depth``).

    * ``"constant"``: every layer ``width`` wide;
    * ``"funnel"``: geometric from ``width`` down to ``width / 8``;
    * ``"expanding"``: the funnel reversed (``width / 8`` up to ``width``);
    * ``"bottleneck"``: down to ``width / 8`` in the middle and back up.

    Widths are rounded and at least 2.

    Examples
    --------
    >>> layer_widths("funnel", 256, 3)
    [256, 128, 64, 32]
    >>> layer_widths("bottleneck", 64, 4)
    [64, 23, 8, 23, 64]
    """
    _choice("profile", profile, PROFILES)
    width = _int_setting("width", width, 2, 4096)
    depth = _int_setting("depth", depth, 1, 50)
    t = np.arange(depth + 1) / depth  # 0 .. 1
    if profile == "constant":
        e = np.zeros_like(t)
    elif profile == "funnel":
        e = t
    elif profile == "expanding":
        e = 1.0 - t
    else:
        e = 1.0 - np.abs(2.0 * t - 1.0)
    return [max(2, int(round(width * FUNNEL_RATIO ** (-x)))) for x in e]


# ------------------------------------------------------------------------------- weights


def _draw_layer(
    scheme: str, shape: tuple[int, int], rng: np.random.Generator, mode: str
) -> np.ndarray:
    if scheme in MODE_SCHEMES:
        s, dist = MODE_SCHEMES[scheme]
        return variance_scaling(shape, rng, scale=s, mode=mode, distribution=dist)
    if scheme == "constant":
        return np.full(shape, 1.0 / shape[0], dtype=np.float32)
    if scheme == "lsuv":
        return INITIALIZERS["orthogonal"](shape, rng)
    return INITIALIZERS[scheme](shape, rng)


def _weights(
    widths: list[int], scheme: str, mode: str, scale: float, rng: np.random.Generator,
    x: np.ndarray | None, activation: str,
) -> list[np.ndarray]:  # fmt: skip
    """Draw the layers in order from ``rng``; LSUV then rescales them on ``x``."""
    ws = [
        _draw_layer(scheme, (a, b), rng, mode) for a, b in zip(widths[:-1], widths[1:], strict=True)
    ]
    if scheme == "lsuv":
        from course_utils.lsuv import lsuv

        if x is None:
            raise ValueError("LSUV needs a data batch")
        with np.errstate(all="ignore"):
            ws = lsuv(ws, x, activation).weights
    f32 = np.float32(scale)
    return [np.asarray(w, dtype=np.float32) * f32 for w in ws]


def _theory_variances(
    widths: list[int], scheme: str, mode: str, scale: float, weights: list[np.ndarray]
) -> np.ndarray:
    """Var(w) per layer for the mean-field overlay (NaN where the theory does not apply)."""
    pairs = list(zip(widths[:-1], widths[1:], strict=True))
    if scheme == "constant":  # identical weights: not independent, no mean-field theory
        return np.full(len(pairs), np.nan)
    if scheme == "lsuv":  # data-dependent: the variances LSUV chose
        return np.array([float(np.mean(np.square(w, dtype=np.float64))) for w in weights])
    if scheme in MODE_SCHEMES:
        s, _ = MODE_SCHEMES[scheme]
        return np.array([
            theory.weight_variance("variance_scaling", a, b, multiplier=scale, scale=s, mode=mode)
            for a, b in pairs
        ])  # fmt: skip
    return np.array([theory.weight_variance(scheme, a, b, multiplier=scale) for a, b in pairs])


# ------------------------------------------------------------------------------- histograms


def _finite_range(values: list[np.ndarray]) -> tuple[float, float]:
    lo, hi = math.inf, -math.inf
    for v in values:
        a, b = float(v.min()), float(v.max())
        if not (math.isfinite(a) and math.isfinite(b)):
            f = v[np.isfinite(v)]
            if not f.size:
                continue
            a, b = float(f.min()), float(f.max())
        lo, hi = min(lo, a), max(hi, b)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return -0.5, 0.5
    if not hi > lo:
        pad = 0.5 if lo == 0 else 0.5 * abs(lo)
        return lo - pad, hi + pad
    return lo, hi


def _counts(v: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    """Fractions of all of ``v`` per bin of [lo, hi] (one pass: quantize, then bincount).
    Non-finite values are not counted."""
    v = v.ravel()
    if not np.all(np.isfinite(v)):
        n = v.size
        v = v[np.isfinite(v)]
    else:
        n = v.size
    idx = ((v - np.float32(lo)) * np.float32(bins / (hi - lo))).astype(np.intp)
    np.clip(idx, 0, bins - 1, out=idx)
    return np.bincount(idx, minlength=bins)[:bins] / max(n, 1)


def _histograms(values: list[np.ndarray], bins: int, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-layer histograms (fractions of each layer's values) and their edges.

    ``shared``: one range for all layers; ``per_layer``: each layer's own range; ``log``:
    ``log10 |v|`` on one range (exact zeros are not counted, so a row may sum to less than 1).
    """
    if how == "log":
        with np.errstate(divide="ignore"):
            values = [np.log10(np.abs(v)) for v in values]
    counts = np.zeros((len(values), bins))
    edges = np.zeros((len(values), bins + 1))
    if how in ("shared", "log"):
        lo, hi = _finite_range(values)
        e = np.linspace(lo, hi, bins + 1)
        for i, v in enumerate(values):
            counts[i], edges[i] = _counts(v, lo, hi, bins), e
    else:
        for i, v in enumerate(values):
            lo, hi = _finite_range([v])
            counts[i], edges[i] = _counts(v, lo, hi, bins), np.linspace(lo, hi, bins + 1)
    return counts, edges


# ------------------------------------------------------------------------------- spectrum


def _jacobian_singular_values(
    weights: list[np.ndarray], pre: list[np.ndarray], activation: str, example: int = 0
) -> np.ndarray:
    """Singular values (descending, float64) of ``J = W_1 D_1 ... W_L D_L`` at one example.

    The running product is renormalized after every layer (its log-scale kept aside), so a
    vanishing or exploding product neither underflows nor overflows float32.
    """
    f = get_activation(activation)
    log_scale = 0.0
    m = None
    for w, z in zip(weights, pre, strict=True):
        d = np.asarray(f.derivative(z[example]), dtype=np.float32)
        m = w * d if m is None else (m @ w) * d
        peak = float(np.max(np.abs(m)))
        if not math.isfinite(peak):
            return np.full(min(m.shape), np.nan)
        if peak == 0.0:
            return np.zeros(min(m.shape))
        m = m * np.float32(1.0 / peak)
        log_scale += math.log(peak)
    try:
        s = np.linalg.svd(m, compute_uv=False).astype(np.float64)
    except np.linalg.LinAlgError:  # pragma: no cover - LAPACK did not converge
        return np.full(min(m.shape), np.nan)
    with np.errstate(over="ignore", under="ignore"):
        return s * math.exp(min(log_scale, 700.0)) if log_scale < 700 else np.full(s.size, np.inf)


def _spectrum_reference(
    widths: list[int], scheme: str, activation: str, scale: float, k: int
) -> tuple[np.ndarray | None, str]:
    """An exact reference for the sorted singular values, where the theory has one: orthogonal
    layers in a linear network (every singular value ``scale**L``)."""
    if activation == "linear" and scheme == "orthogonal":
        return np.full(k, scale ** (len(widths) - 1)), "exact: scale$^L$"
    return None, ""


# ------------------------------------------------------------------------------- rendering


class _TextCachingRenderer(RendererAgg):
    """Agg renderer that keeps the bitmap of every plain text it drew (keyed by string, font,
    colour and angle) and pastes it on later frames instead of rendering the glyphs again.

    Matplotlib 3.11 lays out and rasterizes text glyph by glyph on every draw, which was about
    two thirds of a frame; a slider move changes a few titles and tick labels and leaves the
    other labels as they were. A pasted label sits on whole pixels (matplotlib places glyphs at
    sub-pixel positions): the difference is at most one pixel of anti-aliasing.
    Mathtext, clipped text and texts with an alpha go the ordinary way.
    """

    _MAX = 2048

    def __init__(self, width, height, dpi):
        super().__init__(width, height, dpi)
        self._text_images = {}
        self._draw_image = self._renderer.draw_image

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        alpha = gc.get_alpha()
        clipped = gc.get_clip_rectangle() is not None or gc.get_clip_path()[0] is not None
        if ismath or clipped or alpha not in (None, 1, 1.0):
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        key = (s, hash(prop), float(angle), tuple(gc.get_rgb()), alpha, gc.get_antialiased())
        hit = self._text_images.get(key)
        if hit is None:
            w, h, d = self.get_text_width_height_descent(s, prop, False)
            pad = int(math.ceil(w + h)) + 4
            size = 2 * pad
            tmp = RendererAgg(size, size, self.dpi)
            RendererAgg.draw_text(tmp, gc, pad, pad, s, prop, angle, False, mtext)
            rgba = np.asarray(tmp.buffer_rgba())
            rows = np.flatnonzero(rgba[..., 3].any(axis=1))
            cols = np.flatnonzero(rgba[..., 3].any(axis=0))
            if rows.size == 0:
                hit = (None, 0, 0)
            else:
                r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
                hit = (np.ascontiguousarray(rgba[r0:r1, c0:c1][::-1]), c0 - pad, r0 - pad)
            if len(self._text_images) >= self._MAX:
                self._text_images.clear()
            self._text_images[key] = hit
        img, dx, dy = hit
        if img is None:
            return
        left = round(x) + dx
        top = round(y) + dy  # downwards
        self._draw_image(gc, left, self.height - top - img.shape[0], img)


class _LabCanvas(FigureCanvasAgg):
    """An Agg canvas whose renderer caches text bitmaps (:class:`_TextCachingRenderer`)."""

    def get_renderer(self):
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = _TextCachingRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer


# ------------------------------------------------------------------------------- panel 1


def explorer_data(**settings: Any) -> dict[str, Any]:
    """Everything the explorer's first panel shows, as plain arrays (no widgets, no figures).

    Settings (keyword-only; defaults in :data:`DEFAULTS`):

    ``depth`` (1-50) and ``width`` (2-2048) with ``profile`` (one of :data:`PROFILES`, see
    :func:`layer_widths`), or ``widths`` (``[n_0, ..., n_L]``, a list or a string such as
    ``"256, 128, 64"``; overrides the three); ``activation`` (one of :data:`ACTIVATIONS`);
    ``scheme`` (one of :data:`SCHEMES`); ``mode`` (one of :data:`MODES`, used by the schemes in
    :data:`MODE_SCHEMES`, ignored by the others); ``scale`` (multiplies every weight,
    0 < scale <= 100; for LSUV it multiplies the rescaled weights); ``input_std`` (the std of
    the inputs, 1e-6-100: a small one puts tanh in its linear range); ``batch`` (2-8192);
    ``seed`` (int >= 0); ``bins`` (2-200); ``hist`` (one of :data:`HIST_MODES`).

    The network: ``x ~ N(0, input_std^2)`` of shape ``(batch, n_0)``; ``z_l = a_(l-1) W_l``,
    ``a_l = f(z_l)``, ``W_l = scale * scheme((n_(l-1), n_l), rng)`` (float32, drawn layer by
    layer); backward from ``dL/da_L ~ N(0, 1)``. Draw order from
    ``numpy.random.default_rng(seed)``: the weights, then ``x``, then ``dL/da_L`` (LSUV rescales
    on ``x`` after it is drawn). Equal settings give equal arrays.

    Cost: the forward and backward passes are ``2 L`` products of a ``(batch, n)`` by an
    ``(n, n)`` matrix; the spectrum adds ``L`` products of ``(n, n)`` matrices and one SVD, as
    much again at ``batch = n`` (at the widest settings, 50 layers of 1024, a few seconds).

    Returns
    -------
    dict
        ``settings`` (resolved); ``widths`` (``[n_0, ..., n_L]``); ``layers`` (1..L); per
        layer, arrays of length L: ``act_mean``, ``act_std``, ``pre_std``, ``grad_std``,
        ``theory_act_std``, ``theory_pre_std``, ``theory_grad_std`` (NaN for ``constant``:
        identical weights are not independent), ``weight_var`` (the variances the theory used),
        ``saturated`` (fraction of outputs within 0.01 of a bound, tanh and sigmoid; NaN
        otherwise), ``dead`` (fraction of units at 0 on the whole batch, ReLU; NaN otherwise);
        ``act_counts``/``act_edges`` and ``grad_counts``/``grad_edges`` (``(L, bins)``
        fractions and ``(L, bins + 1)`` edges, in ``log10 |value|`` when ``hist="log"``);
        ``jac_sv`` (the singular values of the input-output Jacobian at the batch's first
        example, descending, ``min(widths)`` of them), ``jac_rms_theory`` (the mean-field RMS
        singular value, see the module docstring), ``jac_reference`` (an exact curve for the
        sorted values, or ``None``) and ``jac_reference_label``.

    Examples
    --------
    >>> d = explorer_data(depth=5, width=64, activation="relu", scheme="he_normal")
    >>> d["act_std"].shape, d["act_counts"].shape, d["jac_sv"].shape
    ((5,), (5, 40), (64,))
    """
    s = _settings(settings, DEFAULTS)
    depth = _int_setting("depth", s["depth"], 1, 50)
    width = _int_setting("width", s["width"], 2, 2048)
    profile = _choice("profile", s["profile"], PROFILES)
    typed = _widths_setting(s["widths"])
    batch = _int_setting("batch", s["batch"], 2, 8192)
    seed = _int_setting("seed", s["seed"], 0, 2**63 - 1)
    bins = _int_setting("bins", s["bins"], 2, 200)
    scale = _float_setting("scale", s["scale"], 1e-12, 100.0)
    input_std = _float_setting("input_std", s["input_std"], 1e-6, 100.0)
    activation = _choice("activation", s["activation"], ACTIVATIONS)
    scheme = _choice("scheme", s["scheme"], SCHEMES)
    mode = _choice("mode", s["mode"], MODES)
    hist = _choice("hist", s["hist"], HIST_MODES)
    widths = typed if typed is not None else layer_widths(profile, width, depth)
    depth = len(widths) - 1

    rng = np.random.default_rng(seed)
    if scheme == "lsuv":  # LSUV needs the batch: draw weights, then x, then rescale on x
        raw = [
            _draw_layer("lsuv", (a, b), rng, mode)
            for a, b in zip(widths[:-1], widths[1:], strict=True)
        ]
        x = rng.standard_normal((batch, widths[0]), dtype=np.float32)
        x *= np.float32(input_std)
        from course_utils.lsuv import lsuv

        try:
            with np.errstate(all="ignore"):
                raw = lsuv(raw, x, activation).weights
        except ValueError as err:
            raise ValueError(f"scheme 'lsuv' cannot rescale this network: {err}") from None
        weights = [np.asarray(w, dtype=np.float32) * np.float32(scale) for w in raw]
    else:
        weights = _weights(widths, scheme, mode, scale, rng, None, activation)
        x = rng.standard_normal((batch, widths[0]), dtype=np.float32)
        x *= np.float32(input_std)
    g_out = rng.standard_normal((batch, widths[-1]), dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        trace = network.forward(x, weights, activation)
        grads = network.backward(trace, weights, activation, g_out, weight_grads=False)
        act, pre, sig = trace.activations, trace.pre_activations, grads.activations
        act_std = np.array([float(v.std()) for v in act])
        act_mean = np.array([float(v.mean()) for v in act])
        pre_std = np.array([float(v.std()) for v in pre])
        grad_std = np.array([float(v.std()) for v in sig])
        if activation == "tanh":
            saturated = theory.saturation_fraction(act)
        elif activation == "sigmoid":  # within 0.01 of its bounds 0 and 1
            saturated = theory.saturation_fraction([2 * v - 1 for v in act], 0.98)
        else:
            saturated = np.full(depth, np.nan)
        if activation == "relu":
            dead = theory.dead_fraction(act, per="unit")
        else:
            dead = np.full(depth, np.nan)
        act_counts, act_edges = _histograms(act, bins, hist)
        grad_counts, grad_edges = _histograms(sig, bins, hist)
        sv = _jacobian_singular_values(weights, pre, activation)
    v = _theory_variances(widths, scheme, mode, scale, weights)
    k = min(widths)
    sv = sv[:k]
    if np.all(np.isfinite(v)):
        pred = theory.predict(widths, list(v), activation, input_var=input_std**2)
        t_act, t_pre, t_grad = pred.activation_std, pred.pre_activation_std, pred.grad_std
        rms = math.sqrt(widths[0] * pred.input_grad_var / k)
        ref, ref_label = _spectrum_reference(widths, scheme, activation, scale, k)
    else:
        t_act = t_pre = t_grad = np.full(depth, np.nan)
        rms, ref, ref_label = math.nan, None, ""
    return {
        "settings": {
            "depth": depth if typed is None else s["depth"],
            "width": width,
            "profile": profile,
            "widths": typed,
            "activation": activation,
            "scheme": scheme,
            "mode": mode,
            "scale": scale,
            "input_std": input_std,
            "batch": batch,
            "seed": seed,
            "bins": bins,
            "hist": hist,
        },
        "widths": list(widths),
        "layers": np.arange(1, depth + 1),
        "act_mean": act_mean,
        "act_std": act_std,
        "pre_std": pre_std,
        "grad_std": grad_std,
        "theory_act_std": np.asarray(t_act, dtype=np.float64),
        "theory_pre_std": np.asarray(t_pre, dtype=np.float64),
        "theory_grad_std": np.asarray(t_grad, dtype=np.float64),
        "weight_var": v,
        "saturated": saturated,
        "dead": dead,
        "act_counts": act_counts,
        "act_edges": act_edges,
        "grad_counts": grad_counts,
        "grad_edges": grad_edges,
        "jac_sv": sv,
        "jac_rms_theory": rms,
        "jac_reference": ref,
        "jac_reference_label": ref_label,
    }


def _shown_layers(depth: int, k: int = 5) -> list[int]:
    """Up to ``k`` layer indices (0-based) spread evenly from the first to the last."""
    if depth <= k:
        return list(range(depth))
    return sorted({int(round(i * (depth - 1) / (k - 1))) for i in range(k)})


def _positive(a: Any) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)


def _log_limits(*arrays: Any, floor: float | None = None) -> tuple[float, float] | None:
    """Whole-decade limits around the positive finite values (None when there are none)."""
    vals = np.concatenate([_positive(np.atleast_1d(a)).ravel() for a in arrays])
    vals = vals[np.isfinite(vals)]
    if floor is not None:
        vals = vals[vals >= floor]
    if not vals.size:
        return None
    lo, hi = math.floor(math.log10(vals.min()) + 1e-9), math.ceil(math.log10(vals.max()) - 1e-9)
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    return 10.0**lo, 10.0**hi


def _decade(value: float, _pos: Any = None) -> str:
    """Plain-text decade labels (``1e-3``, ``1``, ``10``): no mathtext to parse on every draw."""
    if not value > 0:
        return ""
    e = int(round(math.log10(value)))
    return {0: "1", 1: "10", -1: "0.1"}.get(e, f"1e{e}")


_DECADE = FuncFormatter(_decade)


def _log_axis(ax: Any) -> None:
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=5))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(_DECADE)


#: Colour-blind-safe colours (Okabe-Ito) and a second cue per series (marker, line style).
_ACT, _GRAD = PALETTE[0], PALETTE[3]  # blue, vermillion
_FIG_SIZE = (12.0, 6.6)


def _place_labels(ax: Any, left_pts: float = 34.0, below_pts: float = 22.0) -> None:
    """Fix the axis-label positions (in points from the axes) instead of letting matplotlib
    measure every tick label of the axes and its siblings on each draw, and the title's."""
    fig = ax.figure
    pos = ax.get_position()
    w = pos.width * fig.get_figwidth() * 72.0
    h = pos.height * fig.get_figheight() * 72.0
    ax.yaxis.set_label_coords(-left_pts / w, 0.5)
    ax.xaxis.set_label_coords(0.5, -below_pts / h)


def _build_explorer_figure(dpi: int) -> Figure:
    fig = Figure(figsize=_FIG_SIZE, dpi=dpi)
    _LabCanvas(fig)  # one canvas (and text cache) for the figure's life (see figure_png)
    gs = fig.add_gridspec(3, 15, left=0.075, right=0.985, bottom=0.085, top=0.9,
                          hspace=0.62, wspace=0.55)  # fmt: skip
    bottom = gs[2, :].subgridspec(1, 3, width_ratios=[6, 5, 4], wspace=0.28)
    h: dict[str, Any] = {"hist": {}}
    for row, (key, colour, ylabel) in enumerate(
        (("act", _ACT, "activations\nfraction"), ("grad", _GRAD, "gradients\nfraction"))
    ):
        axes, steps, titles = [], [], []
        for j in range(5):
            ax = fig.add_subplot(gs[row, 3 * j : 3 * j + 3])
            step = ax.stairs(np.zeros(2), np.arange(3.0), fill=True, color=colour, alpha=0.85,
                             lw=0)  # fmt: skip
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.yaxis.set_major_locator(MaxNLocator(3))
            ax.tick_params(labelsize=8, length=3, pad=2)
            if j:  # the row shares the first panel's y-range (and its ticks)
                ax.tick_params(axis="y", left=False, labelleft=False)
            else:
                ax.set_ylabel(ylabel, fontsize=9)
            titles.append(ax.set_title("", fontsize=9, pad=3, y=1.0))
            axes.append(ax)
            steps.append(step)
        h["hist"][key] = (axes, steps, titles)
    ax = fig.add_subplot(bottom[0, 0])
    lines = {
        "act": ax.plot([], [], "o", color=_ACT, ms=4, label="activation std")[0],
        "theory_act": ax.plot([], [], "-", color=_ACT, lw=1.5, label="theory")[0],
        "grad": ax.plot([], [], "s", color=_GRAD, ms=4, mfc="none", label="gradient std")[0],
        "theory_grad": ax.plot([], [], "--", color=_GRAD, lw=1.5, label="theory")[0],
    }
    _log_axis(ax)
    ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    ax.set_xlabel("layer", fontsize=9, labelpad=1)
    ax.set_ylabel("std (log)", fontsize=9)
    ax.set_title("Std by depth: markers measured, lines theory", fontsize=10, pad=3, y=1.0)
    ax.tick_params(labelsize=8, length=3, pad=2)
    ax.grid(True, alpha=0.3)
    ax.legend(
        fontsize=7.5, ncol=2, loc="lower left", handlelength=1.8, borderaxespad=0.3, framealpha=0.8
    )
    note = ax.text(0.5, 0.5, "", ha="center", va="center", transform=ax.transAxes, fontsize=9)
    h["std"] = (ax, lines, note)

    ax = fig.add_subplot(bottom[0, 1])
    lines = {
        "sv": ax.plot([], [], "-", color=PALETTE[7], lw=1.8, label="measured")[0],
        "rms": ax.plot([], [], "--", color=PALETTE[2], lw=1.5, label="theory RMS")[0],
        "ref": ax.plot([], [], ":", color=PALETTE[4], lw=2.2, label="exact")[0],
    }
    _log_axis(ax)
    ax.set_xlabel("rank / number of singular values", fontsize=9, labelpad=1)
    ax.set_ylabel("singular value", fontsize=9)
    ax.tick_params(labelsize=8, length=3, pad=2)
    ax.grid(True, alpha=0.3)
    title = ax.set_title("", fontsize=10, pad=3, y=1.0)
    legend = ax.legend(fontsize=7.5, loc="lower left", handlelength=1.8, borderaxespad=0.3)
    note2 = ax.text(0.5, 0.5, "", ha="center", va="center", transform=ax.transAxes, fontsize=9)
    h["spec"] = (ax, lines, title, legend, note2)

    ax = fig.add_subplot(bottom[0, 2])
    lines = {
        "saturated": ax.plot([], [], "o-", color=PALETTE[2], ms=4, label="saturated")[0],
        "dead": ax.plot([], [], "s--", color=PALETTE[4], ms=4, label="dead units")[0],
    }
    ax.set_ylim(-0.03, 1.03)
    ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax.set_xlabel("layer", fontsize=9, labelpad=1)
    ax.set_ylabel("fraction", fontsize=9)
    ax.set_title("Saturated / dead", fontsize=10, pad=3, y=1.0)
    ax.tick_params(labelsize=8, length=3, pad=2)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left", handlelength=1.8, borderaxespad=0.3)
    note3 = ax.text(0.5, 0.5, "", ha="center", va="center", transform=ax.transAxes, fontsize=9)
    h["frac"] = (ax, lines, note3)
    h["suptitle"] = fig.suptitle("", fontsize=11)
    for ax in fig.axes:
        _place_labels(ax, 30.0, 19.0)
    fig._init_lab = h  # the artists explorer_figure updates in place
    return fig


def _widths_text(widths: list[int]) -> str:
    if len(set(widths)) == 1:
        return f"{len(widths) - 1} layers x {widths[0]} units"
    if len(widths) <= 7:
        return "widths " + "-".join(map(str, widths))
    return f"{len(widths) - 1} layers, widths {widths[0]}-{widths[1]}-...-{widths[-2]}-{widths[-1]}"


def _g(x: float) -> str:
    return f"{x:.2g}" if math.isfinite(x) else "undefined"


def spread_text(sv: Any) -> str:
    """How far a Jacobian's singular values spread, in words that hold on every CPU.

    The spread is measured from the largest singular value down to the *median*, in decades.
    The smallest singular values of a deep float32 product sit at float32's rounding floor
    (about 10^-6 of the largest after a few dozen layers) and change with the CPU's rounding, so
    they are not used; a median below that floor is reported as such.

    Examples
    --------
    >>> spread_text(np.array([1.0, 0.1, 0.01]))
    'the largest 1.0 decades above the median'
    >>> spread_text(np.array([1.0, 1e-8, 1e-9]))
    'the median more than 6 decades below the largest (float32 rounding floor)'
    """
    sv = np.asarray(sv, dtype=float)
    if sv.size == 0 or not np.all(np.isfinite(sv)):
        return "undefined (non-finite)"
    top, med = float(np.max(sv)), float(np.median(sv))
    if top == 0.0:
        return "all 0"
    if med <= top * 1e-6:
        return "the median more than 6 decades below the largest (float32 rounding floor)"
    return f"the largest {math.log10(top / med):.1f} decades above the median"


def explorer_description(data: dict[str, Any]) -> str:
    """A text alternative for :func:`explorer_figure`, written from the data it draws.

    Examples
    --------
    >>> explorer_description(explorer_data(depth=2, width=16, batch=8))[:40]
    'Init lab: 2 layers x 16 units, tanh, glo'
    """
    st = data["settings"]
    widths = data.get("widths") or [st["width"]] * (len(data["layers"]) + 1)
    last = len(data["layers"])
    act, grad = data["act_std"], data["grad_std"]
    t_act, t_grad = data["theory_act_std"], data["theory_grad_std"]
    sv = np.asarray(data["jac_sv"], dtype=float)
    rms = math.sqrt(float(np.mean(sv**2))) if sv.size else math.nan
    text = (
        f"Init lab: {_widths_text(list(widths))}, {st['activation']}, {st['scheme']}"
        f" x {st['scale']:g}. Histograms of activations and gradients of layers 1 to {last}"
        f" ({'one x-range per row' if st.get('hist') != 'per_layer' else 'each panel zoomed'})."
        f" Activation std from {_g(act[0])} at layer 1 to {_g(act[-1])} at layer {last}"
        f" (theory {_g(t_act[0])} to {_g(t_act[-1])}); gradient std {_g(grad[0])} at layer 1"
        f" and {_g(grad[-1])} at layer {last} (theory {_g(t_grad[0])} and {_g(t_grad[-1])})."
        f" Jacobian singular values: {spread_text(sv)}, RMS {_g(rms)}"
        f" (theory {_g(data['jac_rms_theory'])})."
    )
    for key, name in (("saturated", "saturated"), ("dead", "dead units")):
        v = np.asarray(data[key], dtype=float)
        if not np.all(np.isnan(v)):
            text += f" Largest {name} fraction {np.nanmax(v):.0%}."
    return text


def explorer_figure(data: dict[str, Any], *, fig: Figure | None = None, dpi: int = 100) -> Figure:
    """Draw :func:`explorer_data`'s output; with ``fig`` (an earlier result), update it in place.

    Row 1: activation histograms of up to 5 layers (first to last); row 2: the back-propagated
    gradients of the same layers. With ``hist="shared"`` (the default) or ``"log"`` every panel
    of a row has the same x-range, so a vanishing signal narrows from panel to panel; with
    ``"per_layer"`` each panel zooms to its own range. Row 3: std by depth (measured markers,
    theory lines, log scale); the sorted singular values of the input-output Jacobian with the
    theory's RMS (and the exact curve where there is one); the saturated / dead fractions.

    Series that differ by colour also differ by marker or line style (Okabe-Ito colours).
    Updating in place moves data and limits of the existing artists: no axes, lines or patches
    are created, which keeps one frame cheap.

    Examples
    --------
    >>> fig = explorer_figure(explorer_data(depth=3, width=32, batch=64))
    >>> len(fig.axes)
    13
    """
    if fig is None or getattr(fig, "_init_lab", None) is None:
        fig = _build_explorer_figure(dpi)
    h = fig._init_lab
    st = data["settings"]
    layers = np.asarray(data["layers"])
    depth = len(layers)
    widths = data.get("widths") or [st["width"]] * (depth + 1)
    shown = _shown_layers(depth)
    log_hist = st.get("hist") == "log"
    for key, quantity in (("act", "a_l"), ("grad", "dL/da_l")):
        axes, steps, titles = h["hist"][key]
        counts, edges = data[f"{key}_counts"], data[f"{key}_edges"]
        top = max(float(counts[shown].max()), 1e-12) * 1.08
        for j, ax in enumerate(axes):
            if j >= len(shown):
                ax.set_visible(False)
                continue
            ax.set_visible(True)
            layer = shown[j]
            e = edges[layer]
            steps[j].set_data(counts[layer], e)
            ax.set_xlim(e[0], e[-1])
            ax.set_ylim(0, top)
            # one x-range per row: the first panel's ticks and labels serve the row (each tick
            # mark is an artist to draw, so the other panels go without)
            own = j == 0 or st.get("hist") == "per_layer"
            ax.tick_params(axis="x", bottom=own, labelbottom=own)
            std = data[f"{key}_std"][layer]
            titles[j].set_text(f"layer {layer + 1} (n={widths[layer + 1]}): std {std:.2g}")
            if j == len(shown) // 2:
                how = {"shared": "one x-range for the row", "per_layer": "each panel zoomed",
                       "log": "one x-range for the row"}[st.get("hist", "shared")]  # fmt: skip
                name = f"log10 |{quantity}|" if log_hist else f"value of {quantity}"
                ax.set_xlabel(f"{name} ({how})", fontsize=9, labelpad=1)
            else:
                ax.set_xlabel("")

    ax, lines, note = h["std"]
    xs = layers.astype(float)
    for name, key in (("act", "act_std"), ("theory_act", "theory_act_std"),
                      ("grad", "grad_std"), ("theory_grad", "theory_grad_std")):  # fmt: skip
        lines[name].set_data(xs, _positive(data[key]))
    lim = _log_limits(data["act_std"], data["grad_std"], data["theory_act_std"],
                      data["theory_grad_std"])  # fmt: skip
    ax.set_xlim(0.5, depth + 0.5)
    if lim is None:
        ax.set_ylim(1e-3, 1e1)
        note.set_text("every std is 0 (nothing to show on a log axis)")
    else:
        ax.set_ylim(*lim)
        note.set_text("")

    ax, lines, title, legend, note2 = h["spec"]
    sv = np.asarray(data["jac_sv"], dtype=np.float64)
    k = sv.size
    rank = (np.arange(k) + 0.5) / k
    peak = float(np.nanmax(sv)) if k and np.any(np.isfinite(sv)) else math.nan
    floor = peak * 1e-6 if math.isfinite(peak) and peak > 0 else None  # float32 rounding floor
    shown_sv = np.where(sv >= (floor or 0), sv, np.nan) if floor else _positive(sv)
    lines["sv"].set_data(rank, _positive(shown_sv))
    rms = data["jac_rms_theory"]
    lines["rms"].set_data([0, 1], [rms, rms] if math.isfinite(rms) and rms > 0 else [np.nan] * 2)
    ref = data.get("jac_reference")
    lines["ref"].set_data(
        rank if ref is not None else [], _positive(ref) if ref is not None else []
    )
    legend.get_texts()[2].set_text(data.get("jac_reference_label") or "exact (none here)")
    ax.set_xlim(0, 1)
    refs = [rms] + ([] if ref is None else [ref])
    lim = _log_limits(shown_sv, *refs)
    n_zero = int(np.sum(~(sv >= (floor or 0)) | ~np.isfinite(sv))) if k else 0
    if lim is None:
        ax.set_ylim(1e-3, 1e1)
        note2.set_text("the Jacobian is 0")
    else:
        ax.set_ylim(*lim)
        note2.set_text("")
    spread = (math.log10(np.nanmax(shown_sv) / np.nanmin(shown_sv))
              if lim is not None and np.any(np.isfinite(shown_sv)) else math.nan)  # fmt: skip
    zeros = f", {n_zero} below 1e-6 x max" if n_zero else ""
    title.set_text(f"Jacobian singular values: {spread:.1f} decades{zeros}")

    ax, lines, note3 = h["frac"]
    shown_any = False
    for key in ("saturated", "dead"):
        v = np.asarray(data[key], dtype=float)
        lines[key].set_data(xs, v)
        shown_any = shown_any or not np.all(np.isnan(v))
    ax.set_xlim(0.5, depth + 0.5)
    note3.set_text("" if shown_any else f"not applicable\nto {st['activation']}")

    mode = f" ({st['mode']})" if st["scheme"] in MODE_SCHEMES else ""
    h["suptitle"].set_text(
        f"{_widths_text(list(widths))}, {st['activation']}, {st['scheme']}{mode} x {st['scale']:g},"
        f" batch {st['batch']}, seed {st['seed']}"
    )
    return describe(fig, explorer_description(data))


def explorer_average(seeds: int = 10, **settings: Any) -> dict[str, Any]:
    """:func:`explorer_data` over ``seeds`` seeds (0 .. seeds-1): per-layer mean and standard
    error of the measured stds, next to the theory (which does not depend on the seed).

    One seed's network is one sample: at finite width each layer multiplies a signal's norm by
    a random factor, and the factors compound with depth, so a single run can sit well away
    from the mean-field line. The mean over seeds, with its standard error
    ``std(ddof=1) / sqrt(seeds)``, is what the theory predicts.

    Returns
    -------
    dict
        ``widths``, ``layers``, ``seeds``; for ``act_std``, ``pre_std``, ``grad_std``:
        ``<key>_mean`` and ``<key>_se`` (arrays over layers); ``theory_act_std``,
        ``theory_pre_std``, ``theory_grad_std``; ``jac_rms`` (per seed: the RMS of the Jacobian's
        singular values) and ``jac_rms_theory``.

    Examples
    --------
    >>> a = explorer_average(4, depth=3, width=32, batch=16)
    >>> a["act_std_mean"].shape, a["seeds"]
    ((3,), 4)
    """
    n = _int_setting("seeds", seeds, 2, 1000)
    if "seed" in settings:
        raise TypeError("explorer_average uses seeds 0 .. seeds-1; do not pass seed=")
    runs = [explorer_data(**settings, seed=k) for k in range(n)]
    first = runs[0]
    out: dict[str, Any] = {"widths": first["widths"], "layers": first["layers"], "seeds": n}
    for key in ("act_std", "pre_std", "grad_std"):
        v = np.array([r[key] for r in runs])
        out[f"{key}_mean"] = v.mean(axis=0)
        out[f"{key}_se"] = v.std(axis=0, ddof=1) / math.sqrt(n)
    for key in ("theory_act_std", "theory_pre_std", "theory_grad_std", "jac_rms_theory"):
        out[key] = first[key]
    out["jac_rms"] = np.array([math.sqrt(float(np.mean(r["jac_sv"] ** 2))) for r in runs])
    return out


def spectra_figure(runs: dict[str, dict[str, Any]], *, title: str | None = None) -> Figure:
    """Sorted singular values of the input-output Jacobian of several :func:`explorer_data`
    results on one log axis, each with its theory RMS (a horizontal line of the same colour).

    Values below 1e-6 of a run's largest are float32 rounding and are left out of the plot; the
    description gives each spread from the largest to the median (:func:`spread_text`).

    Examples
    --------
    >>> fig = spectra_figure({"a": explorer_data(depth=2, width=16, batch=4)})
    >>> len(fig.axes)
    1
    """
    if not runs:
        raise ValueError("runs must map at least one label to an explorer_data result")
    fig = Figure(figsize=(7.5, 4.0), dpi=100)
    _LabCanvas(fig)
    ax = fig.add_subplot(1, 1, 1)
    for i, (label, d) in enumerate(runs.items()):
        sv = np.asarray(d["jac_sv"], dtype=float)
        keep = sv >= sv.max() * 1e-6 if sv.size and sv.max() > 0 else np.zeros(sv.size, bool)
        rank = (np.arange(sv.size) + 0.5) / sv.size
        c = _scheme_colour(i)
        ax.plot(rank[keep], sv[keep], color=c, ls=_STYLES[i % 6], lw=2, label=label)
        rms = d["jac_rms_theory"]
        if math.isfinite(rms) and rms > 0:
            ax.axhline(rms, color=c, ls=(0, (1, 3)), lw=1.2)
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("rank / number of singular values")
    ax.set_ylabel("singular value of the input-output Jacobian")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, title="dotted: theory RMS", title_fontsize=8)
    ax.set_title(title or "Jacobian spectra", fontsize=10)
    fig.subplots_adjust(left=0.11, right=0.98, top=0.9, bottom=0.13)
    parts = []
    for label, d in runs.items():
        sv = np.asarray(d["jac_sv"], dtype=float)
        parts.append(f"{label}: {spread_text(sv)}, RMS {_g(math.sqrt(float(np.mean(sv**2))))}"
                     f" (theory {_g(d['jac_rms_theory'])})")  # fmt: skip
    text = f"{ax.get_title()}. Sorted singular values on a log axis. " + "; ".join(parts) + "."
    return describe(fig, text)


def figure_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes (Agg, no pyplot) for an ``ipywidgets.Image``.

    The figure keeps one Agg canvas across calls, so its renderer, matplotlib's text-layout
    cache and (for the lab's figures) the text-bitmap cache survive from frame to frame
    (``savefig`` would make a new canvas and rasterize every label again); the pixels are
    encoded as RGB at zlib level 1.
    """
    from PIL import Image

    canvas = fig.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(fig)
    canvas.draw()
    w, h = canvas.get_width_height(physical=True)
    rgb = Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    buf = io.BytesIO()
    rgb.save(buf, format="png", compress_level=1)
    return buf.getvalue()


# ------------------------------------------------------------------------------- panel 2


def _schemes_setting(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence) or not value:
        raise TypeError(f"schemes must be a non-empty list of scheme names, got {value!r}")
    out = tuple(_choice("schemes entry", v, SCHEMES) for v in value)
    if len(set(out)) != len(out):
        raise ValueError(f"schemes must not repeat a name, got {list(out)}")
    if len(out) > 6:
        raise ValueError(f"schemes must list at most 6 names, got {len(out)}")
    return out


def _forward_runs(x: np.ndarray, ws: list[np.ndarray], bs: list[np.ndarray], f: Any):
    """Forward pass of all runs at once: ``x`` (N, n_0) or (R, N, n_0); weights (R, n_in, n_out).
    Returns the list of pre-activations and of layer inputs (hidden activation, linear output)."""
    a = x
    inputs, zs = [], []
    last = len(ws) - 1
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        inputs.append(a)
        z = np.matmul(a, w)
        z += b
        zs.append(z)
        a = z if i == last else f(z)
    return zs, inputs, a  # inputs[i + 1] = f(zs[i]) for the hidden layers


def _loss_and_grad(logits: np.ndarray, y: np.ndarray, binary: bool):
    """Mean loss per run and dL/dlogits: BCE with logits (one output) or softmax cross-entropy."""
    n = logits.shape[1]
    if binary:
        z = logits[..., 0]
        loss = np.mean(np.logaddexp(0.0, z) - y * z, axis=1)
        p = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid without overflow
        grad = ((p - y) / n)[..., None]
        pred = (z > 0).astype(np.int64)
    else:
        m = logits.max(axis=2, keepdims=True)
        e = np.exp(logits - m)
        s = e.sum(axis=2, keepdims=True)
        logp = logits - m - np.log(s)
        onehot = np.eye(logits.shape[2], dtype=logits.dtype)[y]
        loss = -np.mean(np.sum(onehot * logp, axis=2), axis=1)
        grad = (e / s - onehot) / n
        pred = np.argmax(logits, axis=2)
    return loss, grad, pred


def _probabilities(logits: np.ndarray, binary: bool) -> np.ndarray:
    if binary:
        p1 = 0.5 * (1.0 + np.tanh(0.5 * logits[..., 0]))
        return np.stack([1.0 - p1, p1], axis=-1)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def training_data(**settings: Any) -> dict[str, Any]:
    """Several schemes side by side, each trained from ``seeds`` initializations on a 2-D data set.

    Settings (defaults in :data:`TRAINING_DEFAULTS`): ``dataset`` (a name in
    ``course_utils.data.DATASETS``; generated and standardized with ``seed``), ``depth`` hidden
    layers (1-30) of ``width`` units (2-256), ``activation``, ``schemes`` (1-6 names from
    :data:`SCHEMES`; ``scheme="name"`` is accepted for one), ``mode`` and ``scale`` as in
    :func:`explorer_data`, ``seed`` (the data set; run ``k`` draws its weights from
    ``default_rng(seed + k)``, the same for every scheme, so the comparison is paired),
    ``seeds`` (1-10), ``epochs`` (1-5000), ``lr`` and ``momentum`` (full-batch SGD as
    ``torch.optim.SGD``: ``v = momentum v + g``, ``p -= lr v``), ``grid`` (boundary grid points
    per axis, 2-200). Biases start at zero; the output layer is linear (one logit with the
    logistic loss for two classes, softmax cross-entropy otherwise). LSUV rescales on the
    training inputs.

    All ``len(schemes) x seeds`` networks train at once: their weights are stacked and every
    product is one batched ``numpy.matmul`` (float32, as the frameworks train), so the whole panel costs about as much
    as a few single runs. Deterministic: equal settings give equal arrays.

    Returns
    -------
    dict
        ``settings``; ``schemes``; ``seeds`` (the weight seeds); ``loss`` and ``accuracy``
        (``(schemes, seeds, epochs)``, measured on the training set before each update);
        ``loss_mean``, ``loss_std`` (``(schemes, epochs)``; std over seeds, ddof 1, 0 for one
        seed; NaN once a run diverged); ``final_loss`` (``(schemes, seeds)``, after the last
        update); ``test_accuracy`` (``(schemes, seeds)``, after training); ``x_train``,
        ``y_train``, ``x_test``, ``y_test``; ``grid_x1``, ``grid_x2``; ``grid_proba``
        (``(schemes, seeds, grid, grid, classes)``, row 0 = lowest x2) and ``grid_labels``
        (its argmax).

    Examples
    --------
    >>> d = training_data(epochs=5, grid=10)
    >>> d["loss"].shape, d["grid_labels"].shape
    ((3, 3, 5), (3, 3, 10, 10))
    """
    from course_utils.data import DATASETS, make_dataset, standardize

    given = dict(settings)
    if "scheme" in given:  # one scheme, the first version's keyword
        if "schemes" in given:
            raise TypeError("give scheme= or schemes=, not both")
        given["schemes"] = (given.pop("scheme"),)
    s = _settings(given, TRAINING_DEFAULTS)
    dataset = _choice("dataset", s["dataset"], DATASETS)
    depth = _int_setting("depth", s["depth"], 1, 30)
    width = _int_setting("width", s["width"], 2, 256)
    seed = _int_setting("seed", s["seed"], 0, 2**63 - 1)
    n_seeds = _int_setting("seeds", s["seeds"], 1, 10)
    epochs = _int_setting("epochs", s["epochs"], 1, 5000)
    grid = _int_setting("grid", s["grid"], 2, 200)
    scale = _float_setting("scale", s["scale"], 1e-12, 100.0)
    lr = _float_setting("lr", s["lr"], 1e-12, 100.0)
    momentum = _float_setting("momentum", s["momentum"], 0.0, 0.999)
    activation = _choice("activation", s["activation"], ACTIVATIONS)
    schemes = _schemes_setting(s["schemes"])
    mode = _choice("mode", s["mode"], MODES)

    x_tr, y_tr, x_te, y_te = make_dataset(dataset, seed)
    x_tr, x_te = standardize(x_tr, x_te)
    x_tr = x_tr.astype(np.float32)
    x_te = x_te.astype(np.float32)
    y_tr = np.asarray(y_tr, dtype=np.int64)
    y_te = np.asarray(y_te, dtype=np.int64)
    classes = int(max(y_tr.max(), y_te.max()) + 1)
    binary = classes == 2
    widths = [2] + [width] * depth + [1 if binary else classes]
    seeds = [seed + k for k in range(n_seeds)]
    per_run = []
    for scheme in schemes:
        for sd in seeds:
            rng = np.random.default_rng(sd)
            try:
                per_run.append(_weights(widths, scheme, mode, scale, rng, x_tr, activation))
            except ValueError as err:
                raise ValueError(
                    f"scheme {scheme!r} cannot initialize this network: {err}"
                ) from None
    ws = [np.stack([r[i] for r in per_run]).astype(np.float32) for i in range(len(widths) - 1)]
    runs = len(per_run)
    bs = [np.zeros((runs, 1, n), dtype=np.float32) for n in widths[1:]]
    vw = [np.zeros_like(w) for w in ws]
    vb = [np.zeros_like(b) for b in bs]
    f = get_activation(activation)
    yf = y_tr.astype(np.float32)
    loss = np.empty((runs, epochs))
    acc = np.empty((runs, epochs))
    last = len(ws) - 1
    with np.errstate(all="ignore"):
        for ep in range(epochs):
            zs, inputs, logits = _forward_runs(x_tr, ws, bs, f)
            loss[:, ep], delta, pred = _loss_and_grad(logits, yf if binary else y_tr, binary)
            acc[:, ep] = np.mean(pred == y_tr, axis=1)
            for i in range(last, -1, -1):
                if i < last:  # through f, from the stored z and a = f(z)
                    delta = f.backprop(delta, zs[i], inputs[i + 1], out=delta)
                a = inputs[i]
                gw = (
                    np.matmul(a.transpose(0, 2, 1), delta) if a.ndim == 3 else np.matmul(a.T, delta)
                )
                gb = delta.sum(axis=1, keepdims=True)
                if i:
                    delta = np.matmul(delta, ws[i].transpose(0, 2, 1))
                vw[i] *= momentum
                vw[i] += gw
                vb[i] *= momentum
                vb[i] += gb
                ws[i] -= lr * vw[i]
                bs[i] -= lr * vb[i]
        final_loss = _loss_and_grad(_forward_runs(x_tr, ws, bs, f)[2],
                                    yf if binary else y_tr, binary)[0]  # fmt: skip
        test_pred = np.argmax(_probabilities(_forward_runs(x_te, ws, bs, f)[2], binary), axis=-1)
        lo = x_tr.min(axis=0) - 0.5
        hi = x_tr.max(axis=0) + 0.5
        g1 = np.linspace(lo[0], hi[0], grid)
        g2 = np.linspace(lo[1], hi[1], grid)
        mesh = np.stack(np.meshgrid(g1, g2), axis=-1).reshape(-1, 2).astype(np.float32)
        proba = _probabilities(_forward_runs(mesh, ws, bs, f)[2], binary)
    shape = (len(schemes), n_seeds)
    loss = loss.reshape(*shape, epochs)
    with np.errstate(invalid="ignore"):
        loss_std = loss.std(axis=1, ddof=1) if n_seeds > 1 else np.zeros((len(schemes), epochs))
    proba = proba.reshape(*shape, grid, grid, -1)
    return {
        "settings": {
            "dataset": dataset,
            "depth": depth,
            "width": width,
            "activation": activation,
            "schemes": schemes,
            "mode": mode,
            "scale": scale,
            "seed": seed,
            "seeds": n_seeds,
            "epochs": epochs,
            "lr": lr,
            "momentum": momentum,
            "grid": grid,
        },  # fmt: skip
        "schemes": list(schemes),
        "seeds": seeds,
        "loss": loss,
        "accuracy": acc.reshape(*shape, epochs),
        "loss_mean": loss.mean(axis=1),
        "loss_std": loss_std,
        "final_loss": final_loss.reshape(shape),
        "test_accuracy": np.mean(test_pred == y_te, axis=-1).reshape(shape),
        "x_train": x_tr,
        "y_train": y_tr,
        "x_test": x_te,
        "y_test": y_te,
        "grid_x1": g1,
        "grid_x2": g2,
        "grid_proba": proba,
        "grid_labels": np.argmax(proba, axis=-1),
    }


def _merge_training(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Several :func:`training_data` results on the same data, seeds and epochs, as one."""
    if not parts or not all(isinstance(p, dict) and "loss_mean" in p for p in parts):
        raise TypeError("data must be a training_data(...) result or a list of them")
    first = parts[0]
    for p in parts[1:]:
        same = (
            p["loss"].shape[1:] == first["loss"].shape[1:]
            and p["grid_proba"].shape[1:] == first["grid_proba"].shape[1:]
            and np.array_equal(p["x_train"], first["x_train"])
        )
        if not same:
            raise ValueError("the results to compare must share data set, seeds, epochs and grid")
    out = dict(first)
    for key in ("loss", "accuracy", "loss_mean", "loss_std", "final_loss", "test_accuracy",
                "grid_proba", "grid_labels"):  # fmt: skip
        out[key] = np.concatenate([p[key] for p in parts], axis=0)
    out["schemes"] = [name for p in parts for name in p["schemes"]]
    out["settings"] = {**first["settings"], "schemes": tuple(out["schemes"])}
    return out


_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 2)))
_MARKERS = ("o", "s", "^", "D", "v", "P")


def _scheme_colour(i: int) -> str:
    return (PALETTE[0], PALETTE[3], PALETTE[2], PALETTE[4], PALETTE[1], PALETTE[7])[i % 6]


def training_figure(data: dict[str, Any] | list[dict[str, Any]], *, dpi: int = 100) -> Figure:
    """Loss (mean over seeds, band from the lowest to the highest seed, log scale) and each
    scheme's decision boundaries.

    Left: one curve per scheme (colour plus its own line style and marker); the band spans the
    seeds' losses epoch by epoch (the spread; ``loss_std`` holds the standard deviation). Right: one panel per scheme; the background is the class
    of the seed-averaged probabilities, each seed's boundary is a thin black contour, and the
    training points are drawn with a marker per class (circle, triangle, square, diamond).

    Examples
    --------
    >>> fig = training_figure(training_data(epochs=3, grid=5, seeds=2))
    >>> len(fig.axes)
    4
    """
    from matplotlib.colors import ListedColormap

    if isinstance(data, (list, tuple)):
        data = _merge_training(list(data))
    if not isinstance(data, dict) or "loss_mean" not in data:
        raise TypeError("data must be a training_data(...) result or a list of them")
    schemes = data["schemes"]
    n = len(schemes)
    st = data["settings"]
    fig = Figure(figsize=(3.1 * (n + 1.35), 3.9), dpi=dpi)
    _LabCanvas(fig)
    gs = fig.add_gridspec(1, n + 1, width_ratios=[1.35] + [1.0] * n, left=0.06, right=0.99,
                          bottom=0.13, top=0.78, wspace=0.3)  # fmt: skip
    ax = fig.add_subplot(gs[0, 0])
    epochs = np.arange(1, data["loss_mean"].shape[1] + 1)
    every = max(1, len(epochs) // 8)
    for i, name in enumerate(schemes):
        c = _scheme_colour(i)
        mean = data["loss_mean"][i]
        lo, hi = np.min(data["loss"][i], axis=0), np.max(data["loss"][i], axis=0)
        ax.fill_between(epochs, lo, hi, color=c, alpha=0.2, lw=0)
        ax.plot(epochs, mean, color=c, ls=_STYLES[i % 6], marker=_MARKERS[i % 6], markevery=every,
                ms=5, lw=1.8, label=name)  # fmt: skip
    classes = data["grid_proba"].shape[-1]
    if classes == 2:
        ax.axhline(math.log(2), color="grey", lw=1, ls=":", label="ln 2 (chance)")
    else:
        ax.axhline(math.log(classes), color="grey", lw=1, ls=":", label=f"ln {classes} (chance)")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=8))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (log)")
    ax.set_title(f"Loss: mean, band min-max of {st['seeds']} seeds", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    colours = [PALETTE[c] for c in (5, 1, 2, 4)][:classes]
    cmap = ListedColormap(colours)
    markers = ("o", "^", "s", "D")
    g1, g2 = data["grid_x1"], data["grid_x2"]
    x, y = data["x_train"], data["y_train"]
    for i, name in enumerate(schemes):
        ax = fig.add_subplot(gs[0, i + 1])
        mean_p = np.nanmean(data["grid_proba"][i], axis=0)
        labels = np.argmax(mean_p, axis=-1)
        ax.imshow(labels, origin="lower", extent=(g1[0], g1[-1], g2[0], g2[-1]), cmap=cmap,
                  vmin=-0.5, vmax=classes - 0.5, alpha=0.35, aspect="auto",
                  interpolation="nearest")  # fmt: skip
        for k in range(data["grid_labels"].shape[1]):
            lab = data["grid_labels"][i, k]
            if lab.min() != lab.max():
                ax.contour(g1, g2, lab, levels=np.arange(classes - 1) + 0.5, colors="black",
                           linewidths=0.8, alpha=0.7)  # fmt: skip
        for c in range(classes):
            pts = x[y == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=9, color=colours[c], marker=markers[c % 4],
                       edgecolors="black", linewidths=0.3, label=f"class {c}")  # fmt: skip
        acc = data["test_accuracy"][i]
        ax.set_title(f"{name}\ntest accuracy {np.mean(acc):.2f} (min {np.min(acc):.2f})",
                     fontsize=10)  # fmt: skip
        ax.set_xlabel("$x_1$")
        if i == 0:
            ax.set_ylabel("$x_2$")
            ax.legend(fontsize=7, loc="lower left", framealpha=0.8)
    fig.suptitle(
        f"{st['dataset']}: {st['depth']} hidden layers x {st['width']} {st['activation']},"
        f" full-batch SGD lr {st['lr']:g} momentum {st['momentum']:g}, {st['epochs']} epochs;"
        " black lines: each seed's boundary",
        fontsize=10,
    )
    parts = []
    for i, name in enumerate(schemes):
        m = data["loss_mean"][i]
        acc = data["test_accuracy"][i]
        # two decimals: the spread over seeds is wider than that, and a third digit of a
        # trained loss can change with the CPU's rounding
        parts.append(f"{name}: mean loss {m[0]:.2f} at epoch 1 and {m[-1]:.2f} at epoch {len(m)},"
                     f" test accuracy {np.mean(acc):.2f} (lowest seed {np.min(acc):.2f})")  # fmt: skip
    text = (
        f"Training on {st['dataset']}, {st['depth']} hidden layers x {st['width']}"
        f" {st['activation']}, {st['seeds']} seeds per scheme. " + "; ".join(parts) + "."
    )
    return describe(fig, text)


# ------------------------------------------------------------------------------- the widget

_HIST_LABELS = (("one x-range per row", "shared"), ("zoom each panel", "per_layer"),
                ("log10 |value|", "log"))  # fmt: skip


def explorer(**settings: Any) -> Any:
    """The interactive init lab (an ``ipywidgets.Tab`` of two panels); ``settings`` override
    :data:`DEFAULTS`.

    Panel 1 ("signal propagation"): width profile, typed widths (override the profile), depth,
    width, activation, scheme, mode (enabled for the schemes that have one), scale (log
    slider), input std (log slider), batch, seed and the histograms' x-axis. Moving a control recomputes
    :func:`explorer_data`, updates the figure's artists in place and re-renders the image
    (sliders update on release or on each arrow key: ``continuous_update`` is off). Panel 2
    ("training"): data set, depth, width, activation, the schemes to compare, seeds, epochs and
    learning rate; *Train* runs :func:`training_data` and shows :func:`training_figure`.

    A *preset* drop-down (:data:`PRESETS`) sets exact values the sliders cannot reach (gain
    5/3, the critical tanh gain 1, He x 2, lecture 06's isometry demo) with one redraw; moving
    one of a preset's controls by hand sets it back to "custom". The frame is an ``<img
    class="explorer-figure">`` (PNG as a data URL) in an ``ipywidgets.HTML``, whose ``alt`` is the
    frame's :func:`explorer_description`, renewed with every frame; ``state["png"]`` and
    ``state["description"]`` hold the last frame's bytes and text.

    Every control has a visible text label (its ``description``) and the CSS class
    ``explorer-<name>`` (``explorer-depth``, ``explorer-scheme``, ...); the images are
    ``explorer-figure`` and ``explorer-training``. The returned widget has the attributes
    ``controls``, ``preset``, ``image``, ``status``, ``training_controls``, ``train_button``,
    ``training_image``, ``training_status`` and ``figure`` (the matplotlib figure kept across
    updates).
    """
    import base64
    import html
    import time

    import ipywidgets as w

    s = _settings(settings, DEFAULTS)
    style = {"description_width": "110px"}
    layout = w.Layout(width="340px")
    controls = {
        "profile": w.Dropdown(options=list(PROFILES), value=s["profile"],
                              description="width profile"),
        "widths": w.Text(value="" if s["widths"] is None else
                         ", ".join(map(str, _widths_setting(s["widths"]) or [])),
                         description="widths (typed)", placeholder="e.g. 256, 128, 64",
                         continuous_update=False),
        "depth": w.IntSlider(value=s["depth"], min=1, max=50, description="depth"),
        "width": w.IntSlider(value=s["width"], min=8, max=1024, step=8, description="width"),
        "activation": w.Dropdown(options=list(ACTIVATIONS), value=s["activation"],
                                 description="activation"),
        "scheme": w.Dropdown(options=list(SCHEMES), value=s["scheme"], description="scheme"),
        "mode": w.Dropdown(options=list(MODES), value=s["mode"], description="fan mode"),
        "scale": w.FloatLogSlider(value=s["scale"], base=10, min=-2, max=1, step=0.01,
                                  description="scale x", readout_format=".4g"),
        "input_std": w.FloatLogSlider(value=s["input_std"], base=10, min=-2, max=1, step=0.01,
                                      description="input std", readout_format=".3g"),
        "batch": w.IntSlider(value=s["batch"], min=16, max=2048, step=16, description="batch"),
        "seed": w.IntText(value=s["seed"], description="seed"),
        "hist": w.Dropdown(options=list(_HIST_LABELS), value=s["hist"],
                           description="histogram x-axis"),
    }  # fmt: skip
    for name, c in controls.items():
        c.style = style
        c.layout = layout
        if hasattr(c, "continuous_update"):
            c.continuous_update = False
        c.add_class(f"explorer-{name}")
    preset = w.Dropdown(options=["custom", *PRESETS], value="custom", description="preset")
    preset.style = style
    preset.layout = layout
    preset.add_class("explorer-preset")
    # the frame is an <img> inside an HTML widget: ipywidgets' Image has no ``alt`` (and its
    # ``tooltip`` breaks the Image view in ipywidgets 8.1, which reads a missing description)
    image = w.HTML()
    image.add_class("explorer-figure-box")
    status = w.HTML()
    state: dict[str, Any] = {"figure": None, "applying": False, "png": b"", "description": ""}

    def current() -> dict[str, Any]:
        out = {k: c.value for k, c in controls.items()}
        out["widths"] = out["widths"].strip() or None
        return out

    def update(_change: Any = None) -> None:
        controls["mode"].disabled = controls["scheme"].value not in MODE_SCHEMES
        t0 = time.perf_counter()
        try:
            data = explorer_data(**current(), bins=s["bins"])
        except (ValueError, TypeError) as err:  # a bad setting: say so in the widget
            status.value = f"<b>cannot compute:</b> {err}"
            return
        state["figure"] = explorer_figure(data, fig=state["figure"])
        png = figure_png(state["figure"])
        text = explorer_description(data)  # the text alternative, renewed with every frame
        state["png"], state["description"] = png, text
        image.value = (
            f'<img class="explorer-figure" alt="{html.escape(text, quote=True)}"'
            f' src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        )
        ms = 1e3 * (time.perf_counter() - t0)
        status.value = (
            f"last layer: activation std {data['act_std'][-1]:.3g}, gradient std at layer 1"
            f" {data['grad_std'][0]:.3g} &nbsp;({ms:.0f} ms)<details><summary>figure"
            f" description</summary>{html.escape(explorer_description(data))}</details>"
        )

    def on_control(change: Any) -> None:
        if state["applying"]:
            return
        if preset.value != "custom" and change["owner"] in [
            controls[k] for k in PRESETS[preset.value]
        ]:
            state["applying"] = True  # a preset's control moved by hand: no longer the preset
            preset.value = "custom"
            state["applying"] = False
        update()

    def on_preset(change: Any) -> None:
        if state["applying"] or change["new"] == "custom":
            return
        state["applying"] = True  # set every control first, then draw once
        try:
            for k, v in PRESETS[change["new"]].items():
                controls[k].value = v
        finally:
            state["applying"] = False
        update()

    for c in controls.values():
        c.observe(on_control, names="value")
    preset.observe(on_preset, names="value")

    t_controls = {
        "dataset": w.Dropdown(options=["circles", "moons", "spirals", "blobs"],
                              value=TRAINING_DEFAULTS["dataset"], description="data set"),
        "depth": w.IntSlider(value=TRAINING_DEFAULTS["depth"], min=1, max=30,
                             description="hidden layers"),
        "width": w.IntSlider(value=TRAINING_DEFAULTS["width"], min=2, max=64,
                             description="hidden width"),
        "activation": w.Dropdown(options=list(ACTIVATIONS),
                                 value=TRAINING_DEFAULTS["activation"], description="activation"),
        "schemes": w.SelectMultiple(options=list(SCHEMES),
                                    value=list(TRAINING_DEFAULTS["schemes"]), rows=5,
                                    description="schemes (ctrl-click)"),
        "seeds": w.IntSlider(value=TRAINING_DEFAULTS["seeds"], min=1, max=10,
                             description="seeds each"),
        "epochs": w.IntSlider(value=TRAINING_DEFAULTS["epochs"], min=10, max=2000, step=10,
                              description="epochs"),
        "lr": w.FloatLogSlider(value=TRAINING_DEFAULTS["lr"], base=10, min=-3, max=0,
                               step=0.05, description="SGD lr", readout_format=".3g"),
    }  # fmt: skip
    for name, c in t_controls.items():
        c.style = style
        c.layout = layout
        c.add_class(f"explorer-train-{name}")
    button = w.Button(description="Train", button_style="primary",
                      tooltip="train every chosen scheme from each seed")  # fmt: skip
    t_image = w.Image(format="png")
    t_image.add_class("explorer-training")
    t_status = w.HTML("Choose schemes and press <i>Train</i>: each trains from every seed.")

    def run_training(_b: Any = None) -> None:
        t_status.value = "training..."
        t0 = time.perf_counter()
        try:
            d = training_data(**{k: c.value for k, c in t_controls.items()},
                              seed=controls["seed"].value)  # fmt: skip
        except (ValueError, TypeError) as err:
            t_status.value = f"<b>cannot train:</b> {err}"
            return
        t_image.value = figure_png(training_figure(d))
        means = ", ".join(
            f"{n} {np.nanmean(d['final_loss'][i]):.3g}" for i, n in enumerate(d["schemes"])
        )
        t_status.value = (
            f"final loss (mean over seeds): {means} &nbsp;({time.perf_counter() - t0:.1f} s)"
        )

    button.on_click(run_training)
    update()
    names = list(controls)
    panel1 = w.VBox([
        w.HBox([w.VBox([preset] + [controls[k] for k in names[:6]]),
                w.VBox([controls[k] for k in names[6:]] + [status])]),
        image,
    ])  # fmt: skip
    t_names = list(t_controls)
    panel2 = w.VBox([
        w.HBox([w.VBox([t_controls[k] for k in t_names[:4]]),
                w.VBox([t_controls[k] for k in t_names[4:]]),
                w.VBox([button, t_status])]),
        t_image,
    ])  # fmt: skip
    tabs = w.Tab(children=[panel1, panel2])
    tabs.set_title(0, "signal propagation")
    tabs.set_title(1, "training")
    # handles for tests and for notebooks that drive the widget from code
    tabs.controls = controls
    tabs.preset = preset
    tabs.image = image
    tabs.status = status
    tabs.training_controls = t_controls
    tabs.train_button = button
    tabs.training_image = t_image
    tabs.training_status = t_status
    tabs.state = state
    return tabs
