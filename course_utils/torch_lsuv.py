"""LSUV on PyTorch models (Mishkin & Matas, "All you need is a good init", ICLR 2016): the torch
half of :mod:`course_utils.lsuv`, beside the course's other torch code (:mod:`course_utils.training`,
:mod:`course_utils.modern_torch`).

* :func:`lsuv_torch` - orthogonal pre-init, then rescale each ``Linear``/``Conv`` layer of a
  ``torch.nn.Module`` until its output variance on a batch is 1 (forward hooks)
* :func:`layer_variances_torch` - each layer's output variance on a batch, with its standard error
* :func:`default_variances_torch` - the same for PyTorch's default init, over several seeds
* :func:`training_comparison` - loss curves after PyTorch's default, He and LSUV, over seeds

:mod:`course_utils.lsuv` (numpy only, importable without torch) still exports every name here,
imported on first use; torch itself is imported inside the functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_utils.lsuv import _max_iter, _positive

__all__ = [
    "LayerReport",
    "default_variances_torch",
    "layer_variances_torch",
    "lsuv_torch",
    "training_comparison",
]


@dataclass(frozen=True)
class LayerReport:
    """One layer of :func:`lsuv_torch`: its name, kind, rescalings and variances."""

    name: str
    kind: str
    iterations: int
    initial_variance: float
    variance: float
    converged: bool


def lsuv_torch(
    model: Any,
    x: Any,
    *,
    tol: float = 0.1,
    max_iter: int = 10,
    target: float = 1.0,
    pre_init: str | None = "orthogonal",
    generator: Any = None,
    layer_types: tuple[type, ...] | None = None,
) -> list[LayerReport]:
    """LSUV on a PyTorch model, in place: orthogonal pre-init, then unit output variance per layer.

    The layers are the model's ``nn.Linear`` and ``nn.Conv1d/2d/3d`` modules (or ``layer_types``)
    in the order ``model.modules()`` lists them, which must be the order the forward pass uses
    them (true for ``nn.Sequential``). For each one a forward hook records its output while the
    whole batch runs through the model under ``torch.no_grad()``; its ``weight`` is divided by
    ``sqrt(Var(output) / target)`` until ``|Var - target| < tol`` or ``max_iter`` rescalings.
    Biases are kept (PyTorch's default init gives them non-zero values, which is why some layers
    need more than one step).

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor
        A data batch the model accepts.
    tol, max_iter, target : see :func:`lsuv`
    pre_init : {"orthogonal", None}
        ``torch.nn.init.orthogonal_`` on every weight first (paper), or keep the current weights.
    generator : torch.Generator, optional
        Source of the orthogonal pre-init (seeded for reproducibility).
    layer_types : tuple of types, optional

    Returns
    -------
    list of LayerReport

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    >>> reps = lsuv_torch(net, torch.randn(64, 8, generator=g), generator=g)
    >>> all(r.converged for r in reps)
    True
    """
    import torch
    from torch import nn

    tol = _positive("tol", tol)
    target = _positive("target", target)
    max_iter = _max_iter(max_iter)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if pre_init not in ("orthogonal", None):
        raise ValueError(f"pre_init must be 'orthogonal' or None, got {pre_init!r}")
    if layer_types is None:
        layer_types = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, layer_types)]
    if not layers:
        raise ValueError("model has no layer of the types LSUV rescales (Linear, Conv)")
    reports = []
    with torch.no_grad():
        if pre_init == "orthogonal":
            for _, m in layers:
                nn.init.orthogonal_(m.weight, generator=generator)
        for name, m in layers:
            seen: list[Any] = []
            handle = m.register_forward_hook(lambda _m, _i, out, seen=seen: seen.append(out))

            def measure(seen: list[Any] = seen, name: str = name) -> float:
                seen.clear()
                model(x)
                if not seen:
                    raise ValueError(f"layer {name!r} was not used by the forward pass")
                return float(seen[-1].detach().double().var(unbiased=False))

            try:
                v = measure()
                first = v
                steps = 0
                while abs(v - target) >= tol and steps < max_iter:
                    if not math.isfinite(v) or v <= 0:
                        raise ValueError(f"layer {name!r} has output variance {v!r}")
                    m.weight.mul_(math.sqrt(target / v))
                    v = measure()
                    steps += 1
            finally:
                handle.remove()
            reports.append(
                LayerReport(name, type(m).__name__, steps, first, v, abs(v - target) < tol)
            )
    return reports


def layer_variances_torch(
    model: Any, x: Any, *, layer_types: tuple[type, ...] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Output variance of every ``Linear`` / ``Conv`` layer of ``model`` on ``x``, with its SE.

    The variance is the one LSUV targets, over all entries of the layer's output
    ``z`` (shape ``(batch, ...)``): :math:`\\hat v = \\frac1B \\sum_b q_b` with
    :math:`q_b = \\operatorname{mean}_j (z_{bj} - \\bar z)^2`. The rows of a batch are
    independent draws, so the standard error is that of a mean of ``B`` i.i.d. terms,

    .. math:: \\operatorname{SE}(\\hat v) = \\operatorname{sd}(q_b) / \\sqrt{B},

    which holds for any output distribution (units within a row are correlated; that is why the
    row, not the entry, is the unit of sampling). Estimating :math:`\\bar z` from the same batch
    changes :math:`\\hat v` by :math:`O(1/B)`, negligible against the SE.

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor, shape (batch, ...)
    layer_types : tuple of types, optional
        Default ``nn.Linear`` and ``nn.Conv1d/2d/3d`` (as :func:`lsuv_torch`).

    Returns
    -------
    variances, standard_errors : numpy.ndarray
        One entry per layer, in the order ``model.modules()`` lists them.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8, bias=False))
    >>> _ = torch.nn.init.eye_(net[0].weight)
    >>> v, se = layer_variances_torch(net, torch.randn(4000, 4, generator=g))
    >>> bool(abs(v[0] - 0.5) < 3 * se[0])  # half the outputs are copies, half are 0
    True
    """
    import torch
    from torch import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 1 or x.shape[0] < 2:
        raise ValueError(f"x must hold a batch of at least 2 rows, got shape {tuple(x.shape)}")
    if layer_types is None:
        layer_types = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    layers = [m for m in model.modules() if isinstance(m, layer_types)]
    if not layers:
        raise ValueError("model has no layer of the requested types (Linear, Conv)")
    outs: list[Any] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: outs.append(o.detach())) for m in layers]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    variances, errors = [], []
    for z in outs:
        z = z.double().reshape(z.shape[0], -1).numpy()
        q = ((z - z.mean()) ** 2).mean(axis=1)
        variances.append(float(q.mean()))
        errors.append(float(q.std(ddof=1) / math.sqrt(len(q))))
    return np.array(variances), np.array(errors)


