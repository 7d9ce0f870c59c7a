"""Figures for the course: every function returns a fresh :class:`matplotlib.figure.Figure`.

No pyplot state is touched: figures are built with ``matplotlib.figure.Figure`` directly, so a
notebook shows each one exactly once (as the last expression of a cell or via ``display(fig)``)
and nothing leaks between cells. Save with ``fig.savefig("name.png")``.

Colours come from :data:`PALETTE`, the Okabe-Ito palette, which stays distinguishable under
the common forms of colour-vision deficiency (M. Okabe and K. Ito, "Color Universal Design",
2008). Diverging maps use ColorBrewer's ``RdBu``, also colour-blind safe.

Contents
--------
* :func:`layer_histograms` - grid of per-layer histograms (rows: configurations, columns: layers)
* :func:`std_by_depth` - measured std per layer (markers) with the theory (lines) overlaid
* :func:`std_ratio_heatmap` - depth x scale map of log10(std ratio) with the critical line
* :func:`loss_curves` - loss (or accuracy) per epoch of several runs
* :func:`decision_boundaries` - predicted class regions of 2-D classifiers, side by side
* :func:`landscape_figure` - the motivating picture of lecture 00 (its numerics,
  :func:`landscape_loss`, :func:`landscape_grad`, :func:`gradient_descent_1d`, live in
  :mod:`course_utils.theory` and are re-exported here)
* :func:`three_families` - uniform, normal and orthogonal weights and their singular values
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from course_utils.figure_alt import (
    describe,
    description,
    format_mean_sd,
    format_number,
    install_ipython_formatters,
    summarize,
)
from course_utils.theory import (  # numerics; re-exported for lecture 00's callers
    LANDSCAPE_MINIMA,
    LANDSCAPE_STARTS,
    _positive_int,  # the argument check the numerics use, shared
    basins_of_attraction,
    gradient_descent_1d,
    landscape_grad,
    landscape_loss,
    newman_lyapunov_exponents,
)

__all__ = [
    "LANDSCAPE_MINIMA",
    "LANDSCAPE_STARTS",
    "PALETTE",
    "color",
    "decision_boundaries",
    "describe",
    "description",
    "gradient_descent_1d",
    "landscape_figure",
    "landscape_grad",
    "landscape_loss",
    "layer_histograms",
    "loss_curves",
    "std_by_depth",
    "std_ratio_heatmap",
    "three_families",
]

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
"""The Okabe-Ito colour-blind-safe palette, in the order the course uses it."""

# Inside Jupyter, a described figure carries its description as the image's alt text.
install_ipython_formatters()

_DIVERGING = "RdBu_r"
#: Second cues besides colour (WCAG 1.4.1): series i gets marker i and line style i.
_SERIES_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_SERIES_STYLES = ("-", "--", "-.", ":")
_LINE_COLOURS = tuple(c for c in PALETTE if c != "#F0E442")  # yellow is faint as a thin line


def color(i: int) -> str:
    """The ``i``-th colour of :data:`PALETTE` (cycling).

    Examples
    --------
    >>> color(0), color(8)
    ('#0072B2', '#0072B2')
    """
    return PALETTE[int(i) % len(PALETTE)]


# --------------------------------------------------------------------------- input helpers


_fmt_num = format_number  # the one number format of figure descriptions (figure_alt)


# Figure descriptions (alt text): short, read off the plotted data, never raising.


def _finite(values: Any) -> np.ndarray:
    """The finite entries of ``values`` as a flat float array (empty for anything unusable)."""
    try:
        a = np.asarray(_to_numpy(values), dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return np.empty(0)
    return a[np.isfinite(a)]


def _plain(label: Any) -> str:
    """A label without TeX markup, for reading aloud: ``"loss $L(w)$"`` -> ``"loss L(w)"``."""
    return str(label).replace("$", "").replace("\\", "").strip()


def _trend(values: Any) -> str:
    """How a series goes, from its first to its last finite value: ``"falls from 1 to 4e-5"``,
    ``"rises from ..."``, ``"stays near 1 (1 to 0.98)"``, with a peak or dip when one stands out."""
    a = _finite(values)
    if a.size == 0:
        return "has no finite values"
    first, last = float(a[0]), float(a[-1])
    if a.size == 1:
        return f"is {_fmt_num(first)}"
    lo, hi = float(a.min()), float(a.max())
    if hi - lo <= 0.2 * max(abs(lo), abs(hi)):  # every value within 20 % of the largest
        if _fmt_num(first) == _fmt_num(last):
            return f"stays at {_fmt_num(first)}"
        return f"stays near {_fmt_num(first)} ({_fmt_num(first)} to {_fmt_num(last)})"
    verb = "rises" if last > first else "falls" if last < first else "returns"
    text = f"{verb} from {_fmt_num(first)} to {_fmt_num(last)}"
    if hi - max(first, last) > 0.1 * (hi - lo):
        text += f" (peak {_fmt_num(hi)})"
    elif min(first, last) - lo > 0.1 * (hi - lo):
        text += f" (low {_fmt_num(lo)})"
    return text


def _worst_factor(measured: Any, theory: Any) -> float:
    """Largest ``max(m / t, t / m)`` over the points where both are finite and positive (NaN
    when the series differ in length, or some paired value is not positive)."""
    m = np.asarray(_to_numpy(measured), dtype=np.float64).ravel()
    t = np.asarray(_to_numpy(theory), dtype=np.float64).ravel()
    if m.shape != t.shape:
        return float("nan")
    ok = np.isfinite(m) & np.isfinite(t)
    if not ok.any() or np.any(m[ok] <= 0) or np.any(t[ok] <= 0):
        return float("nan")
    return float(np.exp(np.max(np.abs(np.log(m[ok] / t[ok])))))


def _factor_text(factor: float) -> str:
    if not math.isfinite(factor):
        return ""
    if factor < 1.001:
        return "within 0.1% of theory"
    if factor < 2:
        return f"within {(factor - 1) * 100:.2g}% of theory"
    return f"within a factor {_fmt_num(factor)} of theory"


def _ends(values: Any) -> str:
    """A series' first and last finite values, ``"0.5 to 9.5e-7"`` (``"at 1"`` when equal)."""
    a = _finite(values)
    if a.size == 0:
        return "no finite values"
    first, last = _fmt_num(float(a[0])), _fmt_num(float(a[-1]))
    return f"at {first}" if first == last else f"{first} to {last}"


def _agreement(measured: Any, theory: Any) -> str:
    """How close a measured series is to its theory, point by point (same length)."""
    text = _factor_text(_worst_factor(measured, theory))
    if text:
        return text
    m = np.asarray(_to_numpy(measured), dtype=np.float64).ravel()
    t = np.asarray(_to_numpy(theory), dtype=np.float64).ravel()
    ok = np.isfinite(m) & np.isfinite(t) if m.shape == t.shape else np.zeros(0, bool)
    if not ok.any():
        return ""
    return f"largest gap to theory {_fmt_num(float(np.max(np.abs(m[ok] - t[ok]))))}"


_SINGULAR = {"series": "series", "minima": "minimum", "matrices": "matrix",
             "curves or point sets": "curve or point set"}  # fmt: skip


def _join(parts: Sequence[str], budget: int = 300, sep: str = "; ", noun: str = "") -> str:
    """``parts`` joined by ``sep`` while they fit in ``budget`` characters, then "N more"."""
    out: list[str] = []
    used = 0
    for i, part in enumerate(parts):
        if out and used + len(sep) + len(part) > budget:
            left = len(parts) - i
            if noun and left == 1:  # singular
                noun = _SINGULAR.get(noun, noun[:-1] if noun.endswith("s") else noun)
            return sep.join(out) + f"{sep}{left} more" + (f" {noun}" if noun else "")
        out.append(part)
        used += len(part) + (len(sep) if len(out) > 1 else 0)
    return sep.join(out)


def _describe_with(fig: Figure, make: Callable[[], str]) -> Figure:
    """Attach ``make()`` as ``fig``'s description; if building it fails on odd data, fall back
    to the summary read off the axes (a description must never break a figure)."""
    try:
        text = make()
    except Exception:  # noqa: BLE001
        text = summarize(fig)
    return describe(fig, text)


def _new_figure(nrows: int = 1, ncols: int = 1, *, size: tuple[float, float], **kw: Any):
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _is_array_like_row(obj: Any) -> bool:
    """True when ``obj`` is a sequence whose items are arrays (one row of per-layer values)."""
    if isinstance(obj, np.ndarray):
        return obj.ndim >= 2 or obj.dtype == object
    if isinstance(obj, (list, tuple)) and obj:
        return all(isinstance(item, np.ndarray) or _is_tensor(item) for item in obj)
    return False


def _is_scalar(obj: Any) -> bool:
    return isinstance(obj, (numbers.Real, np.number)) or (
        isinstance(obj, np.ndarray) and obj.ndim == 0
    )


def _is_tensor(obj: Any) -> bool:
    return type(obj).__module__.startswith("torch") and hasattr(obj, "detach")


def _to_numpy(a: Any) -> np.ndarray:
    if _is_tensor(a):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _row_from(obj: Any, attribute: str) -> list[np.ndarray]:
    """One row of per-layer arrays from a list of arrays or a Trace-like object."""
    if hasattr(obj, attribute) and not isinstance(obj, (list, tuple, np.ndarray)):
        obj = getattr(obj, attribute)
    if isinstance(obj, np.ndarray) and obj.ndim >= 2 and obj.dtype != object:
        obj = list(obj)  # a stacked (layers, ...) array
    if not isinstance(obj, (list, tuple)) or not obj:
        raise TypeError(
            "values must be a list of per-layer arrays, an object with a "
            f"'{attribute}' attribute (e.g. a Trace), or a list/dict of those; got {type(obj).__name__}"
        )
    return [_to_numpy(a).ravel() for a in obj]


def _rows_from(values: Any, attribute: str) -> tuple[list[list[np.ndarray]], list[str] | None]:
    if isinstance(values, Mapping):
        if not values:
            raise ValueError("values must not be empty")
        return [_row_from(v, attribute) for v in values.values()], [str(k) for k in values]
    if hasattr(values, attribute) or _is_array_like_row(values):
        return [_row_from(values, attribute)], None
    if isinstance(values, (list, tuple)) and values:
        return [_row_from(v, attribute) for v in values], None
    raise TypeError(
        "values must be a list of per-layer arrays, a Trace-like object, or a list/dict of "
        f"those; got {type(values).__name__}"
    )


def _series(values: Any, name: str) -> tuple[list[np.ndarray], list[str] | None]:
    """Normalise one or several 1-D series: a sequence, a list of sequences, or a dict."""
    if isinstance(values, Mapping):
        if not values:
            raise ValueError(f"{name} must not be empty")
        return [_as_1d(v, name) for v in values.values()], [str(k) for k in values]
    arr = values if isinstance(values, np.ndarray) else None
    if arr is not None and arr.ndim == 1:
        return [_as_1d(arr, name)], None
    if arr is not None and arr.ndim == 2:
        return [_as_1d(row, name) for row in arr], None
    if isinstance(values, (list, tuple)) and values:
        if all(_is_scalar(v) for v in values):
            return [_as_1d(values, name)], None
        return [_as_1d(v, name) for v in values], None
    raise TypeError(
        f"{name} must be a 1-D sequence, a list of sequences or a dict label -> sequence; "
        f"got {type(values).__name__}"
    )


def _as_1d(v: Any, name: str) -> np.ndarray:
    arr = np.asarray(_to_numpy(v), dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"each series in {name} must be a non-empty 1-D sequence, got shape {arr.shape}"
        )
    return arr


def _labels(given: Sequence[str] | None, found: list[str] | None, n: int, prefix: str, name: str):
    labels = list(given) if given is not None else found
    if labels is None:
        return [f"{prefix} {i}" for i in range(n)] if n > 1 else [None]
    if len(labels) != n:
        raise ValueError(f"{name} must have {n} entries, got {len(labels)}")
    return [str(s) for s in labels]


