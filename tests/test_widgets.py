"""Tests of course_utils.widgets: the explorer's pure data function, its theory, the figures,
the training panel and the widget's wiring (without a browser; tests/test_browser.py has one)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _torch_reference import torch_activation

from course_utils.initializers import INITIALIZERS
from course_utils.theory import predict
from course_utils.widgets import (
    ACTIVATIONS,
    DEFAULTS,
    SCHEMES,
    explorer,
    explorer_data,
    explorer_figure,
    figure_png,
    training_data,
    training_figure,
)

PER_LAYER = (
    "act_mean", "act_std", "pre_std", "grad_std", "theory_act_std", "theory_pre_std",
    "theory_grad_std", "saturated", "dead",
)  # fmt: skip


def _replay(depth, width, activation, scheme, scale, batch, seed):
    """Draw the explorer's weights and inputs in its documented order: weights, x, dL/da_L."""
    rng = np.random.default_rng(seed)
    ws = [INITIALIZERS[scheme]((width, width), rng) * np.float32(scale) for _ in range(depth)]
    x = rng.standard_normal((batch, width), dtype=np.float32)
    g = rng.standard_normal((batch, width), dtype=np.float32)
    return ws, x, g


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
    again = explorer_data()
    for key in PER_LAYER + ("act_counts", "grad_counts"):
        np.testing.assert_array_equal(d[key], again[key])
    other = explorer_data(seed=1)
    assert not np.array_equal(d["act_std"], other["act_std"])


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_forward_and_backward_agree_with_torch_autograd(activation):
    """Same weights and inputs in float64 torch: activation and gradient stds per layer agree.

    The loss is L = sum(a_L * g), so dL/da_L = g; autograd gives dL/da_l for every layer.
    float32 numpy vs float64 torch over 6 layers of 48 units: relative error ~1e-6; 1e-4
    allows for the ~sqrt(48 * 6) growth of rounding in the products.
    """
    settings = {"depth": 6, "width": 48, "activation": activation, "scheme": "lecun_normal",
                "scale": 1.3, "batch": 64, "seed": 3}  # fmt: skip
    d = explorer_data(**settings)
    ws, x, g = _replay(**settings)
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


def test_histogram_matches_numpy_histogram_of_the_recomputed_layer():
    """Bin counts of layer 1 equal np.histogram's over the same range (float32 rounding at a bin
    edge can move a value to the neighbour bin: at most a handful of the 16384 values)."""
    settings = {"depth": 2, "width": 64, "activation": "tanh", "scheme": "he_normal",
                "scale": 1.0, "batch": 256, "seed": 5}  # fmt: skip
    d = explorer_data(**settings, bins=30)
    ws, x, _ = _replay(**settings)
    a1 = np.tanh(x @ ws[0])
    counts, edges = np.histogram(a1, bins=30, range=(a1.min(), a1.max()))
    np.testing.assert_allclose(d["act_edges"][0], edges, rtol=0, atol=1e-6)
    assert np.abs(d["act_counts"][0] * a1.size - counts).sum() <= 4


def test_orthogonal_linear_network_preserves_the_second_moment_exactly():
    """Square orthogonal W: ||x W|| = ||x|| for every row, so every layer's mean square equals
    the input's (float32 rounding only: 1e-5 relative over 20 layers)."""
    settings = {"depth": 20, "width": 64, "activation": "linear", "scheme": "orthogonal",
                "scale": 1.0, "batch": 128, "seed": 2}  # fmt: skip
    d = explorer_data(**settings)
    _, x, _ = _replay(**settings)
    ms_in = float(np.mean(x.astype(np.float64) ** 2))
    ms = d["act_std"] ** 2 + d["act_mean"] ** 2
    np.testing.assert_allclose(ms, ms_in, rtol=1e-5)


def test_linear_lecun_network_matches_theory_within_sampling_error():
    """Linear net, W ~ N(0, 1/n): E[Var(z_l)] = E[x^2] = 1 at every layer (theory: std 1).

    Sampling error of the measured variance at layer l: each layer multiplies the batch's mean
    square by ||columns of W||^2-type chi-square averages with relative variance about
    2 (1 + n/B) / n^2 (n = width, B = batch), independently per layer, and the input's own mean
    square has relative variance 2 / (nB). The std's relative error is half the variance's:
    se_l = 0.5 sqrt(2 l (1 + n/B) / n^2 + 2 / (nB)). Allowed: 5 se_l.
    """
    n, b, depth = 128, 256, 12
    d = explorer_data(depth=depth, width=n, activation="linear", scheme="lecun_normal",
                      batch=b, seed=7)  # fmt: skip
    np.testing.assert_allclose(d["theory_act_std"], 1.0, rtol=1e-9)
    layers = np.arange(1, depth + 1)
    se = 0.5 * np.sqrt(2 * layers * (1 + n / b) / n**2 + 2 / (n * b))
    assert np.all(np.abs(d["act_std"] - 1.0) < 5 * se)


# ----------------------------------------------------------------------------- theory


def test_theory_columns_are_the_engine_prediction():
    """The overlay is course_utils.theory.predict for the same widths, scheme, activation and
    scale (exactly: the explorer keeps no theory of its own)."""
    d = explorer_data(depth=7, width=64, activation="selu", scheme="he_uniform", scale=0.8,
                      batch=32)  # fmt: skip
    p = predict([64] * 8, "he_uniform", "selu", multiplier=0.8)
    np.testing.assert_array_equal(d["theory_pre_std"], p.pre_activation_std)
    np.testing.assert_array_equal(d["theory_act_std"], p.activation_std)
    np.testing.assert_array_equal(d["theory_grad_std"], p.grad_std)


