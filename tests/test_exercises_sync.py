"""The committed student notebooks are exactly what the generator makes from the solutions,
and every solution is wired to the question registry."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_utils.grading import exercises, questions_for
from course_utils.grading.build import BEGIN, make_exercise, stamp_solution

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def _ids(paths):
    return [p.stem for p in paths]


def test_there_is_a_solution_for_every_exercise_with_questions():
    stems = {p.stem for p in SOLUTIONS}
    assert set(exercises()) <= stems, set(exercises()) - stems


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_committed_exercise_matches_the_generator(solution):
    exercise = ROOT / "exercises" / solution.name
    assert exercise.exists(), f"run `make exercises`: {exercise} is missing"
    expected = nbformat.writes(make_exercise(nbformat.read(solution, as_version=4), solution.stem))
    assert exercise.read_text(encoding="utf-8") == expected + "\n", (
        f"{exercise} differs from what `make exercises` generates from {solution}"
    )


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_carries_nbgrader_and_course_metadata(solution):
    nb = nbformat.read(solution, as_version=4)
    assert nb.metadata["course"]["exercise"] == solution.stem
    assert not stamp_solution(nb, solution.stem), "run `make exercises` to stamp the metadata"
    grade_ids = []
    for cell in nb.cells:
        if BEGIN in cell.source:
            meta = cell.metadata["nbgrader"]
            assert meta["solution"] is True and meta["schema_version"] == 3
            grade_ids.append(meta["grade_id"])
    assert grade_ids and len(grade_ids) == len(set(grade_ids))


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_every_question_is_defined_and_checked_in_its_solution(solution):
    nb = nbformat.read(solution, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    for q in questions_for(solution.stem):
        defined = [
            i
            for i, s in enumerate(code)
            if re.search(rf"^(def\s+{q.name}\s*\(|{q.name}\s*=)", s, re.M)
        ]
        assert defined, f"{solution.name} never defines {q.name}"
        after = code[defined[0] + 1] if defined[0] + 1 < len(code) else ""
        assert f'check("{q.id}"' in after, f"no check({q.id!r}, ...) cell after {q.name}"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_is_committed_executed_and_exercise_blank(solution):
    sol = nbformat.read(solution, as_version=4)
    ex = nbformat.read(ROOT / "exercises" / solution.name, as_version=4)
    assert all(c.execution_count for c in sol.cells if c.cell_type == "code" and c.source.strip())
    for cell in ex.cells:
        assert BEGIN not in cell.source
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
