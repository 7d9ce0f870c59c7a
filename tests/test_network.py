"""The numpy MLP: values and gradients equal torch.autograd, finite differences, errors, exact sums."""

from __future__ import annotations

import numpy as np
import pytest

try:
    import torch
except ImportError:  # torch-free environments (make test-pythons)
    torch = None
try:
    from _torch_reference import torch_activation as torch_act
except ImportError:  # torch-free environments (make test-pythons)
    torch_act = None

from course_utils.activations import ACTIVATION_NAMES, get_activation
from course_utils.network import (
    Gradients,
    Trace,
    backward,
    forward,
    init_biases,
    init_weights,
)
from course_utils.theory import trace_stats

needs_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed (a torch-free environment)"
)


WIDTHS = [7, 9, 6, 5, 3]


def torch_reference(x, weights, biases, names, grad_output):
    """Forward with torch, then autograd of sum(a_L * grad_output) (so dL/da_L = grad_output)."""
    tx = torch.tensor(x, requires_grad=True)
    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    tb = None if biases is None else [torch.tensor(b, requires_grad=True) for b in biases]
    a = tx
    zs, as_ = [], []
    for i, (w, name) in enumerate(zip(tw, names, strict=True)):
        z = a @ w + (tb[i] if tb is not None else 0)
        a = torch_act(name)(z)
        z.retain_grad()
        a.retain_grad()
        zs.append(z)
        as_.append(a)
    (a * torch.tensor(grad_output)).sum().backward()
    return tx, tw, tb, zs, as_


def setup(dtype, names, with_biases, seed=0):
    rng = np.random.default_rng(seed)
    weights = init_weights(WIDTHS, "glorot_normal", rng, dtype=dtype)
    x = rng.standard_normal((11, WIDTHS[0])).astype(dtype)
    biases = None
    if with_biases:
        biases = [rng.normal(0, 0.3, n).astype(dtype) for n in WIDTHS[1:]]
    g = rng.standard_normal((11, WIDTHS[-1])).astype(dtype)
    return x, weights, biases, g


