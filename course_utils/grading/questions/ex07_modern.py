"""Exercise 07 (modern architectures, lecture 08): residual streams, attention logits, pre-LN
branches. Four of the five questions (10 of 12 points) go past the lecture and are graded on
inputs drawn at grading time: a residual branch of any depth and weight scales (lecture 05's ReLU
factor inside lecture 08's recursion), the branch scale for a prescribed growth with such a
branch, the logit of a token with itself (not independent of its key), and (stretch) a pre-LN MLP
branch with GELU or SiLU. One (2 points) simulates a stream.

References live here and run in the grader's process (the GELU case is checked against
``course_utils.modern`` in the tests). Failure messages name the input and what the answer
returned, then the likely misconception (a formula the answer matches), never the expected value.

Version history (``VERSION``): 1 the first release; 2 (this one) added ``weight_vars=`` to
questions 1 and 2, ``same_token=`` to question 3 and ``activation=`` to question 5, re-weighted
the points, and corrected what the text says about Fixup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from course_utils.grading.checks import (
    NO_OUTPUT,
    Call,
    CheckResult,
    Outcome,
    QuestionCheck,
    first_error,
)
from course_utils.grading.registry import question

EXERCISE = "07_modern"
#: bumped whenever a question of this exercise changes (see the module docstring)
VERSION = "2"
#: what a graded answer may import
ALLOWED_IMPORTS = ("math", "numpy")

Mistake = tuple[str, Callable[..., float]]


def _modern():
    """``course_utils.modern``, imported on first use: it imports torch, which every other
    exercise's ``check()`` (the registry loads all question modules) should not pay for."""
    from course_utils import modern

    return modern


def _reference(name: str) -> Callable[..., float]:
    """The library's ``course_utils.modern.<name>``, looked up when called."""

    def reference(*args, **kwargs):
        return getattr(_modern(), name)(*args, **kwargs)

    reference.__name__ = reference.__qualname__ = name
    return reference


def _main(result: CheckResult) -> CheckResult:
    """Mark ``result`` as the question's main check (issue 11's gating contract)."""
    result.main = True  # type: ignore[attr-defined]
    return result


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return None


def _close(got: float, want: float, rtol: float) -> bool:
    return abs(got - want) <= rtol * abs(want) + 1e-12


class PredictionCheck(QuestionCheck):
    """A function of plain numbers compared with a reference on visible or hidden inputs.

    Calls in group ``"values"`` are the main check (every returned number within ``rtol`` of
    the reference); calls in group ``"raises"`` must raise ValueError (secondary: it earns
    points only when the values are right). When the values are wrong, the message names the
    first wrong input, what the answer returned, and the first entry of ``mistakes`` that
    explains every wrong value (or ``hint`` when none does).
    """

    def __init__(
        self,
        reference: Callable[..., float],
        *,
        visible: Sequence[Call],
        hidden: Callable[[np.random.Generator], Sequence[Call]],
        mistakes: Sequence[Mistake] = (),
        hint: str,
        rtol: float = 1e-6,
        raises_names: str = "",
    ) -> None:
        self.reference = reference
        self.visible = list(visible)
        self.hidden = hidden
        self.mistakes = list(mistakes)
        self.hint = hint
        self.rtol = rtol
        self.raises_names = raises_names

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        return list(self.visible) if rng is None else list(self.hidden(rng))

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        pairs = list(zip(calls, outcomes, strict=True))
        values = [(c, o) for c, o in pairs if c.group == "values"]
        raises = [(c, o) for c, o in pairs if c.group == "raises"]
        results = [_main(self._values(values, name))]
        if raises:
            results.append(self._raises(raises, name, main_ok=results[0].passed))
        return results

    def _values(self, pairs: list[tuple[Call, Outcome]], name: str) -> CheckResult:
        err = first_error([o for _, o in pairs])
        if err:
            return CheckResult("values", False, err)
        wrong = []
        for call, out in pairs:
            want = float(self.reference(*call.args, **call.kwargs))
            got = _number(out.value)
            if got is None:
                return CheckResult(
                    "values",
                    False,
                    f"{call.describe(name)} returned {out.value!r:.60}, not a number",
                )
            if not _close(got, want, self.rtol):
                wrong.append((call, got))
        if not wrong:
            return CheckResult("values", True, f"right on all {len(pairs)} inputs")
        call, got = wrong[0]
        where = f"{call.describe(name)} returned {got:.6g}, which is not right"
        more = f" ({len(wrong)} of {len(pairs)} inputs wrong)" if len(wrong) > 1 else ""
        for label, formula in self.mistakes:
            try:
                if all(_close(g, float(formula(*c.args, **c.kwargs)), 1e-6) for c, g in wrong):
                    return CheckResult("values", False, f"{where}{more}: it looks like {label}")
            except (ArithmeticError, ValueError, TypeError):
                continue
        return CheckResult("values", False, f"{where}{more}. Hint: {self.hint}")

    def _raises(
        self, pairs: list[tuple[Call, Outcome]], name: str, *, main_ok: bool
    ) -> CheckResult:
        if not main_ok:
            return CheckResult(
                "raises ValueError", False, "counts only once the values are right", weight=0.5
            )
        for call, out in pairs:
            if out.ok:
                return CheckResult(
                    "raises ValueError",
                    False,
                    f"{call.describe(name)} returned a value; an impossible request should raise "
                    "ValueError naming the argument",
                    weight=0.5,
                )
            if not out.error.startswith("ValueError"):
                return CheckResult(
                    "raises ValueError",
                    False,
                    f"{call.describe(name)} raised {out.error[:80]}, expected a ValueError",
                    weight=0.5,
                )
            if self.raises_names and self.raises_names not in out.error:
                return CheckResult(
                    "raises ValueError",
                    False,
                    f"{call.describe(name)} raised a ValueError whose message does not name the "
                    f"argument {self.raises_names!r}",
                    weight=0.5,
                )
        return CheckResult(
            "raises ValueError", True, "impossible inputs raise ValueError", weight=0.5
        )


