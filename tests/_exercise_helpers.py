"""Shared pieces of the exercise tests that exercise 01-06 add to _grading_helpers: stub answers
that must earn 0 on every question, and a helper to grade them on visible and hidden inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_utils.grading import get_question, harness, run_checks
from course_utils.grading.judge import judge, request_for


def _zeros(*args: Any, **kwargs: Any) -> Any:
    first = args[0] if args else None
    if isinstance(first, tuple) and all(isinstance(d, int) for d in first):
        return np.zeros(first, dtype=kwargs.get("dtype", np.float32))
    if isinstance(first, np.ndarray):
        return np.zeros_like(first)
    return 0.0


def _none(*args: Any, **kwargs: Any) -> Any:
    return None


def _identity(*args: Any, **kwargs: Any) -> Any:
    return args[0] if args else None


def _raises(*args: Any, **kwargs: Any) -> Any:
    raise ValueError("mode")


def _ones(*args: Any, **kwargs: Any) -> Any:
    first = args[0] if args else None
    if isinstance(first, tuple) and all(isinstance(d, int) for d in first):
        return np.ones(first, dtype=kwargs.get("dtype", np.float32))
    return 1.0


#: Answers that do nothing: each must earn 0 points on every question.
STUBS: dict[str, Callable[..., Any]] = {
    "zeros": _zeros,
    "ones": _ones,
    "None": _none,
    "returns its input": _identity,
    "raises ValueError": _raises,
}


def assert_points_split(
    exercise: str, ids: list[str], predictions: set[str], stretch: str, full: float
) -> None:
    """The exercise's questions are ``ids`` in order, worth ``full`` points; at least half of
    them on the ``predictions``; exactly one stretch question, ``stretch``, at most 20 %."""
    from course_utils.grading.registry import questions_for

    qs = questions_for(exercise)
    assert [q.id for q in qs] == ids
    assert sum(q.points for q in qs) == full
    assert sum(q.points for q in qs if q.id in predictions) >= full / 2
    stretched = [q for q in qs if q.title.startswith("stretch")]
    assert [q.id for q in stretched] == [stretch] and stretched[0].points <= 0.2 * full


def hidden_points(qid: str, answer: Any, seed: int = 0) -> float:
    """Points of ``answer`` on the grader's hidden inputs drawn with ``seed``."""
    q = get_question(qid)
    calls = q.check.calls(np.random.default_rng(seed))
    result = judge(
        q, calls, harness.run_question({q.name: answer}, request_for(q, calls, time_limit=20))
    )
    return result.points


def assert_stubs_earn_zero(qid: str) -> None:
    """Every stub earns 0 on the visible and on the hidden inputs of question ``qid``."""
    for label, stub in STUBS.items():
        visible = run_checks(qid, stub)
        assert visible.points == 0, (qid, label, visible.message)
        assert hidden_points(qid, stub) == 0, (qid, label)


def solution_functions(solution: Any, ids: Any) -> dict[str, Any]:
    """Execute the solution's setup cell (its first code cell: imports, generator) and then its
    graded cells (nbgrader grade_id in ``ids``, in order); the resulting namespace."""
    import nbformat

    ids = set(ids)
    ns: dict[str, Any] = {}
    cells = [c for c in nbformat.read(solution, as_version=4).cells if c.cell_type == "code"]
    exec(compile(cells[0].source, "setup", "exec"), ns)
    for cell in cells[1:]:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in ids:
            exec(compile(cell.source, "solution", "exec"), ns)
    return ns


def assert_wrong_answers_fail(
    qid: str, corpus: dict[str, Callable[..., Any]], max_fraction: float = 0.25, seeds: int = 3
) -> None:
    """Each answer of ``corpus`` (label -> a typical wrong answer: a real misconception, not a
    stub) earns at most ``max_fraction`` of question ``qid`` on the hidden inputs of every seed,
    and ``check()`` (the visible inputs) does not pass it."""
    q = get_question(qid)
    assert len(corpus) >= 5, f"{qid}: a corpus of at least 5 wrong answers, got {len(corpus)}"
    for label, answer in corpus.items():
        visible = run_checks(qid, answer)
        assert visible.points < q.points, (qid, label, "check() passes it", visible.message)
        assert visible.points <= max_fraction * q.points, (
            qid,
            label,
            visible.points,
            visible.message,
        )
        for seed in range(seeds):
            got = hidden_points(qid, answer, seed=seed)
            assert got <= max_fraction * q.points, (qid, label, seed, got)


