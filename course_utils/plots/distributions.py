"""Figures of distributions: per-layer histograms, overlaid sample histograms with exact
densities, and the truncated normals of lecture 06.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from course_utils.figure_alt import describe
from course_utils.plots._common import (
    _LINE_COLOURS,
    _as_1d,
    _describe_with,
    _finite,
    _fmt_num,
    _join,
    _labels,
    _new_figure,
    _plain,
    _rows_from,
    _to_numpy,
    color,
)
from course_utils.theory import _positive_int

__all__ = ["layer_histograms", "truncated_normal_figure", "sample_histograms"]


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
