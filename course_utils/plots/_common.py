"""Shared, private parts of the figure modules: the palette and second cues (markers, line
styles), the number format and the description (alt-text) glue, and the input normalisers.

Nothing here draws a figure. :data:`PALETTE` and :func:`color` are public through
:mod:`course_utils.plots`.

Colours come from :data:`PALETTE`, the Okabe-Ito palette, which stays distinguishable under
the common forms of colour-vision deficiency (M. Okabe and K. Ito, "Color Universal Design",
2008). Diverging maps use ColorBrewer's ``RdBu``, also colour-blind safe.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from course_utils.figure_alt import (
    describe,
    format_number,
    install_ipython_formatters,
    summarize,
)

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


def _theory_measured_legend(
    fig: Figure, series: Sequence[tuple[str, str, str, Any]], *, fontsize: float = 8
) -> None:
    """A figure legend to the right: one entry per series (label, line style, marker, colour),
    then the two keys "lines: theory" and "markers: measured"."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], linestyle=ls, marker=marker, markersize=5, color=colour, label=label)
        for label, ls, marker, colour in series
    ]
    handles.append(Line2D([], [], linestyle="-", color="grey", label="lines: theory"))
    handles.append(
        Line2D([], [], linestyle="none", marker="o", color="grey", label="markers: measured")
    )
    fig.legend(handles=handles, loc="outside right center", fontsize=fontsize)
