"""Tests of course_utils.experiments: each experiment agrees with its theory within sampling error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils import experiments as ex

try:
    import torch
except ImportError:  # torch-free environments (make test-pythons)
    torch = None
needs_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed (a torch-free environment)"
)


@pytest.mark.parametrize(
    ("case", "mean_w", "mean_x"),
    [
        ("independent", 0.0, 0.0),
        ("mean_x", 0.0, 1.0),
        ("mean_w_and_x", 0.05, 1.0),
        ("aligned", 0.0, 0.0),
        ("shared", 0.0, 0.0),
    ],
)
def test_sum_variance_mc_matches_exact_theory(case, mean_w, mean_x):
    """Sample variance of N = 20000 draws vs the exact variance.

    SE(s^2) = sqrt((mu4 - sigma^4) / N). The sums of n = 64 terms are close to normal
    (mu4 = 3 sigma^4, SE = sigma^2 sqrt(2/N) ~ 1% of sigma^2) except in the "shared" case, where
    y = n w x is a product of two normals with kurtosis 9 (mu4 = 9 sigma^4, SE = sigma^2
    sqrt(8/N) = 2%). A 5-standard-error band around the theory, with the kurtosis of the case.
    """
    n, N = 64, 20_000
    v = ex.sum_variance_mc(n, 1, n_samples=N, var_w=1 / n, mean_w=mean_w, mean_x=mean_x, case=case)
    t = ex.sum_variance_theory(n, var_w=1 / n, mean_w=mean_w, mean_x=mean_x, case=case)
    kurtosis = 9.0 if case == "shared" else 3.0
    se = t * math.sqrt((kurtosis - 1) / N)
    assert abs(v - t) < 5 * se


def test_broken_assumptions_change_the_answer():
    """The naive n Var(w) Var(x) is wrong by far more than sampling error when assumptions break."""
    naive = ex.sum_variance_theory(64, var_w=1 / 64)
    assert ex.sum_variance_theory(64, var_w=1 / 64, mean_x=1.0, case="mean_x") == pytest.approx(
        2 * naive
    )
    assert ex.sum_variance_theory(64, var_w=1 / 64, case="shared") == pytest.approx(64 * naive)


def test_uniform_weights_give_the_same_variance():
    """U(-sqrt(3 v), sqrt(3 v)) has variance v: the Monte-Carlo agrees within 5 SE (normal sum)."""
    n, N = 100, 20_000
    v = ex.sum_variance_mc(n, 2, n_samples=N, var_w=1 / n, distribution="uniform")
    assert abs(v - 1.0) < 5 * math.sqrt(2 / N)
    assert ex.uniform_limit(1 / 3) == pytest.approx(1.0)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="case"):
        ex.sum_variance_mc(3, 0, case="nope")
    with pytest.raises(ValueError, match="n"):
        ex.sum_variance_theory(0)
    with pytest.raises(TypeError, match="rng"):
        ex.sum_variance_mc(3, "seed")
    with pytest.raises(ValueError, match="activation"):
        ex.propagate([4, 4], "he_normal", "swish", 0)
    with pytest.raises(ValueError, match="widths"):
        ex.propagate([4], "he_normal", "relu", 0)


def test_scaled_tanh_constants():
    """f(+-1) = +-1 to 4 digits and f'(0) = 1.7159 * 2/3."""
    assert float(ex.scaled_tanh(np.array(1.0))) == pytest.approx(1.0, abs=1e-4)
    assert float(ex.scaled_tanh(np.array(-1.0))) == pytest.approx(-1.0, abs=1e-4)
    assert float(ex.scaled_tanh_derivative(np.array(0.0))) == pytest.approx(1.7159 * 2 / 3)


def test_mean_field_relu_and_linear_are_exact():
    """For ReLU, E[relu(sqrt(q) z)^2] = q / 2 exactly; linear is c^l q0."""
    np.testing.assert_allclose(
        ex.mean_field_variances(30, "relu", weight_gain=2.0), 2.0, rtol=1e-10
    )
    np.testing.assert_allclose(
        ex.mean_field_variances(4, "linear", weight_gain=0.5), 0.5 ** np.arange(1, 5), rtol=1e-12
    )


