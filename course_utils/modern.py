"""Initialization in the networks people train today: residual streams, normalization, attention
and a small pre-LN transformer (lecture 08).

Every rule here is LeCun's variance argument applied to a new wiring:

* **Residual stream** ``x_(l+1) = x_l + beta F(x_l)``. If the branch ``F`` preserves the second
  moment (``E|F(x)|^2 = E|x|^2``, e.g. a He-initialized ``ReLU(x W1) W2``) and its last weight is
  zero-mean and independent of ``x``, the cross term vanishes and
  ``q_(l+1) = (1 + beta^2) q_l``: ``q_L = q_0 (1 + beta^2)^L`` (He et al. 2016; Fixup, Zhang
  et al. 2019, scales the branch down with depth). With a normalization at the end of the branch
  (BatchNorm with gain ``gamma``) the branch adds a fixed variance: ``q_L = q_0 + L gamma^2``
  (De & Smith 2020); ``gamma = 0`` (Goyal et al. 2017) or a zero last layer / SkipInit's
  ``alpha = 0`` keeps ``q_L = q_0``.
* **Attention logits** ``q . k / sqrt(d_k)``: with ``q = x W_q``, ``k = x' W_k``, unit-variance
  tokens and ``W ~ N(0, s^2)`` the logit variance is ``d_k (d_model s_q^2)(d_model s_k^2)``
  before the ``1/sqrt(d_k)`` (Vaswani et al. 2017).
* **Pre-LN transformer** (Radford et al. 2019; Xiong et al. 2020): each branch sees a
  layer-normalized input, so it adds a variance that does not depend on the stream's size; the
  stream's variance grows linearly with depth, and GPT-2's ``1/sqrt(2 n_layer)`` on the residual
  projections divides the total added variance by ``2 n_layer``.

Numerics (Gauss-Hermite expectations) are numpy and this module imports without torch; the torch
pieces (normalized MLP, the tiny GPT, its training loop) live in :mod:`course_utils.modern_torch`
and are still exported here, imported on first use (``from course_utils.modern import TinyGPT``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# The torch half (course_utils.modern_torch), exported here and imported on first use.
_TORCH_NAMES = (
    "TinyGPT", "char_batches", "gpt2_init_", "normalized_mlp", "relu_outputs", "scale_weights_",
    "sgd_losses", "train_char_model", "weight_grad_norms",
)  # fmt: skip

__all__ = [
    *_TORCH_NAMES,
    "attention_logit_variance",
    "causal_attention_weight_sq",
    "encode_text",
    "flat_branch_scale",
    "gaussian_softmax_entropy",
    "gelu_second_moment",
    "make_text",
    "mlp_branch_variance",
    "pre_ln_stream_variance",
    "residual_std",
    "residual_variance",
    "sample_attention_logits",
    "simulate_residual",
    "simulate_residual_bn",
    "softmax_entropy",
    "stream_stds",
]


# ------------------------------------------------------------------------------ validation
def _int(name: str, value: object, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _real(name: str, value: object, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if positive and v <= 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    if nonneg and v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    return v


# ------------------------------------------------------------------------------ residual theory
def residual_variance(
    depth: int, branch_scale: float = 1.0, *, norm: bool = False, q0: float = 1.0
) -> np.ndarray:
    """Predicted second moment of the residual stream after ``0 .. depth`` blocks.

    ``x_(l+1) = x_l + beta F(x_l)`` with a second-moment-preserving branch ``F`` whose last
    weight is zero-mean: ``q_l = q0 (1 + beta^2)^l``. With ``norm=True`` the branch ends in a
    normalization with gain ``beta`` (BatchNorm's gamma), whose output has unit variance
    whatever ``x_l`` is: ``q_l = q0 + l beta^2``.

    Parameters
    ----------
    depth : int >= 0
    branch_scale : float >= 0
        ``beta`` (``1/sqrt(depth)`` is Fixup's idea; 0 is a zero last layer, BN gamma 0 or
        SkipInit's alpha 0).
    norm : bool
        Whether the branch ends in a normalization layer.
    q0 : float > 0
        Second moment of the input.

    Examples
    --------
    >>> residual_variance(3, 1.0).tolist()
    [1.0, 2.0, 4.0, 8.0]
    >>> residual_variance(3, 1.0, norm=True).tolist()
    [1.0, 2.0, 3.0, 4.0]
    """
    depth = _int("depth", depth)
    beta = _real("branch_scale", branch_scale, nonneg=True)
    q0 = _real("q0", q0, positive=True)
    steps = np.arange(depth + 1, dtype=np.float64)
    if norm:
        return q0 + steps * beta**2
    return q0 * (1.0 + beta**2) ** steps


def residual_std(
    depth: int, branch_scale: float = 1.0, *, norm: bool = False, std0: float = 1.0
) -> float:
    """Predicted std of the residual stream after ``depth`` blocks (see :func:`residual_variance`).

    >>> round(residual_std(50, 1 / 50**0.5), 4)
    1.6406
    """
    std0 = _real("std0", std0, positive=True)
    return float(math.sqrt(residual_variance(depth, branch_scale, norm=norm, q0=std0**2)[-1]))


def flat_branch_scale(depth: int, growth: float = 1.0) -> float:
    """The branch scale ``beta`` for which the stream's std grows by exactly ``growth`` over
    ``depth`` plain blocks: ``(1 + beta^2)^(depth/2) = growth``, ``beta = sqrt(growth^(2/depth) - 1)``.

    ``growth = 1`` (perfectly flat) needs ``beta = 0``; ``growth < 1`` is impossible (the branch
    can only add variance) and raises ValueError.

    >>> round(flat_branch_scale(50, math.e ** 0.5), 4)
    0.1421
    """
    depth = _int("depth", depth, minimum=1)
    growth = _real("growth", growth, positive=True)
    if growth < 1:
        raise ValueError(
            f"growth must be >= 1 (a residual branch only adds variance), got {growth}"
        )
    return float(math.sqrt(math.expm1(2.0 * math.log(growth) / depth)))


# ------------------------------------------------------------------------------ residual simulation
def stream_stds(
    x: np.ndarray,
    w1s: Sequence[np.ndarray],
    w2s: Sequence[np.ndarray],
    branch_scale: float = 1.0,
) -> np.ndarray:
    """Root mean square of the residual stream before the first and after every block
    ``x <- x + beta ReLU(x W1) W2`` (``len(w1s) + 1`` values).

    >>> x = np.ones((2, 3)); w = [np.zeros((3, 3))]
    >>> stream_stds(x, w, w).tolist()
    [1.0, 1.0]
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be a (batch, width) array, got shape {x.shape}")
    if len(w1s) != len(w2s):
        raise ValueError(f"w1s and w2s must have the same length, got {len(w1s)} and {len(w2s)}")
    beta = _real("branch_scale", branch_scale, nonneg=True)
    out = [math.sqrt(float(np.mean(x**2)))]
    for w1, w2 in zip(w1s, w2s, strict=True):
        x = x + beta * (np.maximum(x @ w1, 0.0) @ w2)
        out.append(math.sqrt(float(np.mean(x**2))))
    return np.array(out)


def _batch_norm(z: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    return (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps)


def simulate_residual(
    depth: int,
    branch_scale: float,
    rng: np.random.Generator | int,
    *,
    width: int = 256,
    networks: int = 1000,
) -> np.ndarray:
    """Mean square of the residual stream of one input ``x_0 ~ N(0, I)`` after ``0 .. depth``
    plain blocks ``x <- x + beta ReLU(x W1) W2`` (W1 He, W2 LeCun), in ``networks`` independent
    random networks: shape ``(networks, depth + 1)``.

    One input through a random network has an exact law that needs no weight matrix: given
    ``x``, ``x W1 ~ N(0, |x|^2 (2/n) I)``, and given ``h = ReLU(x W1)``,
    ``h W2 ~ N(0, |h|^2 / n I)``; so each block draws two Gaussian vectors of ``width`` entries
    per network, and a thousand networks of 50 blocks take a fraction of a second.
    """
    depth = _int("depth", depth, minimum=1)
    width = _int("width", width, minimum=1)
    networks = _int("networks", networks, minimum=1)
    beta = _real("branch_scale", branch_scale, nonneg=True)
    rng = np.random.default_rng(rng)
    x = rng.standard_normal((networks, width))
    out = np.empty((networks, depth + 1))
    out[:, 0] = np.mean(x**2, axis=1)
    for layer in range(depth):
        if beta != 0.0:
            z = rng.standard_normal((networks, width)) * np.sqrt(2.0 * out[:, layer : layer + 1])
            h2 = np.mean(np.maximum(z, 0.0) ** 2, axis=1, keepdims=True)
            x = x + beta * rng.standard_normal((networks, width)) * np.sqrt(h2)
        out[:, layer + 1] = np.mean(x**2, axis=1)
    return out


def simulate_residual_bn(
    depth: int,
    gamma: float,
    rng: np.random.Generator | int,
    *,
    width: int = 256,
    batch: int = 64,
    networks: int = 4,
) -> np.ndarray:
    """Mean square of the residual stream after ``0 .. depth`` blocks
    ``x <- x + gamma BN(ReLU(x W1) W2)`` (a batch norm without affine parameters, then the gain
    ``gamma``; W1 He, W2 LeCun) for a batch of ``N(0, I)`` inputs, in ``networks`` networks:
    shape ``(networks, depth + 1)``. Batch norm needs a batch, so the weights are real matrices."""
    depth = _int("depth", depth, minimum=1)
    width = _int("width", width, minimum=1)
    batch = _int("batch", batch, minimum=2)
    networks = _int("networks", networks, minimum=1)
    gamma = _real("gamma", gamma, nonneg=True)
    rng = np.random.default_rng(rng)
    out = np.empty((networks, depth + 1))
    for r in range(networks):
        x = rng.standard_normal((batch, width))
        out[r, 0] = np.mean(x**2)
        for layer in range(depth):
            if gamma != 0.0:
                w1 = rng.standard_normal((width, width)) * math.sqrt(2.0 / width)
                w2 = rng.standard_normal((width, width)) * math.sqrt(1.0 / width)
                x = x + gamma * _batch_norm(np.maximum(x @ w1, 0.0) @ w2)
            out[r, layer + 1] = np.mean(x**2)
    return out


# ------------------------------------------------------------------------------ attention
def attention_logit_variance(
    d_model: int, d_k: int, std_q: float, std_k: float | None = None, *, scaled: bool = True
) -> float:
    """Variance of the attention logit ``q . k`` (``/ sqrt(d_k)`` when ``scaled``) for
    unit-variance tokens ``x, x'`` of width ``d_model`` and ``q = x W_q``, ``k = x' W_k`` with
    ``W_q ~ N(0, std_q^2)``, ``W_k ~ N(0, std_k^2)`` (``std_k`` defaults to ``std_q``):
    ``d_k (d_model std_q^2)(d_model std_k^2) / d_k^[scaled]``.

    >>> attention_logit_variance(64, 64, 64 ** -0.5, scaled=False)
    64.0
    """
    d_model = _int("d_model", d_model, minimum=1)
    d_k = _int("d_k", d_k, minimum=1)
    std_q = _real("std_q", std_q, nonneg=True)
    std_k = std_q if std_k is None else _real("std_k", std_k, nonneg=True)
    var = d_k * (d_model * std_q**2) * (d_model * std_k**2)
    return float(var / d_k if scaled else var)


def sample_attention_logits(
    d_model: int,
    d_k: int,
    rng: np.random.Generator | int,
    *,
    n_queries: int = 64,
    n_keys: int = 128,
    scaled: bool = True,
) -> np.ndarray:
    """Logits ``q . k (/ sqrt(d_k))`` of ``n_queries`` queries against ``n_keys`` keys, with
    unit-variance tokens and LeCun projections ``W_q, W_k ~ N(0, 1/d_model)``: shape
    ``(n_queries, n_keys)``."""
    rng = np.random.default_rng(rng)
    w_q = rng.standard_normal((d_model, d_k)) / math.sqrt(d_model)
    w_k = rng.standard_normal((d_model, d_k)) / math.sqrt(d_model)
    q = rng.standard_normal((n_queries, d_model)) @ w_q
    k = rng.standard_normal((n_keys, d_model)) @ w_k
    logits = q @ k.T
    return logits / math.sqrt(d_k) if scaled else logits


def softmax_entropy(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Entropy (nats) of ``softmax(logits)`` along ``axis``: ``log Z - sum p z``."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=axis, keepdims=True)
    p = e / s
    return np.squeeze(np.log(s), axis=axis) - np.sum(p * z, axis=axis)


def gaussian_softmax_entropy(logit_variance: float | np.ndarray, n_keys: int) -> np.ndarray:
    """Large-``n_keys`` prediction of the entropy of a softmax over i.i.d. ``N(0, s^2)`` logits:
    ``log n - s^2 / 2``.

    With many keys ``Z = sum e^z ~ n E[e^z] = n e^(s^2/2)`` and ``sum p z ~ E[z e^z] / E[e^z] = s^2``,
    so ``H = log Z - sum p z = log n - s^2/2``. The law of large numbers behind it needs
    ``e^(s^2) << n`` (``s^2`` well below ``log n``); beyond, a few keys take all the weight.
    """
    n_keys = _int("n_keys", n_keys, minimum=1)
    s2 = np.asarray(logit_variance, dtype=np.float64)
    return math.log(n_keys) - s2 / 2.0


_HERMITE = np.polynomial.hermite_e.hermegauss(80)


def gelu_second_moment(q: float) -> float:
    """``E[GELU(h)^2]`` for ``h ~ N(0, q)`` (exact GELU ``h Phi(h)``), by 80-point Gauss-Hermite
    quadrature. Small ``q``: about ``q/4``.

    >>> round(gelu_second_moment(1.0), 4)
    0.4252
    """
    q = _real("q", q, nonneg=True)
    z, w = _HERMITE
    h = math.sqrt(q) * z
    phi = 0.5 * (1.0 + np.vectorize(math.erf)(h / math.sqrt(2.0)))
    return float(np.sum(w * (h * phi) ** 2) / math.sqrt(2.0 * math.pi))


def mlp_branch_variance(d_model: int, std: float, proj_std: float) -> float:
    """Variance the MLP branch ``GELU(LN(x) W_fc) W_proj`` of a pre-LN block adds to the stream:
    the LayerNorm output has ``sum_i u_i^2 = d_model``, so ``h ~ N(0, d_model std^2)`` and
    ``Var = 4 d_model proj_std^2 E[GELU(h)^2]`` (``W_fc ~ N(0, std^2)``, ``4 d_model`` hidden units,
    zero biases)."""
    d_model = _int("d_model", d_model, minimum=1)
    std = _real("std", std, nonneg=True)
    proj_std = _real("proj_std", proj_std, nonneg=True)
    return 4 * d_model * proj_std**2 * gelu_second_moment(d_model * std**2)


def causal_attention_weight_sq(n_ctx: int) -> float:
    """``sum_j p_tj^2`` for uniform causal attention (``p_tj = 1/t``), averaged over the
    positions ``t = 1 .. n_ctx``: ``H_n / n`` (harmonic number)."""
    n_ctx = _int("n_ctx", n_ctx, minimum=1)
    return float(np.sum(1.0 / np.arange(1, n_ctx + 1)) / n_ctx)


def pre_ln_stream_variance(
    n_layer: int,
    d_model: int,
    n_ctx: int,
    *,
    std: float = 0.02,
    scale_residual: bool = True,
    positions: str = "independent",
) -> np.ndarray:
    """Predicted mean square of a GPT-2-initialized pre-LN stream after ``0 .. n_layer`` blocks.

    ``q_0 = 2 std^2`` (token plus position embedding). Each block adds, independently of the
    stream's size because its branches read ``LN(x)``: the MLP branch
    (:func:`mlp_branch_variance`) and the attention branch ``d_model p^2 (d_model std^2) a``,
    where ``p`` is the projection std and ``a`` = :func:`causal_attention_weight_sq` (logits of
    variance ``(d_model std^2)^2`` are nearly 0 at init, so attention averages the values
    uniformly). ``q_l = q_0 + l (v_attn + v_mlp)``.

    How much averaging the values shrinks them depends on how alike the positions are:
    ``positions="independent"`` gives the lower bound ``a = H_n / n``, ``"identical"`` the upper
    bound ``a = 1`` (every position carries the same vector, averaging changes nothing).
    """
    n_layer = _int("n_layer", n_layer, minimum=1)
    if positions not in ("independent", "identical"):
        raise ValueError(f"positions must be 'independent' or 'identical', got {positions!r}")
    p = std / math.sqrt(2 * n_layer) if scale_residual else std
    v_mlp = mlp_branch_variance(d_model, std, p)
    a = causal_attention_weight_sq(n_ctx) if positions == "independent" else 1.0
    v_attn = d_model * p**2 * d_model * std**2 * a
    return 2 * std**2 + np.arange(n_layer + 1) * (v_attn + v_mlp)


# ------------------------------------------------------------------------------ text and training
_WORDS = {
    "det": ["the", "a", "one", "every"],
    "noun": ["cat", "dog", "bird", "fish", "child", "robot"],
    "verb": ["sees", "likes", "follows", "finds", "hears"],
    "adj": ["small", "red", "quick", "lazy", "old"],
}


def make_text(n_sentences: int, rng: np.random.Generator | int) -> str:
    """Sentences of a tiny grammar (``det [adj] noun verb det [adj] noun.``), generated in-process."""
    n_sentences = _int("n_sentences", n_sentences, minimum=1)
    rng = np.random.default_rng(rng)

    def phrase() -> str:
        words = [str(rng.choice(_WORDS["det"]))]
        if rng.random() < 0.5:
            words.append(str(rng.choice(_WORDS["adj"])))
        words.append(str(rng.choice(_WORDS["noun"])))
        return " ".join(words)

    return " ".join(
        f"{phrase()} {rng.choice(_WORDS['verb'])} {phrase()}." for _ in range(n_sentences)
    )


def encode_text(text: str) -> tuple[np.ndarray, list[str]]:
    """Character ids (int64) and the sorted vocabulary."""
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    return np.array([index[c] for c in text], dtype=np.int64), vocab


def __getattr__(name: str):  # PEP 562: the torch half, imported when first asked for
    if name in _TORCH_NAMES:
        from course_utils import modern_torch

        return getattr(modern_torch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
