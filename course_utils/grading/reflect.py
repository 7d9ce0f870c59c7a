"""Written (Reflect) answers: read side by side, given points by hand, folded into the gradebook.

``course-grade SUBMISSIONS --reflect DIR`` writes, for every written question (a markdown cell
that nbgrader's metadata marks ``solution: true``; the student replaces "_Your answer here._"):

* ``DIR/<exercise>/<question>.html`` - the question's prompt, then every student's answer, one
  after another (all text HTML-escaped: an answer is shown, never run or rendered as markup);
* ``DIR/index.html`` - a link to each page;
* ``DIR/manual_points.csv`` - one row per student and written question: ``student``,
  ``exercise``, ``question``, ``max_points`` (from the cell's nbgrader ``points``), ``points``
  (blank to fill in; 0 for an answer left untouched) and ``comment``.

``course-grade merge PART.json ... --manual manual_points.csv --csv gradebook.csv`` folds the
points in: each report gets ``manual`` (question -> points) and the gradebook a column per written
question, a ``manual`` total and a ``final`` score. Nothing here runs a submission; notebooks are
only parsed.
"""

from __future__ import annotations

import csv
import html
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from course_utils.grading.gradebook import escape_cell, file_part, normalize_id, write_text_atomic

__all__ = ["UNANSWERED", "export_written", "fold_manual", "read_manual", "written_answers"]

#: What the student version of a written answer cell holds before the student writes.
UNANSWERED = "_Your answer here._"
MANUAL_COLUMNS = ("student", "exercise", "question", "max_points", "points", "comment")
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}section{border-top:1px solid #999;padding:.5rem 0}"
    "pre{white-space:pre-wrap;word-wrap:break-word;background:#f4f4f4;padding:.75rem;"
    "font-family:inherit}.none{color:#666;font-style:italic}"
)


def _safe(name: str) -> str:
    """A file-name part: letters, digits, ``-_.``; anything else becomes ``_``; never ``..``."""
    return file_part(name)


def written_answers(nb: Any) -> list[dict[str, Any]]:
    """The written-answer cells of a parsed notebook: ``grade_id``, ``answer``, ``prompt`` (the
    markdown cell before it), ``points`` (nbgrader's, or None)."""
    out = []
    cells = list(getattr(nb, "cells", []))
    for i, cell in enumerate(cells):
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.get("cell_type") != "markdown" or not meta.get("solution"):
            continue
        prompt = ""
        for prev in reversed(cells[:i]):
            if prev.get("cell_type") == "markdown":
                prompt = str(prev.get("source", ""))
                break
        points = meta.get("points")
        out.append(
            {
                "grade_id": str(meta.get("grade_id") or f"cell_{i}"),
                "answer": str(cell.get("source", "")),
                "prompt": prompt,
                "points": float(points) if isinstance(points, (int, float)) else None,
            }
        )
    return out


#: nbgrader's placeholder in a released written-answer cell
NBGRADER_UNANSWERED = "YOUR ANSWER HERE"


def _words(text: str) -> str:
    return " ".join(text.replace(UNANSWERED, " ").replace(NBGRADER_UNANSWERED, " ").split())


def _answered(text: str, blank: str = UNANSWERED) -> bool:
    """False when ``text`` is the cell as handed out (placeholders of this course or nbgrader
    aside, the same words as the student version ``blank``)."""
    return _words(text) not in ("", _words(blank))


def _blanks(exercise: str) -> dict[str, str]:
    """grade_id -> the text the student version's cell starts with (the course's
    ``exercises/EXERCISE.ipynb``, next to the installed library or in the current folder)."""
    import course_utils
    from course_utils.grading.runner import read_submission

    for base in (Path.cwd(), Path(course_utils.__file__).resolve().parents[1]):
        path = base / "exercises" / f"{exercise}.ipynb"
        if path.is_file():
            nb, _ = read_submission(path)
            if nb is not None:
                return {a["grade_id"]: a["answer"] for a in written_answers(nb)}
    return {}


