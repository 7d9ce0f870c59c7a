"""Tests of course_utils.lsuv: the LSUV step, the numpy loop, and the PyTorch version."""

from __future__ import annotations

import math

import numpy as np
import pytest

try:
    import torch
except ImportError:  # torch-free environments (make test-pythons)
    torch = None
try:
    from torch import nn
except ImportError:  # torch-free environments (make test-pythons)
    nn = None

from course_utils.initializers import orthogonal
from course_utils.lsuv import (
    ACTIVATIONS,
    layer_output_variance,
    lsuv,
    lsuv_init,
    lsuv_step,
    lsuv_torch,
)

# float64 arithmetic on O(1) numbers: relative rounding error of a variance of ~1e5 terms is
# far below 1e-12; 1e-9 leaves room for the float32 weights the library returns.
needs_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed (a torch-free environment)"
)


EXACT = 1e-9
FLOAT32_EXACT = 1e-5  # float32 weights: relative rounding 6e-8 per entry, summed in quadrature


def _batch(rng: np.random.Generator, n: int = 512, d: int = 64) -> np.ndarray:
    return rng.standard_normal((n, d))


# ----------------------------------------------------------------------------- one step


def test_layer_output_variance_is_population_variance_of_all_entries():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((30, 5)), rng.standard_normal((5, 7)), rng.standard_normal(7)
    z = x @ w + b
    assert layer_output_variance(w, x, b) == pytest.approx(float(np.var(z)), rel=EXACT)


@pytest.mark.parametrize("target", [1.0, 0.25, 3.0])
def test_lsuv_step_hits_the_target_exactly_without_bias(target):
    """Var(c z) = c^2 Var(z): with c = sqrt(target / Var(z)) the new variance is the target."""
    rng = np.random.default_rng(1)
    x = _batch(rng)
    w = (0.37 * rng.standard_normal((64, 48))).astype(np.float32)
    before = w.copy()
    w2 = lsuv_step(w, x, target=target)
    assert w2.shape == w.shape and w2.dtype == np.float32
    np.testing.assert_array_equal(w, before)  # input untouched
    assert layer_output_variance(w2, x) == pytest.approx(target, rel=FLOAT32_EXACT)
    # a pure rescaling: every entry multiplied by the same factor
    ratio = w2.astype(np.float64) / w.astype(np.float64)
    assert np.ptp(ratio) < FLOAT32_EXACT * ratio.mean()


def test_lsuv_step_errors_name_the_problem():
    x = np.ones((4, 3))
    with pytest.raises(ValueError, match="variance"):
        lsuv_step(np.zeros((3, 2)), x)  # dead layer
    with pytest.raises(ValueError, match="inputs"):
        lsuv_step(np.ones((5, 2)), x)
    with pytest.raises(ValueError, match="w must be a 2-D"):
        lsuv_step(np.ones(3), x)
    with pytest.raises(ValueError, match="target"):
        lsuv_step(np.ones((3, 2)), x, target=0.0)
    with pytest.raises(TypeError, match="target"):
        lsuv_step(np.ones((3, 2)), x, target="1")


# ----------------------------------------------------------------------------- the loop


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_lsuv_sets_every_layer_to_unit_variance_in_at_most_one_step(activation):
    """Without biases each layer's output is linear in its weight, so one step is exact.

    Pre-init: orthogonal times 3 (far from the target) for 12 layers of width 64.
    """
    rng = np.random.default_rng(2)
    x = _batch(rng)
    ws = [orthogonal((64, 64), rng, gain=3.0) for _ in range(12)]
    res = lsuv(ws, x, activation, tol=0.01)
    assert res.iterations == [1] * 12
    assert all(res.converged)
    np.testing.assert_allclose(res.variances, 1.0, rtol=FLOAT32_EXACT)
    # recompute independently: forward the batch and measure every pre-activation
    f = ACTIVATIONS[activation]
    a = x
    for w in res.weights:
        z = a @ w.astype(np.float64)
        assert np.var(z) == pytest.approx(1.0, rel=FLOAT32_EXACT)
        a = f(z)


