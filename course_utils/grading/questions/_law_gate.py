"""A random-initializer check whose law carries the concept (exercises 04 and 05).

Not a questions module: it registers nothing; ``ex04_glorot`` and ``ex05_he`` build their
initializer questions with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from course_utils.grading.checks import Call, CheckResult, Outcome, QuestionCheck
from course_utils.grading.predictions import GATED
from course_utils.initializers import fan_in_and_fan_out

__all__ = ["LawGatedInitializer"]


def _fans_of(call: Call) -> tuple[int, int]:
    return fan_in_and_fan_out(tuple(call.args[0]), layout=call.kwargs.get("layout", "in_out"))


class LawGatedInitializer(QuestionCheck):
    """A random-initializer check whose concept checks (the variance, the distribution's shape,
    for a uniform law its bound) gate every other check and each other: right variance from the
    wrong family earns nothing, nor does the wrong variance with the right seeds and dtype.

    A failed variance check names the misconception in ``misconceptions`` (label -> variance as
    a function of (fan_in, fan_out)) that explains every measured sample variance within 10 %.
    ``samples`` picks the calls of the default mode (group names of the inner check)."""

    def __init__(
        self,
        inner: QuestionCheck,
        *,
        misconceptions: dict[str, Callable[[int, int], float]],
        target: Callable[[int, int], float],
        samples: Sequence[str] = ("sample",),
        concept: Sequence[str] = ("variance", "distribution", "bound"),
    ) -> None:
        self.inner = inner
        self.calls_object = inner.calls_object
        self.misconceptions = dict(misconceptions)
        self.target = target
        self.samples = tuple(samples)
        self.concept = tuple(concept)

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        return self.inner.calls(rng)

    def _diagnose(self, calls: list[Call], outcomes: list[Outcome]) -> str:
        measured = []
        for call, out in zip(calls, outcomes, strict=True):
            value = out.value
            if call.group in self.samples and out.ok and isinstance(value, np.ndarray):
                if value.shape == tuple(call.args[0]) and value.size > 1:
                    measured.append((_fans_of(call), float(np.var(value.astype(np.float64)))))
        if not measured:
            return ""
        for label, formula in self.misconceptions.items():
            if all(math.isclose(formula(*f), self.target(*f)) for f, _ in measured):
                continue
            if all(abs(math.log(max(s2, 1e-300) / formula(*f))) < 0.1 for f, s2 in measured):
                return f"your values look like {label}"
        return ""

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        results = self.inner.verdict(calls, outcomes, name)
        for r in results:
            if r.name == "variance" and not r.passed and "your values match" not in r.message:
                reason = self._diagnose(calls, outcomes)
                if reason:
                    r.message += f"; {reason}"
        concept = [r for r in results if r.name in self.concept]
        for r in results:
            r.main = r in concept
        failed = [r.name for r in concept if not r.passed]
        if failed:
            for r in results:
                if r.passed and r not in concept:
                    r.passed = False
                    r.message = f"{GATED} ({', '.join(failed)})"
                elif r.passed:
                    r.passed = False
                    r.message = f"{r.message}, but {', '.join(failed)} must pass too"
        # the concept's failures first: the report's message lists failed checks in this order
        return sorted(results, key=lambda r: (r not in concept, r.passed))
