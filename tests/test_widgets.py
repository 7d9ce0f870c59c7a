"""Tests of course_utils.widgets: the explorer's pure data function, its theory and spectrum, the
figures (in-place updates, the text cache), the training panel and the widget's wiring (without
a browser; tests/test_browser.py has one)."""

from __future__ import annotations

import html
import math

import numpy as np
import pytest

try:
    import torch
except ImportError:  # torch-free environments (make test-pythons)
    torch = None
try:
    from _torch_reference import torch_activation
except ImportError:  # torch-free environments (make test-pythons)
    torch_activation = None

from course_utils import widgets
from course_utils.data import make_dataset, standardize
from course_utils.initializers import INITIALIZERS
from course_utils.theory import predict
from course_utils.widgets import (
    ACTIVATIONS,
    DEFAULTS,
    MODE_SCHEMES,
    PROFILES,
    SCHEMES,
    explorer,
    explorer_data,
    explorer_figure,
    figure_png,
    layer_widths,
    training_data,
    training_figure,
)

needs_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed (a torch-free environment)"
)


PER_LAYER = (
    "act_mean", "act_std", "pre_std", "grad_std", "theory_act_std", "theory_pre_std",
    "theory_grad_std", "saturated", "dead", "weight_var",
)  # fmt: skip


def _replay(widths, activation, scheme, scale, batch, seed, mode="fan_in"):
    """Draw the explorer's weights and inputs in its documented order: weights, x, dL/da_L."""
    rng = np.random.default_rng(seed)
    ws = [
        widgets._draw_layer(scheme, (a, b), rng, mode) * np.float32(scale)
        for a, b in zip(widths[:-1], widths[1:], strict=True)
    ]
    x = rng.standard_normal((batch, widths[0]), dtype=np.float32)
    g = rng.standard_normal((batch, widths[-1]), dtype=np.float32)
    return ws, x, g


# ----------------------------------------------------------------------------- widths


def test_layer_widths_profiles():
    assert layer_widths("constant", 64, 3) == [64, 64, 64, 64]
    assert layer_widths("funnel", 256, 3) == [256, 128, 64, 32]
    assert layer_widths("expanding", 256, 3) == [32, 64, 128, 256]
    b = layer_widths("bottleneck", 256, 4)
    assert b[0] == b[-1] == 256 and b[2] == 32 and b == b[::-1]
    assert min(layer_widths("funnel", 8, 10)) >= 2
    d = explorer_data(profile="funnel", depth=3, width=256, batch=8)
    assert d["widths"] == [256, 128, 64, 32] and d["act_std"].shape == (3,)
    d = explorer_data(widths="64, 48 32", batch=8)
    assert d["widths"] == [64, 48, 32] and d["layers"].tolist() == [1, 2]
    assert explorer_data(widths=[16, 8], batch=8)["jac_sv"].shape == (8,)


def test_glorot_and_he_and_the_fan_modes_differ_in_a_funnel_but_not_on_square_layers():
    """Var(w): LeCun 1/n_in, Glorot 2/(n_in + n_out), He 2/n_in or 2/n_out. On square layers
    LeCun and Glorot coincide (the same draws); in a funnel every fan is different."""
    kw = {"depth": 3, "width": 256, "batch": 8, "activation": "linear"}
    sq_l = explorer_data(scheme="lecun_normal", **kw)
    sq_g = explorer_data(scheme="glorot_normal", **kw)
    np.testing.assert_array_equal(sq_l["act_std"], sq_g["act_std"])
    w = layer_widths("funnel", 256, 3)
    n_in, n_out = np.array(w[:-1], float), np.array(w[1:], float)
    for scheme, mode, expected in [
        ("lecun_normal", "fan_in", 1 / n_in),
        ("glorot_normal", "fan_in", 2 / (n_in + n_out)),  # Glorot ignores mode
        ("he_normal", "fan_in", 2 / n_in),
        ("he_normal", "fan_out", 2 / n_out),
        ("he_uniform", "fan_avg", 4 / (n_in + n_out)),
        ("pytorch_default", "fan_in", 1 / (3 * n_in)),
    ]:
        d = explorer_data(scheme=scheme, mode=mode, profile="funnel", **kw)
        np.testing.assert_allclose(d["weight_var"], expected, rtol=1e-12, err_msg=scheme + mode)


