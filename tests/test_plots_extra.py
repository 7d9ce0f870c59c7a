"""Tests for the helpers appended to course_utils.plots for lectures 00 and 06 (and their
numerics, which live in course_utils.theory).

Each function gets a smoke test (it runs and a figure renders with labelled axes) and a property
test that could fail: exact identities where they exist, otherwise a statistical check whose
tolerance is derived from the sampling error in the test's docstring.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:  # torch-free environments (make test-pythons)
    torch = None
from matplotlib.figure import Figure  # noqa: E402

from course_utils import plots, theory  # noqa: E402
from course_utils.initializers import orthogonal  # noqa: E402

needs_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed (a torch-free environment)"
)


def _render(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


# ------------------------------------------------------------------------------- lecture 00


def test_basins_of_attraction_match_single_runs_and_find_every_minimum_reached():
    starts = np.linspace(-6, 6, 31)
    ends, steps, basin, minima = plots.basins_of_attraction(starts)
    for w0, e, n in zip(starts[::7], ends[::7], steps[::7], strict=True):
        path, n_ref = plots.gradient_descent_1d(plots.landscape_grad, w0, lr=0.1, tol=1e-4)
        assert (e, n) == (path[-1], n_ref)
    # every end is a minimum of L (L' ~ 0, L'' > 0) and lies next to the one it is labelled with
    assert np.all(np.abs(plots.landscape_grad(minima)) < 1e-3)
    assert np.all(0.12 - 2.56 * np.sin(1.6 * minima) > 0)
    assert np.all(np.abs(ends - minima[basin]) < 1e-3)
    # the three minima inside [-6, 6] are found, and starts near w0 = 6 reach one beyond 6
    assert np.allclose(minima[:3], plots.LANDSCAPE_MINIMA, atol=1e-3) and minima[-1] > 6
    # the basins are intervals: the label never decreases along the grid
    assert np.all(np.diff(basin) >= 0) and set(basin.tolist()) == set(range(len(minima)))


def test_basins_figure_renders_one_series_per_basin_and_checks_lengths():
    grid = np.linspace(-6, 6, 25)
    _, steps, basin, minima = plots.basins_of_attraction(grid)
    fig = plots.basins_figure(grid, steps, basin, minima)
    _render(fig)
    assert len(fig.axes[0].collections) == len(set(basin.tolist()))
    with pytest.raises(ValueError, match="equal lengths"):
        plots.basins_figure(grid[:-1], steps, basin, minima)


# ------------------------------------------------------------------------------- lecture 06


def test_qr_sign_fix_samples_haar_first_entry_is_uniform():
    """Under Haar, Q11 of a 3x3 orthogonal matrix is U(-1, 1): mean 0 with SE sqrt(1/3 / N),
    P(Q11 > 0) = 1/2 with SE sqrt(1/4 / N). N = 4000 gives SEs 0.0091 and 0.0079; 5 SE bounds.
    Without the fix numpy's Householder QR gives Q11 = -|a11| / ||a_1|| < 0 every time."""
    raw, fixed = theory.qr_sign_fix_samples(np.random.default_rng(3), 4000)
    n = len(fixed)
    assert np.all(raw < 0)
    assert np.allclose(np.abs(raw), np.abs(fixed))
    assert abs(fixed.mean()) < 5 * math.sqrt(1 / 3 / n)
    assert abs((fixed > 0).mean() - 0.5) < 5 * math.sqrt(0.25 / n)
    _render(plots.qr_sign_fix_figure(raw, fixed))


@needs_torch
def test_digamma_and_trigamma_exact_values_and_torch():
    """Exact: psi(1) = -gamma, psi(1/2) = -gamma - 2 log 2, psi'(1) = pi^2/6, psi'(1/2) = pi^2/2.
    torch's float64 polygamma is itself only good to ~1e-9, hence the looser comparison."""
    euler = 0.5772156649015329
    assert theory.digamma([1.0, 0.5]) == pytest.approx(
        [-euler, -euler - 2 * math.log(2)], abs=1e-11
    )
    assert theory.trigamma([1.0, 0.5]) == pytest.approx([math.pi**2 / 6, math.pi**2 / 2], abs=1e-11)
    x = np.array([0.3, 2.5, 9.99, 10.0, 64.0, 128.0, 1e4])
    ref = torch.special.digamma(torch.tensor(x, dtype=torch.float64)).numpy()
    ref1 = torch.special.polygamma(1, torch.tensor(x, dtype=torch.float64)).numpy()
    assert np.allclose(theory.digamma(x), ref, rtol=1e-10, atol=1e-10)
    assert np.allclose(theory.trigamma(x), ref1, rtol=1e-8, atol=1e-8)
    with pytest.raises(ValueError, match="> 0"):
        theory.digamma([0.0])


