"""PyTorch on the CPU: build an MLP, apply a course initializer to it, train it deterministically.

The course's initializers draw in the ``"in_out"`` layout (``(fan_in, fan_out)`` for a dense
weight, ``(kh, kw, c_in, c_out)`` for a conv kernel) because its numpy code computes ``x @ W``.
PyTorch stores the transpose, ``"out_in"``: ``nn.Linear.weight`` is ``(out, in)`` and
``nn.Conv2d.weight`` is ``(c_out, c_in, kh, kw)``. :func:`apply_init` draws each weight in the
course layout and moves the axes to torch's, so the same seed gives the same numbers in numpy
and in torch (transposed).

Typical use (lecture 05, He et al.'s 30-layer experiment)::

    model = build_mlp([2] + [64] * 30 + [3], "relu")
    apply_init(model, "he_normal", rng=0)
    history = train(model, x, y, loss="ce", lr=0.01, epochs=300, seed=0, progress=False)
    loss_curves({"he": history})
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "History",
    "apply_init",
    "build_mlp",
    "predict_fn",
    "train",
    "weight_layers",
]


class ScaledTanh(nn.Module):
    """LeCun's scaled tanh ``1.7159 tanh(2x/3)`` (Efficient BackProp, 1998)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "linear": nn.Identity,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,  # negative slope 0.01, as torch and the gain table assume
    "sigmoid": nn.Sigmoid,
    "selu": nn.SELU,
    "scaled_tanh": ScaledTanh,
}
"""Activation name -> module factory (names as in ``course_utils.activations``)."""

_OUTPUT_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    **ACTIVATIONS,
    "softmax": lambda: nn.Softmax(dim=1),
}

_WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _activation_module(activation: str | nn.Module | Callable[[], nn.Module], table, name: str):
    if isinstance(activation, str):
        try:
            return table[activation]()
        except KeyError:
            raise ValueError(f"{name} must be one of {sorted(table)}, got {activation!r}") from None
    if isinstance(activation, nn.Module):
        raise TypeError(
            f"{name} must be a name or a module class/factory (a fresh module per layer), "
            f"not a module instance"
        )
    if callable(activation):
        module = activation()
        if not isinstance(module, nn.Module):
            raise TypeError(f"{name} factory must return an nn.Module, got {type(module).__name__}")
        return module
    raise TypeError(
        f"{name} must be a str or an nn.Module factory, got {type(activation).__name__}"
    )


