"""``python -m course_utils``: the course's version and its commands."""

from __future__ import annotations

import sys

from course_utils import __version__

COMMANDS = (
    ("python -m course_utils.grade NOTEBOOK|FOLDER ...", "grade submissions (also: course-grade)"),
    ("python -m course_utils.grade merge PART.json ...", "merge graded shards into one gradebook"),
    ("python -m course_utils.grading.build exercises solutions exercises",
     "generate the student notebooks from the solutions"),
    ("python -m course_utils.grading.build execute PATH ...", "execute notebooks in place"),
    ("python -m course_utils.grading.autograder build EXERCISE --out DIR",
     "build a Gradescope autograder zip"),
    ("python -m course_utils.links --hub URL --repo URL", "nbgitpuller links for a JupyterHub"),
    ("python -m course_utils.site html|slides OUT", "the offline site or the slides"),
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Print the version and the commands; ``--version`` prints the version alone."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        print(__version__)
        return 0
    if args and args not in (["-h"], ["--help"]):
        print(f"usage: python -m course_utils [--version]; got {' '.join(args)!r}", file=sys.stderr)
        return 2
    print(f"course_utils {__version__}: a course on neural-network weight initialization\n")
    print("Commands (make targets in the Makefile wrap them):")
    width = max(len(c) for c, _ in COMMANDS)
    for command, what in COMMANDS:
        print(f"  {command:<{width}}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