def test_first_orthogonal_layer_needs_no_step_on_standardized_data():
    """An orthogonal square W preserves every row's norm, so mean(z^2) = mean(x^2) exactly.

    With x standardized column-wise, mean(x^2) = 1 and the mean of z is the mean of x W, which is
    0 because every column of x has mean 0: Var(z) = 1 to rounding, so iteration count 0.
    """
    rng = np.random.default_rng(3)
    x = _batch(rng)
    x = (x - x.mean(0)) / x.std(0)
    res = lsuv([orthogonal((64, 64), rng).astype(np.float64)], x, "relu")
    assert res.iterations == [0]
    assert res.initial_variances[0] == pytest.approx(1.0, abs=EXACT)


def test_lsuv_generalizes_to_a_fresh_batch_within_sampling_error():
    """Variance measured on a new batch from the same distribution is 1 up to sampling error.

    Rows of the batch are independent, so the block variance is (nearly) the mean of the B per-row
    mean squares r_b = ||z_b||^2 / N; its standard error is std(r_b) / sqrt(B), estimated from the
    fresh batch itself. Allowed: tol (what LSUV guarantees on its own batch) + 5 standard errors of
    each of the two batches (the fitting batch's own sampling error enters the weights).
    """
    rng = np.random.default_rng(4)
    widths = [32, 128, 128, 128, 128, 1]
    fit, fresh = rng.standard_normal((1000, 32)), rng.standard_normal((1000, 32))
    tol = 0.05
    res = lsuv_init(widths, fit, "tanh", rng, tol=tol)
    a = fresh
    for w in res.weights:
        z = a @ w.astype(np.float64)
        r = (z**2).mean(axis=1)
        se = r.std(ddof=1) / math.sqrt(len(r))
        assert abs(z.var() - 1.0) < tol + 2 * 5 * se
        a = np.tanh(z)


def test_biases_make_the_loop_iterate():
    """With a fixed bias, Var(c z + b) is not c^2 Var(z): the loop needs several steps.

    Biases of std 0.3 (a visible share of the unit target), a tight tolerance 1e-8: each step
    removes only part of the error, so at least one layer takes more than one step, and all
    converge (the map c -> c / sqrt(Var) contracts when Var(b) < 1). float64 weights, so the
    tolerance is not below the weights' own rounding.
    """
    rng = np.random.default_rng(5)
    x = _batch(rng)
    ws = [orthogonal((64, 64), rng, gain=2.0, dtype=np.float64) for _ in range(5)]
    bs = [0.3 * rng.standard_normal(64) for _ in range(5)]
    res = lsuv(ws, x, "tanh", biases=bs, tol=1e-8, max_iter=100)
    assert all(res.converged)
    assert max(res.iterations) > 1
    assert all(abs(v - 1.0) < 1e-8 for v in res.variances)


def test_max_iter_zero_changes_nothing_and_reports_not_converged():
    rng = np.random.default_rng(6)
    ws = [orthogonal((64, 64), rng, gain=3.0)]
    res = lsuv(ws, _batch(rng), max_iter=0)
    np.testing.assert_array_equal(res.weights[0], ws[0])
    assert res.iterations == [0] and res.converged == [False]


def test_lsuv_init_is_reproducible_and_orthogonal_up_to_scale():
    x = _batch(np.random.default_rng(7), 256, 20)
    a = lsuv_init([20, 40, 40, 3], x, "relu", 11)
    b = lsuv_init([20, 40, 40, 3], x, "relu", np.random.default_rng(11))
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(wa, wb)
    w = a.weights[1].astype(np.float64)  # square 40x40: W^T W = c^2 I
    gram = w.T @ w
    np.testing.assert_allclose(gram / gram[0, 0], np.eye(40), atol=1e-5)


