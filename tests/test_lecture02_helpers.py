"""Helpers that lecture 02 uses: the teacher task, training from several starts, and the
side-by-side std-by-depth panels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils import plots
from course_utils.symmetry import compare_starts, init_mlp, teacher_task, train


def test_teacher_task_is_seeded_and_balanced():
    x, y = teacher_task(np.random.default_rng(7), n=64, d=5, hidden=3)
    x2, y2 = teacher_task(7, n=64, d=5, hidden=3)
    assert x.shape == (64, 5) and y.shape == (64,)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert set(np.unique(y)) == {0.0, 1.0} and y.sum() == 32  # labels split at the median
    with pytest.raises(ValueError, match="n must"):
        teacher_task(0, n=1)
    with pytest.raises(ValueError, match="hidden must"):
        teacher_task(0, hidden=0)


def test_compare_starts_measures_and_reports_divergence():
    """Without biases a ReLU network is positively homogeneous of degree L in its weights, so
    doubling sigma multiplies the logit by 2^L exactly (up to float64 rounding, relative 1e-12);
    ReLU at sigma = 1 on width 50 has a logit std ~ sqrt(50) * 5^10 and overflows the first
    update at lr 0.1, which must be reported, not raised."""
    x, y = teacher_task(7, n=128, d=20, hidden=5)
    widths = [20] * 6 + [1]
    starts = {
        "a": ("random_normal", {"std": 0.05}),
        "b": ("random_normal", {"std": 0.1}),
    }
    out = compare_starts(widths, starts, x, y, hidden="relu", lr=0.1, steps=20)
    assert out["b"]["logit_std"] / out["a"]["logit_std"] == pytest.approx(2.0**6, rel=1e-12)
    x50, y50 = teacher_task(7)
    big = compare_starts(
        [50] * 11 + [1], {"big": ("random_normal", {"std": 1.0})}, x50, y50, lr=0.1, steps=150
    )["big"]
    assert big["history"] is None and "not finite" in big["error"]
    assert big["logit_std"] > 1e6
    assert out["a"]["error"] is None
    _, hist = train(
        init_mlp(widths, "random_normal", np.random.default_rng(0), std=0.1), x, y, lr=0.1, steps=20
    )
    np.testing.assert_array_equal(out["b"]["history"].loss, hist.loss)
    assert out["b"]["grad_norm_1"] == hist.grad_norms[0, 0]
    with pytest.raises(ValueError, match="starts"):
        compare_starts(widths, {}, x, y, lr=0.1, steps=1)
    with pytest.raises(ValueError, match="pair"):
        compare_starts(widths, {"a": "he_normal"}, x, y, lr=0.1, steps=1)


def test_std_by_depth_panels_has_one_legend_entry_per_series():
    panels = {
        "small": ({"s=0.1": [1.0, 0.5], "s=1": [2.0, 4.0]}, {"s=0.1": [1.0, 0.5], "s=1": None}),
        "deep": (
            {"s=0.1": [1.0, 0.5, 0.2], "s=1": [2, 4, 8]},
            {"s=0.1": [1, 0.5, 0.25], "s=1": [2, 4, 8]},
        ),
    }
    fig = plots.std_by_depth_panels(panels, title="t")
    assert len(fig.axes) == 2
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["s=0.1", "s=1", "lines: theory", "markers: measured"]
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 3  # 2 measured + 1 theory (one is None)
    with pytest.raises(ValueError, match="same series"):
        plots.std_by_depth_panels({"a": ({"x": [1]}, {}), "b": ({"y": [1]}, {})})
    with pytest.raises(ValueError, match="lengths"):
        plots.std_by_depth_panels({"a": ({"x": [1, 2]}, {"x": [1]})})
    assert math.isfinite(ax.get_ylim()[0])
