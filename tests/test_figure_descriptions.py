"""Every figure of course_utils.plots describes itself, with numbers read off its own data.

Each test draws a small figure and checks that its description (the alt text of the image in
the notebooks, the site and the slides) carries the title, the labels and the numbers that
matter, computed here independently of the figure code; the last tests walk every public
figure function and feed odd data (NaN, inf) to the descriptions.
"""

from __future__ import annotations

import doctest
import inspect
import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_utils import plots
from course_utils.figure_alt import MAX_LENGTH, summarize

fmt = plots._fmt_num  # the formatting under test separately below; the numbers come from here


def alt(fig: Figure) -> str:
    text = plots.description(fig)
    assert text is not None, "the figure has no description"
    assert text != summarize(fig), "the description is the generic fallback"
    return text


@pytest.mark.parametrize(
    ("x", "text"),
    [(4e-5, "4e-5"), (0.0625, "0.0625"), (12345.0, "1.2e4"), (1.0, "1"), (0.98, "0.98"),
     (-0.00123, "-0.0012"), (0.0, "0"), (float("nan"), "nan"), (float("inf"), "inf")],
)  # fmt: skip
def test_numbers_have_two_or_three_significant_digits_and_short_exponents(x, text):
    assert fmt(x) == text


def test_trend_words_follow_the_data():
    assert plots._trend([1.0, 0.1, 4e-5]) == "falls from 1 to 4e-5"
    assert plots._trend([1.0, 0.99, 0.98]) == "stays near 1 (1 to 0.98)"
    assert plots._trend([0.5, 0.5]) == "stays at 0.5"
    assert plots._trend([0.1, 3.0, 0.2]) == "rises from 0.1 to 0.2 (peak 3)"
    assert plots._trend([np.nan, np.inf]) == "has no finite values"
    assert plots._trend([]) == "has no finite values"


def test_join_keeps_to_its_budget_and_counts_what_it_leaves_out():
    assert plots._join(["a" * 10] * 5, 25, noun="panels") == "aaaaaaaaaa; aaaaaaaaaa; 3 more panels"
    assert plots._join(["a" * 10] * 3, 25, noun="minima").endswith("; 1 more minimum")
    assert plots._join(["a", "b"], 25, sep=", ") == "a, b"


def test_std_by_depth_names_each_series_its_ends_and_the_theory():
    layers = np.arange(1, 31)
    glorot = 2.0 ** (-layers / 2)
    he = 1.0 - 0.001 * layers
    fig = plots.std_by_depth(
        {"glorot_normal": glorot, "he_normal": he},
        {"glorot_normal": glorot * 1.01, "he_normal": np.ones(30)},
        logy=True, title="30 ReLU layers",
    )  # fmt: skip
    text = alt(fig)
    assert text.startswith("30 ReLU layers: ")
    assert "std of the activations (log scale) against layer 1 to 30" in text
    assert f"glorot_normal falls from {fmt(glorot[0])} to {fmt(glorot[-1])}" in text
    assert f"(theory ends at {fmt(glorot[-1] * 1.01)})" in text
    assert f"he_normal stays near {fmt(he[0])} ({fmt(he[0])} to {fmt(he[-1])}; theory ends at 1)" in text
    assert "theory lines overlaid" in text
    assert len(text) < 400


def test_loss_curves_say_which_run_ends_lowest_and_the_reference():
    rng = np.random.default_rng(0)
    he = 0.69 * np.exp(-0.3 * np.arange(12)) + 0.01 * rng.random(12)
    glorot = np.full(12, 0.693)
    fig = plots.loss_curves({"glorot": glorot, "he": he}, logy=True, reference={"ln 2": math.log(2)},
                            title="Two starts")  # fmt: skip
    text = alt(fig)
    assert text.startswith("Two starts: loss (log scale) against epoch (1 to 12) for 2 runs")
    assert f"he falls from {fmt(he[0])} to {fmt(he[-1])}" in text
    assert "glorot stays at 0.693" in text
    assert f"lowest at the end: he ({fmt(he[-1])})" in text
    assert f"ln 2 at {fmt(math.log(2))}" in text
    acc = plots.loss_curves({"a": [0.5, 0.9], "b": [0.5, 0.7]}, metric="accuracy")
    assert "highest at the end: a (0.9)" in alt(acc)


