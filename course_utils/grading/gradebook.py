"""One gradebook from many grader runs: student ids, merging shards, nbgrader's folder layout.

A class of hundreds is graded wherever the instructor's platform runs jobs (a Slurm array, GNU
parallel, one Gradescope container per submission): each run grades any subset of the
submissions and writes its own JSON list (``--json PART.json``); :func:`merge` joins the parts
and :func:`write_gradebook` writes one CSV with one row per student and exercise.

Everything here works on the plain report dictionaries of DESIGN.md (``submission``,
``exercise``, ``status``, ``score``, ``max_score``, ``questions``, ``error``), plus a
``student`` key that the grader adds, so a JSON file written on another machine merges as well
as one written here. Nothing here runs or reads a submission.

Student ids
-----------
* nbgrader's layout, ``ROOT/<student_id>/<assignment>/<notebook>.ipynb`` (``--nbgrader-root
  ROOT``): the first folder under the root.
* A file named after its exercise plus a suffix, ``03_lecun-alice.ipynb`` or
  ``03_lecun_alice.ipynb``: the suffix (``alice``).
* A file named exactly after its exercise, ``alice/03_lecun.ipynb``: its folder (``alice``).
* Anything else: the file's stem.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "GRADEBOOK_COLUMNS",
    "escape_cell",
    "gradebook_rows",
    "load_parts",
    "merge",
    "merge_main",
    "nbgrader_submissions",
    "sort_key",
    "student_id",
    "write_gradebook",
    "write_json_atomic",
    "write_text_atomic",
]

GRADEBOOK_COLUMNS = ("student", "exercise", "score", "max_score", "status", "submissions")
"""The fixed leading columns; one column of points per question id follows, then ``error``."""


def _known_exercises() -> list[str]:
    from course_utils.grading.registry import exercises

    return sorted(exercises(), key=len, reverse=True)


def student_id(
    submission: str | os.PathLike,
    exercise: str | None = None,
    *,
    nbgrader_root: str | os.PathLike | None = None,
) -> str:
    """The student a submission belongs to (see the module's rules).

    Parameters
    ----------
    submission : path
        The submission's path as the grader was given it.
    exercise : str, optional
        The exercise it was graded as; used to strip ``NN_topic`` from the file's stem.
    nbgrader_root : path, optional
        The ``submitted/`` folder of an nbgrader course; the first folder below it is the id.

    Examples
    --------
    >>> student_id("hand-in/03_lecun-alice.ipynb", "03_lecun")
    'alice'
    >>> student_id("class/bob/03_lecun.ipynb", "03_lecun")
    'bob'
    >>> student_id("submitted/s042/03_lecun/03_lecun.ipynb", nbgrader_root="submitted")
    's042'
    """
    path = Path(submission)
    if nbgrader_root is not None:
        try:
            rel = path.resolve().relative_to(Path(nbgrader_root).resolve())
        except ValueError:
            rel = None
        if rel is not None and len(rel.parts) >= 2:
            return rel.parts[0]
    stem = path.stem
    names = [exercise] if exercise else []
    names += [e for e in _known_exercises() if e != exercise]
    for name in names:
        if stem == name:
            parent = path.parent.name
            return parent if parent not in ("", ".") else stem
        for sep in ("-", "_", ".", " "):
            if stem.startswith(name + sep) and len(stem) > len(name) + 1:
                return stem[len(name) + 1 :]
    return stem


def nbgrader_submissions(root: str | os.PathLike) -> list[tuple[Path, str, str]]:
    """``(notebook, student_id, assignment)`` for every notebook under an nbgrader ``submitted/``.

    The layout is ``ROOT/<student_id>/<assignment>/<notebook>.ipynb``; anything else under the
    root (a stray file, a deeper folder, a checkpoint) is ignored. Symbolic links are not
    followed (a student folder that links elsewhere is skipped). Sorted by student, assignment
    and file name.

    Raises
    ------
    ValueError
        ``root`` is not a folder.
    """
    base = Path(root)
    if not base.is_dir():
        raise ValueError(f"nbgrader_root must be a folder (nbgrader's submitted/), got {root!s}")
    found: list[tuple[Path, str, str]] = []
    for student in sorted(base.iterdir()):
        if student.is_symlink() or not student.is_dir():
            continue
        for assignment in sorted(student.iterdir()):
            if assignment.is_symlink() or not assignment.is_dir():
                continue
            for nb in sorted(assignment.glob("*.ipynb")):
                found.append((nb, student.name, assignment.name))
    return found


def sort_key(report: dict[str, Any]) -> tuple[str, str, str]:
    """Order of rows: by student, then exercise, then submission path."""
    return (
        str(report.get("student") or ""),
        str(report.get("exercise") or ""),
        str(report.get("submission") or ""),
    )


def _validate(report: Any, where: str) -> dict[str, Any]:
    if not isinstance(report, dict):
        raise ValueError(f"{where}: expected a report object, got {type(report).__name__}")
    missing = [
        k for k in ("submission", "exercise", "status", "score", "max_score") if k not in report
    ]
    if missing:
        raise ValueError(f"{where}: report lacks {', '.join(missing)}")
    return report


def load_parts(paths: Iterable[str | os.PathLike]) -> list[list[dict[str, Any]]]:
    """Read the JSON lists written by ``--json`` (one per grader run).

    Raises
    ------
    ValueError
        A file is not a JSON list of report objects (the message names the file).
    """
    parts = []
    for p in paths:
        try:
            data = json.loads(Path(p).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{p}: not a grader JSON file ({err})") from None
        if not isinstance(data, list):
            raise ValueError(f"{p}: expected a JSON list of reports, got {type(data).__name__}")
        parts.append([_validate(r, f"{p}[{i}]") for i, r in enumerate(data)])
    return parts


def merge(parts: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Join the reports of several grader runs into one list, sorted by :func:`sort_key`.

    A submission graded in two parts (the same path twice) is an error: shards must not
    overlap, or a gradebook would depend on which copy came last.

    Raises
    ------
    ValueError
        The same submission appears in more than one report.
    """
    seen: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for k, part in enumerate(parts):
        for i, report in enumerate(part):
            _validate(report, f"part {k}[{i}]")
            key = str(report["submission"])
            if key in seen:
                raise ValueError(
                    f"submission {key} is graded in part {seen[key]} and part {k}: "
                    "shards must not overlap"
                )
            seen[key] = k
            report = dict(report)
            report.setdefault("student", student_id(key, report.get("exercise")))
            out.append(report)
    return sorted(out, key=sort_key)


def escape_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    apostrophe (OWASP's advice against CSV injection); numbers are left alone.

    >>> escape_cell("=HYPERLINK(1)"), escape_cell(-1.5), escape_cell("ok")
    ("'=HYPERLINK(1)", -1.5, 'ok')
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _question_order(reports: Sequence[dict[str, Any]]) -> list[str]:
    """Question ids in the registry's order (exercise by exercise), then any unknown ones."""
    try:
        from course_utils.grading.registry import exercises, questions_for

        ordered = [q.id for ex in sorted(exercises()) for q in questions_for(ex)]
    except Exception:  # noqa: BLE001 - a gradebook is still written without the registry
        ordered = []
    present: list[str] = []
    for r in reports:
        for q in r.get("questions") or []:
            if isinstance(q, dict) and q.get("id") not in present:
                present.append(str(q.get("id")))
    rank = {qid: i for i, qid in enumerate(ordered)}
    return sorted(present, key=lambda q: (rank.get(q, len(rank)), q))


def gradebook_rows(reports: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the gradebook: one row per (student, exercise).

    When a student handed in several notebooks for one exercise, the row keeps the best score
    (ties: the first path in order) and ``submissions`` lists every path, so nothing is silently
    dropped.
    """
    ordered = sorted(
        (
            r
            if r.get("student")
            else {**r, "student": student_id(r["submission"], r.get("exercise"))}
            for r in reports
        ),
        key=sort_key,
    )
    qids = _question_order(ordered)
    best: dict[tuple[str, str], dict[str, Any]] = {}
    paths: dict[tuple[str, str], list[str]] = {}
    for r in ordered:
        key = (str(r.get("student") or ""), str(r.get("exercise") or ""))
        paths.setdefault(key, []).append(str(r["submission"]))
        if key not in best or float(r.get("score") or 0) > float(best[key].get("score") or 0):
            best[key] = r
    header = [*GRADEBOOK_COLUMNS, *qids, "error"]
    rows = []
    for key in sorted(best):
        r = best[key]
        points = {
            str(q.get("id")): q.get("points")
            for q in r.get("questions") or []
            if isinstance(q, dict)
        }
        rows.append(
            [
                key[0],
                key[1],
                r.get("score"),
                r.get("max_score"),
                r.get("status"),
                " ".join(paths[key]),
                *[points.get(q, "") for q in qids],
                r.get("error") or "",
            ]
        )
    return header, rows


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so a
    reader never sees half a file and a crash leaves the old file intact."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; a gradebook is for reading
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | os.PathLike, reports: Sequence[dict[str, Any]]) -> None:
    """Write the report list as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(list(reports), indent=2) + "\n")


def write_gradebook(path: str | os.PathLike, reports: Sequence[dict[str, Any]]) -> None:
    """Write the CSV gradebook of :func:`gradebook_rows` atomically, cells escaped."""
    header, rows = gradebook_rows(reports)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow([escape_cell(v) for v in row])
    write_text_atomic(path, buf.getvalue())


def merge_main(argv: Sequence[str] | None = None) -> int:
    """``course-grade merge PART.json ... [--json ALL.json] [--csv GRADEBOOK.csv]``.

    Exit status 0 on success, 2 on a usage error (a missing or malformed part, overlapping
    shards), as the grader itself.
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="course-grade merge",
        description="Merge the JSON reports of several grader runs (shards) into one gradebook.",
    )
    parser.add_argument("parts", nargs="+", metavar="PART.json", help="files written by --json")
    parser.add_argument("--json", metavar="ALL.json", help="write the merged report list")
    parser.add_argument(
        "--csv", metavar="GRADEBOOK.csv", help="write one row per student and exercise"
    )
    args = parser.parse_args(argv)
    try:
        merged = merge(load_parts(args.parts))
    except ValueError as err:
        parser.error(str(err))
    if args.json:
        write_json_atomic(args.json, merged)
    if args.csv:
        write_gradebook(args.csv, merged)
    graded = sum(r.get("status") == "graded" for r in merged)
    students = len({r.get("student") for r in merged})
    print(
        f"merged {len(args.parts)} parts: {len(merged)} submissions ({graded} graded) of {students} students"
    )
    return 0
