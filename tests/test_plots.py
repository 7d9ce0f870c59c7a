"""Tests for course_utils.plots: every figure renders, and it plots the data it was given."""

from __future__ import annotations

import io
import types

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import QuadMesh  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from course_utils import plots, theory  # noqa: E402


def _render(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def _layers(rng: np.random.Generator, scale: float, depth: int = 4) -> list[np.ndarray]:
    a = rng.standard_normal((200, 30))
    out = []
    for _ in range(depth):
        a = np.tanh(a @ (scale * rng.standard_normal((30, 30))))
        out.append(a)
    return out


def _check_labelled(fig: Figure) -> None:
    """Every visible axes has x and y labels; the figure has a title somewhere."""
    titled = bool(fig._suptitle and fig._suptitle.get_text())
    for ax in fig.axes:
        if not ax.axison or ax.get_label() == "<colorbar>":
            continue
        assert ax.get_xlabel(), "missing x label"
        titled = titled or bool(ax.get_title())
    assert titled


# --------------------------------------------------------------------------- palette


def test_palette_is_okabe_ito():
    assert plots.PALETTE == (
        "#0072B2",
        "#E69F00",
        "#009E73",
        "#D55E00",
        "#CC79A7",
        "#56B4E9",
        "#F0E442",
        "#000000",
    )
    assert plots.color(9) == plots.PALETTE[1]


# --------------------------------------------------------------------------- histograms


def test_layer_histograms_grid_and_bar_heights():
    rng = np.random.default_rng(0)
    rows = {"sigma 0.1": _layers(rng, 0.1), "sigma 1": _layers(rng, 1.0)}
    fig = plots.layer_histograms(rows, bins=20, sharex="none")
    _render(fig)
    _check_labelled(fig)
    assert len(fig.axes) == 2 * 4
    ax = fig.axes[1 * 4 + 2]  # row "sigma 1", layer 3
    a = rows["sigma 1"][2].ravel()
    heights = np.array([p.get_height() for p in ax.patches])
    expected, _ = np.histogram(a, bins=20)
    np.testing.assert_allclose(heights, expected / a.size, rtol=1e-12)
    text = " ".join(t.get_text() for t in ax.texts)
    assert f"{a.mean():.2g}" in text and f"{a.std():.2g}" in text
    assert "sigma 1" in fig.axes[4].get_ylabel()


@pytest.mark.parametrize("sharex", ["row", "all", "none", True, False])
def test_layer_histograms_sharex_modes(sharex):
    rng = np.random.default_rng(1)
    rows = [_layers(rng, 0.05), _layers(rng, 2.0)]
    fig = plots.layer_histograms(rows, sharex=sharex)  # limits are set without rendering
    lims = [ax.get_xlim() for ax in fig.axes]
    if sharex in ("all", True):
        assert len(set(lims)) == 1
    elif sharex == "row":
        assert len(set(lims[:4])) == 1 and len(set(lims[4:])) == 1 and lims[0] != lims[4]
    else:
        assert len(set(lims[:4])) == 4  # each layer's own range (the scale shrinks with depth)


def test_layer_histograms_accepts_a_trace_like_object_and_constant_layers():
    trace = types.SimpleNamespace(
        inputs=np.ones((5, 3)),
        pre_activations=[np.zeros((5, 3)), np.zeros((5, 3))],
        activations=[np.zeros((5, 3)), np.full((5, 3), 0.5)],
    )
    fig = plots.layer_histograms(trace, quantity="activation")
    _render(fig)
    assert len(fig.axes) == 2
    fig = plots.layer_histograms([trace, trace], attribute="pre_activations")
    assert len(fig.axes) == 4


def test_layer_histograms_rejects_bad_input():
    with pytest.raises(TypeError, match="values"):
        plots.layer_histograms(3.0)
    with pytest.raises(ValueError, match="sharex"):
        plots.layer_histograms([np.zeros(3)], sharex="col")
    with pytest.raises(ValueError, match="row_labels"):
        plots.layer_histograms([[np.zeros(3)], [np.zeros(3)]], row_labels=["only one"])


# --------------------------------------------------------------------------- std by depth


def test_std_by_depth_plots_measured_and_theory():
    depth = np.arange(1, 31)
    measured = {"glorot": 2.0 ** (-depth / 2) * 1.05, "he": np.full(30, 0.97)}
    theory = {"glorot": 2.0 ** (-depth / 2), "he": np.ones(30)}
    fig = plots.std_by_depth(measured, theory, logy=True)
    _render(fig)
    _check_labelled(fig)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["glorot"].get_ydata(), measured["glorot"])
    np.testing.assert_array_equal(lines["glorot"].get_xdata(), depth)
    assert lines["glorot"].get_linestyle() == "None" and lines["glorot"].get_marker() == "o"
    np.testing.assert_array_equal(lines["he (theory)"].get_ydata(), theory["he"])
    assert lines["he (theory)"].get_color() == lines["he"].get_color()
    assert ax.get_legend() is not None


