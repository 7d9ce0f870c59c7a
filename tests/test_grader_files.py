"""Fast, sandbox-free pieces of the grader: reading files safely, naming the exercise, the view of
``course_utils`` with stubbed references, message cleaning, CSV escaping and atomic writes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_utils.grading import run_checks, sandbox
from course_utils.grading.checks import QuestionResult
from course_utils.grading.cli import collect
from course_utils.grading.registry import questions_for
from course_utils.grading.report import csv_cell, write_csv, write_json
from course_utils.grading.runner import (
    SubmissionReport,
    clean,
    identify_exercise,
    read_submission,
)

ROOT = Path(__file__).resolve().parents[1]
SOL03 = ROOT / "solutions" / "03_lecun.ipynb"


# ---- reading ------------------------------------------------------------------------------------
def test_only_regular_files_are_read(tmp_path):
    good = tmp_path / "03_lecun-a.ipynb"
    good.write_bytes(SOL03.read_bytes())
    nb, reason = read_submission(good)
    assert reason is None and nb.cells
    fifo = tmp_path / "f.ipynb"
    os.mkfifo(fifo)  # opening it for reading would block forever
    link = tmp_path / "l.ipynb"
    link.symlink_to(good)
    folder = tmp_path / "d.ipynb"
    folder.mkdir()
    for path, kind in ((fifo, "FIFO"), (link, "symbolic link"), (folder, "folder")):
        nb, reason = read_submission(path)
        assert nb is None and "not a regular file" in reason and kind in reason
    nb, reason = read_submission(Path("/dev/null"))
    assert nb is None and "character device" in reason
    nb, reason = read_submission(good, max_bytes=100)
    assert nb is None and "bytes" in reason


def test_folders_are_walked_without_following_links_and_odd_entries_kept(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.ipynb").write_text("{}")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.ipynb").write_text("{}")
    (tmp_path / "sub" / "linked").symlink_to(tmp_path / "elsewhere")
    os.mkfifo(tmp_path / "sub" / "c.ipynb")
    (tmp_path / "sub" / "d.ipynb").mkdir()
    found = [p.name for p in collect([tmp_path / "sub"])]
    assert found == ["a.ipynb", "c.ipynb", "d.ipynb"]  # b.ipynb is behind a link


def test_file_name_beats_metadata_and_exercise_option_beats_both():
    nb = nbformat.read(SOL03, as_version=4)
    assert identify_exercise(nb, Path("03_lecun-ann.ipynb")) == ("03_lecun", None)
    chosen, note = identify_exercise(nb, Path("04_glorot-bob.ipynb"))
    assert chosen == "04_glorot" and "metadata names exercise '03_lecun'" in note
    assert identify_exercise(nb, Path("homework.ipynb"))[0] == "03_lecun"
    chosen, note = identify_exercise(nb, Path("03_lecun-x.ipynb"), "05_he")
    assert chosen == "05_he" and "file name points to '03_lecun'" in note


# ---- the view ------------------------------------------------------------------------------------
def test_stub_source_removes_the_definition_and_keeps_the_rest():
    text = (
        '"""doc"""\nfrom __future__ import annotations\n\nimport math\n\n'
        "@staticmethod\ndef secret(x):\n    return 42 * x\n\nTABLE = {'s': secret}\n\n"
        "def other():\n    return 1\n"
    )
    out = stub_source = sandbox.stub_source(text, "pkg.mod", ["secret", "TABLE"])
    assert "42 * x" not in out and "def other" in out
    ns: dict = {}
    exec(compile(stub_source, "m", "exec"), ns)
    assert ns["other"]() == 1
    for name in ("secret", "TABLE"):
        with pytest.raises(RuntimeError, match="pkg.mod.* not available while grading"):
            ns[name](1) if name == "secret" else ns[name]["s"]


def test_the_view_of_an_exercise_hides_its_references(tmp_path):
    forbidden = [n for q in questions_for("03_lecun") for n in q.forbidden]
    view = sandbox.build_view(forbidden, tmp_path / "view")
    source = (view.package / "initializers.py").read_text()
    assert "def lecun_normal(" not in source and "def glorot_normal(" in source
    assert "def fan_in_and_fan_out(" not in source
    code = (
        "import course_utils, course_utils.initializers as ci\n"
        f"assert course_utils.__file__.startswith({str(view.root)!r}), course_utils.__file__\n"
        "for f in (ci.lecun_normal, ci.variance_scaling, ci.fan_in_and_fan_out):\n"
        "    try:\n        f((3, 4), 0)\n    except RuntimeError as e:\n"
        "        assert 'not available while grading' in str(e)\n"
        "    else:\n        raise SystemExit('a reference ran')\n"
        "try:\n    import course_utils.grading.questions\nexcept ImportError as e:\n"
        "    assert 'not available while grading' in str(e)\n"
        "else:\n    raise SystemExit('questions imported')\n"
        "from course_utils.grading import check\n"
        "check('lecun_normal', lambda shape, rng: None)  # never raises\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(view.root)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-2000:]
    torch_init = sandbox.module_file("torch.nn.init")
    if torch_init is not None:
        # exercise 03 no longer stubs torch's private fan helper (nn.Linear and nn.Conv* must
        # still construct); exercise 05 stubs torch's public He initializers in a copy
        assert not any(dst == torch_init for _, dst in view.binds)
        forbidden05 = [n for q in questions_for("05_he") for n in q.forbidden]
        view05 = sandbox.build_view(forbidden05, tmp_path / "view05")
        copies = [src for src, dst in view05.binds if dst == torch_init]
        assert copies and "def kaiming_normal_(" not in copies[0].read_text()
        assert "def _calculate_fan_in_and_fan_out(" in copies[0].read_text()
        pycs = [dst for _, dst in view05.binds if dst.suffix == ".pyc"]
        assert all(p.parent == torch_init.parent / "__pycache__" for p in pycs)


def test_without_bwrap_the_grader_refuses_and_names_the_fix(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap on the PATH ...
    code = (
        "import os\nfrom course_utils.grading import sandbox\n"
        "sandbox.bwrap_path = lambda: None\n"  # ... nor in /usr/bin
        "from course_utils.grading.cli import main\n"
        f"raise SystemExit(main([{str(SOL03)!r}]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 2
    assert "apt-get install bubblewrap" in proc.stderr and "--no-sandbox" in proc.stderr


# ---- messages and reports -----------------------------------------------------------------------
def test_messages_are_one_printable_capped_line():
    text = clean("a\x1b[31mred\x1b[0m\r\nnext\x07\u202eevil" + "x" * 1000)
    assert "\x1b" not in text and "\r" not in text and "\n" not in text and "\u202e" not in text
    assert len(text) == 400 and text.endswith("...")


def test_csv_cells_are_never_formulas_and_files_are_written_atomically(tmp_path):
    q = QuestionResult("q", 1.0, 2.0, False, "-1 is wrong")
    reports = [
        SubmissionReport("=cmd|' /C calc'!A0", "03_lecun", "graded", 1.0, 2.0, [q], "@SUM(1)"),
        SubmissionReport("+x.ipynb", None, "error", 0.0, 0.0, [], "-2"),
    ]
    book, out = tmp_path / "book.csv", tmp_path / "grades.json"
    write_csv(reports, book)
    write_json(reports, out)
    rows = list(csv.reader(book.open()))
    assert rows[1][0] == "'=cmd|' /C calc'!A0" and rows[1][-1] == "'@SUM(1)"
    assert rows[2][0] == "'+x.ipynb" and rows[2][-1] == "'-2"
    assert json.loads(out.read_text())[0]["submission"] == "=cmd|' /C calc'!A0"
    assert csv_cell(-1.5) == -1.5  # numbers stay numbers
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.csv", "grades.json"]


def test_check_works_where_setitimer_does_not_exist(monkeypatch):
    """Windows and Pyodide have no ``signal.setitimer``: check() still judges (no time limit)."""
    monkeypatch.delattr(signal, "setitimer")

    def lecun_normal(shape, rng, *, layout="in_out", dtype=np.float32):
        fan_in = shape[-2] * int(np.prod(shape[:-2])) if layout == "in_out" else None
        if fan_in is None:
            fan_in = shape[1] * int(np.prod(shape[2:]))
        return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=shape).astype(dtype)

    r = run_checks("lecun_normal", lecun_normal)
    assert r.passed, r.message