@pytest.mark.parametrize("scheme", sorted(MODE_SCHEMES))
def test_mode_schemes_draw_what_their_variance_says(scheme):
    """The mean square of every drawn layer matches Var(w) within 5 SE. For n entries of a
    zero-mean normal the mean square has relative SE sqrt(2/n), for a uniform sqrt(0.8/n)."""
    widths = [300, 100, 40]
    for mode in ("fan_in", "fan_out", "fan_avg"):
        d = explorer_data(scheme=scheme, mode=mode, widths=widths, batch=4, seed=1)
        ws, _, _ = _replay(widths, "tanh", scheme, 1.0, 4, 1, mode)
        for w, v in zip(ws, d["weight_var"], strict=True):
            rel_se = math.sqrt((2.0 if MODE_SCHEMES[scheme][1] == "normal" else 0.8) / w.size)
            assert abs(np.mean(w.astype(float) ** 2) / v - 1) < 5 * rel_se, (scheme, mode)


@needs_torch
def test_pytorch_default_is_nn_linear_default():
    """PyTorch's nn.Linear draws U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform_, a=sqrt 5);
    the lab's scheme has the same bound (largest |w| within 1% of it over 12800 draws)."""
    ws, _, _ = _replay([128, 100], "tanh", "pytorch_default", 1.0, 2, 0)
    torch.manual_seed(0)
    t = torch.nn.Linear(128, 100).weight.detach().numpy()
    bound = 1 / math.sqrt(128)
    for w in (ws[0], t):
        assert np.abs(w).max() <= bound + 1e-7
        assert np.abs(w).max() > 0.99 * bound


# ----------------------------------------------------------------------------- data function