# ------------------------------------------------------------------------------ Q1 residual_std
DEFAULT_BRANCH = (2.0, 1.0)  # lecture 08's branch: He W1 (n Var = 2), ReLU, LeCun W2 (n Var = 1)


def branch_gain(weight_vars: Sequence[float]) -> float:
    """``E|F(x)|^2 / |x|^2`` for a branch of ``m`` dense layers with ``n Var(W_k) = v_k`` and a
    ReLU between consecutive layers (none after the last): every ReLU halves the second moment
    of a zero-mean Gaussian pre-activation, so the gain is ``v_m prod_{k<m} v_k / 2``."""
    v = [float(x) for x in weight_vars]
    return v[-1] * math.prod(x / 2.0 for x in v[:-1])


def residual_std_reference(depth, branch_scale, *, weight_vars=DEFAULT_BRANCH, norm=False,
                           std0=1.0):  # fmt: skip
    """Std after ``depth`` blocks ``x + beta B(F(x))``: the plain stream multiplies its second
    moment by ``1 + beta^2 G`` per block (``G`` = :func:`branch_gain`), a normalized branch
    (``B`` a parameter-free BatchNorm) adds ``beta^2`` whatever the weights."""
    if norm:
        q = std0**2 + depth * branch_scale**2
    else:
        q = std0**2 * (1.0 + branch_scale**2 * branch_gain(weight_vars)) ** depth
    return math.sqrt(q)


def _rs(plain, normed):
    """A wrong rule for residual_std from its plain and normalized variants (each of
    ``(L, beta, std0, G)``)."""

    def wrong(depth, branch_scale, *, weight_vars=DEFAULT_BRANCH, norm=False, std0=1.0):
        g = branch_gain(weight_vars)
        f = normed if norm else plain
        return f(depth, branch_scale, std0, g)

    return wrong


def _right_plain(L, b, s, g):
    return s * (1 + b * b * g) ** (L / 2)


def _right_norm(L, b, s, g):
    return math.sqrt(s * s + L * b * b)