def export_written(
    entries: Iterable[tuple[str | os.PathLike, str, str | None]], out_dir: str | os.PathLike
) -> list[Path]:
    """Write the pages and ``manual_points.csv`` (see the module docstring) for ``entries``:
    ``(notebook, student, exercise)``. Returns the pages written (index first)."""
    from course_utils.grading.runner import read_submission

    by_question: dict[tuple[str, str], dict[str, Any]] = {}
    for notebook, student, exercise in entries:
        nb, _ = read_submission(Path(notebook))
        if nb is None:
            continue
        ex = exercise or Path(notebook).stem
        for item in written_answers(nb):
            page = by_question.setdefault(
                (ex, item["grade_id"]),
                {"prompt": item["prompt"], "points": item["points"], "answers": []},
            )
            page["answers"].append((student, item["answer"]))
    out = Path(out_dir)
    pages: list[Path] = []
    links = []
    rows: list[list[Any]] = []
    blanks: dict[str, dict[str, str]] = {}
    for (exercise, qid), page in sorted(by_question.items()):
        answers = sorted(page["answers"], key=lambda a: a[0])
        blank = blanks.setdefault(exercise, _blanks(exercise)).get(qid, UNANSWERED)
        path = out / _safe(exercise) / f"{_safe(qid)}.html"
        title = f"{exercise} - written answer {qid}"
        parts = [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p>{len(answers)} answers"
            + (f", {page['points']:g} points each" if page["points"] else "")
            + ". Enter points in <code>manual_points.csv</code>.</p>",
            "<h2>The question</h2>",
            f"<pre>{html.escape(page['prompt'])}</pre>",
            "<h2>Answers</h2>",
        ]
        for student, text in answers:
            body = (
                f"<pre>{html.escape(text)}</pre>"
                if _answered(text, blank)
                else '<p class="none">(no answer)</p>'
            )
            parts.append(f"<section><h3>{html.escape(student)}</h3>{body}</section>")
            rows.append(
                [
                    student,
                    exercise,
                    qid,
                    "" if page["points"] is None else page["points"],
                    "" if _answered(text, blank) else 0,
                    "" if _answered(text, blank) else "no answer",
                ]
            )
        parts.append("</body></html>")
        write_text_atomic(path, "\n".join(parts) + "\n")
        pages.append(path)
        rel = path.relative_to(out).as_posix()
        links.append(
            f'<li><a href="{html.escape(rel)}">{html.escape(exercise)}: {html.escape(qid)}</a>'
            f" ({len(answers)} answers)</li>"
        )
    index = out / "index.html"
    write_text_atomic(
        index,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Written answers"
        f"</title><style>{_STYLE}</style></head><body><h1>Written answers</h1><ul>"
        + "".join(links)
        + "</ul></body></html>\n",
    )
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(MANUAL_COLUMNS)
    for row in rows:
        writer.writerow([escape_cell(v) for v in row])
    write_text_atomic(out / "manual_points.csv", buf.getvalue())
    return [index, *pages]


def read_manual(path: str | os.PathLike) -> dict[tuple[str, str], dict[str, float]]:
    """``(student, exercise) -> {question: points}`` from a filled-in ``manual_points.csv``;
    rows with a blank ``points`` are skipped.

    Raises
    ------
    ValueError
        The file cannot be read, lacks a column, or a row's points are not a number within
        ``0..max_points`` (the message names the row).
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"--manual {path}: cannot read it ({err})") from None
    reader = csv.DictReader(io.StringIO(text))
    need = {"student", "exercise", "question", "points"}
    if not reader.fieldnames or not need <= set(reader.fieldnames):
        raise ValueError(f"--manual {path}: needs the columns {', '.join(sorted(need))}")
    out: dict[tuple[str, str], dict[str, float]] = {}
    for n, row in enumerate(reader, start=2):
        raw = (row.get("points") or "").strip().lstrip("'")
        if not raw:
            continue
        try:
            points = float(raw)
        except ValueError:
            raise ValueError(f"--manual {path} line {n}: points {raw!r} is not a number") from None
        top = (row.get("max_points") or "").strip().lstrip("'")
        if not (points >= 0 and (not top or points <= float(top))):
            raise ValueError(f"--manual {path} line {n}: points {raw} is outside 0..{top or 'inf'}")
        key = (normalize_id(row["student"].lstrip("'")), str(row["exercise"]).lstrip("'"))
        out.setdefault(key, {})[str(row["question"]).lstrip("'")] = points
    return out


def fold_manual(
    reports: Sequence[dict[str, Any]], manual: dict[tuple[str, str], dict[str, float]]
) -> list[tuple[str, str]]:
    """Attach the manual points to ``reports`` (each report's ``manual``: question -> points; a
    student's best-scoring report of an exercise is the gradebook's row, so every report of that
    student and exercise gets them). Returns the ``(student, exercise)`` pairs of the CSV that
    match no report."""
    seen = set()
    for r in reports:
        key = (normalize_id(r.get("student") or ""), str(r.get("exercise") or ""))
        if key in manual:
            r["manual"] = dict(manual[key])
            seen.add(key)
    return sorted(set(manual) - seen)
