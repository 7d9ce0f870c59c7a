"""Figures of weight matrices and their spectra (lectures 00 and 06): the three families of
weights, the QR sign fix, spectra of deep products, norm ratios and recurrences. Their numerics
live in :mod:`course_utils.theory`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from course_utils.plots._common import (
    _as_1d,
    _describe_with,
    _finite,
    _fmt_num,
    _join,
    _new_figure,
    _trend,
    color,
)
from course_utils.theory import (
    _positive_int,
    newman_lyapunov_exponents,
)

__all__ = ["three_families", "qr_sign_fix_figure", "spectrum_figure", "norm_ratio_figure", "recurrence_figure"]


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
