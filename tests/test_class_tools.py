"""A real class (issue 23): feedback files, late hand-ins, written answers graded by hand, links.

One grader run over an nbgrader ``submitted/`` folder with three students (two solutions, one
on time and one 26 hours late, and a blank exercise) writes the feedback files, the late columns
and the written-answer export; ``course-grade merge --manual`` then folds hand-given points in.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest

from course_utils import links
from course_utils.grading import late
from course_utils.grading.reflect import UNANSWERED, read_manual
from course_utils.grading.registry import questions_for

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "03_lecun"
DUE = datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)
HOSTILE = "<script>alert('x')</script> & Var(w) = 1/n"


# ---- pure pieces ---------------------------------------------------------------------------------
def test_times_and_penalty_rule():
    assert late.parse_time("2026-12-01 22:14:03.512345 UTC") == datetime(
        2026, 12, 1, 22, 14, 3, 512345, tzinfo=timezone.utc
    )
    assert late.parse_due("2026-12-01T23:59+01:00").utcoffset() == timedelta(hours=1)
    assert late.parse_due("2026-12-01T23:59").tzinfo is timezone.utc
    with pytest.raises(ValueError, match="--due"):
        late.parse_due("tomorrow")
    rule = late.parse_penalty("10%/day")
    assert rule.fraction(0) == 0 and rule.fraction(-5) == 0
    assert rule.fraction(1) == pytest.approx(0.1)  # a started day counts
    assert rule.fraction(26 * 3600) == pytest.approx(0.2)
    assert rule.fraction(30 * 86400) == 1.0  # at most everything
    assert late.parse_penalty("5%/hour").fraction(3601) == pytest.approx(0.1)
    assert late.parse_penalty("0").fraction(10**6) == 0
    for bad in ("10", "10%/week", "150%/day", "-1%/day"):
        with pytest.raises(ValueError, match="--late-penalty"):
            late.parse_penalty(bad)
    assert late.describe_late(26 * 3600) == "1 d 2 h" and late.describe_late(0) == ""


def test_gitpuller_link_names_the_folder_it_opens():
    for repo, folder in (
        ("https://github.com/acme/init-course.git", "init-course"),
        ("https://github.com/acme/init-course-student", "init-course-student"),
    ):
        query = parse_qs(urlsplit(links.gitpuller_link("https://h.org", repo, "main",
                                                       "exercises/03_lecun.ipynb")).query)  # fmt: skip
        assert query["targetpath"] == [folder]
        assert query["urlpath"] == [f"lab/tree/{folder}/exercises/03_lecun.ipynb"]
    query = parse_qs(urlsplit(links.gitpuller_link("https://h.org", "https://g.org/a/b.git", "main",
                                                   "notebooks/x.ipynb", targetpath="course")).query)  # fmt: skip
    assert query["targetpath"] == ["course"]
    assert query["urlpath"] == ["lab/tree/course/notebooks/x.ipynb"]
    for bad in ("../x", "/abs", "a/../b", ""):
        with pytest.raises(ValueError, match="targetpath"):
            links.gitpuller_link(
                "https://h.org", "https://g.org/a/b", "main", "n.ipynb", targetpath=bad
            )


# ---- one graded class ----------------------------------------------------------------------------
def _with_written_answer(src: Path, dest: Path, text: str) -> None:
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if (
            cell.cell_type == "markdown"
            and meta.get("solution")
            and meta.get("grade_id") != "summary"
        ):
            cell.source = text
            break
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)


def _grade(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    from course_utils.grading import sandbox

    cmd = [sys.executable, "-m", "course_utils.grade", *args, "--quiet", "--jobs", "2"]
    if sandbox.unavailable_reason() is not None:
        cmd.append("--no-sandbox")
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    sub = base / "submitted"
    solution = ROOT / "solutions" / f"{EXERCISE}.ipynb"
    blank = ROOT / "exercises" / f"{EXERCISE}.ipynb"
    _with_written_answer(solution, sub / "alice" / EXERCISE / f"{EXERCISE}.ipynb", HOSTILE)
    (sub / "alice" / EXERCISE / "timestamp.txt").write_text("2026-12-01 20:00:00.000000 UTC\n")
    _with_written_answer(solution, sub / "bob" / EXERCISE / f"{EXERCISE}.ipynb", "Bob's answer.")
    (sub / "bob" / EXERCISE / "timestamp.txt").write_text("2026-12-03 01:59:00 UTC\n")  # 26 h late
    carol = sub / "carol" / EXERCISE / f"{EXERCISE}.ipynb"
    carol.parent.mkdir(parents=True)
    shutil.copy(blank, carol)
    on_time = (DUE - timedelta(hours=1)).timestamp()
    os.utime(carol, (on_time, on_time))  # no timestamp.txt: the file time counts
    proc = _grade(
        ["--nbgrader-root", str(sub), "--json", "grades.json", "--csv", "gradebook.csv",
         "--feedback", "feedback", "--reflect", "written", "--due", DUE.isoformat(),
         "--late-penalty", "10%/day"],
        base,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return base


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


def test_feedback_file_per_submission_in_nbgraders_layout(graded):
    reports = {r["student"]: r for r in json.loads((graded / "grades.json").read_text())}
    full = sum(q.points for q in questions_for(EXERCISE))
    assert reports["alice"]["score"] == pytest.approx(full) and reports["carol"]["score"] == 0
    for student in ("alice", "bob", "carol"):
        page = (graded / "feedback" / student / EXERCISE / f"{EXERCISE}.html").read_text()
        r = reports[student]
        assert f"{r['score']:g} / {r['max_score']:g}" in page
        for q in r["questions"]:
            assert q["id"] in page
            assert f"{q['points']:g} / {q['max_points']:g}" in page
        assert "flag" not in page.lower()
    carol = (graded / "feedback" / "carol" / EXERCISE / f"{EXERCISE}.html").read_text()
    assert "not implemented yet" in carol and "not yet" in carol
    bob = (graded / "feedback" / "bob" / EXERCISE / f"{EXERCISE}.html").read_text()
    assert "1 d 2 h after the due time" in bob and "20 % of the points taken" in bob


def test_late_columns_and_final_score(graded):
    reports = {r["student"]: r for r in json.loads((graded / "grades.json").read_text())}
    assert reports["alice"]["submitted_from"] == "timestamp.txt"
    assert reports["carol"]["submitted_from"] == "file time"
    assert reports["alice"]["late_seconds"] == 0 and reports["carol"]["late_seconds"] == 0
    assert reports["bob"]["late_seconds"] == 26 * 3600
    rows = _rows(graded / "gradebook.csv")
    assert rows["alice"]["late"] == "" and rows["alice"]["penalty"] == "0%"
    assert rows["bob"]["late"] == "1 d 2 h" and rows["bob"]["penalty"] == "20%"
    assert float(rows["bob"]["final"]) == pytest.approx(0.8 * float(rows["bob"]["score"]), abs=0.01)
    assert float(rows["alice"]["final"]) == pytest.approx(float(rows["alice"]["score"]))
    # the grader's own score is untouched (it stays the sum of the questions)
    assert rows["bob"]["score"] == rows["alice"]["score"]


def test_written_answers_side_by_side_escaped(graded):
    pages = sorted((graded / "written" / EXERCISE).glob("*.html"))
    assert pages, "one page per written question"
    first = pages[0].read_text()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Var(w) = 1/n" in first
    assert "<script>" not in first
    assert "Bob&#x27;s answer." in first and "(no answer)" in first  # carol left it untouched
    for student in ("alice", "bob", "carol"):
        assert f"<h3>{student}</h3>" in first
    index = (graded / "written" / "index.html").read_text()
    assert all(p.name in index for p in pages)
    with open(graded / "written" / "manual_points.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["student"] for r in rows} == {"alice", "bob", "carol"}
    assert len(rows) == 3 * len(pages)
    blank = [r for r in rows if r["student"] == "carol"]
    assert all(r["points"] == "0" and r["comment"] == "no answer" for r in blank)
    assert UNANSWERED not in first


def test_merge_folds_manual_points_into_the_gradebook(graded, tmp_path):
    with open(graded / "written" / "manual_points.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    qid = rows[0]["question"]
    for r in rows:
        if r["question"] == qid and r["student"] in ("alice", "bob"):
            r["points"] = "1.5" if r["student"] == "alice" else "1"
    filled = tmp_path / "points.csv"
    with open(filled, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert read_manual(filled)[("alice", EXERCISE)][qid] == 1.5
    out = tmp_path / "gradebook.csv"
    cmd = [sys.executable, "-m", "course_utils.grade", "merge", str(graded / "grades.json"),
           "--manual", str(filled), "--csv", str(out), "--json", str(tmp_path / "all.json")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    book = _rows(out)
    assert float(book["alice"][f"written:{qid}"]) == 1.5
    assert float(book["alice"]["manual"]) == 1.5
    auto = float(book["alice"]["score"])
    assert float(book["alice"]["final"]) == pytest.approx(auto + 1.5)
    assert float(book["bob"]["final"]) == pytest.approx(0.8 * (float(book["bob"]["score"]) + 1))
    assert float(book["carol"]["final"]) == 0.0
    # a point outside 0..max_points, or not a number, is a usage error naming the line
    rows[0]["max_points"] = "2"
    rows[0]["points"] = "3"
    with open(filled, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and "line 2" in proc.stderr
