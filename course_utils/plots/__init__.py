"""Figures for the course: every function returns a fresh :class:`matplotlib.figure.Figure`.

No pyplot state is touched: figures are built with ``matplotlib.figure.Figure`` directly, so a
notebook shows each one exactly once (as the last expression of a cell or via ``display(fig)``)
and nothing leaks between cells. Save with ``fig.savefig("name.png")``.

Colours come from :data:`PALETTE`, the Okabe-Ito palette, which stays distinguishable under
the common forms of colour-vision deficiency (M. Okabe and K. Ito, "Color Universal Design",
2008). Diverging maps use ColorBrewer's ``RdBu``, also colour-blind safe.

One namespace, a module per family of figures (import from ``course_utils.plots``; the modules
are where the code lives, not a second API):

* :mod:`~course_utils.plots.distributions` - :func:`layer_histograms` (rows: configurations,
  columns: layers), :func:`sample_histograms`, :func:`truncated_normal_figure`
* :mod:`~course_utils.plots.depth` - :func:`std_by_depth` (measured std per layer with the theory
  overlaid), :func:`std_by_depth_panels`, :func:`std_ratio_heatmap` (depth x scale map of
  log10(std ratio) with the critical line), :func:`series_vs_theory`
* :mod:`~course_utils.plots.comparisons` - :func:`measured_vs_theory`, :func:`function_curves`,
  :func:`ratio_bars`
* :mod:`~course_utils.plots.training` - :func:`loss_curves`, :func:`curves_over_seeds` (mean and
  min-max band over seeds), :func:`start_losses`, :func:`learning_time_figure`
* :mod:`~course_utils.plots.spectra` - :func:`three_families` (uniform, normal and orthogonal
  weights and their singular values), :func:`qr_sign_fix_figure`, :func:`spectrum_figure`,
  :func:`norm_ratio_figure`, :func:`recurrence_figure`
* :mod:`~course_utils.plots.landscapes` - :func:`landscape_figure` (the motivating picture of
  lecture 00; its numerics, :func:`landscape_loss`, :func:`landscape_grad`,
  :func:`gradient_descent_1d`, live in :mod:`course_utils.theory` and are re-exported here),
  :func:`basins_figure`, :func:`decision_boundaries`
* :mod:`~course_utils.plots._common` (private) - palette, second cues, number format,
  description (alt-text) glue, input normalisers
"""

from __future__ import annotations

# Names this namespace has always exposed besides the figures (kept so old imports work).
import math  # noqa: F401
import numbers  # noqa: F401
from collections.abc import Callable, Mapping, Sequence  # noqa: F401
from typing import Any  # noqa: F401

import numpy as np  # noqa: F401
from matplotlib.colors import ListedColormap, TwoSlopeNorm  # noqa: F401
from matplotlib.figure import Figure  # noqa: F401
from matplotlib.lines import Line2D  # noqa: F401
from matplotlib.ticker import MaxNLocator  # noqa: F401

from course_utils.figure_alt import (  # noqa: F401
    describe,
    description,
    format_mean_sd,
    format_number,
    install_ipython_formatters,
    summarize,
)
from course_utils.plots._common import PALETTE, _fmt_num, _join, _trend, color  # noqa: F401
from course_utils.plots.comparisons import (
    function_curves,
    measured_vs_theory,
    ratio_bars,
)
from course_utils.plots.depth import (
    series_vs_theory,  # noqa: F401  (public, never listed in __all__)
    std_by_depth,
    std_by_depth_panels,
    std_ratio_heatmap,
)
from course_utils.plots.distributions import (
    layer_histograms,
    sample_histograms,
    truncated_normal_figure,
)
from course_utils.plots.landscapes import basins_figure, decision_boundaries, landscape_figure
from course_utils.plots.spectra import (
    norm_ratio_figure,
    qr_sign_fix_figure,
    recurrence_figure,
    spectrum_figure,
    three_families,
)
from course_utils.plots.training import (
    curves_over_seeds,
    learning_time_figure,
    loss_curves,
    start_losses,
)
from course_utils.theory import (  # numerics; re-exported for lecture 00's callers  # noqa: F401
    LANDSCAPE_MINIMA,
    LANDSCAPE_STARTS,
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
    "basins_figure",
    "basins_of_attraction",
    "norm_ratio_figure",
    "qr_sign_fix_figure",
    "recurrence_figure",
    "spectrum_figure",
    "truncated_normal_figure",
    "curves_over_seeds",
    "learning_time_figure",
    "std_by_depth_panels",
    "function_curves",
    "measured_vs_theory",
    "ratio_bars",
    "sample_histograms",
    "start_losses",
]
