"""Command line of the grader: ``python -m course_utils.grade SUBMISSION.ipynb [...]``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def collect(paths: list[str | Path]) -> list[Path]:
    """Expand folders to the ``*.ipynb`` entries inside (recursively, sorted, never following a
    symbolic link to a folder); keep files as given. Entries that are not regular files (links,
    FIFOs, devices, folders named ``*.ipynb``) are kept so that the grader reports them."""
    return [p for p, _ in collect_with_roots(paths)]


def collect_with_roots(paths: list[str | Path]) -> list[tuple[Path, Path | None]]:
    """:func:`collect`, each entry with the folder argument it was found in (None for a file
    given by itself): a sub-folder of that folder is a per-student folder."""
    found: list[tuple[Path, Path | None]] = []
    for p in map(Path, paths):
        if p.is_dir() and not p.is_symlink() and p.suffix != ".ipynb":
            inside = []
            for folder, dirs, files in os.walk(p, followlinks=False):
                dirs[:] = [
                    d for d in dirs if d != ".ipynb_checkpoints" and not d.endswith(".ipynb")
                ]
                names = files + [
                    d
                    for d in os.listdir(folder)
                    if d.endswith(".ipynb")
                    and d not in files
                    and os.path.isdir(os.path.join(folder, d))
                ]
                inside.extend(Path(folder) / n for n in names if n.endswith(".ipynb"))
            found.extend((f, p) for f in sorted(set(inside)))
        else:
            found.append((p, None))
    return found


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be K/N such as 2/8, got {text!r}") from None
    if not (n >= 1 and 1 <= k <= n):
        raise argparse.ArgumentTypeError(f"must be K/N with 1 <= K <= N, got {text!r}")
    return k, n


def shard(items: list, k: int, n: int) -> list:
    """The ``k``-th (1-based) of ``n`` contiguous, near-equal parts of ``items``: the parts of
    1..n are disjoint and together are ``items``, in order."""
    size, extra = divmod(len(items), n)
    start = (k - 1) * size + min(k - 1, extra)
    return items[start : start + size + (1 if k <= extra else 0)]


def _course_version() -> str:
    from course_utils import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exit status 2 on a usage error, as argparse does)."""
    p = argparse.ArgumentParser(
        # the console script names itself; `python -m course_utils.grade` the module form
        prog="course-grade"
        if Path(sys.argv[0]).name == "course-grade"
        else "python -m course_utils.grade",
        description="Grade exercise notebooks: each runs in its own sandbox and kernel; the verdict is "
        "computed here from plain results on inputs drawn at grading time.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        help="submission notebooks or folders of them (or use --nbgrader-root); "
        "`course-grade merge PART.json ...` joins the JSON of several runs",
    )
    p.add_argument("--json", metavar="OUT.json", help="write the reports as a JSON list")
    p.add_argument(
        "--csv",
        metavar="GRADEBOOK.csv",
        help="write the gradebook: one row per student and exercise",
    )
    p.add_argument(
        "--nbgrader-root",
        metavar="DIR",
        default=None,
        help="grade nbgrader's submitted/ folder: DIR/<student_id>/<assignment>/*.ipynb, rows keyed "
        "by student id; an assignment folder named after an exercise (03_lecun) sets the exercise",
    )
    p.add_argument(
        "--shard",
        metavar="K/N",
        type=_shard,
        default=None,
        help="grade only the K-th of N equal parts of the sorted submissions (K = 1..N), e.g. in "
        "a Slurm array; join the parts' --json files with `course-grade merge`",
    )
    p.add_argument(
        "--timeout",
        type=_positive,
        default=60.0,
        metavar="SECONDS",
        help="time limit per notebook cell (default 60)",
    )
    p.add_argument(
        "--notebook-timeout",
        type=_positive,
        default=None,
        metavar="SECONDS",
        help="time limit for a whole submission (default max(300, 5 x --timeout))",
    )
    p.add_argument(
        "--call-timeout",
        type=_positive,
        default=None,
        metavar="SECONDS",
        help="time limit per call of a graded function (default min(10, --timeout))",
    )
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="submissions graded at once")
    p.add_argument(
        "--exercise",
        metavar="NAME",
        default=None,
        help="grade every submission as this exercise (e.g. 03_lecun); metadata or a file name "
        "that disagrees is flagged in the report",
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run the notebooks without the bubblewrap sandbox: only for a student grading "
        "their own work, never for a class",
    )
    p.add_argument(
        "--roster",
        metavar="FILE",
        default=None,
        help="student ids, one per line or a CSV with an id column: ids not on it are flagged, "
        "students without a submission get a gradebook row and a line in the report",
    )
    # issue 23: feedback files, late hand-ins, written answers (course_utils.grading.{feedback_files,
    # late,reflect})
    p.add_argument(
        "--feedback",
        metavar="DIR",
        default=None,
        help="write one readable HTML file per submission: DIR/<student>/<assignment>/<notebook>.html "
        "(nbgrader's feedback layout)",
    )
    p.add_argument(
        "--due",
        metavar="ISO-TIME",
        default=None,
        help="due time (e.g. 2026-12-01T23:59+01:00; no offset = UTC): hand-in times from nbgrader's "
        "timestamp.txt or the file time give the gradebook a late column",
    )
    p.add_argument(
        "--late-penalty",
        metavar="RULE",
        default=None,
        help="with --due: P%%/day or P%%/hour, each started day (hour) late takes P%% of the points",
    )
    p.add_argument(
        "--reflect",
        metavar="DIR",
        default=None,
        help="export the written (Reflect) answers: one HTML page per question with every "
        "student's answer, and DIR/manual_points.csv for `course-grade merge --manual`",
    )
    p.add_argument("--seed", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help="do not print the text report")
    p.add_argument(
        "--version", action="version", version=f"%(prog)s {_course_version()}",
        help="print the course's version and exit",
    )  # fmt: skip
    return p


