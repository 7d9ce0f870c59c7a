"""Tests of course_utils.symmetry: the small classifier, its gradients, and the clone measures."""

from __future__ import annotations

import math

import numpy as np
import pytest

try:
    import torch
except ImportError:  # torch-free environments (make test-pythons)
    torch = None

from course_utils.data import circles
from course_utils.symmetry import (
    MLP,
    DivergedError,
    accuracy,
    bce_loss,
    collapse_clones,
    compare_starts,
    count_distinct_units,
    forward_pass,
    gradients_over_seeds,
    init_mlp,
    loss_and_gradients,
    min_unit_cosine,
    teacher_task,
    train,
    two_layer_gradients,
    two_layer_train,
    unit_spread,
)

needs_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed (a torch-free environment)"
)


def _torch_grads(net: MLP, x: np.ndarray, y: np.ndarray):
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in net.biases]
    a = torch.tensor(x, dtype=torch.float64)
    act = {"relu": torch.relu, "tanh": torch.tanh, "linear": lambda t: t}[net.hidden]
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        z = a @ w + b
        a = z if i == len(ws) - 1 else act(z)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        a.ravel(), torch.tensor(y, dtype=torch.float64)
    )
    loss.backward()
    return float(loss.detach()), [w.grad.numpy() for w in ws], [b.grad.numpy() for b in bs]


