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
    found: list[Path] = []
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
            found.extend(sorted(set(inside)))
        else:
            found.append(p)
    return found


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


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
    p.add_argument("paths", nargs="+", help="submission notebooks or folders of them")
    p.add_argument("--json", metavar="OUT.json", help="write the reports as a JSON list")
    p.add_argument("--csv", metavar="GRADEBOOK.csv", help="write one gradebook row per submission")
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
    p.add_argument("--seed", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help="do not print the text report")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (0 when every submission was processed)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    paths = collect(args.paths)
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    if not paths:
        parser.error("no .ipynb files found")
    # imported late: nbformat takes seconds to import, and usage errors should be instant
    from course_utils.grading import sandbox
    from course_utils.grading.registry import exercises
    from course_utils.grading.report import to_text, write_csv, write_json
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
    reports = grade_paths(
        paths,
        limits=limits,
        jobs=args.jobs,
        seed=args.seed,
        use_sandbox=not args.no_sandbox,
        exercise=args.exercise,
    )
    # every sandbox is gone now; each file is written to a temporary name and renamed
    if args.json:
        write_json(reports, args.json)
    if args.csv:
        write_csv(reports, args.csv)
    if not args.quiet:
        print(to_text(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
