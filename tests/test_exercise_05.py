"""Exercise 05_he: the solution grades to full marks, the blank exercise to 0, and mistakes fail.

One run of the grader CLI on both notebooks (a module fixture); then in-process checks of
typical wrong answers with run_checks (visible inputs, the same verdict a student sees).
"""

from __future__ import annotations

import numpy as np
import pytest
from _grading_helpers import assert_full_marks, assert_zero, grade, notebooks

from course_utils.grading import run_checks
from course_utils.initializers import fan_in_and_fan_out

SOLUTION, EXERCISE = notebooks("05_he")
FULL = 9.0


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return grade(SOLUTION, EXERCISE, out_dir=tmp_path_factory.mktemp("grades"))


def test_solution_gets_full_marks(reports):
    assert_full_marks(reports["solutions"], "05_he", FULL, ["he_normal", "he_uniform", "predicted_std"])


def test_blank_exercise_gets_zero(reports):
    assert_zero(reports["exercises"], "05_he", FULL)


def glorot_as_he(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
    fan_in, fan_out = fan_in_and_fan_out(shape, layout=layout)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape).astype(dtype)


def he_uniform_std_as_limit(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    a = np.sqrt(2.0 / fan_in)
    return rng.uniform(-a, a, size=shape).astype(dtype)


def std_forgetting_first_layer(depth, scheme, activation):
    c = 2.0 if scheme.startswith("he_") else 1.0
    m = {"linear": 1.0, "relu": 0.5}[activation]
    return float(np.sqrt((c * m) ** depth))


@pytest.mark.parametrize(
    ("qid", "fn"),
    [
        ("he_normal", glorot_as_he),
        ("he_uniform", he_uniform_std_as_limit),
        ("predicted_std", std_forgetting_first_layer),
    ],
)
def test_typical_mistakes_lose_points(qid, fn):
    """Wrong by a factor >= 1.25 in variance (or sqrt 2 in std), far beyond the tolerances."""
    r = run_checks(qid, fn)
    assert r.points < r.max_points


def test_reference_matches_theory_module():
    """The graded reference is course_utils.theory.predicted_std: Glorot+ReLU at 30 is 2^-14.5."""
    from course_utils.theory import predicted_std

    assert predicted_std(30, "glorot_normal", "relu") == pytest.approx(2**-14.5, rel=1e-12)
    assert predicted_std(30, "he_normal", "relu") == pytest.approx(np.sqrt(2), rel=1e-12)
