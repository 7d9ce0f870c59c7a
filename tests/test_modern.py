"""course_utils.modern: residual streams, normalization, attention and the pre-LN transformer.

Statistical tests compare a sample mean with its theory within 4 standard errors, the SE being
the sample's own (std / sqrt(n)); with a fixed seed, a correct implementation fails with
probability about 6e-5 per comparison (normal two-sided tail), a wrong factor (2 in a variance,
a missing block) fails by many SEs.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

try:
    import torch
except ImportError:  # torch-free environments (make test-pythons)
    torch = None

from course_utils import modern

try:
    from course_utils.training import apply_init
except ImportError:  # torch-free environments (make test-pythons)
    apply_init = None

needs_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed (a torch-free environment)"
)


Z = 4.0


def _within(sample: np.ndarray, target: float, z: float = Z) -> None:
    sample = np.asarray(sample, dtype=float)
    se = sample.std(ddof=1) / math.sqrt(sample.size)
    assert abs(sample.mean() - target) <= z * se, (sample.mean(), target, se)


# ------------------------------------------------------------------------------ residual theory
def test_residual_variance_plain_and_normalized():
    assert modern.residual_variance(4, 1.0).tolist() == [1, 2, 4, 8, 16]
    assert modern.residual_variance(3, 0.5, q0=2.0).tolist() == pytest.approx(
        [2, 2.5, 3.125, 3.90625]
    )
    assert modern.residual_variance(3, 2.0, norm=True, q0=0.5).tolist() == [0.5, 4.5, 8.5, 12.5]
    assert modern.residual_variance(5, 0.0).tolist() == [1.0] * 6


def test_residual_std_values():
    assert modern.residual_std(50, 1.0) == pytest.approx(2**25)
    assert modern.residual_std(50, 1 / math.sqrt(50)) == pytest.approx(1.02**25)
    assert modern.residual_std(50, 1.0, norm=True) == pytest.approx(math.sqrt(51))
    assert modern.residual_std(10, 0.3, std0=2.0) == pytest.approx(2 * 1.09**5)


@pytest.mark.parametrize(("depth", "growth"), [(1, 3.0), (50, 2.0), (300, 1.1), (7, 1.0)])
def test_flat_branch_scale_inverts_residual_std(depth, growth):
    beta = modern.flat_branch_scale(depth, growth)
    assert modern.residual_std(depth, beta) == pytest.approx(growth, rel=1e-12)


def test_flat_branch_scale_rejects_shrinking():
    with pytest.raises(ValueError, match="growth"):
        modern.flat_branch_scale(10, 0.9)
    with pytest.raises(ValueError, match="depth"):
        modern.flat_branch_scale(0, 2.0)


@pytest.mark.parametrize(
    ("call", "error", "word"),
    [
        (lambda: modern.residual_variance(-1), ValueError, "depth"),
        (lambda: modern.residual_variance(3, -0.1), ValueError, "branch_scale"),
        (lambda: modern.residual_variance(2.5), TypeError, "depth"),
        (lambda: modern.residual_std(3, 1.0, std0=0.0), ValueError, "std0"),
        (lambda: modern.attention_logit_variance(0, 4, 0.1), ValueError, "d_model"),
        (lambda: modern.attention_logit_variance(8, 4, "a"), TypeError, "std_q"),
        pytest.param(
            lambda: modern.normalized_mlp(8, 2, "group"), ValueError, "norm", marks=needs_torch
        ),
        pytest.param(
            lambda: modern.TinyGPT(10, 30, 2, 4, 8), ValueError, "n_head", marks=needs_torch
        ),
        (lambda: modern.pre_ln_stream_variance(2, 8, 8, positions="some"), ValueError, "positions"),
        (lambda: modern.gelu_second_moment(-1.0), ValueError, "q"),
    ],
)
def test_bad_input_names_the_argument(call, error, word):
    with pytest.raises(error, match=word):
        call()


# ------------------------------------------------------------------------------ residual simulation
@pytest.mark.parametrize("beta", [1.0, 0.4])
def test_one_input_simulation_matches_theory(beta):
    depth = 10
    q = modern.simulate_residual(depth, beta, 3, width=128, networks=3000)
    assert q.shape == (3000, depth + 1)
    for layer in (1, 5, 10):
        target = modern.residual_variance(depth, beta)[layer]
        # the input's sample mean square is not exactly 1: compare the ratio q_l / q_0
        _within(q[:, layer] / q[:, 0], target)


def test_zero_branch_leaves_the_stream_unchanged():
    q = modern.simulate_residual(20, 0.0, 1, width=64, networks=50)
    assert np.array_equal(q[:, -1], q[:, 0])
    bn = modern.simulate_residual_bn(20, 0.0, 1, width=32, batch=16, networks=3)
    assert np.array_equal(bn[:, -1], bn[:, 0])


def test_batch_norm_branch_adds_gamma_squared_per_block():
    depth, gamma = 12, 0.7
    q = modern.simulate_residual_bn(depth, gamma, 5, width=64, batch=32, networks=40)
    increments = np.diff(q, axis=1).ravel()  # each block adds gamma^2 on average
    _within(increments, gamma**2)


def test_stream_stds_against_a_direct_loop():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 10))
    w1 = [rng.standard_normal((10, 10)) for _ in range(3)]
    w2 = [rng.standard_normal((10, 10)) for _ in range(3)]
    got = modern.stream_stds(x, w1, w2, 0.5)
    y, want = x.copy(), [np.sqrt(np.mean(x**2))]
    for a, b in zip(w1, w2, strict=True):
        y = y + 0.5 * np.maximum(y @ a, 0) @ b
        want.append(np.sqrt(np.mean(y**2)))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(ValueError, match="same length"):
        modern.stream_stds(x, w1, w2[:2])


# ------------------------------------------------------------------------------ attention
@pytest.mark.parametrize(("d_model", "d_k", "s_q", "s_k"), [(64, 16, 0.1, 0.2), (32, 8, 0.3, 0.05)])
def test_attention_logit_variance_against_monte_carlo(d_model, d_k, s_q, s_k):
    """Given the weights and unit Gaussian tokens, Var(x W_q W_k^T x'^T) = |W_q W_k^T|_F^2
    exactly; the mean of that over weight draws is the theory."""
    rng = np.random.default_rng(11)
    draws = []
    for _ in range(2000):
        w_q = rng.normal(0, s_q, (d_model, d_k))
        w_k = rng.normal(0, s_k, (d_model, d_k))
        draws.append(float(np.sum((w_q @ w_k.T) ** 2)))
    draws = np.array(draws)
    _within(draws, modern.attention_logit_variance(d_model, d_k, s_q, s_k, scaled=False))
    _within(draws / d_k, modern.attention_logit_variance(d_model, d_k, s_q, s_k, scaled=True))


def test_sample_attention_logits_variance():
    logits = np.concatenate(
        [modern.sample_attention_logits(64, 32, s, scaled=False) for s in range(30)]
    )
    per_draw = logits.reshape(30, -1).var(axis=1)
    _within(per_draw, 32.0)


def test_softmax_entropy_limits_and_gaussian_prediction():
    assert modern.softmax_entropy(np.zeros((2, 50))) == pytest.approx([math.log(50)] * 2)
    assert modern.softmax_entropy(np.array([0.0, 100.0, 0.0])) < 1e-40
    rng = np.random.default_rng(4)
    s2, n = 0.5, 20000
    h = modern.softmax_entropy(rng.normal(0, math.sqrt(s2), (40, n)))
    # finite-n corrections are O(e^(s^2) / n) ~ 1e-4
    assert h.mean() == pytest.approx(float(modern.gaussian_softmax_entropy(s2, n)), abs=5e-3)


# ------------------------------------------------------------------------------ GELU and pre-LN
@needs_torch
@pytest.mark.parametrize("q", [0.05, 1.0, 3.0])
def test_gelu_second_moment_against_monte_carlo(q):
    rng = np.random.default_rng(8)
    h = rng.normal(0, math.sqrt(q), 400_000)
    g = torch.nn.functional.gelu(torch.from_numpy(h)).numpy()
    _within((g**2).reshape(400, -1).mean(axis=1), modern.gelu_second_moment(q))


def test_gelu_second_moment_small_variance_limit():
    assert modern.gelu_second_moment(1e-6) == pytest.approx(1e-6 / 4, rel=1e-3)


@needs_torch
def test_mlp_branch_variance_against_a_random_branch():
    d, s, p = 16, 0.3, 0.05
    rng = np.random.default_rng(9)
    out = []
    for _ in range(3000):
        u = rng.standard_normal(d)
        u *= math.sqrt(d) / np.linalg.norm(u)  # a LayerNorm output: sum of squares d
        h = u @ rng.normal(0, s, (d, 4 * d))
        g = torch.nn.functional.gelu(torch.from_numpy(h)).numpy()
        out.append(float(g @ rng.normal(0, p, 4 * d)) ** 2)
    _within(np.array(out), modern.mlp_branch_variance(d, s, p))


@needs_torch
def test_gpt2_init_stds_and_zero_biases():
    model = modern.TinyGPT(20, d_model=64, n_layer=6, n_head=4, n_ctx=16)
    modern.gpt2_init_(model, torch.Generator().manual_seed(0))
    for name, prm in model.named_parameters():
        if name.endswith("bias"):
            assert torch.all(prm == 0.0), name
        elif "ln" in name:
            assert torch.all(prm == 1.0), name
        else:
            target = 0.02 / math.sqrt(12) if "c_proj" in name else 0.02
            n = prm.numel()
            # sample std of n normals: relative SE 1/sqrt(2n)
            assert abs(float(prm.detach().std()) / target - 1) < Z / math.sqrt(2 * n), name


@needs_torch
def test_gpt2_init_is_reproducible():
    a = modern.gpt2_init_(modern.TinyGPT(9, 16, 2, 2, 8), torch.Generator().manual_seed(3))
    b = modern.gpt2_init_(modern.TinyGPT(9, 16, 2, 2, 8), torch.Generator().manual_seed(3))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


@needs_torch
@pytest.mark.parametrize("scale", [False, True])
def test_pre_ln_stream_lies_between_the_bounds(scale):
    """The std of a GPT-2-initialized stream (lecture 08's size: d 64, 12 blocks, 64
    positions; 3 initializations) lies between the independent- and identical-position
    predictions, with 3 % allowance for the sample: the embeddings' sample variance (relative
    SE about 2 %) and the cross term x . F(x), whose mean only is 0."""
    ids, vocab = modern.encode_text(modern.make_text(3000, 0))
    x, _ = modern.char_batches(ids, 32, 64, np.random.default_rng(1))
    lo = np.sqrt(modern.pre_ln_stream_variance(12, 64, 64, scale_residual=scale))
    hi = np.sqrt(
        modern.pre_ln_stream_variance(12, 64, 64, scale_residual=scale, positions="identical")
    )
    for seed in range(3):
        model = modern.gpt2_init_(
            modern.TinyGPT(len(vocab), 64, 12, 4, 64),
            torch.Generator().manual_seed(seed),
            scale_residual=scale,
        )
        with torch.no_grad():
            _, seen = model(x, streams=True)
        std = np.sqrt([float((s**2).mean()) for s in seen])
        assert np.all(std >= 0.97 * lo) and np.all(std <= 1.03 * hi), (seed, std, lo, hi)
    if scale:  # the scaled stack adds, over all blocks, half of what one unscaled block adds
        scaled = modern.pre_ln_stream_variance(12, 64, 64, scale_residual=True)
        unscaled = modern.pre_ln_stream_variance(12, 64, 64, scale_residual=False)
        assert scaled[-1] - scaled[0] == pytest.approx((unscaled[1] - unscaled[0]) / 2)


# ------------------------------------------------------------------------------ normalization
def _bn_pair(depth=8, width=32):
    glorot = apply_init(
        modern.normalized_mlp(width, depth, "batch", eps=1e-12), "glorot_normal", rng=0
    ).double()
    he = modern.scale_weights_(copy.deepcopy(glorot), math.sqrt(2))
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((64, width)))
    return glorot, he, x


@needs_torch
def test_batch_norm_forward_forgets_the_weight_scale():
    glorot, he, x = _bn_pair()
    for a, b in zip(modern.relu_outputs(glorot, x), modern.relu_outputs(he, x), strict=True):
        assert float((a - b).abs().max()) < 1e-9


@needs_torch
def test_unnormalized_forward_does_depend_on_the_scale():
    model = apply_init(modern.normalized_mlp(64, 10, None), "glorot_normal", rng=0)
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((256, 64)).astype(np.float32))
    stds = [float(a.std()) for a in modern.relu_outputs(model, x)]
    assert stds[-1] < 0.1 * stds[0]  # 2^(-9/2) = 0.044 in theory


@needs_torch
def test_gradient_and_effective_learning_rate_scale():
    glorot, he, x = _bn_pair()
    d = torch.from_numpy(np.random.default_rng(2).standard_normal(x.shape))
    g_gl, w_gl = modern.weight_grad_norms(glorot, x, d)
    g_he, w_he = modern.weight_grad_norms(he, x, d)
    np.testing.assert_allclose(g_he / g_gl, 1 / math.sqrt(2), rtol=1e-8)
    np.testing.assert_allclose((g_he / w_he) / (g_gl / w_gl), 0.5, rtol=1e-8)


@needs_torch
def test_sgd_with_scaled_learning_rate_reproduces_the_run():
    glorot, he, x = _bn_pair(depth=5)
    y = torch.from_numpy(np.random.default_rng(3).standard_normal(x.shape))
    a = modern.sgd_losses(glorot, x, y, lr=0.1, steps=10)
    b = modern.sgd_losses(he, x, y, lr=0.2, steps=10)
    np.testing.assert_allclose(a, b, rtol=1e-9)
    assert a[-1] < a[0]


# ------------------------------------------------------------------------------ text and training
@needs_torch
def test_make_text_is_seeded_and_encodes_back():
    t = modern.make_text(20, 5)
    assert t == modern.make_text(20, 5) and t != modern.make_text(20, 6)
    ids, vocab = modern.encode_text(t)
    assert "".join(vocab[i] for i in ids) == t
    x, y = modern.char_batches(ids, 4, 10, np.random.default_rng(0))
    assert x.shape == y.shape == (4, 10)
    assert torch.equal(x[:, 1:], y[:, :-1])


@needs_torch
def test_a_tiny_model_learns_the_text():
    ids, vocab = modern.encode_text(modern.make_text(400, 0))
    torch.manual_seed(0)
    model = modern.gpt2_init_(
        modern.TinyGPT(len(vocab), 16, 2, 2, 16), torch.Generator().manual_seed(0)
    )
    losses = modern.train_char_model(model, ids, steps=60, rng=0, batch=8, lr=1e-2)
    assert losses[0] == pytest.approx(math.log(len(vocab)), abs=0.1)
    assert losses[-10:].mean() < losses[0] - 0.8
