"""Tests for course_utils.training: layout, variance, determinism and the train loop."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (a torch-free environment)")
nn = torch.nn

from course_utils import data, initializers  # noqa: E402
from course_utils.training import (  # noqa: E402
    History,
    apply_init,
    build_mlp,
    predict_fn,
    train,
    weight_layers,
)

# --------------------------------------------------------------------------- build_mlp


def test_build_mlp_structure():
    model = build_mlp([2, 8, 8, 3], "tanh")
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert [tuple(layer.weight.shape) for layer in weight_layers(model)] == [(8, 2), (8, 8), (3, 8)]
    model = build_mlp([4, 5, 1], "relu", output_activation="sigmoid", bias=False)
    assert isinstance(model[-1], nn.Sigmoid) and model[0].bias is None
    model = build_mlp([4, 5, 1], nn.GELU)
    assert isinstance(model[1], nn.GELU)
    out = build_mlp([3, 4, 2], "scaled_tanh")(torch.zeros(7, 3))
    assert out.shape == (7, 2)


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        ({"widths": [3]}, ValueError, "widths"),
        ({"widths": [3, 0, 1]}, ValueError, "widths"),
        ({"widths": "abc"}, TypeError, "widths"),
        ({"widths": [3, 4, 1], "activation": "swishy"}, ValueError, "activation"),
        ({"widths": [3, 4, 1], "activation": nn.ReLU()}, TypeError, "activation"),
        ({"widths": [3, 4, 1], "output_activation": "nope"}, ValueError, "output_activation"),
    ],
)
def test_build_mlp_bad_input(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        build_mlp(**kwargs)


# --------------------------------------------------------------------------- apply_init


def test_he_normal_through_apply_init_has_the_expected_variance():
    """he_normal: w ~ N(0, 2/fan_in) with fan_in = in_features (torch's own fan).

    For N i.i.d. normal samples the sample variance has standard error
    SE(s^2) = sigma^2 sqrt(2/(N-1)); the sample mean has SE sigma/sqrt(N). We allow 4 SE
    (a two-sided 4-sigma band: false-alarm probability ~6e-5 for a fixed seed that passes).
    """
    model = apply_init(build_mlp([400, 300, 200], "relu"), "he_normal", rng=0)
    for layer in weight_layers(model):
        w = layer.weight.detach().double()
        fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(layer.weight)
        assert fan_in == layer.in_features
        sigma2 = 2.0 / fan_in
        n = w.numel()
        assert abs(w.var().item() - sigma2) < 4 * sigma2 * math.sqrt(2 / (n - 1))
        assert abs(w.mean().item()) < 4 * math.sqrt(sigma2 / n)
        assert torch.all(layer.bias == 0)


def test_he_normal_on_conv_uses_torch_fans():
    """Conv2d(16, 32, 3): torch fan_in = 16 * 3 * 3 = 144, Var = 2/144; N = 4608 weights, so
    the tolerance is 4 SE = 4 sigma^2 sqrt(2/(N-1)) (about 8% of sigma^2)."""
    conv = nn.Conv2d(16, 32, 3)
    apply_init(nn.Sequential(conv), "he_normal", rng=1)
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(conv.weight)
    assert fan_in == 144
    n = conv.weight.numel()
    sigma2 = 2.0 / fan_in
    assert abs(conv.weight.double().var().item() - sigma2) < 4 * sigma2 * math.sqrt(2 / (n - 1))


def test_dense_layout_is_the_transpose_of_the_course_draw():
    model = build_mlp([5, 7, 3], "tanh")
    apply_init(model, "glorot_uniform", rng=11)
    rng = np.random.default_rng(11)
    w1 = initializers.glorot_uniform((5, 7), rng)  # in_out, drawn first
    w2 = initializers.glorot_uniform((7, 3), rng)  # then the next layer from the same stream
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), w1.T)
    np.testing.assert_array_equal(model[2].weight.detach().numpy(), w2.T)
    # the in_out and out_in fans agree
    assert initializers.fan_in_and_fan_out(w1.shape) == initializers.fan_in_and_fan_out(
        tuple(model[0].weight.shape), layout="out_in"
    )


def test_conv_layout_moves_axes_to_out_in():
    conv = nn.Conv2d(3, 4, (2, 5), bias=False)
    apply_init(nn.Sequential(conv), "he_uniform", rng=np.random.default_rng(3))
    kernel = initializers.he_uniform((2, 5, 3, 4), np.random.default_rng(3))  # (kh, kw, cin, cout)
    np.testing.assert_array_equal(conv.weight.detach().numpy(), kernel.transpose(3, 2, 0, 1))
    conv1 = nn.Conv1d(3, 4, 5)
    apply_init(nn.Sequential(conv1), "lecun_normal", rng=2)
    kernel = initializers.lecun_normal((5, 3, 4), np.random.default_rng(2))
    np.testing.assert_array_equal(conv1.weight.detach().numpy(), kernel.transpose(2, 1, 0))


def test_orthogonal_through_apply_init_gives_orthonormal_rows():
    """A (64 -> 32) layer: in_out (64, 32) has orthonormal columns, so torch's (32, 64) weight
    has orthonormal rows; float32 QR keeps W W^T within ~1e-6 of I."""
    model = apply_init(build_mlp([64, 32, 128], "linear"), "orthogonal", rng=0, gain=2.0)
    w = model[0].weight.detach().double()
    torch.testing.assert_close(w @ w.T, 4.0 * torch.eye(32, dtype=torch.float64), atol=1e-5, rtol=0)
    w = model[2].weight.detach().double()  # (128, 32): tall, orthonormal columns
    torch.testing.assert_close(w.T @ w, 4.0 * torch.eye(32, dtype=torch.float64), atol=1e-5, rtol=0)


def test_apply_init_kwargs_callables_and_biases():
    model = build_mlp([3, 4, 2], "relu")
    with torch.no_grad():
        model[0].bias.fill_(0.5)
    apply_init(model, "constant", rng=0, value=0.25, bias="keep")
    assert torch.all(model[0].weight == 0.25) and torch.all(model[0].bias == 0.5)
    apply_init(model, lambda shape, rng: np.full(shape, 3.0) * np.arange(shape[-1]), rng=0)
    # the callable's last axis is fan_out, i.e. torch's first axis (rows)
    np.testing.assert_array_equal(model[0].weight.detach().numpy()[:, 0], [0, 3, 6, 9])
    assert torch.all(model[0].bias == 0)
    with pytest.raises(ValueError, match="scheme"):
        apply_init(model, "kaiming_magic", rng=0)
    with pytest.raises(ValueError, match="shape"):
        apply_init(model, lambda shape, rng: np.zeros((2, 2)), rng=0)
    with pytest.raises(TypeError, match="rng"):
        apply_init(model, "he_normal", rng=0.5)
    with pytest.raises(ValueError, match="bias"):
        apply_init(model, "he_normal", rng=0, bias="random")
    with pytest.raises(ValueError, match="mode"):
        apply_init(model, "he_normal", rng=0, mode="fan_sideways")


# --------------------------------------------------------------------------- train


def _task(n_classes: int = 2):
    ds = data.blobs(0, n_train=120, n_test=40, n_classes=n_classes, std=0.4)
    return ds


def test_two_runs_with_one_seed_give_identical_histories():
    ds = _task(3)
    histories = []
    for _ in range(2):
        model = apply_init(build_mlp([2, 16, 16, 3], "tanh"), "glorot_normal", rng=4)
        histories.append(
            train(
                model,
                ds.x_train,
                ds.y_train,
                loss="ce",
                lr=0.05,
                epochs=6,
                batch_size=32,
                seed=9,
                progress=False,
                x_test=ds.x_test,
                y_test=ds.y_test,
            )
        )
    assert histories[0] == histories[1]
    model = apply_init(build_mlp([2, 16, 16, 3], "tanh"), "glorot_normal", rng=4)
    other = train(
        model,
        ds.x_train,
        ds.y_train,
        loss="ce",
        lr=0.05,
        epochs=6,
        batch_size=32,
        seed=10,
        progress=False,
    )
    assert other.loss != histories[0].loss  # a different shuffle gives a different path


def test_history_contents_match_a_manual_first_step():
    """Full batch: the first epoch's loss, accuracy and gradient norms are those of the initial
    model on the whole data set, computed here independently with autograd."""
    ds = _task(2)
    model = apply_init(build_mlp([2, 8, 8, 1], "relu"), "he_normal", rng=0)
    reference = copy.deepcopy(model)
    history = train(model, ds.x_train, ds.y_train, loss="bce", lr=0.1, epochs=3, progress=False)
    assert isinstance(history, History)
    x = torch.from_numpy(ds.x_train)
    y = torch.from_numpy(ds.y_train).float()
    out = reference(x).reshape(-1)
    value = nn.functional.binary_cross_entropy_with_logits(out, y)
    value.backward()
    assert history.loss[0] == pytest.approx(value.item(), rel=1e-6)
    assert history.accuracy[0] == pytest.approx(((out > 0).float() == y).float().mean().item())
    norms = [layer.weight.grad.norm().item() for layer in weight_layers(reference)]
    np.testing.assert_allclose(history.grad_norms[0], norms, rtol=1e-5)
    assert history.grad_norm_array().shape == (3, 3)
    assert history.test_loss == [] and history.to_dict()["loss"] == history.loss


def test_training_learns_a_separable_task():
    """Three well-separated blobs (centre distance 3.5 = 8.7 std): a small MLP reaches
    near-perfect accuracy; loss falls below a fifth of its start (chance is log 3 = 1.10)."""
    ds = _task(3)
    model = apply_init(build_mlp([2, 16, 3], "relu"), "he_normal", rng=0)
    h = train(
        model,
        ds.x_train,
        ds.y_train,
        loss="ce",
        optimizer="adam",
        lr=0.05,
        epochs=60,
        progress=False,
        x_test=ds.x_test,
        y_test=ds.y_test,
    )
    assert h.loss[-1] < h.loss[0] / 5
    assert h.accuracy[-1] >= 0.95 and h.test_accuracy[-1] >= 0.95
    labels = predict_fn(model)(ds.x_test)
    assert labels.shape == (40,) and labels.dtype == np.int64
    assert np.mean(labels == ds.y_test) == pytest.approx(h.test_accuracy[-1])
    proba = predict_fn(model, proba=True)(ds.x_test)
    assert proba.shape == (40, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)


def test_mse_and_sigmoid_output():
    ds = _task(2)
    model = apply_init(build_mlp([2, 8, 1], "tanh", output_activation="sigmoid"), "lecun_normal", 0)
    h = train(model, ds.x_train, ds.y_train, loss="bce", lr=0.5, epochs=30, progress=False)
    assert h.loss[-1] < h.loss[0]
    p = predict_fn(model, proba=True)(ds.x_train)
    assert p.shape == (120,) and np.all((p >= 0) & (p <= 1))
    np.testing.assert_array_equal(predict_fn(model)(ds.x_train), (p > 0.5).astype(np.int64))
    model = apply_init(build_mlp([2, 8, 1], "tanh"), "lecun_normal", 0)
    h = train(
        model,
        ds.x_train,
        ds.y_train.astype(np.float32),
        loss="mse",
        lr=0.1,
        epochs=5,
        progress=False,
    )
    assert all(math.isnan(a) for a in h.accuracy) and h.loss[-1] < h.loss[0]


def test_progress_false_prints_nothing_and_true_goes_to_stderr(capfd):
    ds = _task(2)
    model = apply_init(build_mlp([2, 4, 1], "relu"), "he_normal", rng=0)
    train(model, ds.x_train, ds.y_train, epochs=3, progress=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    train(model, ds.x_train, ds.y_train, epochs=3, progress=True)
    out, err = capfd.readouterr()
    assert out == "" and "training" in err


def test_train_restores_threads_and_global_rng():
    ds = _task(2)
    model = apply_init(build_mlp([2, 4, 1], "relu"), "he_normal", rng=0)
    threads = torch.get_num_threads()
    state = torch.random.get_rng_state()
    train(model, ds.x_train, ds.y_train, epochs=2, batch_size=16, num_threads=1, progress=False)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        ({"loss": "hinge"}, ValueError, "loss"),
        ({"optimizer": "lbfgs"}, ValueError, "optimizer"),
        ({"lr": -1.0}, ValueError, "lr"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"num_threads": 0}, ValueError, "num_threads"),
        ({"x_test": np.zeros((2, 2))}, ValueError, "x_test"),
    ],
)
def test_train_bad_input(kwargs, exc, word):
    ds = _task(2)
    model = build_mlp([2, 4, 1], "relu")
    with pytest.raises(exc, match=word):
        train(model, ds.x_train, ds.y_train, progress=False, **kwargs)
    with pytest.raises(ValueError, match="y"):
        train(model, ds.x_train, ds.y_train[:5], progress=False)