def test_lsuv_bad_arguments():
    x = np.random.default_rng(0).standard_normal((8, 4))
    w = [np.eye(4)]
    with pytest.raises(ValueError, match="activation"):
        lsuv(w, x, "swish")
    with pytest.raises(ValueError, match="tol"):
        lsuv(w, x, tol=-1)
    with pytest.raises(ValueError, match="max_iter"):
        lsuv(w, x, max_iter=-1)
    with pytest.raises(ValueError, match="x must have 4 columns"):
        lsuv(w, np.ones((8, 3)))
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        lsuv([np.eye(4), np.ones((3, 2))], x)
    with pytest.raises(ValueError, match="biases"):
        lsuv(w, x, biases=[None, None])
    with pytest.raises(TypeError, match="weights"):
        lsuv(np.eye(4), x)
    with pytest.raises(ValueError, match=r"layer 0 \(weights\[0\]\) has output variance 0"):
        lsuv([np.zeros((4, 4))], x)
    with pytest.raises(ValueError, match="widths"):
        lsuv_init([4], x, "tanh", 0)
    with pytest.raises(TypeError, match="rng"):
        lsuv_init([4, 2], x, "tanh", "seed")


# ----------------------------------------------------------------------------- torch


def _torch_mlp(gen: torch.Generator) -> nn.Sequential:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(6):
        layers += [nn.Linear(50, 50), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(50, 2))


def _outputs(model: nn.Module, x: torch.Tensor, types: tuple[type, ...]) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o: seen.append(o.detach().double()))
        for m in model.modules()
        if isinstance(m, types)
    ]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


@needs_torch
def test_lsuv_torch_mlp_all_layers_within_tolerance():
    g = torch.Generator().manual_seed(0)
    model = _torch_mlp(g)
    x = torch.randn(256, 50, generator=g)
    reports = lsuv_torch(model, x, tol=0.05, generator=g)
    assert [r.kind for r in reports] == ["Linear"] * 7
    assert all(r.converged for r in reports)
    outs = _outputs(model, x, (nn.Linear,))
    for r, out in zip(reports, outs, strict=True):
        assert abs(float(out.var(unbiased=False)) - 1.0) < 0.05
        assert float(out.var(unbiased=False)) == pytest.approx(r.variance, rel=1e-12)
    # pre-init was orthogonal: a square weight is c * Q with Q orthogonal
    w = model[2].weight.detach().double()
    gram = w @ w.T
    torch.testing.assert_close(
        gram / gram[0, 0], torch.eye(50, dtype=torch.float64), atol=1e-5, rtol=0
    )


@needs_torch
def test_lsuv_torch_conv_net_and_biases_need_more_steps_at_tight_tolerance():
    """Conv + Linear with PyTorch's non-zero default biases: a tight tolerance needs > 1 step."""
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(8 * 8 * 8, 4),
    )  # fmt: skip
    x = torch.randn(64, 3, 12, 12, generator=g)
    reports = lsuv_torch(model, x, tol=1e-6, max_iter=50, generator=g)
    assert [r.kind for r in reports] == ["Conv2d", "Conv2d", "Linear"]
    assert all(r.converged for r in reports)
    assert max(r.iterations for r in reports) > 1


@needs_torch
def test_lsuv_torch_matches_numpy_without_bias():
    """Same orthogonal weights, same batch, no bias: torch and numpy rescale identically."""
    rng = np.random.default_rng(8)
    ws = [orthogonal((30, 30), rng, gain=2.5).astype(np.float64) for _ in range(4)]
    x = rng.standard_normal((200, 30))
    ref = lsuv(ws, x, "tanh", tol=0.01)
    layers: list[nn.Module] = []
    for w in ws:
        lin = nn.Linear(30, 30, bias=False).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T))  # torch stores (out, in)
        layers += [lin, nn.Tanh()]
    model = nn.Sequential(*layers)
    reps = lsuv_torch(model, torch.from_numpy(x), tol=0.01, pre_init=None)
    assert [r.iterations for r in reps] == ref.iterations
    for lin, w in zip(model[::2], ref.weights, strict=True):
        np.testing.assert_allclose(lin.weight.detach().numpy().T, w, rtol=1e-10)


