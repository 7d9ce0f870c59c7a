"""Exercise 07_modern: the solution grades to full marks, the blank exercise and stubs to 0,
typical mistakes lose the points with a message that names the misconception and never the
expected value, and the solution passes the grader's hidden inputs for many seeds.
"""

from __future__ import annotations

import math
import re

import nbformat
import numpy as np
import pytest
from _grading_helpers import (
    assert_full_marks,
    assert_passes_hidden_checks,
    assert_zero,
    grade,
    notebooks,
)

from course_utils import modern
from course_utils.grading import get_question, questions_for, run_checks

EXERCISE = "07_modern"
SOLUTION, BLANK = notebooks(EXERCISE)
IDS = [
    "residual_std",
    "flat_branch_scale",
    "attention_logit_variance",
    "stream_stds",
    "mlp_branch_variance",
]
FULL = 12.0


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return grade(SOLUTION, BLANK, out_dir=tmp_path_factory.mktemp("grades"))


@pytest.fixture(scope="module")
def ns():
    """The solution's setup cell (imports of math and numpy) and its graded cells, executed."""
    cells = [c for c in nbformat.read(SOLUTION, as_version=4).cells if c.cell_type == "code"]
    namespace: dict = {}
    for i, cell in enumerate(cells):
        if i == 0 or cell.metadata.get("nbgrader", {}).get("grade_id") in IDS:
            exec(compile(cell.source, f"cell {i}", "exec"), namespace)
    return namespace


def test_points_split():
    qs = questions_for(EXERCISE)
    assert [q.id for q in qs] == IDS
    assert sum(q.points for q in qs) == FULL
    predictions = {"residual_std", "flat_branch_scale", "attention_logit_variance"}
    stretch = "mlp_branch_variance"
    on_hidden_predictions = sum(q.points for q in qs if q.id in predictions | {stretch})
    assert on_hidden_predictions >= FULL / 2
    assert get_question(stretch).points <= 0.2 * FULL


def test_solution_gets_full_marks(reports):
    assert_full_marks(reports["solutions"], EXERCISE, FULL, IDS)


def test_blank_exercise_gets_zero(reports):
    assert_zero(reports["exercises"], EXERCISE, FULL)


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_hidden_inputs(ns, qid):
    assert_passes_hidden_checks(qid, ns[get_question(qid).name], seeds=12)


@pytest.mark.parametrize("qid", IDS)
@pytest.mark.parametrize(
    "stub",
    [
        lambda *a, **k: None,
        lambda *a, **k: 0.0,
        lambda *a, **k: 1.0,
        lambda *a, **k: np.zeros(3),
        lambda *a, **k: (_ for _ in ()).throw(ValueError("no")),
    ],
    ids=["none", "zero", "one", "zeros", "raises"],
)
def test_stubs_earn_nothing(qid, stub):
    assert run_checks(qid, stub).points == 0


def test_hidden_inputs_change_with_the_seed():
    for qid in IDS:
        check = get_question(qid).check
        a = [c.describe() for c in check.calls(np.random.default_rng(1))]
        b = [c.describe() for c in check.calls(np.random.default_rng(2))]
        assert a != b, qid


# ------------------------------------------------------------------------------ typical mistakes
def residual_variance_not_std(depth, branch_scale, *, norm=False, std0=1.0):
    return std0**2 + depth * branch_scale**2 if norm else std0**2 * (1 + branch_scale**2) ** depth


def residual_beta_not_squared(depth, branch_scale, *, norm=False, std0=1.0):
    return math.sqrt(
        std0**2 + depth * branch_scale if norm else std0**2 * (1 + branch_scale) ** depth
    )


def residual_always_plain(depth, branch_scale, *, norm=False, std0=1.0):
    return std0 * (1 + branch_scale**2) ** (depth / 2)


def flat_std_as_variance(depth, growth):
    if growth < 1:
        raise ValueError("growth")
    return math.sqrt(growth ** (1 / depth) - 1)


def flat_fixup(depth, growth):
    return 1 / math.sqrt(depth)


def flat_never_raises(depth, growth):
    return math.sqrt(max(growth ** (2 / depth) - 1, 0.0))


def attention_no_fan_in(d_model, d_k, std_q, std_k, *, scaled=True):
    return d_k * std_q**2 * std_k**2 / (d_k if scaled else 1)


def attention_sqrt_scaling(d_model, d_k, std_q, std_k, *, scaled=True):
    v = d_k * (d_model * std_q**2) * (d_model * std_k**2)
    return v / math.sqrt(d_k) if scaled else v