def test_decision_boundaries_report_accuracy_and_class_areas():
    x = np.array([[-1.0, 0.0], [1.0, 0.0], [2.0, 1.0]], dtype=np.float32)
    y = np.array([0, 1, 1])
    by_x1 = lambda g: (g[:, 0] > 0.25).astype(int)  # noqa: E731
    fig = plots.decision_boundaries({"split": by_x1, "zero init": lambda g: np.zeros(len(g), int)},
                                    x, y, grid_size=50, title="Boundaries")  # fmt: skip
    text = alt(fig)
    g1 = np.linspace(-1.5, 2.5, 50, dtype=np.float32)
    right = float(np.mean(g1 > 0.25))  # the same share of every grid row
    assert text.startswith("Boundaries: predicted class regions")
    assert "3 data points of 2 classes" in text
    assert f"split: accuracy 1.00, class 0 on {1 - right:.0%} and 1 on {right:.0%}" in text
    assert f"zero init: accuracy {1 / 3:.2f}, class 0 everywhere" in text


def test_landscape_figure_gives_every_start_its_minimum_and_steps():
    starts = {"A": -5.5, "B": 1.0}
    fig = plots.landscape_figure(starts, title="Where descent ends")
    text = alt(fig)
    assert text.startswith("Where descent ends: the loss L(w) against w from -6 to 6")
    assert "3 local minima (near w = " + ", ".join(f"{m:.2f}" for m in plots.LANDSCAPE_MINIMA) in text
    for name, w0 in starts.items():
        path, n = plots.gradient_descent_1d(plots.landscape_grad, w0)
        assert f"{name} from w = {fmt(w0)} to {path[-1]:.2f} in {n} steps" in text
        assert f"(loss {fmt(plots.landscape_loss(path[-1]))})" in text
    assert "2 starts end in 2 different minima" in text


def test_three_families_compare_stds_and_singular_value_ranges():
    from course_utils import initializers as init

    n = 32
    fig = plots.three_families(7, n=n, title="Families")
    gen = np.random.default_rng(7)
    draws = [f((n, n), gen).astype(np.float64)
             for f in (init.lecun_uniform, init.lecun_normal, init.orthogonal)]  # fmt: skip
    text = alt(fig)
    assert text.startswith("Families. Top row")
    assert f"target 1/sqrt(n) = {fmt(1 / math.sqrt(n))}" in text
    for name, w in zip(("uniform", "normal", "orthogonal"), draws, strict=True):
        sv = np.linalg.svd(w, compute_uv=False)
        assert f"{name} {fmt(w.std())}" in text
        assert f"{name} {fmt(sv.min())} to {fmt(sv.max())}" in text
    assert "orthogonal 1 to 1" in text


def test_basins_figure_counts_the_starts_of_each_basin():
    grid = np.linspace(-6, 6, 13)
    _, steps, basin, minima = plots.basins_of_attraction(grid)
    text = alt(plots.basins_figure(grid, steps, basin, minima, title="Basins"))
    assert text.startswith("Basins: steps to converge (log scale)")
    assert f"for {grid.size} starts" in text
    for k, m in enumerate(minima):
        sel = basin == k
        if sel.sum() == 1:  # the start at the right edge rolls into a minimum beyond it
            assert f"w* = {m:.2f} from 1 start at {fmt(grid[sel][0])}, {steps[sel][0]} steps" in text
        else:
            assert (f"w* = {m:.2f} from {sel.sum()} starts in [{fmt(grid[sel].min())}, "
                    f"{fmt(grid[sel].max())}], {steps[sel].min()} to {steps[sel].max()} steps") in text  # fmt: skip
    assert any((basin == k).sum() == 1 for k in range(len(minima)))  # both wordings checked
    i = int(np.argmax(steps))
    assert f"slowest: w0 = {fmt(grid[i])}, {steps[i]} steps" in text


