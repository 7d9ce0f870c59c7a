"""The torch half of lecture 08's library: a normalized MLP and its SGD run, the tiny pre-LN GPT
with GPT-2's initialization, character batches and the training loop.

Kept apart from :mod:`course_utils.modern` (numpy only: residual and attention theory, the stream
variance of a pre-LN stack) so that the theory, the exercise-07 references and the grader import
without torch. ``course_utils.modern`` still exports every name below (looked up on first use).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from course_utils.modern import _int, _real

__all__ = [
    "TinyGPT",
    "char_batches",
    "gpt2_init_",
    "normalized_mlp",
    "relu_outputs",
    "scale_weights_",
    "sgd_losses",
    "train_char_model",
    "weight_grad_norms",
]


# ------------------------------------------------------------------------------ normalization
def normalized_mlp(
    width: int, depth: int, norm: str | None = "batch", *, eps: float = 1e-5
) -> nn.Sequential:
    """``depth`` blocks ``Linear(width, width, bias=False) -> norm -> ReLU`` (``norm`` in
    ``"batch"``, ``"layer"``, ``None``), normalizations without learnable parameters and with
    the given ``eps`` (added to the variance; PyTorch's default 1e-5)."""
    eps = _real("eps", eps, positive=True)
    width = _int("width", width, minimum=1)
    depth = _int("depth", depth, minimum=1)
    if norm not in ("batch", "layer", None):
        raise ValueError(f"norm must be 'batch', 'layer' or None, got {norm!r}")
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers.append(nn.Linear(width, width, bias=False))
        if norm == "batch":
            layers.append(nn.BatchNorm1d(width, eps=eps, affine=False))
        elif norm == "layer":
            layers.append(nn.LayerNorm(width, eps=eps, elementwise_affine=False))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def scale_weights_(model: nn.Module, factor: float) -> nn.Module:
    """Multiply every Linear weight of ``model`` by ``factor`` in place (and return it)."""
    factor = _real("factor", factor, positive=True)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.mul_(factor)
    return model


def relu_outputs(model: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of every ReLU of ``model`` (a forward pass in training mode, no gradient)."""
    outs = []
    with torch.no_grad():
        for layer in model:
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                outs.append(x)
    return outs


def weight_grad_norms(
    model: nn.Sequential, x: torch.Tensor, direction: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """Per Linear layer: the norm of ``dL/dW`` for ``L = mean(model(x) * direction)``, and the
    norm of ``W`` (so ``lr |dL/dW| / |W|`` is the relative size of an SGD step)."""
    model.zero_grad()
    (model(x) * direction).mean().backward()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    grads = np.array([float(m.weight.grad.norm()) for m in linears])
    norms = np.array([float(m.weight.detach().norm()) for m in linears])
    model.zero_grad()
    return grads, norms


def sgd_losses(
    model: nn.Sequential, x: torch.Tensor, target: torch.Tensor, *, lr: float, steps: int
) -> np.ndarray:
    """Plain SGD (no momentum, no weight decay) on ``mean((model(x) - target)^2)``; the loss
    before every step."""
    steps = _int("steps", steps, minimum=1)
    opt = torch.optim.SGD(model.parameters(), lr=_real("lr", lr, positive=True))
    losses = np.empty(steps)
    for s in range(steps):
        loss = ((model(x) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[s] = loss.item()
    return losses


# ------------------------------------------------------------------------------ pre-LN transformer
class _Block(nn.Module):
    """Pre-LN block: ``x + attn(LN(x))`` then ``x + mlp(LN(x))``, GPT-2's layout and names."""

    def __init__(self, d_model: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(d_model)
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.attn_c_proj = nn.Linear(d_model, d_model)
        self.ln_2 = nn.LayerNorm(d_model)
        self.c_fc = nn.Linear(d_model, 4 * d_model)
        self.mlp_c_proj = nn.Linear(4 * d_model, d_model)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        h = self.n_head
        q, k, v = (u.view(b, t, h, d // h).transpose(1, 2) for u in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // h)
        mask = torch.ones(t, t, dtype=torch.bool).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        return self.attn_c_proj(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp_c_proj(F.gelu(self.c_fc(self.ln_2(x))))


class TinyGPT(nn.Module):
    """A small GPT-2-style character model: token and position embeddings, ``n_layer`` pre-LN
    blocks, a final LayerNorm and a linear head. ``forward(idx, streams=True)`` also returns the
    residual stream after the embeddings and after every block."""

    def __init__(self, vocab: int, d_model: int = 64, n_layer: int = 4, n_head: int = 4,
                 n_ctx: int = 64) -> None:  # fmt: skip
        super().__init__()
        for name, v in (("vocab", vocab), ("d_model", d_model), ("n_layer", n_layer),
                        ("n_head", n_head), ("n_ctx", n_ctx)):  # fmt: skip
            _int(name, v, minimum=1)
        if d_model % n_head:
            raise ValueError(f"d_model ({d_model}) must be a multiple of n_head ({n_head})")
        self.n_layer, self.n_ctx = n_layer, n_ctx
        self.wte = nn.Embedding(vocab, d_model)
        self.wpe = nn.Embedding(n_ctx, d_model)
        self.blocks = nn.ModuleList(_Block(d_model, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab, bias=False)

    def forward(self, idx: torch.Tensor, streams: bool = False):
        t = idx.shape[1]
        if t > self.n_ctx:
            raise ValueError(f"sequence length {t} exceeds n_ctx = {self.n_ctx}")
        x = self.wte(idx) + self.wpe(torch.arange(t))
        seen = [x]
        for block in self.blocks:
            x = block(x)
            seen.append(x)
        logits = self.head(self.ln_f(x))
        return (logits, seen) if streams else logits


def gpt2_init_(
    model: TinyGPT, generator: torch.Generator, *, std: float = 0.02, scale_residual: bool = True
) -> TinyGPT:
    """GPT-2's initialization (Radford et al. 2019): every Linear and
    Embedding weight ``N(0, std^2)``, biases 0, LayerNorms (1, 0), and the two residual output
    projections of each block (``attn_c_proj``, ``mlp_c_proj``) ``N(0, std^2 / (2 n_layer))``
    when ``scale_residual`` (the paper scales the N residual layers by 1/sqrt(N), two per block;
    Hugging Face's GPT2 and nanoGPT write it as 1/sqrt(2 n_layer)). Draws come from ``generator``
    in module order."""
    std = _real("std", std, nonneg=True)
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                s = std
                if scale_residual and name.endswith("c_proj"):
                    s = std / math.sqrt(2 * model.n_layer)
                mod.weight.normal_(0.0, s, generator=generator)
                if getattr(mod, "bias", None) is not None:
                    mod.bias.zero_()
            elif isinstance(mod, nn.LayerNorm):
                mod.weight.fill_(1.0)
                mod.bias.zero_()
    return model


def char_batches(ids: np.ndarray, batch: int, n_ctx: int, rng: np.random.Generator) -> tuple:
    """A random batch of windows: inputs ``(batch, n_ctx)`` and next-character targets."""
    starts = rng.integers(0, len(ids) - n_ctx - 1, size=batch)
    x = np.stack([ids[s : s + n_ctx] for s in starts])
    y = np.stack([ids[s + 1 : s + n_ctx + 1] for s in starts])
    return torch.from_numpy(x), torch.from_numpy(y)


def train_char_model(
    model: TinyGPT,
    ids: np.ndarray,
    *,
    steps: int,
    rng: np.random.Generator | int,
    batch: int = 16,
    lr: float = 3e-3,
) -> np.ndarray:
    """Adam on next-character cross-entropy; returns the training loss of every step
    (batches drawn from ``rng``, so two models trained with the same seed see the same data)."""
    steps = _int("steps", steps, minimum=1)
    rng = np.random.default_rng(rng)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = np.empty(steps)
    model.train()
    for s in range(steps):
        x, y = char_batches(ids, batch, model.n_ctx, rng)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[s] = loss.item()
    return losses
