"""Who a submission belongs to (issue 21, item 3), the roster, and merge's checks (item 9).

* A per-student folder is the student: ``alice/03_lecun-bob.ipynb`` stays alice's, flagged.
* Copy markers never create students: ``03_lecun (1)``, ``_v2``, ``.final``, ``-copy``,
  ``Copy of``.
* Ids are NFKC-normalized and case-folded: ``Alice`` and ``alice`` are one student.
* ``--roster`` flags unknown ids and lists students without a submission.
* ``merge`` counts one file under two spellings once and refuses impossible scores; CSV cells
  that a spreadsheet could run are escaped.
"""

from __future__ import annotations

import csv
import json

import pytest

from course_utils.grading import gradebook as gb
from course_utils.grading.cli import collect_with_roots


@pytest.mark.parametrize(
    ("path", "root", "want", "flagged"),
    [
        ("class/alice/03_lecun-bob.ipynb", "class", "alice", True),
        ("class/alice/03_lecun-alice.ipynb", "class", "alice", False),
        ("class/alice/03_lecun.ipynb", "class", "alice", False),
        ("class/alice/anything.ipynb", "class", "alice", False),
        ("class/03_lecun/alice.ipynb", "class", "alice", False),  # a per-exercise folder
        ("class/Alice/03_lecun (1).ipynb", "class", "alice", False),
        ("flat/03_lecun-bob.ipynb", "flat", "bob", False),
        ("flat/03_lecun-Bob (2).ipynb", "flat", "bob", False),
    ],
)
def test_a_per_student_folder_is_the_student(path, root, want, flagged):
    student, flag = gb.identify(path, "03_lecun", root=root)
    assert student == want
    assert (flag is not None) == flagged
    if flagged:
        assert "'bob'" in flag and "'alice'" in flag


@pytest.mark.parametrize(
    "name",
    [
        "03_lecun (1).ipynb",
        "03_lecun_v2.ipynb",
        "03_lecun.final.ipynb",
        "03_lecun-copy.ipynb",
        "Copy of 03_lecun.ipynb",
        "03_lecun_v2 (1).ipynb",
        "03_LECUN.ipynb",
    ],
)
def test_copy_markers_never_make_a_student(name):
    assert gb.student_id(f"hand-in/alice/{name}", "03_lecun") == "alice"
    assert gb.student_id(f"class/alice/{name}", "03_lecun", root="class") == "alice"


def test_copy_markers_after_a_suffix_are_stripped_too():
    assert gb.student_id("flat/03_lecun-alice_v2.ipynb", "03_lecun") == "alice"
    assert gb.student_id("flat/03_lecun-alice.final.ipynb", "03_lecun") == "alice"
    assert gb.student_id("flat/Copy of 03_lecun-alice (3).ipynb", "03_lecun") == "alice"


def test_ids_are_normalized_and_case_folded():
    assert gb.student_id("flat/03_lecun-Alice.ipynb", "03_lecun") == "alice"
    assert gb.student_id("flat/03_lecun-ａｌｉｃｅ.ipynb", "03_lecun") == "alice"  # full-width
    assert gb.student_id("class/ALICE/x.ipynb", "03_lecun", root="class") == "alice"
    rows = gb.gradebook_rows(
        [
            _report("flat/03_lecun-Alice.ipynb", student="Alice".casefold(), score=1.0),
            _report("flat/03_lecun-alice_v2.ipynb", student="alice", score=2.0),
        ]
    )[1]
    assert len(rows) == 1 and rows[0][2] == 2.0


def test_collect_records_the_folder_each_notebook_came_from(tmp_path):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class" / "alice" / "03_lecun-bob.ipynb").write_text("{}")
    (tmp_path / "class" / "03_lecun-carol.ipynb").write_text("{}")
    single = tmp_path / "03_lecun-dan.ipynb"
    single.write_text("{}")
    found = collect_with_roots([tmp_path / "class", single])
    got = {p.name: (root.name if root else None) for p, root in found}
    assert got == {
        "03_lecun-bob.ipynb": "class",
        "03_lecun-carol.ipynb": "class",
        "03_lecun-dan.ipynb": None,
    }
    ids = [gb.identify(p, "03_lecun", root=root)[0] for p, root in found]
    assert sorted(ids) == ["alice", "carol", "dan"]


