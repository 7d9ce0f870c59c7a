"""Figures of where optimisation ends: lecture 00's 1-D loss landscape and basins of
attraction, and the decision regions of 2-D classifiers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from course_utils.plots._common import (
    _LINE_COLOURS,
    _as_1d,
    _describe_with,
    _fmt_num,
    _join,
    _labels,
    _new_figure,
    _to_numpy,
    color,
)
from course_utils.theory import (
    LANDSCAPE_STARTS,
    gradient_descent_1d,
    landscape_grad,
    landscape_loss,
)

__all__ = ["decision_boundaries", "landscape_figure", "basins_figure"]


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
