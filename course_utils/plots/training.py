"""Figures of training: loss curves per epoch, mean curves with a min-max band over seeds,
losses per step of several starts, and learning time against depth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from course_utils.figure_alt import (
    describe,
    format_mean_sd,
)
from course_utils.plots._common import (
    _LINE_COLOURS,
    _SERIES_STYLES,
    PALETTE,
    _describe_with,
    _finite,
    _fmt_num,
    _is_scalar,
    _join,
    _labels,
    _new_figure,
    _plain,
    _series,
    _trend,
    color,
)

__all__ = ["loss_curves", "learning_time_figure", "curves_over_seeds", "start_losses"]


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
