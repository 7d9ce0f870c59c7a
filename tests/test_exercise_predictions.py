"""The prediction check kinds of course_utils.grading.predictions, across every exercise.

* A wrong prediction is never told the expected value: for every question built with
  ``predicted``, an answer off by a factor 1.37 fails and its message holds none of the
  reference's numbers (as the message would print them).
* The gate: when a main check fails, every other check of the question fails too.
* ``close`` compares numbers, arrays and tuples of arrays of different shapes.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.grading import all_questions, run_checks
from course_utils.grading.checks import CheckResult
from course_utils.grading.predictions import (
    GATED,
    PredictedCheck,
    _apply,
    apply_gate,
    close,
    show,
)

PREDICTED = [q for q in all_questions() if isinstance(q.check, PredictedCheck)]


def _scaled(value, factor):
    if isinstance(value, (tuple, list)):
        return type(value)(_scaled(v, factor) for v in value)
    if isinstance(value, (bool, np.bool_)):
        return not value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value) + 7
    return (
        np.asarray(value, dtype=float) * factor if isinstance(value, np.ndarray) else value * factor
    )


@pytest.mark.parametrize("q", PREDICTED, ids=[q.id for q in PREDICTED])
def test_a_wrong_prediction_is_not_told_the_expected_value(q):
    calls = q.check.calls(None)

    def wrong(*args, **kwargs):
        for call in calls:  # the visible call with these arguments
            if len(call.args) == len(args):
                try:
                    return _scaled(q.check.reference(*args, **kwargs), 1.37)
                except Exception:  # noqa: BLE001 - the reference raises here: do not
                    return 0.5
        return 0.5

    r = run_checks(q.id, wrong)
    assert r.points < r.max_points
    message = r.message
    for call in calls:  # the inputs are shown; only the expected values must not be
        message = message.replace(call.describe(q.name), "<call>")
    for call in calls:
        try:
            want = _apply(q.check.reference, call)
        except Exception:  # noqa: BLE001 - a call that must raise
            continue
        shown = show(want)
        if len(shown) > 3 and "an array" not in shown:
            assert shown not in message, (q.id, shown, message)


def test_gate_fails_secondary_checks_when_a_main_check_fails():
    results = [
        CheckResult("values", False),
        CheckResult("dtype", True),
        CheckResult("raises", True),
    ]
    out = apply_gate(results, ["values"])
    assert [r.passed for r in out] == [False, False, False]
    assert out[0].main and not out[1].main and GATED in out[1].message
    ok = apply_gate([CheckResult("values", True), CheckResult("dtype", True)], ["values"])
    assert all(r.passed for r in ok)
    first = apply_gate([CheckResult("a", False), CheckResult("b", True)], ["missing"])
    assert first[0].main and not first[1].passed


def test_close_handles_numbers_arrays_and_ragged_tuples():
    a, b = np.ones((2, 3)), np.zeros((3, 1))
    assert close((a, b), (a.copy(), b.copy()), 1e-9, 0.0)
    assert not close((a, b), (a, a), 1e-9, 0.0)
    assert not close(None, 1.0, 1e-6, 0.0)
    assert not close(float("nan"), 1.0, 1e-6, 0.0)
    assert not close([1.0, 2.0], [1.0, 2.0, 3.0], 1e-6, 0.0)
    assert close(1.0 + 1e-9, 1.0, 1e-6, 0.0)
    assert not close(True, 1.0, 1e-6, 0.0)