@needs_torch
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("with_biases", [False, True])
def test_forward_backward_equal_torch_autograd_float64(name, with_biases):
    x, weights, biases, g = setup(np.float64, name, with_biases)
    names = [name] * len(weights)
    trace = forward(x, weights, name, biases=biases)
    grads = backward(trace, weights, name, g)
    tx, tw, tb, zs, as_ = torch_reference(x, weights, biases, names, g)
    for ours, ref in zip(trace.pre_activations, zs, strict=True):
        np.testing.assert_allclose(ours, ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    for ours, ref in zip(trace.activations, as_, strict=True):
        np.testing.assert_allclose(ours, ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    for ours, ref in zip(grads.weights, tw, strict=True):
        np.testing.assert_allclose(ours, ref.grad.numpy(), rtol=1e-11, atol=1e-13)
    for ours, ref in zip(grads.activations, as_, strict=True):
        np.testing.assert_allclose(ours, ref.grad.numpy(), rtol=1e-11, atol=1e-13)
    for ours, ref in zip(grads.pre_activations, zs, strict=True):
        np.testing.assert_allclose(ours, ref.grad.numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(grads.inputs, tx.grad.numpy(), rtol=1e-11, atol=1e-13)
    if with_biases:
        for ours, ref in zip(grads.biases, tb, strict=True):
            np.testing.assert_allclose(ours, ref.grad.numpy(), rtol=1e-11, atol=1e-13)
    else:
        assert grads.biases is None


@needs_torch
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_float32_equal_torch_float32(name):
    """float32 end to end; tolerance: a few float32 ulps (1.2e-7) amplified by 4 layers."""
    x, weights, _, g = setup(np.float32, name, False)
    trace = forward(x, weights, name)
    grads = backward(trace, weights, name, g)
    assert all(a.dtype == np.float32 for a in trace.activations)
    assert all(w.dtype == np.float32 for w in grads.weights)
    _, tw, _, _, as_ = torch_reference(x, weights, None, [name] * len(weights), g)
    np.testing.assert_allclose(trace.outputs, as_[-1].detach().numpy(), rtol=1e-5, atol=1e-5)
    for ours, ref in zip(grads.weights, tw, strict=True):
        np.testing.assert_allclose(ours, ref.grad.numpy(), rtol=1e-4, atol=1e-5)


@needs_torch
def test_per_layer_activations_and_output_activation_match_torch():
    names = ["relu", "tanh", "selu", "sigmoid"]
    x, weights, biases, g = setup(np.float64, None, True, seed=5)
    trace = forward(
        x, weights, ["relu", "tanh", "selu", "linear"], biases=biases, output_activation="sigmoid"
    )
    assert trace.activation_names == names
    grads = backward(
        trace, weights, ["relu", "tanh", "selu", "linear"], g, output_activation="sigmoid"
    )
    _, tw, _, _, as_ = torch_reference(x, weights, biases, names, g)
    np.testing.assert_allclose(trace.outputs, as_[-1].detach().numpy(), rtol=1e-12)
    for ours, ref in zip(grads.weights, tw, strict=True):
        np.testing.assert_allclose(ours, ref.grad.numpy(), rtol=1e-11, atol=1e-13)
    # leaky slope passed as an Activation object
    lk = get_activation("leaky_relu", slope=0.3)
    t = forward(x, weights, lk)
    assert np.allclose(
        t.activations[0][t.pre_activations[0] < 0],
        0.3 * t.pre_activations[0][t.pre_activations[0] < 0],
    )


@pytest.mark.parametrize("name", ["tanh", "selu", "sigmoid", "leaky_relu", "relu"])
def test_finite_differences(name):
    """Central differences in float64 along a random direction D of each weight matrix.

    For L(W) = sum(a_L * R): (L(W + hD) - L(W - hD)) / 2h = <dL/dW, D> + O(h^2 L''') with
    h = 1e-6; the truncation error is ~1e-12 and the rounding error ~eps * |L| / h ~ 1e-10,
    so 1e-7 relative (plus 1e-9 absolute) is a safe bound. Kinks (relu at 0) are not hit because
    no pre-activation is within h * |D x| of 0 for these draws (checked below).
    """
    rng = np.random.default_rng(7)
    x, weights, biases, r = setup(np.float64, name, True, seed=7)
    grads = backward(forward(x, weights, name, biases=biases), weights, name, r)

    def loss(ws, bs):
        return float(np.sum(forward(x, ws, name, biases=bs).outputs * r))

    h = 1e-6
    for i in range(len(weights)):
        d = rng.standard_normal(weights[i].shape)
        wp = [w.copy() for w in weights]
        wm = [w.copy() for w in weights]
        wp[i] += h * d
        wm[i] -= h * d
        if name in ("relu", "leaky_relu"):
            z = forward(x, weights, name, biases=biases).pre_activations
            assert min(np.abs(zz).min() for zz in z) > 1e-4
        numeric = (loss(wp, biases) - loss(wm, biases)) / (2 * h)
        analytic = float(np.sum(grads.weights[i] * d))
        assert numeric == pytest.approx(analytic, rel=1e-7, abs=1e-9)
        db = rng.standard_normal(biases[i].shape)
        bp = [b.copy() for b in biases]
        bm = [b.copy() for b in biases]
        bp[i] += h * db
        bm[i] -= h * db
        numeric = (loss(weights, bp) - loss(weights, bm)) / (2 * h)
        assert numeric == pytest.approx(float(np.sum(grads.biases[i] * db)), rel=1e-7, abs=1e-9)


def test_trace_and_gradients_are_plain_dataclasses():
    x, weights, _, g = setup(np.float32, "tanh", False)
    trace = forward(x, weights, "tanh")
    assert isinstance(trace, Trace) and trace.depth == 4
    assert trace.inputs.shape == x.shape
    assert [z.shape for z in trace.pre_activations] == [(11, n) for n in WIDTHS[1:]]
    grads = backward(trace, weights, "tanh", g)
    assert isinstance(grads, Gradients)
    assert [w.shape for w in grads.weights] == [w.shape for w in weights]
    assert [a.shape for a in grads.activations] == [(11, n) for n in WIDTHS[1:]]
    assert grads.activations[-1] is not None
    np.testing.assert_array_equal(grads.activations[-1], g)
    assert grads.inputs.shape == x.shape
    # backward with activation=None reuses the trace's
    np.testing.assert_array_equal(backward(trace, weights, None, g).weights[0], grads.weights[0])


def test_init_weights():
    ws = init_weights([784, 500, 10], "random_normal", 0, std=0.01)
    assert [w.shape for w in ws] == [(784, 500), (500, 10)]
    assert all(w.dtype == np.float32 for w in ws)
    # same seed, same draws; a Generator is consumed in layer order
    np.testing.assert_array_equal(
        init_weights([4, 3, 2], "he_normal", 3)[1],
        init_weights([4, 3, 2], "he_normal", np.random.default_rng(3))[1],
    )
    # std is forwarded: sample variance of 392 000 normals has relative SE sqrt(2/N) = 0.23 %,
    # so 1 % is > 4 SE
    assert ws[0].var() == pytest.approx(1e-4, rel=0.01)
    calls = []

    def my_init(shape, rng, **kw):
        calls.append((shape, kw))
        return np.ones(shape)

    ws = init_weights([3, 2, 1], my_init, 0, value=2)
    assert calls == [((3, 2), {"value": 2}), ((2, 1), {"value": 2})]
    assert ws[0].dtype == np.float32
    assert init_weights([2, 2], "he_normal", 0, dtype=np.float64)[0].dtype == np.float64
    assert [b.shape for b in init_biases([2, 10, 5, 1])] == [(10,), (5,), (1,)]


def test_errors_name_the_argument():
    x, weights, _, g = setup(np.float32, "tanh", False)
    with pytest.raises(ValueError, match="scheme"):
        init_weights([3, 2], "xavier", 0)
    with pytest.raises(TypeError, match="scheme"):
        init_weights([3, 2], 5, 0)
    with pytest.raises(ValueError, match="widths"):
        init_weights([3], "he_normal", 0)
    with pytest.raises(ValueError, match="widths"):
        init_weights([3, 0], "he_normal", 0)
    with pytest.raises(TypeError, match="widths"):
        init_weights([3, 2.5], "he_normal", 0)
    with pytest.raises(TypeError, match="rng"):
        init_weights([3, 2], "he_normal", "seed")
    with pytest.raises(ValueError, match="x"):
        forward(x[0], weights, "tanh")
    with pytest.raises(ValueError, match="x"):
        forward(x[:, :3], weights, "tanh")
    with pytest.raises(TypeError, match="x"):
        forward(np.array([["a"] * 7]), weights, "tanh")
    with pytest.raises(ValueError, match="activation"):
        forward(x, weights, "swish")
    with pytest.raises(ValueError, match="activation"):
        forward(x, weights, ["tanh", "relu"])
    with pytest.raises(TypeError, match="activation"):
        forward(x, weights, 3)
    with pytest.raises(TypeError, match="weights"):
        forward(x, weights[0], "tanh")
    with pytest.raises(ValueError, match="weights"):
        forward(x, [weights[0], weights[2]], "tanh")
    with pytest.raises(ValueError, match="biases"):
        forward(x, weights, "tanh", biases=[np.zeros(2)] * 4)
    trace = forward(x, weights, "tanh")
    with pytest.raises(ValueError, match="grad_output"):
        backward(trace, weights, "tanh", g[:, :2])
    with pytest.raises(ValueError, match="activation"):
        backward(trace, weights, "relu", g)
    with pytest.raises(TypeError, match="trace"):
        backward(trace.activations, weights, "tanh", g)
    with pytest.raises(ValueError, match="grad_wrt"):
        backward(trace, weights, "tanh", g, grad_wrt="z")


# ---------------------------------------------------------------------------------------------
# the exact (fixed-order) products and the signal-only backward pass
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("exact", [None, True])
def test_equal_columns_stay_bit_equal_through_forward_and_backward(exact):
    """Clone units (equal columns of W_1) give bit-equal pre-activations and weight gradients.

    exact=None takes the fixed-order sum for these small products (batch 50 x 2 x 10 is far below
    SMALL_MATMUL); exact=True forces it for a product larger than SMALL_MATMUL as well. The
    comparison is exact equality: the claim is about rounding, so no tolerance applies.
    """
    rng = np.random.default_rng(4)
    n_in = 2 if exact is None else 300  # 300 x 300 x 10 = 900000 > SMALL_MATMUL
    x = rng.standard_normal((50 if exact is None else 300, n_in))
    w1 = np.repeat(rng.standard_normal((n_in, 1)), 10, axis=1)
    w2 = np.full((10, 1), 0.3)
    ws = [w1, w2]
    trace = forward(x, ws, "tanh", output_activation="sigmoid", exact=exact)
    grads = backward(trace, ws, None, np.ones((x.shape[0], 1)), exact=exact)
    z1 = trace.pre_activations[0]
    assert np.all(z1 == z1[:, :1])
    assert np.all(grads.weights[0] == grads.weights[0][:, :1])


def test_weight_grads_false_skips_only_the_weight_gradients():
    rng = np.random.default_rng(5)
    ws = init_weights(WIDTHS, "glorot_normal", rng)
    x = rng.standard_normal((8, WIDTHS[0])).astype(np.float32)
    g = rng.standard_normal((8, WIDTHS[-1])).astype(np.float32)
    trace = forward(x, ws, "tanh")
    full = backward(trace, ws, "tanh", g)
    signal = backward(trace, ws, "tanh", g, weight_grads=False)
    assert signal.weights == [None] * len(ws)
    stats = trace_stats(trace, signal)
    assert "weight_grad_norm" not in stats
    np.testing.assert_array_equal(stats["grad_std"], trace_stats(trace, full)["grad_std"])
    for a, b in zip(full.activations + [full.inputs], signal.activations + [signal.inputs],
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)


def test_out_reuses_the_previous_arrays_and_gives_the_same_numbers():
    """forward/backward(out=...) overwrite an earlier call's arrays in place: same values as a
    fresh call (bit for bit, the same BLAS calls), the same array objects, grad_output untouched."""
    rng = np.random.default_rng(3)
    ws = init_weights([40, 60, 60, 30], "glorot_normal", rng)
    x = rng.standard_normal((200, 40)).astype(np.float32)
    g = rng.standard_normal((200, 30)).astype(np.float32)
    fresh_t = forward(x, ws, "tanh")
    fresh_g = backward(fresh_t, ws, "tanh", g)
    old_t = forward(rng.standard_normal((200, 40)).astype(np.float32), ws, "tanh")
    old_g = backward(old_t, ws, "tanh", rng.standard_normal((200, 30)).astype(np.float32))
    old_z, old_w = list(old_t.pre_activations), list(old_g.weights)
    t = forward(x, ws, "tanh", out=old_t, exact=False)
    gr = backward(t, ws, "tanh", g.copy(), out=old_g, exact=False)
    assert all(a is b for a, b in zip(t.pre_activations, old_z, strict=True))
    assert all(a is b for a, b in zip(gr.weights, old_w, strict=True))
    for got, want in (
        (t.activations, fresh_t.activations),
        (gr.weights, fresh_g.weights),
        (gr.activations, fresh_g.activations),
        ([gr.inputs], [fresh_g.inputs]),
    ):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)


def test_out_with_other_shapes_allocates_and_bad_out_raises():
    rng = np.random.default_rng(4)
    ws = init_weights([10, 20, 5], "he_normal", rng)
    small = forward(rng.standard_normal((7, 10)).astype(np.float32), ws, "relu")
    x = rng.standard_normal((9, 10)).astype(np.float32)
    t = forward(x, ws, "relu", out=small)  # batch differs: new arrays, right values
    np.testing.assert_array_equal(t.activations[-1], forward(x, ws, "relu").activations[-1])
    assert t.pre_activations[0] is not small.pre_activations[0]
    with pytest.raises(TypeError, match="out"):
        forward(x, ws, "relu", out=[np.zeros((9, 20))])
    with pytest.raises(TypeError, match="out"):
        backward(t, ws, "relu", np.ones((9, 5), np.float32), out=t)
