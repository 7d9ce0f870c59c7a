"""Turn what the harness sent back for one question into a scored :class:`QuestionResult`."""

from __future__ import annotations

from course_utils.grading.checks import Call, Outcome, QuestionResult, one_line, score, zero
from course_utils.grading.registry import DEFAULT_ALLOWED_IMPORTS, Question, exercise_info


def request_for(q: Question, calls: list[Call], *, time_limit: float) -> dict:
    """The JSON request that :func:`course_utils.grading.harness.run_question` understands."""
    return {
        "name": q.name,
        "calls": [c.to_wire() for c in calls] if q.check.calls_object else None,
        "forbidden": list(q.forbidden),
        "time_limit": float(time_limit),
    }


_IMPORT_ERRORS = ("ModuleNotFoundError", "ImportError")


def judge(
    q: Question, calls: list[Call], answer: dict | None, *, missing: str = ""
) -> QuestionResult:
    """Score one question from the harness ``answer``; never raises.

    ``missing`` explains an absent answer (e.g. the kernel died before the question ran). When
    the answer (or the cell that should define it) failed on a missing module, the message says
    what a graded answer may import (the exercise's ``ALLOWED_IMPORTS``).
    """
    result = _judge(q, calls, answer, missing=missing)
    if any(e in result.message for e in _IMPORT_ERRORS):
        try:
            allowed = ", ".join(exercise_info(q.exercise).allowed_imports)
        except Exception:  # noqa: BLE001 - a hint must never break a verdict
            allowed = ", ".join(DEFAULT_ALLOWED_IMPORTS)
        # first, so that cutting a long message at 400 characters keeps it
        result.message = one_line(f"a graded answer may import only {allowed}; {result.message}")
    return result


def _judge(
    q: Question, calls: list[Call], answer: dict | None, *, missing: str = ""
) -> QuestionResult:
    try:
        if answer is None:
            return zero(q.id, q.points, missing or f"`{q.name}` could not be graded")
        if "crash" in answer:
            return zero(
                q.id, q.points, f"grading `{q.name}` failed inside the notebook: {answer['crash']}"
            )
        if not answer.get("found"):
            return zero(
                q.id,
                q.points,
                f"`{q.name}` is not defined in the notebook" + (f" ({missing})" if missing else ""),
            )
        if answer.get("library"):
            return zero(
                q.id,
                q.points,
                f"`{q.name}` is the library's own {answer['library']}: "
                "write your own implementation",
            )
        if q.check.calls_object:
            raw = answer.get("outcomes")
            if not isinstance(raw, list) or len(raw) != len(calls):
                return zero(q.id, q.points, f"`{q.name}` returned no usable results")
            outcomes = []
            for i, o in enumerate(raw):
                outcomes.append(Outcome.from_wire(o if isinstance(o, dict) else {}))
                raw[i] = None  # the wire text of a large array is not kept beside the array
            for call, outcome in zip(calls, outcomes, strict=True):
                outcome.input = call.describe(q.name)
            used = next((o.error for o in outcomes if "not available while grading" in o.error), "")
            if used:
                return zero(
                    q.id,
                    q.points,
                    f"`{q.name}` uses a library reference that answers the question ({used}): "
                    "write your own implementation",
                )
            if outcomes and all(o.error.startswith("NotImplementedError") for o in outcomes):
                return zero(
                    q.id,
                    q.points,
                    f"`{q.name}` is not implemented yet (it raises NotImplementedError)",
                )
        else:
            outcomes = [Outcome.from_wire({"ok": True, "value": answer.get("value")})]
        return score(q.id, q.points, q.check.verdict(calls, outcomes, q.name))
    except Exception as err:  # noqa: BLE001 - a verdict must never crash the grader
        return zero(q.id, q.points, f"could not judge `{q.name}`: {type(err).__name__}: {err}")