# --------------------------------------------------------------------------- per-layer histograms


def layer_histograms(
    values: Any,
    *,
    row_labels: Sequence[str] | None = None,
    layer_labels: Sequence[str] | None = None,
    quantity: str = "activation",
    attribute: str = "activations",
    bins: int = 50,
    sharex: str | bool = "row",
    title: str | None = None,
    panel_size: tuple[float, float] = (1.9, 1.5),
) -> Figure:
    """Grid of histograms: one row per configuration, one column per layer.

    Each panel shows the distribution of one layer's values (activations, pre-activations or
    back-propagated gradients), as the fraction of values per bin, and is annotated with the
    layer's mean and standard deviation. This is the picture of Glorot & Bengio (2010,
    "Understanding the difficulty of training deep feedforward neural networks", Fig. 6-7):
    with a badly scaled initialization the distribution shrinks towards 0 (vanishing) or piles
    up at the saturation values layer after layer.

    Parameters
    ----------
    values : list of arrays, Trace-like, or list / dict of those
        One row: a list of per-layer arrays ``[a_1, ..., a_L]`` (any shapes; flattened) or an
        object with the attribute named by ``attribute`` (e.g. ``trace`` from
        :func:`course_utils.network.forward`, or the gradients from ``backward``). Several
        rows: a list of such rows, or a dict ``{row label: row}`` (e.g. one row per weight
        scale). Rows may have different numbers of layers.
    row_labels : sequence of str, optional
        Labels of the rows (defaults to the dict keys).
    layer_labels : sequence of str, optional
        Column titles (default ``"layer 1"``, ``"layer 2"``, ...).
    quantity : str
        What is plotted, used in the x-axis label (e.g. ``"activation"``, ``"gradient dL/da"``).
    attribute : str
        Attribute read from Trace-like objects: ``"activations"`` (default),
        ``"pre_activations"``, ``"weights"``.
    bins : int
        Number of bins per panel.
    sharex : {"row", "all", "none"} or bool
        ``"row"``: panels of a row share one x-range and the same bins (the shrinking of a
        distribution with depth is visible at a glance); ``"all"`` (or True): one range for the
        whole grid; ``"none"`` (or False): each panel zooms on its own data (shows the shape
        even when the scale collapses).
    title : str, optional
        Figure title.
    panel_size : (float, float)
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> layers = [np.tanh(rng.standard_normal((100, 50)) * s) for s in (1.0, 0.5, 0.25)]
    >>> fig = layer_histograms({"sigma = 1": layers}, quantity="activation")
    """
    rows, found = _rows_from(values, attribute)
    labels = _labels(row_labels, found, len(rows), "configuration", "row_labels")
    if sharex is True:
        sharex = "all"
    elif sharex is False:
        sharex = "none"
    if sharex not in ("row", "all", "none"):
        raise ValueError(f"sharex must be 'row', 'all', 'none' or a bool, got {sharex!r}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    n_cols = max(len(r) for r in rows)
    if layer_labels is not None and len(layer_labels) != n_cols:
        raise ValueError(f"layer_labels must have {n_cols} entries, got {len(layer_labels)}")
    col_titles = (
        list(layer_labels)
        if layer_labels is not None
        else [f"layer {j + 1}" for j in range(n_cols)]
    )

    finite_rows = [[a[np.isfinite(a)] for a in row] for row in rows]

    def span(arrays: list[np.ndarray]) -> tuple[float, float]:
        nonempty = [a for a in arrays if a.size]
        if not nonempty:
            return (-0.5, 0.5)
        lo = min(float(a.min()) for a in nonempty)
        hi = max(float(a.max()) for a in nonempty)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        return lo, hi

    grid_span = span([a for row in finite_rows for a in row])
    fig, axes = _new_figure(
        len(rows), n_cols, size=(panel_size[0] * n_cols + 0.6, panel_size[1] * len(rows) + 0.6)
    )
    for i, row in enumerate(finite_rows):
        row_span = span(row)
        for j in range(n_cols):
            ax = axes[i, j]
            if j >= len(row):
                ax.set_axis_off()
                continue
            a = row[j]
            rng_ = grid_span if sharex == "all" else row_span if sharex == "row" else span([a])
            weights = np.full(a.size, 1.0 / a.size) if a.size else None
            ax.hist(a, bins=bins, range=rng_, weights=weights, color=color(i), alpha=0.85)
            ax.set_xlim(*rng_)
            mean = float(a.mean()) if a.size else float("nan")
            std = float(a.std()) if a.size else float("nan")
            ax.text(
                0.97,
                0.95,
                f"mean {mean:.2g}\nstd {std:.2g}",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=7,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "lw": 0},
            )
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title(col_titles[j], fontsize=9)
            if j == 0:
                ax.set_ylabel(
                    f"{labels[i]}\nfraction" if labels[i] is not None else "fraction", fontsize=8
                )
            ax.set_xlabel(quantity, fontsize=8)
    fig.suptitle(title or f"Per-layer distribution of the {quantity}s")
    range_note = {
        "row": "each row shares one x-range",
        "all": "all panels share one x-range",
        "none": "each panel has its own x-range",
    }[sharex]
    per_row = []
    for label, row in zip(labels, finite_rows, strict=True):
        stds = [float(a.std()) if a.size else float("nan") for a in row]
        per_row.append(
            f"{label or 'values'}: std {_fmt_num(stds[0])} in {col_titles[0]} to "
            f"{_fmt_num(stds[-1])} in {col_titles[len(stds) - 1]}"
        )
    return describe(
        fig,
        f"{fig.get_suptitle()}: histograms of the {quantity} in {n_cols} layers "
        f"({range_note}). " + "; ".join(per_row) + ".",
    )


# --------------------------------------------------------------------------- std by depth


def std_by_depth(
    measured: Any,
    theory: Any = None,
    *,
    labels: Sequence[str] | None = None,
    depths: Sequence[int] | None = None,
    logy: bool = False,
    ylabel: str = "std of the activations",
    xlabel: str = "layer",
    title: str | None = None,
    theory_depths: Sequence[float] | None = None,
) -> Figure:
    """Measured standard deviation per layer (markers) with the theoretical prediction (lines).

    Parameters
    ----------
    measured : sequence, list of sequences, or dict label -> sequence
        The measured value per layer for one or several series (e.g. schemes).
    theory : same structure as ``measured``, optional
        The prediction per layer, matched to ``measured`` by position (or by key for dicts);
        drawn as a line of the same colour as its series. ``None`` entries are skipped.
    labels : sequence of str, optional
        Series labels (default: dict keys, or "series 0", ...).
    depths : sequence of int, optional
        x values of the measured points (default ``1 .. L``).
    logy : bool
        Logarithmic y-axis (the right view when std decays like ``2^(-l/2)``).
    ylabel, xlabel, title : str
        Axis labels and title.
    theory_depths : sequence, optional
        x values of the theory curves if they differ from ``depths`` (e.g. ``0 .. L``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes; measured series are ``Line2D`` with markers and no line, theory series are
        lines labelled ``"<label> (theory)"``.

    Examples
    --------
    >>> fig = std_by_depth({"glorot": [0.7, 0.5, 0.35]}, {"glorot": [0.71, 0.5, 0.354]}, logy=True)
    """
    series, found = _series(measured, "measured")
    names = _labels(labels, found, len(series), "series", "labels")
    theory_series: list[np.ndarray | None] = [None] * len(series)
    if theory is not None:
        if isinstance(theory, Mapping) and isinstance(measured, Mapping):
            theory_series = [
                None if theory.get(k) is None else _as_1d(theory[k], "theory") for k in measured
            ]
        else:
            t_series, _ = _series(theory, "theory")
            if len(t_series) != len(series):
                raise ValueError(
                    f"theory must have one series per measured series ({len(series)}), "
                    f"got {len(t_series)}"
                )
            theory_series = list(t_series)
    fig, axes = _new_figure(size=(6.0, 4.0))
    ax = axes[0, 0]
    for i, (m, t, name) in enumerate(zip(series, theory_series, names, strict=True)):
        x = np.arange(1, len(m) + 1) if depths is None else np.asarray(depths, dtype=float)
        if len(x) != len(m):
            raise ValueError(f"depths must have {len(m)} entries, got {len(x)}")
        ax.plot(
            x,
            m,
            linestyle="none",
            marker=_SERIES_MARKERS[i % len(_SERIES_MARKERS)],  # a second cue besides colour
            markersize=5,
            color=color(i),
            label=name if name is not None else "measured",
        )
        if t is not None:
            if theory_depths is not None:
                xt = np.asarray(theory_depths, dtype=float)
            elif len(t) == len(m):
                xt = x
            else:
                xt = np.arange(1, len(t) + 1)
            if len(xt) != len(t):
                raise ValueError(f"theory_depths must have {len(t)} entries, got {len(xt)}")
            ax.plot(
                xt,
                t,
                linestyle=_SERIES_STYLES[i % len(_SERIES_STYLES)],
                color=color(i),
                alpha=0.8,
                label=f"{name} (theory)" if name is not None else "theory",
            )
    if logy:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel[0].upper()}{ylabel[1:]} by depth: measured vs theory")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)

    def text() -> str:
        xs = _finite(depths if depths is not None else np.arange(1, max(map(len, series)) + 1))
        parts = []
        for m, t, name in zip(series, theory_series, names, strict=True):
            part = f"{name or 'measured'} {_trend(m)}"
            tf = _finite(t) if t is not None else np.empty(0)
            if tf.size:
                end = f"theory ends at {_fmt_num(tf[-1])}"
                part = part[:-1] + f"; {end})" if part.endswith(")") else part + f" ({end})"
            parts.append(part)
        span = f" {_fmt_num(xs.min())} to {_fmt_num(xs.max())}" if xs.size else ""
        overlay = "; theory lines overlaid" if any(t is not None for t in theory_series) else ""
        return (
            f"{ax.get_title()}: markers show the {_plain(ylabel)}"
            f"{' (log scale)' if logy else ''} against {_plain(xlabel)}{span}: "
            f"{_join(parts, noun='series')}{overlay}."
        )

    return _describe_with(fig, text)


# --------------------------------------------------------------------------- heatmap


def _edges(centres: np.ndarray, log: bool) -> np.ndarray:
    c = np.log10(centres) if log else centres.astype(float)
    if len(c) == 1:
        e = np.array([c[0] - 0.5, c[0] + 0.5])
    else:
        mid = (c[1:] + c[:-1]) / 2
        e = np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
    return 10**e if log else e