@needs_torch
@pytest.mark.parametrize("hidden", ["relu", "tanh", "linear"])
@pytest.mark.parametrize("exact", [False, True])
def test_gradients_match_torch_autograd(hidden, exact):
    """Backprop against torch.autograd in float64: agreement to 1e-12 relative (rounding only)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 3))
    y = (rng.random(40) < 0.5).astype(float)
    net = init_mlp([3, 7, 4, 1], "he_normal", rng, hidden=hidden, bias=0.1)
    loss, grads, _ = loss_and_gradients(net, x, y, exact=exact)
    t_loss, t_gw, t_gb = _torch_grads(net, x, y)
    assert loss == pytest.approx(t_loss, rel=1e-12)
    for g, t in zip(grads.weights + grads.biases, t_gw + t_gb, strict=True):
        np.testing.assert_allclose(g, t, rtol=1e-10, atol=1e-14)


def test_exact_matmul_agrees_with_blas():
    rng = np.random.default_rng(0)
    net = init_mlp([2, 10, 5, 1], "he_normal", rng)
    x = rng.standard_normal((50, 2))
    za = forward_pass(net, x)[0]
    zb = forward_pass(net, x, exact=True)[0]
    for a, b in zip(za, zb, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_zero_init_hidden_gradients_are_exactly_zero_and_only_output_bias_moves():
    x, y, _, _ = circles(0, 60, 10)
    y = y.copy()
    y[:10] = 1  # unbalanced, so the output bias has a non-zero gradient
    net = init_mlp([2, 10, 5, 1], "zeros")
    _, grads, acts = loss_and_gradients(net, x, y)
    assert all(np.all(g == 0) for g in grads.weights)
    assert all(np.all(g == 0) for g in grads.biases[:-1])
    assert grads.biases[-1][0] != 0
    assert np.all(acts[0] == 0) and np.all(acts[1] == 0)
    trained, hist = train(net, x, y, lr=1.0, steps=200)
    for w0, w1 in zip(net.weights, trained.weights, strict=True):
        assert np.array_equal(w0, w1)
    # only the output bias learns: it converges to the log-odds of the class prior
    prior = float(np.mean(y))
    assert trained.biases[-1][0] == pytest.approx(math.log(prior / (1 - prior)), abs=1e-6)
    entropy = -(prior * math.log(prior) + (1 - prior) * math.log(1 - prior))
    assert hist.loss[-1] == pytest.approx(entropy, abs=1e-9)


def test_zero_init_on_balanced_circles_stays_at_ln2_and_chance():
    x, y, xt, yt = circles(1)
    _, hist = train(init_mlp([2, 10, 5, 1], "zeros"), x, y, lr=1.0, steps=50, x_test=xt, y_test=yt)
    assert np.all(hist.loss == pytest.approx(math.log(2), abs=1e-15))
    assert np.all(hist.train_accuracy == 0.5) and np.all(hist.test_accuracy == 0.5)


def test_constant_init_units_stay_exact_clones_and_random_init_fits_circles():
    x, y, xt, yt = circles(1)
    _, hist = train(
        init_mlp([2, 10, 5, 1], "constant", value=0.5), x, y, lr=1.0, steps=300, exact=True
    )
    assert hist.spread.shape == (301, 2)
    assert np.all(hist.spread == 0.0)
    assert hist.loss[-1] < hist.loss[0]  # it does learn, as a 2-1-1-1 network
    net, hist = train(
        init_mlp([2, 10, 5, 1], "he_normal", 1), x, y, lr=1.0, steps=1500, x_test=xt, y_test=yt
    )
    assert hist.spread[-1].min() > 0.1
    # well above what any clone network (one unit per layer: a half-plane through ReLUs) can do
    assert hist.train_accuracy[-1] >= 0.95 and hist.test_accuracy[-1] >= 0.9
    assert accuracy(net, xt, yt) == hist.test_accuracy[-1]


def test_unit_spread_and_count_distinct_units():
    w = np.array([[1.0, 1.0, 2.0, 1.0], [0.0, 0.0, 0.0, 1e-10]])
    assert unit_spread(w) == 1.0
    assert unit_spread(np.full((3, 4), 0.2), np.zeros(4)) == 0.0
    assert unit_spread(np.full((3, 2), 0.2), np.array([0.0, 0.5])) == 0.5
    assert count_distinct_units(w) == 3
    assert count_distinct_units(w, tol=1e-9) == 2
    assert count_distinct_units(np.full((2, 7), 3.0)) == 1
    assert count_distinct_units(np.eye(5)) == 5
    with pytest.raises(ValueError, match="tol"):
        count_distinct_units(w, tol=-1)
    with pytest.raises(ValueError, match="w must be 2-D"):
        count_distinct_units(np.ones(3))
    with pytest.raises(ValueError, match="b must have"):
        unit_spread(w, np.zeros(3))


@needs_torch
def test_two_layer_reference_matches_torch_and_keeps_clones():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((30, 3))
    y = (rng.random(30) < 0.4).astype(float)
    w1 = rng.standard_normal((3, 6)) * 0.5
    w2 = rng.standard_normal((6, 1)) * 0.5
    dw1, dw2 = two_layer_gradients(x, y, w1, w2)
    net = MLP([w1, w2], [np.zeros(6), np.zeros(1)], "tanh")
    _, t_gw, _ = _torch_grads(net, x, y)
    np.testing.assert_allclose(dw1, t_gw[0], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dw2, t_gw[1], rtol=1e-10, atol=1e-14)
    c1, c2 = two_layer_train(x, y, np.full((3, 6), 0.3), np.full((6, 1), 0.3), lr=0.5, steps=25)
    assert count_distinct_units(c1, tol=1e-12) == 1
    assert not np.allclose(c1, 0.3)  # it moved
    w1_before = w1.copy()
    r1, _ = two_layer_train(x, y, w1, w2, lr=0.5, steps=25)
    assert count_distinct_units(r1, tol=1e-6) == 6
    assert np.array_equal(w1, w1_before)  # the input is not modified


def test_bce_and_validation_errors():
    assert bce_loss([0.5, 0.5], [0, 1]) == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="hidden"):
        init_mlp([2, 3, 1], "zeros", hidden="gelu")
    with pytest.raises(ValueError, match="scheme"):
        init_mlp([2, 3, 1], "nope")
    with pytest.raises(ValueError, match="widths"):
        init_mlp([2], "zeros")
    with pytest.raises(ValueError, match="output layer"):
        init_mlp([2, 3, 2], "zeros")
    net = init_mlp([2, 3, 1], "zeros")
    with pytest.raises(ValueError, match="lr"):
        train(net, np.ones((2, 2)), [0, 1], lr=0, steps=1)
    with pytest.raises(ValueError, match="steps"):
        train(net, np.ones((2, 2)), [0, 1], lr=0.1, steps=-1)
    with pytest.raises(ValueError, match="labels 0 and 1"):
        train(net, np.ones((2, 2)), [0, 2], lr=0.1, steps=1)
    with pytest.raises(ValueError, match="columns"):
        forward_pass(net, np.ones((2, 3)))
    with pytest.raises(ValueError, match="w2 must have shape"):
        two_layer_gradients(np.ones((2, 2)), [0, 1], np.ones((2, 3)), np.ones((2, 1)))


def test_collapsed_network_computes_the_same_function_after_training():
    """A trained network of clones equals its one-unit-per-layer collapse (float64 rounding)."""
    x, y, xt, _ = circles(2, 100, 50)
    for hidden in ("relu", "tanh"):
        net = init_mlp([2, 10, 5, 1], "constant", value=0.4, hidden=hidden, bias=0.1)
        trained, _ = train(net, x, y, lr=0.5, steps=100, exact=True)
        small = collapse_clones(trained)
        assert small.widths == [2, 1, 1, 1]
        np.testing.assert_allclose(
            forward_pass(small, xt)[1][-1], forward_pass(trained, xt)[1][-1], rtol=1e-12
        )
    with pytest.raises(ValueError, match="not made of clones"):
        collapse_clones(init_mlp([2, 4, 1], "he_normal", 0))


def test_min_unit_cosine_measures_noise_relative_to_the_shared_value():
    """Clones give exactly 1; 0.5 + 1e-3 noise stays within ~1e-5 of 1 (the noise is tiny
    relative to 0.5), while 1e-3 * randn with the same noise and no shared value is as spread
    as any zero-mean draw: the cosine does not depend on the absolute size of the noise."""
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((3, 10))
    assert min_unit_cosine(np.full((3, 10), 0.5)) == 1.0
    near = min_unit_cosine(0.5 + 1e-3 * noise)
    assert 1 - 1e-4 < near < 1.0
    tiny, big = min_unit_cosine(1e-3 * noise), min_unit_cosine(noise)
    assert tiny == pytest.approx(big, abs=1e-12)
    assert tiny < 0.0  # ten random directions in 3-D: some pair points away from the other
    # the bias is part of a unit's vector; zero vectors count as equal
    assert min_unit_cosine(np.zeros((2, 3)), np.zeros(3)) == 1.0
    assert min_unit_cosine(np.array([[1.0, 1.0]]), np.array([1.0, -1.0])) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="two units"):
        min_unit_cosine(np.ones((3, 1)))
    with pytest.raises(ValueError, match="b must have"):
        min_unit_cosine(np.ones((3, 2)), np.ones(3))


def test_gradients_over_seeds_pool_independent_networks():
    x, y, _, _ = circles(np.random.default_rng(1))
    pooled = gradients_over_seeds([2, 10, 5, 1], "he_normal", x, y, range(5))
    assert [g.size for g in pooled] == [5 * 20, 5 * 50, 5 * 5]
    _, g3, _ = loss_and_gradients(
        init_mlp([2, 10, 5, 1], "he_normal", np.random.default_rng(3)), x, y
    )
    np.testing.assert_array_equal(pooled[1][150:200], g3.weights[1].ravel())
    zeros = gradients_over_seeds([2, 10, 5, 1], "zeros", x, y, [0, 1])
    assert all(np.all(g == 0) for g in zeros)
    with pytest.raises(ValueError, match="seeds"):
        gradients_over_seeds([2, 3, 1], "he_normal", x, y, [])
    with pytest.raises(TypeError, match="seeds"):
        gradients_over_seeds([2, 3, 1], "he_normal", x, y, [0.5])


def test_compare_starts_reports_divergence_step_and_trained_net():
    x, y = teacher_task(7, n=64)
    out = compare_starts(
        [50] * 11 + [1],
        {"huge": ("random_normal", {"std": 1.0}), "he": ("he_normal", {})},
        x,
        y,
        hidden="relu",
        lr=0.1,
        steps=5,
    )
    huge, he = out["huge"], out["he"]
    assert huge["history"] is None and huge["net"] is None
    assert isinstance(huge["diverged_at"], int) and f"step {huge['diverged_at']}" in huge["error"]
    assert he["diverged_at"] is None and he["error"] is None
    # the returned net is the trained one: its loss is the history's last entry
    loss, _, _ = loss_and_gradients(he["net"], x, y)
    assert loss == pytest.approx(he["history"].loss[-1], rel=1e-12)


def test_train_raises_diverged_error_with_its_step():
    x, y = teacher_task(7, n=64)
    net = init_mlp([50] * 11 + [1], "random_normal", 0, std=1.0)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(DivergedError) as info:
        train(net, x, y, lr=0.1, steps=5)
    assert isinstance(info.value, FloatingPointError) and info.value.step >= 1