def test_std_by_depth_single_series_and_theory_on_other_depths():
    fig = plots.std_by_depth([1.0, 0.5, 0.25], [1.0, 1.0, 0.5, 0.25], theory_depths=[0, 1, 2, 3])
    (ax,) = fig.axes
    measured, theory = ax.get_lines()
    np.testing.assert_array_equal(measured.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(theory.get_xdata(), [0, 1, 2, 3])
    assert ax.get_yscale() == "linear"
    with pytest.raises(ValueError, match="theory"):
        plots.std_by_depth([[1.0, 2.0], [1.0, 2.0]], [[1.0, 2.0]])


# --------------------------------------------------------------------------- heatmap


def test_std_ratio_heatmap_array_and_critical_contour():
    depths = np.arange(1, 21)
    scales = np.geomspace(0.25, 4.0, 17)
    ratio = (scales[None, :] ** 2 / 2.0) ** (depths[:, None] / 2.0)  # ReLU net: critical sqrt 2
    fig = plots.std_ratio_heatmap(ratio, depths, scales, critical_scale=np.sqrt(2))
    _render(fig)
    _check_labelled(fig)
    ax = fig.axes[0]
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    np.testing.assert_allclose(
        np.asarray(mesh.get_array()).reshape(ratio.shape), np.log10(ratio), rtol=1e-12
    )
    contours = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(contours) == 1 and list(contours[0].levels) == [0.0]
    # the contour of log10 ratio = 0 is the vertical line at sigma = sqrt 2
    xs = np.concatenate([p.vertices[:, 0] for p in contours[0].get_paths() if len(p.vertices)])
    spacing = np.log(scales[1] / scales[0])
    assert np.all(np.abs(np.log(xs / np.sqrt(2))) < spacing)
    assert ax.get_xscale() == "log"
    assert len(fig.axes) == 2  # with the colour bar


def test_std_ratio_heatmap_without_crossing_draws_no_contour_and_handles_zero():
    depths, scales = [1, 2, 3], [0.1, 0.2]
    ratio = np.array([[0.0, 0.5], [0.1, 0.2], [0.01, 0.04]])
    fig = plots.std_ratio_heatmap(ratio, depths, scales)
    _render(fig)
    ax = fig.axes[0]
    assert not [c for c in ax.collections if isinstance(c, ContourSet)]
    arr = np.asarray(fig.axes[0].collections[0].get_array()).reshape(3, 2)
    assert np.all(np.isfinite(arr))
    with pytest.raises(ValueError, match="ratio"):
        plots.std_ratio_heatmap(ratio.T, depths, scales)


# --------------------------------------------------------------------------- loss curves


def test_loss_curves_from_sequences_and_history_objects():
    hist = types.SimpleNamespace(loss=[0.7, 0.5, 0.2], accuracy=[0.5, 0.7, 0.9])
    fig = plots.loss_curves({"he": hist, "glorot": [0.69, 0.69, 0.69]}, logy=True)
    _render(fig)
    _check_labelled(fig)
    (ax,) = fig.axes
    he, glorot = ax.get_lines()
    assert he.get_label() == "he" and glorot.get_label() == "glorot"
    np.testing.assert_array_equal(he.get_ydata(), hist.loss)
    np.testing.assert_array_equal(he.get_xdata(), [1, 2, 3])
    assert ax.get_yscale() == "log" and ax.get_legend() is not None

    fig = plots.loss_curves([hist, {"accuracy": [0.1, 0.2]}], metric="accuracy", labels=["a", "b"])
    a, b = fig.axes[0].get_lines()
    np.testing.assert_array_equal(a.get_ydata(), hist.accuracy)
    np.testing.assert_array_equal(b.get_ydata(), [0.1, 0.2])
    assert fig.axes[0].get_ylabel() == "accuracy"

    fig = plots.loss_curves([3.0, 2.0, 1.0])
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_ydata(), [3.0, 2.0, 1.0])