_RESIDUAL_MISTAKES: list[Mistake] = [
    (
        "the branch's weights ignored: lecture 08's branch preserves the second moment, this "
        "one multiplies it by a gain set by its weight variances and its ReLUs",
        _rs(lambda L, b, s, g: s * (1 + b * b) ** (L / 2), _right_norm),
    ),
    (
        "a ReLU factor 1/2 missing: a ReLU halves the second moment of a zero-mean Gaussian, "
        "and there is one between consecutive layers",
        _rs(lambda L, b, s, g: s * (1 + b * b * g * 2) ** (L / 2), _right_norm),
    ),
    (
        "a ReLU factor 1/2 too many: there is a ReLU between consecutive layers, none after "
        "the last",
        _rs(lambda L, b, s, g: s * (1 + b * b * g / 2) ** (L / 2), _right_norm),
    ),
    (
        "the variance, not the std (take the square root at the end)",
        _rs(lambda L, b, s, g: _right_plain(L, b, s, g) ** 2, lambda L, b, s, g: s * s + L * b * b),
    ),
    (
        "the branch's variance scaled by beta instead of beta^2 (a factor beta on the output "
        "multiplies its variance by beta^2)",
        _rs(
            lambda L, b, s, g: s * (1 + b * g) ** (L / 2),
            lambda L, b, s, g: math.sqrt(s * s + L * b),
        ),
    ),
    (
        "std0 used as a variance (the stream starts at variance std0^2)",
        _rs(
            lambda L, b, s, g: math.sqrt(s) * (1 + b * b * g) ** (L / 2),
            lambda L, b, s, g: math.sqrt(s + L * b * b),
        ),
    ),
    (
        "the plain (multiplicative) recursion also for a normalized branch: a BatchNorm output "
        "has unit variance whatever the stream's size, so it adds beta^2 per block",
        _rs(_right_plain, _right_plain),
    ),
    (
        "a normalized branch that adds beta^2 relative to the stream's variance; the BatchNorm's "
        "output has variance 1, not the stream's",
        _rs(_right_plain, lambda L, b, s, g: s * math.sqrt(1 + L * b * b)),
    ),
    (
        "the branch gain applied after the normalization: the BatchNorm's output has variance 1 "
        "whatever the branch's weights",
        _rs(_right_plain, lambda L, b, s, g: math.sqrt(s * s + L * b * b * g)),
    ),
    (
        "the normalized (additive) recursion also for a plain branch: a plain branch's output "
        "variance is proportional to the stream's",
        _rs(lambda L, b, s, g: math.sqrt(s * s + L * b * b * g), _right_norm),
    ),
    (
        "stds added instead of variances (independent terms add their variances)",
        _rs(lambda L, b, s, g: s * (1 + b * math.sqrt(g)) ** L, lambda L, b, s, g: s + L * b),
    ),
    (
        "off by one block (depth - 1 or depth + 1 blocks)",
        _rs(
            lambda L, b, s, g: _right_plain(L - 1, b, s, g),
            lambda L, b, s, g: _right_norm(L - 1, b, s, g),
        ),
    ),
]


def _random_branch(rng: np.random.Generator) -> tuple[float, ...]:
    m = int(rng.integers(1, 5))
    return tuple(float(np.round(v, 3)) for v in rng.uniform(0.5, 3.0, size=m))


def _residual_hidden(rng: np.random.Generator) -> list[Call]:
    calls = []
    for norm in (False, False, False, True, True):
        depth = int(rng.integers(20, 200))  # too deep to estimate to 1e-6 by simulation
        weight_vars = _random_branch(rng)
        beta = float(np.round(rng.uniform(0.05, 0.4), 4))
        std0 = float(np.round(rng.uniform(0.3, 3.0), 3))
        kwargs = {"weight_vars": weight_vars, "norm": norm, "std0": std0}
        calls.append(Call((depth, beta), kwargs, group="values"))
    calls.append(Call((int(rng.integers(5, 60)), 0.0), {"std0": 1.5}, group="values"))
    return calls


