"""General measured-against-expected figures of lectures 03 and 05: measured values against
their theory in panels, functions of one variable on a shared grid, and bars against a reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from course_utils.plots._common import (
    _LINE_COLOURS,
    PALETTE,
    _agreement,
    _as_1d,
    _describe_with,
    _factor_text,
    _finite,
    _fmt_num,
    _join,
    _new_figure,
    _plain,
    _theory_measured_legend,
    _trend,
    _worst_factor,
    color,
)

__all__ = ["measured_vs_theory", "function_curves", "ratio_bars"]


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
        _theory_measured_legend(
            fig,
            [
                (k, "-", markers[i % len(markers)], _LINE_COLOURS[i % len(_LINE_COLOURS)])
                for i, k in enumerate(keys)
            ],
        )
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