def test_propagate_linear_lecun_and_funnel_backward():
    """LeCun keeps the forward std at 1 in a linear net; the backward variance follows n_out/n_in.

    Width 256, batch 2000: each measured variance averages >= 256 * 2000 correlated terms; the
    fluctuation is dominated by the weights, relative SD ~ sqrt(2/n_out) per layer (squared norm
    of a Gaussian projection, chi^2_n / n), accumulated over L layers as sqrt(2 L / n_min).
    We allow 5 of those.
    """
    widths = [1024, 512, 256, 128, 64]
    p = ex.propagate(widths, "lecun_normal", "linear", 0, batch=2000)
    theory = ex.funnel_gradient_theory(widths, [1 / n for n in widths[:-1]])
    rel = 5 * math.sqrt(2 * 4 / 64)
    np.testing.assert_allclose(p.grad_var, theory, rtol=rel)
    assert p.grad_var[0] < 0.2 * p.grad_var[-1]  # 1/16 in theory: far outside the band
    q = ex.propagate([256] * 6, "lecun_normal", "linear", 1, batch=2000)
    np.testing.assert_allclose(q.pre_std, 1.0, rtol=5 * math.sqrt(5 / 256) / 2)


def test_relu_depth_30_glorot_vs_he():
    """Std of layer 30 over layer 1: Glorot 2^-14.5, He 1.

    log(ratio) sums 29 per-layer log-variance factors, each with SD <= sqrt(2/n) (chi^2_n / n
    for a Gaussian projection); so SD(log std ratio) <= sqrt(29 * 2 / n) / 2 = 0.17 for n = 512.
    Tolerance: 5 of those on the log scale.
    """
    n = 512
    tol = 5 * math.sqrt(29 * 2 / n) / 2
    g = ex.propagate([n] * 31, "glorot_normal", "relu", 3, batch=500).pre_std
    h = ex.propagate([n] * 31, "he_normal", "relu", 4, batch=500).pre_std
    assert abs(math.log(g[29] / g[0]) - math.log(2**-14.5)) < tol
    assert abs(math.log(h[29] / h[0])) < tol


@needs_torch
def test_torch_default_linear():
    """nn.Linear's weight variance is 1/(3 n_in); through 30 ReLU layers the ratio is 6^-14.5.

    Variance of N = 60000 uniform draws: SE = sigma^2 sqrt((9/5 - 1)/N) = 0.37%; 5 SE band.
    Depth: uniform weights, per-layer SD of the log factor <= sqrt(0.8/n); 5 SD on the log scale.
    """
    m, t = ex.torch_linear_weight_variance(300, 200, 0)
    assert abs(m / t - 1) < 5 * math.sqrt(0.8 / 60_000)
    s = ex.torch_default_depth_stds(256, 30, batch=500, seed=0)
    tol = 5 * math.sqrt(29 * 0.8 / 256) / 2 + 5 * math.sqrt(29 * 2 / (256 * 500))
    assert abs(math.log(s[29] / s[0]) - math.log(6**-14.5)) < tol


def test_sum_variance_se_matches_repeated_estimates():
    """SE(s^2) = sqrt((mu4 - sigma^4)/N): at n = 1 the product of two normals has kurtosis 9.

    Relative SE 2% at n = 1 (sqrt(8/N)), tending to sqrt(2/N) for large n. Checked against the
    SD of R = 200 independent estimates at N = 2000; the SD of R near-normal estimates has
    relative SE 1/sqrt(2(R-1)) = 5%, so 4 SE = 20% band.
    """
    n_samples = 2000
    assert math.isclose(ex.sum_variance_se(1, n_samples), math.sqrt(8 / n_samples))
    big = ex.sum_variance_se(10_000, n_samples, var_w=1e-4)
    assert abs(big / math.sqrt(2 / n_samples) - 1) < 1e-3
    rng = np.random.default_rng(11)
    est = [ex.sum_variance_mc(1, rng, n_samples=n_samples) for _ in range(200)]
    assert abs(np.std(est, ddof=1) / ex.sum_variance_se(1, n_samples) - 1) < 4 / math.sqrt(2 * 199)
    with pytest.raises(ValueError, match="distribution"):
        ex.sum_variance_se(4, 100, distribution="cauchy")


def test_seed_spread_matches_log_normal_prediction():
    """Across seeds, SD of log(Var_L / Var_1) of a ReLU net is sqrt(sum_l 5/n_l) (delta method).

    40 seeds: the sample SD has relative SE 1/sqrt(2 * 39) = 11%; 4 SE band (45%).
    Also: the mean of the std ratio sits at the mean-field value within 4 SE of the mean.
    """
    widths = [128] * 11
    s = ex.pre_std_over_seeds(widths, "he_normal", "relu", list(range(40)), batch=200)
    assert s.shape == (40, 10)
    log_var_ratio = 2 * np.log(s[:, -1] / s[:, 0])
    predicted = ex.log_variance_sd(widths[1:], "relu")
    assert abs(np.std(log_var_ratio, ddof=1) / predicted - 1) < 4 / math.sqrt(2 * 39)
    assert abs(np.mean(log_var_ratio)) < 4 * predicted / math.sqrt(40) + 2 * predicted**2
    assert math.isclose(ex.log_variance_sd([10, 20, 40], "linear"), math.sqrt(2 / 20 + 2 / 40))
    with pytest.raises(ValueError, match="activation"):
        ex.log_variance_sd([10, 10], "tanh")
    with pytest.raises(ValueError, match="seeds"):
        ex.pre_std_over_seeds(widths, "he_normal", "relu", [])