def default_variances_torch(
    widths: Sequence[int], activation: str, x: Any, seeds: Sequence[int]
) -> np.ndarray:
    """Output variance of every layer (:func:`layer_variances_torch`) of ``build_mlp(widths,
    activation)`` under PyTorch's default initialization, one row per seed.

    Each seed re-seeds torch's global generator before the model is built (module constructors
    draw from it); the caller's global state is restored afterwards.

    Returns
    -------
    numpy.ndarray, shape (len(seeds), len(widths) - 1)

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(256, 4, generator=torch.Generator().manual_seed(0))
    >>> default_variances_torch([4, 8, 8], "tanh", x, seeds=[0, 1]).shape
    (2, 2)
    """
    import torch

    from course_utils.training import build_mlp

    rows = []
    with torch.random.fork_rng(devices=[]):
        for seed in seeds:
            torch.manual_seed(int(seed))
            model = build_mlp(list(widths), activation)
            rows.append(layer_variances_torch(model, x)[0])
    return np.array(rows)


def training_comparison(
    widths: Sequence[int],
    activation: str,
    x: Any,
    y: Any,
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    epochs: int = 60,
    lr: float = 3e-3,
    optimizer: str = "adam",
    loss: str = "ce",
    he_scheme: str = "he_normal",
) -> dict[str, np.ndarray]:
    """Training loss per epoch after three initializations of the same MLP, over several seeds.

    - ``"PyTorch default"``: ``build_mlp(widths, activation)`` as constructed (weights and
      biases ``U(+-1/sqrt(fan_in))``);
    - ``"He"``: the same model re-initialized by :func:`course_utils.training.apply_init`
      with ``he_scheme`` (biases zero);
    - ``"LSUV"``: the default model after :func:`lsuv_torch` on the training inputs ``x``
      (orthogonal pre-init, unit output variance per layer, default biases kept).

    For each seed the three start from the same constructor draw (torch's global generator
    seeded with the seed; restored afterwards), He and LSUV draw from generators seeded with it,
    and :func:`course_utils.training.train` runs full-batch with that seed.

    Returns
    -------
    dict name -> numpy.ndarray, shape (len(seeds), epochs)
        The training loss per epoch (measured before each update).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((64, 2)).astype(np.float32)
    >>> y = (x[:, 0] > 0).astype(np.int64)
    >>> out = training_comparison([2, 8, 8, 2], "relu", x, y, seeds=[0], epochs=3)
    >>> sorted(out), out["LSUV"].shape
    (['He', 'LSUV', 'PyTorch default'], (1, 3))
    """
    import torch

    from course_utils.training import apply_init, build_mlp, train

    xs = torch.as_tensor(np.asarray(x, dtype=np.float32))
    curves: dict[str, list[list[float]]] = {"PyTorch default": [], "He": [], "LSUV": []}
    with torch.random.fork_rng(devices=[]):
        for seed in seeds:
            for name, runs in curves.items():
                torch.manual_seed(int(seed))
                model = build_mlp(list(widths), activation)
                if name == "He":
                    apply_init(model, he_scheme, int(seed))
                elif name == "LSUV":
                    lsuv_torch(model, xs, generator=torch.Generator().manual_seed(int(seed)))
                history = train(
                    model, x, y, loss=loss, optimizer=optimizer, lr=lr, epochs=epochs,
                    seed=int(seed), progress=False,
                )  # fmt: skip
                runs.append(history.loss)
    return {name: np.array(runs) for name, runs in curves.items()}
