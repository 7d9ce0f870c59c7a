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
Every id is NFKC-normalized and case-folded (``Alice`` and ``alice`` are one student), and copy
markers are stripped from file names first (``03_lecun (1)``, ``03_lecun_v2``,
``03_lecun.final``, ``03_lecun-copy``, ``Copy of 03_lecun``).

* nbgrader's layout, ``ROOT/<student_id>/<assignment>/<notebook>.ipynb`` (``--nbgrader-root
  ROOT``): the first folder under the root.
* A folder given to the grader: a notebook in a sub-folder belongs to that per-student folder
  (``class/alice/03_lecun.ipynb`` is alice's, whatever the file is called); a file-name suffix
  that names someone else (``class/alice/03_lecun-bob.ipynb``) is flagged in the report, never
  used as the id.
* A flat folder (or a file given by itself): a file named after its exercise plus a suffix,
  ``03_lecun-alice.ipynb`` or ``03_lecun_alice.ipynb``, is the suffix's (``alice``); a file named
  exactly after its exercise, ``alice/03_lecun.ipynb``, is its folder's (``alice``); anything else
  is the file's stem.
* ``--roster FILE`` (one id per line, or a CSV with an id column): ids not on it are flagged, and
  roster students without a submission get a row ("no submission") in the gradebook.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "GRADEBOOK_COLUMNS",
    "escape_cell",
    "gradebook_rows",
    "identify",
    "normalize_id",
    "read_roster",
    "roster_gaps",
    "roster_lines",
    "strip_copy_markers",
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


_COPY_PREFIX = re.compile(r"^\s*copy[ _-]?of[ _-]+", re.IGNORECASE)
_COPY_SUFFIX = re.compile(
    r"(?:\s*\(\s*(?:\d+|copy)\s*\)|[ _.-]+(?:v\d+|final|copy\d*|draft|fixed|new|latest|"
    r"checkpoint|resubmit(?:ted)?|old))$",
    re.IGNORECASE,
)


def file_part(name: Any, keep: str = "") -> str:
    """A safe file-name part: letters, digits, ``_.-`` and the characters of ``keep``; anything
    else becomes ``_``; never empty, never ``.``/``..`` at either end; at most 120 characters.
    (The feedback files keep ``@+`` of e-mail-like student ids; the Reflect pages keep none.)"""
    out = re.sub(rf"[^\w.{re.escape(keep)}-]", "_", str(name)).strip(".") or "_"
    return out[:120]


def strip_copy_markers(stem: str) -> str:
    """A file stem without the marks that copies and re-uploads add.

    >>> [strip_copy_markers(s) for s in ("03_lecun (1)", "Copy of 03_lecun_v2", "03_lecun.final")]
    ['03_lecun', '03_lecun', '03_lecun']
    """
    out = str(stem).strip()
    while True:
        new = _COPY_SUFFIX.sub("", _COPY_PREFIX.sub("", out)).strip()
        if new == out or not new:
            return out
        out = new


def normalize_id(text: str) -> str:
    """A student id as compared and stored: NFKC-normalized, case-folded, inner spaces single.

    >>> normalize_id("  Ａlice  Smith ")
    'alice smith'
    """
    return " ".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


def _relative(path: Path, root: str | os.PathLike) -> Path | None:
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        return None


def identify(
    submission: str | os.PathLike,
    exercise: str | None = None,
    *,
    nbgrader_root: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
) -> tuple[str, str | None]:
    """``(student_id, flag)`` for a submission (see the module's rules); ``flag`` is a note for
    the report when the file's name names another student than its folder, else None.

    ``root`` is the folder the grader was given that holds ``submission``: a notebook in a
    sub-folder of it belongs to that per-student folder.
    """
    path = Path(submission)
    known = [exercise] if exercise else []
    known += [e for e in _known_exercises() if e != exercise]
    folder = None
    if nbgrader_root is not None:
        rel = _relative(path, nbgrader_root)
        if rel is not None and len(rel.parts) >= 2:
            folder = rel.parts[0]
    if folder is None and root is not None:
        rel = _relative(path, root)
        folded = {normalize_id(e) for e in known}
        for part in rel.parts[:-1] if rel is not None else ():
            if normalize_id(strip_copy_markers(part)) not in folded:  # a per-exercise folder
                folder = part
                break
    stem = strip_copy_markers(path.stem)
    suffix = None
    for name in known:
        if normalize_id(stem) == normalize_id(name):
            suffix = ""
            break
        head = stem[: len(name) + 1]
        if normalize_id(head[:-1]) == normalize_id(name) and head[-1:] in "-_. " and head[-1:]:
            suffix = strip_copy_markers(stem[len(name) + 1 :]).strip(" -_.")
            if suffix:
                break
            suffix = ""
    if folder is not None:
        student = normalize_id(folder)
        flag = None
        if suffix and normalize_id(suffix) != student:
            flag = (
                f"the file name names {normalize_id(suffix)!r} but the notebook is in "
                f"{student!r}'s folder: counted as {student!r}"
            )
        return student, flag
    if suffix:
        return normalize_id(suffix), None
    if suffix == "":
        parent = path.parent.name
        return normalize_id(parent if parent not in ("", ".") else stem), None
    return normalize_id(stem), None


def student_id(
    submission: str | os.PathLike,
    exercise: str | None = None,
    *,
    nbgrader_root: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
) -> str:
    """The student a submission belongs to (see the module's rules and :func:`identify`).

    Parameters
    ----------
    submission : path
        The submission's path as the grader was given it.
    exercise : str, optional
        The exercise it was graded as; used to strip ``NN_topic`` from the file's stem.
    nbgrader_root : path, optional
        The ``submitted/`` folder of an nbgrader course; the first folder below it is the id.
    root : path, optional
        The folder given to the grader that holds the submission: a sub-folder is the student.

    Examples
    --------
    >>> student_id("hand-in/03_lecun-alice.ipynb", "03_lecun")
    'alice'
    >>> student_id("class/bob/03_lecun.ipynb", "03_lecun")
    'bob'
    >>> student_id("class/alice/03_lecun-bob.ipynb", "03_lecun", root="class")
    'alice'
    >>> student_id("submitted/s042/03_lecun/03_lecun.ipynb", nbgrader_root="submitted")
    's042'
    """
    return identify(submission, exercise, nbgrader_root=nbgrader_root, root=root)[0]


def read_roster(path: str | os.PathLike) -> list[str]:
    """The normalized ids of a roster: one id per line (``#`` comments and blank lines skipped),
    or a CSV whose header has an id column (``id``, ``student_id``, ``student``, ``username``,
    ``login``, ``email``; else its first column).

    Raises
    ------
    ValueError
        The file cannot be read or holds no id.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"--roster {path}: cannot read it ({err})") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    ids: list[str] = []
    if lines and ("," in lines[0] or "\t" in lines[0]):
        dialect = csv.excel_tab if "\t" in lines[0] and "," not in lines[0] else csv.excel
        rows = list(csv.reader(lines, dialect))
        header = [normalize_id(h) for h in rows[0]]
        wanted = ("id", "student_id", "student", "username", "login", "email")
        column = next((header.index(w) for w in wanted if w in header), 0)
        ids = [r[column] for r in rows[1:] if len(r) > column]
    else:
        ids = lines
    out = list(dict.fromkeys(normalize_id(i) for i in ids if normalize_id(i)))
    if not out:
        raise ValueError(f"--roster {path}: no student id in it")
    return out


def roster_gaps(
    reports: Sequence[dict[str, Any]], roster: Sequence[str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """``(unknown, missing)``: the students of ``reports`` not on ``roster``, and the
    ``(student, exercise)`` pairs of roster students without a submission for an exercise that
    this set of reports grades (any exercise at all when no report names one)."""
    on_roster = {normalize_id(r) for r in roster}
    students = {normalize_id(r.get("student") or "") for r in reports}
    unknown = sorted(s for s in students if s and s not in on_roster)
    graded = sorted({str(r.get("exercise")) for r in reports if r.get("exercise")}) or [""]
    have = {(normalize_id(r.get("student") or ""), str(r.get("exercise") or "")) for r in reports}
    missing = [(s, e) for s in sorted(on_roster) for e in graded if (s, e) not in have]
    return unknown, missing


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


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _validate(report: Any, where: str) -> dict[str, Any]:
    """``report`` if it is a well-formed report; ValueError naming ``where`` and the field if not:
    numeric, finite scores, ``0 <= points <= max_points`` per question, ``0 <= score <=
    max_score`` and ``score`` equal to the questions' sum (to the report's 0.01 rounding)."""
    if not isinstance(report, dict):
        raise ValueError(f"{where}: expected a report object, got {type(report).__name__}")
    missing = [
        k for k in ("submission", "exercise", "status", "score", "max_score") if k not in report
    ]
    if missing:
        raise ValueError(f"{where}: report lacks {', '.join(missing)}")
    score, top = report["score"], report["max_score"]
    if not (_number(score) and _number(top)):
        raise ValueError(
            f"{where}: score and max_score must be finite numbers, got {score!r}, {top!r}"
        )
    if not 0 <= score <= top:
        raise ValueError(f"{where}: score {score!r} is outside 0..max_score ({top!r})")
    questions = report.get("questions") or []
    if not isinstance(questions, list):
        raise ValueError(f"{where}: questions must be a list")
    total = 0.0
    for i, q in enumerate(questions):
        if not isinstance(q, dict):
            raise ValueError(f"{where}: question {i} is not an object")
        points, most = q.get("points"), q.get("max_points")
        if not (_number(points) and _number(most) and 0 <= points <= most):
            raise ValueError(
                f"{where}: question {q.get('id')!r} has points {points!r} of max_points "
                f"{most!r} (need 0 <= points <= max_points)"
            )
        total += points
    if questions and abs(min(round(total, 2), top) - score) > 0.011:
        raise ValueError(f"{where}: score {score!r} is not the sum of its questions ({total:g})")
    return report


def _path_key(submission: Any) -> str:
    """One spelling per file: absolute, normalized (``a/./b``, ``a//b``, ``a/x/../b``), links
    resolved where the file exists here, case kept."""
    text = os.path.expanduser(str(submission))
    try:
        return str(Path(text).resolve(strict=False))
    except (OSError, RuntimeError):
        return os.path.normpath(os.path.abspath(text))


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
        The same submission appears in more than one report (under any spelling of its path), or
        a report's scores are not numbers within their bounds (:func:`_validate`).
    """
    seen: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for k, part in enumerate(parts):
        for i, report in enumerate(part):
            _validate(report, f"part {k}[{i}]")
            key = _path_key(report["submission"])
            if key in seen:
                raise ValueError(
                    f"submission {report['submission']} is graded in part {seen[key]} and part "
                    f"{k} (paths that name one file count as one): shards must not overlap"
                )
            seen[key] = k
            report = dict(report)
            report.setdefault("student", student_id(key, report.get("exercise")))
            out.append(report)
    return sorted(out, key=sort_key)


def escape_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, ``|`` or ``%`` (after NFKC normalization, so
    the full-width ``＝`` too, and after leading spaces), with any space or control character, gets
    a leading apostrophe (OWASP's advice against CSV injection); numbers are left alone.

    >>> escape_cell("=HYPERLINK(1)"), escape_cell(-1.5), escape_cell("ok")
    ("'=HYPERLINK(1)", -1.5, 'ok')
    """
    if not isinstance(value, str) or not value:
        return value
    # a leading space or control character, or a formula start once the text is NFKC-normalized
    # (full-width '＝', '＋', '－', '＠' become '=', '+', '-', '@' in some spreadsheets)
    folded = unicodedata.normalize("NFKC", value)
    if value[0].isspace() or folded.lstrip()[:1] in ("=", "+", "-", "@", "|", "%"):
        return "'" + value
    if unicodedata.category(value[0]) in ("Cc", "Cf"):
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


def gradebook_rows(
    reports: Sequence[dict[str, Any]], roster: Sequence[str] | None = None
) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the gradebook: one row per (student, exercise).

    When a student handed in several notebooks for one exercise, the row keeps the best score
    (ties: the first path in order) and ``submissions`` lists every path, so nothing is silently
    dropped. The ``flags`` column joins every report's ``flags`` (a file name naming another
    student, a near-copy) for the instructor; they never change a score. With a ``roster``, a
    student not on it is flagged, and each roster student without a submission for a graded
    exercise gets a row with status ``no submission``.
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
    flags: dict[tuple[str, str], list[str]] = {}
    for r in ordered:
        key = (str(r.get("student") or ""), str(r.get("exercise") or ""))
        paths.setdefault(key, []).append(str(r["submission"]))
        notes = flags.setdefault(key, [])
        notes += [str(f) for f in r.get("flags") or [] if str(f) not in notes]
        if key not in best or float(r.get("score") or 0) > float(best[key].get("score") or 0):
            best[key] = r
    missing: list[tuple[str, str]] = []
    if roster is not None:
        unknown, missing = roster_gaps(ordered, roster)
        for key in flags:
            if normalize_id(key[0]) in unknown:
                flags[key].append("not on the roster")
    extra_header, extra = _class_columns(ordered)  # written answers, lateness, final score
    header = [*GRADEBOOK_COLUMNS, *qids, *extra_header, "flags", "error"]
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
                *extra(r),
                "; ".join(flags[key]),
                r.get("error") or "",
            ]
        )
    for student, exercise in missing:
        blank = [""] * (len(qids) + len(extra_header))
        rows.append([student, exercise, 0.0, "", "no submission", "", *blank, "", ""])
    rows.sort(key=lambda row: (str(row[0]), str(row[1])))
    return header, rows


def _class_columns(reports: Sequence[dict[str, Any]]) -> tuple[list[str], Any]:
    """Columns for written answers graded by hand (``manual``: a column per question, their
    total) and late hand-ins (``late``, ``penalty``), with ``final`` = (score + manual) x (1 -
    penalty); none of them when no report has such data. Returns the header and a function of a
    report giving its cells."""
    written: list[str] = []
    for r in reports:
        for qid in r.get("manual") or {}:
            if qid not in written:
                written.append(str(qid))
    has_late = any("late_seconds" in r for r in reports)
    if not written and not has_late:
        return [], lambda r: []
    header = [f"written:{q}" for q in written] + (["manual"] if written else [])
    header += ["late", "penalty"] if has_late else []
    header.append("final")

    def cells(r: dict[str, Any]) -> list[Any]:
        from course_utils.grading.late import describe_late

        manual = {str(k): float(v) for k, v in (r.get("manual") or {}).items()}
        out: list[Any] = [manual.get(q, "") for q in written]
        if written:
            out.append(round(sum(manual.values()), 2))
        penalty = float(r.get("late_penalty") or 0.0)
        if has_late:
            out += [describe_late(float(r.get("late_seconds") or 0)), f"{100 * penalty:g}%"]
        total = float(r.get("score") or 0) + sum(manual.values())
        out.append(round(total * (1 - penalty), 2))
        return out

    return header, cells


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


def write_gradebook(
    path: str | os.PathLike,
    reports: Sequence[dict[str, Any]],
    roster: Sequence[str] | None = None,
) -> None:
    """Write the CSV gradebook of :func:`gradebook_rows` atomically, cells escaped."""
    header, rows = gradebook_rows(reports, roster)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow([escape_cell(v) for v in row])
    write_text_atomic(path, buf.getvalue())


def roster_lines(unknown: Sequence[str], missing: Sequence[tuple[str, str]]) -> list[str]:
    """The text report's lines on a roster: ids not on it, students without a submission."""
    lines = []
    if unknown:
        lines.append(f"not on the roster ({len(unknown)}): {', '.join(unknown)}")
    if missing:
        by = {}
        for student, exercise in missing:
            by.setdefault(student, []).append(exercise)
        shown = [f"{s} ({', '.join(e for e in ex if e) or 'anything'})" for s, ex in by.items()]
        lines.append(f"no submission ({len(by)}): {', '.join(shown)}")
    return lines


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
    parser.add_argument(
        "--roster",
        metavar="FILE",
        help="student ids (one per line, or a CSV with an id column): flag ids not on it and "
        "give each student without a submission a row",
    )
    parser.add_argument(
        "--manual",
        metavar="POINTS.csv",
        help="points given by hand to the written answers (the manual_points.csv that "
        "`course-grade --reflect DIR` writes, filled in): folded into the reports and gradebook",
    )
    args = parser.parse_args(argv)
    try:
        merged = merge(load_parts(args.parts))
        roster = read_roster(args.roster) if args.roster else None
        if args.manual:
            from course_utils.grading.reflect import fold_manual, read_manual

            for student, exercise in fold_manual(merged, read_manual(args.manual)):
                print(f"manual points for {student} / {exercise} match no submission")
    except ValueError as err:
        parser.error(str(err))
    if args.json:
        write_json_atomic(args.json, merged)
    if args.csv:
        write_gradebook(args.csv, merged, roster)
    if roster is not None:
        unknown, missing = roster_gaps(merged, roster)
        for line in roster_lines(unknown, missing):
            print(line)
    graded = sum(r.get("status") == "graded" for r in merged)
    students = len({r.get("student") for r in merged})
    print(
        f"merged {len(args.parts)} parts: {len(merged)} submissions ({graded} graded) of {students} students"
    )
    return 0