def student_text(exercise_path: Any) -> str:
    """Every cell source of a generated student notebook, joined, with runs of whitespace made one
    space (so a closed form split over lines is still found)."""
    import re

    import nbformat

    nb = nbformat.read(exercise_path, as_version=4)
    return re.sub(r"\s+", " ", "\n".join(c.source for c in nb.cells))


def assert_no_closed_forms(exercise_path: Any, forbidden: dict[str, list[str]]) -> None:
    """No closed form of a graded question appears in the student notebook: ``forbidden`` maps a
    question id to regular expressions (matched case-insensitively against the whitespace-
    normalized text of every cell) that would give its answer away."""
    import re

    text = student_text(exercise_path)
    for qid, patterns in forbidden.items():
        for pattern in patterns:
            hit = re.search(pattern, text, flags=re.IGNORECASE)
            assert hit is None, f"{qid}: the student notebook shows {hit.group(0)!r} ({pattern})"


def assert_judged_on_their_rule(qid: str, corpus: dict[str, Callable[..., Any]]) -> None:
    """No answer of ``corpus`` is stopped by a library reference stubbed while grading (a wrong
    answer written with the library's own helpers would earn 0 for that reason, not for its
    rule), on the visible inputs and on the hidden ones."""
    for label, answer in corpus.items():
        messages = [run_checks(qid, answer).message]
        q = get_question(qid)
        calls = q.check.calls(np.random.default_rng(0))
        hidden = judge(
            q, calls, harness.run_question({q.name: answer}, request_for(q, calls, time_limit=20))
        )
        messages.append(hidden.message)
        for m in messages:
            assert "not available while grading" not in m and "library reference" not in m, (
                qid,
                label,
                m,
            )


def assert_patterns_found(solution_path: Any, patterns: dict[str, list[str]]) -> None:
    """The closed-form patterns are real: for each question, some pattern of ``patterns`` finds
    its closed form in the solution notebook's own text (so :func:`assert_no_closed_forms` on
    the student notebook can fail). Pass ``{qid: p[:1]}`` to require the first pattern."""
    import re

    text = student_text(solution_path)
    for qid, found in patterns.items():
        assert any(re.search(p, text, flags=re.IGNORECASE) for p in found), qid


def assert_check_names_each_mistake(qid: str) -> None:
    """Every wrong formula question ``qid`` knows (``check.mistakes``) earns 0 from ``check()``
    on the visible inputs, and the message names it."""
    for label, wrong in get_question(qid).check.mistakes.items():
        r = run_checks(qid, wrong)
        assert r.points == 0 and label in r.message, (label, r.message)


def grading_suite(
    exercise: str, ids: list[str], full: float, *, hidden: list[str] | None = None, seeds: int = 8
) -> dict[str, Any]:
    """The tests every exercise module shares, to be put into its namespace with
    ``globals().update(grading_suite(...))``: the solution passes the hidden checks of ``seeds``
    draws (the questions ``hidden``, all by default), every stub earns 0, and one run of the
    grader CLI gives the solution ``full`` marks and the blank exercise 0."""
    import pytest
    from _grading_helpers import (
        assert_full_marks,
        assert_passes_hidden_checks,
        assert_zero,
        grade,
        notebooks,
    )

    solution, blank = notebooks(exercise)

    @pytest.fixture(scope="module")
    def answers() -> dict:
        return solution_functions(solution, ids)

    @pytest.mark.parametrize("qid", ids if hidden is None else hidden)
    def test_solution_passes_the_hidden_checks_for_many_draws(answers, qid):
        assert_passes_hidden_checks(qid, answers[qid], seeds=seeds)

    @pytest.mark.parametrize("qid", ids)
    def test_stubs_earn_zero(qid):
        assert_stubs_earn_zero(qid)

    @pytest.fixture(scope="module")
    def reports(tmp_path_factory):
        return grade(solution, blank, out_dir=tmp_path_factory.mktemp("grades"))

    def test_solution_gets_full_marks(reports):
        assert_full_marks(reports["solutions"], exercise, full, ids)

    def test_blank_exercise_gets_zero(reports):
        assert_zero(reports["exercises"], exercise, full)

    return {
        "answers": answers,
        "reports": reports,
        "test_solution_passes_the_hidden_checks_for_many_draws": (
            test_solution_passes_the_hidden_checks_for_many_draws
        ),
        "test_stubs_earn_zero": test_stubs_earn_zero,
        "test_solution_gets_full_marks": test_solution_gets_full_marks,
        "test_blank_exercise_gets_zero": test_blank_exercise_gets_zero,
    }