def test_qr_sign_fix_figure_reports_means_and_density_ranges():
    from course_utils.theory import qr_sign_fix_samples

    raw, fixed = qr_sign_fix_samples(0, 400)
    text = alt(plots.qr_sign_fix_figure(raw, fixed))
    bins = np.linspace(-1, 1, 41)
    for label, v in (("without the sign fix", raw), ("with it", fixed)):
        d = np.histogram(v, bins=bins, density=True)[0]
        assert (f"{label} the mean is {fmt(v.mean())} and the density per bin {fmt(d.min())} "
                f"to {fmt(d.max())}") in text  # fmt: skip
    assert "(400 and 400 samples)" in text and "flat at 0.5" in text


def test_spectrum_figure_gives_the_spread_in_decades_and_the_floor():
    from course_utils.theory import gaussian_product_spectra, newman_lyapunov_exponents

    s = gaussian_product_spectra(24, 6, 0)[0]
    floor = float(np.sort(s)[3]) * 1.0001  # four values below it
    text = alt(plots.spectrum_figure(s, np.ones(24), 6, floor=floor, title="Spectrum"))
    lg = np.log10(s)
    th = 6 * newman_lyapunov_exponents(24) / math.log(10)
    assert f"span {lg.min():.1f} to {lg.max():.1f} ({lg.max() - lg.min():.1f} decades)" in text
    assert f"Newman's theory {th.min():.1f} to {round(th.max(), 1) + 0.0:.1f}" in text
    assert "orthogonal product's span 0.0 to 0.0" in text
    assert f"4 of 24 lie below the float64 rounding floor 10^{math.log10(floor):.1f}" in text
    assert "Singular values after 6 layers (n = 24); right: Spectrum." in text


def test_spectrum_figure_mark_noise_describes_only_what_lies_above_the_floor():
    """With mark_noise the description leaves out the computed values below the floor (rounding
    noise, different on every CPU) and counts Newman's values below it instead."""
    from course_utils.theory import newman_lyapunov_exponents

    s = np.r_[3.0, 1.0, 1e-3, 1e-30, 2e-31]
    floor = 1e-16
    text = alt(plots.spectrum_figure(s, np.ones(5), 40, floor=floor, mark_noise=True))
    th = 40 * newman_lyapunov_exponents(5) / math.log(10)
    below = int(np.sum(th < -16))
    assert 0 < below < 5
    assert "Above the float64 rounding floor 10^-16.0" in text and "reach up to 0.5" in text
    assert f"puts {below} of 5 values below the floor" in text and "-30" not in text
    assert "orthogonal product's span 0.0 to 0.0" in text
    plain = alt(plots.spectrum_figure(s, np.ones(5), 40, floor=floor))
    assert "span -30.7 to 0.5" in plain  # the default is unchanged


def test_norm_ratio_figure_places_the_last_layer_in_the_theory_band():
    from course_utils.theory import chi2_log_step, gaussian_norm_ratios

    g = gaussian_norm_ratios(np.ones((8, 16)), 10, 0)
    m, v = chi2_log_step(16)
    text = alt(plots.norm_ratio_figure(g, np.ones(10), m, v))
    last = g[-1]
    lo, hi = math.exp(10 * m - 2 * math.sqrt(10 * v)), math.exp(10 * m + 2 * math.sqrt(10 * v))
    inside = int(np.sum((last >= lo) & (last <= hi)))
    assert f"for {g.shape[1]} Gaussian networks" in text
    assert f"from {fmt(last.min())} to {fmt(last.max())} (median {fmt(np.median(last))})" in text
    assert f"median is {fmt(math.exp(10 * m))} with +-2 sd band {fmt(lo)} to {fmt(hi)}" in text
    assert f"({inside} of {last.size} inside)" in text
    assert "the orthogonal network stays at 1" in text


