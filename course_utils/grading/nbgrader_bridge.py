"""The nbgrader round trip: nbgrader hands out, collects and reports; the sandboxed grader scores.

nbgrader (``pip install 'course_utils[nbgrader]'``, 0.9) manages the class: its gradebook, the
release and collection of assignments, the formgrader for manual grading and the feedback
files. Its own ``autograde`` would run each submission unsandboxed in the instructor's account
and knows only pass/fail test cells; here every automatic point comes from ``course-grade``'s
sandboxed run, per question, into nbgrader's gradebook. The cycle (``COURSE`` is nbgrader's course
folder, ``03_lecun`` an assignment named after the exercise)::

    python -m course_utils.grading.nbgrader_bridge source COURSE 03_lecun     # source/ from solutions/
    cd COURSE && nbgrader generate_assignment 03_lecun                        # release/
    # ... students fetch and submit; nbgrader collect -> submitted/
    nbgrader autograde 03_lecun --Execute.enabled=False   # records the submissions; runs nothing
    course-grade --nbgrader-root submitted --json grades.json --feedback feedback   # sandboxed
    python -m course_utils.grading.nbgrader_bridge import-grades . grades.json
    # formgrader (or the API): points for the written answers, by hand
    nbgrader generate_feedback 03_lecun

``source`` writes ``source/<exercise>/<exercise>.ipynb`` from the solution with nbgrader's cell
metadata completed: a graded function's cell (``grade_id`` = the question id) becomes a grade
cell worth the question's points, and a written-answer (Reflect) markdown cell a grade cell worth
its ``points`` (default :data:`WRITTEN_POINTS`), as ``generate_assignment`` requires ("Markdown
solution cell is not marked as a grade cell"). The committed solutions are not changed.
``import-grades`` writes each question's points (and the grader's message as the cell's comment)
as the score of that grade cell; ``--manual manual_points.csv`` (from ``course-grade --reflect``)
does the same for written answers.

Keep nbgrader out of the students' JupyterLab: ``make nbgrader`` installs the extra and disables
nbgrader's server and lab extensions in the course's environment (DESIGN.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["WRITTEN_POINTS", "import_grades", "nbgrader_source", "write_source"]

#: Points of a written (Reflect) answer whose cell does not say.
WRITTEN_POINTS = 1.0


def nbgrader_source(solution: Any, exercise: str, *, written_points: float = WRITTEN_POINTS) -> Any:
    """A copy of the parsed solution notebook with nbgrader's grade metadata completed (see the
    module docstring); the argument is not modified."""
    import copy

    from course_utils.grading.registry import questions_for

    points = {q.id: q.points for q in questions_for(exercise)}
    if not points:
        raise ValueError(f"exercise must be a registered exercise, got {exercise!r}")
    nb = copy.deepcopy(solution)
    found = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta or not meta.get("solution"):
            continue
        if cell.cell_type == "markdown":
            meta["grade"] = True
            meta["points"] = float(meta.get("points") or written_points)
        elif meta.get("grade_id") in points:
            meta["grade"] = True
            meta["points"] = float(points[meta["grade_id"]])
            found.add(meta["grade_id"])
        meta.setdefault("schema_version", 3)
    missing = sorted(set(points) - found)
    if missing:
        raise ValueError(
            f"{exercise}: no solution cell with grade_id {', '.join(missing)} "
            "(run `make exercises`, which stamps the solutions)"
        )
    return nb


def write_source(
    course: str | os.PathLike,
    exercises: Sequence[str],
    *,
    solutions: str | os.PathLike = "solutions",
    written_points: float = WRITTEN_POINTS,
) -> list[Path]:
    """Write ``COURSE/source/<exercise>/<exercise>.ipynb`` for each exercise; the paths."""
    import nbformat

    out = []
    for exercise in exercises:
        src = Path(solutions) / f"{exercise}.ipynb"
        nb = nbgrader_source(
            nbformat.read(src, as_version=4), exercise, written_points=written_points
        )
        dest = Path(course) / "source" / exercise / f"{exercise}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest)
        out.append(dest)
    return out


def _db_url(course: Path) -> str:
    return f"sqlite:///{(course / 'gradebook.db').resolve()}"


def import_grades(
    course: str | os.PathLike,
    reports: Iterable[dict[str, Any]],
    *,
    manual: dict[tuple[str, str], dict[str, float]] | None = None,
    db_url: str | None = None,
) -> int:
    """Write the grader's per-question points (and messages) into nbgrader's gradebook as the
    scores of the grade cells named by the question ids; ``manual`` (``read_manual``) does the same
    for written answers. Only reports with an nbgrader ``assignment`` (``--nbgrader-root``) are
    used; their submission must be known to nbgrader (``nbgrader autograde`` records it). Returns
    the number of cells scored.

    Raises
    ------
    ValueError
        A report names a submission, notebook or cell that nbgrader's gradebook does not have.
    """
    from nbgrader.api import Gradebook, MissingEntry

    from course_utils.grading.gradebook import normalize_id

    course = Path(course)
    written = 0
    with Gradebook(db_url or _db_url(course)) as gb:
        ids = {normalize_id(s.id): s.id for s in gb.students}

        def grade(qid: str, notebook: str, assignment: str, student: str):
            try:
                return gb.find_grade(qid, notebook, assignment, ids.get(student, student))
            except MissingEntry:
                raise ValueError(
                    f"nbgrader has no grade cell {qid!r} in {assignment}/{notebook} for "
                    f"{student!r}: run `nbgrader autograde {assignment}` first"
                ) from None

        seen: dict[tuple[str, str], str] = {}
        for r in reports:
            assignment, student = r.get("assignment"), str(r.get("student") or "")
            if not assignment or r.get("status") != "graded":
                continue
            notebook = Path(str(r["submission"])).stem
            seen[(student, str(r.get("exercise") or assignment))] = notebook
            for q in r.get("questions") or []:
                g = grade(str(q["id"]), notebook, assignment, student)
                g.manual_score = float(q["points"])
                g.needs_manual_grade = False
                written += 1
                try:
                    c = gb.find_comment(
                        str(q["id"]), notebook, assignment, ids.get(student, student)
                    )
                    c.manual_comment = str(q.get("message") or "")
                except MissingEntry:
                    pass
        for (student, exercise), by_question in (manual or {}).items():
            notebook = seen.get((student, exercise), exercise)
            for qid, points in by_question.items():
                g = grade(qid, notebook, exercise, student)
                g.manual_score = float(points)
                g.needs_manual_grade = False
                written += 1
        gb.db.commit()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.grading.nbgrader_bridge", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("source", help="write nbgrader's source/ folder from the solutions")
    s.add_argument("course", help="nbgrader's course folder")
    s.add_argument("exercises", nargs="+")
    s.add_argument("--solutions", default="solutions")
    s.add_argument("--written-points", type=float, default=WRITTEN_POINTS)
    g = sub.add_parser(
        "import-grades", help="write course-grade's points into nbgrader's gradebook"
    )
    g.add_argument("course", help="nbgrader's course folder (holding gradebook.db)")
    g.add_argument("grades", nargs="+", help="JSON files written by course-grade --json")
    g.add_argument("--manual", help="manual_points.csv (course-grade --reflect), filled in")
    args = parser.parse_args(argv)
    try:
        if args.command == "source":
            for path in write_source(
                args.course, args.exercises, solutions=args.solutions,
                written_points=args.written_points,
            ):  # fmt: skip
                print(f"wrote {path}")
            return 0
        from course_utils.grading.gradebook import load_parts, merge
        from course_utils.grading.reflect import read_manual

        reports = merge(load_parts(args.grades))
        manual = read_manual(args.manual) if args.manual else None
        n = import_grades(args.course, reports, manual=manual)
    except (ValueError, OSError) as err:
        parser.error(str(err))
    print(f"scored {n} cells in {Path(args.course) / 'gradebook.db'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