def build_mlp(
    widths: Sequence[int],
    activation: str | Callable[[], nn.Module] = "relu",
    output_activation: str | Callable[[], nn.Module] | None = None,
    bias: bool = True,
) -> nn.Sequential:
    """A multilayer perceptron ``Linear -> act -> ... -> Linear [-> output_activation]``.

    Parameters
    ----------
    widths : sequence of int
        ``[n_0, n_1, ..., n_L]``: input size, hidden widths, output size (at least 2 entries).
        ``L = len(widths) - 1`` linear layers.
    activation : str or module factory
        Hidden nonlinearity: ``"linear"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``,
        ``"sigmoid"``, ``"selu"``, ``"scaled_tanh"``, or a class such as ``nn.GELU``.
    output_activation : str, module factory or None
        Applied after the last layer; ``None`` (default) leaves logits, which is what
        ``train(loss="bce" | "ce")`` expects.
    bias : bool
        Whether the linear layers have biases.

    Returns
    -------
    torch.nn.Sequential
        Modules in order; the ``Linear`` layers are ``model[0], model[2], ...``.
        Weights hold torch's default initialization until :func:`apply_init` is called.

    Examples
    --------
    >>> model = build_mlp([2, 16, 16, 1], "tanh")
    >>> [type(m).__name__ for m in model]
    ['Linear', 'Tanh', 'Linear', 'Tanh', 'Linear']
    """
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise TypeError(f"widths must be a sequence of ints, got {type(widths).__name__}")
    widths = list(widths)
    if len(widths) < 2:
        raise ValueError(f"widths must have at least 2 entries (input and output), got {widths}")
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise ValueError(f"widths must be positive ints, got {widths}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(int(n_in), int(n_out), bias=bool(bias)))
        if i < len(widths) - 2:
            layers.append(_activation_module(activation, ACTIVATIONS, "activation"))
    if output_activation is not None:
        layers.append(
            _activation_module(output_activation, _OUTPUT_ACTIVATIONS, "output_activation")
        )
    return nn.Sequential(*layers)


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The ``nn.Linear`` and ``nn.Conv1d/2d/3d`` modules of ``model``, in definition order."""
    return [m for m in model.modules() if isinstance(m, _WEIGHT_LAYERS)]


def _in_out_shape(torch_shape: Sequence[int]) -> tuple[int, ...]:
    """torch ``(out, in, *spatial)`` -> course ``(*spatial, in, out)``."""
    out_, in_, *spatial = torch_shape
    return (*spatial, in_, out_)


def _to_out_in(w: np.ndarray) -> np.ndarray:
    """course ``(*spatial, in, out)`` -> torch ``(out, in, *spatial)`` (``W.T`` for dense)."""
    n = w.ndim
    return np.transpose(w, (n - 1, n - 2, *range(n - 2)))


def apply_init(
    model: nn.Module,
    scheme: str | Callable[..., np.ndarray],
    rng: np.random.Generator | int = 0,
    *,
    bias: str = "zeros",
    **kwargs: Any,
) -> nn.Module:
    """Re-initialize every Linear / Conv weight of ``model`` with a course initializer.

    For each weight layer, in the order of ``model.modules()``, the initializer draws an array
    of the course's ``"in_out"`` shape (``(fan_in, fan_out)`` for ``nn.Linear``;
    ``(kh, kw, c_in, c_out)`` for ``nn.Conv2d``, likewise in 1-D/3-D) from one shared
    generator; the array is then transposed to torch's ``"out_in"`` layout (``W.T`` for dense;
    ``(c_out, c_in, kh, kw)`` for conv) and copied in. The fans therefore match torch's own
    ``_calculate_fan_in_and_fan_out`` for the layer: ``he_normal`` gives
    ``Var(w) = 2 / fan_in`` with ``fan_in = in_features`` or ``c_in * kh * kw``.

    Parameters
    ----------
    model : torch.nn.Module
        Modified in place (and returned).
    scheme : str or callable
        A name in ``course_utils.initializers.INITIALIZERS`` (``"he_normal"``,
        ``"glorot_uniform"``, ``"orthogonal"``, ...) or any callable ``(shape, rng, **kw)``
        returning an array of ``shape``.
    rng : numpy.random.Generator or int
        Random source (an int is a seed). Layers are drawn one after the other from it, so
        ``apply_init(model, s, 0)`` equals drawing ``s(shape_l, default_rng(0))`` layer by layer.
    bias : {"zeros", "keep"}
        Set biases to zero (the usual convention) or leave them as they are.
    **kwargs
        Passed to the initializer (e.g. ``mode="fan_out"``, ``std=0.01``, ``gain=...``).

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Examples
    --------
    >>> model = apply_init(build_mlp([784, 256, 10], "relu"), "he_normal", rng=0)
    >>> round(model[0].weight.detach().var().item() * 784, 1)
    2.0
    """
    if isinstance(scheme, str):
        from course_utils.initializers import INITIALIZERS

        try:
            init = INITIALIZERS[scheme]
        except KeyError:
            raise ValueError(
                f"scheme must be one of {sorted(INITIALIZERS)} or a callable, got {scheme!r}"
            ) from None
    elif callable(scheme):
        init = scheme
    else:
        raise TypeError(f"scheme must be a str or a callable, got {type(scheme).__name__}")
    if bias not in ("zeros", "keep"):
        raise ValueError(f"bias must be 'zeros' or 'keep', got {bias!r}")
    if isinstance(rng, np.random.Generator):
        gen = rng
    elif isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        gen = np.random.default_rng(int(rng))
    else:
        raise TypeError(
            f"rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}"
        )
    layers = weight_layers(model)
    if not layers:
        raise ValueError("model has no nn.Linear or nn.Conv layer to initialize")
    with torch.no_grad():
        for layer in layers:
            if getattr(layer, "groups", 1) != 1:
                raise ValueError("grouped convolutions are not supported by apply_init")
            shape = _in_out_shape(tuple(layer.weight.shape))
            w = np.asarray(init(shape, gen, **kwargs))
            if w.shape != shape:
                raise ValueError(
                    f"scheme returned shape {w.shape} for a weight of in_out shape {shape}"
                )
            w = np.ascontiguousarray(_to_out_in(w))
            layer.weight.copy_(torch.from_numpy(w).to(layer.weight.dtype))
            if bias == "zeros" and layer.bias is not None:
                layer.bias.zero_()
    return model


@dataclass
class History:
    """What :func:`train` records, one entry per epoch.

    Attributes
    ----------
    loss : list of float
        Mean training loss over the epoch's mini-batches (weighted by batch size), measured
        before each update (for full-batch training: the loss at the start of the step).
    accuracy : list of float
        Training accuracy over the same batches (NaN for ``loss="mse"``).
    grad_norms : list of list of float
        ``grad_norms[epoch][l]``: Frobenius norm of the gradient of layer ``l``'s weight,
        averaged over the epoch's steps (layers as in :func:`weight_layers`).
    test_loss, test_accuracy : list of float
        On ``(x_test, y_test)`` after each epoch, when given; else empty.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    grad_norms: list[list[float]] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)

    def grad_norm_array(self) -> np.ndarray:
        """``grad_norms`` as an array of shape ``(epochs, layers)``."""
        return np.asarray(self.grad_norms, dtype=np.float64)

    def to_dict(self) -> dict[str, list]:
        """Plain dict of the lists (JSON-friendly)."""
        return {
            "loss": list(self.loss),
            "accuracy": list(self.accuracy),
            "grad_norms": [list(g) for g in self.grad_norms],
            "test_loss": list(self.test_loss),
            "test_accuracy": list(self.test_accuracy),
        }


