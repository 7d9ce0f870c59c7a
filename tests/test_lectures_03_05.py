"""Tests of the experiment helpers that lectures 03-05 added to course_utils.experiments.

Statistical checks state their tolerance from the sampling error; seeds are fixed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

try:
    import torch
except ImportError:  # torch-free environments (make test-pythons)
    torch = None

from course_utils import experiments as ex

needs_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed (a torch-free environment)"
)


def test_correlated_inputs_keep_linear_growth_but_a_repeated_weight_does_not():
    """x_i all equal (correlation 1), w_i i.i.d. zero-mean: Var(y) = n Var(w) E[x^2] still.

    y = x * S with S ~ N(0, n var_w): a product of two independent normals, kurtosis 9, so the
    sample variance of N draws has relative SE sqrt(8/N) (2 % at N = 20000): 5 SE band. The same
    repeated input with a repeated weight ("shared") grows like n^2.
    """
    N = 20_000
    for n in (16, 256):
        t = ex.sum_variance_theory(n, var_w=0.01, case="correlated_x")
        assert t == pytest.approx(n * 0.01)
        v = ex.sum_variance_mc(n, n, n_samples=N, var_w=0.01, case="correlated_x")
        assert abs(v / t - 1) < 5 * math.sqrt(8 / N)
    assert ex.sum_variance_theory(64, var_w=1 / 64, mean_x=1.0, case="correlated_x") == 2.0
    assert ex.sum_variance_theory(64, var_w=1 / 64, case="shared") == pytest.approx(64.0)
    # with a weight mean the cross terms mu_w^2 E[x_i x_j] no longer vanish: n^2 growth
    t = ex.sum_variance_theory(64, var_w=1 / 64, mean_w=0.05, case="correlated_x")
    assert t == pytest.approx(1.0 + 64**2 * 0.05**2)


@pytest.mark.parametrize(
    ("case", "mean_w", "mean_x"),
    [("independent", 0.0, 0.0), ("mean_w_and_x", 0.05, 1.0), ("aligned", 0.0, 0.0)],
)
def test_second_moment_matches_theory(case, mean_w, mean_x):
    """E[y^2] = Var(y) + E[y]^2, measured on N = 20000 sums of n = 64 terms.

    The sums are close to normal, y ~ N(m, v), so Var(y^2) = 2 v^2 + 4 m^2 v and the SE of the
    sample mean of y^2 is sqrt((2 v^2 + 4 m^2 v) / N): 5 SE band.
    """
    n, N = 64, 20_000
    kw = {"var_w": 1 / n, "mean_w": mean_w, "mean_x": mean_x, "case": case}
    v, m2 = ex.sum_moments_mc(n, 7, n_samples=N, **kw)
    assert v == ex.sum_variance_mc(n, 7, n_samples=N, **kw)  # the same draws
    tv, tm2 = ex.sum_variance_theory(n, **kw), ex.sum_second_moment_theory(n, **kw)
    mean_sq = tm2 - tv
    se = math.sqrt((2 * tv**2 + 4 * mean_sq * tv) / N)
    assert abs(m2 - tm2) < 5 * se
    if case == "aligned":
        assert tm2 == pytest.approx(tv + (2 * 64 / 8 / math.pi) ** 2)  # mean 2 n sw sx / pi
    with pytest.raises(ValueError, match="case"):
        ex.sum_moments_mc(4, 0, case="nope")


def test_propagate_over_seeds_mean_gradient_is_he_fan_out_theory():
    """He fan_out on ReLU layers: the mean over seeds of Var(dL/da_0) is 1 (theory).

    The tolerance is 4 standard errors of the mean, the SE estimated from the 30 seeds
    themselves; row k is exactly propagate() with default_rng(k).
    """
    widths = [256, 512, 128, 512, 128, 512, 64]
    seeds = list(range(30))
    s, g = ex.propagate_over_seeds(
        widths, "he_normal", "relu", seeds, batch=200, scheme_kwargs={"mode": "fan_out"}
    )
    assert s.shape == (30, 6) and g.shape == (30, 7)
    se = g[:, 0].std(ddof=1) / math.sqrt(len(seeds))
    assert abs(g[:, 0].mean() - 1.0) < 4 * se
    one = ex.propagate(
        widths,
        "he_normal",
        "relu",
        np.random.default_rng(3),
        batch=200,
        scheme_kwargs={"mode": "fan_out"},
    )
    np.testing.assert_array_equal(g[3], one.grad_var)
    with pytest.raises(ValueError, match="seeds"):
        ex.propagate_over_seeds(widths, "he_normal", "relu", [])


@needs_torch
def test_lecun_in_frameworks():
    """All three have n_in Var(w) = 1 within 5 SE (SE of a sample variance: sqrt(2/N) for a
    normal, less for the truncated one); only the truncated one is bounded by 2/0.8796, and
    torch's kaiming_normal_(nonlinearity="linear") is exactly normal_(0, 1/sqrt(n_in)).
    """
    n_in, n_out = 400, 300
    r = ex.lecun_in_frameworks(n_in, n_out, 11)
    assert len(r) == 3
    for var, _ in r.values():
        assert abs(var - 1) < 5 * math.sqrt(2 / (n_in * n_out))
    plain, trunc, torch_ = r.values()
    assert trunc[1] <= 2 / 0.87962566103423978 + 1e-9 < plain[1]
    assert torch_[1] > 2 / 0.87962566103423978
    ref = torch.empty(n_out, n_in, dtype=torch.float64)
    ref.normal_(0, 1 / math.sqrt(n_in), generator=torch.Generator().manual_seed(11))
    assert torch_[0] == pytest.approx(float(n_in * ref.var(correction=0)), rel=1e-12)


def test_largest_rebound_finds_the_worst_rise_above_the_running_minimum():
    loss = [1.1, 0.8, 0.3, 0.6, 0.2, 0.01, 0.12, 0.05]
    ratio, epoch, best, value = ex.largest_rebound(loss)
    assert (epoch, best, value) == (7, 0.01, 0.12) and ratio == pytest.approx(12.0)
    ratio, _, _, _ = ex.largest_rebound([1.0, 0.9, 0.8])
    assert ratio < 1  # monotone: never above the best so far
    for bad in ([1.0], [1.0, float("nan")], [[1.0, 2.0]], [1.0, 0.0]):
        with pytest.raises(ValueError, match="loss"):
            ex.largest_rebound(bad)
