"""The PyTorch counterpart of each course activation, for the cross-framework tests."""

from __future__ import annotations

from collections.abc import Callable

import torch


def torch_activation(
    name: str, slope: float | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``torch`` function computing the activation ``name`` (``slope``: leaky ReLU's, default 0.01)."""
    if name == "linear":
        return lambda t: t
    if name == "leaky_relu":
        return lambda t: torch.nn.functional.leaky_relu(t, 0.01 if slope is None else slope)
    if name == "scaled_tanh":
        return lambda t: 1.7159 * torch.tanh(2.0 * t / 3.0)
    if name == "selu":
        return torch.nn.functional.selu
    return getattr(torch, name)
