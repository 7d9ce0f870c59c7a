"""Check kinds for prediction and derivation questions, and gating of secondary checks.

Built on the public API of :mod:`course_utils.grading.checks` (``Call``, ``Outcome``,
``CheckResult``, ``QuestionCheck``). Three kinds:

``predicted(reference, visible=..., hidden=..., mistakes=..., hints=...)``
    The answer is a function of the grader's inputs whose value a student predicts from the theory
    (a number, a tuple, an array). Compared with ``reference`` on the same inputs; a failure
    message names the misconception when the answer matches one of ``mistakes`` (a dict
    label -> wrong formula) and otherwise gives the group's hint - it never prints the expected
    value. The first call group is the main check; when it fails, the other groups earn nothing.
``gated(check, main=...)``
    Any other check with its main check marked: when a main check fails, every other check of the
    question fails too ("counts only when ... passes"), so a stub (zeros, ``None``, the input,
    raising) earns 0 even where a secondary check (dtype, seeds, raises) would pass on its own.
``initializer_with_mode(...)``
    A random initializer with ``mode="fan_in" | "fan_out"`` (He et al.): the variance for both
    modes, and ``ValueError`` for an unknown mode.

The main flag follows the shared contract (``CheckResult.main``); the gating is also applied here,
so the verdict does not depend on how :func:`~course_utils.grading.checks.score` treats it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from course_utils.grading.checks import (
    NO_OUTPUT,
    Call,
    CheckResult,
    DeterministicCheck,
    Outcome,
    QuestionCheck,
    Rng,
    first_error,
    random_initializer,
    returned_rtol,
)
from course_utils.grading.harness import Opaque

GATED = "counts only when the main check passes"


def mark_main(result: CheckResult) -> CheckResult:
    """Set ``result.main = True`` (the contract's flag) and return it."""
    result.main = True
    return result


def apply_gate(results: list[CheckResult], main_names: Sequence[str]) -> list[CheckResult]:
    """Mark the checks named in ``main_names`` as main; if one of them failed, fail the others.

    When no name matches, the first check is the main one (the contract's default)."""
    mains = [r for r in results if r.name in main_names] or results[:1]
    for r in results:
        r.main = False
    for r in mains:
        mark_main(r)
    if any(not r.passed for r in mains):
        main_label = ", ".join(r.name for r in mains)
        for r in results:
            if r in mains or not r.passed:
                continue
            r.passed = False
            r.message = f"{GATED} ({main_label})"
    return results


# --------------------------------------------------------------------------------------------
# comparing numbers without printing the expected value
# --------------------------------------------------------------------------------------------
def _as_numbers(value: Any) -> np.ndarray | None:
    """A float64 array of ``value`` (number, tuple, list, array), or None if it is not numeric."""
    if value is None or isinstance(value, (Opaque, str, bytes, dict)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def _as_numbers_or_none(value: Any) -> np.ndarray | None:
    try:
        return _as_numbers(value)
    except Exception:  # noqa: BLE001 - ragged sequences
        return None


def close(got: Any, want: Any, rtol: float, atol: float) -> bool:
    """True when ``got`` holds ``want``'s values: the same shape (a number may come as a scalar
    of any type, a 0-d or a 1-element array) and every entry within ``atol + rtol |want|``,
    ``rtol`` widened to the precision of a float32 answer (:func:`~.checks.returned_rtol`).

    A tuple or list ``want`` of arrays with different shapes is compared item by item."""
    if isinstance(want, (tuple, list)) and _as_numbers_or_none(want) is None:
        if not isinstance(got, (tuple, list, np.ndarray)) or len(got) != len(want):
            return False
        return all(close(g, w, rtol, atol) for g, w in zip(got, want, strict=True))
    rtol = returned_rtol(got, rtol)
    g, w = _as_numbers_or_none(got), _as_numbers_or_none(want)
    if g is None or w is None or not same_shape(g.shape, w.shape):
        return False
    g = g.reshape(w.shape)
    if not np.all(np.isfinite(g)):
        return False
    return bool(np.all(np.abs(g - w) <= atol + rtol * np.abs(w)))


def same_shape(got: tuple[int, ...], want: tuple[int, ...]) -> bool:
    """Shapes that hold the same value: equal, or one number either way (a scalar, a 0-d array,
    a 1-element vector). A real array of another shape never matches."""
    if tuple(got) == tuple(want):
        return True
    return math.prod(got) == 1 == math.prod(want) and len(got) <= 1 and len(want) <= 1


def show(value: Any) -> str:
    """Short description of what an answer returned (its own value, never the expected one)."""
    if isinstance(value, Opaque):
        return repr(value)
    if isinstance(value, (tuple, list)) and _as_numbers_or_none(value) is None:
        return "(" + ", ".join(show(v) for v in value[:4]) + ")"
    arr = _as_numbers_or_none(value)
    if arr is None:
        return f"{type(value).__name__} {str(value)[:40]}"
    if arr.size > 6:
        return f"an array of shape {arr.shape}"
    if arr.ndim == 0:
        return f"{float(arr):.4g}"
    return "(" + ", ".join(f"{float(v):.4g}" for v in arr.ravel()) + ")"


def materialize(value: Any) -> Any:
    """``value`` with every :class:`Rng` placeholder turned into a fresh generator."""
    if isinstance(value, Rng):
        return np.random.default_rng(value.seed)
    if isinstance(value, tuple):
        return tuple(materialize(v) for v in value)
    if isinstance(value, list):
        return [materialize(v) for v in value]
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    return value


def _apply(fn: Callable[..., Any], call: Call) -> Any:
    return fn(*materialize(call.args), **materialize(dict(call.kwargs)))


class PredictedCheck(DeterministicCheck):
    """See :func:`predicted`: a deterministic check (same inputs, reference and groups) whose
    verdict never shows the expected value and names a known mistake when the answer matches one."""

    def __init__(
        self,
        reference: Callable[..., Any],
        *,
        visible: Sequence[Call],
        hidden: Callable[[np.random.Generator], Sequence[Call]],
        rtol: float = 1e-6,
        atol: float = 0.0,
        mistakes: dict[str, Callable[..., Any]] | None = None,
        hints: dict[str, str] | None = None,
        main: str | None = None,
    ) -> None:
        super().__init__(
            reference, visible=visible, hidden=hidden, rtol=float(rtol), atol=float(atol),
            hints=hints, main=main,
        )  # fmt: skip
        self.mistakes = dict(mistakes or {})

    def _diagnose(self, call: Call, got: Any) -> str:
        for label, wrong in self.mistakes.items():
            try:
                value = _apply(wrong, call)
            except Exception:  # noqa: BLE001 - a mistake formula may not apply to this input
                continue
            try:
                want = _apply(self.reference, call)
            except Exception:  # noqa: BLE001
                want = None
            if want is not None and close(value, want, self.rtol, self.atol):
                continue  # indistinguishable from the right answer on this input
            if close(got, value, max(self.rtol, 1e-6), self.atol):
                return f"your value is what you get when {label}"
        return ""

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        groups: dict[str, list[str]] = {}
        for call, out in zip(calls, outcomes, strict=True):
            problems = groups.setdefault(call.group or "answers", [])
            try:
                want, want_error = _apply(self.reference, call), None
            except Exception as err:  # noqa: BLE001 - the reference rejects this input on purpose
                want, want_error = None, err
            if want_error is not None:
                expected = type(want_error).__name__
                if out.ok:
                    problems.append(f"{call.describe(name)} should raise {expected}, it returned")
                elif not out.error.startswith(expected):
                    problems.append(f"{call.describe(name)} should raise {expected}: {out.error}")
                continue
            if not out.ok:
                problems.append(f"{call.describe(name)} {first_error([out])}")
                continue
            if close(out.value, want, self.rtol, self.atol):
                continue
            reason = self._diagnose(call, out.value)
            msg = (
                f"{call.describe(name)} returned {show(out.value)}, which is not the expected value"
            )
            problems.append(msg + (f": {reason}" if reason else ""))
        results = []
        for group, problems in groups.items():
            if problems:
                hint = self.hints.get(group, "")
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                diagnosed = ": your value is what you get" in problems[0]
                msg = problems[0] + more + (f". Hint: {hint}" if hint and not diagnosed else "")
                results.append(CheckResult(group, False, msg))
            else:
                results.append(CheckResult(group, True, "correct"))
        main = [self.main] if self.main else [results[0].name] if results else []
        return apply_gate(results, main)


def predicted(
    reference: Callable[..., Any],
    *,
    visible: Sequence[Call],
    hidden: Callable[[np.random.Generator], Sequence[Call]],
    rtol: float = 1e-6,
    atol: float = 0.0,
    mistakes: dict[str, Callable[..., Any]] | None = None,
    hints: dict[str, str] | None = None,
    main: str | None = None,
) -> PredictedCheck:
    """Checks that compare a predicted quantity with ``reference`` on the grader's inputs.

    Parameters
    ----------
    reference : the right formula, run in the grader's process (kept out of the sandbox).
    visible, hidden : as for :func:`~course_utils.grading.checks.deterministic`.
    rtol, atol : tolerance on every entry of the answer.
    mistakes : label -> wrong formula with the same signature; a failing answer that matches one
        is told the label ("... you get when <label>"), never the expected value.
    hints : hint per call group (words, not code), shown when no mistake explains the answer.
    main : the group that is the main check (default: the first group of the calls).
    """
    return PredictedCheck(
        reference,
        visible=visible,
        hidden=hidden,
        rtol=rtol,
        atol=atol,
        mistakes=mistakes,
        hints=hints,
        main=main,
    )


# --------------------------------------------------------------------------------------------
# gating an existing check
# --------------------------------------------------------------------------------------------
class GatedCheck(QuestionCheck):
    """See :func:`gated`."""

    def __init__(self, inner: QuestionCheck, main: Sequence[str]) -> None:
        self.inner = inner
        self.main = tuple(main)
        self.calls_object = inner.calls_object

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        return self.inner.calls(rng)

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        return apply_gate(self.inner.verdict(calls, outcomes, name), self.main)


def gated(check: QuestionCheck, *, main: str | Sequence[str]) -> GatedCheck:
    """``check`` with its main check(s) ``main`` marked; the others count only when they pass."""
    return GatedCheck(check, [main] if isinstance(main, str) else list(main))


# --------------------------------------------------------------------------------------------
# an initializer with mode="fan_in" | "fan_out"
# --------------------------------------------------------------------------------------------
BAD_MODES = ("fan_avg", "FAN_IN", "in", "fan-out")


class ModeInitializerCheck(QuestionCheck):
    """See :func:`initializer_with_mode`."""

    def __init__(self, scale: float, *, family: str, label: str) -> None:
        self.scale = float(scale)
        self.label = label
        self.by_mode = {
            "fan_in": random_initializer(
                lambda fi, fo: self.scale / fi, family=family, variance_label=f"{label}/fan_in"
            ),
            "fan_out": random_initializer(
                lambda fi, fo: self.scale / fo,
                family=family,
                variance_label=f"{label}/fan_out",
                kwargs={"mode": "fan_out"},
            ),
        }
        #: the default-mode check, where tools that inspect a question's statistics look
        self.inner = self.by_mode["fan_in"]

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        out = []
        for mode, check in self.by_mode.items():
            out += [Call(c.args, c.kwargs, group=f"{mode}|{c.group}") for c in check.calls(rng)]
        if rng is None:
            bad = ["fan_avg", "in"]
        else:
            bad = [str(m) for m in rng.choice(BAD_MODES, size=2, replace=False)]
        out += [Call(((64, 32), out[0].args[1]), {"mode": m}, group="bad mode") for m in bad]
        return out

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        results: list[CheckResult] = []
        for mode, check in self.by_mode.items():
            pairs = [
                (Call(c.args, c.kwargs, group=c.group.split("|", 1)[1]), o)
                for c, o in zip(calls, outcomes, strict=True)
                if c.group.startswith(f"{mode}|")
            ]
            sub = check.verdict([c for c, _ in pairs], [o for _, o in pairs], name)
            if mode == "fan_in":
                results += sub
            else:
                for r in sub:
                    if r.name == "variance":
                        r.name = "variance with mode='fan_out'"
                        results.append(r)
        bad = [(c, o) for c, o in zip(calls, outcomes, strict=True) if c.group == "bad mode"]
        problems = []
        for call, out in bad:
            if out.ok:
                problems.append(f"{call.describe(name)} returned instead of raising ValueError")
            elif not out.error.startswith("ValueError"):
                problems.append(f"{call.describe(name)} raised {out.error}, not ValueError")
            elif "mode" not in out.error:
                problems.append(f"{call.describe(name)}: the ValueError does not name `mode`")
        results.append(
            CheckResult(
                "ValueError for an unknown mode",
                bool(bad) and not problems,
                problems[0]
                if problems
                else ("raises ValueError naming mode" if bad else NO_OUTPUT),
            )
        )
        return apply_gate(results, ["variance"])


def initializer_with_mode(scale: float, *, family: str, label: str) -> ModeInitializerCheck:
    """Checks for ``init(shape, rng, *, mode="fan_in", layout=..., dtype=...)`` with variance
    ``scale / fan_in`` by default and ``scale / fan_out`` for ``mode="fan_out"``; any other mode
    must raise ``ValueError`` whose message names ``mode``. Main check: the fan_in variance."""
    return ModeInitializerCheck(scale, family=family, label=label)


__all__ = [
    "GATED",
    "GatedCheck",
    "ModeInitializerCheck",
    "PredictedCheck",
    "apply_gate",
    "close",
    "gated",
    "initializer_with_mode",
    "mark_main",
    "predicted",
    "show",
]
