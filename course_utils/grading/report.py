"""Reports: readable text, JSON (DESIGN.md's fields) and a CSV gradebook."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from course_utils.grading.runner import SubmissionReport


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
    return "\n".join(lines)


def to_json(reports: list[SubmissionReport]) -> list[dict]:
    """The list written by ``--json``."""
    return [r.as_dict() for r in reports]


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path``, then rename it over ``path``: a
    reader sees the old file or the new one, never half of one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(reports: list[SubmissionReport], path: str | Path) -> None:
    """Write :func:`to_json` to ``path`` (UTF-8, indented), atomically."""
    write_atomic(path, json.dumps(to_json(reports), indent=2) + "\n")


def csv_cell(value: object) -> object:
    """A spreadsheet-safe cell: text starting with ``=``, ``+``, ``-``, ``@`` (or a tab or
    carriage return) gets a leading apostrophe, so it is never evaluated as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


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
