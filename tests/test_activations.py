"""Activations: values and derivatives against torch, the fast backward rule, and the moments."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

try:
    import torch
except ImportError:  # torch-free environments (make test-pythons)
    torch = None
try:
    from _torch_reference import torch_activation as torch_fn
except ImportError:  # torch-free environments (make test-pythons)
    torch_fn = None

from course_utils.activations import (
    ACTIVATION_NAMES,
    ACTIVATIONS,
    Activation,
    derivative_second_moment,
    gaussian_expectation,
    get_activation,
    mean,
    second_moment,
)

needs_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed (a torch-free environment)"
)


SPECS = [
    ("linear", None),
    ("tanh", None),
    ("relu", None),
    ("leaky_relu", None),
    ("leaky_relu", 0.2),
    ("sigmoid", None),
    ("selu", None),
    ("scaled_tanh", None),
]


def grid() -> np.ndarray:
    rng = np.random.default_rng(1)
    # values on both sides of 0 and far out, but not exactly 0 (kinks)
    return np.concatenate([rng.normal(0, 3, 400), [-50.0, -10.0, -1e-3, 1e-3, 10.0, 50.0]])


@needs_torch
@pytest.mark.parametrize(("name", "slope"), SPECS)
def test_value_and_derivative_match_torch_float64(name, slope):
    act = get_activation(name, slope=slope)
    z = grid()
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    y = torch_fn(name, slope)(t)
    (dy,) = torch.autograd.grad(y.sum(), t)
    np.testing.assert_allclose(act(z), y.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(act.derivative(z), dy.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("name", "slope"), SPECS)
def test_float32_stays_float32_and_close_to_float64(name, slope):
    act = get_activation(name, slope=slope)
    z = grid()
    z32 = z.astype(np.float32)
    y32 = act(z32)
    assert y32.dtype == np.float32
    assert act.derivative(z32).dtype == np.float32
    # float32 rounding: a few ulps of the value (eps32 ~ 1.2e-7 relative)
    np.testing.assert_allclose(y32, act(z32.astype(np.float64)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("name", "slope"), SPECS)
def test_backprop_from_stored_output_equals_chain_rule(name, slope):
    act = get_activation(name, slope=slope)
    rng = np.random.default_rng(2)
    z = grid()
    a = act(z)
    g = rng.standard_normal(z.shape)
    expected = g * act.derivative(z)
    np.testing.assert_allclose(act.backprop(g, z, a), expected, rtol=1e-10, atol=1e-12)
    g2 = g.copy()
    out = act.backprop(g2, z, a, out=g2)  # in place
    assert out is g2
    np.testing.assert_allclose(g2, expected, rtol=1e-10, atol=1e-12)


def test_out_argument_in_place():
    z = np.linspace(-3, 3, 7)
    for name in ACTIVATION_NAMES:
        buf = z.copy()
        res = ACTIVATIONS[name](buf, out=buf)
        assert res is buf
        np.testing.assert_allclose(buf, ACTIVATIONS[name](z))


def test_sigmoid_and_selu_do_not_overflow():
    z = np.array([-1000.0, -100.0, 100.0, 1000.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = get_activation("sigmoid")(z)
        get_activation("selu")(z)
        get_activation("selu").derivative(z)
    assert s.tolist() == [0.0, pytest.approx(3.7e-44, abs=1e-43), 1.0, 1.0]


def test_scaled_tanh_constants():
    st = get_activation("scaled_tanh")
    assert st(np.array([1.0]))[0] == pytest.approx(1.0, abs=2e-4)  # LeCun: f(+-1) = +-1
    assert st(np.array([100.0]))[0] == pytest.approx(1.7159)


# ---------------------------------------------------------------------------------------------
# moments
# ---------------------------------------------------------------------------------------------
Q = np.array([0.0, 1e-3, 0.1, 1.0, 2.0, 10.0, 100.0])


@pytest.mark.parametrize(("name", "slope"), SPECS)
def test_closed_forms_agree_with_quadrature(name, slope):
    """The quadrature must reproduce the exact forms (relu q/2 etc.); 1e-9 is its accuracy."""
    act = get_activation(name, slope=slope)
    q = Q[1:]
    np.testing.assert_allclose(
        act.second_moment(q), gaussian_expectation(lambda z: act._f64(z) ** 2, q), rtol=1e-9
    )
    np.testing.assert_allclose(
        act.derivative_second_moment(q),
        gaussian_expectation(lambda z: act._df64(z) ** 2, q),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        act.mean(q), gaussian_expectation(act._f64, q), rtol=1e-9, atol=1e-12
    )


def test_documented_closed_forms():
    q = Q
    np.testing.assert_allclose(second_moment("relu", q), q / 2)
    np.testing.assert_allclose(derivative_second_moment("relu", q[1:]), 0.5)
    np.testing.assert_allclose(mean("relu", q), np.sqrt(q / (2 * np.pi)))
    np.testing.assert_allclose(second_moment("linear", q), q)
    lr = get_activation("leaky_relu", slope=0.2)
    np.testing.assert_allclose(lr.second_moment(q), 1.04 * q / 2)
    np.testing.assert_allclose(lr.mean(q), 0.8 * np.sqrt(q / (2 * np.pi)))


def test_exact_special_values():
    # selu's constants are chosen so that N(0, 1) maps to mean 0, second moment 1 (Klambauer).
    assert float(mean("selu", 1.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(second_moment("selu", 1.0)) == pytest.approx(1.0, abs=1e-6)
    # sigmoid(z) + sigmoid(-z) = 1, so its mean is exactly 1/2 for symmetric z
    np.testing.assert_allclose(mean("sigmoid", Q), 0.5, atol=1e-12)
    # odd activations have mean 0; near q = 0 tanh is linear: E[tanh^2] ~ q - 2 q^2
    assert float(second_moment("tanh", 1e-4)) == pytest.approx(1e-4 - 2e-8, rel=1e-6)
    assert float(derivative_second_moment("tanh", 0.0)) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "selu", "scaled_tanh"])
@pytest.mark.parametrize("q", [0.5, 4.0])
def test_quadrature_moments_match_monte_carlo(name, q):
    """Monte-Carlo check with N = 400 000 draws (seed 3).

    For i.i.d. samples of h(z) the sample mean has standard error sd(h) / sqrt(N); we estimate
    sd(h) from the same sample and accept |MC - quadrature| < 5 SE (two-sided normal tail
    probability 6e-7 per comparison).
    """
    act = get_activation(name)
    n = 400_000
    z = np.random.default_rng(3).standard_normal(n) * math.sqrt(q)
    for h, predicted in (
        (act(z) ** 2, act.second_moment(q)),
        (act.derivative(z) ** 2, act.derivative_second_moment(q)),
        (act(z), act.mean(q)),
    ):
        se = h.std() / math.sqrt(n)
        assert abs(h.mean() - float(predicted)) < 5 * se


def test_moments_vectorized_and_validated():
    act = get_activation("tanh")
    q = np.array([[0.5, 1.0], [2.0, 3.0]])
    assert act.second_moment(q).shape == (2, 2)
    assert act.derivative_second_moment(q).shape == (2, 2)
    np.testing.assert_allclose(act.second_moment(q)[1, 0], act.second_moment(2.0))
    with pytest.raises(ValueError, match="q"):
        act.second_moment(-1.0)
    with pytest.raises(ValueError, match="q"):
        act.mean(np.nan)


def test_lookup_errors():
    with pytest.raises(ValueError, match="activation"):
        get_activation("swish")
    with pytest.raises(TypeError, match="activation"):
        get_activation(3)
    with pytest.raises(ValueError, match="slope"):
        get_activation("relu", slope=0.1)
    with pytest.raises(TypeError, match="slope"):
        get_activation("leaky_relu", slope="big")
    assert isinstance(get_activation(ACTIVATIONS["tanh"]), Activation)
    assert get_activation("leaky_relu").slope == 0.01
    assert get_activation("leaky_relu", slope=0.3) == Activation("leaky_relu", 0.3)