_LOSSES = ("bce", "ce", "mse")
_OPTIMIZERS = ("sgd", "adam")


def _final_module(model: nn.Module) -> nn.Module | None:
    if isinstance(model, nn.Sequential) and len(model):
        return model[-1]
    return None


def _targets(y: Any, loss: str, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(y.detach().cpu() if torch.is_tensor(y) else y))
    if loss == "ce":
        t = t.reshape(-1)
        if t.is_floating_point() and not torch.equal(t, t.round()):
            raise ValueError(f"{name} must hold integer class labels for loss='ce'")
        return t.to(torch.int64)
    return t.to(torch.float32)


class _Objective:
    """Loss and accuracy for one batch, aware of a final Sigmoid / Softmax module."""

    def __init__(self, loss: str, model: nn.Module):
        self.loss = loss
        last = _final_module(model)
        self.probabilities = isinstance(last, (nn.Sigmoid, nn.Softmax))

    def __call__(self, out: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, float]:
        if self.loss == "bce":
            target = target.reshape(out.shape)
            if self.probabilities:
                value = nn.functional.binary_cross_entropy(out.clamp(1e-7, 1 - 1e-7), target)
                pred = out > 0.5
            else:
                value = nn.functional.binary_cross_entropy_with_logits(out, target)
                pred = out > 0
            acc = (pred == (target > 0.5)).float().mean().item()
        elif self.loss == "ce":
            if self.probabilities:
                value = nn.functional.nll_loss(torch.log(out.clamp_min(1e-12)), target)
            else:
                value = nn.functional.cross_entropy(out, target)
            acc = (out.argmax(dim=1) == target).float().mean().item()
        else:
            value = nn.functional.mse_loss(out, target.reshape(out.shape))
            acc = math.nan
        return value, acc