question(
    "residual_std",
    exercise=EXERCISE,
    since="2",
    points=3,
    title="predicted std of a residual stream after L blocks, any dense-ReLU branch, plain or "
    "normalized",
    check=PredictionCheck(
        residual_std_reference,
        visible=[
            Call((10, 1.0), {}, group="values"),
            Call((50, 0.3), {"weight_vars": (1.0, 1.0)}, group="values"),
            Call((40, 0.2), {"weight_vars": (2.0, 2.0, 1.0), "std0": 2.0}, group="values"),
            Call((30, 0.5), {"weight_vars": (1.5,)}, group="values"),
            Call((12, 0.5), {"norm": True, "std0": 2.0}, group="values"),
            Call(
                (25, 0.3), {"weight_vars": (1.0, 3.0), "norm": True, "std0": 0.5}, group="values"
            ),  # fmt: skip
            Call((7, 0.0), {"norm": True, "std0": 0.5}, group="values"),
        ],
        hidden=_residual_hidden,
        mistakes=_RESIDUAL_MISTAKES,
        hint="write the second moment after one block from the one before (lecture 08, "
        "'Residual streams'); the branch's gain comes from lecture 05 (each weight layer "
        "multiplies by "
        "n Var(W), each ReLU halves); then unroll over the blocks",
    ),
    forbidden=(
        "course_utils.modern.residual_std",
        "course_utils.modern.residual_variance",
    ),
)


# ------------------------------------------------------------------------------ Q2 flat_branch_scale
def flat_branch_scale_reference(depth, growth, *, weight_vars=DEFAULT_BRANCH):
    """``beta`` with ``(1 + beta^2 G)^(L/2) = growth`` for a plain branch of gain ``G``;
    ValueError (naming growth) for ``growth < 1``: a residual branch only adds variance."""
    if growth < 1:
        raise ValueError(f"growth must be >= 1, got {growth}")
    return math.sqrt((growth ** (2.0 / depth) - 1.0) / branch_gain(weight_vars))


def _fb(formula):
    def wrong(depth, growth, *, weight_vars=DEFAULT_BRANCH):
        return formula(depth, growth, branch_gain(weight_vars))

    return wrong


_FLAT_MISTAKES: list[Mistake] = [
    (
        "the branch's gain ignored: this branch multiplies the second moment by a gain set by "
        "its weight variances and ReLUs",
        _fb(lambda L, g, G: math.sqrt(g ** (2 / L) - 1)),
    ),
    (
        "the std's growth used as the variance's (the variance grows by growth^2)",
        _fb(lambda L, g, G: math.sqrt((g ** (1 / L) - 1) / G)),
    ),
    ("beta^2 instead of beta (take the square root)", _fb(lambda L, g, G: (g ** (2 / L) - 1) / G)),
    (
        "the gain divided out of beta instead of beta^2 (beta multiplies the branch, beta^2 its "
        "variance)",
        _fb(lambda L, g, G: math.sqrt(g ** (2 / L) - 1) / G),
    ),
    (
        "1/sqrt(L), which does not depend on the target growth",
        _fb(lambda L, g, G: 1 / math.sqrt(L)),
    ),
    (
        "the first-order (additive) approximation; solve the L-fold product exactly",
        _fb(lambda L, g, G: math.sqrt((g**2 - 1) / (L * G))),
    ),
]