def test_defaults_shapes_and_determinism():
    d = explorer_data()
    assert d["settings"] == {**DEFAULTS, "scale": 1.0}
    depth, bins = DEFAULTS["depth"], DEFAULTS["bins"]
    for key in PER_LAYER:
        assert d[key].shape == (depth,), key
    assert d["act_counts"].shape == (depth, bins) and d["act_edges"].shape == (depth, bins + 1)
    assert d["grad_counts"].shape == (depth, bins) and d["grad_edges"].shape == (depth, bins + 1)
    np.testing.assert_allclose(d["act_counts"].sum(1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(d["grad_counts"].sum(1), 1.0, rtol=1e-12)
    assert d["jac_sv"].shape == (DEFAULTS["width"],) and np.all(np.diff(d["jac_sv"]) <= 0)
    again = explorer_data()
    for key in PER_LAYER + ("act_counts", "grad_counts", "jac_sv"):
        np.testing.assert_array_equal(d[key], again[key])
    other = explorer_data(seed=1)
    assert not np.array_equal(d["act_std"], other["act_std"])


@needs_torch
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_forward_and_backward_agree_with_torch_autograd(activation):
    """Same weights and inputs in float64 torch (a funnel, fan_out He): activation and gradient
    stds per layer agree. The loss is L = sum(a_L * g), so dL/da_L = g. float32 numpy vs float64
    torch over 5 layers: relative error ~1e-6; 1e-4 allows for rounding growth in the products."""
    widths = [48, 40, 32, 24, 20, 16]
    settings = {"activation": activation, "scheme": "he_normal", "mode": "fan_out",
                "scale": 0.9, "batch": 64, "seed": 3}  # fmt: skip
    d = explorer_data(widths=widths, **settings)
    ws, x, g = _replay(widths, **settings)
    f = torch_activation(activation)
    a = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    acts = []
    for w in ws:
        a = f(a @ torch.tensor(w, dtype=torch.float64))
        a.retain_grad()
        acts.append(a)
    (acts[-1] * torch.tensor(g, dtype=torch.float64)).sum().backward()
    act_std = [float(t.detach().std(unbiased=False)) for t in acts]
    grad_std = [float(t.grad.std(unbiased=False)) for t in acts]
    np.testing.assert_allclose(d["act_std"], act_std, rtol=1e-4)
    np.testing.assert_allclose(d["grad_std"], grad_std, rtol=1e-4)


@needs_torch
@pytest.mark.parametrize("activation", ["tanh", "relu", "selu"])
def test_jacobian_singular_values_agree_with_torch(activation):
    """The spectrum is that of d a_L / d x at the batch's first example: torch's Jacobian of
    the same network (float64) has the same singular values (float32 products: 1e-3 relative
    on the values above 1e-4 of the largest)."""
    widths = [24, 20, 20, 16]
    settings = {"activation": activation, "scheme": "glorot_uniform", "scale": 1.2,
                "batch": 5, "seed": 11}  # fmt: skip
    d = explorer_data(widths=widths, **settings)
    ws, x, _ = _replay(widths, **settings)
    f = torch_activation(activation)
    tw = [torch.tensor(w, dtype=torch.float64) for w in ws]

    def net(v):
        for w in tw:
            v = f(v @ w)
        return v

    jac = torch.autograd.functional.jacobian(net, torch.tensor(x[0], dtype=torch.float64))
    s = torch.linalg.svdvals(jac).numpy()  # jac is (n_L, n_0): same singular values as J
    assert d["jac_sv"].shape == (16,)
    big = s > 1e-4 * s[0]
    np.testing.assert_allclose(d["jac_sv"][big], s[big], rtol=1e-3)


def test_orthogonal_linear_network_is_an_isometry_exactly():
    """Square orthogonal W: ||x W|| = ||x|| for every row, so every layer's mean square equals
    the input's, and every singular value of J = W_1 ... W_L is scale^L (float32: 1e-4 over 20
    layers). The same holds for a funnel, whose layers have orthonormal columns."""
    d = explorer_data(depth=20, width=64, activation="linear", scheme="orthogonal", batch=128,
                      seed=2)  # fmt: skip
    _, x, _ = _replay([64] * 21, "linear", "orthogonal", 1.0, 128, 2)
    ms_in = float(np.mean(x.astype(np.float64) ** 2))
    np.testing.assert_allclose(d["act_std"] ** 2 + d["act_mean"] ** 2, ms_in, rtol=1e-5)
    np.testing.assert_allclose(d["jac_sv"], 1.0, rtol=1e-4)
    np.testing.assert_allclose(d["jac_reference"], 1.0)
    f = explorer_data(profile="funnel", depth=6, width=128, activation="linear",
                      scheme="orthogonal", scale=1.1, batch=8)  # fmt: skip
    assert f["jac_sv"].shape == (16,)
    np.testing.assert_allclose(f["jac_sv"], 1.1**6, rtol=1e-4)


def test_jacobian_rms_theory_in_a_linear_gaussian_network():
    """E||J||_F^2 = n_0 prod_l n_l Var(w_l) for independent layers. LeCun on a linear square
    net: 1 per singular value. tr(J J^T)/n has relative variance about 2L/n^2 (each layer
    averages n^2 squared entries), so the mean over 10 seeds is within 5 SE of 1."""
    n, depth, seeds = 64, 5, 10
    ms = [
        float(np.mean(explorer_data(depth=depth, width=n, activation="linear",
                                    scheme="lecun_normal", batch=2, seed=s)["jac_sv"] ** 2))
        for s in range(seeds)
    ]  # fmt: skip
    d = explorer_data(depth=depth, width=n, activation="linear", scheme="lecun_normal", batch=2)
    assert d["jac_rms_theory"] == pytest.approx(1.0, rel=1e-12)
    se = math.sqrt(2 * depth / n**2) / math.sqrt(seeds)
    assert abs(np.mean(ms) - 1.0) < 5 * se


def test_linear_lecun_network_matches_theory_within_sampling_error():
    """Linear net, W ~ N(0, 1/n): E[Var(z_l)] = E[x^2] = 1 at every layer (theory: std 1).
    The std's relative error at layer l: se_l = 0.5 sqrt(2 l (1 + n/B) / n^2 + 2 / (nB))
    (per-layer chi-square averages and the input's mean square). Allowed: 5 se_l."""
    n, b, depth = 128, 256, 12
    d = explorer_data(depth=depth, width=n, activation="linear", scheme="lecun_normal",
                      batch=b, seed=7)  # fmt: skip
    np.testing.assert_allclose(d["theory_act_std"], 1.0, rtol=1e-9)
    layers = np.arange(1, depth + 1)
    se = 0.5 * np.sqrt(2 * layers * (1 + n / b) / n**2 + 2 / (n * b))
    assert np.all(np.abs(d["act_std"] - 1.0) < 5 * se)


# ----------------------------------------------------------------------------- theory


def test_theory_columns_are_the_engine_prediction():
    """The overlay is course_utils.theory.predict for the same widths and variances."""
    widths = [64, 48, 32, 16]
    d = explorer_data(widths=widths, activation="selu", scheme="he_uniform", scale=0.8,
                      batch=32)  # fmt: skip
    p = predict(widths, "he_uniform", "selu", multiplier=0.8)
    np.testing.assert_allclose(d["theory_pre_std"], p.pre_activation_std, rtol=1e-12)
    np.testing.assert_allclose(d["theory_act_std"], p.activation_std, rtol=1e-12)
    np.testing.assert_allclose(d["theory_grad_std"], p.grad_std, rtol=1e-12)
    assert d["jac_rms_theory"] == pytest.approx(math.sqrt(64 * p.input_grad_var / 16), rel=1e-12)


def test_theory_relu_glorot_decays_like_two_to_minus_half_per_layer_and_he_is_flat():
    kw = {"depth": 30, "width": 16, "activation": "relu", "batch": 2}
    g = explorer_data(scheme="glorot_normal", **kw)
    h = explorer_data(scheme="he_normal", **kw)
    np.testing.assert_allclose(g["theory_pre_std"], 2.0 ** (-np.arange(30) / 2), rtol=1e-12)
    np.testing.assert_allclose(h["theory_pre_std"], math.sqrt(2.0), rtol=1e-12)
    np.testing.assert_allclose(h["theory_grad_std"], 1.0, rtol=1e-12)


def test_tanh_gain_five_thirds_is_chaotic_at_depth_fifty():
    """sigma_w^2 = 25/9: the forward fixed point q* ~ 1.18 has chi = sigma_w^2 E[tanh'(z)^2]
    ~ 1.21 > 1, so back-propagated gradients grow ~1.21 per layer: the gradient std at layer 1
    exceeds the last layer's by far (theory and measurement)."""
    d = explorer_data(depth=50, width=256, activation="tanh", scheme="lecun_normal",
                      scale=5 / 3, batch=64)  # fmt: skip
    assert d["theory_pre_std"][-1] ** 2 == pytest.approx(1.18, abs=0.01)
    assert d["theory_grad_std"][0] / d["theory_grad_std"][-1] > 50
    assert d["grad_std"][0] / d["grad_std"][-1] > 50


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_offered_scheme_runs(scheme):
    d = explorer_data(depth=3, width=16, batch=16, scheme=scheme)
    if scheme == "constant":  # identical weights: the mean-field theory does not apply
        assert np.all(np.isnan(d["theory_act_std"])) and math.isnan(d["jac_rms_theory"])
    else:
        assert np.all(np.isfinite(d["theory_act_std"]))
    assert np.all(np.isfinite(d["act_std"]))
    fig = explorer_figure(d)
    assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_zeros_and_constant_show_the_symmetry():
    z = explorer_data(scheme="zeros", depth=3, width=16, batch=8, activation="tanh")
    assert np.all(z["act_std"] == 0) and np.all(z["jac_sv"] == 0)
    c = explorer_data(scheme="constant", depth=3, width=16, batch=8, activation="tanh")
    # every unit of a layer computes the same function: the Jacobian has rank 1
    assert c["jac_sv"][0] > 0 and np.all(c["jac_sv"][1:] < 1e-5 * c["jac_sv"][0])


def test_lsuv_gives_unit_pre_activation_variance_on_its_batch():
    """LSUV rescales each layer until Var(z_l) is within its tolerance 0.1 of 1 on the batch;
    the explorer measures on that same batch."""
    d = explorer_data(scheme="lsuv", activation="relu", depth=8, width=64, batch=128)
    assert np.all(np.abs(d["pre_std"] ** 2 - 1) < 0.1)
    s = explorer_data(scheme="lsuv", activation="relu", depth=8, width=64, batch=128, scale=2.0)
    np.testing.assert_allclose(s["pre_std"][0], 2 * d["pre_std"][0], rtol=1e-5)


# ----------------------------------------------------------------------------- histograms


def test_histograms_share_one_range_per_row_by_default():
    d = explorer_data(depth=6, width=64, batch=64, scheme="random_normal")
    for key in ("act", "grad"):
        e = d[f"{key}_edges"]
        assert np.all(e == e[0])  # one x-range for the whole row
    # a vanishing network: the last layer's mass sits in the bins around 0
    last = d["act_counts"][-1]
    assert last.max() == pytest.approx(1.0)


def test_per_layer_histogram_matches_numpy_histogram_of_the_recomputed_layer():
    """Bin counts of layer 1 equal np.histogram's over the same range (float32 rounding at a bin
    edge can move a value to the neighbour bin: at most a handful of the 16384 values)."""
    settings = {"activation": "tanh", "scheme": "he_normal", "scale": 1.0, "batch": 256,
                "seed": 5}  # fmt: skip
    d = explorer_data(depth=2, width=64, bins=30, hist="per_layer", **settings)
    ws, x, _ = _replay([64, 64, 64], **settings)
    a1 = np.tanh(x @ ws[0])
    counts, edges = np.histogram(a1, bins=30, range=(a1.min(), a1.max()))
    np.testing.assert_allclose(d["act_edges"][0], edges, rtol=0, atol=1e-6)
    assert np.abs(d["act_counts"][0] * a1.size - counts).sum() <= 4


def test_log_histograms_are_of_log10_abs_and_leave_exact_zeros_out():
    d = explorer_data(depth=3, width=64, batch=64, activation="relu", scheme="he_normal",
                      hist="log")  # fmt: skip
    assert d["act_edges"][0, -1] < 2  # log10 of values of order 1
    # ReLU outputs are exactly 0 about half the time: those are not counted
    assert 0.35 < d["act_counts"][0].sum() < 0.65
    np.testing.assert_allclose(d["grad_counts"].sum(1), 1.0)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"depth": 0}, ValueError, "depth"),
        ({"depth": 2.5}, TypeError, "depth"),
        ({"width": 1}, ValueError, "width"),
        ({"activation": "swish"}, ValueError, "activation"),
        ({"scheme": "xavier"}, ValueError, "scheme"),
        ({"scale": -1.0}, ValueError, "scale"),
        ({"scale": "big"}, TypeError, "scale"),
        ({"batch": 1}, ValueError, "batch"),
        ({"profile": "pyramid"}, ValueError, "profile"),
        ({"mode": "fan_both"}, ValueError, "mode"),
        ({"hist": "zoom"}, ValueError, "hist"),
        ({"widths": "64, x"}, ValueError, "widths"),
        ({"widths": [64]}, ValueError, "widths"),
        ({"widths": 64}, TypeError, "widths"),
        ({"colour": "red"}, TypeError, "unknown setting"),
    ],
)
def test_bad_settings_raise_naming_the_setting(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        explorer_data(**kwargs)


# ----------------------------------------------------------------------------- figures


def test_explorer_figure_updates_its_artists_in_place():
    d = explorer_data(depth=4, width=32, batch=32)
    fig = explorer_figure(d)
    assert len(fig.axes) == 13 and fig.dpi >= 100
    artists = [id(a) for ax in fig.axes for a in ax.get_children()]
    png = figure_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    for kw in ({"scheme": "random_normal", "depth": 12}, {"scale": 10.0, "activation": "relu"},
               {"scheme": "zeros"}, {"hist": "log"}, {"depth": 2}):  # fmt: skip
        again = explorer_figure(explorer_data(width=32, batch=32, **kw), fig=fig)
        assert again is fig
        assert [id(a) for ax in fig.axes for a in ax.get_children()] == artists, kw
        assert figure_png(fig) != png
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(figure_png(fig))).size == (1200, 660)


