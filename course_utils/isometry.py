"""Dynamical isometry in practice: deep linear learning times and orthogonal convolutions.

Two results that lecture 06 demonstrates, each with its experiment:

- :func:`deep_linear_learning_times` - Saxe, McClelland & Ganguli (2014): a deep *linear*
  network started from orthogonal layers learns in a time that stops growing with depth, while
  one started from scaled Gaussian layers (variance ``1/n``, norm-preserving on average) slows
  down and soon does not learn at all.
- :func:`delta_orthogonal` - Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington (2018): a conv
  kernel that is zero except for an orthogonal matrix at its centre tap makes the convolution
  an exact isometry; an orthogonal matrix reshaped into a kernel (what ``orthogonal`` and
  ``torch.nn.init.orthogonal_`` do to a conv weight) does not. The spectra come from
  :func:`course_utils.theory.conv_singular_values`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LearningTimes", "deep_linear_learning_times", "delta_orthogonal", "gain_tradeoff"]


def _generator(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator or an int, got {type(rng).__name__}")


def _haar(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
    """``batch`` Haar orthogonal ``n x n`` matrices (QR with the sign fix, Mezzadri 2007)."""
    q, r = np.linalg.qr(rng.standard_normal((batch, n, n)))
    return q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]


def delta_orthogonal(
    shape: Sequence[int], rng: np.random.Generator | int, *, gain: float = 1.0, dtype=np.float32
) -> np.ndarray:
    """Delta-orthogonal conv kernel ``(kh, kw, c_in, c_out)`` (Xiao et al. 2018), ``c_in <= c_out``.

    Every tap is zero except the centre one, ``K[kh // 2, kw // 2] = gain * H`` with ``H`` a
    Haar-random ``c_in x c_out`` matrix with orthonormal rows. At every frequency the
    convolution then multiplies the channels by ``gain * H`` (times a phase), so with circular
    padding the layer preserves the norm of every input exactly (for ``gain = 1``).

    Examples
    --------
    >>> k = delta_orthogonal((3, 3, 4, 4), 0)
    >>> float(np.abs(k[1, 1] @ k[1, 1].T - np.eye(4)).max()) < 1e-6, float(np.abs(k[0]).max())
    (True, 0.0)
    """
    if isinstance(shape, (str, bytes)) or len(shape) != 4:
        raise ValueError(f"shape must be (kh, kw, c_in, c_out), got {shape!r}")
    kh, kw, c_in, c_out = (int(s) for s in shape)
    if min(kh, kw, c_in, c_out) < 1:
        raise ValueError(f"shape entries must be positive, got {shape!r}")
    if c_in > c_out:
        raise ValueError(
            f"delta-orthogonal needs c_in <= c_out to preserve norms, got c_in {c_in} > c_out {c_out}"
        )
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not gain > 0:
        raise ValueError(f"gain must be a positive number, got {gain!r}")
    gen = _generator(rng)
    q = _haar(gen, 1, c_out)[0][:c_in]  # c_in orthonormal rows of length c_out
    kernel = np.zeros((kh, kw, c_in, c_out), dtype=np.float64)
    kernel[kh // 2, kw // 2] = gain * q
    return kernel.astype(dtype)


@dataclass
class LearningTimes:
    """Result of :func:`deep_linear_learning_times`, one entry per depth.

    Attributes
    ----------
    depths : list of int
    epochs : ndarray of float
        Median over the seeds of the epochs until the loss fell below ``threshold`` times its
        initial value, at the best of the tried rates; ``inf`` when no rate got there within
        ``max_epochs`` for at least half of the seeds.
    rate : ndarray of float
        The base rate ``eta`` that achieved it (the step of each layer is ``eta / L``).
    diverged : ndarray of float
        Fraction of runs (over seeds and rates) whose loss became non-finite; with
        ``blowup_within=k``, whose loss rose above 100 times its initial value within the
        first ``k`` epochs.
    final_loss : ndarray of float
        Median relative loss after ``max_epochs`` (or when stopped), best rate.
    """

    depths: list[int]
    epochs: np.ndarray
    rate: np.ndarray
    diverged: np.ndarray
    final_loss: np.ndarray


def deep_linear_learning_times(
    depths: Sequence[int],
    init: str,
    rng: np.random.Generator | int,
    *,
    width: int = 16,
    seeds: int = 7,
    rates: Sequence[float] = (0.1, 0.3, 1.0),
    threshold: float = 0.01,
    max_epochs: int = 1000,
    blowup_within: int | None = None,
) -> LearningTimes:
    """Epochs a deep linear network needs to learn a linear map, against depth (Saxe et al. 2014).

    The task is Saxe et al.'s: whitened inputs, so that full-batch gradient descent on the
    squared error minimizes :math:`\\tfrac12\\|W_1 W_2\\cdots W_L - M\\|_F^2`, with a teacher
    :math:`M = U\\,\\mathrm{diag}(s)\\,V^\\top` (``U``, ``V`` Haar, ``s`` evenly spaced in
    [0.5, 2]). Each layer is ``width x width``, initialized by ``init``:

    - ``"orthogonal"``: Haar orthogonal layers, so the initial product is orthogonal;
    - ``"gaussian"``: i.i.d. ``N(0, 1/width)``, the product's mean square singular value is 1.

    The per-layer step is ``eta / L``: with orthogonal layers every layer's gradient moves the
    product as much as a single layer would, so ``eta / L`` keeps the product's step the same at
    every depth. For each depth the best of ``rates`` (smallest median over the seeds) is
    reported, as Saxe et al. compared learning times at the best rate for each depth. All
    ``seeds x rates`` runs of one depth are batched; a depth stops as soon as some rate has
    reached the threshold on more than half of the seeds (that rate's median is then final, and
    no slower rate can beat it).

    Parameters
    ----------
    depths : sequence of int
    init : {"orthogonal", "gaussian"}
    rng : numpy.random.Generator or int
        Draws the teachers and the initial layers (the teachers are drawn first, so two calls
        with equal seeds share their teachers).
    width, seeds : int
        Layer size; independent (teacher, initialization) pairs per depth (use an odd number).
    rates : sequence of float
        Base rates ``eta`` tried.
    threshold : float
        Learned when the loss is below ``threshold`` times its initial value.
    max_epochs : int
    blowup_within : int, optional
        Count a run as diverged when its loss exceeds 100 times its initial value within the
        first ``blowup_within`` epochs: a fast blow-up, the same on every machine. By default
        (``None``) a run counts when its loss is non-finite when the depth stops, which also
        counts runs that wander near the edge of stability for hundreds of epochs before they
        overflow, and which of those do depends on the CPU's rounding.

    Returns
    -------
    LearningTimes

    Examples
    --------
    >>> t = deep_linear_learning_times([1, 4], "orthogonal", 0, seeds=3, max_epochs=300)
    >>> float(t.epochs[0]), bool(1 < t.epochs[1] < 300), float(t.diverged.max())
    (1.0, True, 0.0)
    """
    if init not in ("orthogonal", "gaussian"):
        raise ValueError(f"init must be 'orthogonal' or 'gaussian', got {init!r}")
    depths = [int(d) for d in depths]
    if not depths or min(depths) < 1:
        raise ValueError(f"depths must be positive ints, got {depths!r}")
    for name, value in (("width", width), ("seeds", seeds), ("max_epochs", max_epochs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    rates = np.asarray(rates, dtype=np.float64)
    if rates.ndim != 1 or rates.size == 0 or np.any(~(rates > 0)):
        raise ValueError(f"rates must be positive numbers, got {rates!r}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    if blowup_within is not None and (
        isinstance(blowup_within, bool)
        or not isinstance(blowup_within, numbers.Integral)
        or blowup_within < 1
    ):
        raise ValueError(f"blowup_within must be a positive int or None, got {blowup_within!r}")
    gen = _generator(rng)
    n, s_count, r_count = int(width), int(seeds), rates.size
    spectrum = np.linspace(0.5, 2.0, n)
    teachers = _haar(gen, s_count, n) * spectrum[None, None, :] @ _haar(gen, s_count, n)
    batch = s_count * r_count
    target = np.tile(teachers, (r_count, 1, 1))
    eye = np.broadcast_to(np.eye(n), (batch, n, n))
    out_epochs, out_rate, out_div, out_loss = [], [], [], []
    for depth in depths:
        if init == "orthogonal":
            layers = [_haar(gen, s_count, n) for _ in range(depth)]
        else:
            layers = [gen.standard_normal((s_count, n, n)) / math.sqrt(n) for _ in range(depth)]
        ws = [np.tile(w, (r_count, 1, 1)) for w in layers]
        step = (np.repeat(rates, s_count) / depth)[:, None, None]
        done = np.full(batch, -1)
        blown = np.zeros(batch, dtype=bool)
        loss0 = rel = None
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(int(max_epochs) + 1):
                prefix = [eye]
                for w in ws:
                    prefix.append(prefix[-1] @ w)
                err = prefix[-1] - target
                loss = 0.5 * np.sum(err**2, axis=(1, 2))
                loss0 = loss if loss0 is None else loss0
                rel = loss / loss0
                if blowup_within is not None and epoch <= blowup_within:
                    blown |= ~(rel <= 100.0)  # NaN and inf count as blown up
                done[(rel < threshold) & (done < 0)] = epoch
                reached = (done >= 0).reshape(r_count, s_count).sum(axis=1)
                if np.any(2 * reached > s_count) or epoch == max_epochs:
                    break
                suffix = eye
                for layer in range(depth - 1, -1, -1):
                    grad = np.swapaxes(prefix[layer], 1, 2) @ err @ np.swapaxes(suffix, 1, 2)
                    suffix = ws[layer] @ suffix
                    ws[layer] = ws[layer] - step * grad
        times = np.where(done < 0, np.inf, done).reshape(r_count, s_count)
        medians = np.median(times, axis=1)
        best = int(np.argmin(medians))
        out_epochs.append(float(medians[best]))
        out_rate.append(float(rates[best]))
        gone = blown if blowup_within is not None else ~np.isfinite(rel)
        out_div.append(float(np.mean(gone)))
        out_loss.append(float(np.median(rel.reshape(r_count, s_count)[best])))
    return LearningTimes(
        depths=depths,
        epochs=np.array(out_epochs),
        rate=np.array(out_rate),
        diverged=np.array(out_div),
        final_loss=np.array(out_loss),
    )


def gain_tradeoff(
    gain: float,
    rng: np.random.Generator | int,
    *,
    activation: str = "tanh",
    depth: int = 50,
    width: int = 256,
    batch: int = 128,
) -> dict[str, float]:
    """Mean-field prediction and measurement of one gain on a deep square ``activation`` net.

    Weights ``N(0, gain^2 / width)``, inputs ``N(0, 1)``, a random ``N(0, 1)`` gradient at the
    output. Returns the fixed point ``q*`` and ``chi(q*)``
    (:func:`course_utils.theory.mean_field_fixed_point`, :func:`~course_utils.theory.mean_field_chi`),
    the last layer's pre-activation variance measured and predicted
    (:func:`course_utils.theory.predict`), and the ratio of the gradient's RMS at the first
    layer's output to that at the last, measured and predicted.

    Examples
    --------
    >>> r = gain_tradeoff(5 / 3, 0, depth=10, width=64, batch=32)
    >>> round(r["chi"], 2), bool(r["grad_ratio"] > 1)
    (1.21, True)
    """
    from course_utils.network import backward, forward
    from course_utils.theory import mean_field_chi, mean_field_fixed_point, predict

    if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not gain > 0:
        raise ValueError(f"gain must be a positive number, got {gain!r}")
    for name, value in (("depth", depth), ("width", width), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    gen = _generator(rng)
    s = float(gain) ** 2
    q_star = mean_field_fixed_point(activation, s)
    x = gen.standard_normal((batch, width))
    ws = [gen.standard_normal((width, width)) * (gain / math.sqrt(width)) for _ in range(depth)]
    trace = forward(x, ws, activation)
    grads = backward(trace, ws, activation, gen.standard_normal((batch, width)))
    pred = predict([width] * (depth + 1), [s / width] * depth, activation)
    return {
        "q_star": q_star,
        "chi": mean_field_chi(activation, s, q_star),
        "var_last": float(np.var(trace.pre_activations[-1])),
        "var_last_theory": float(pred.pre_activation_var[-1]),
        "grad_ratio": math.sqrt(
            float(np.mean(grads.activations[0] ** 2) / np.mean(grads.activations[-1] ** 2))
        ),
        "grad_ratio_theory": math.sqrt(float(pred.grad_var[0] / pred.grad_var[-1])),
    }