def std_ratio_heatmap(
    ratio: Any,
    depths: Sequence[float],
    scales: Sequence[float],
    *,
    critical: bool = True,
    critical_scale: float | None = None,
    logx: bool | None = None,
    clip: float | None = None,
    xlabel: str = "weight scale",
    ylabel: str = "depth (layers)",
    title: str | None = None,
) -> Figure:
    """Depth x scale map of ``log10(std ratio)`` with the critical line where the ratio is 1.

    ``ratio[i, j]`` is the ratio of the output std to the input std of a network of depth
    ``depths[i]`` whose weights use scale ``scales[j]``. The colour shows ``log10(ratio)``: red
    above 0 (exploding), blue below (vanishing), white at 0. For a linear or ReLU net the ratio
    is ``(c sigma^2)^(L/2)``, so the critical line ``ratio = 1`` is vertical at the critical
    scale (1 for linear/LeCun, sqrt(2) for ReLU/He) and every other scale drifts away from it
    exponentially fast in depth.

    Parameters
    ----------
    ratio : array_like, shape (len(depths), len(scales))
        Positive std ratios (0 or inf are shown as the colour-scale ends).
    depths, scales : sequence of float
        Row and column coordinates (increasing).
    critical : bool
        Draw the contour ``log10(ratio) = 0`` (black) when the map changes sign.
    critical_scale : float, optional
        Also draw the predicted critical scale as a dashed vertical line.
    logx : bool, optional
        Logarithmic scale axis; default: when all scales are positive and span at least 10x.
    clip : float, optional
        Colour-scale limit in decades (default: the largest finite ``|log10 ratio|``).
    xlabel, ylabel, title : str

    Returns
    -------
    matplotlib.figure.Figure
        Axes 0 holds a ``QuadMesh`` whose array is ``log10(ratio)`` (rows = depths) and, when
        drawn, a ``ContourSet`` at level 0; axes 1 is the colour bar.

    Examples
    --------
    >>> depths, scales = np.arange(1, 31), np.geomspace(0.5, 2, 25)
    >>> ratio = scales[None, :] ** depths[:, None]
    >>> fig = std_ratio_heatmap(ratio, depths, scales, critical_scale=1.0)
    """
    d = np.asarray(depths, dtype=float)
    s = np.asarray(scales, dtype=float)
    r = np.asarray(_to_numpy(ratio), dtype=float)
    if d.ndim != 1 or s.ndim != 1 or d.size == 0 or s.size == 0:
        raise ValueError("depths and scales must be non-empty 1-D sequences")
    if r.shape != (d.size, s.size):
        raise ValueError(
            f"ratio must have shape (len(depths), len(scales)) = {(d.size, s.size)}, got {r.shape}"
        )
    if np.any(r < 0) or np.any(np.isnan(r)):
        raise ValueError("ratio must be non-negative and not NaN")
    if np.any(np.diff(d) <= 0) or np.any(np.diff(s) <= 0):
        raise ValueError("depths and scales must be strictly increasing")
    if logx is None:
        logx = bool(np.all(s > 0) and s.max() / s.min() >= 10)
    elif logx and np.any(s <= 0):
        raise ValueError("logx=True needs positive scales")
    with np.errstate(divide="ignore"):
        z = np.log10(r)
    finite = z[np.isfinite(z)]
    limit = (
        float(clip) if clip is not None else (float(np.abs(finite).max()) if finite.size else 1.0)
    )
    limit = limit if limit > 0 else 1.0
    fig, axes = _new_figure(size=(6.5, 4.5))
    ax = axes[0, 0]
    norm = TwoSlopeNorm(vmin=-limit, vcenter=0.0, vmax=limit)
    shown = np.where(np.isfinite(z), z, np.sign(z) * limit)  # 0 or inf: the colour-scale ends
    mesh = ax.pcolormesh(
        _edges(s, logx), _edges(d, False), shown, cmap=_DIVERGING, norm=norm, shading="flat"
    )
    if logx:
        ax.set_xscale("log")
    cbar = fig.colorbar(mesh, ax=ax)
    cbar.set_label("log10(std out / std in)")
    handles = []
    if critical and finite.size and finite.min() < 0 < finite.max() and min(r.shape) >= 2:
        ax.contour(s, d, shown, levels=[0.0], colors="black", linewidths=2)
        handles.append(Line2D([], [], color="black", lw=2, label="ratio = 1 (measured)"))
    if critical_scale is not None:
        ax.axvline(critical_scale, color=PALETTE[2], lw=2, ls="--")
        handles.append(
            Line2D([], [], color=PALETTE[2], lw=2, ls="--", label=f"theory: {critical_scale:.3g}")
        )
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "Signal std after L layers: log10(out / in)")
    deepest = z[-1][np.isfinite(z[-1])]
    text = (
        f"{ax.get_title()}: a colour map of log10(std ratio) for depths {d[0]:g} to {d[-1]:g} "
        f"and {xlabel} {s[0]:.3g} to {s[-1]:.3g}; blue vanishes, red explodes"
    )
    if deepest.size:
        text += (
            f"; at depth {d[-1]:g} the ratio spans 10^{round(deepest.min(), 1) + 0.0:.1f} to "
            f"10^{round(deepest.max(), 1) + 0.0:.1f}"
        )
    if critical_scale is not None:
        text += f"; the theory's critical {xlabel} {critical_scale:.3g} is dashed"
    return describe(fig, text + ".")


# --------------------------------------------------------------------------- loss curves


def loss_curves(
    runs: Any,
    *,
    metric: str = "loss",
    labels: Sequence[str] | None = None,
    logy: bool = False,
    xlabel: str = "epoch",
    ylabel: str | None = None,
    title: str | None = None,
    reference: Mapping[str, float] | None = None,
) -> Figure:
    """Loss (or another per-epoch metric) of several training runs.

    Parameters
    ----------
    runs : sequence, list of sequences, dict label -> sequence, or History objects
        Each run is a per-epoch sequence, or an object / dict carrying it under ``metric``
        (e.g. the :class:`course_utils.training.History` returned by ``train``).
    metric : str
        Attribute or key read from history objects: ``"loss"``, ``"accuracy"``, ...
    labels : sequence of str, optional
        Run labels (default: dict keys).
    logy : bool
        Logarithmic y-axis.
    xlabel, ylabel, title : str
    reference : mapping, optional
        ``label -> value`` drawn as dotted horizontal lines (e.g. the chance loss ``ln 3``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one line per run, x = ``1 .. n_epochs``.

    Examples
    --------
    >>> fig = loss_curves({"glorot": [0.69, 0.69, 0.69], "he": [0.69, 0.4, 0.2]}, logy=True)
    """

    def pick(run: Any) -> Any:
        if isinstance(run, Mapping) and metric in run:
            return run[metric]
        if hasattr(run, metric) and not isinstance(run, (np.ndarray, list, tuple)):
            return getattr(run, metric)
        return run

    if isinstance(runs, Mapping) and metric not in runs:
        runs = {k: pick(v) for k, v in runs.items()}
    elif isinstance(runs, (list, tuple)) and runs and not all(_is_scalar(v) for v in runs):
        runs = [pick(v) for v in runs]
    else:
        runs = pick(runs)
    series, found = _series(runs, "runs")
    names = _labels(labels, found, len(series), "run", "labels")
    fig, axes = _new_figure(size=(6.0, 4.0))
    ax = axes[0, 0]
    for i, (values, name) in enumerate(zip(series, names, strict=True)):
        ax.plot(
            np.arange(1, len(values) + 1),
            values,
            color=color(i),
            ls=_SERIES_STYLES[i % len(_SERIES_STYLES)],  # a second cue besides colour
            lw=2,
            label=name,
        )
    for label, value in (reference or {}).items():
        ax.axhline(float(value), color=PALETTE[7], ls=":", label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or metric)
    ax.set_title(title or f"Training {metric} per {xlabel}")
    ax.grid(True, alpha=0.3)
    if any(n is not None for n in names) or reference:
        ax.legend(fontsize=8)

    def text() -> str:
        parts = [f"{name or 'the run'} {_trend(v)}" for v, name in zip(series, names, strict=True)]
        finals = [(float(_finite(v)[-1]), str(name)) for v, name in zip(series, names, strict=True)
                  if _finite(v).size]  # fmt: skip
        best = ""
        quantity = (ylabel or metric).lower()
        if len(series) > 1 and finals and ("loss" in quantity or "acc" in quantity):
            high = "acc" in quantity
            value, who = max(finals) if high else min(finals)
            best = f"; {'highest' if high else 'lowest'} at the end: {who} ({_fmt_num(value)})"
        refs = "".join(
            f"; dotted line: {label} at {_fmt_num(float(value))}"
            for label, value in (reference or {}).items()
        )
        return (
            f"{ax.get_title()}: {_plain(ylabel or metric)}{' (log scale)' if logy else ''} "
            f"against {_plain(xlabel)} (1 to {max(map(len, series))}) for {len(series)} "
            f"run{'s' if len(series) > 1 else ''}: {_join(parts, 260, noun='runs')}{best}{refs}."
        )

    return _describe_with(fig, text)


# --------------------------------------------------------------------------- decision boundaries


def _labels_from_prediction(p: np.ndarray, m: int) -> np.ndarray:
    p = np.asarray(_to_numpy(p))
    if p.ndim == 2 and p.shape[1] > 1:
        return p.argmax(axis=1)
    p = p.reshape(m)
    if np.issubdtype(p.dtype, np.integer) or np.issubdtype(p.dtype, np.bool_):
        return p.astype(np.int64)
    return (p > 0.5).astype(np.int64)


def decision_boundaries(
    predicts: Callable[[np.ndarray], Any] | Sequence[Callable] | Mapping[str, Callable],
    x: Any,
    y: Any,
    *,
    titles: Sequence[str] | None = None,
    grid_size: int = 200,
    padding: float = 0.5,
    title: str | None = None,
) -> Figure:
    """Predicted class regions of one or several 2-D classifiers, side by side, with the data.

    Each ``predict`` is called once on a ``grid_size x grid_size`` grid of points (a float32
    array of shape ``(grid_size**2, 2)``) covering the data plus ``padding``. It may return
    class labels (ints), probabilities of class 1 (floats, thresholded at 0.5) or one score per
    class (shape ``(m, k)``, arg-max taken). The panel title reports the accuracy on ``(x, y)``.

    Parameters
    ----------
    predicts : callable, list of callables or dict title -> callable
        E.g. :func:`course_utils.training.predict_fn` of trained models.
    x : array_like, shape (n, 2)
        Points to draw (and score).
    y : array_like, shape (n,)
        Their integer labels.
    titles : sequence of str, optional
        Panel titles (default: dict keys).
    grid_size : int
        Resolution of the grid per axis.
    padding : float
        Margin around the data, in data units.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per classifier; each holds an ``AxesImage`` whose array is the grid of
        predicted labels (row 0 = lowest x2) and one scatter per class.

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [1.0, 1.0]], dtype=np.float32); y = np.array([0, 1])
    >>> fig = decision_boundaries(lambda g: (g.sum(1) > 1).astype(int), x, y)
    """
    if isinstance(predicts, Mapping):
        fns, found = list(predicts.values()), [str(k) for k in predicts]
    elif callable(predicts):
        fns, found = [predicts], None
    elif isinstance(predicts, (list, tuple)) and predicts:
        fns, found = list(predicts), None
    else:
        raise TypeError("predicts must be a callable, a list of callables or a dict of them")
    if not all(callable(f) for f in fns):
        raise TypeError("every entry of predicts must be callable")
    names = _labels(titles, found, len(fns), "model", "titles")
    x = np.asarray(_to_numpy(x), dtype=np.float32)
    y = np.asarray(_to_numpy(y)).reshape(-1).astype(np.int64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (n, 2), got {x.shape}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have {x.shape[0]} labels, got {y.shape[0]}")
    if isinstance(grid_size, bool) or not isinstance(grid_size, (int, np.integer)) or grid_size < 2:
        raise ValueError(f"grid_size must be an int >= 2, got {grid_size!r}")
    lo = x.min(axis=0) - padding
    hi = x.max(axis=0) + padding
    g1 = np.linspace(lo[0], hi[0], grid_size, dtype=np.float32)
    g2 = np.linspace(lo[1], hi[1], grid_size, dtype=np.float32)
    mesh = np.stack(np.meshgrid(g1, g2), axis=-1).reshape(-1, 2)
    grids = [
        _labels_from_prediction(f(mesh), mesh.shape[0]).reshape(grid_size, grid_size) for f in fns
    ]
    accs = [float(np.mean(_labels_from_prediction(f(x), x.shape[0]) == y)) for f in fns]
    k = int(max([y.max(initial=0)] + [g.max() for g in grids]) + 1)
    cmap = ListedColormap([color(c) for c in range(k)])
    fig, axes = _new_figure(1, len(fns), size=(4.0 * len(fns), 4.0), sharex=True, sharey=True)
    for i, (grid, name, acc) in enumerate(zip(grids, names, accs, strict=True)):
        ax = axes[0, i]
        ax.imshow(
            grid,
            origin="lower",
            extent=(lo[0], hi[0], lo[1], hi[1]),
            cmap=cmap,
            vmin=-0.5,
            vmax=k - 0.5,
            alpha=0.3,
            aspect="auto",
            interpolation="nearest",
        )
        for c in range(k):
            pts = x[y == c]
            if len(pts):
                ax.scatter(
                    pts[:, 0],
                    pts[:, 1],
                    s=14,
                    color=color(c),
                    edgecolors="black",
                    linewidths=0.4,
                    label=f"class {c}",
                )
        ax.set_title(f"{name + ': ' if name else ''}accuracy {acc:.2f}", fontsize=10)
        ax.set_xlabel("$x_1$")
        if i == 0:
            ax.set_ylabel("$x_2$")
            ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title or "Decision boundaries")

    def text() -> str:
        parts = []
        for grid, name, acc in zip(grids, names, accs, strict=True):
            cls, counts = np.unique(grid, return_counts=True)
            if cls.size == 1:
                regions = f"class {int(cls[0])} everywhere"
            else:
                regions = "class " + " and ".join(
                    f"{int(c)} on {n / grid.size:.0%}" for c, n in zip(cls, counts, strict=True)
                )
            parts.append(f"{name or 'the model'}: accuracy {acc:.2f}, {regions}")
        return (
            f"{fig.get_suptitle()}: predicted class regions (share of the area per class) with "
            f"the {x.shape[0]} data points of {int(np.unique(y).size)} classes. "
            f"{_join(parts, 330, noun='models')}."
        )

    return _describe_with(fig, text)