def _flag_copies(paths: list[Path], reports: list, students: list[str]) -> None:
    """Add near-copy flags (:mod:`.similarity`) to the graded reports. The notebooks are read
    again here, safely, and only parsed: no student code runs in the grader's process."""
    from course_utils.grading import similarity
    from course_utils.grading.runner import read_submission

    entries = []
    for path, report, student in zip(paths, reports, students, strict=True):
        if report.status != "graded" or not report.exercise:
            continue
        nb, _ = read_submission(Path(path))
        if nb is not None:
            entries.append((str(path), student, report.exercise, nb))
    try:
        found = similarity.find_copies(entries)
    except Exception as err:  # noqa: BLE001 - a flag is a courtesy; grading must not fail on it
        found = {}
        print(f"warning: the near-copy check failed ({type(err).__name__}: {err})", file=sys.stderr)
    for path, report in zip(paths, reports, strict=True):
        report.flags.extend(found.get(str(path), []))


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (0 when every submission was processed)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["merge"]:
        from course_utils.grading.gradebook import merge_main

        return merge_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    try:
        import nbformat  # noqa: F401 - the grader's own dependencies, checked before any work
    except ImportError as err:
        print(
            f"error: the grader needs the [grade] extra ({err.name} is missing): "
            "pip install 'course_utils[grade]'",
            file=sys.stderr,
        )
        return 2
    from course_utils.grading import gradebook

    owners: dict[str, tuple[str, str]] = {}
    if args.nbgrader_root is not None:
        if args.paths:
            parser.error("give either submission paths or --nbgrader-root, not both")
        try:
            found = gradebook.nbgrader_submissions(args.nbgrader_root)
        except ValueError as err:
            parser.error(str(err))
        owners = {str(p): (student, assignment) for p, student, assignment in found}
        paths = [p for p, _, _ in found]
        roots: dict[str, Path | None] = {}
    elif not args.paths:
        parser.error("give submission notebooks or folders, or --nbgrader-root DIR")
    else:
        with_roots = collect_with_roots(args.paths)
        paths = [p for p, _ in with_roots]
        roots = {str(p): root for p, root in with_roots}
    from course_utils.grading import late

    due = rule = None
    try:
        due = late.parse_due(args.due) if args.due is not None else None
        rule = late.parse_penalty(args.late_penalty) if args.late_penalty is not None else None
    except ValueError as err:
        parser.error(str(err))
    if rule is not None and due is None:
        parser.error("--late-penalty needs --due")
    roster = None
    if args.roster is not None:
        try:
            roster = gradebook.read_roster(args.roster)
        except ValueError as err:
            parser.error(str(err))
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    if not paths:
        parser.error("no .ipynb files found")
    if args.shard is not None:
        paths = shard(sorted(paths, key=str), *args.shard)
    # imported late: nbformat takes seconds to import, and usage errors should be instant
    from course_utils.grading import sandbox
    from course_utils.grading.registry import exercises
    from course_utils.grading.report import to_text
    from course_utils.grading.runner import Limits, grade_paths

    if args.exercise is not None and args.exercise not in exercises():
        parser.error(
            f"--exercise: unknown exercise {args.exercise!r}; known: {', '.join(exercises())}"
        )
    if not args.no_sandbox:
        reason = sandbox.unavailable_reason()
        if reason:
            print(f"error: {reason}", file=sys.stderr)
            return 2

    limits = Limits(
        cell_timeout=args.timeout,
        notebook_timeout=args.notebook_timeout or max(300.0, 5 * args.timeout),
        call_timeout=args.call_timeout or min(10.0, args.timeout),
    )
    # nbgrader: an assignment folder named after an exercise grades its notebooks as that one
    known = set(exercises())

    def forced_exercise(path: Path) -> str | None:
        assignment = owners.get(str(path), ("", ""))[1]
        return args.exercise or (assignment if assignment in known else None)

    forced = [forced_exercise(p) for p in paths]
    reports = grade_paths(
        paths,
        limits=limits,
        jobs=args.jobs,
        seed=args.seed,
        use_sandbox=not args.no_sandbox,
        exercise=forced,
    )
    students = []
    for path, report in zip(paths, reports, strict=True):
        if str(path) in owners:
            student = gradebook.normalize_id(owners[str(path)][0])
        else:
            # a folder given on the command line makes its sub-folders per-student folders;
            # a direct file's folder is one when the roster names it
            root = roots.get(str(path))
            if root is None and roster is not None:
                parent = gradebook.normalize_id(Path(path).parent.name)
                root = Path(path).parent.parent if parent in roster else None
            student, flag = gradebook.identify(path, report.exercise, root=root)
            if flag:
                report.flags.append(flag)
        if roster is not None and student not in roster:
            report.flags.append(f"student {student!r} is not on the roster")
        students.append(student)
    _flag_copies(paths, reports, students)
    rows = []
    for path, report, student in zip(paths, reports, students, strict=True):
        row = report.as_dict()
        row["student"] = student
        if str(path) in owners:
            row["assignment"] = owners[str(path)][1]
        if due is not None:
            late.annotate(row, path, due, rule)
        rows.append(row)
    if args.reflect:
        from course_utils.grading.reflect import export_written

        export_written(
            [(p, r["student"], r.get("exercise")) for p, r in zip(paths, rows, strict=True)],
            args.reflect,
        )
    if args.feedback:
        from course_utils.grading.feedback_files import write_feedback

        write_feedback(rows, args.feedback)
    # every sandbox is gone now; each file is written to a temporary name and renamed
    if args.json:
        gradebook.write_json_atomic(args.json, rows)
    if args.csv:
        gradebook.write_gradebook(args.csv, rows, roster)
    if not args.quiet:
        print(to_text(reports))
        if roster is not None:
            for line in gradebook.roster_lines(*gradebook.roster_gaps(rows, roster)):
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