def test_text_cache_renders_like_plain_agg():
    """The lab's canvas pastes cached text bitmaps on whole pixels: at most a few percent of the
    pixels differ from matplotlib's own rendering (anti-aliasing at the glyph edges)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    d = explorer_data(depth=4, width=32, batch=32)
    cached = figure_png(explorer_figure(d))
    plain_fig = explorer_figure(d)
    FigureCanvasAgg(plain_fig)
    plain = figure_png(plain_fig)
    a = np.asarray(Image.open(io.BytesIO(cached))).astype(int)
    b = np.asarray(Image.open(io.BytesIO(plain))).astype(int)
    assert a.shape == b.shape
    assert np.mean(np.abs(a - b).sum(-1) > 60) < 0.04


# ----------------------------------------------------------------------------- training


def _torch_training(widths, activation, w0, x, y, lr, momentum, epochs):
    """Reference: torch float64, BCE with logits, full-batch SGD with momentum."""
    f = torch_activation(activation)
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in w0]
    bs = [torch.zeros(n, dtype=torch.float64, requires_grad=True) for n in widths[1:]]
    opt = torch.optim.SGD(ws + bs, lr=lr, momentum=momentum)
    xt = torch.tensor(x, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    losses = []
    for _ in range(epochs):
        a = xt
        for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
            a = a @ w + b
            if i < len(ws) - 1:
                a = f(a)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(a[:, 0], yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return np.array(losses)


@needs_torch
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_vectorized_training_equals_torch_sgd(activation):
    """Every run of the batched numpy loop is torch's SGD on the same weights: 30 epochs of
    momentum SGD, float32 vs float64 losses agree to 1e-4 relative."""
    settings = {"dataset": "moons", "depth": 3, "width": 8, "activation": activation,
                "schemes": ("he_normal", "orthogonal"), "seeds": 2, "seed": 4, "epochs": 30,
                "lr": 0.05, "momentum": 0.9, "grid": 3}  # fmt: skip
    d = training_data(**settings)
    x, y, _, _ = make_dataset("moons", 4)
    x, _ = standardize(x, x)
    widths = [2, 8, 8, 8, 1]
    for i, scheme in enumerate(settings["schemes"]):
        for k, sd in enumerate(d["seeds"]):
            w0 = widgets._weights(widths, scheme, "fan_in", 1.0, np.random.default_rng(sd),
                                  x, activation)  # fmt: skip
            ref = _torch_training(widths, activation, w0, x, y, 0.05, 0.9, 30)
            np.testing.assert_allclose(d["loss"][i, k], ref, rtol=1e-4)


def test_training_panel_is_deterministic_paired_and_learns():
    kw = {"epochs": 300, "grid": 12}
    a, b = training_data(**kw), training_data(**kw)
    np.testing.assert_array_equal(a["loss"], b["loss"])
    np.testing.assert_array_equal(a["grid_labels"], b["grid_labels"])
    assert a["loss"].shape == (3, 3, 300) and a["grid_labels"].shape == (3, 3, 12, 12)
    assert a["seeds"] == [0, 1, 2]
    # the start is near ln 2 and every scheme learns (mean over seeds well below it at the end)
    assert np.all(np.abs(a["loss_mean"][:, 0] - math.log(2)) < 0.1)
    assert np.all(a["loss_mean"][:, -1] < 0.4)
    np.testing.assert_allclose(a["loss_mean"], a["loss"].mean(axis=1))
    np.testing.assert_allclose(a["loss_std"], a["loss"].std(axis=1, ddof=1))
    # one scheme alone reproduces its row of the comparison (each run is independent)
    one = training_data(schemes=("he_normal",), **kw)
    np.testing.assert_array_equal(one["loss"][0], a["loss"][1])
    assert training_data(scheme="he_normal", epochs=3, grid=2)["loss"].shape == (1, 3, 3)
    fig = training_figure(a)
    assert len(fig.axes) == 4
    # a list of results on the same data is drawn as one comparison
    two = training_figure([one, training_data(schemes=("orthogonal",), **kw)])
    assert len(two.axes) == 3
    with pytest.raises(ValueError, match="share"):
        training_figure([one, training_data(schemes=("orthogonal",), epochs=5, grid=12)])
    assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_multiclass_and_bad_settings():
    d = training_data(dataset="blobs", schemes=("lecun_normal",), seeds=1, epochs=20, grid=5)
    k = int(d["y_train"].max() + 1)
    assert k > 2 and d["grid_proba"].shape == (1, 1, 5, 5, k)
    np.testing.assert_allclose(d["grid_proba"].sum(-1), 1.0, rtol=1e-5)
    assert np.all(d["loss_std"] == 0)
    with pytest.raises(ValueError, match="dataset"):
        training_data(dataset="mnist")
    with pytest.raises(ValueError, match="schemes"):
        training_data(schemes=("he_normal", "he_normal"))
    with pytest.raises(TypeError, match="not both"):
        training_data(scheme="he_normal", schemes=("he_normal",))


# ----------------------------------------------------------------------------- the widget


def test_widget_redraws_and_every_control_has_a_label():
    w = explorer(depth=3, width=32, batch=32)
    for name, c in {**w.controls, **w.training_controls}.items():
        assert c.description.strip(), name  # the visible label
    first = w.state["png"]
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert w.image.value.startswith('<img class="explorer-figure" alt="Init lab: 3 layers')
    assert "explorer-depth" in w.controls["depth"]._dom_classes
    fig = w.state["figure"]
    w.controls["depth"].value = 4
    assert w.state["png"] != first and w.state["figure"] is fig
    assert "activation std" in w.status.value
    w.controls["scheme"].value = "orthogonal"
    assert w.controls["mode"].disabled
    w.controls["scheme"].value = "he_normal"
    assert not w.controls["mode"].disabled
    w.controls["widths"].value = "32, 16, 8"
    assert "cannot" not in w.status.value
    w.controls["widths"].value = "32, x"
    assert "cannot compute" in w.status.value and "widths" in w.status.value
    w.training_controls["epochs"].value = 10
    w.training_controls["seeds"].value = 2
    w.train_button.click()
    assert w.training_image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "final loss" in w.training_status.value


def test_profiles_constant_is_listed():
    assert PROFILES[0] == "constant" and set(INITIALIZERS) <= set(SCHEMES)


def test_explorer_average_is_the_mean_over_seeds_with_its_standard_error():
    kw = {"depth": 3, "width": 32, "batch": 16, "activation": "relu", "scheme": "he_normal"}
    a = widgets.explorer_average(4, **kw)
    runs = [explorer_data(seed=s, **kw) for s in range(4)]
    v = np.array([r["grad_std"] for r in runs])
    np.testing.assert_allclose(a["grad_std_mean"], v.mean(0))
    np.testing.assert_allclose(a["grad_std_se"], v.std(0, ddof=1) / 2)
    np.testing.assert_array_equal(a["theory_act_std"], runs[0]["theory_act_std"])
    with pytest.raises(TypeError, match="seed"):
        widgets.explorer_average(3, seed=1, **kw)
    with pytest.raises(ValueError, match="seeds"):
        widgets.explorer_average(1, **kw)


def test_spectra_figure_draws_one_curve_and_one_theory_line_per_run():
    runs = {
        "orthogonal": explorer_data(depth=4, width=16, batch=4, scheme="orthogonal"),
        "glorot": explorer_data(depth=4, width=16, batch=4),
    }
    fig = widgets.spectra_figure(runs)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(runs)
    with pytest.raises(ValueError, match="runs"):
        widgets.spectra_figure({})


def test_figures_carry_a_description_written_from_their_data():
    from course_utils.figure_alt import description

    d = explorer_data(depth=4, width=32, batch=32, activation="relu", scheme="he_normal")
    text = description(explorer_figure(d))
    assert f"{d['act_std'][-1]:.2g}" in text and "dead units" in text and "decades" in text
    fig = explorer_figure(d)
    z = explorer_data(depth=4, width=32, batch=32, scheme="zeros")
    assert "zeros" in description(explorer_figure(z, fig=fig))  # updated in place too
    t = training_data(epochs=3, grid=3, seeds=2)
    assert "he_normal: mean loss" in description(training_figure(t))
    assert "decades" in description(widgets.spectra_figure({"x": d}))


def test_presets_set_exact_values_with_one_redraw_and_a_hand_move_leaves_the_preset():
    w = explorer(depth=3, width=32, batch=32)
    assert w.preset.description.strip() and "explorer-preset" in w.preset._dom_classes
    frames = []
    w.image.observe(lambda change: frames.append(change["new"]), names="value")
    w.preset.value = "tanh, LeCun x 5/3 (PyTorch's tanh gain)"
    assert len(frames) == 1  # five controls set, one redraw
    assert w.controls["scale"].value == 5 / 3  # exact: the log slider alone stops at 1.660 or 1.698
    assert (w.controls["activation"].value, w.controls["scheme"].value) == ("tanh", "lecun_normal")
    w.controls["scale"].value = 2.0
    assert w.preset.value == "custom" and len(frames) == 2
    w.preset.value = "relu, He x 2 (exploding)"
    assert w.controls["scale"].value == 2.0 and w.controls["activation"].value == "relu"
    assert len(frames) == 3


def test_input_std_control_reproduces_the_isometry_demo_of_lecture_06():
    w = explorer(width=32, batch=16)
    w.preset.value = "tanh, orthogonal, input std 0.1 (isometry, lecture 06)"
    assert w.controls["input_std"].value == 0.1 and w.controls["depth"].value == 50
    want = widgets.explorer_description(
        explorer_data(
            depth=50, width=32, batch=16, activation="tanh", scheme="orthogonal", input_std=0.1
        )
    )
    assert w.state["description"] == want
    w.controls["input_std"].value = 1.0
    assert w.state["description"] != want


def test_the_image_text_alternative_follows_every_frame():
    w = explorer(depth=3, width=32, batch=32)
    assert w.state["description"] == widgets.explorer_description(
        explorer_data(depth=3, width=32, batch=32)
    )
    w.controls["depth"].value = 5
    assert w.state["description"].startswith("Init lab: 5 layers")
    assert f'alt="{html.escape(w.state["description"], quote=True)}"' in w.image.value
    assert w.state["description"] == widgets.explorer_description(
        explorer_data(depth=5, width=32, batch=32)
    )


def test_spread_text_reads_the_spread_down_to_the_median_only():
    assert (
        widgets.spread_text(np.array([100.0, 1.0, 1.0]))
        == "the largest 2.0 decades above the median"
    )
    # the tail below the median (float32's rounding floor in a deep product) does not count
    assert widgets.spread_text(np.array([1.0, 0.5, 1e-12])) == widgets.spread_text(
        np.array([1.0, 0.5, 1e-3])
    )
    assert "rounding floor" in widgets.spread_text(np.array([1.0, 1e-7, 1e-9]))
    assert widgets.spread_text(np.zeros(3)) == "all 0"
    assert "undefined" in widgets.spread_text(np.array([np.nan, 1.0]))