# --------------------------------------------------------------------------- lecture 00: landscape

def landscape_figure(
    starts: Mapping[str, float] | None = None,
    *,
    lr: float = 0.1,
    tol: float = 1e-4,
    w_range: tuple[float, float] = (-6.0, 6.0),
    title: str | None = None,
) -> Figure:
    """The motivating picture of lecture 00: where gradient descent ends depends on the start.

    Draws :func:`landscape_loss` over ``w_range`` and, for each named start, the gradient-
    descent path (:func:`gradient_descent_1d` on :func:`landscape_grad`) as dots on the curve,
    the start (a lettered circle) and the end point (a star), with the number of steps in the
    legend.

    Parameters
    ----------
    starts : dict name -> float, optional
        Starting points (default :data:`LANDSCAPE_STARTS`, A, B and C).
    lr, tol : float
        Passed to :func:`gradient_descent_1d`.
    w_range : (float, float)
        The plotted interval.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes: the loss curve first, then per start a path line (label
        ``"A: 41 steps -> w = -4.74"``) and its end-point marker.

    Examples
    --------
    >>> fig = landscape_figure()
    """
    starts = dict(LANDSCAPE_STARTS if starts is None else starts)
    if not starts:
        raise ValueError("starts must contain at least one starting point")
    w = np.linspace(w_range[0], w_range[1], 600)
    fig, axes = _new_figure(size=(7.5, 4.2))
    ax = axes[0, 0]
    runs: list[tuple[str, float, int, float]] = []  # name, start, steps, end (for the description)
    ax.plot(w, landscape_loss(w), color="0.35", lw=2, label="loss $L(w)$", zorder=1)
    for i, (name, w0) in enumerate(starts.items()):
        path, n = gradient_descent_1d(landscape_grad, w0, lr=lr, tol=tol)
        c = _LINE_COLOURS[i % len(_LINE_COLOURS)]
        end = path[-1]
        runs.append((str(name), float(w0), int(n), float(end)))
        ax.plot(
            path,
            landscape_loss(path),
            marker="o",
            markersize=3,
            lw=0.8,
            color=c,
            alpha=0.8,
            label=f"{name}: {n} steps -> w = {end:.2f}",
            zorder=2,
        )
        ax.plot(
            [end],
            [landscape_loss(end)],
            marker="*",
            markersize=16,
            color=c,
            markeredgecolor="black",
            linestyle="none",
            zorder=3,
        )
        ax.annotate(
            name,
            (w0, landscape_loss(w0)),
            xytext=(0, 10),
            textcoords="offset points",
            ha="center",
            fontsize=12,
            fontweight="bold",
            color=c,
        )
    ax.set_xlabel("parameter $w$")
    ax.set_ylabel("loss $L(w)$")
    ax.set_title(title or "Gradient descent from three starting points")
    ax.legend(fontsize=8, loc="upper center")
    ax.grid(True, alpha=0.3)

    def text() -> str:
        lw = landscape_loss(w)
        dips = np.flatnonzero((lw[1:-1] < lw[:-2]) & (lw[1:-1] < lw[2:])) + 1
        minima = ", ".join(f"{w[i]:.2f}" for i in dips)
        parts = [
            f"{name} from w = {_fmt_num(w0)} to {end:.2f} in {n} steps "
            f"(loss {_fmt_num(landscape_loss(end))})"
            for name, w0, n, end in runs
        ]
        distinct = len({round(end, 1) for *_, end in runs})
        return (
            f"{ax.get_title()}: the loss L(w) against w from {_fmt_num(w[0])} to "
            f"{_fmt_num(w[-1])}, with {dips.size} local minima (near w = {minima}), and each "
            f"descent path as dots: {_join(parts, 240, noun='starts')}. {len(runs)} starts end in "
            f"{distinct} different minim{'a' if distinct > 1 else 'um'}."
        )

    return _describe_with(fig, text)


# --------------------------------------------------------------------------- lecture 00: families