@needs_torch
def test_torch_linear_init_stats_one_layer():
    """Variance and bound come from the same seeded layer as torch_linear_weight_variance.

    max of N = 60000 draws of U(-1, 1) in absolute value: P(max < 1 - t) = (1 - t)^N ~ e^(-N t);
    t = 40 / N makes a false failure e^-40.
    """
    v, t, b = ex.torch_linear_init_stats(300, 200, 7)
    assert (v, t) == ex.torch_linear_weight_variance(300, 200, 7)
    assert 1 - 40 / 60_000 < b <= 1.0 + 1e-6


@needs_torch
def test_init_diagnostics_glorot_over_he_is_exact_product():
    """Zero biases and positively homogeneous ReLU: logits scale by the product of weight scales.

    apply_init draws the same normals for both schemes from one seed, so the Glorot/He logit
    std ratio is prod_l sqrt(n_in / (n_in + n_out)) up to the float32 rounding of the weights
    (relative 6e-8 each, a few e-7 after 7 layers): tolerance 1e-5.
    """
    d = ex.init_diagnostics(depth=6, width=32, n_train=90, seed=1)
    widths = [2] + [32] * 6 + [3]
    expected = math.prod(
        math.sqrt(a / (a + b)) for a, b in zip(widths[:-1], widths[1:], strict=True)
    )
    assert math.isclose(d["glorot_normal"][0] / d["he_normal"][0], expected, rel_tol=1e-5)
    assert d["glorot_normal"][1] < d["he_normal"][1]


def test_landscape_ridges_and_descent_budget_on_lecture_00():
    """Lecture 00: the three minima contract at nearly the same rate (0.73-0.74 per step); the
    geometric phase from the start's distance predicts A's step count, while B, which starts
    0.09 from a ridge where the slope is small, takes about ten steps more."""
    from course_utils import plots
    from course_utils.experiments import descent_budget, landscape_ridges

    ridges = landscape_ridges(plots.landscape_grad, -6.0, 6.0)
    assert ridges.size == 3
    np.testing.assert_allclose(np.abs(plots.landscape_grad(ridges)), 0.0, atol=1e-9)
    curv = 0.12 - 2.56 * np.sin(1.6 * ridges)
    assert np.all(curv < 0)  # maxima

    def hess(w):
        return 0.12 - 2.56 * np.sin(1.6 * w)

    r = {
        k: descent_budget(plots.landscape_grad, hess, w0)
        for k, w0 in plots.LANDSCAPE_STARTS.items()
    }
    for k, v in r.items():
        path, n = plots.gradient_descent_1d(plots.landscape_grad, plots.LANDSCAPE_STARTS[k])
        assert v["steps"] == n and v["w_star"] == path[-1]
        assert 0.73 < v["rate"] < 0.75
    assert abs(r["A"]["extra_steps"]) < 1.0
    assert r["B"]["extra_steps"] > 8 > r["C"]["extra_steps"]
    assert r["B"]["start_slope"] < 0.25 < r["C"]["start_slope"]
    # exact parabola: the geometric count is the answer up to rounding up
    q = descent_budget(lambda w: 2 * w, lambda w: 2.0, 1.0, lr=0.25, tol=1e-3)
    assert q["steps"] == math.ceil(q["geometric_steps"])
    with pytest.raises(ValueError, match="lo must be below hi"):
        landscape_ridges(plots.landscape_grad, 1.0, 0.0)


def test_first_step_below():
    from course_utils.experiments import first_step_below

    assert first_step_below([0.7, 0.69, 0.5], 0.6) == 2
    assert first_step_below(np.full(3, 0.7), 0.6) is None
    assert first_step_below([0.1], 0.6) == 0