@needs_torch
def test_lsuv_torch_is_reproducible_with_a_seeded_generator():
    x = torch.randn(64, 50, generator=torch.Generator().manual_seed(9))
    m1, m2 = _torch_mlp(None), _torch_mlp(None)
    lsuv_torch(m1, x, generator=torch.Generator().manual_seed(3))
    lsuv_torch(m2, x, generator=torch.Generator().manual_seed(3))
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        torch.testing.assert_close(p1, p2, rtol=0, atol=0)


@needs_torch
def test_lsuv_torch_bad_arguments():
    model = nn.Sequential(nn.Linear(4, 2))
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="model"):
        lsuv_torch("model", x)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        lsuv_torch(model, np.ones((8, 4)))
    with pytest.raises(ValueError, match="pre_init"):
        lsuv_torch(model, x, pre_init="he")
    with pytest.raises(ValueError, match="no layer"):
        lsuv_torch(nn.Sequential(nn.Tanh()), x)
    unused = nn.ModuleDict({"used": nn.Linear(4, 2), "unused": nn.Linear(4, 2)})
    unused.forward = lambda inp: unused["used"](inp)  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="not used"):
        lsuv_torch(unused, x)


@needs_torch
def test_layer_variances_torch_matches_numpy_and_its_standard_error_is_calibrated():
    """The variance over all entries equals numpy's on the hooked outputs. Calibration of the SE:
    over R = 200 fresh batches of B = 100 rows the estimates scatter with sd ~ the reported SE;
    the ratio sd / mean(SE) has relative sampling error ~ 1/sqrt(2(R-1)) = 0.05, and the SE
    itself is estimated from B rows (relative error ~ sqrt((kurt-1)/(4B)) ~ 0.1): 0.7..1.3."""
    from course_utils.lsuv import layer_variances_torch

    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 8))
    for p in net.parameters():
        nn.init.normal_(p, std=0.7, generator=g)
    x = torch.randn(100, 3, generator=g)
    v, se = layer_variances_torch(net, x)
    with torch.no_grad():
        z1 = net[0](x).double().numpy()
        z2 = net[2](net[1](net[0](x))).double().numpy()
    assert np.allclose(v, [z1.var(), z2.var()], rtol=1e-12)
    draws = [layer_variances_torch(net, torch.randn(100, 3, generator=g)) for _ in range(200)]
    vs = np.array([d[0] for d in draws])
    ses = np.array([d[1] for d in draws])
    ratio = vs.std(axis=0, ddof=1) / ses.mean(axis=0)
    assert np.all((ratio > 0.7) & (ratio < 1.3)), ratio
    with pytest.raises(TypeError, match="model"):
        layer_variances_torch("net", x)
    with pytest.raises(ValueError, match="batch"):
        layer_variances_torch(net, x[:1])


@needs_torch
def test_training_comparison_is_deterministic_and_leaves_the_global_rng_alone():
    torch = pytest.importorskip("torch")
    from course_utils.lsuv import training_comparison

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    before = torch.random.get_rng_state()
    a = training_comparison([2, 16, 16, 2], "relu", x, y, seeds=[0, 1], epochs=5)
    assert torch.equal(before, torch.random.get_rng_state())
    b = training_comparison([2, 16, 16, 2], "relu", x, y, seeds=[0, 1], epochs=5)
    assert sorted(a) == ["He", "LSUV", "PyTorch default"]
    for name in a:
        assert a[name].shape == (2, 5)
        np.testing.assert_array_equal(a[name], b[name])
    # the three starts differ (He and LSUV re-scale the same constructor draw)
    assert not np.allclose(a["He"][:, 0], a["PyTorch default"][:, 0])
    assert not np.allclose(a["LSUV"][:, 0], a["PyTorch default"][:, 0])