def train(
    model: nn.Module,
    x: Any,
    y: Any,
    *,
    loss: str = "bce",
    optimizer: str = "sgd",
    lr: float = 0.1,
    epochs: int = 100,
    batch_size: int | None = None,
    momentum: float = 0.0,
    seed: int = 0,
    x_test: Any = None,
    y_test: Any = None,
    num_threads: int = 1,
    progress: bool = True,
) -> History:
    """Train ``model`` in place, deterministically, and return its per-epoch :class:`History`.

    Parameters
    ----------
    model : torch.nn.Module
        Typically from :func:`build_mlp` then :func:`apply_init`.
    x : array_like, shape (n, d)
        Inputs (converted to float32).
    y : array_like, shape (n,) or (n, k)
        ``"bce"``: labels 0/1, one logit output (or a final Sigmoid); ``"ce"``: integer labels
        ``0 .. k-1``, ``k`` logits (or a final Softmax); ``"mse"``: real targets.
    loss : {"bce", "ce", "mse"}
    optimizer : {"sgd", "adam"}
    lr : float
        Learning rate.
    epochs : int
        Passes over the data.
    batch_size : int, optional
        Mini-batch size; ``None`` (default) trains full-batch. Mini-batches are drawn by a
        permutation from a ``torch.Generator`` seeded with ``seed``.
    momentum : float
        SGD momentum (ignored by Adam).
    seed : int
        Seeds the shuffling and, through a forked and restored RNG state, any randomness inside
        the model (e.g. dropout); the global torch RNG is left as it was.
    x_test, y_test : array_like, optional
        Evaluated after every epoch (``History.test_loss`` / ``test_accuracy``).
    num_threads : int
        torch intra-op threads during the call (restored afterwards). Fixed so that two runs
        give bit-identical histories.
    progress : bool
        Show a ``tqdm.auto`` bar (on stderr) with the current loss; ``False`` prints nothing.

    Returns
    -------
    History
        Per-epoch ``loss``, ``accuracy``, ``grad_norms`` (and test metrics when given).

    Examples
    --------
    >>> from course_utils.data import circles
    >>> x, y, _, _ = circles(0)
    >>> model = apply_init(build_mlp([2, 16, 1], "tanh"), "glorot_normal", rng=0)
    >>> history = train(model, x, y, lr=0.5, epochs=5, progress=False)
    >>> len(history.loss), len(history.grad_norms[0])
    (5, 2)
    """
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {_LOSSES}, got {loss!r}")
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {_OPTIMIZERS}, got {optimizer!r}")
    lr = float(lr)
    if not lr > 0 or not math.isfinite(lr):
        raise ValueError(f"lr must be a positive number, got {lr}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if (
        isinstance(num_threads, bool)
        or not isinstance(num_threads, (int, np.integer))
        or num_threads < 1
    ):
        raise ValueError(f"num_threads must be a positive int, got {num_threads!r}")
    xs = torch.as_tensor(
        np.asarray(x.detach().cpu() if torch.is_tensor(x) else x, dtype=np.float32)
    )
    ys = _targets(y, loss, "y")
    n = xs.shape[0]
    if xs.ndim < 2 or n == 0:
        raise ValueError(f"x must have shape (n, d) with n >= 1, got {tuple(xs.shape)}")
    if ys.shape[0] != n:
        raise ValueError(f"y must have {n} rows like x, got {ys.shape[0]}")
    if batch_size is None:
        batch_size = n
    elif (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
    if (x_test is None) != (y_test is None):
        raise ValueError("x_test and y_test must be given together")
    if x_test is not None:
        xt = torch.as_tensor(np.asarray(x_test, dtype=np.float32))
        yt = _targets(y_test, loss, "y_test")
    layers = weight_layers(model)
    objective = _Objective(loss, model)
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=float(momentum))
    else:
        opt = torch.optim.Adam(params, lr=lr)

    from tqdm.auto import tqdm

    history = History()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(int(num_threads))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            shuffle = torch.Generator().manual_seed(seed)
            bar = tqdm(
                range(int(epochs)),
                disable=not progress,
                file=sys.stderr,
                desc="training",
                unit="epoch",
                leave=False,
            )
            for _epoch in bar:
                model.train()
                order = torch.randperm(n, generator=shuffle) if batch_size < n else torch.arange(n)
                total, correct, norms, steps = 0.0, 0.0, torch.zeros(len(layers)), 0
                for start in range(0, n, batch_size):
                    idx = order[start : start + batch_size]
                    out = model(xs[idx])
                    value, acc = objective(out, ys[idx])
                    opt.zero_grad(set_to_none=False)
                    value.backward()
                    with torch.no_grad():
                        norms += torch.stack(
                            [
                                layer.weight.grad.norm()
                                if layer.weight.grad is not None
                                else torch.zeros(())
                                for layer in layers
                            ]
                        )
                    opt.step()
                    total += value.item() * len(idx)
                    correct += acc * len(idx)
                    steps += 1
                history.loss.append(total / n)
                history.accuracy.append(correct / n)
                history.grad_norms.append((norms / steps).tolist())
                if x_test is not None:
                    model.eval()
                    with torch.no_grad():
                        t_value, t_acc = objective(model(xt), yt)
                    history.test_loss.append(t_value.item())
                    history.test_accuracy.append(t_acc)
                if progress:
                    bar.set_postfix(loss=f"{history.loss[-1]:.4f}", refresh=False)
            bar.close()
    finally:
        torch.set_num_threads(previous_threads)
    model.eval()
    return history


def predict_fn(model: nn.Module, *, proba: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap ``model`` as a numpy function ``x (m, d) -> predictions``, for decision boundaries.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier with one output (binary: logit, or probability after a final Sigmoid) or
        ``k`` outputs (logits, or probabilities after a final Softmax).
    proba : bool
        Return probabilities instead of labels: ``(m,)`` of P(class 1) for one output,
        ``(m, k)`` for ``k`` outputs.

    Returns
    -------
    callable
        ``f(x) -> np.ndarray``: int64 labels of shape ``(m,)`` (or float32 probabilities);
        runs under ``torch.no_grad()`` in eval mode.

    Examples
    --------
    >>> f = predict_fn(build_mlp([2, 8, 3], "relu"))
    >>> f(np.zeros((5, 2), dtype=np.float32)).shape
    (5,)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    last = _final_module(model)
    has_probabilities = isinstance(last, (nn.Sigmoid, nn.Softmax))

    def predict(x: np.ndarray) -> np.ndarray:
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                out = model(torch.as_tensor(np.asarray(x, dtype=np.float32)))
        finally:
            model.train(was_training)
        if out.ndim == 1 or out.shape[1] == 1:
            out = out.reshape(-1)
            p = out if has_probabilities else torch.sigmoid(out)
            return p.numpy().astype(np.float32) if proba else (p > 0.5).numpy().astype(np.int64)
        p = out if has_probabilities else torch.softmax(out, dim=1)
        return p.numpy().astype(np.float32) if proba else p.argmax(dim=1).numpy().astype(np.int64)

    return predict