def _flat_hidden(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(5):
        depth = int(rng.integers(2, 300))
        growth = float(np.round(rng.uniform(1.05, 5.0), 4))
        calls.append(Call((depth, growth), {"weight_vars": _random_branch(rng)}, group="values"))
    calls.append(Call((int(rng.integers(2, 100)), 1.0), group="values"))
    calls.append(Call((int(rng.integers(2, 100)), float(np.round(rng.uniform(0.2, 0.95), 3))),
                      group="raises"))  # fmt: skip
    return calls


question(
    "flat_branch_scale",
    exercise=EXERCISE,
    since="2",
    points=2.5,
    title="branch scale for an exact std growth over L plain residual blocks of any branch",
    check=PredictionCheck(
        flat_branch_scale_reference,
        visible=[
            Call((50, 2.0), group="values"),
            Call((10, 1.5), {"weight_vars": (1.0, 1.0)}, group="values"),
            Call((30, 3.0), {"weight_vars": (2.0, 2.0, 2.0)}, group="values"),
            Call((100, 1.0), group="values"),
            Call((20, 0.8), group="raises"),
        ],
        hidden=_flat_hidden,
        mistakes=_FLAT_MISTAKES,
        hint="set your question-1 prediction after L plain blocks equal to the target and solve "
        "for beta (lecture 08, 'Residual streams')",
        raises_names="growth",
    ),
    forbidden=("course_utils.modern.flat_branch_scale",),
)


# ------------------------------------------------------------------------------ Q3 attention logits
def attention_logit_variance_reference(d_model, d_k, std_q, std_k, *, scaled=True,
                                       same_token=False):  # fmt: skip
    """Variance of ``q . k`` (``/ sqrt(d_k)`` when ``scaled``) with ``q = x W_q``, ``k = x' W_k``,
    tokens with i.i.d. N(0, 1) coordinates. Independent tokens: ``d_k (d s_q^2)(d s_k^2)``.
    The same token (``x' = x``): given ``x``, ``q`` and ``k`` are independent with covariances
    ``|x|^2 s^2 I``, so the variance is ``d_k s_q^2 s_k^2 E|x|^4 = d_k s_q^2 s_k^2 (d^2 + 2d)``
    (``|x|^2`` is chi-square with ``d`` degrees of freedom)."""
    fourth = d_model**2 + 2 * d_model if same_token else d_model**2
    var = d_k * std_q**2 * std_k**2 * fourth
    return var / d_k if scaled else var


def _at(formula):
    def wrong(d_model, d_k, std_q, std_k, *, scaled=True, same_token=False):
        return formula(d_model, d_k, std_q, std_k, same_token) / (d_k if scaled else 1)

    return wrong


def _at_right(dm, dk, sq, sk, same):
    return dk * sq**2 * sk**2 * (dm**2 + 2 * dm if same else dm**2)


_ATTENTION_MISTAKES: list[Mistake] = [
    (
        "the same token treated like an independent one: q and k share x, so E[q_i^2 k_i^2] "
        "involves E|x|^4, not (E|x|^2)^2",
        _at(lambda dm, dk, sq, sk, same: dk * sq**2 * sk**2 * dm**2),
    ),
    (
        "the fourth moment of |x| taken as d^2 + d; |x|^2 is a chi-square with d degrees of "
        "freedom, whose variance is 2d",
        _at(lambda dm, dk, sq, sk, same: dk * sq**2 * sk**2 * (dm**2 + dm if same else dm**2)),
    ),
    (
        "the projections' fan-in left out: each coordinate of q = x W_q sums d_model terms",
        _at(lambda dm, dk, sq, sk, same: dk * sq**2 * sk**2),
    ),
    (
        "the stds used where variances belong",
        _at(lambda dm, dk, sq, sk, same: _at_right(dm, dk, sq, sk, same) / (sq * sk)),
    ),
    (
        "a std, not a variance",
        lambda dm, dk, sq, sk, *, scaled=True, same_token=False: math.sqrt(
            _at_right(dm, dk, sq, sk, same_token) / (dk if scaled else 1)
        ),
    ),
]


def _attention_wrong_scaling(dm, dk, sq, sk, *, scaled=True, same_token=False):
    v = _at_right(dm, dk, sq, sk, same_token)
    return v / math.sqrt(dk) if scaled else v


_ATTENTION_MISTAKES += [
    (
        "the division by sqrt(d_k) applied to the variance as sqrt(d_k); dividing a number by c "
        "divides its variance by c^2",
        _attention_wrong_scaling,
    ),
    (
        "the scaling ignored (check the keyword scaled)",
        lambda dm, dk, sq, sk, *, scaled=True, same_token=False: _at_right(
            dm, dk, sq, sk, same_token
        ),
    ),
]


def _attention_hidden(rng: np.random.Generator) -> list[Call]:
    calls = []
    for scaled, same in ((True, True), (False, True), (True, False), (False, False), (True, True)):
        d_model = int(rng.choice([4, 8, 16, 32, 64, 128, 256]))
        d_k = int(rng.choice([8, 16, 32, 64, 128]))
        s_q = float(np.round(rng.uniform(0.005, 0.2), 4))
        s_k = float(np.round(rng.uniform(0.005, 0.2), 4))
        kwargs = {"scaled": scaled, "same_token": same}
        calls.append(Call((d_model, d_k, s_q, s_k), kwargs, group="values"))
    return calls


question(
    "attention_logit_variance",
    exercise=EXERCISE,
    since="2",
    points=2.5,
    title="variance of an attention logit, for two tokens or for a token with itself",
    check=PredictionCheck(
        attention_logit_variance_reference,
        visible=[
            Call((64, 64, 0.125, 0.125), {"scaled": False}, group="values"),
            Call((256, 32, 0.05, 0.1), {"scaled": True}, group="values"),
            Call((8, 16, 0.3, 0.2), {"scaled": True, "same_token": True}, group="values"),
            Call((4, 8, 0.5, 0.5), {"scaled": False, "same_token": True}, group="values"),
        ],
        hidden=_attention_hidden,
        mistakes=_ATTENTION_MISTAKES,
        hint="one coordinate of q and of k first, then their product and the sum over d_k "
        "coordinates (lecture 08, 'Attention'); for the same token, condition on x first",
    ),
    forbidden=("course_utils.modern.attention_logit_variance",),
)


# ------------------------------------------------------------------------------ Q4 stream_stds
class StreamCheck(QuestionCheck):
    """``stream_stds(x, w1s, w2s, branch_scale)`` against the reference on random arrays."""

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        gen = np.random.default_rng(7) if rng is None else rng
        out = []
        for beta in (
            (1.0, 0.3, 0.0)
            if rng is None
            else (1.0, float(np.round(gen.uniform(0.1, 0.9), 3)), 0.0)
        ):
            batch, width = int(gen.integers(4, 17)), int(gen.integers(8, 33))
            depth = int(gen.integers(3, 9))
            x = gen.standard_normal((batch, width))
            w1 = [gen.standard_normal((width, width)) * math.sqrt(2 / width) for _ in range(depth)]
            w2 = [gen.standard_normal((width, width)) / math.sqrt(width) for _ in range(depth)]
            out.append(Call((x, w1, w2, beta), group="values"))
        return out

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        err = first_error(outcomes)
        if err:
            return [_main(CheckResult("values", False, err))]
        if not outcomes:
            return [_main(CheckResult("values", False, NO_OUTPUT))]
        for i, (call, out) in enumerate(zip(calls, outcomes, strict=True)):
            x, w1, w2, beta = call.args
            want = _modern().stream_stds(x, w1, w2, beta)
            got = out.value
            try:
                got = np.asarray(got, dtype=float)
            except (TypeError, ValueError):
                return [
                    _main(CheckResult("values", False, f"input {i + 1}: not an array of numbers"))
                ]
            if got.shape != want.shape:
                return [_main(CheckResult(
                    "values", False,
                    f"input {i + 1} ({len(w1)} blocks): returned shape {got.shape}; one value "
                    "before the first block and one after every block",
                ))]  # fmt: skip
            if not np.allclose(got, want, rtol=1e-6, atol=1e-12):
                msg = f"input {i + 1} (branch_scale {beta}): wrong values"
                if np.allclose(got, want**2, rtol=1e-6):
                    msg += ": these are mean squares; take the square root"
                elif np.allclose(got[0], want[0]) and not np.allclose(got[1:], want[1:]):
                    msg += (" after the first entry: each block adds branch_scale * ReLU(x W1) W2 "
                            "to the stream it received")  # fmt: skip
                else:
                    msg += ": report the root mean square over the whole (batch, width) array"
                return [_main(CheckResult("values", False, msg))]
        return [_main(CheckResult("values", True, f"right on all {len(calls)} inputs"))]


question(
    "stream_stds",
    exercise=EXERCISE,
    points=2,
    title="simulate a residual stream block by block",
    check=StreamCheck(),
    forbidden=("course_utils.modern.stream_stds", "course_utils.modern.simulate_residual"),
)


# ------------------------------------------------------------------------------ Q5 stretch
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(120)


def _gelu(h: np.ndarray) -> np.ndarray:
    return h * 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in h]))


