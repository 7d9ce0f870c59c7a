"""A class of hundreds: student ids, shard merging, the CSV gradebook, nbgitpuller links."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from course_utils import links
from course_utils.grading import gradebook as gb

ROOT = Path(__file__).resolve().parents[1]


def _report(submission, exercise="03_lecun", score=10.0, student=None, qs=None):
    qs = qs or (("fan_in_and_fan_out", score),)  # the score is the sum of its questions
    r = {
        "submission": submission,
        "exercise": exercise,
        "status": "graded",
        "score": score,
        "max_score": 10.0,
        "questions": [
            {"id": q, "points": p, "max_points": 10.0, "passed": True, "message": "ok"} for q, p in qs
        ],
        "error": None,
    }
    if student is not None:
        r["student"] = student
    return r


@pytest.mark.parametrize(
    ("path", "exercise", "root", "want"),
    [
        ("in/03_lecun-alice.ipynb", "03_lecun", None, "alice"),
        ("in/03_lecun_bob smith.ipynb", "03_lecun", None, "bob smith"),
        ("class/carol/03_lecun.ipynb", "03_lecun", None, "carol"),
        ("03_lecun.ipynb", "03_lecun", None, "03_lecun"),
        ("in/homework.ipynb", "03_lecun", None, "homework"),
        ("in/04_glorot-dan.ipynb", None, None, "dan"),
    ],
)
def test_student_ids_follow_the_documented_rules(path, exercise, root, want):
    assert gb.student_id(path, exercise, nbgrader_root=root) == want


def test_nbgrader_layout_gives_student_and_assignment(tmp_path):
    sub = tmp_path / "submitted"
    for sid, assignment in (("s2", "03_lecun"), ("s1", "week3")):
        (sub / sid / assignment).mkdir(parents=True)
        (sub / sid / assignment / "03_lecun.ipynb").write_text("{}")
    (sub / "stray.ipynb").write_text("{}")  # not in the layout: ignored
    (sub / "s3").mkdir()
    (sub / "s3" / "too-shallow.ipynb").write_text("{}")
    (sub / "s4").symlink_to(sub / "s1")  # a linked student folder is not followed
    found = gb.nbgrader_submissions(sub)
    assert [(p.relative_to(sub).as_posix(), s, a) for p, s, a in found] == [
        ("s1/week3/03_lecun.ipynb", "s1", "week3"),
        ("s2/03_lecun/03_lecun.ipynb", "s2", "03_lecun"),
    ]
    assert gb.student_id(found[0][0], "03_lecun", nbgrader_root=sub) == "s1"
    with pytest.raises(ValueError, match="nbgrader_root"):
        gb.nbgrader_submissions(sub / "stray.ipynb")


def test_merge_sorts_and_refuses_overlapping_shards():
    a = [_report("x/03_lecun-zoe.ipynb"), _report("x/03_lecun-al.ipynb")]
    b = [_report("x/04_glorot-al.ipynb", exercise="04_glorot")]
    merged = gb.merge([a, b])
    assert [(r["student"], r["exercise"]) for r in merged] == [
        ("al", "03_lecun"),
        ("al", "04_glorot"),
        ("zoe", "03_lecun"),
    ]
    assert gb.merge([b, a]) == merged  # order of the parts does not matter
    with pytest.raises(ValueError, match="overlap"):
        gb.merge([a, [_report("x/03_lecun-al.ipynb")]])


def test_load_parts_names_a_bad_file(tmp_path):
    bad = tmp_path / "part.json"
    bad.write_text('{"not": "a list"}')
    with pytest.raises(ValueError, match="part.json"):
        gb.load_parts([bad])
    bad.write_text('[{"submission": "a"}]')
    with pytest.raises(ValueError, match="lacks"):
        gb.load_parts([bad])


def test_gradebook_has_one_row_per_student_and_exercise_and_escapes_formulas(tmp_path):
    reports = [
        _report("h/03_lecun-al.ipynb", score=4.0),
        _report("h/03_lecun-al-v2.ipynb", score=9.0, student="al"),
        _report("h/=cmd.ipynb", score=1.0, student="=cmd|' /C calc'!A0"),
    ]
    reports[2]["error"] = "-1+1"
    out = tmp_path / "book.csv"
    gb.write_gradebook(out, reports)
    rows = list(csv.reader(out.open()))
    assert rows[0][: len(gb.GRADEBOOK_COLUMNS)] == list(gb.GRADEBOOK_COLUMNS)
    assert rows[0][-1] == "error"
    body = {(r[0], r[1]): r for r in rows[1:]}
    assert len(rows) == 3  # two students, one exercise each
    al = body[("al", "03_lecun")]
    assert al[2] == "9.0"  # the best of the two hand-ins
    assert al[5] == "h/03_lecun-al-v2.ipynb h/03_lecun-al.ipynb"
    evil = next(r for r in rows[1:] if r[0].startswith("'"))
    assert evil[0] == "'=cmd|' /C calc'!A0"
    assert evil[-1] == "'-1+1"
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_merge_command_writes_json_and_csv_and_fails_with_status_2(tmp_path, capsys):
    parts = []
    for i, chunk in enumerate(([_report("s/03_lecun-a.ipynb")], [_report("s/03_lecun-b.ipynb")])):
        p = tmp_path / f"part{i}.json"
        p.write_text(json.dumps(chunk))
        parts.append(str(p))
    assert gb.merge_main([*parts, "--json", str(tmp_path / "all.json"), "--csv", str(tmp_path / "b.csv")]) == 0
    merged = json.loads((tmp_path / "all.json").read_text())
    assert [r["student"] for r in merged] == ["a", "b"]
    assert "merged 2 parts: 2 submissions" in capsys.readouterr().out
    with pytest.raises(SystemExit) as err:
        gb.merge_main([parts[0], parts[0]])
    assert err.value.code == 2


def test_gitpuller_links_name_existing_notebooks():
    paths = links.course_notebooks(ROOT)
    assert any(p.startswith("notebooks/00_") for p in paths)
    assert any(p.startswith("exercises/") for p in paths)
    for p in paths:
        url = links.gitpuller_link("https://hub.example.edu/", "https://github.com/acme/init-course.git", "main", p)
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == (
            "https",
            "hub.example.edu",
            "/hub/user-redirect/git-pull",
        )
        query = parse_qs(parts.query, strict_parsing=True)
        assert query["repo"] == ["https://github.com/acme/init-course.git"]
        assert query["branch"] == ["main"]
        (urlpath,) = query["urlpath"]
        prefix = "lab/tree/init-course/"
        assert urlpath.startswith(prefix)
        assert (ROOT / urlpath[len(prefix) :]).is_file()


@pytest.mark.parametrize(
    ("kw", "argument"),
    [
        ({"hub": "hub.example.edu"}, "hub"),
        ({"repo": "git@github.com:a/b"}, "repo"),
        ({"branch": ""}, "branch"),
        ({"notebook": "/etc/passwd"}, "notebook"),
        ({"interface": "classic"}, "interface"),
    ],
)
def test_gitpuller_link_rejects_bad_input_naming_it(kw, argument):
    args = {"hub": "https://h.org", "repo": "https://github.com/a/b", "branch": "main", "notebook": "n.ipynb"}
    args.update(kw)
    interface = args.pop("interface", "lab")
    with pytest.raises(ValueError, match=argument):
        links.gitpuller_link(args["hub"], args["repo"], args["branch"], args["notebook"], interface=interface)


def test_links_command_prints_one_link_per_notebook(capsys):
    assert links.main(["--hub", "https://h.org", "--repo", "https://github.com/a/course", "--root", str(ROOT)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(links.course_notebooks(ROOT))
    with pytest.raises(SystemExit) as err:
        links.main(["--hub", "https://h.org", "--repo", "https://github.com/a/course", "--root", "/"])
    assert err.value.code == 2


def test_deploy_image_installs_cpu_torch_and_the_course():
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "download.pytorch.org/whl/cpu" in text
    assert "nbgitpuller" in text
    assert ".venv" in (ROOT / ".dockerignore").read_text()
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for needle in ("make links", "--nbgrader-root", "course-grade merge", "make autograder", "--shard"):
        assert needle in guide


# ---- one run against four shards merged ------------------------------------------------------
def _grade(args: list[str]) -> None:
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "course_utils.grade", *args, "--jobs", "2", "--quiet", "--timeout", "60"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]


_TIMING = re.compile(r"timed out|time limit|deadline|wall-clock|did not start|for time|time share|s share")


def _untimed_note(note: str) -> str:
    return "; ".join(c for c in (note or "").split("; ") if not _TIMING.search(c))


def _untimed(text: str) -> list[list[str]]:
    # the flags column (before error) is left out: classmates' near-copies are compared within
    # one run, so they depend on which submissions share a shard
    rows = list(csv.reader(io.StringIO(text)))
    return [row[:-2] + [_untimed_note(row[-1])] for row in rows]


def _untimed_report(r: dict) -> dict:
    return {**r, "error": _untimed_note(r.get("error") or ""), "flags": None}


def test_four_shards_merged_equal_one_run(tmp_path):
    """60 submissions (solutions and blanks of several exercises, one student each) graded in one
    run and in 4 shards merged: the same gradebook, byte for byte, and the same reports.

    Sharding and merging are what is tested here, so the notebooks run without the sandbox
    (the sandbox has its own tests); the grader's input draws differ between the runs, which
    cannot change a solution's full marks or a blank's zero."""
    import shutil

    subs = tmp_path / "subs"
    subs.mkdir()
    # the exercises whose notebooks do not import torch: the test times kernels, not torch
    exercises = [
        p.stem
        for p in sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
        if "import torch" not in p.read_text(encoding="utf-8")
    ]
    assert len(exercises) >= 3
    cheap = exercises[:2]
    n = 0
    for e in cheap:
        for k in range(2):
            shutil.copy(ROOT / "solutions" / f"{e}.ipynb", subs / f"{e}-sol{k}.ipynb")
            n += 1
    i = 0
    while n < 60:
        e = exercises[i % len(exercises)]
        shutil.copy(ROOT / "exercises" / f"{e}.ipynb", subs / f"{e}-s{i:02d}.ipynb")
        i, n = i + 1, n + 1
    one_json, one_csv = tmp_path / "one.json", tmp_path / "one.csv"
    _grade([str(subs), "--no-sandbox", "--json", str(one_json), "--csv", str(one_csv)])
    parts = []
    for k in range(1, 5):
        part = tmp_path / f"part{k}.json"
        _grade([str(subs), "--no-sandbox", "--shard", f"{k}/4", "--json", str(part)])
        parts.append(str(part))
    sizes = [len(json.loads(Path(p).read_text())) for p in parts]
    assert sum(sizes) == 60 and max(sizes) - min(sizes) <= 1
    all_json, book = tmp_path / "all.json", tmp_path / "book.csv"
    assert gb.merge_main([*parts, "--json", str(all_json), "--csv", str(book)]) == 0
    # identical apart from timings: a note that a cell ran out of time (the machine was busy in
    # one run and not the other) is a timing; scores, points and every other note must agree
    merged, single = _untimed(book.read_text()), _untimed(one_csv.read_text())
    header = merged[0]
    differences = [
        (m[0], m[1], header[k], m[k], o[k])
        for m, o in zip(merged, single, strict=True)
        for k in range(len(header))
        if m[k] != o[k]
    ]
    assert differences == [] and len(merged) == len(single), differences
    one = gb.merge([json.loads(one_json.read_text())])
    assert [_untimed_report(r) for r in json.loads(all_json.read_text())] == [
        _untimed_report(r) for r in one
    ]
    rows = list(csv.DictReader(book.open()))
    assert len(rows) == 60 == len({(r["student"], r["exercise"]) for r in rows})
    full = {q: sum(x["max_points"] for x in r["questions"]) for r in one for q in [r["exercise"]]}
    for r in rows:
        want = full[r["exercise"]] if r["student"].startswith("sol") else 0.0
        assert float(r["score"]) == want, r


def test_nbgrader_root_keys_rows_by_student_and_assignment(tmp_path):
    import shutil

    root = tmp_path / "submitted"
    (root / "s001" / "03_lecun").mkdir(parents=True)
    (root / "s002" / "week3").mkdir(parents=True)
    shutil.copy(ROOT / "exercises" / "03_lecun.ipynb", root / "s001" / "03_lecun" / "03_lecun.ipynb")
    shutil.copy(ROOT / "exercises" / "03_lecun.ipynb", root / "s002" / "week3" / "mine.ipynb")
    out, book = tmp_path / "g.json", tmp_path / "b.csv"
    _grade(["--nbgrader-root", str(root), "--no-sandbox", "--json", str(out), "--csv", str(book)])
    reports = json.loads(out.read_text())
    assert [(r["student"], r["assignment"], r["exercise"]) for r in reports] == [
        ("s001", "03_lecun", "03_lecun"),
        ("s002", "week3", "03_lecun"),  # named by the notebook's metadata
    ]
    rows = list(csv.DictReader(book.open()))
    assert [(r["student"], r["exercise"], r["score"]) for r in rows] == [
        ("s001", "03_lecun", "0.0"),
        ("s002", "03_lecun", "0.0"),
    ]