# --------------------------------------------------------------------------- decision boundaries


def test_decision_boundaries_image_is_the_prediction_on_the_grid():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (50, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)

    def linear(g):
        return (g[:, 0] + g[:, 1] > 0).astype(int)

    def scores(g):  # two-column scores: arg-max picks class 1 right of x1 = 0
        return np.stack([-g[:, 0], g[:, 0]], axis=1)

    fig = plots.decision_boundaries({"exact": linear, "x1 only": scores}, x, y, grid_size=30)
    _render(fig)
    _check_labelled(fig)
    assert len(fig.axes) == 2
    (img,) = [c for c in fig.axes[0].get_children() if isinstance(c, AxesImage)]
    lo, hi = x.min(0) - 0.5, x.max(0) + 0.5
    g1, g2 = np.linspace(lo[0], hi[0], 30), np.linspace(lo[1], hi[1], 30)
    expected = (g1[None, :] + g2[:, None] > 0).astype(int)
    np.testing.assert_array_equal(np.asarray(img.get_array()), expected)
    assert "accuracy 1.00" in fig.axes[0].get_title()
    (img2,) = [c for c in fig.axes[1].get_children() if isinstance(c, AxesImage)]
    np.testing.assert_array_equal(np.asarray(img2.get_array()), np.broadcast_to(g1 > 0, (30, 30)))
    # probabilities are thresholded at 0.5
    fig = plots.decision_boundaries(lambda g: 1 / (1 + np.exp(-(g[:, 0] + g[:, 1]))), x, y)
    assert "accuracy 1.00" in fig.axes[0].get_title()


def test_decision_boundaries_bad_input():
    x = np.zeros((4, 2))
    with pytest.raises(TypeError, match="predicts"):
        plots.decision_boundaries(3, x, np.zeros(4))
    with pytest.raises(ValueError, match="x"):
        plots.decision_boundaries(lambda g: g[:, 0] > 0, np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="y"):
        plots.decision_boundaries(lambda g: g[:, 0] > 0, x, np.zeros(3))


# --------------------------------------------------------------------------- landscape


def test_landscape_gradient_matches_finite_differences():
    """Central differences have truncation error h^2/6 |L'''| <= 1e-8 * 4.2 for h = 1e-4
    (|L'''| <= 1.6^3 = 4.1) plus round-off ~1e-16/1e-4; 1e-6 absolute is far above both."""
    w = np.linspace(-6, 6, 101)
    h = 1e-4
    fd = (theory.landscape_loss(w + h) - theory.landscape_loss(w - h)) / (2 * h)
    np.testing.assert_allclose(theory.landscape_grad(w), fd, atol=1e-6)


def test_landscape_has_three_minima_and_the_starts_reach_different_ones():
    minima = theory.LANDSCAPE_MINIMA
    assert len(minima) == 3
    for m in minima:
        assert abs(theory.landscape_grad(m)) < 1e-9
        assert 0.12 - 1.6**2 * np.sin(1.6 * m) > 0  # L''(m) > 0
    ends, steps = [], []
    for w0 in theory.LANDSCAPE_STARTS.values():
        path, n = theory.gradient_descent_1d(theory.landscape_grad, w0, lr=0.1, tol=1e-4)
        assert len(path) == n + 1 and path[0] == w0
        assert abs(theory.landscape_grad(path[-1])) < 1e-4
        ends.append(int(np.argmin([abs(path[-1] - m) for m in minima])))
        steps.append(n)
    assert sorted(ends) == [0, 1, 2]
    assert len(set(steps)) == 3
    # the global minimum is one of them
    values = [theory.landscape_loss(m) for m in minima]
    assert int(np.argmin(values)) in ends