def _silu(h: np.ndarray) -> np.ndarray:
    return h / (1.0 + np.exp(-h))


_ACTIVATIONS = {"gelu": _gelu, "silu": _silu}


def gaussian_moment(f, q: float, power: int = 2) -> float:
    """``E[f(h)^power]`` for ``h ~ N(0, q)``, 120-point Gauss-Hermite quadrature."""
    h = math.sqrt(q) * _NODES
    return float(np.sum(_WEIGHTS * f(h) ** power) / math.sqrt(2.0 * math.pi))


def mlp_branch_variance_reference(d_model, std, proj_std, *, activation="gelu"):
    """Variance one output coordinate of ``f(LN(x) W_fc) W_proj`` has at init: the LayerNorm
    output has ``sum u_i^2 = d_model``, so each of the ``4 d_model`` hidden pre-activations is
    N(0, d_model std^2), and ``Var = 4 d_model proj_std^2 E[f(h)^2]``."""
    return 4 * d_model * proj_std**2 * gaussian_moment(_ACTIVATIONS[activation], d_model * std**2)


def _mb(formula):
    def wrong(d_model, std, proj_std, *, activation="gelu"):
        return formula(d_model, std, proj_std, activation)

    return wrong


_MLP_MISTAKES: list[Mistake] = [
    (
        "the small-variance approximation E[f(h)^2] = Var(h)/4; compute the Gaussian integral",
        _mb(lambda d, s, p, a: 4 * d * p**2 * d * s**2 / 4),
    ),
    (
        "ReLU's second moment Var(h)/2 in place of the activation's",
        _mb(lambda d, s, p, a: 4 * d * p**2 * d * s**2 / 2),
    ),
    (
        "GELU used whatever the keyword activation says",
        _mb(lambda d, s, p, a: mlp_branch_variance_reference(d, s, p, activation="gelu")),
    ),
    (
        "the hidden pre-activation's std used where its variance belongs (q = d_model std^2 is "
        "a variance)",
        _mb(lambda d, s, p, a: 4 * d * p**2 * gaussian_moment(_ACTIVATIONS[a], math.sqrt(d) * s)),
    ),
    (
        "the 4 d_model hidden units counted as d_model",
        _mb(lambda d, s, p, a: mlp_branch_variance_reference(d, s, p, activation=a) / 4),
    ),
    (
        "each hidden pre-activation given variance std^2: the LayerNorm output has sum of "
        "squares d_model, so it sums d_model terms of variance std^2",
        _mb(lambda d, s, p, a: 4 * d * p**2 * gaussian_moment(_ACTIVATIONS[a], s**2)),
    ),
    (
        "Var(f(h)) in place of E[f(h)^2]: the next layer's zero-mean weights see the second moment",
        _mb(
            lambda d, s, p, a: (
                4
                * d
                * p**2
                * (
                    gaussian_moment(_ACTIVATIONS[a], d * s**2)
                    - gaussian_moment(_ACTIVATIONS[a], d * s**2, power=1) ** 2
                )
            )
        ),
    ),
]