def test_theory_relu_glorot_decays_like_two_to_minus_half_per_layer_and_he_is_flat():
    """Var(z_l) = n Var(w) E[relu(z_(l-1))^2] = n Var(w) Var(z_(l-1)) / 2: Glorot (n Var(w) = 1)
    halves the variance per layer, He (n Var(w) = 2) keeps it; gradients likewise."""
    kw = {"depth": 30, "width": 16, "activation": "relu", "batch": 2}
    g = explorer_data(scheme="glorot_normal", **kw)
    h = explorer_data(scheme="he_normal", **kw)
    np.testing.assert_allclose(g["theory_pre_std"], 2.0 ** (-np.arange(30) / 2), rtol=1e-12)
    np.testing.assert_allclose(h["theory_pre_std"], math.sqrt(2.0), rtol=1e-12)
    np.testing.assert_allclose(h["theory_grad_std"], 1.0, rtol=1e-12)
    # relu output: std = sqrt(q/2 - q/(2 pi)) for z ~ N(0, q)
    np.testing.assert_allclose(h["theory_act_std"], math.sqrt(2 * (0.5 - 1 / (2 * math.pi))),
                               rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_offered_scheme_runs_and_has_a_theory(scheme):
    d = explorer_data(depth=2, width=16, batch=8, scheme=scheme)
    assert np.all(np.isfinite(d["theory_act_std"])) and np.all(d["theory_pre_std"] > 0)


# ----------------------------------------------------------------------------- fractions


def test_saturated_fraction_counts_flat_tanh_units():
    settings = {"depth": 3, "width": 64, "activation": "tanh", "scheme": "lecun_normal",
                "scale": 8.0, "batch": 128, "seed": 4}  # fmt: skip
    d = explorer_data(**settings)
    ws, x, _ = _replay(**settings)
    a = x
    for layer, w in enumerate(ws):
        a = np.tanh(a @ w)
        assert d["saturated"][layer] == pytest.approx(np.mean(np.abs(a) > 0.99), abs=1e-3)
    assert d["saturated"][-1] > 0.5  # scale 8: most units pinned at +-1
    assert np.all(np.isnan(explorer_data(activation="relu", depth=2, width=16)["saturated"]))


def test_dead_relu_units_with_two_examples():
    """Batch of 2, one ReLU layer: a unit is dead when both pre-activations are <= 0. (z_1, z_2)
    is bivariate normal with correlation rho = cos(x_1, x_2), so P = 1/4 + arcsin(rho) / (2 pi)
    (Sheppard). Over n = 4096 units the fraction has binomial SE sqrt(P(1-P)/n); allowed 5 SE."""
    n = 2048
    settings = {"depth": 1, "width": n, "activation": "relu", "scheme": "he_normal",
                "scale": 1.0, "batch": 2, "seed": 8}  # fmt: skip
    d = explorer_data(**settings)
    _, x, _ = _replay(**settings)
    x = x.astype(np.float64)
    rho = x[0] @ x[1] / (np.linalg.norm(x[0]) * np.linalg.norm(x[1]))
    p = 0.25 + math.asin(rho) / (2 * math.pi)
    assert abs(d["dead"][0] - p) < 5 * math.sqrt(p * (1 - p) / n)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"depth": 0}, ValueError, "depth"),
        ({"depth": 2.5}, TypeError, "depth"),
        ({"width": 1}, ValueError, "width"),
        ({"activation": "swish"}, ValueError, "activation"),
        ({"scheme": "zeros"}, ValueError, "scheme"),
        ({"scale": -1.0}, ValueError, "scale"),
        ({"scale": "big"}, TypeError, "scale"),
        ({"batch": 1}, ValueError, "batch"),
        ({"colour": "red"}, TypeError, "unknown setting"),
    ],
)
def test_bad_settings_raise_naming_the_setting(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        explorer_data(**kwargs)


# ----------------------------------------------------------------------------- figures


def test_explorer_figure_renders_with_vanishing_and_exploding_settings():
    for kw in ({"scheme": "random_normal"}, {"scale": 10.0, "activation": "relu"}, {}):
        d = explorer_data(depth=4, width=32, batch=32, **kw)
        fig = explorer_figure(d)
        assert len(fig.axes) == 12
        png = figure_png(fig)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_panel_is_deterministic_and_learns():
    """SGD from a Glorot start on circles: the loss after 60 epochs is below the start (ln 2 for
    a balanced binary problem at a near-zero logit); two runs with one seed are identical."""
    kw = {"epochs": 60, "grid": 12}
    a, b = training_data(**kw), training_data(**kw)
    np.testing.assert_array_equal(a["loss"], b["loss"])
    np.testing.assert_array_equal(a["grid_labels"], b["grid_labels"])
    assert a["loss"].shape == (60,) and a["grid_labels"].shape == (12, 12)
    assert a["loss"][-1] < a["loss"][0]
    assert set(np.unique(a["grid_labels"])) <= {0, 1}
    fig = training_figure([a, training_data(epochs=5, grid=4, scheme="random_normal")])
    assert len(fig.axes) == 3
    with pytest.raises(ValueError, match="dataset"):
        training_data(dataset="mnist")


# ----------------------------------------------------------------------------- the widget


def test_widget_redraws_when_the_depth_slider_moves():
    w = explorer(depth=3, width=32, batch=32)
    first = w.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert "explorer-depth" in w.controls["depth"]._dom_classes
    w.controls["depth"].value = 4
    assert w.image.value != first
    assert "activation std" in w.status.value
    w.training_controls["epochs"].value = 10
    w.train_button.click()
    assert w.training_image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "test accuracy" in w.training_status.value