def test_backward_factors_predict_the_measured_gradient_growth():
    """The measured factor n Var(W) E[f'^2] of each layer equals the ratio of the back-propagated
    mean squares up to the sampling error of a 500-unit layer; for saturated tanh (sigma = 1) the
    mean f'^2 is small but the factor is ~12: the gradient explodes through saturation."""
    from course_utils.experiments import backward_factors
    from course_utils.network import backward, forward, init_weights

    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 500))
    weights = init_weights([500] * 6, "random_normal", rng, std=1.0)
    trace = forward(x, weights, "tanh")
    grads = backward(trace, weights, "tanh", rng.standard_normal((200, 500)))
    factor, slope_sq = backward_factors(weights, trace.pre_activations, "tanh")
    ms = np.array([np.mean(np.square(g)) for g in grads.activations])
    # E[g_(l-1)^2] / E[g_l^2] for l = 2..5 against the factor of layer l
    np.testing.assert_allclose(ms[:-1] / ms[1:], factor[1:], rtol=0.1)
    assert np.all(slope_sq < 0.05) and np.all(factor > 8)
    with pytest.raises(ValueError, match="same length"):
        backward_factors(weights, trace.pre_activations[:2], "tanh")


def test_mean_example_cosine_relu_layer_and_depth():
    """A wide random ReLU layer fed independent Gaussian inputs has mean cosine 1/pi between
    examples (arc-cosine kernel); deeper layers approach 1."""
    from course_utils.experiments import mean_example_cosine
    from course_utils.network import forward, init_weights

    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2000))
    w = init_weights([2000] * 6, "he_normal", rng, dtype=np.float64)
    acts = forward(x, w, "relu").activations
    cos = [mean_example_cosine(a) for a in acts]
    # seed-to-seed SD of this mean at width 2000, batch 200: 0.0007 (measured over 20 seeds);
    # the tolerance is 7 SD
    assert cos[0] == pytest.approx(1 / math.pi, abs=0.005)
    assert np.all(np.diff(cos) > 0)
    assert mean_example_cosine(np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0]])) == 1.0
    with pytest.raises(ValueError, match="two non-zero rows"):
        mean_example_cosine(np.array([[1.0, 0.0], [0.0, 0.0]]))


def test_he_reproduction_over_seeds_equals_one_run_per_seed():
    """Training the networks as one batch gives each seed the run he_reproduction gives it:
    the same data, initialization, batch order and SGD-with-momentum steps (losses equal to
    float32 rounding over 4 short epochs, before the chaos of a long run can amplify it)."""
    pytest.importorskip("torch")
    kw = {"depth": 3, "width": 16, "epochs": 4, "n_train": 300}
    settings = {"He, 10x": ("he_normal", 0.01), "Glorot": ("glorot_normal", 0.001)}
    runs = ex.he_reproduction_over_seeds(settings, [0, 3], **kw)
    assert list(runs) == ["He, 10x", "Glorot"] and runs["Glorot"].seeds == [0, 3]
    for i, seed in enumerate((0, 3)):
        for label, (scheme, lr) in settings.items():
            ref = ex.he_reproduction((scheme,), lr=lr, seed=seed, **kw)[scheme]
            np.testing.assert_allclose(runs[label].loss[i], ref.loss, rtol=1e-5)
            np.testing.assert_allclose(runs[label].accuracy[i], ref.accuracy, atol=1e-6)
    with pytest.raises(TypeError, match="settings"):
        ex.he_reproduction_over_seeds({"a": "he_normal"}, [0], **kw)
    with pytest.raises(ValueError, match="lr"):
        ex.he_reproduction_over_seeds({"a": ("he_normal", 0.0)}, [0], **kw)
    with pytest.raises(ValueError, match="seeds"):
        ex.he_reproduction_over_seeds({"a": ("he_normal", 0.1)}, [-1], **kw)
    with pytest.raises(TypeError, match="seeds"):
        ex.he_reproduction_over_seeds({"a": ("he_normal", 0.1)}, [], **kw)


def test_he_reproduction_over_seeds_keeps_a_diverged_run_apart():
    """A run that blows up (lr far too large) holds NaN from then on, its accuracy too, and the
    run trained beside it in the same batch is the one it would be alone."""
    pytest.importorskip("torch")
    kw = {"depth": 6, "width": 16, "epochs": 3, "n_train": 120}
    both = ex.he_reproduction_over_seeds(
        {"ok": ("he_normal", 0.001), "huge": ("he_normal", 1e4)}, [1], **kw
    )
    alone = ex.he_reproduction_over_seeds({"ok": ("he_normal", 0.001)}, [1], **kw)
    assert not np.isfinite(both["huge"].loss[0, -1]) and np.isnan(both["huge"].accuracy[0, -1])
    np.testing.assert_allclose(both["ok"].loss, alone["ok"].loss, rtol=1e-6)
