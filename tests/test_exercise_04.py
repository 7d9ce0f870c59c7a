"""Exercise 04_glorot: the solution grades to full marks, the blank exercise to 0, and mistakes fail.

One run of the grader CLI on both notebooks (a module fixture); then in-process checks of
typical wrong answers with run_checks (visible inputs, the same verdict a student sees).
"""

from __future__ import annotations

import numpy as np
import pytest
from _grading_helpers import assert_full_marks, assert_zero, grade, notebooks

from course_utils.grading import run_checks
from course_utils.initializers import fan_in_and_fan_out

SOLUTION, EXERCISE = notebooks("04_glorot")
FULL = 8.0


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return grade(SOLUTION, EXERCISE, out_dir=tmp_path_factory.mktemp("grades"))


def test_solution_gets_full_marks(reports):
    assert_full_marks(reports["solutions"], "04_glorot", FULL, ["glorot_normal", "glorot_uniform", "backward_variance_ratio"])


def test_blank_exercise_gets_zero(reports):
    assert_zero(reports["exercises"], "04_glorot", FULL)


def lecun_as_glorot(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=shape).astype(dtype)


def uniform_without_sqrt3(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, fan_out = fan_in_and_fan_out(shape, layout=layout)
    a = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape).astype(dtype)


def ratio_with_fan_in(shape, weight_variance, *, layout="in_out"):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    return fan_in * weight_variance


@pytest.mark.parametrize(
    ("qid", "fn"),
    [
        ("glorot_normal", lecun_as_glorot),
        ("glorot_uniform", uniform_without_sqrt3),
        ("backward_variance_ratio", ratio_with_fan_in),
    ],
)
def test_typical_mistakes_lose_points(qid, fn):
    """Each wrong answer misses by a factor >= 1.25 in variance on the visible non-square shapes,
    far beyond the checks' 5-standard-error tolerance (or the deterministic rtol of 1e-6)."""
    r = run_checks(qid, fn)
    assert r.points < r.max_points