def _mlp_hidden(rng: np.random.Generator) -> list[Call]:
    calls = []
    for activation in ("gelu", "silu", "silu", "gelu"):
        d_model = int(rng.choice([16, 32, 64, 128, 256]))
        q = float(rng.uniform(0.3, 4.0))  # d_model std^2: where the activation is far from linear
        std = float(np.round(math.sqrt(q / d_model), 4))
        proj = float(np.round(rng.uniform(0.002, 0.05), 4))
        calls.append(Call((d_model, std, proj), {"activation": activation}, group="values"))
    return calls


question(
    "mlp_branch_variance",
    exercise=EXERCISE,
    since="2",
    points=2,
    title="stretch: variance added by a pre-LN MLP branch with GELU or SiLU",
    check=PredictionCheck(
        mlp_branch_variance_reference,
        visible=[
            Call((64, 0.02, 0.02), group="values"),
            Call((64, 0.125, 0.01), {"activation": "gelu"}, group="values"),
            Call((32, 0.3, 0.05), {"activation": "silu"}, group="values"),
            Call((16, 0.4, 0.03), {"activation": "silu"}, group="values"),
        ],
        hidden=_mlp_hidden,
        rtol=1e-4,
        mistakes=_MLP_MISTAKES,
        hint="the LayerNorm output fixes the variance of each hidden pre-activation; then a "
        "one-dimensional Gaussian integral of the activation's square (quadrature), then the "
        "projection's sum over the hidden units",
    ),
    forbidden=(
        "course_utils.modern.mlp_branch_variance",
        "course_utils.modern.gelu_second_moment",
        "course_utils.modern.pre_ln_stream_variance",
    ),
)
