"""The README is the front door: its syllabus, points and commands must match the repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

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
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    named = set(re.findall(r"`make ([a-z][a-z-]*)", README))
    assert named and named <= targets, named - targets
    assert "system-deps" in named


def test_course_grade_is_documented_and_its_help_names_itself():
    """The console script is in the README, and `course-grade --help` says `course-grade`
    (it used to say `python -m course_utils.grade`)."""
    assert "course-grade" in README
    script = Path(sys.executable).parent / "course-grade"
    if not script.exists():
        pytest.skip(f"no course-grade script beside {sys.executable} (package not installed)")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: course-grade "), out.stdout[:200]
    module = subprocess.run(
        [sys.executable, "-m", "course_utils.grade", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert module.stdout.startswith("usage: python -m course_utils.grade "), module.stdout[:200]


def test_install_section_states_measured_sizes_and_the_cpu_index():
    install = README.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert "https://download.pytorch.org/whl/cpu" in install
    assert re.search(r"\d+ MB\s+downloaded", install) and re.search(r"\d(\.\d)? GB\s+on\s+disk", install)
    assert "pip install -e . --no-deps" in install
    assert "--root" in install


def test_linked_files_exist():
    for link in re.findall(r"\]\(((?!https?:)[^)#]+)\)", README):
        assert (ROOT / link).exists(), link