def test_newman_exponents_are_all_negative_and_top_is_minus_one_over_2n():
    """psi(n/2) = log(n/2) - 1/n - 1/(3 n^2) + O(n^-4), so mu_1 = -1/(2n) - 1/(6 n^2) + ..."""
    for n in (16, 256):
        mu = theory.newman_lyapunov_exponents(n)
        assert mu.shape == (n,) and np.all(mu < 0) and np.all(np.diff(mu) < 0)
        assert mu[0] == pytest.approx(-1 / (2 * n) - 1 / (6 * n**2), rel=1e-3)


def test_product_singular_values_of_orthogonal_and_scaled_layers():
    rng = np.random.default_rng(0)
    ws = [orthogonal((20, 20), rng) for _ in range(6)]
    assert np.allclose(theory.product_singular_values(ws), 1.0, atol=1e-5)
    s = theory.product_singular_values([2 * np.eye(3), np.diag([1.0, 3.0, 0.5])])
    assert s.tolist() == [6.0, 2.0, 1.0]
    with pytest.raises(TypeError):
        theory.product_singular_values(np.eye(3))


def test_gaussian_product_mean_square_singular_value_is_one():
    """E[(1/n) sum s_k^2] = E[(1/n) tr(P P^T)] = 1 for every depth. The mean square of a
    product is heavy-tailed at depth 10 (a few directions carry it), so the SE is taken from
    the sample itself: sd / sqrt(T) over T = 40 products; 5 SE bound."""
    s = theory.gaussian_product_spectra(32, 10, np.random.default_rng(1), trials=40)
    assert s.shape == (40, 32) and np.all(np.diff(s, axis=1) <= 0)
    ms = np.mean(s**2, axis=1)
    assert abs(ms.mean() - 1) < 5 * ms.std(ddof=1) / math.sqrt(len(ms))
    same = theory.gaussian_product_spectra(32, 10, np.random.default_rng(1), trials=40)
    assert np.array_equal(s, same)


def test_spectrum_figure_draws_theory_and_floor():
    s = theory.gaussian_product_spectra(64, 20, 0)[0]
    fig = plots.spectrum_figure(s, np.ones(64), 20, floor=1e-12)
    _render(fig)
    drawn = fig.axes[1].lines[1].get_ydata()
    expected = 20 * theory.newman_lyapunov_exponents(64) / math.log(10)
    assert np.allclose(drawn, expected)


def test_chi2_log_step_matches_simulation():
    """log(chi2_n / n) for n = 64 over M = 20000 draws: the sample mean has SE sqrt(v / M) and
    the sample variance SE ~ v sqrt(2 / (M - 1)) (nearly normal); 5 SE bounds."""
    n, m = 64, 20000
    mean, var = theory.chi2_log_step(n)
    z = np.log(np.random.default_rng(2).chisquare(n, size=m) / n)
    assert abs(z.mean() - mean) < 5 * math.sqrt(var / m)
    assert abs(z.var(ddof=1) - var) < 5 * var * math.sqrt(2 / (m - 1))
    assert mean == pytest.approx(-1 / n, rel=0.05) and var == pytest.approx(2 / n, rel=0.05)


def test_norm_ratios_orthogonal_is_one_and_gaussian_columns_are_independent_nets():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 32))
    ortho = theory.norm_ratios(x, [orthogonal((32, 32), rng) for _ in range(8)])
    assert ortho.shape == (8, 5) and np.allclose(ortho, 1.0, atol=1e-5)
    g = theory.gaussian_norm_ratios(x, 8, np.random.default_rng(5))
    assert g.shape == (8, 5) and np.all(g > 0)
    # same row, same generator state -> the same curve; the first column is a net of its own
    first = theory.gaussian_norm_ratios(x[:1], 8, np.random.default_rng(5))
    assert np.array_equal(first[:, 0], g[:, 0])
    _render(plots.norm_ratio_figure(g, ortho, *theory.chi2_log_step(32)))


def test_linear_recurrence_norms_and_figure():
    rng = np.random.default_rng(6)
    w = orthogonal((16, 16), rng).astype(np.float64)
    norms = theory.linear_recurrence_norms(w, rng.standard_normal(16), 50)
    assert np.allclose(norms, 1.0, atol=1e-10)
    assert np.allclose(theory.linear_recurrence_norms(0.5 * np.eye(2), [1.0, 0.0], 4),
                       0.5 ** np.arange(1, 5))  # fmt: skip
    with pytest.raises(ValueError, match="square"):
        theory.linear_recurrence_norms(np.ones((2, 3)), [1.0, 0.0], 3)
    fig = plots.recurrence_figure({"orthogonal": w}, {"orthogonal": norms})
    _render(fig)
    assert len(fig.axes[0].collections[0].get_offsets()) == 16