def _report(submission, exercise="03_lecun", score=2.0, student=None):
    r = {
        "submission": submission,
        "exercise": exercise,
        "status": "graded",
        "score": score,
        "max_score": 12.0,
        "questions": [
            {"id": "fan_in_and_fan_out", "points": score, "max_points": 12.0, "passed": True,
             "message": "ok"}
        ],
        "error": None,
    }  # fmt: skip
    if student is not None:
        r["student"] = student
    return r


def test_roster_reads_lines_and_csv(tmp_path):
    lines = tmp_path / "roster.txt"
    lines.write_text("# class list\nAlice\n\nbob\nalice\n", encoding="utf-8")
    assert gb.read_roster(lines) == ["alice", "bob"]
    table = tmp_path / "roster.csv"
    table.write_text("name,Student_ID,email\nAlice A,Alice,a@x\nBob B,bob,b@x\n", encoding="utf-8")
    assert gb.read_roster(table) == ["alice", "bob"]
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody\n")
    with pytest.raises(ValueError, match="no student id"):
        gb.read_roster(empty)


def test_roster_flags_unknown_ids_and_lists_students_without_a_submission(tmp_path):
    reports = [
        _report("h/03_lecun-alice.ipynb", student="alice"),
        _report("h/03_lecun-zed.ipynb", student="zed"),
    ]
    unknown, missing = gb.roster_gaps(reports, ["alice", "bob"])
    assert unknown == ["zed"] and missing == [("bob", "03_lecun")]
    lines = gb.roster_lines(unknown, missing)
    assert lines == ["not on the roster (1): zed", "no submission (1): bob (03_lecun)"]
    out = tmp_path / "book.csv"
    gb.write_gradebook(out, reports, ["alice", "bob"])
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert rows["bob"]["status"] == "no submission" and rows["bob"]["score"] == "0.0"
    assert rows["zed"]["flags"] == "not on the roster" and rows["alice"]["flags"] == ""


def test_merge_counts_one_file_under_two_spellings_once(tmp_path):
    a = [_report(str(tmp_path / "subs" / "03_lecun-al.ipynb"))]
    b = [_report(str(tmp_path / "subs" / "." / "x" / ".." / "03_lecun-al.ipynb"))]
    with pytest.raises(ValueError, match="overlap"):
        gb.merge([a, b])
    c = [_report(str(tmp_path / "subs//03_lecun-al.ipynb"))]
    with pytest.raises(ValueError, match="overlap"):
        gb.merge([a, c])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"score": "12"}, "finite numbers"),
        ({"score": float("nan")}, "finite numbers"),
        ({"score": True}, "finite numbers"),
        ({"score": 13.0}, "outside"),
        ({"score": -1.0}, "outside"),
        ({"score": 1.0}, "not the sum"),
        ({"questions": [{"id": "q", "points": 3.0, "max_points": 2.0}]}, "points"),
        ({"questions": [{"id": "q", "points": -1.0, "max_points": 2.0}]}, "points"),
    ],
)
def test_merge_refuses_impossible_scores(change, words):
    bad = {**_report("h/03_lecun-al.ipynb", score=2.0), **change}
    with pytest.raises(ValueError, match=words):
        gb.merge([[bad]])


def test_merge_command_reports_a_bad_part_with_status_2(tmp_path):
    part = tmp_path / "part.json"
    part.write_text(json.dumps([{**_report("h/03_lecun-al.ipynb"), "score": 99}]))
    with pytest.raises(SystemExit) as err:
        gb.merge_main([str(part)])
    assert err.value.code == 2


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        " =1+1",
        "＝HYPERLINK(1)",
        "＋1",
        "－1",
        "＠SUM(A1)",
        "\t=1",
        "\u3000=1",
        " plain",
        "|x",
    ],
)
def test_csv_cells_that_a_spreadsheet_could_run_are_escaped(text):
    assert gb.escape_cell(text) == "'" + text


def test_plain_cells_and_numbers_are_left_alone():
    assert gb.escape_cell("alice") == "alice" and gb.escape_cell(-1.5) == -1.5
    assert gb.escape_cell("03_lecun") == "03_lecun" and gb.escape_cell("") == ""