def test_recurrence_figure_gives_spectral_radius_and_norm_per_matrix():
    w = {"shrinking": 0.9 * np.eye(3), "rotation": np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])}
    norms = {"shrinking": 0.9 ** np.arange(1, 21), "rotation": np.ones(20)}
    text = alt(plots.recurrence_figure(w, norms, title="Recurrence"))
    assert "right: Recurrence, the norm ratio on a log scale" in text
    assert f"shrinking: largest |eigenvalue| 0.9, norm falls from 0.9 to {fmt(0.9**20)}" in text
    assert "rotation: largest |eigenvalue| 1, norm stays at 1" in text


def test_truncated_normal_figure_compares_each_std_with_the_target():
    rng = np.random.default_rng(1)
    w = np.clip(rng.standard_normal(5000), -2, 2) / 8
    text = alt(plots.truncated_normal_figure(w / 0.88, w, 64))
    assert "std 0.125:" in text
    assert f"corrected (Keras / JAX) std {fmt((w / 0.88).std())}, {fmt((w / 0.88).std() * 8)}" in text
    assert f"uncorrected (torch) std {fmt(w.std())}, {fmt(w.std() * 8)} of the target" in text


def test_std_by_depth_panels_give_each_panel_its_series_and_fit():
    m1, t1 = np.array([1.0, 0.52, 0.24]), np.array([1.0, 0.5, 0.25])
    m2, t2 = np.array([1.0, 1.9, 4.4]), np.array([1.0, 2.0, 4.0])
    fig = plots.std_by_depth_panels({"tanh": ({"s=0.5": m1}, {"s=0.5": t1}),
                                     "relu": ({"s=0.5": m2}, {"s=0.5": t2})},
                                    title="Std per layer")  # fmt: skip
    text = alt(fig)
    worst1 = max(np.max(m1 / t1), np.max(t1 / m1))
    worst2 = max(np.max(m2 / t2), np.max(t2 / m2))
    assert text.startswith("Std per layer: std of the activations (log scale) against layer in 2 "
                           "panels, markers measured, lines theory; first to last layer: tanh: ")
    assert f"tanh: s=0.5 1 to {fmt(m1[-1])} (all within {(worst1 - 1) * 100:.2g}% of theory)" in text
    assert f"relu: s=0.5 1 to {fmt(m2[-1])} (all within {(worst2 - 1) * 100:.2g}% of theory)" in text


def test_measured_vs_theory_gives_the_log_log_slope_and_fit():
    ns = np.array([1.0, 4, 16, 64])
    measured = 0.01 * ns * np.array([1.02, 0.97, 1.05, 0.99])
    fig = plots.measured_vs_theory(ns, {"Var(y)": {"MC": (measured, 0.01 * ns)},
                                        "E[y^2]": {"MC": (measured * 2, 0.02 * ns)}},
                                   xlabel="n", logx=True, logy=True, title="Var grows with n")  # fmt: skip
    text = alt(fig)
    slope = np.polyfit(np.log(ns), np.log(measured), 1)[0]
    worst = np.max(np.abs(np.log(measured / (0.01 * ns))))
    assert text.startswith("Var grows with n: markers measured, lines theory, against n from 1 to 64")
    assert "(log-log axes)" in text
    fit = f"(measured within {(math.exp(worst) - 1) * 100:.2g}% of theory everywhere)"
    assert f"Var(y): slopes MC {slope:.2f} {fit}; E[y^2]: slopes MC {slope:.2f} {fit}." in text
    # on linear axes the series' ends are given instead of a slope
    fig = plots.measured_vs_theory(ns, {"Var(y)": {"MC": (measured, 0.01 * ns)}}, xlabel="n")
    assert f"MC rises from {fmt(measured[0])} to {fmt(measured[-1])} {fit}." in alt(fig)