def three_families(
    rng: np.random.Generator | int,
    *,
    n: int = 256,
    bins: int = 60,
    title: str | None = None,
) -> Figure:
    """Uniform, normal and orthogonal ``n x n`` weights of equal variance, and their spectra.

    Top row: histograms of the entries of ``U(-sqrt(3/n), sqrt(3/n))`` (``lecun_uniform``),
    ``N(0, 1/n)`` (``lecun_normal``) and an orthogonal matrix (``orthogonal``, whose entries also
    have variance ``1/n`` and look nearly Gaussian for large ``n``), with the density of each
    distribution overlaid. Bottom row: histograms of the singular values. For i.i.d. entries of
    variance ``1/n`` they follow the quarter-circle law ``p(s) = sqrt(4 - s^2) / pi`` on
    ``[0, 2]`` (Marchenko-Pastur for a square matrix), overlaid; an orthogonal matrix has every
    singular value equal to 1.

    Parameters
    ----------
    rng : numpy.random.Generator or int
        Random source for the three draws.
    n : int
        Matrix size.
    bins : int
        Histogram bins.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        2 x 3 axes (entries on top, singular values below).

    Examples
    --------
    >>> fig = three_families(0, n=64)
    """
    from course_utils import initializers as init

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    shape = (n, n)
    mats = {
        "uniform U(-a, a)": init.lecun_uniform(shape, gen).astype(np.float64),
        "normal N(0, 1/n)": init.lecun_normal(shape, gen).astype(np.float64),
        "orthogonal": init.orthogonal(shape, gen).astype(np.float64),
    }
    fig, axes = _new_figure(2, 3, size=(11.0, 6.0))
    stats: list[tuple[str, float, float, float]] = []  # name, std, smallest, largest singular value
    a = math.sqrt(3.0 / n)
    sd = math.sqrt(1.0 / n)
    xs = np.linspace(-4 * sd, 4 * sd, 300)
    normal_pdf = np.exp(-0.5 * (xs / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    s_grid = np.linspace(0.0, 2.0, 300)
    quarter_circle = np.sqrt(4.0 - s_grid**2) / math.pi
    for j, (name, w) in enumerate(mats.items()):
        top, bottom = axes[0, j], axes[1, j]
        top.hist(
            w.ravel(),
            bins=bins,
            range=(-4 * sd, 4 * sd),
            density=True,
            color=color(j),
            alpha=0.75,
            label="entries",
        )
        if j == 0:
            top.plot(
                [-a, -a, a, a],
                [0, 1 / (2 * a), 1 / (2 * a), 0],
                color="black",
                lw=1.5,
                label="density $1/(2a)$",
            )
        else:
            top.plot(
                xs,
                normal_pdf,
                color="black",
                lw=1.5,
                label="$N(0, 1/n)$ density" if j == 1 else "$N(0, 1/n)$ (approx.)",
            )
        top.set_title(f"{name}: std {w.std():.4f} (1/sqrt(n) = {sd:.4f})", fontsize=9)
        top.set_xlabel("weight value")
        top.set_ylabel("density")
        top.legend(fontsize=7)
        sv = np.linalg.svd(w, compute_uv=False)
        stats.append((name.split(" ")[0], float(w.std()), float(sv.min()), float(sv.max())))
        bottom.hist(
            sv,
            bins=max(bins // 2, 1),
            range=(0.0, 2.2),
            density=True,
            color=color(j),
            alpha=0.75,
            label="singular values",
        )
        if j < 2:
            bottom.plot(
                s_grid,
                quarter_circle,
                color="black",
                lw=1.5,
                label="quarter circle $\\sqrt{4-s^2}/\\pi$",
            )
        else:
            bottom.axvline(1.0, color="black", lw=1.5, ls="--", label="all equal to 1")
        bottom.set_title(f"singular values: min {sv.min():.2f}, max {sv.max():.2f}", fontsize=9)
        bottom.set_xlabel("singular value")
        bottom.set_ylabel("density")
        bottom.legend(fontsize=7)
    fig.suptitle(title or f"Three families of initial weights ({n} x {n}, variance 1/n)")

    def text() -> str:
        stds = ", ".join(f"{name} {_fmt_num(s)}" for name, s, _, _ in stats)
        svs = ", ".join(f"{name} {_fmt_num(lo)} to {_fmt_num(hi)}" for name, _, lo, hi in stats)
        return (
            f"{fig.get_suptitle()}. Top row: histograms of the weights with their densities; "
            f"the stds match (target 1/sqrt(n) = {_fmt_num(sd)}): {stds}. Bottom row: the "
            f"singular values, against the quarter-circle law on [0, 2]: {svs}."
        )

    return _describe_with(fig, text)


# =========================================================================== lectures 00 and 06
# Figures for lecture 00 (basins of attraction) and lecture 06 (orthogonal matrices, spectra
# of deep products, norm propagation, recurrences, truncated normals). Their numerics (QR
# samples, digamma, Lyapunov exponents, spectra, norm ratios) live in course_utils.theory.

__all__ += [
    "basins_figure",
    "basins_of_attraction",
    "norm_ratio_figure",
    "qr_sign_fix_figure",
    "recurrence_figure",
    "spectrum_figure",
    "truncated_normal_figure",
]


def basins_figure(
    starts: Any,
    steps: Any,
    basin: Any,
    minima: Sequence[float],
    *,
    title: str | None = None,
) -> Figure:
    """Steps to converge against the starting point, coloured by the minimum reached.

    Parameters
    ----------
    starts, steps, basin : 1-D arrays of equal length
        As returned by :func:`basins_of_attraction` (``starts`` is its input).
    minima : sequence of float
        The minima ``basin`` indexes (from :func:`basins_of_attraction`); used for the legend.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes, log-scaled y, one scatter series per basin.

    Examples
    --------
    >>> grid = np.linspace(-6, 6, 25)
    >>> _, steps, basin, minima = basins_of_attraction(grid)
    >>> fig = basins_figure(grid, steps, basin, minima)
    """
    starts = _as_1d(starts, "starts")
    steps = _as_1d(steps, "steps")
    basin = np.asarray(basin).astype(np.int64).ravel()
    if not starts.size == steps.size == basin.size:
        raise ValueError(
            f"starts, steps and basin must have equal lengths, got {starts.size}, "
            f"{steps.size}, {basin.size}"
        )
    mins = _as_1d(minima, "minima")
    fig, axes = _new_figure(size=(7.5, 3.8))
    ax = axes[0, 0]
    for k in range(mins.size):
        sel = basin == k
        if sel.any():
            ax.scatter(starts[sel], steps[sel], s=10, color=color(k),
                       label=f"ends in minimum #{k + 1} (w* = {mins[k]:.2f})")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("starting point $w_0$")
    ax.set_ylabel("steps to converge")
    ax.set_title(title or "Basins of attraction: the start decides the minimum and the time")
    ax.legend(fontsize=8)

    def text() -> str:
        parts = []
        for k in range(mins.size):
            sel = basin == k
            if sel.sum() == 1:
                parts.append(f"w* = {mins[k]:.2f} from 1 start at {_fmt_num(starts[sel][0])}, "
                             f"{_fmt_num(steps[sel][0])} steps")  # fmt: skip
            elif sel.any():
                parts.append(
                    f"w* = {mins[k]:.2f} from {int(sel.sum())} starts in "
                    f"[{_fmt_num(starts[sel].min())}, {_fmt_num(starts[sel].max())}], "
                    f"{_fmt_num(steps[sel].min())} to {_fmt_num(steps[sel].max())} steps"
                )
        ok = ~np.isnan(steps)
        slowest = ""
        if ok.any():
            i = int(np.argmax(np.where(ok, steps, -np.inf)))
            slowest = f"; slowest: w0 = {_fmt_num(starts[i])}, {_fmt_num(steps[i])} steps"
        return (
            f"{ax.get_title()}: steps to converge (log scale) against the start w0 for "
            f"{starts.size} starts, coloured by the minimum reached: {_join(parts, 260, noun='minima')}{slowest}."
        )

    return _describe_with(fig, text)


def qr_sign_fix_figure(raw: Any, fixed: Any, *, title: str | None = None) -> Figure:
    """Histograms of ``Q[0, 0]`` without and with the sign fix, against the Haar density 1/2.

    Examples
    --------
    >>> from course_utils.theory import qr_sign_fix_samples
    >>> fig = qr_sign_fix_figure(*qr_sign_fix_samples(0, 100))
    """
    raw, fixed = _as_1d(raw, "raw"), _as_1d(fixed, "fixed")
    fig, axes = _new_figure(size=(7.0, 3.5))
    ax = axes[0, 0]
    bins = np.linspace(-1, 1, 41)
    ax.hist(raw, bins=bins, density=True, alpha=0.6, color=color(3),
            label="np.linalg.qr, no sign fix")  # fmt: skip
    ax.hist(fixed, bins=bins, density=True, alpha=0.6, color=color(0), label="with the sign fix")
    ax.axhline(0.5, color="black", lw=2, label="Haar theory: uniform on [-1, 1]")
    ax.set_xlabel("$Q_{11}$ of a random 3x3 orthogonal matrix")
    ax.set_ylabel("density")
    ax.set_title(title or "The sign fix makes QR sample the uniform (Haar) law")
    ax.legend(fontsize=8)

    def text() -> str:
        parts = []
        for label, v in (("without the sign fix", raw), ("with it", fixed)):
            v = _finite(v)
            with np.errstate(invalid="ignore", divide="ignore"):  # no value inside [-1, 1]
                dens = np.histogram(v, bins=bins, density=True)[0] if v.size else np.empty(0)
            if dens.size and np.all(np.isfinite(dens)):
                parts.append(
                    f"{label} the mean is {_fmt_num(v.mean())} and the density per bin "
                    f"{_fmt_num(dens.min())} to {_fmt_num(dens.max())}"
                )
            else:
                parts.append(f"{label} there are no values in [-1, 1]")
        return (
            f"{ax.get_title()}: density histograms of Q11 of random 3x3 orthogonal matrices "
            f"({raw.size} and {fixed.size} samples) against the Haar density, flat at 0.5: "
            + "; ".join(parts) + "."
        )

    return _describe_with(fig, text)


def spectrum_figure(
    s_gauss: Any,
    s_orth: Any,
    depth: int,
    *,
    floor: float | None = None,
    title: str | None = None,
    mark_noise: bool = False,
) -> Figure:
    """Spectrum of a deep product: histogram of ``log10 s`` and the sorted values against Newman.

    Left: histogram of ``log10`` of the Gaussian product's singular values, the orthogonal one
    (all 1) as a line. Right: sorted ``log10 s_k`` against ``L mu_k / ln 10``
    (:func:`newman_lyapunov_exponents`). ``floor``, if given, draws float64's rounding floor
    (about ``s_max n eps``), below which computed singular values are noise.

    ``mark_noise=True`` (with a ``floor``) shades the region below the floor in both panels as
    rounding noise, and the description then reports the computed spectrum only above the floor
    and counts the values Newman's law puts below it: the computed values down there are
    rounding noise, different on every CPU, so a description built on them would be too.

    Examples
    --------
    >>> from course_utils.theory import gaussian_product_spectra
    >>> s = gaussian_product_spectra(32, 4, 0)[0]
    >>> fig = spectrum_figure(s, np.ones(32), 4)
    """
    s_gauss, s_orth = _as_1d(s_gauss, "s_gauss"), _as_1d(s_orth, "s_orth")
    depth = _positive_int("depth", depth)
    n = s_gauss.size
    k = np.arange(1, n + 1)
    theory = depth * newman_lyapunov_exponents(n) / math.log(10)
    fig, axes = _new_figure(1, 2, size=(11.0, 3.8))
    ax1, ax2 = axes[0]
    ax1.hist(np.log10(s_gauss), bins=40, color=color(1), alpha=0.85, label="Gaussian N(0, 1/n)")
    ax1.axvline(0, color=color(0), lw=3, label="orthogonal: every value is 1")
    ax2.plot(k, np.log10(np.sort(s_gauss)[::-1]), "o", ms=3, color=color(1),
             label="Gaussian, measured")  # fmt: skip
    ax2.plot(k, theory, color="black", label="Newman: $L\\mu_k$ / ln 10")
    ax2.plot(k[: s_orth.size], np.log10(np.sort(s_orth)[::-1]), color=color(0), lw=2,
             label="orthogonal, measured")  # fmt: skip
    noise = bool(mark_noise) and floor is not None and np.isfinite(floor) and floor > 0
    if floor is not None:
        ax1.axvline(np.log10(floor), color="black", ls="--", lw=1, label="float64 rounding floor")
        ax2.axhline(np.log10(floor), color="black", ls="--", lw=1, label="float64 rounding floor")
        ax2.set_ylim(np.log10(floor) - 8, max(3.0, float(np.log10(s_gauss.max())) + 1))
    if noise:
        lo = min(float(np.log10(floor)) - 8, float(np.nanmin(np.log10(s_gauss[s_gauss > 0]))))
        ax1.axvspan(lo, np.log10(floor), color="grey", alpha=0.15, lw=0,
                    label="below the floor: rounding noise")  # fmt: skip
        ax2.axhspan(np.log10(floor) - 8, np.log10(floor), color="grey", alpha=0.15, lw=0,
                    label="below the floor: rounding noise")  # fmt: skip
    ax1.set_xlabel(f"log10 singular value of the product of {depth} layers")
    ax1.set_ylabel("count")
    ax1.set_title(f"Singular values after {depth} layers (n = {n})")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("rank k (largest first)")
    ax2.set_ylabel("log10 $s_k$")
    ax2.set_title(title or "Sorted spectrum vs Lyapunov theory")
    ax2.legend(fontsize=8)

    def text() -> str:
        def dec(x: float) -> str:
            return f"{round(float(x), 1) + 0.0:.1f}"  # no "-0.0"

        def span(values: Any) -> str:
            v = _finite(values)
            v = np.log10(v[v > 0])
            return f"{dec(v.min())} to {dec(v.max())}" if v.size else "nothing positive"

        lg = _finite(s_gauss)
        lg = np.log10(lg[lg > 0])
        decades = f" ({lg.max() - lg.min():.1f} decades)" if lg.size else ""
        below = ""
        if floor is not None and np.isfinite(floor) and floor > 0:
            below = (f"; {int(np.sum(s_gauss < floor))} of {n} lie below the float64 rounding "
                     f"floor 10^{math.log10(floor):.1f}")  # fmt: skip
        t = _finite(theory)
        if noise:
            top = lg.max() if lg.size else float("nan")
            return (
                f"{ax1.get_title()}; right: {ax2.get_title()}. Above the float64 rounding floor "
                f"10^{math.log10(floor):.1f} the Gaussian product's log10 singular values reach "
                f"up to {dec(top)}; Newman's theory spans {dec(t.min())} to {dec(t.max())} and "
                f"puts {int(np.sum(theory < math.log10(floor)))} of {n} values below the floor, "
                f"where the computed ones are rounding noise (shaded); the orthogonal product's "
                f"span {span(s_orth)}."
            )
        return (
            f"{ax1.get_title()}; right: {ax2.get_title()}. The Gaussian product's log10 singular "
            f"values span {span(s_gauss)}{decades}, Newman's theory "
            f"{dec(t.min())} to {dec(t.max())}; the orthogonal product's span {span(s_orth)}"
            f"{below}."
        )

    return _describe_with(fig, text)


def norm_ratio_figure(
    gaussian: Any, orthogonal: Any, step_mean: float, step_var: float, *, title: str | None = None
) -> Figure:
    """Squared-norm ratios per layer: Gaussian curves, the orthogonal one, and the log-normal
    theory (median ``exp(l m)`` and ``+-2`` sd band ``exp(l m +- 2 sqrt(l v))``).

    Parameters
    ----------
    gaussian : array (depth, samples)
        From :func:`gaussian_norm_ratios`.
    orthogonal : array (depth, samples) or (depth,)
        From :func:`norm_ratios` with orthogonal layers (only the first column is drawn).
    step_mean, step_var : float
        From :func:`chi2_log_step`.

    Examples
    --------
    >>> from course_utils.theory import chi2_log_step, gaussian_norm_ratios
    >>> g = gaussian_norm_ratios(np.ones((2, 16)), 5, 0)
    >>> fig = norm_ratio_figure(g, np.ones(5), *chi2_log_step(16))
    """
    g = np.atleast_2d(np.asarray(gaussian, dtype=np.float64))
    o = np.asarray(orthogonal, dtype=np.float64)
    o = o if o.ndim == 1 else o[:, 0]
    depth, samples = g.shape
    layers = np.arange(1, depth + 1)
    fig, axes = _new_figure(size=(7.0, 4.0))
    ax = axes[0, 0]
    for j in range(samples):
        ax.plot(layers, g[:, j], color=color(1), alpha=0.5, lw=1,
                label=f"Gaussian, {samples} independent nets" if j == 0 else None)  # fmt: skip
    ax.plot(layers, np.exp(layers * step_mean), color="black", label="theory: median")
    for sign in (-2, 2):
        ax.plot(layers, np.exp(layers * step_mean + sign * np.sqrt(layers * step_var)), "--",
                color="black", lw=1, label="theory: +-2 sd" if sign > 0 else None)  # fmt: skip
    ax.plot(layers, o, color=color(0), lw=3, label="orthogonal (all inputs)")
    ax.set_yscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel("$\\|x W_1 \\cdots W_l\\|^2 / \\|x\\|^2$")
    ax.set_title(title or f"Norm of a signal through {depth} linear layers")
    ax.legend(fontsize=8)

    def text() -> str:
        last = _finite(g[-1])
        median = math.exp(depth * step_mean)
        band = [math.exp(depth * step_mean + s * math.sqrt(depth * step_var)) for s in (-2, 2)]
        inside = int(np.sum((last >= band[0]) & (last <= band[1])))
        measured = (
            f"they range from {_fmt_num(last.min())} to {_fmt_num(last.max())} (median "
            f"{_fmt_num(np.median(last))})" if last.size else "none is finite"
        )
        return (
            f"{ax.get_title()}: squared-norm ratio (log scale) against layer 1 to {depth} for "
            f"{samples} Gaussian networks; at layer {depth} {measured}, the log-normal theory's "
            f"median is {_fmt_num(median)} "
            f"with +-2 sd band {_fmt_num(band[0])} to {_fmt_num(band[1])} ({inside} of "
            f"{last.size} inside); the orthogonal network {_trend(o)}."
        )

    return _describe_with(fig, text)


def recurrence_figure(
    matrices: Mapping[str, Any], norms: Mapping[str, Any], *, title: str | None = None
) -> Figure:
    """Eigenvalues of recurrent matrices against the unit circle, and ``||h_0 W^t||`` over time.

    Parameters
    ----------
    matrices : dict name -> square array
    norms : dict name -> 1-D array
        From :func:`linear_recurrence_norms`, same names.

    Examples
    --------
    >>> m = {"identity": np.eye(4)}
    >>> fig = recurrence_figure(m, {"identity": np.ones(10)})
    """
    fig, axes = _new_figure(1, 2, size=(11.0, 3.8))
    ax1, ax2 = axes[0]
    colours = {name: color([1, 0, 2, 3][i % 4]) for i, name in enumerate(matrices)}
    n = None
    radii: dict[str, float] = {}  # largest |eigenvalue| per matrix (for the description)
    for name, w in matrices.items():
        ev = np.linalg.eigvals(np.asarray(w, dtype=np.float64))
        n = len(ev)
        radii[name] = float(np.max(np.abs(ev))) if ev.size else float("nan")
        ax1.scatter(ev.real, ev.imag, s=8, color=colours[name], label=name)
    t = np.linspace(0, 2 * np.pi, 200)
    ax1.plot(np.cos(t), np.sin(t), color="black", lw=1, label="unit circle (circular law edge)")
    ax1.set_aspect("equal")
    ax1.set_xlabel("Re $\\lambda$")
    ax1.set_ylabel("Im $\\lambda$")
    ax1.set_title(f"Eigenvalues of the recurrent matrix (n = {n})")
    ax1.legend(fontsize=7, loc="lower left")
    steps = 0
    for name, v in norms.items():
        v = _as_1d(v, "norms")
        steps = v.size
        ax2.plot(np.arange(1, v.size + 1), v, color=colours.get(name, "black"), lw=2, label=name)
    ax2.set_yscale("log")
    ax2.set_xlabel("time step t")
    ax2.set_ylabel("$\\|h_0 W^t\\| / \\|h_0\\|$")
    ax2.set_title(title or f"A linear recurrence over {steps} steps")
    ax2.legend(fontsize=8)

    def text() -> str:
        parts = []
        for name in dict.fromkeys([*matrices, *norms]):
            part = f"{name}:"
            if name in radii:
                part += f" largest |eigenvalue| {_fmt_num(radii[name])}"
            if name in norms:
                part += f"{',' if name in radii else ''} norm {_trend(norms[name])}"
            parts.append(part)
        return (
            f"{ax1.get_title()}, against the unit circle; right: {ax2.get_title()}, the norm "
            f"ratio on a log scale. {_join(parts, noun='matrices')}."
        )

    return _describe_with(fig, text)


def truncated_normal_figure(
    corrected: Any, uncorrected: Any, fan_in: int, *, title: str | None = None
) -> Figure:
    """Histograms of a corrected (Keras/JAX) and an uncorrected (PyTorch) truncated normal with
    the target density ``N(0, 1/fan_in)`` overlaid.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> w = np.clip(rng.standard_normal(1000), -2, 2) / 8
    >>> fig = truncated_normal_figure(w / 0.88, w, 64)
    """
    fan_in = _positive_int("fan_in", fan_in)
    a, b = _as_1d(corrected, "corrected"), _as_1d(uncorrected, "uncorrected")
    sd = 1.0 / math.sqrt(fan_in)
    bins = np.linspace(-2.3, 2.3, 60) * sd / 0.87962566103423978
    fig, axes = _new_figure(size=(7.0, 3.8))
    ax = axes[0, 0]
    ax.hist(a, bins=bins, density=True, alpha=0.6, color=color(0),
            label="corrected truncated normal (Keras / JAX)")  # fmt: skip
    ax.hist(b, bins=bins, density=True, alpha=0.6, color=color(3),
            label="torch trunc_normal_(std, -2 std, 2 std)")  # fmt: skip
    grid = np.linspace(bins[0], bins[-1], 400)
    ax.plot(grid, np.exp(-0.5 * (grid / sd) ** 2) / (sd * math.sqrt(2 * math.pi)), color="black",
            label="N(0, 1/fan_in), the target variance")  # fmt: skip
    ax.set_xlabel("weight")
    ax.set_ylabel("density")
    ax.set_title(title or f"Truncated normals with fan_in = {fan_in}")
    ax.legend(fontsize=7)

    def text() -> str:
        parts = []
        for label, v in (("corrected (Keras / JAX)", a), ("uncorrected (torch)", b)):
            v = _finite(v)
            std = float(v.std()) if v.size else float("nan")
            parts.append(f"{label} std {_fmt_num(std)}, {_fmt_num(std / sd)} of the target")
        return (
            f"{ax.get_title()}: density histograms of two truncated-normal samples against the "
            f"target N(0, 1/fan_in), std {_fmt_num(sd)}: " + "; ".join(parts) + "."
        )

    return _describe_with(fig, text)


__all__ += ["curves_over_seeds", "learning_time_figure"]


def learning_time_figure(
    times: Mapping[str, Any], max_epochs: int, *, title: str | None = None
) -> Figure:
    """Epochs to learn against depth (log-log), one series per initialization.

    Parameters
    ----------
    times : dict name -> LearningTimes
        From :func:`course_utils.isometry.deep_linear_learning_times` (``depths``, ``epochs``).
    max_epochs : int
        The budget; a depth that never reached the threshold (``inf``) is drawn as an open
        marker at this height with an upward arrow.

    Examples
    --------
    >>> from course_utils.isometry import LearningTimes
    >>> t = LearningTimes([1, 2], np.array([1.0, np.inf]), np.ones(2), np.zeros(2), np.ones(2))
    >>> fig = learning_time_figure({"gaussian": t}, 100)
    """
    max_epochs = int(max_epochs)
    fig, axes = _new_figure(size=(7.0, 3.8))
    ax = axes[0, 0]
    parts = []
    for i, (name, t) in enumerate(times.items()):
        d = np.asarray(t.depths, dtype=np.float64)
        e = np.asarray(t.epochs, dtype=np.float64)
        ok = np.isfinite(e)
        c = color(i)
        ax.plot(d[ok], e[ok], "o-", color=c, lw=2, label=f"{name}")
        if (~ok).any():
            ax.plot(d[~ok], np.full((~ok).sum(), max_epochs), "^", color=c, mfc="none", ms=10,
                    label=f"{name}: not learned in {max_epochs} epochs")  # fmt: skip
        parts.append(
            f"{name}: "
            + ", ".join(
                f"depth {int(a)} {('>' + str(max_epochs)) if not np.isfinite(b) else int(b)}"
                for a, b in zip(d, e, strict=True)
            )
        )
    ax.axhline(max_epochs, color="grey", ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("depth L (number of linear layers)")
    ax.set_ylabel("epochs to reach 1 % of the initial loss")
    ax.set_title(title or "Deep linear networks: learning time against depth")
    ax.legend(fontsize=8)
    describe(
        fig, f"{ax.get_title()}. Median epochs over seeds at the best rate. " + "; ".join(parts)
    )
    return fig


def curves_over_seeds(
    curves: Mapping[str, Any],
    *,
    logy: bool = True,
    xlabel: str = "epoch",
    ylabel: str = "training loss",
    title: str | None = None,
    reference: float | None = None,
    reference_label: str = "",
    spread: bool = False,
) -> Figure:
    """Mean curve and min-max band over seeds, one series per name.

    Parameters
    ----------
    curves : dict name -> array (seeds, epochs)
    reference : float, optional
        A horizontal line (e.g. the loss of a uniform guess, ``ln k``).
    spread : bool
        Describe the start and the end as mean +- SD over the seeds at the precision the SD
        supports (:func:`course_utils.figure_alt.format_mean_sd`) instead of the mean to three
        digits: finer digits of a training run are what another CPU's rounding changes.

    Examples
    --------
    >>> fig = curves_over_seeds({"a": np.ones((3, 5)), "b": np.ones((3, 5)) / 2})
    """
    fig, axes = _new_figure(size=(7.0, 3.8))
    ax = axes[0, 0]
    parts = []
    for i, (name, c) in enumerate(curves.items()):
        c = np.atleast_2d(np.asarray(c, dtype=np.float64))
        x = np.arange(c.shape[1])
        col = color(i)
        ax.plot(x, c.mean(axis=0), color=col, lw=2, label=f"{name} (mean of {c.shape[0]} seeds)")
        ax.fill_between(x, c.min(axis=0), c.max(axis=0), color=col, alpha=0.2, lw=0)
        if spread:
            parts.append(
                f"{name}: {format_mean_sd(c[:, 0])} at start, {format_mean_sd(c[:, -1])} at end"
            )
        else:
            parts.append(
                f"{name}: mean {c.mean(axis=0)[0]:.3g} at start, {c.mean(axis=0)[-1]:.3g} at end"
            )
    if reference is not None:
        ax.axhline(reference, color="black", ls="--", lw=1, label=reference_label or None)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "Training curves over seeds (bands: min to max)")
    ax.legend(fontsize=8)
    head = f"{ax.get_title()}. Lines: mean over seeds; bands: min to max. "
    if spread:
        head += "Start and end as mean +- SD over the seeds. "
    describe(fig, head + "; ".join(parts))
    return fig


# --------------------------------------------------------------------------- lecture 02: panels


__all__ += ["std_by_depth_panels"]


def std_by_depth_panels(
    panels: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
    *,
    logy: bool = True,
    ylabel: str = "std of the activations",
    xlabel: str = "layer",
    title: str | None = None,
) -> Figure:
    """Measured std per layer (markers) and theory (lines) in side-by-side panels, one legend.

    Each panel is ``title -> (measured, theory)``, two dicts ``series label -> per-layer
    values`` with the same keys in every panel (e.g. one series per weight scale). A series has
    the same colour in every panel, so the legend needs one entry per series plus one saying
    which mark is measured and which is theory, however many panels there are.

    Parameters
    ----------
    panels : mapping
        ``panel title -> (measured dict, theory dict)``; a theory value may be ``None``.
    logy : bool
        Logarithmic y-axis.
    ylabel, xlabel, title : str

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel; measured series are marker-only ``Line2D`` labelled with the series
        label, theory series plain lines; one figure-level legend.

    Examples
    --------
    >>> fig = std_by_depth_panels({"net A": ({"s=1": [1.0, 0.5]}, {"s=1": [1.0, 0.5]}),
    ...                            "net B": ({"s=1": [0.9, 0.4, 0.2]}, {"s=1": [1.0, 0.5, 0.25]})})
    >>> len(fig.axes)
    2
    """
    if not isinstance(panels, Mapping) or not panels:
        raise ValueError("panels must be a non-empty mapping title -> (measured, theory)")
    keys: list[str] | None = None
    for name, pair in panels.items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Mapping)):
            raise ValueError(f"panels[{name!r}] must be a (measured dict, theory dict) pair")
        if not isinstance(pair[1], Mapping) or set(pair[1]) - set(pair[0]):
            raise ValueError(f"panels[{name!r}]: theory must be a dict keyed like measured")
        if keys is None:
            keys = list(pair[0])
        elif list(pair[0]) != keys:
            raise ValueError("every panel must have the same series labels in the same order")
    assert keys is not None
    n = len(panels)
    fig, axes = _new_figure(1, n, size=(4.2 * n, 3.8))
    for ax, (name, (measured, theory)) in zip(axes[0], panels.items(), strict=True):
        for i, key in enumerate(keys):
            m = _as_1d(measured[key], "measured")
            x = np.arange(1, len(m) + 1)
            mk = _SERIES_MARKERS[i % len(_SERIES_MARKERS)]  # a second cue besides colour
            ax.plot(x, m, linestyle="none", marker=mk, markersize=5, color=color(i), label=key)
            t = theory.get(key)
            if t is not None:
                t = _as_1d(t, "theory")
                if len(t) != len(m):
                    raise ValueError(
                        f"panel {name!r}, series {key!r}: theory and measured lengths differ"
                    )
                ax.plot(x, t, linestyle=_SERIES_STYLES[i % len(_SERIES_STYLES)], color=color(i), alpha=0.8)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(name, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
    handles = [
        Line2D(
            [],
            [],
            linestyle=_SERIES_STYLES[i % len(_SERIES_STYLES)],
            marker=_SERIES_MARKERS[i % len(_SERIES_MARKERS)],
            markersize=5,
            color=color(i),
            label=k,
        )
        for i, k in enumerate(keys)
    ]
    handles.append(Line2D([], [], linestyle="-", color="grey", label="lines: theory"))
    handles.append(
        Line2D([], [], linestyle="none", marker="o", color="grey", label="markers: measured")
    )
    fig.legend(handles=handles, loc="outside right center", fontsize=8)
    if title:
        fig.suptitle(title)

    def text() -> str:
        parts = []
        for name, (measured, theory) in panels.items():
            series = [f"{key} {_ends(measured[key])}" for key in keys]
            worst = [_worst_factor(measured[key], theory[key]) for key in keys
                     if theory.get(key) is not None]  # fmt: skip
            fit = ""
            if worst and all(math.isfinite(f) for f in worst):
                fit = f" (all {_factor_text(max(worst))})"
            share = max(270 // n - len(name) - len(fit), 40)
            parts.append(f"{name}: " + _join(series, share, sep=", ", noun="series") + fit)
        head = title or f"{ylabel[0].upper()}{ylabel[1:]} by depth"
        return (
            f"{head}: {_plain(ylabel)}{' (log scale)' if logy else ''} against {_plain(xlabel)} "
            f"in {n} panel{'s' if n > 1 else ''}, markers measured, lines theory; first to last "
            "layer: "
            f"{_join(parts, 340, noun='panels')}."
        )

    return _describe_with(fig, text)


# --------------------------------------------------------------------------- lectures 03 and 05


__all__ += ["function_curves", "measured_vs_theory", "ratio_bars", "sample_histograms"]


def _pair(value: Any, name: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not (isinstance(value, tuple) and len(value) == 2):
        raise ValueError(f"{name} must be a (measured, theory) pair; either may be None")
    m, t = value
    return (
        None if m is None else _as_1d(m, f"{name} measured"),
        None if t is None else _as_1d(t, f"{name} theory"),
    )


def measured_vs_theory(
    x: Any,
    panels: Mapping[str, Mapping[str, tuple[Any, Any]]],
    *,
    xlabel: str,
    title: str | None = None,
    logx: bool = False,
    logy: bool = False,
    theory_x: Any = None,
) -> Figure:
    """Measured values (markers) against their theory (lines) over a common x, in panels.

    Each panel is ``y-axis label -> {series label: (measured, theory)}``; either half of a pair
    may be ``None``. A series keeps its colour and marker in every panel, so one panel per
    quantity (e.g. ``Var(y)`` and ``E[y^2]`` of the same sums) can be read side by side.

    Parameters
    ----------
    x : sequence
        x values of the measured points (and of the theory unless ``theory_x`` is given).
    panels : mapping
        ``ylabel -> {label: (measured, theory)}`` with the same labels, in the same order, in
        every panel.
    xlabel, title : str
    logx, logy : bool
        Logarithmic axes (``logx and logy`` shows a power law as a straight line).
    theory_x : sequence, optional
        x values of the theory lines if they are drawn on a finer grid.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel; measured series are marker-only ``Line2D`` labelled with the series
        label, theory series plain lines labelled ``"<label> (theory)"``.

    Examples
    --------
    >>> fig = measured_vs_theory([1, 2, 4], {"Var(y)": {"iid": ([1.1, 1.9, 4.2], [1, 2, 4])}},
    ...                          xlabel="n", logx=True, logy=True)
    >>> len(fig.axes)
    1
    """
    xv = _as_1d(x, "x")
    xt = xv if theory_x is None else _as_1d(theory_x, "theory_x")
    if not isinstance(panels, Mapping) or not panels:
        raise ValueError("panels must be a non-empty mapping ylabel -> {label: (measured, theory)}")
    keys: list[str] | None = None
    for ylabel, series in panels.items():
        if not isinstance(series, Mapping) or not series:
            raise ValueError(f"panels[{ylabel!r}] must be a non-empty mapping of series")
        if keys is None:
            keys = list(series)
        elif list(series) != keys:
            raise ValueError("every panel must have the same series labels in the same order")
    assert keys is not None
    markers = "osD^vP*X"
    n = len(panels)
    fig, axes = _new_figure(1, n, size=(6.0, 4.0) if n == 1 else (4.4 * n + 1.6, 3.8))
    for ax, (ylabel, series) in zip(axes[0], panels.items(), strict=True):
        for i, key in enumerate(keys):
            m, t = _pair(series[key], f"panels[{ylabel!r}][{key!r}]")
            if m is not None:
                if len(m) != len(xv):
                    raise ValueError(f"{key!r}: measured has {len(m)} values, x has {len(xv)}")
                ax.plot(
                    xv,
                    m,
                    linestyle="none",
                    marker=markers[i % len(markers)],
                    markersize=6,
                    markerfacecolor="none",  # hollow: coinciding series stay visible
                    markeredgewidth=1.5,
                    color=_LINE_COLOURS[i % len(_LINE_COLOURS)],
                    label=key,
                )
            if t is not None:
                if len(t) != len(xt):
                    raise ValueError(f"{key!r}: theory has {len(t)} values, x has {len(xt)}")
                ax.plot(
                    xt,
                    t,
                    linestyle="-",
                    alpha=0.8,
                    color=_LINE_COLOURS[i % len(_LINE_COLOURS)],
                    label=f"{key} (theory)",
                )
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(
            ylabel if n > 1 else (title or f"{ylabel}: measured vs theory"),
            fontsize=10 if n > 1 else None,
        )
        ax.grid(True, alpha=0.3)
        if n == 1:
            ax.legend(fontsize=8)
    if n > 1:
        handles = [
            Line2D(
                [],
                [],
                linestyle="-",
                marker=markers[i % len(markers)],
                markersize=5,
                color=_LINE_COLOURS[i % len(_LINE_COLOURS)],
                label=k,
            )
            for i, k in enumerate(keys)
        ]
        handles.append(Line2D([], [], linestyle="-", color="grey", label="lines: theory"))
        handles.append(
            Line2D([], [], linestyle="none", marker="o", color="grey", label="markers: measured")
        )
        fig.legend(handles=handles, loc="outside right center", fontsize=8)
        fig.suptitle(title or "Measured vs theory")

    def text() -> str:
        parts = []
        for ylabel, series in panels.items():
            items, worst, gaps, sloped = [], [], [], False
            for key in keys:
                m, t = _pair(series[key], f"panels[{ylabel!r}][{key!r}]")
                item = f"{key} {_trend(m)}" if m is not None else f"{key} theory {_trend(t)}"
                if m is not None and logx and logy:  # a power law: its exponent is the message
                    ok = np.isfinite(m) & (m > 0) & (xv > 0)
                    if ok.sum() >= 2:
                        slope = np.polyfit(np.log(xv[ok]), np.log(m[ok]), 1)[0]
                        item = f"{key} {slope:.2f}"
                        sloped = True
                if m is not None and t is not None and theory_x is None:
                    worst.append(_worst_factor(m, t))
                    gaps.append((key, _agreement(m, t)))
                items.append(item)
            if worst and all(math.isfinite(f) for f in worst):
                fit = f" (measured {_factor_text(max(worst))} everywhere)"
            else:
                fit = "".join(f" ({key}: {gap})" for key, gap in gaps if gap)
            intro = (f"{_plain(ylabel)}: " if n > 1 else "") + ("slopes " if sloped else "")
            parts.append(intro + _join(items, 300 // n, sep=", ", noun="series") + fit)
        head = fig.get_suptitle() if n > 1 else axes[0, 0].get_title()
        scales = " (log-log axes)" if logx and logy else " (log x)" if logx else (
            " (log y)" if logy else "")
        return (
            f"{head}: markers measured, lines theory, against {_plain(xlabel)} from "
            f"{_fmt_num(xv.min())} to {_fmt_num(xv.max())}{scales}. {_join(parts, 340, noun='panels')}."
        )

    return _describe_with(fig, text)


def sample_histograms(
    samples: Mapping[str, Any],
    densities: Mapping[str, tuple[Any, Any]] | None = None,
    *,
    bins: int = 80,
    xlabel: str = "value",
    title: str | None = None,
) -> Figure:
    """Overlaid density histograms of several samples, with exact densities drawn as lines.

    Parameters
    ----------
    samples : mapping
        ``label -> 1-D array`` (flattened if not 1-D); one semi-transparent histogram each.
    densities : mapping, optional
        ``label -> (t, pdf(t))``: exact densities to overlay, one line each.
    bins : int
        Bins per histogram.
    xlabel, title : str

    Returns
    -------
    matplotlib.figure.Figure
        One axes; ``len(samples)`` histograms (``density=True``) and ``len(densities)`` lines.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal(size=1000)
    >>> fig = sample_histograms({"z": z}, {"N(0, 1)": (np.r_[-3:3:50j], np.exp(-np.r_[-3:3:50j] ** 2 / 2) / 2.5066)})
    """
    if not isinstance(samples, Mapping) or not samples:
        raise ValueError("samples must be a non-empty mapping label -> array")
    bins = _positive_int("bins", bins)
    fig, axes = _new_figure(size=(6.0, 4.0))
    ax = axes[0, 0]
    for i, (label, values) in enumerate(samples.items()):
        v = _to_numpy(values).ravel()
        ax.hist(v, bins=bins, density=True, alpha=0.5, color=color(i), label=label)
    # density j is drawn in the colour of sample j (its histogram), extra ones continue the palette
    for j, (label, pair) in enumerate((densities or {}).items()):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(f"densities[{label!r}] must be a (t, pdf) pair")
        t, p = _as_1d(pair[0], "t"), _as_1d(pair[1], "pdf")
        if len(t) != len(p):
            raise ValueError(f"densities[{label!r}]: t and pdf lengths differ")
        ax.plot(
            t,
            p,
            color=color(j) if j < len(samples) else _LINE_COLOURS[j % len(_LINE_COLOURS)],
            lw=2,
            label=label,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_title(title or "Samples and their densities")
    ax.legend(fontsize=8)

    def text() -> str:
        parts = []
        for label, values in samples.items():
            v = _finite(values)
            if not v.size:
                parts.append(f"{label}: no finite values")
                continue
            parts.append(
                f"{label}: {v.size} values, mean {_fmt_num(v.mean())}, std {_fmt_num(v.std())}, "
                f"from {_fmt_num(v.min())} to {_fmt_num(v.max())}"
            )
        lines = [f"{label} (peak {_fmt_num(_finite(pair[1]).max())})"
                 for label, pair in (densities or {}).items() if _finite(pair[1]).size]  # fmt: skip
        overlay = "; lines: " + ", ".join(lines) if lines else ""
        return (
            f"{ax.get_title()}: density histograms of the {_plain(xlabel)}. "
            f"{_join(parts, 280, noun='samples')}{overlay}."
        )

    return _describe_with(fig, text)


def function_curves(
    x: Any,
    curves: Mapping[str, Any],
    *,
    points: Mapping[str, tuple[Any, Any]] | None = None,
    xlabel: str = "x",
    ylabel: str = "f(x)",
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """Several functions of one variable on a shared x grid, with optional marked points.

    Parameters
    ----------
    x : sequence
        The grid.
    curves : mapping
        ``label -> f(x)`` values, one line each (the label ``"identity"`` is drawn dotted).
    points : mapping, optional
        ``label -> (xs, ys)`` marked as dots (e.g. ``f(+-1) = +-1``).
    xlabel, ylabel, title : str
    ylim : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes with ``len(curves)`` lines and ``len(points)`` marker series.

    Examples
    --------
    >>> import numpy as np
    >>> u = np.linspace(-3, 3, 61)
    >>> fig = function_curves(u, {"tanh(x)": np.tanh(u), "identity": u})
    """
    xv = _as_1d(x, "x")
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty mapping label -> values")
    fig, axes = _new_figure(size=(6.0, 4.0))
    ax = axes[0, 0]
    for i, (label, y) in enumerate(curves.items()):
        yv = _as_1d(y, f"curves[{label!r}]")
        if len(yv) != len(xv):
            raise ValueError(f"curves[{label!r}] has {len(yv)} values, x has {len(xv)}")
        ls = ":" if label == "identity" else "-"
        ax.plot(xv, yv, ls, color=_LINE_COLOURS[i % len(_LINE_COLOURS)], label=label)
    for j, (label, (px, py)) in enumerate((points or {}).items()):
        ax.plot(
            _as_1d(px, "points x"),
            _as_1d(py, "points y"),
            "o",
            color=_LINE_COLOURS[(len(curves) + j) % len(_LINE_COLOURS)],
            label=label,
        )
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel} against {xlabel}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)

    def text() -> str:
        parts = [f"{label} {_trend(y)}" for label, y in curves.items()]
        for label, (px, py) in (points or {}).items():
            pairs = zip(_finite(px), _finite(py), strict=False)
            xy = [f"({_fmt_num(a)}, {_fmt_num(b)})" for a, b in pairs][:4]
            parts.append(f"marked: {label} at " + ", ".join(xy))
        shown = f"; y shown from {_fmt_num(ylim[0])} to {_fmt_num(ylim[1])}" if ylim else ""
        return (
            f"{ax.get_title()}: {_plain(ylabel)} against {_plain(xlabel)} from "
            f"{_fmt_num(xv.min())} to {_fmt_num(xv.max())}: {_join(parts, noun='curves or point sets')}{shown}."
        )

    return _describe_with(fig, text)


def ratio_bars(
    values: Mapping[str, float],
    *,
    reference: float | None = None,
    reference_label: str = "theory",
    ylabel: str = "ratio",
    title: str | None = None,
) -> Figure:
    """One bar per named value, with a dashed horizontal reference line.

    Parameters
    ----------
    values : mapping
        ``label -> number``; bars in the mapping's order, one palette colour each.
    reference : float, optional
        Height of the dashed line (e.g. the theory shared by the symmetric cases).
    reference_label, ylabel, title : str

    Returns
    -------
    matplotlib.figure.Figure
        One axes with ``len(values)`` bars labelled on the x-axis.

    Examples
    --------
    >>> fig = ratio_bars({"normal": 0.502, "shifted": 1.04}, reference=0.5)
    """
    if not isinstance(values, Mapping) or not values:
        raise ValueError("values must be a non-empty mapping label -> number")
    heights = [float(v) for v in values.values()]
    fig, axes = _new_figure(size=(6.0, 4.0))
    ax = axes[0, 0]
    ax.bar(range(len(heights)), heights, color=[color(i) for i in range(len(heights))])
    if reference is not None:
        ax.axhline(float(reference), color=PALETTE[7], ls="--", label=reference_label)
        ax.legend(fontsize=8)
    ax.set_xticks(range(len(heights)), list(values), rotation=15, fontsize=8)
    ax.set_xlabel("case")
    ax.set_ylabel(ylabel)
    ax.set_title(title or ylabel)

    def text() -> str:
        bars = _join([f"{label} {_fmt_num(h)}" for label, h in zip(values, heights, strict=True)],
                     sep=", ", noun="bars")  # fmt: skip
        ref = ""
        if reference is not None and math.isfinite(float(reference)):
            r = float(reference)
            ref = f"; dashed line: {reference_label} at {_fmt_num(r)}"
            gaps = [-1.0 if math.isnan(h) else abs(h - r) for h in heights]
            if r != 0 and max(gaps) > 0:
                i = int(np.argmax(gaps))
                ref += f"; farthest from it: {list(values)[i]}, {_fmt_num(heights[i] / r)} times it"
        return f"{ax.get_title()}: one bar per case of {_plain(ylabel)}: {bars}{ref}."

    return _describe_with(fig, text)


# --------------------------------------------------------------------------- lecture 02: training runs

__all__ += ["start_losses"]

_LINE_STYLES = ("-", "--", ":", "-.")


def start_losses(
    results: Mapping[str, Mapping[str, Any]],
    *,
    reference: float | None = None,
    reference_label: str = "ln 2 (chance)",
    ylim: tuple[float, float] = (1e-3, 20.0),
    title: str | None = None,
) -> Figure:
    """Training loss per step of several starts, none of them hidden.

    Draws the ``history.loss`` of every entry of
    :func:`course_utils.symmetry.compare_starts`'s result on a log axis, each run with its own
    colour, line style and width (earlier runs drawn wider, so a later run lying exactly on top
    leaves an edge of the earlier one visible), and says so in the legend when two curves
    coincide (largest difference below 0.1 % of the loss). A run that diverged (``history`` is
    ``None``) gets a cross at the top of the axis at the step where its loss stopped being
    finite and a legend entry saying so. Losses are clipped to ``ylim`` (the legend says when).

    Parameters
    ----------
    results : mapping
        ``name -> {"history": object with .loss or None, "diverged_at": int or None}``.
    reference : float, optional
        A dashed horizontal line (e.g. ``math.log(2)``, the loss of ``p = 1/2``).
    reference_label : str
    ylim : (float, float)
        Positive y-range; losses are clipped into it.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes, log-scaled y, one legend entry per run (and one for the reference).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> fig = start_losses({"a": {"history": NS(loss=np.full(5, 0.69)), "diverged_at": None},
    ...                     "b": {"history": None, "diverged_at": 2}}, reference=0.693)
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError("results must be a non-empty mapping name -> compare_starts entry")
    lo, hi = (float(v) for v in ylim)
    if not 0 < lo < hi:
        raise ValueError(f"ylim must satisfy 0 < low < high, got {ylim!r}")
    curves: dict[str, np.ndarray] = {}
    diverged: dict[str, int] = {}
    for name, entry in results.items():
        if not isinstance(entry, Mapping) or "history" not in entry:
            raise ValueError(f"results[{name!r}] must be a mapping with a 'history' key")
        if entry["history"] is None:
            step = entry.get("diverged_at")
            if step is None:
                raise ValueError(f"results[{name!r}] has no history and no 'diverged_at' step")
            diverged[name] = int(step)
        else:
            curves[name] = np.asarray(entry["history"].loss, dtype=np.float64)
    n_steps = max((len(v) for v in curves.values()), default=max(diverged.values(), default=0) + 1)
    fig, axes = _new_figure(size=(7.0, 4.2))
    ax = axes[0, 0]
    names = list(results)
    widths = np.linspace(4.0, 1.5, max(len(names), 2))
    summary = []
    for i, name in enumerate(names):
        c = _LINE_COLOURS[i % len(_LINE_COLOURS)]
        if name in diverged:
            step = diverged[name]
            ax.plot([step], [hi], marker="X", markersize=11, color=c, markeredgecolor="black",
                    linestyle="none", clip_on=False, label=f"{name}: diverged at step {step}")  # fmt: skip
            summary.append(f"{name} diverged at step {step}")
            continue
        loss = curves[name]
        label = name
        under = [
            other
            for other in names[:i]
            if other in curves
            and len(curves[other]) == len(loss)
            and np.max(np.abs(curves[other] - loss) / np.maximum(np.abs(loss), 1e-12)) < 1e-3
        ]
        if under:
            label += f" (on top of {', '.join(under)})"
        if loss.min() < lo or loss.max() > hi:
            label += " (clipped)"
        ax.plot(np.arange(len(loss)), np.clip(loss, lo, hi), color=c,
                ls=_LINE_STYLES[i % len(_LINE_STYLES)], lw=float(widths[i]), label=label)  # fmt: skip
        summary.append(f"{name} {loss[0]:.3g} to {loss[-1]:.3g}")
    if reference is not None:
        ax.axhline(float(reference), color="black", ls=":", lw=1, label=reference_label)
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    ax.set_xlim(0, max(n_steps - 1, 1))
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("training loss")
    ax.set_title(title or "Training loss from several starts")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    describe(fig, f"{ax.get_title()}. Loss per step, log axis: " + "; ".join(summary) + ".")
    return fig


# --------------------------------------------------------------------------- lecture 08 (modern)


def series_vs_theory(
    x: Any,
    measured: Mapping[str, Any],
    theory: Mapping[str, Any],
    *,
    spread: Mapping[str, Any] | None = None,
    dashed: Mapping[str, Any] | None = None,
    dashed_label: str = "dashed: second theory",
    theory_x: Any = None,
    logx: bool = False,
    logy: bool = False,
    xlabel: str = "block",
    ylabel: str = "std of the residual stream",
    title: str = "",
    summary: str = "",
) -> Figure:
    """Measured series (markers, optional +-spread bars) with their theory (lines), one colour
    per series, on one axes; ``summary`` ends the figure's text description.

    Parameters
    ----------
    x : sequence
        x values of the measured points (shared by every series).
    measured, theory : dict label -> sequence
        Same keys; a theory value may be ``None`` (no line). Theory is drawn at ``theory_x``
        (default ``x``).
    spread : dict label -> sequence, optional
        Half-height of an error bar per measured point (e.g. one standard error).
    dashed : dict label -> sequence, optional
        A second theory per series (e.g. the other bound), dashed, at ``theory_x``;
        ``dashed_label`` names it in the legend.

    Examples
    --------
    >>> fig = series_vs_theory([0, 1, 2], {"a": [1, 2, 4]}, {"a": [1, 2, 4]}, logy=True)
    >>> len(fig.axes)
    1
    """
    if not isinstance(measured, Mapping) or not measured:
        raise ValueError("measured must be a non-empty dict label -> sequence")
    if not isinstance(theory, Mapping) or set(theory) - set(measured):
        raise ValueError("theory must be a dict keyed like measured")
    xs = _as_1d(x, "x")
    tx = xs if theory_x is None else _as_1d(theory_x, "theory_x")
    fig, axes = _new_figure(size=(6.4, 3.9))
    ax = axes[0, 0]
    for i, (key, values) in enumerate(measured.items()):
        m = _as_1d(values, "measured")
        if len(m) != len(xs):
            raise ValueError(f"measured[{key!r}] has {len(m)} values for {len(xs)} x values")
        c = _LINE_COLOURS[i % len(_LINE_COLOURS)]
        err = None if spread is None or spread.get(key) is None else _as_1d(spread[key], "spread")
        ax.errorbar(xs, m, yerr=err, linestyle="none", marker="o", markersize=4, color=c,
                    label=f"{key} (measured)")  # fmt: skip
        t = theory.get(key)
        if t is not None:
            t = _as_1d(t, "theory")
            if len(t) != len(tx):
                raise ValueError(f"theory[{key!r}] has {len(t)} values for {len(tx)} x values")
            ax.plot(tx, t, color=c, lw=1.5, alpha=0.8)
        d = None if dashed is None else dashed.get(key)
        if d is not None:
            d = _as_1d(d, "dashed")
            if len(d) != len(tx):
                raise ValueError(f"dashed[{key!r}] has {len(d)} values for {len(tx)} x values")
            ax.plot(tx, d, color=c, lw=1.5, ls="--", alpha=0.8)
    if logx:
        ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="grey", lw=1.5, label="lines: theory"))
    if dashed:
        handles.append(Line2D([], [], color="grey", lw=1.5, ls="--", label=dashed_label))
    ax.legend(handles=handles, fontsize=8)
    if not summary:
        summary = _join([f"{key} {_trend(values)}" for key, values in measured.items()], noun="series") + "."
    head = f"{title}. " if title else ""
    describe(fig, f"{head}Markers: measured {ylabel}; lines: theory. {summary}".strip())
    return fig
