"""The README is the front door: its syllabus, points and commands must match the repository."""

from __future__ import annotations

import re
from pathlib import Path

from course_utils.grading.registry import exercises, questions_for

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _syllabus_rows() -> list[list[str]]:
    table = README.split("## Syllabus", 1)[1].split("\n\n", 2)[1]
    rows = [line.strip("|").split("|") for line in table.splitlines() if line.startswith("|")]
    return [[c.strip() for c in row] for row in rows[2:]]


def test_syllabus_lists_every_lecture_in_order():
    lectures = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    linked = [re.search(r"\(notebooks/([^)]+)\)", row[1]).group(1) for row in _syllabus_rows()]
    assert linked == lectures


def test_syllabus_points_match_the_grader():
    points = {}
    for row in _syllabus_rows():
        m = re.search(r"\(exercises/([^)]+)\.ipynb\)", row[4])
        if m:
            points[m.group(1)] = float(row[5])
    assert set(points) == set(exercises())
    for ex, pts in points.items():
        assert pts == sum(q.points for q in questions_for(ex)), ex
        assert (ROOT / "exercises" / f"{ex}.ipynb").is_file()


def test_every_make_target_the_readme_names_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z]+):", makefile, flags=re.M))
    named = set(re.findall(r"`make ([a-z]+)", README))
    assert named and named <= targets, named - targets


def test_linked_files_exist():
    for link in re.findall(r"\]\(((?!https?:)[^)#]+)\)", README):
        assert (ROOT / link).exists(), link
