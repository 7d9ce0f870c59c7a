"""``check(question_id, obj)``: instant feedback in the notebook on the visible inputs."""

from __future__ import annotations

import inspect
from typing import Any

from course_utils.grading import harness
from course_utils.grading.checks import NO_OUTPUT, QuestionResult, zero
from course_utils.grading.judge import judge, request_for
from course_utils.grading.registry import get_question, questions_for

_MISSING = object()


def run_checks(
    question_id: str, obj: Any = _MISSING, *, time_limit: float = 10.0
) -> QuestionResult:
    """Run the visible checks of ``question_id`` on ``obj`` in this process; never raises.

    With ``obj`` omitted, the question's graded name is looked up in the caller's globals.
    """
    try:
        q = get_question(question_id)
    except KeyError as err:
        return zero(str(question_id), 0.0, str(err.args[0]))
    try:
        if obj is _MISSING:
            frame = inspect.currentframe()
            namespace = dict(frame.f_back.f_globals) if frame and frame.f_back else {}
        else:
            namespace = {q.name: obj}
        calls = q.check.calls(None)
        request = request_for(q, calls, time_limit=time_limit)
        # as in the grader's sandbox: every reference of the exercise is out of reach
        request["forbidden"] = sorted(
            {name for other in questions_for(q.exercise) for name in other.forbidden}
        )
        answer = harness.run_question(namespace, request)
        return judge(q, calls, answer)
    except Exception as err:  # noqa: BLE001 - feedback must never raise at the student
        return zero(q.id, q.points, f"the check itself failed: {type(err).__name__}: {err}")


def format_result(result: QuestionResult) -> str:
    """Readable lines: a headline, then one line per check (hint on failure)."""
    n = len(result.checks)
    good = sum(c.passed for c in result.checks)
    head = f"{result.id}: {result.points:g} / {result.max_points:g} points"
    if n:
        head += f", {good} of {n} checks passed (visible inputs; the grader draws fresh ones)"
    lines = [head]
    if not n:
        lines.append(f"  FAIL  {result.message}")
    skipped = [c for c in result.checks if not c.passed and c.message == NO_OUTPUT]
    for c in result.checks:
        if c not in skipped:
            lines.append(f"  {'ok  ' if c.passed else 'FAIL'}  {c.name}: {c.message}")
    if skipped:
        lines.append(
            f"  FAIL  {len(skipped)} more checks need an output: "
            + ", ".join(c.name for c in skipped)
        )
    return "\n".join(lines)


def check(question_id: str, obj: Any = _MISSING) -> None:
    """Print the verdict of the visible checks for ``question_id`` on ``obj``. Never raises.

    Examples
    --------
    >>> from course_utils.grading import check
    >>> from course_utils.initializers import fan_in_and_fan_out
    >>> check("no_such_question", fan_in_and_fan_out)  # doctest: +ELLIPSIS
    no_such_question: 0 / 0 points
      FAIL  unknown question 'no_such_question'; known: ...
    """
    try:
        if obj is _MISSING:
            frame = inspect.currentframe()
            namespace = frame.f_back.f_globals if frame and frame.f_back else {}
            try:
                q = get_question(question_id)
                obj = namespace.get(q.name, _MISSING)
                if obj is _MISSING:
                    print(
                        f"{question_id}: `{q.name}` is not defined yet - run the cell that defines it"
                    )
                    return
            except KeyError:
                pass
        print(format_result(run_checks(question_id, obj if obj is not _MISSING else None)))
    except Exception as err:  # noqa: BLE001
        print(f"{question_id}: the check could not run ({type(err).__name__}: {err})")