def test_sample_histograms_give_moments_ranges_and_density_peaks():
    rng = np.random.default_rng(2)
    z, u = rng.normal(0, 0.05, 2000), rng.uniform(-0.0866, 0.0866, 2000)
    t = np.linspace(-0.2, 0.2, 101)
    pdf = np.exp(-(t**2) / (2 * 0.05**2)) / (0.05 * math.sqrt(2 * math.pi))
    fig = plots.sample_histograms({"normal": z, "uniform": u}, {"N(0, 0.05^2)": (t, pdf)},
                                  xlabel="weight value", title="Same variance")  # fmt: skip
    text = alt(fig)
    assert text.startswith("Same variance: density histograms of the weight value.")
    for name, v in (("normal", z), ("uniform", u)):
        assert (f"{name}: 2000 values, mean {fmt(v.mean())}, std {fmt(v.std())}, from "
                f"{fmt(v.min())} to {fmt(v.max())}") in text  # fmt: skip
    assert f"lines: N(0, 0.05^2) (peak {fmt(pdf.max())})" in text


def test_function_curves_give_each_curve_and_the_marked_points():
    u = np.linspace(-3, 3, 61)
    f = 1.7159 * np.tanh(2 * u / 3)
    fig = plots.function_curves(u, {"1.7159 tanh(2x/3)": f, "identity": u},
                                points={"f(±1) = ±1": ([-1, 1], [-1, 1])}, ylim=(-2, 2),
                                title="LeCun's scaled tanh")  # fmt: skip
    text = alt(fig)
    assert text.startswith("LeCun's scaled tanh: f(x) against x from -3 to 3:")
    assert f"1.7159 tanh(2x/3) rises from {fmt(f[0])} to {fmt(f[-1])}" in text
    assert "identity rises from -3 to 3" in text
    assert "marked: f(±1) = ±1 at (-1, -1), (1, 1)" in text
    assert "y shown from -2 to 2" in text


def test_ratio_bars_name_the_bar_farthest_from_the_reference():
    values = {"symmetric": 0.498, "shifted": 0.84, "skewed": 0.61}
    fig = plots.ratio_bars(values, reference=0.5, reference_label="theory: 1/2",
                           ylabel="E[relu(y)^2] / Var(y)", title="ReLU keeps half")  # fmt: skip
    text = alt(fig)
    assert text.startswith("ReLU keeps half: one bar per case of E[relu(y)^2] / Var(y):")
    assert "symmetric 0.498, shifted 0.84, skewed 0.61" in text
    assert f"dashed line: theory: 1/2 at 0.5; farthest from it: shifted, {fmt(0.84 / 0.5)} times it" in text


def test_series_vs_theory_without_title_or_summary_still_reads_well():
    text = alt(plots.series_vs_theory([0, 1, 2], {"plain": [1.0, 2.0, 4.0]}, {"plain": [1, 2, 4]}))
    assert text == "Markers: measured std of the residual stream; lines: theory. plain rises from 1 to 4."


# --------------------------------------------------------------------------- every figure


def _figure_functions() -> list[str]:
    names = []
    for name in plots.__all__:
        obj = getattr(plots, name)
        if inspect.isfunction(obj) and inspect.signature(obj).return_annotation in ("Figure", Figure):
            names.append(name)
    return names


def test_there_are_figure_functions_to_walk():
    assert {"std_by_depth", "layer_histograms", "ratio_bars", "spectrum_figure"} <= set(
        _figure_functions()
    )


@pytest.mark.parametrize("name", _figure_functions())
def test_every_public_figure_function_describes_its_figure(name):
    """Each figure function's docstring example (a tiny valid input) yields a described figure."""
    func = getattr(plots, name)
    examples = doctest.DocTestParser().get_examples(func.__doc__ or "")
    assert examples, f"plots.{name} has no Examples section to draw a figure from"
    namespace = {**vars(plots), "np": np}
    for example in examples:
        exec(compile(example.source, f"<{name} example>", "exec"), namespace)  # noqa: S102
    figures = [v for v in namespace.values() if isinstance(v, Figure)]
    assert figures, f"plots.{name}'s example draws no figure"
    text = alt(figures[-1])
    assert len(text) <= MAX_LENGTH
    assert "A figure" not in text