def test_truncated_normal_figure_renders_target_density():
    rng = np.random.default_rng(7)
    w = np.clip(rng.standard_normal(2000), -2, 2) / 8
    fig = plots.truncated_normal_figure(w / 0.8796, w, 64)
    _render(fig)
    y = fig.axes[0].lines[0].get_ydata()
    assert max(y) == pytest.approx(8 / math.sqrt(2 * math.pi), rel=1e-3)


# ------------------------------------------------------------------------ lectures 03 and 05


def test_measured_vs_theory_panels_share_series_and_check_lengths():
    x = [4, 16, 64]
    panels = {
        "Var(y)": {"iid": ([4.1, 15.8, 64.5], [4, 16, 64]), "shared": ([15, 260, 4100], None)},
        "E[y^2]": {"iid": ([4.1, 15.8, 64.5], [4, 16, 64]), "shared": (None, [16, 256, 4096])},
    }
    fig = plots.measured_vs_theory(x, panels, xlabel="n", title="t", logx=True, logy=True)
    _render(fig)
    assert len(fig.axes) == 2 and fig.legends  # one figure-level legend for both panels
    left, right = fig.axes
    assert left.get_xscale() == "log" and left.get_yscale() == "log"
    # the same series has the same colour in both panels; theory lines sit on the given values
    colours = [[ln.get_color() for ln in ax.lines] for ax in fig.axes]
    assert colours[0][0] == colours[1][0] and colours[0][2] == colours[1][2]
    np.testing.assert_array_equal(left.lines[1].get_ydata(), [4, 16, 64])
    single = plots.measured_vs_theory(
        x, {"Var(y)": {"iid": ([4, 16, 64], [4, 16, 64])}}, xlabel="n", title="one panel"
    )
    _render(single)
    assert single.axes[0].get_title() == "one panel" and single.axes[0].get_legend()
    with pytest.raises(ValueError, match="same series labels"):
        plots.measured_vs_theory(x, {"a": {"p": (x, x)}, "b": {"q": (x, x)}}, xlabel="n")
    with pytest.raises(ValueError, match="measured has 2 values"):
        plots.measured_vs_theory(x, {"a": {"p": ([1, 2], None)}}, xlabel="n")
    with pytest.raises(ValueError, match="pair"):
        plots.measured_vs_theory(x, {"a": {"p": [1, 2, 3]}}, xlabel="n")


def test_sample_histograms_are_normalized_densities():
    """Each histogram is a density: bar heights times widths sum to 1 (exact up to rounding)."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=5000), rng.uniform(-1, 1, size=5000)
    t = np.linspace(-1, 1, 11)
    fig = plots.sample_histograms(
        {"a": a, "b": b},
        {"U(-1, 1)": (t, np.full(11, 0.5))},
        bins=40,
        xlabel="w",
        title="two samples",
    )
    _render(fig)
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * 40
    total = sum(p.get_height() * p.get_width() for p in ax.patches)
    assert total == pytest.approx(2.0, rel=1e-9)  # two densities, each integrating to 1
    assert len(ax.lines) == 1
    with pytest.raises(ValueError, match="pair"):
        plots.sample_histograms({"a": a}, {"bad": t})
    with pytest.raises(ValueError, match="non-empty"):
        plots.sample_histograms({})


def test_function_curves_draw_each_curve_and_marked_points():
    u = np.linspace(-2, 2, 41)
    fig = plots.function_curves(
        u,
        {"tanh(x)": np.tanh(u), "identity": u},
        points={"f(0) = 0": ([0.0], [0.0])},
        ylim=(-2, 2),
        title="t",
    )
    _render(fig)
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and ax.get_ylim() == (-2.0, 2.0)
    assert ax.lines[1].get_linestyle() == ":"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.tanh(u))
    with pytest.raises(ValueError, match="41"):
        plots.function_curves(u, {"short": u[:5]})


def test_ratio_bars_heights_and_reference_line():
    fig = plots.ratio_bars(
        {"normal": 0.502, "shifted": 1.04}, reference=0.5, ylabel="ratio", title="t"
    )
    _render(fig)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [0.502, 1.04]
    assert ax.lines[0].get_ydata()[0] == 0.5
    assert [t.get_text() for t in ax.get_xticklabels()] == ["normal", "shifted"]
    with pytest.raises(ValueError, match="non-empty"):
        plots.ratio_bars({})


def test_loss_curves_reference_line_and_std_by_depth_integer_ticks():
    fig = plots.loss_curves({"a": [1.1, 0.5, 0.2]}, reference={"chance: ln 3": math.log(3)})
    _render(fig)
    ax = fig.axes[0]
    assert ax.lines[1].get_ydata()[0] == pytest.approx(math.log(3))
    assert "chance: ln 3" in [t.get_text() for t in ax.get_legend().get_texts()]
    fig = plots.std_by_depth({"s": [1.0, 0.9, 0.8, 0.7, 0.6]}, title="t")
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 5]
    assert ticks and all(float(t).is_integer() for t in ticks)
