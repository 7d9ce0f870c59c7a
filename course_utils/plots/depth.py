"""Figures of how a statistic changes with depth: std per layer with the theory overlaid (one
axes or side-by-side panels), the depth x scale heatmap of the std ratio, and measured series
against their theory (lecture 08's residual streams).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from course_utils.figure_alt import describe
from course_utils.plots._common import (
    _DIVERGING,
    _LINE_COLOURS,
    _SERIES_MARKERS,
    _SERIES_STYLES,
    PALETTE,
    _as_1d,
    _describe_with,
    _ends,
    _factor_text,
    _finite,
    _fmt_num,
    _join,
    _labels,
    _new_figure,
    _plain,
    _series,
    _theory_measured_legend,
    _to_numpy,
    _trend,
    _worst_factor,
    color,
)

__all__ = ["std_by_depth", "std_ratio_heatmap", "std_by_depth_panels", "series_vs_theory"]


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
    _theory_measured_legend(
        fig,
        [
            (
                k,
                _SERIES_STYLES[i % len(_SERIES_STYLES)],
                _SERIES_MARKERS[i % len(_SERIES_MARKERS)],
                color(i),
            )
            for i, k in enumerate(keys)
        ],
    )
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
