"""Shared pieces of the exercise tests (tests/test_exercise_NN.py).

Each exercise test grades its solution and its blank exercise once with the grader CLI, runs the
solution's graded cells in-process, and checks typical mistakes with the visible checks; the
plumbing for that lives here so the test files only hold what is particular to the exercise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from course_utils.grading import get_question, harness
from course_utils.grading.judge import judge, request_for

ROOT = Path(__file__).resolve().parents[1]


def notebooks(name: str) -> tuple[Path, Path]:
    """``(solutions/NAME.ipynb, exercises/NAME.ipynb)``."""
    return ROOT / "solutions" / f"{name}.ipynb", ROOT / "exercises" / f"{name}.ipynb"


def grade(*paths: Path, out_dir: Path, jobs: int | None = None) -> dict[str, dict[str, Any]]:
    """Run ``python -m course_utils.grade`` once on ``paths``; the JSON reports keyed by the
    submission's folder name (``"solutions"``, ``"exercises"``)."""
    out = out_dir / "grades.json"
    cmd = [sys.executable, "-m", "course_utils.grade", *map(str, paths), "--json", str(out)]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    from course_utils.grading import sandbox

    if sandbox.unavailable_reason() is not None:  # e.g. macOS: grade as a student would
        cmd += ["--no-sandbox"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {Path(r["submission"]).parent.name: r for r in json.loads(out.read_text())}


def solution_namespace(solution: Path, ids: Iterable[str]) -> dict[str, Any]:
    """Execute the solution's graded cells (those whose nbgrader grade_id is in ``ids``)."""
    ids = set(ids)
    ns: dict[str, Any] = {"np": np}
    for cell in nbformat.read(solution, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in ids:
            exec(compile(cell.source, "solution", "exec"), ns)
    return ns


def failed(result: Any) -> dict[str, str]:
    """The failed checks of a grading result, name -> message."""
    return {c.name: c.message for c in result.checks if not c.passed}


def assert_passes_hidden_checks(qid: str, answer: Any, seeds: int = 15) -> None:
    """The grader's hidden inputs, drawn with ``seeds`` different seeds, all pass."""
    q = get_question(qid)
    for seed in range(seeds):
        calls = q.check.calls(np.random.default_rng(seed))
        result = judge(
            q, calls, harness.run_question({q.name: answer}, request_for(q, calls, time_limit=20))
        )
        assert result.passed, (qid, seed, failed(result))


def assert_full_marks(report: dict[str, Any], exercise: str, full: float, ids: list[str]) -> None:
    """A graded report with every question passed, in the registry's order."""
    assert (report["status"], report["exercise"], report["score"], report["max_score"]) == (
        "graded", exercise, full, full,
    ), report  # fmt: skip
    assert [q["id"] for q in report["questions"]] == ids
    assert all(q["passed"] for q in report["questions"]), report


def assert_zero(report: dict[str, Any], exercise: str, full: float) -> None:
    """A graded (not crashed) report with no question passed."""
    assert (report["status"], report["exercise"], report["score"], report["max_score"]) == (
        "graded", exercise, 0.0, full,
    ), report  # fmt: skip
    assert not any(q["passed"] for q in report["questions"]), report
