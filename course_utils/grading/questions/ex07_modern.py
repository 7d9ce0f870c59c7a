"""Exercise 07 (modern architectures, lecture 08): residual streams, attention logits, pre-LN
branches. Four of the five questions (10 of 12 points) are predictions or derivations graded on
inputs drawn at grading time; one (2 points, the stretch) needs a Gaussian integral.

Every check here compares with the library's reference (``course_utils.modern``), run in the
grader's process. Failure messages name the input and what the answer returned, then the likely
misconception (a formula the answer matches), never the expected value.
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
def _residual_std_ref(depth, branch_scale, *, norm=False, std0=1.0):
    return _modern().residual_std(depth, branch_scale, norm=norm, std0=std0)


def _plain_or_norm(depth, beta, norm, std0, plain, normed):
    return normed(depth, beta, std0) if norm else plain(depth, beta, std0)


_RESIDUAL_MISTAKES: list[Mistake] = [
    (
        "the variance, not the std (take the square root at the end)",
        lambda L, b, *, norm=False, std0=1.0: (
            std0**2 + L * b**2 if norm else std0**2 * (1 + b**2) ** L
        ),
    ),
    (
        "the branch's variance scaled by beta instead of beta^2 (a factor beta on the output "
        "multiplies its variance by beta^2)",
        lambda L, b, *, norm=False, std0=1.0: math.sqrt(
            std0**2 + L * b if norm else std0**2 * (1 + b) ** L
        ),
    ),
    (
        "std0 used as a variance (the stream starts at variance std0^2)",
        lambda L, b, *, norm=False, std0=1.0: math.sqrt(
            std0 + L * b**2 if norm else std0 * (1 + b**2) ** L
        ),
    ),
    (
        "the plain (multiplicative) recursion also for a normalized branch: a BatchNorm output "
        "has unit variance whatever the stream's size, so it adds beta^2 per block",
        lambda L, b, *, norm=False, std0=1.0: std0 * (1 + b**2) ** (L / 2),
    ),
    (
        "the normalized (additive) recursion also for a plain branch: a plain branch's output "
        "variance is proportional to the stream's",
        lambda L, b, *, norm=False, std0=1.0: math.sqrt(std0**2 + L * b**2),
    ),
    (
        "stds added instead of variances (independent terms add their variances)",
        lambda L, b, *, norm=False, std0=1.0: std0 + L * b if norm else std0 * (1 + b) ** L,
    ),
    (
        "a normalized branch that adds beta^2 relative to the stream's variance; BatchNorm's "
        "output has variance 1 (times gamma^2), not the stream's",
        lambda L, b, *, norm=False, std0=1.0: math.sqrt(std0**2 * (1 + L * b**2)),
    ),
]


def _residual_hidden(rng: np.random.Generator) -> list[Call]:
    calls = []
    for norm in (False, False, False, True, True):
        depth = int(rng.integers(2, 121))
        beta = float(np.round(rng.uniform(0.05, 1.2), 4))
        std0 = float(np.round(rng.uniform(0.3, 3.0), 3))
        calls.append(Call((depth, beta), {"norm": norm, "std0": std0}, group="values"))
    calls.append(Call((int(rng.integers(5, 60)), 0.0), {"std0": 1.5}, group="values"))
    return calls


question(
    "residual_std",
    exercise=EXERCISE,
    points=3,
    title="predicted std of a residual stream after L blocks, plain or normalized branch",
    check=PredictionCheck(
        _residual_std_ref,
        visible=[
            Call((10, 1.0), {}, group="values"),
            Call((50, 0.3), {}, group="values"),
            Call((12, 0.5), {"norm": True}, group="values"),
            Call((30, 0.2), {"std0": 2.0}, group="values"),
            Call((7, 0.0), {"norm": True, "std0": 0.5}, group="values"),
        ],
        hidden=_residual_hidden,
        mistakes=_RESIDUAL_MISTAKES,
        hint="write the second moment after one block from the one before (lecture 08, "
        "section 1), then unroll the recursion over the blocks",
    ),
    forbidden=(
        "course_utils.modern.residual_std",
        "course_utils.modern.residual_variance",
    ),
)


# ------------------------------------------------------------------------------ Q2 flat_branch_scale
def _flat_hidden(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(5):
        depth = int(rng.integers(2, 300))
        growth = float(np.round(rng.uniform(1.05, 5.0), 4))
        calls.append(Call((depth, growth), group="values"))
    calls.append(Call((int(rng.integers(2, 100)), 1.0), group="values"))
    calls.append(Call((int(rng.integers(2, 100)), float(np.round(rng.uniform(0.2, 0.95), 3))),
                      group="raises"))  # fmt: skip
    return calls


question(
    "flat_branch_scale",
    exercise=EXERCISE,
    points=3,
    title="branch scale for an exact std growth over L plain residual blocks",
    check=PredictionCheck(
        _reference("flat_branch_scale"),
        visible=[
            Call((50, 2.0), group="values"),
            Call((10, 1.5), group="values"),
            Call((100, 1.0), group="values"),
            Call((20, 0.8), group="raises"),
        ],
        hidden=_flat_hidden,
        mistakes=[
            (
                "the std's growth used as the variance's (the variance grows by growth^2)",
                lambda L, g: math.sqrt(g ** (1 / L) - 1),
            ),
            ("beta^2 instead of beta (take the square root)", lambda L, g: g ** (2 / L) - 1),
            (
                "Fixup's 1/sqrt(L), which does not depend on the target growth",
                lambda L, g: 1 / math.sqrt(L),
            ),
            (
                "the first-order (additive) approximation; solve (1 + beta^2)^L exactly",
                lambda L, g: math.sqrt((g**2 - 1) / L),
            ),
        ],
        hint="set the plain-branch prediction after L blocks equal to the target and solve for "
        "beta (lecture 08, section 1)",
        raises_names="growth",
    ),
    forbidden=("course_utils.modern.flat_branch_scale",),
)


# ------------------------------------------------------------------------------ Q3 attention logits
def _attention_hidden(rng: np.random.Generator) -> list[Call]:
    calls = []
    for scaled in (True, False, True, False):
        d_model = int(rng.choice([32, 64, 128, 256, 512, 768, 1024]))
        d_k = int(rng.choice([8, 16, 32, 64, 128]))
        s_q = float(np.round(rng.uniform(0.005, 0.2), 4))
        s_k = float(np.round(rng.uniform(0.005, 0.2), 4))
        calls.append(Call((d_model, d_k, s_q, s_k), {"scaled": scaled}, group="values"))
    return calls


question(
    "attention_logit_variance",
    exercise=EXERCISE,
    points=2,
    title="variance of an attention logit for given widths and projection stds",
    check=PredictionCheck(
        _reference("attention_logit_variance"),
        visible=[
            Call((64, 64, 0.125, 0.125), {"scaled": False}, group="values"),
            Call((768, 64, 0.02, 0.02), {"scaled": True}, group="values"),
            Call((256, 32, 0.05, 0.1), {"scaled": True}, group="values"),
        ],
        hidden=_attention_hidden,
        mistakes=[
            (
                "the projections' fan-in left out: each coordinate of q = x W_q sums d_model terms",
                lambda dm, dk, sq, sk, *, scaled=True: dk * sq**2 * sk**2 / (dk if scaled else 1),
            ),
            (
                "the division by sqrt(d_k) applied to the variance as sqrt(d_k); dividing a "
                "number by c divides its variance by c^2",
                lambda dm, dk, sq, sk, *, scaled=True: (
                    dk * dm**2 * sq**2 * sk**2 / (math.sqrt(dk) if scaled else 1)
                ),
            ),
            (
                "the stds used where variances belong",
                lambda dm, dk, sq, sk, *, scaled=True: dk * dm**2 * sq * sk / (dk if scaled else 1),
            ),
            (
                "the scaling ignored (check the keyword scaled)",
                lambda dm, dk, sq, sk, *, scaled=True: dk * dm**2 * sq**2 * sk**2,
            ),
            (
                "a std, not a variance",
                lambda dm, dk, sq, sk, *, scaled=True: math.sqrt(
                    dk * dm**2 * sq**2 * sk**2 / (dk if scaled else 1)
                ),
            ),
        ],
        hint="one coordinate of q first (a sum over d_model terms), then the dot product (a sum "
        "over d_k products of independent factors); lecture 08, section 3",
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
def _mlp_hidden(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(4):
        d_model = int(rng.choice([16, 32, 64, 128, 256]))
        q = float(rng.uniform(0.3, 4.0))  # d_model std^2: where GELU is far from linear
        std = float(np.round(math.sqrt(q / d_model), 4))
        proj = float(np.round(rng.uniform(0.002, 0.05), 4))
        calls.append(Call((d_model, std, proj), group="values"))
    return calls


def _gelu_small_q(d, s, p):
    return 4 * d * p**2 * d * s**2 / 4


question(
    "mlp_branch_variance",
    exercise=EXERCISE,
    points=2,
    title="(stretch) variance added by a pre-LN MLP branch with GELU",
    check=PredictionCheck(
        _reference("mlp_branch_variance"),
        visible=[
            Call((64, 0.02, 0.02), group="values"),
            Call((64, 0.125, 0.01), group="values"),
            Call((32, 0.3, 0.05), group="values"),
        ],
        hidden=_mlp_hidden,
        rtol=1e-4,
        mistakes=[
            (
                "the small-variance approximation E[GELU(h)^2] = Var(h)/4; compute the "
                "Gaussian integral",
                _gelu_small_q,
            ),
            (
                "ReLU's second moment Var(h)/2 in place of GELU's",
                lambda d, s, p: 4 * d * p**2 * d * s**2 / 2,
            ),
            (
                "the 4 d_model hidden units counted as d_model",
                lambda d, s, p: d * p**2 * _modern().gelu_second_moment(d * s**2),
            ),
            (
                "Var(GELU(h)) in place of E[GELU(h)^2]: the next layer's zero-mean weights see "
                "the second moment",
                lambda d, s, p: (
                    4
                    * d
                    * p**2
                    * (_modern().gelu_second_moment(d * s**2) - _gelu_mean(d * s**2) ** 2)
                ),
            ),
        ],
        hint="the LayerNorm output has sum of squares d_model, which fixes the variance of "
        "each hidden pre-activation; then a one-dimensional Gaussian integral (quadrature)",
    ),
    forbidden=(
        "course_utils.modern.mlp_branch_variance",
        "course_utils.modern.gelu_second_moment",
        "course_utils.modern.pre_ln_stream_variance",
    ),
)


def _gelu_mean(q: float) -> float:
    z, w = np.polynomial.hermite_e.hermegauss(80)
    h = math.sqrt(q) * z
    phi = 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in h]))
    return float(np.sum(w * h * phi) / math.sqrt(2 * math.pi))