def stream_mean_squares(x, w1s, w2s, branch_scale):
    out = [float(np.mean(x**2))]
    for a, b in zip(w1s, w2s, strict=True):
        x = x + branch_scale * np.maximum(x @ a, 0) @ b
        out.append(float(np.mean(x**2)))
    return np.array(out)


def mlp_linear_gelu(d_model, std, proj_std):
    return 4 * d_model * proj_std**2 * d_model * std**2 / 4


@pytest.mark.parametrize(
    ("qid", "answer", "words"),
    [
        ("residual_std", residual_variance_not_std, "variance, not the std"),
        ("residual_std", residual_beta_not_squared, "beta instead of beta^2"),
        ("residual_std", residual_always_plain, "normalized branch"),
        ("flat_branch_scale", flat_std_as_variance, "growth^2"),
        ("flat_branch_scale", flat_fixup, "Fixup"),
        ("attention_logit_variance", attention_no_fan_in, "fan-in"),
        ("attention_logit_variance", attention_sqrt_scaling, "c^2"),
        ("stream_stds", stream_mean_squares, "square root"),
        ("mlp_branch_variance", mlp_linear_gelu, "small-variance approximation"),
    ],
)
def test_mistakes_lose_the_points_with_a_diagnosis(qid, answer, words):
    result = run_checks(qid, answer)
    assert result.points == 0, result.message
    assert words in result.message, result.message


def test_mistakes_also_fail_hidden_inputs():
    q = get_question("residual_std")
    calls = q.check.calls(np.random.default_rng(5))
    assert any(c.kwargs.get("norm") for c in calls) and any(not c.kwargs.get("norm") for c in calls)


def test_missing_value_error_costs_only_the_secondary_check():
    result = run_checks("flat_branch_scale", flat_never_raises)
    assert 0 < result.points < result.max_points
    assert "ValueError" in result.message


def _numbers(text: str) -> set[float]:
    """Decimal numbers in ``text`` (integers such as "beta^2" or "lecture 08" are not values)."""
    return {float(m) for m in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text)}


@pytest.mark.parametrize(
    ("qid", "answer"),
    [
        ("residual_std", residual_variance_not_std),
        ("residual_std", lambda depth, branch_scale, *, norm=False, std0=1.0: 123.456),
        ("flat_branch_scale", flat_fixup),
        ("attention_logit_variance", attention_no_fan_in),
        ("mlp_branch_variance", mlp_linear_gelu),
    ],
)
def test_messages_never_print_the_expected_value(qid, answer):
    """After the input and the answer's own value ("f(args) returned v"), the message holds
    no rounding of any expected value."""
    q = get_question(qid)
    result = run_checks(qid, answer)
    assert result.points == 0
    tail = re.sub(r"^.*? returned [^,:.]+(?:\.\d+)?", "", result.message)
    shown = _numbers(tail)
    for call in q.check.calls(None):
        if call.group != "values":
            continue
        want = float(q.check.reference(*call.args, **call.kwargs))
        for digits in (3, 4, 5, 6):
            assert float(f"{want:.{digits}g}") not in shown, (want, result.message)


def test_references_are_the_library_functions():
    assert get_question("flat_branch_scale").check.reference(30, 2.0) == modern.flat_branch_scale(
        30, 2.0
    )
    assert modern.residual_std(30, modern.flat_branch_scale(30, 2.0)) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("qid", "answer"),
    [
        ("residual_std", modern.residual_std),
        ("flat_branch_scale", lambda depth, growth: modern.flat_branch_scale(depth, growth)),
        ("attention_logit_variance", modern.attention_logit_variance),
        ("stream_stds", modern.stream_stds),
        ("mlp_branch_variance", lambda d, s, p: modern.mlp_branch_variance(d, s, p)),
    ],
)
def test_handing_in_the_library_reference_earns_nothing(qid, answer):
    assert run_checks(qid, answer).points == 0


def test_the_value_error_must_name_the_argument():
    def anonymous_error(depth, growth):
        if growth < 1:
            raise ValueError("impossible")
        return math.sqrt(growth ** (2 / depth) - 1)

    result = run_checks("flat_branch_scale", anonymous_error)
    assert 0 < result.points < result.max_points
    assert "does not name" in result.message


def test_question_module_loads_without_torch():
    """The registry imports every question module for any check(): exercise 07's must not
    pull in torch (course_utils.modern does; the questions import it only when checked)."""
    import subprocess
    import sys

    code = (
        "import sys\nsys.modules['torch'] = None\n"
        "from course_utils.grading.registry import load_errors, questions_for\n"
        "assert 'ex07_modern' not in load_errors(), load_errors()\n"
        "assert len(questions_for('07_modern')) == 5\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