# --------------------------------------------------------------------------- odd data


def test_descriptions_survive_nan_inf_and_constant_data():
    nan, inf = float("nan"), float("inf")
    fig = plots.std_by_depth({"diverged": [1.0, inf, nan], "dead": [0.0, 0.0, 0.0]},
                             {"diverged": [nan, nan, nan], "dead": None})  # fmt: skip
    text = alt(fig)
    assert "diverged is 1" in text and "dead stays at 0" in text
    text = alt(plots.loss_curves({"a": [0.7, nan, inf], "b": [nan, nan]}))
    assert "a is 0.7" in text and "b has no finite values" in text
    assert "nan" in alt(plots.ratio_bars({"a": nan, "b": 1.0}, reference=1.0))
    text = alt(plots.measured_vs_theory([1, 2, 4], {"v": {"mc": ([1.0, nan, -1.0], [1.0, 2.0, 4.0])}},
                                        xlabel="n", logx=True, logy=True))  # fmt: skip
    assert "largest gap to theory 5" in text
    text = alt(plots.function_curves([0, 1, 2], {"f": [nan, nan, nan]}))
    assert "f has no finite values" in text
    text = alt(plots.sample_histograms({"s": np.array([1.0, 2.0, nan])}))
    assert "s: 2 values" in text


def test_long_figures_stay_short_and_say_how_many_were_left_out():
    layers = np.arange(1, 21)
    scales = (0.5, 1.0, 1.5, 2.0)
    panels = {f"width {w}": ({f"sigma={s}": s**layers for s in scales},
                             {f"sigma={s}": s**layers for s in scales}) for w in (16, 64, 256)}  # fmt: skip
    text = alt(plots.std_by_depth_panels(panels, title="tanh"))
    assert len(text) < 420  # 12 series in 3 panels
    assert text.count("(all within 0.1% of theory)") == 3  # every panel is there
    assert f"width 256: sigma=0.5 0.5 to {fmt(0.5**20)}, sigma=1.0 at 1" in text
    many = {f"run {i}": np.linspace(1.0, 1.0 / (i + 2), 5) for i in range(30)}
    text = alt(plots.loss_curves(many))
    assert len(text) < 450 and "more runs" in text


def test_odd_data_in_the_lecture_06_figures_is_described_not_replaced_by_the_fallback():
    nan, inf = float("nan"), float("inf")
    text = alt(plots.norm_ratio_figure(np.full((3, 2), nan), np.ones(3), 0.0, 0.1))
    assert "at layer 3 none is finite" in text and "(0 of 0 inside)" in text
    with np.errstate(invalid="ignore"):  # matplotlib's transform of an infinite bar
        text = alt(plots.ratio_bars({"a": inf, "b": 1.0}, reference=1.0))
    assert "farthest from it: a, inf times it" in text
    assert "farthest" not in alt(plots.ratio_bars({"a": 1.0}, reference=1.0))
    with np.errstate(invalid="ignore"):  # matplotlib's density of an empty histogram
        text = alt(plots.qr_sign_fix_figure(np.r_[5.0, 6.0], np.r_[0.1, 0.2]))
    assert "without the sign fix there are no values in [-1, 1]" in text
    text = alt(plots.spectrum_figure(np.r_[1.0, 0.5, 1e-30, 1e-20], np.ones(4), 2, floor=1e-16))
    assert "span -30.0 to 0.0 (30.0 decades)" in text and "2 of 4 lie below" in text


def test_curves_over_seeds_spread_gives_mean_and_sd_at_supported_precision():
    curves = {"a": np.array([[1.1, 0.3], [1.09, 0.5], [1.1, 0.41]])}
    text = alt(plots.curves_over_seeds(curves, spread=True, title="T"))
    assert "Start and end as mean +- SD over the seeds. a: 1.097 +- 0.006 at start, 0.4 +- 0.1 at end" in text
    assert "a: mean 1.1 at start, 0.403 at end" in alt(plots.curves_over_seeds(curves, title="T"))
