"""``python -m course_utils.grade`` (and the ``course-grade`` script): grade notebooks."""

from __future__ import annotations

import sys

from course_utils.grading.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
