"""Reports: readable text, JSON (DESIGN.md's fields) and a CSV gradebook."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from course_utils.grading.gradebook import escape_cell as csv_cell
from course_utils.grading.gradebook import write_text_atomic as write_atomic
from course_utils.grading.runner import SubmissionReport

__all__ = ["csv_cell", "to_json", "to_text", "write_atomic", "write_csv", "write_json"]


def to_text(reports: list[SubmissionReport]) -> str:
    """One block per submission: score, status, each question's points and message."""
    lines = []
    for r in reports:
        head = f"{r.submission}: "
        if r.status == "error":
            lines.append(head + f"ERROR - {r.error}")
            continue
        lines.append(head + f"{r.score:g} / {r.max_score:g} ({r.exercise}, {r.seconds:.1f} s)")
        for q in r.questions:
            mark = "ok  " if q.passed else "FAIL"
            lines.append(f"  {mark} {q.id}: {q.points:g} / {q.max_points:g} - {q.message}")
        if r.error:
            lines.append(f"  note: {r.error}")
        for flag in getattr(r, "flags", []):
            lines.append(f"  flag: {flag}")
    return "\n".join(lines)


def to_json(reports: list[SubmissionReport]) -> list[dict]:
    """The list written by ``--json``."""
    return [r.as_dict() for r in reports]


def write_json(reports: list[SubmissionReport], path: str | Path) -> None:
    """Write :func:`to_json` to ``path`` (UTF-8, indented), atomically."""
    write_atomic(path, json.dumps(to_json(reports), indent=2) + "\n")


def write_csv(reports: list[SubmissionReport], path: str | Path) -> None:
    """Gradebook: one row per submission, a column of points per question id (in first-seen
    order), then the total, the maximum, the status and the error note. Written atomically;
    cells that a spreadsheet would read as a formula are escaped (:func:`csv_cell`)."""
    ids: list[str] = []
    for r in reports:
        for q in r.questions:
            if q.id not in ids:
                ids.append(q.id)
    fh = io.StringIO()
    writer = csv.writer(fh)
    writer.writerow(["submission", "exercise", *ids, "score", "max_score", "status", "error"])
    for r in reports:
        points = {q.id: q.points for q in r.questions}
        writer.writerow(
            csv_cell(v)
            for v in [
                r.submission,
                r.exercise or "",
                *[points.get(i, "") for i in ids],
                r.score,
                r.max_score,
                r.status,
                r.error or "",
            ]
        )
    write_atomic(path, fh.getvalue())
