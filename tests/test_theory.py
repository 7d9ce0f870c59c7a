"""Variance theory against simulation, weight variances against the initializers, statistics.

Sampling error of the forward simulations (used by the linear and ReLU tests)
------------------------------------------------------------------------------
Each replicate is a fresh network (Gaussian weights, variance v_l) fed ONE input x ~ N(0, I).
Given the previous layer, the entries of z_l = a_{l-1} W_l are i.i.d. N(0, v_l |a_{l-1}|^2), so

    |z_l|^2 = v_l |a_{l-1}|^2 chi^2_{n_l}          (linear layer: a_l = z_l)
    |relu(z_l)|^2 = v_l |a_{l-1}|^2 S_l,   S_l = sum_j relu(u_j)^2, u_j ~ N(0, 1),

and these factors are independent of each other and of |x|^2 ~ chi^2_{n_0}. With
E[chi^2_n] = n, E[(chi^2_n)^2] = n (n + 2), E[S] = n / 2, Var(S) = n (E relu(u)^4 - 1/4) = 5 n / 4,
the measured m_l = |z_l|^2 / n_l has mean exactly q_l (the theory) and relative variance

    Var(m_l) / q_l^2 = (1 + 2/n_0) * prod_{k<l} (1 + c_k / n_k) * (1 + 2 / n_l) - 1,

c_k = 2 for a linear layer and 5 for a ReLU layer. Errors compound across layers through this
product. The mean of R independent replicates then has standard error q_l sqrt(rel_var / R);
we accept |mean - q_l| < 4 SE (normal two-sided tail 6e-5 per comparison), with a fixed seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_utils.activations import get_activation
from course_utils.initializers import INITIALIZERS
from course_utils.network import backward, forward, init_weights
from course_utils.theory import (
    backward_variance,
    dead_fraction,
    forward_variance,
    layer_stats,
    predict,
    predicted_std,
    saturation_fraction,
    trace_stats,
    update_ratio,
    weight_variance,
)


def simulate(widths, scheme, activation, reps, seed, backward_too=False):
    """Per-replicate mean squares of z_l (and of dL/da_l, dL/dx) for one-example batches."""
    rng = np.random.default_rng(seed)
    zs, gs = [], []
    for _ in range(reps):
        ws = init_weights(widths, scheme, rng, dtype=np.float64)
        x = rng.standard_normal((1, widths[0]))
        t = forward(x, ws, activation)
        zs.append([float(np.mean(z**2)) for z in t.pre_activations])
        if backward_too:
            gr = backward(t, ws, activation, rng.standard_normal((1, widths[-1])))
            gs.append([float(np.mean(grads**2)) for grads in [gr.inputs, *gr.activations]])
    return np.array(zs), (np.array(gs) if backward_too else None)


def exact_rel_var(widths, c):
    """Relative variance of m_l for l = 1..L from the product formula in the module docstring."""
    out = []
    prefix = 1 + 2 / widths[0]
    for n in widths[1:]:
        out.append(prefix * (1 + 2 / n) - 1)
        prefix *= 1 + c / n
    return np.array(out)


@pytest.mark.parametrize(
    ("activation", "scheme", "widths", "c"),
    [
        ("linear", "lecun_normal", [128, 128, 128, 128, 128], 2),
        ("linear", "glorot_normal", [64, 256, 32, 128], 2),  # changing widths
        ("relu", "he_normal", [128, 128, 128, 128, 128], 5),
        ("relu", "glorot_normal", [128, 128, 128, 128, 128], 5),
        ("relu", "he_normal", [256, 128, 64, 32], 5),  # a funnel
    ],
)
def test_forward_theory_within_sampling_error(activation, scheme, widths, c):
    """See the module docstring for the exact standard error."""
    reps = 600
    m, _ = simulate(widths, scheme, activation, reps, seed=11)
    q = forward_variance(widths, scheme, activation)
    se = q * np.sqrt(exact_rel_var(widths, c) / reps)
    assert np.all(np.abs(m.mean(0) - q) < 4 * se), (m.mean(0), q, se)
    # the spread of the replicates matches the derivation too (a check on the check):
    # the sample variance of R values has relative SE sqrt(2 / R) = 5.8 % for normal data and
    # more for these right-skewed ones; 35 % (6 normal SEs) leaves room for the skew
    np.testing.assert_allclose(m.var(0) / q**2, exact_rel_var(widths, c), rtol=0.35)


@pytest.mark.parametrize(
    ("activation", "scheme", "widths"),
    [
        ("linear", "lecun_normal", [256, 128, 64, 32]),  # LeCun in a funnel: backward drift
        ("relu", "he_normal", [128, 128, 128, 128]),
        ("relu", "he_normal", [64, 128, 256]),
    ],
)
def test_backward_theory_within_sampling_error(activation, scheme, widths):
    """E[(dL/da_l)^2] for dL/da_L ~ N(0, 1), R = 600 one-example replicates.

    The replicates are i.i.d., so the mean's standard error is the sample std / sqrt(R) (CLT);
    for ReLU the backward weights are not independent of the forward mask, so no product
    formula as for the forward pass; the recursion is exact in expectation because the
    sign-symmetry of each weight column keeps E[w^2 1{z>0}] = v/2. Accept 4 SE.
    """
    reps = 600
    _, g = simulate(widths, scheme, activation, reps, seed=12, backward_too=True)
    predicted = backward_variance(widths, scheme, activation)
    se = g.std(0, ddof=1) / math.sqrt(reps)
    assert np.all(np.abs(g.mean(0) - predicted) < 4 * se), (g.mean(0), predicted, se)


def test_funnel_backward_drift_is_fan_ratio():
    # LeCun forward-preserves, but backward each layer scales by n_out / n_in (lecture 03)
    np.testing.assert_allclose(
        backward_variance([400, 200, 100, 50], "lecun_normal", "linear"), [1 / 8, 1 / 4, 1 / 2, 1]
    )
    np.testing.assert_allclose(
        backward_variance([400, 200, 100, 50], "he_normal", "relu", mode="fan_out"), 1.0
    )


def test_tanh_theory_within_stated_tolerance():
    """tanh with LeCun init, width 128, 6 layers, input var 1 (close to the linear regime).

    The Gaussian recursion is the infinite-width limit. At finite width, given the previous
    layer, z_l is Gaussian with a random variance q_hat whose relative variance is about 2/n per
    layer (the chi^2 factors above), accumulated over l layers: 2 l / n. The Jensen gap of
    g(q) = E[tanh(z)^2] is then about |g''(q)| q^2 (2 l / n) / 2 (g'' by finite differences of
    the quadrature). Tolerance: that bias bound plus 4 standard errors (sample std / sqrt(R)).
    """
    widths = [128] * 7
    reps = 400
    rng = np.random.default_rng(13)
    m = []
    for _ in range(reps):
        ws = init_weights(widths, "lecun_normal", rng, dtype=np.float64)
        t = forward(rng.standard_normal((1, 128)), ws, "tanh")
        m.append([float(np.mean(a**2)) for a in t.activations])
    m = np.array(m)
    p = predict(widths, "lecun_normal", "tanh")
    act = get_activation("tanh")
    q = p.pre_activation_var
    h = 1e-3
    g2 = (act.second_moment(q + h) - 2 * act.second_moment(q) + act.second_moment(q - h)) / h**2
    layers = np.arange(1, 7)
    bias = np.abs(g2) * q**2 * (2 * layers / 128) / 2
    se = m.std(0, ddof=1) / math.sqrt(reps)
    err = np.abs(m.mean(0) - p.activation_second_moment)
    assert np.all(err < bias + 4 * se), (err, bias, se)
    # and the recursion is not trivially satisfied: the second moment does decay with depth
    assert p.activation_second_moment[-1] < 0.6 * p.activation_second_moment[0]


def test_30_layer_relu_he_versus_glorot():
    """He keeps the std ratio std(z_30)/std(z_1) at 1, Glorot gives 2^(-29/2) (He et al. 2015)."""
    he = predict([256] * 31, "he_normal", "relu").pre_activation_std
    gl = predict([256] * 31, "glorot_normal", "relu").pre_activation_std
    assert he[-1] / he[0] == pytest.approx(1.0, rel=1e-12)
    assert gl[-1] / gl[0] == pytest.approx(2**-14.5, rel=1e-12)
    assert predicted_std(30, "glorot_normal", "relu") == pytest.approx(2**-14.5, rel=1e-12)
    assert predicted_std(30, "he_normal", "relu") == pytest.approx(math.sqrt(2), rel=1e-12)
    assert predicted_std(5, "lecun_normal", "linear", input_std=3.0) == pytest.approx(3.0)
    # std=0.01 at width 500, tanh: the signal shrinks by sqrt(500) * 0.01 = 0.22 per layer
    assert predicted_std(10, "random_normal", "linear", width=500, std=0.01) == pytest.approx(
        (math.sqrt(500) * 0.01) ** 10
    )
    # a 30-layer simulation agrees (one net, batch 200): the log-ratio of Glorot to He after
    # 29 halvings is -14.5 log 2 = -10.05 nats; per-layer noise is ~ sqrt(5/256)/2 in log std,
    # 29 layers -> ~0.4 nats at most, far below the 10-nat gap; allow 1 nat.
    rng = np.random.default_rng(14)
    x = rng.standard_normal((200, 256)).astype(np.float32)
    ratios = {}
    for scheme in ("he_normal", "glorot_normal"):
        t = forward(x, init_weights([256] * 31, scheme, rng), "relu")
        ratios[scheme] = float(np.std(t.pre_activations[-1]) / np.std(t.pre_activations[0]))
    assert abs(math.log(ratios["he_normal"])) < 1.0
    assert abs(math.log(ratios["glorot_normal"]) + 14.5 * math.log(2)) < 1.0


# ---------------------------------------------------------------------------------------------
# weight variances
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", sorted(INITIALIZERS))
@pytest.mark.parametrize("fans", [(300, 200), (200, 300)])
def test_weight_variance_matches_the_initializers(scheme, fans):
    """Sample mean square of one (fan_in, fan_out) draw, 60 000 entries.

    Its standard error is sqrt((E[w^4] - E[w^2]^2) / N), estimated from the sample; accept
    5 SE. Zero-spread schemes must give exactly 0; orthogonal exactly gain^2 / max(fans)
    (its columns, or rows, have unit norm, so the mean square is exact, not random).
    """
    kw = {"value": 0.7} if scheme == "constant" else {}
    w = INITIALIZERS[scheme](fans, np.random.default_rng(15), dtype=np.float64, **kw)
    v = weight_variance(scheme, *fans, **kw)
    if scheme in ("zeros", "constant"):
        assert v == 0.0 and np.ptp(w) == 0.0
        return
    if scheme == "orthogonal":
        assert np.mean(w**2) == pytest.approx(v, rel=1e-12)
        return
    w2 = w.ravel() ** 2
    se = math.sqrt(w2.var() / w2.size)
    assert abs(w2.mean() - v) < 5 * se


def test_weight_variance_options_and_errors():
    assert weight_variance("he_normal", 100, 50, mode="fan_out") == pytest.approx(2 / 50)
    assert weight_variance("random_uniform", 9, 9, limit=0.3) == pytest.approx(0.03)
    assert weight_variance("orthogonal", 10, 40, gain=2.0) == pytest.approx(4 / 40)
    assert weight_variance("variance_scaling", 10, 30, scale=3.0, mode="fan_avg") == pytest.approx(
        3 / 20
    )
    assert weight_variance("lecun_normal", 100, 10, multiplier=2.0) == pytest.approx(0.04)
    # a callable is measured
    assert weight_variance(lambda s, r: np.full(s, 0.5), 3, 4) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="scheme"):
        weight_variance("xavier", 3, 3)
    with pytest.raises(ValueError, match="fan_in"):
        weight_variance("he_normal", 0, 3)
    with pytest.raises(ValueError, match="std"):
        weight_variance("lecun_normal", 3, 3, std=0.1)
    with pytest.raises(ValueError, match="mode"):
        weight_variance("he_normal", 3, 3, mode="fan_avg")
    with pytest.raises(ValueError, match="depth"):
        predicted_std(0, "he_normal", "relu")
    with pytest.raises(ValueError, match="activation"):
        predicted_std(3, "he_normal", "swish")


def test_predict_accepts_explicit_variances_and_fields():
    p = predict([10, 10, 10], [0.1, 0.2], "linear", input_var=2.0, grad_output_var=3.0)
    np.testing.assert_allclose(p.pre_activation_var, [2.0, 4.0])
    np.testing.assert_allclose(p.grad_var, [6.0, 3.0])
    assert p.input_grad_var == pytest.approx(6.0)
    np.testing.assert_allclose(p.weight_grad_var, [2.0 * 6.0, 2.0 * 3.0])
    r = predict([10, 10], "he_normal", "relu")
    assert r.activation_mean[0] == pytest.approx(math.sqrt(2 / (2 * math.pi)))
    assert r.activation_var[0] == pytest.approx(1.0 - 1 / math.pi)


# ---------------------------------------------------------------------------------------------
# statistics of a trace
# ---------------------------------------------------------------------------------------------
def test_layer_stats_and_trace_stats():
    rng = np.random.default_rng(16)
    ws = init_weights([50, 40, 30], "lecun_normal", rng)
    x = rng.standard_normal((64, 50)).astype(np.float32)
    means, stds = layer_stats(ws, x, "tanh")
    t = forward(x, ws, "tanh")
    assert means.shape == stds.shape == (2,)
    np.testing.assert_allclose(means, [a.mean() for a in t.activations], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(stds, [a.std() for a in t.activations], rtol=1e-5)
    g = backward(t, ws, "tanh", np.ones((64, 30), np.float32))
    s = trace_stats(t, g)
    np.testing.assert_allclose(s["activation_std"], stds, rtol=1e-12)
    assert s["grad_second_moment"][-1] == 1.0
    assert s["weight_grad_norm"].shape == (2,)


def test_saturation_dead_and_update_ratio():
    a = np.array([[0.995, -0.999, 0.2, 0.0]])
    assert saturation_fraction(a) == 0.5
    assert saturation_fraction(a, threshold=0.996) == 0.25
    assert saturation_fraction([a, np.zeros((2, 2))]).tolist() == [0.5, 0.0]
    r = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    assert dead_fraction(r) == pytest.approx(4 / 6)
    assert dead_fraction(r, per="unit") == pytest.approx(1 / 3)
    assert dead_fraction([r, r], per="unit").tolist() == pytest.approx([1 / 3, 1 / 3])
    with pytest.raises(ValueError, match="per"):
        dead_fraction(r, per="layer")
    with pytest.raises(TypeError, match="a"):
        saturation_fraction("tanh")
    # a saturated tanh net (std 1.0 weights, width 200): most units pinned at +-1
    rng = np.random.default_rng(17)
    t = forward(
        rng.standard_normal((32, 200)),
        init_weights([200] * 4, "random_normal", rng, std=1.0),
        "tanh",
    )
    assert np.all(saturation_fraction(t) > 0.8)
    ws = [np.full((2, 2), 2.0)]
    assert update_ratio(ws, [np.full((2, 2), 1.0)], lr=0.1).tolist() == [0.05]
    with pytest.raises(ValueError, match="grads"):
        update_ratio(ws, [], lr=0.1)


# --------------------------------------------------------------------------------------------
# lecture 06: mean-field fixed points, the bias floor, conv spectra, delta-orthogonal, Saxe
# --------------------------------------------------------------------------------------------
def test_mean_field_fixed_point_is_a_fixed_point_and_chi_of_tanh_gain():
    from course_utils.theory import mean_field_chi, mean_field_fixed_point

    f = get_activation("tanh")
    s = 25 / 9  # PyTorch's tanh gain 5/3, squared
    q = mean_field_fixed_point("tanh", s)
    assert q == pytest.approx(s * float(f.second_moment(q)), rel=1e-10)
    assert q == pytest.approx(1.1785, abs=1e-4)
    assert mean_field_chi("tanh", s, q) == pytest.approx(1.2098, abs=1e-4)  # chaotic: chi > 1
    # iterating the map from q = 1 (the variance recursion of predict) converges to it
    p = predict([200] * 61, [s / 200] * 60, "tanh")
    assert p.pre_activation_var[-1] == pytest.approx(q, rel=1e-6)
    assert mean_field_fixed_point("tanh", 1.0) == 0.0  # gain 1: the variance decays to 0
    assert mean_field_chi("tanh", 1.0, 0.0) == pytest.approx(1.0)
    with_bias = mean_field_fixed_point("tanh", 1.0, 0.05)
    assert with_bias == pytest.approx(float(f.second_moment(with_bias)) + 0.05, rel=1e-10)
    with pytest.raises(ValueError, match="no finite fixed point"):
        mean_field_fixed_point("relu", 3.0)
    with pytest.raises(ValueError, match="weight_scale"):
        mean_field_fixed_point("tanh", -1.0)


def test_chi_predicts_the_measured_gradient_growth_of_a_deep_tanh_net():
    """Depth 30, width 400, gain 5/3, inputs at the fixed point: the mean squared gradient grows by
    chi per layer. log(ratio) over 30 layers fluctuates by about sqrt(30 * 2/400) ~ 0.4 per
    replicate (chi^2-like per-layer noise); 8 replicates average it to ~0.14: we allow 0.6."""
    from course_utils.theory import mean_field_chi, mean_field_fixed_point

    s, depth, n = 25 / 9, 30, 400
    q = mean_field_fixed_point("tanh", s)
    chi = mean_field_chi("tanh", s, q)
    rng = np.random.default_rng(7)
    logs = []
    for _ in range(8):
        ws = [rng.standard_normal((n, n)) * math.sqrt(s / n) for _ in range(depth)]
        x = rng.standard_normal((64, n)) * math.sqrt(float(get_activation("tanh").second_moment(q)))
        t = forward(x, ws, "tanh")
        g = backward(t, ws, "tanh", rng.standard_normal((64, n)))
        top, bottom = np.mean(g.activations[-1] ** 2), np.mean(g.activations[0] ** 2)
        logs.append(math.log(bottom / top))
    assert np.mean(logs) == pytest.approx((depth - 1) * math.log(chi), abs=0.6)


def test_bias_floor_matches_pytorch_default_layers():
    """A deep tanh MLP with PyTorch's default init settles at q* = 1/(2n) per layer (averaged over
    the hidden layers 5-8 and 20 seeds; each layer's value is the variance over a batch of 512
    rows of 64 units, whose spread between seeds is about 30 %: the mean of 80 is within 10 %)."""
    torch = pytest.importorskip("torch")
    from course_utils.lsuv import default_variances_torch
    from course_utils.theory import bias_floor

    x = torch.randn(512, 2, generator=torch.Generator().manual_seed(0))
    v = default_variances_torch([2] + [64] * 8 + [2], "tanh", x, seeds=range(20))
    assert v.shape == (20, 9)
    assert np.mean(v[:, 4:8]) == pytest.approx(bias_floor(64), rel=0.1)
    assert bias_floor(64) == pytest.approx(1 / 128)
    with pytest.raises(ValueError):
        bias_floor(64, weight_scale=1.0)


def test_conv_singular_values_match_the_explicit_matrix_of_a_circular_conv():
    torch = pytest.importorskip("torch")
    from course_utils.theory import conv_singular_values

    rng = np.random.default_rng(0)
    size, c_in, c_out = 5, 2, 3
    k = rng.standard_normal((3, 3, c_in, c_out))
    conv = torch.nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="circular", bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(k.transpose(3, 2, 0, 1)))
        basis = torch.eye(c_in * size * size, dtype=torch.float32).reshape(-1, c_in, size, size)
        matrix = conv(basis).reshape(c_in * size * size, -1).double().numpy()
    expected = np.linalg.svd(matrix, compute_uv=False)
    got = conv_singular_values(k, size)
    assert got.shape == (size * size * c_in,)
    np.testing.assert_allclose(got, np.sort(expected)[::-1][: got.size], rtol=1e-5, atol=1e-5)
    two = conv_singular_values([k, rng.standard_normal((3, 3, c_out, 2))], size)
    assert two.shape == (size * size * 2,)
    with pytest.raises(ValueError, match="c_in"):
        conv_singular_values([k, k], size)


def test_delta_orthogonal_is_an_isometry_and_flattened_orthogonal_is_not():
    from course_utils.initializers import orthogonal
    from course_utils.isometry import delta_orthogonal
    from course_utils.theory import conv_singular_values

    rng = np.random.default_rng(1)
    delta = delta_orthogonal((3, 3, 8, 8), rng, dtype=np.float64)
    s = conv_singular_values([delta_orthogonal((3, 3, 8, 8), rng, dtype=np.float64)] * 5, 8)
    np.testing.assert_allclose(s, 1.0, atol=1e-10)
    assert np.count_nonzero(delta[0]) == 0 and np.count_nonzero(delta[1, 1]) == 64
    flat = conv_singular_values(orthogonal((3, 3, 8, 8), rng).astype(np.float64), 8)
    assert np.mean(flat**2) == pytest.approx(1.0, rel=1e-6)  # Frobenius norm is right ...
    assert flat.max() > 1.3 and flat.min() < 0.3  # ... but the spectrum is spread
    wide = delta_orthogonal((3, 3, 4, 8), rng, gain=2.0, dtype=np.float64)
    np.testing.assert_allclose(conv_singular_values(wide, 6), 2.0, atol=1e-10)
    with pytest.raises(ValueError, match="c_in <= c_out"):
        delta_orthogonal((3, 3, 8, 4), rng)


def test_deep_linear_learning_times_orthogonal_flat_gaussian_grows():
    from course_utils.isometry import deep_linear_learning_times

    orth = deep_linear_learning_times([1, 8, 16], "orthogonal", 0, seeds=5, max_epochs=400)
    gauss = deep_linear_learning_times([1, 8], "gaussian", 0, seeds=5, max_epochs=400)
    # one layer at rate 1: W <- W - (W - M) = M after one step, whatever the start
    assert orth.epochs[0] == 1 and gauss.epochs[0] == 1
    assert np.isfinite(orth.epochs).all() and orth.epochs[2] < 2 * orth.epochs[1]
    assert not np.isfinite(gauss.epochs[1])  # depth 8 from Gaussian layers: not in 400 epochs
    with pytest.raises(ValueError, match="init"):
        deep_linear_learning_times([1], "uniform", 0)


def test_deep_linear_learning_times_blowup_within_counts_fast_blowups_only():
    """``blowup_within=k`` counts a run when its loss passes 100 x its start within k epochs.

    At depth 8 from Gaussian layers, rate 1 blows most runs up within a few epochs (loss x 100
    by epoch 5), and rate 0.1 blows none up. A window of 0 epochs is refused."""
    from course_utils.isometry import deep_linear_learning_times

    kw = {"seeds": 5, "max_epochs": 30}
    fast = deep_linear_learning_times([8], "gaussian", 0, rates=(1.0,), blowup_within=10, **kw)
    slow = deep_linear_learning_times([8], "gaussian", 0, rates=(0.1,), blowup_within=10, **kw)
    late = deep_linear_learning_times([8], "gaussian", 0, rates=(1.0,), blowup_within=1, **kw)
    assert fast.diverged[0] >= 0.6 and slow.diverged[0] == 0.0
    assert late.diverged[0] <= fast.diverged[0]  # a shorter window counts no more runs
    for bad in (0, True, 2.5):
        with pytest.raises(ValueError, match="blowup_within"):
            deep_linear_learning_times([1], "gaussian", 0, blowup_within=bad)


def test_gain_tradeoff_measures_what_mean_field_predicts():
    """One net of depth 20, width 256: the measured last-layer variance is within 15 % of the
    prediction (per-layer chi^2_256 noise, ~9 % relative over 20 layers at one batch) and the
    gradient ratio within a factor 1.5 of it (its log has sd ~ sqrt(20 * 2/256) ~ 0.28)."""
    from course_utils.isometry import gain_tradeoff

    r = gain_tradeoff(5 / 3, np.random.default_rng(3), depth=20)
    assert r["chi"] == pytest.approx(1.2098, abs=1e-4)
    assert r["var_last"] == pytest.approx(r["var_last_theory"], rel=0.15)
    assert 1 / 1.5 < r["grad_ratio"] / r["grad_ratio_theory"] < 1.5
    assert r["grad_ratio_theory"] > 1.2098**5  # chaotic: chi > 1 per layer near q*
    low = gain_tradeoff(1.0, np.random.default_rng(3), depth=20)
    assert low["q_star"] == 0.0 and low["grad_ratio"] < 1
    with pytest.raises(ValueError, match="gain"):
        gain_tradeoff(0.0, 0)
