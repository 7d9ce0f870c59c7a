"""One readable feedback file per submission: ``course-grade ... --feedback DIR``.

Each graded submission gets ``DIR/<student>/<assignment>/<notebook>.html``, nbgrader's feedback
layout (``feedback/<student_id>/<assignment_id>/<notebook_id>.html``), so with
``--nbgrader-root course/submitted --feedback course/feedback`` nbgrader's ``release_feedback``
(or a plain copy) hands them out. The assignment folder is nbgrader's assignment when grading
nbgrader's layout, else the exercise.

A file holds the exercise, the total, then every question: its title, points earned of the
maximum, passed or not, and the grader's message with its hints, which name the misconception but
never a hidden input or an expected value (docs/grading.md). Late hand-ins show when the notebook
came in and the penalty; written answers graded by hand show their points. Near-copy flags are
for the instructor and are not in the student's file. All text is HTML-escaped.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course_utils.grading.gradebook import file_part, write_text_atomic

__all__ = ["feedback_html", "feedback_path", "write_feedback"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}table{border-collapse:collapse;width:100%}th,td{text-align:left;"
    "vertical-align:top;padding:.4rem;border-bottom:1px solid #ccc}.ok{color:#1a6b1a}"
    ".no{color:#a11}"
)


def _part(name: str) -> str:
    return file_part(name, keep="@+")


def feedback_path(report: dict[str, Any], out_dir: str | os.PathLike) -> Path:
    """``out_dir/<student>/<assignment or exercise>/<notebook stem>.html``."""
    student = _part(report.get("student") or "unknown")
    assignment = _part(report.get("assignment") or report.get("exercise") or "unknown")
    stem = _part(Path(str(report.get("submission") or "submission")).stem)
    return Path(out_dir) / student / assignment / f"{stem}.html"


def _titles() -> dict[str, str]:
    try:
        from course_utils.grading.registry import all_questions

        return {q.id: q.title for q in all_questions()}
    except Exception:  # noqa: BLE001 - titles are a nicety
        return {}


def feedback_html(report: dict[str, Any], titles: dict[str, str] | None = None) -> str:
    """The feedback page of one grader report (a dict as ``--json`` writes it)."""
    from course_utils.grading.late import describe_late

    titles = _titles() if titles is None else titles
    e = html.escape
    exercise = str(report.get("exercise") or "?")
    name = Path(str(report.get("submission") or "")).name
    lines = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Feedback: {e(exercise)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Feedback on {e(exercise)}</h1>",
        f"<p>Student: <strong>{e(str(report.get('student') or ''))}</strong><br>"
        f"Notebook: {e(name)}</p>",
    ]
    if report.get("status") != "graded":
        lines.append(f"<p class='no'>Not graded: {e(str(report.get('error') or 'error'))}</p>")
    score, top = float(report.get("score") or 0), float(report.get("max_score") or 0)
    manual = report.get("manual") or {}
    summary = f"Automatic checks: <strong>{score:g} / {top:g}</strong> points"
    if manual:
        summary += f"; written answers: <strong>{sum(manual.values()):g}</strong> points"
    lines.append(f"<p>{summary}.</p>")
    late = float(report.get("late_seconds") or 0)
    if report.get("submitted_at"):
        when = f"Handed in {e(str(report['submitted_at']))}"
        if late > 0:
            when += f", {e(describe_late(late))} after the due time"
            if report.get("late_penalty"):
                when += f": {100 * float(report['late_penalty']):g} % of the points taken"
        lines.append(f"<p>{when}.</p>")
    if report.get("error") and report.get("status") == "graded":
        lines.append(f"<p>Note: {e(str(report['error']))}</p>")
    lines.append(
        "<table><thead><tr><th>Question</th><th>Points</th><th>Result</th><th>Message</th>"
        "</tr></thead><tbody>"
    )
    for q in report.get("questions") or []:
        qid = str(q.get("id"))
        title = titles.get(qid, "")
        label = f"<strong>{e(qid)}</strong>" + (f"<br>{e(title)}" if title else "")
        ok = bool(q.get("passed"))
        lines.append(
            f"<tr><td>{label}</td><td>{float(q.get('points') or 0):g} / "
            f"{float(q.get('max_points') or 0):g}</td>"
            f"<td class='{'ok' if ok else 'no'}'>{'passed' if ok else 'not yet'}</td>"
            f"<td>{e(str(q.get('message') or ''))}</td></tr>"
        )
    for qid, points in sorted(manual.items()):
        lines.append(
            f"<tr><td><strong>{e(qid)}</strong><br>written answer</td><td>{points:g}</td>"
            "<td>graded by hand</td><td></td></tr>"
        )
    lines.append("</tbody></table>")
    lines.append(
        "<p>The grader ran your functions on inputs drawn at grading time; "
        "<code>check()</code> in the notebook shows the same checks on fixed inputs.</p>"
    )
    lines.append("</body></html>")
    return "\n".join(lines) + "\n"


def write_feedback(reports: Sequence[dict[str, Any]], out_dir: str | os.PathLike) -> list[Path]:
    """Write one feedback file per report (see :func:`feedback_path`); the paths written."""
    titles = _titles()
    written = []
    for report in reports:
        path = feedback_path(report, out_dir)
        write_text_atomic(path, feedback_html(report, titles))
        written.append(path)
    return written