def test_gradient_descent_1d_on_a_quadratic():
    """For L = w^2 the update is w <- (1 - 2 lr) w, so w_k = (1 - 2 lr)^k w0 exactly and the
    descent stops at the first k with |2 w_k| < tol."""
    path, n = theory.gradient_descent_1d(lambda w: 2 * w, 1.0, lr=0.1, tol=1e-3)
    np.testing.assert_allclose(path, 0.8 ** np.arange(n + 1))
    assert n == int(np.ceil(np.log(1e-3 / 2) / np.log(0.8)))
    path, n = theory.gradient_descent_1d(lambda w: 2 * w, 1.0, lr=0.1, tol=1e-3, max_steps=5)
    assert n == 5 and len(path) == 6
    with pytest.raises(ValueError, match="lr"):
        theory.gradient_descent_1d(lambda w: w, 1.0, lr=0)
    with pytest.raises(FloatingPointError):
        theory.gradient_descent_1d(lambda w: 2 * w, 1.0, lr=1e200)


def test_landscape_figure_draws_paths_and_end_points():
    fig = plots.landscape_figure()
    _render(fig)
    _check_labelled(fig)
    (ax,) = fig.axes
    lines = ax.get_lines()
    curve = lines[0]
    np.testing.assert_allclose(curve.get_ydata(), theory.landscape_loss(curve.get_xdata()))
    for name, w0 in theory.LANDSCAPE_STARTS.items():
        path, n = theory.gradient_descent_1d(theory.landscape_grad, w0)
        (line,) = [x for x in lines if x.get_label().startswith(f"{name}:")]
        assert f"{n} steps" in line.get_label()
        np.testing.assert_array_equal(line.get_xdata(), path)
    stars = [x for x in lines if x.get_marker() == "*"]
    assert len(stars) == 3
    assert [t.get_text() for t in ax.texts] == ["A", "B", "C"]


# --------------------------------------------------------------------------- three families


def test_three_families_histograms_and_singular_values():
    fig = plots.three_families(0, n=64)
    _render(fig)
    _check_labelled(fig)
    assert len(fig.axes) == 6
    assert "min 1.00, max 1.00" in fig.axes[5].get_title()  # orthogonal: all singular values 1
    for ax in fig.axes[:3]:
        assert ax.get_legend() is not None


# --------------------------------------------------------------------------- lecture 06 figures
def test_learning_time_figure_marks_depths_that_never_learned():
    from course_utils.isometry import LearningTimes

    ok = LearningTimes([1, 2, 4], np.array([1.0, 9.0, 50.0]), np.ones(3), np.zeros(3), np.ones(3))
    bad = LearningTimes(
        [1, 2, 4], np.array([1.0, 16.0, np.inf]), np.ones(3), np.zeros(3), np.ones(3)
    )
    fig = plots.learning_time_figure({"orthogonal": ok, "gaussian": bad}, 600)
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert list(lines["orthogonal"].get_ydata()) == [1.0, 9.0, 50.0]
    assert list(lines["gaussian"].get_ydata()) == [1.0, 16.0]  # the finite ones
    never = lines["gaussian: not learned in 600 epochs"]
    assert list(never.get_xdata()) == [4.0] and list(never.get_ydata()) == [600]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert "depth 4 >600" in plots.description(fig)


def test_curves_over_seeds_draws_the_mean_and_the_min_max_band():
    c = np.array([[3.0, 2.0, 1.0], [1.0, 1.0, 1.0]])
    fig = plots.curves_over_seeds({"a": c}, reference=2.5, reference_label="ref", logy=False)
    ax = fig.axes[0]
    mean = [ln for ln in ax.get_lines() if ln.get_label().startswith("a")][0]
    np.testing.assert_allclose(mean.get_ydata(), [2.0, 1.5, 1.0])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].max() == 3.0 and band[:, 1].min() == 1.0
    assert any(ln.get_label() == "ref" for ln in ax.get_lines())
    assert "mean of 2 seeds" in mean.get_label()


def test_plots_reexports_the_landscape_numerics_that_live_in_theory():
    for name in ("landscape_loss", "landscape_grad", "gradient_descent_1d", "basins_of_attraction",
                 "LANDSCAPE_MINIMA", "LANDSCAPE_STARTS"):  # fmt: skip
        assert getattr(plots, name) is getattr(theory, name), name
    for name in ("digamma", "trigamma", "gaussian_product_spectra", "qr_sign_fix_samples"):
        assert not hasattr(plots, name), f"{name} is a computation: it lives in theory only"
