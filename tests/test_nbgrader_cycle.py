"""The nbgrader round trip on two students (skipped without nbgrader 0.9: the [nbgrader] extra).

nbgrader generates the assignment from the solution (``nbgrader_bridge source``: every graded
function and written answer is a grade cell with points), records the submissions (``autograde``
with its execution turned off: no student code runs unsandboxed), the sandboxed grader scores each
question and ``import-grades`` writes the points into nbgrader's gradebook, the written answers
get points by hand (the CSV of ``course-grade --reflect``), and ``generate_feedback`` writes the
students' files. alice hands in the solution with her own written answers, bob the blank release.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbgrader = pytest.importorskip(
    "nbgrader", reason="nbgrader is not installed: pip install -e '.[nbgrader]'"
)

from course_utils.grading.registry import questions_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "03_lecun"
BIN = Path(sys.executable).parent


def _run(cmd: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (cmd, proc.stdout[-2000:], proc.stderr[-3000:])
    return proc.stdout + proc.stderr


def _nbgrader(*args: str, cwd: Path) -> str:
    return _run([sys.executable, "-m", "nbgrader", *args], cwd)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from course_utils.grading import sandbox

    course = tmp_path_factory.mktemp("nbgrader") / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "init"\n'
    )
    _run([sys.executable, "-m", "course_utils.grading.nbgrader_bridge", "source", str(course),
          EXERCISE, "--solutions", str(ROOT / "solutions")], ROOT)  # fmt: skip
    _nbgrader("generate_assignment", EXERCISE, "--force", cwd=course)
    released = json.loads((course / "release" / EXERCISE / f"{EXERCISE}.ipynb").read_text())
    solution = json.loads((ROOT / "solutions" / f"{EXERCISE}.ipynb").read_text())
    answers = {
        c["metadata"]["nbgrader"]["grade_id"]: c["source"]
        for c in solution["cells"]
        if c["metadata"].get("nbgrader", {}).get("solution")
    }
    alice = json.loads(json.dumps(released))
    for cell in alice["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            gid = meta["grade_id"]
            cell["source"] = answers[gid] if cell["cell_type"] == "code" else f"Alice on {gid}."
    for student, nb in (("alice", alice), ("bob", released)):
        folder = course / "submitted" / student / EXERCISE
        folder.mkdir(parents=True)
        (folder / f"{EXERCISE}.ipynb").write_text(json.dumps(nb))
        (folder / "timestamp.txt").write_text("2026-12-01 20:00:00.000000 UTC\n")
    _nbgrader("autograde", EXERCISE, "--create", "--force", "--Execute.enabled=False", cwd=course)
    grade = [sys.executable, "-m", "course_utils.grade", "--nbgrader-root", "submitted", "--json",
             "grades.json", "--reflect", "written", "--quiet"]  # fmt: skip
    if sandbox.unavailable_reason() is not None:
        grade.append("--no-sandbox")
    _run(grade, course)
    _run([sys.executable, "-m", "course_utils.grading.nbgrader_bridge", "import-grades", ".",
          "grades.json"], course)  # fmt: skip
    # the instructor reads written/<exercise>/*.html and gives alice full points by hand
    with open(course / "written" / "manual_points.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        if r["student"] == "alice":
            r["points"] = r["max_points"]
    with open(course / "points.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    _run([sys.executable, "-m", "course_utils.grading.nbgrader_bridge", "import-grades", ".",
          "grades.json", "--manual", "points.csv"], course)  # fmt: skip
    _nbgrader("generate_feedback", EXERCISE, "--force", cwd=course)
    return course


def _gradebook(course: Path) -> dict[str, dict]:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in ("alice", "bob"):
            sub = gb.find_submission(EXERCISE, student)
            grades = {g.name: g.score for nb in sub.notebooks for g in nb.grades}
            out[student] = {"score": sub.score, "max_score": sub.max_score, "grades": grades,
                            "needs_manual_grade": sub.needs_manual_grade}  # fmt: skip
    return out


def test_gradebook_holds_every_question_and_the_written_points(course):
    book = _gradebook(course)
    auto = {q.id: q.points for q in questions_for(EXERCISE)}
    alice, bob = book["alice"], book["bob"]
    written = {k: v for k, v in alice["grades"].items() if k not in auto}
    assert written, "the written answers are grade cells"
    assert alice["max_score"] == pytest.approx(sum(auto.values()) + len(written))
    for qid, points in auto.items():
        assert alice["grades"][qid] == pytest.approx(points), qid
        assert bob["grades"][qid] == 0, qid
    assert all(v == 1.0 for v in written.values())
    assert alice["score"] == pytest.approx(alice["max_score"])
    assert bob["score"] == 0
    assert not alice["needs_manual_grade"] and not bob["needs_manual_grade"]


def test_feedback_files_from_nbgrader(course):
    for student in ("alice", "bob"):
        page = course / "feedback" / student / EXERCISE / f"{EXERCISE}.html"
        assert page.is_file()
    bob = (course / "feedback" / "bob" / EXERCISE / f"{EXERCISE}.html").read_text()
    # the grader's message is the cell's comment in nbgrader's feedback
    assert "not implemented yet" in bob
    alice = (course / "feedback" / "alice" / EXERCISE / f"{EXERCISE}.html").read_text()
    book = _gradebook(course)
    assert f"Score: {book['alice']['score']:.1f} / {book['alice']['max_score']:.1f}" in alice


def test_no_student_code_ran_in_nbgraders_autograde(course):
    nb = json.loads((course / "autograded" / "alice" / EXERCISE / f"{EXERCISE}.ipynb").read_text())
    assert not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def test_unanswered_written_cells_are_marked(course):
    with open(course / "written" / "manual_points.csv", newline="") as fh:
        bob = [r for r in csv.DictReader(fh) if r["student"] == "bob"]
    assert bob and all(r["points"] == "0" and r["comment"] == "no answer" for r in bob)
    shutil.rmtree(course / "autograded" / "bob", ignore_errors=True)  # last test: tidy up
