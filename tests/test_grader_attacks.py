"""The grader against a student who tries: one test per attack class of issue 11.

Every hostile submission is built here, inside the test, from the committed solution (no hostile
notebook is committed). One run of the grader CLI (``--jobs 2``, short time limits) grades them
all in bubblewrap sandboxes, with an attacker between two honest classmates; the display-data
flood has a run of its own that measures the grader's peak memory.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course_utils.grading import questions_for, sandbox

ROOT = Path(__file__).resolve().parents[1]
SOL03 = ROOT / "solutions" / "03_lecun.ipynb"
SOL05 = ROOT / "solutions" / "05_he.ipynb"
FULL03 = sum(q.points for q in questions_for("03_lecun"))
FULL04 = sum(q.points for q in questions_for("04_glorot"))
ATTACKED = ("fan_in_and_fan_out", "lecun_normal", "lecun_uniform", "sum_variance")
TOKEN = f"course-grade-attack-{os.getpid()}"

pytestmark = pytest.mark.skipif(
    sandbox.unavailable_reason() is not None,
    reason=f"no bubblewrap sandbox here: {sandbox.unavailable_reason()}",
)


def _nb(path: Path = SOL03):
    return nbformat.read(path, as_version=4)


def _insert(nb, source: str, at: int = 2) -> None:
    nb.cells.insert(at, nbformat.v4.new_code_cell(source))


def _replace_def(nb, name: str, source: str) -> None:
    hits = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(f"def {name}(")]
    assert len(hits) == 1, name
    hits[0].source = source


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _site_packages() -> Path:
    return next(Path(p) for p in sys.path if p.endswith("site-packages"))


# ---- the hostile submissions -------------------------------------------------------------------
def references_attack() -> object:
    """Every graded function is the library's reference, each reached a different way."""
    nb = _nb()
    _replace_def(
        nb,
        "fan_in_and_fan_out",
        "def fan_in_and_fan_out(shape, *, layout='in_out'):\n"
        "    from course_utils.initializers import fan_in_and_fan_out as f\n"
        "    return f(shape, layout=layout)",
    )
    _replace_def(
        nb,
        "lecun_normal",
        "import importlib.util, course_utils.initializers as _ci\n"
        "_spec = importlib.util.spec_from_file_location('_copy', _ci.__file__)\n"
        "_copy = importlib.util.module_from_spec(_spec)\n"
        "_spec.loader.exec_module(_copy)  # a fresh copy of the module file\n"
        "_ref = getattr(__import__('sys').modules['course_utils.initializers'], 'lecun_normal')\n"
        "def lecun_normal(shape, rng, *, layout='in_out', dtype=np.float32):\n"
        "    try:\n"
        "        return _copy.lecun_normal(shape, rng, layout=layout, dtype=dtype)\n"
        "    except Exception:\n"
        "        return _ref(shape, rng, layout=layout, dtype=dtype)",
    )
    _replace_def(
        nb,
        "lecun_uniform",
        "import types, course_utils.initializers as _ci2\n"
        "try:  # a copy of the reference's code object\n"
        "    lecun_uniform = types.FunctionType(_ci2.lecun_uniform.__code__.replace(),\n"
        "                                       _ci2.__dict__)\n"
        "except Exception:\n"
        "    def lecun_uniform(shape, rng, *, layout='in_out', dtype=np.float32):\n"
        "        return _ci2.variance_scaling(shape, rng, distribution='uniform',\n"
        "                                     layout=layout, dtype=dtype)",
    )
    _replace_def(
        nb,
        "sum_variance",
        "import glob, json\n"
        "try:\n"
        "    from course_utils.grading.questions.ex03_lecun import sum_variance\n"
        "except Exception:\n"
        "    for _p in glob.glob('/**/solutions/03_lecun.ipynb', recursive=True)[:1]:\n"
        "        for _c in json.load(open(_p))['cells']:\n"
        "            if ''.join(_c['source']).startswith('def sum_variance'):\n"
        "                exec(''.join(_c['source']))",
    )
    _insert(  # try to clear any flag the harness might send
        nb,
        "ip = get_ipython()\n_orig = ip.display_pub.publish\n"
        "def _publish(data, metadata=None, **kw):\n"
        "    for v in data.values():\n"
        "        if isinstance(v, dict):\n"
        "            v.pop('library', None)\n"
        "    return _orig(data, metadata=metadata, **kw)\n"
        "ip.display_pub.publish = _publish",
    )
    return nb


def stubs_attack() -> object:
    """Stubs that return zeros, None or the input, or raise: without the gating, dtype, mean,
    seed and "raises on bad input" checks would earn points."""
    nb = _nb()
    _replace_def(
        nb,
        "lecun_normal",
        "def lecun_normal(shape, rng, *, layout='in_out', dtype=np.float32):\n"
        "    return np.zeros(shape, dtype)",
    )
    _replace_def(
        nb,
        "lecun_uniform",
        "def lecun_uniform(shape, rng, *, layout='in_out', dtype=np.float32):\n"
        "    return None",
    )
    _replace_def(  # raising ValueError would pass the "fewer than 2 dims" check on its own
        nb,
        "fan_in_and_fan_out",
        "def fan_in_and_fan_out(shape, *, layout='in_out'):\n    raise ValueError('todo')",
    )
    _replace_def(nb, "sum_variance", "def sum_variance(n, var_w, var_x, mean_x=0.0):\n    return n")
    return nb


def escape_attack(classmate: Path, grades: Path, marker: Path, port: int) -> object:
    """Persistence, escape and sabotage attempts: kill, stop and interrupt the worker (the
    kernel's parent, PID 1 of the sandbox) and everything else, then leave a daemon that would
    rewrite the gradebook and two busy loops behind."""
    nb = _nb()
    startup = Path.home() / ".ipython" / "profile_default" / "startup"
    _insert(
        nb,
        "import os, sys, socket, signal, subprocess\n"
        "def attempt(fn):\n"
        "    try:\n"
        "        fn()\n"
        "    except BaseException:\n"
        "        pass\n"
        f"attempt(lambda: open({str(classmate)!r}, 'w').write('{{}}'))\n"
        f"attempt(lambda: open({str(_site_packages() / 'zz_attack.pth')!r}, 'w')"
        f".write('import os'))\n"
        f"attempt(lambda: os.makedirs({str(startup)!r}, exist_ok=True))\n"
        f"attempt(lambda: open({str(startup / '00-attack.py')!r}, 'w').write('1'))\n"
        f"attempt(lambda: open({str(marker)!r}, 'w').write('escaped'))\n"
        f"attempt(lambda: socket.create_connection(('127.0.0.1', {port}), timeout=2))\n"
        f"attempt(lambda: open({str(SOL03)!r}).read())\n"
        "for _sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGINT, signal.SIGTERM):\n"
        "    attempt(lambda: os.kill(os.getppid(), _sig))\n"
        "attempt(lambda: os.kill(-1, signal.SIGKILL))\n"
        "subprocess.Popen([sys.executable, '-c', "
        f"'import time; time.sleep(6); open({json.dumps(str(grades))}, \"w\").write(\"x\")'],"
        " start_new_session=True)\n"
        "for _ in range(2):\n"
        f"    subprocess.Popen([sys.executable, '-c', 'while True: pass  # {TOKEN}'],"
        " start_new_session=True)\n",
    )
    return nb


def bad_cells() -> object:
    """An honest notebook with a retry loop whose bare except swallows the interrupt."""
    nb = _nb()
    _insert(
        nb,
        "import time\nwhile True:\n    try:\n        time.sleep(1000)\n    except:  # noqa\n"
        "        pass",
    )
    return nb


def slow_notebook() -> object:
    """An honest notebook whose cells together run past the notebook's deadline."""
    nb = _nb()
    for i in range(12):
        _insert(nb, f"import time\ntime.sleep(2.5)  # slow cell {i}", at=3)
    return nb


def mislabelled() -> object:
    """Exercise 05's solution handed in as exercise 04 (metadata left at 05)."""
    return _nb(SOL05)


def messages_attack() -> object:
    """Error messages with terminal escapes, newlines and a spreadsheet formula."""
    nb = _nb()
    _replace_def(
        nb,
        "sum_variance",
        "def sum_variance(n, var_w, var_x, mean_x=0.0):\n"
        "    raise ValueError('=HYPERLINK(\"http://x\")\\x1b[31m\\r\\n' + 'A' * 100000)",
    )
    _insert(nb, "raise RuntimeError('\\x1b]0;pwned\\x07' + 'B' * 100000)")
    return nb


# ---- one grading run for all of them -----------------------------------------------------------
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    subs = folder / "subs"
    subs.mkdir()
    out = folder / "out"
    out.mkdir()
    grades, book = out / "grades.json", out / "book.csv"
    marker = folder / "escaped.txt"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    port = listener.getsockname()[1]

    files: dict[str, Path] = {}

    def write(name: str, nb, stem: str) -> None:
        path = subs / f"{stem}.ipynb"
        nbformat.write(nb, path)
        files[name] = path

    write("honest_1", _nb(), "03_lecun-alice")
    classmate = subs / "03_lecun-zoe.ipynb"  # graded last: the attacker aims at it
    write("escape", escape_attack(classmate, grades, marker, port), "03_lecun-mallory")
    write("references", references_attack(), "03_lecun-refs")
    write("stubs", stubs_attack(), "03_lecun-stubs")
    write("bad_cells", bad_cells(), "03_lecun-badcell")
    write("slow", slow_notebook(), "03_lecun-slow")
    write("mislabelled", mislabelled(), "04_glorot-bob")
    write("messages", messages_attack(), "03_lecun-msg")
    write("honest_2", _nb(), "03_lecun-zoe")
    secret = folder / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    specials = {
        "fifo": subs / "x_03_lecun.ipynb",
        "symlink_text": subs / "y_03_lecun.ipynb",
        "symlink_classmate": subs / "z_03_lecun.ipynb",
        "folder": subs / "w_03_lecun.ipynb",
    }
    os.mkfifo(specials["fifo"])
    specials["symlink_text"].symlink_to(secret)
    specials["symlink_classmate"].symlink_to(classmate)
    specials["folder"].mkdir()
    before = {name: _digest(p) for name, p in files.items()}
    paths = [*files.values(), *specials.values()]
    cmd = [
        sys.executable, "-m", "course_utils.grade", *map(str, paths),
        "--json", str(grades), "--csv", str(book), "--jobs", "2",
        "--timeout", "3", "--notebook-timeout", "40",
    ]  # fmt: skip
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
    seconds = time.monotonic() - start
    grades_text = grades.read_text() if grades.exists() else ""
    time.sleep(8)  # the attacker's daemon would have written by now
    connections = 0
    try:
        while True:
            listener.accept()[0].close()
            connections += 1
    except BlockingIOError:
        pass
    listener.close()
    leftovers = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if TOKEN.encode() in cmdline and b"pytest" not in cmdline:
                leftovers.append(pid)
    reports = json.loads(grades_text) if grades_text else []
    by_path = {r["submission"]: r for r in reports}
    names = {**{n: str(p) for n, p in files.items()}, **{n: str(p) for n, p in specials.items()}}
    yield {
        "proc": proc,
        "seconds": seconds,
        "reports": {n: by_path.get(p) for n, p in names.items()},
        "grades": grades,
        "grades_text": grades_text,
        "book": book,
        "files": files,
        "before": before,
        "marker": marker,
        "connections": connections,
        "leftovers": leftovers,
        "stdout": proc.stdout,
    }
    for pid in leftovers:  # never leave a busy loop behind, even when the test fails
        try:
            os.kill(int(pid), 9)
        except OSError:
            pass
    for path in (
        _site_packages() / "zz_attack.pth",
        Path.home() / ".ipython" / "profile_default" / "startup" / "00-attack.py",
    ):
        path.unlink(missing_ok=True)


def _q(report: dict, qid: str) -> dict:
    return next(q for q in report["questions"] if q["id"] == qid)


def test_every_submission_gets_a_row_and_the_grader_exits_0(run):
    assert run["proc"].returncode == 0, run["proc"].stderr[-2000:]
    missing = [name for name, r in run["reports"].items() if r is None]
    assert not missing, (missing, run["stdout"][-3000:])


def test_honest_classmates_around_the_attacker_get_full_marks(run):
    for name in ("honest_1", "honest_2"):
        r = run["reports"][name]
        assert (r["status"], r["score"], r["max_score"]) == ("graded", FULL03, FULL03), r


def test_the_kernel_cannot_kill_stop_or_interrupt_its_worker(run):
    """The worker is PID 1 of the sandbox's PID namespace: no process inside can signal it, so
    the attacker's own (correct) answers are still graded, after every attempt above failed."""
    r = run["reports"]["escape"]
    assert r["status"] == "graded" and r["score"] == FULL03, r
    assert "sandbox ended" not in (r["error"] or ""), r


def test_nothing_outside_the_sandbox_changed(run):
    after = {name: _digest(p) for name, p in run["files"].items()}
    assert after == run["before"]  # no submission written, the classmate's included
    assert not run["marker"].exists()
    assert not (_site_packages() / "zz_attack.pth").exists()
    assert not (Path.home() / ".ipython" / "profile_default" / "startup" / "00-attack.py").exists()
    assert run["connections"] == 0  # no network: the host's loopback was not reachable
    assert run["grades"].read_text() == run["grades_text"]  # no daemon rewrote the gradebook
    assert json.loads(run["grades_text"])  # and it was complete when the grader exited
    assert run["leftovers"] == []  # every process of the sandbox is gone


def test_library_references_earn_nothing_however_reached(run):
    r = run["reports"]["references"]
    assert r["status"] == "graded", r
    for qid in ATTACKED:
        assert _q(r, qid)["points"] == 0, _q(r, qid)
    assert "not available while grading" in _q(r, "lecun_uniform")["message"]
    assert "not defined" in _q(r, "sum_variance")["message"]  # no questions module, no solutions


def test_stubs_earn_nothing(run):
    r = run["reports"]["stubs"]
    for qid in ATTACKED:
        assert _q(r, qid)["points"] == 0, _q(r, qid)


def test_one_bad_cell_costs_only_that_cell(run):
    r = run["reports"]["bad_cells"]
    assert r["score"] == FULL03, r
    assert "still busy" in r["error"] and "killed" in r["error"], r["error"]


def test_a_slow_notebook_still_gets_its_functions_graded(run):
    r = run["reports"]["slow"]
    assert r["score"] == FULL03, r
    assert "share" in r["error"], r["error"]


def test_metadata_cannot_choose_a_richer_exercise(run):
    r = run["reports"]["mislabelled"]
    assert r["exercise"] == "04_glorot" and r["max_score"] == FULL04, r
    assert r["score"] <= r["max_score"]
    assert "metadata names exercise '05_he'" in r["error"], r["error"]


def test_fifos_symlinks_and_folders_are_refused_at_once(run):
    for name in ("fifo", "symlink_text", "symlink_classmate", "folder"):
        r = run["reports"][name]
        assert r["status"] == "error" and r["score"] == 0 and "not a regular file" in r["error"], r
    assert "TOP-SECRET-CONTENT" not in run["grades_text"] + run["stdout"]
    assert run["seconds"] < 600  # nothing hung on the FIFO


def test_messages_are_capped_and_printable_and_csv_cells_are_escaped(run):
    r = run["reports"]["messages"]
    texts = [r["error"] or ""] + [q["message"] for q in r["questions"]]
    for text in texts:
        assert len(text) <= 2000 and "\x1b" not in text and "\r" not in text and "\n" not in text
    assert "HYPERLINK" in _q(r, "sum_variance")["message"]
    rows = list(csv.reader(run["book"].open(encoding="utf-8")))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@")) and not cell.startswith("-"), cell


# ---- the display-data flood and the grader's memory ------------------------------------------
def test_output_flood_keeps_the_grader_small(tmp_path):
    """16 display messages of 50 MB, widget state, comm messages, a huge traceback and stdout:
    every kind counts toward the output cap, none is kept, and the grader's own peak memory
    (resident set of the grader process, not the sandbox) stays under 500 MB."""
    nb = _nb()
    _insert(
        nb,
        "from IPython.display import display\n"
        "for _ in range(16):\n"
        "    display({'text/plain': 'x' * 50_000_000}, raw=True)\n"
        "import ipywidgets\n"
        "w = ipywidgets.Text(value='y' * 20_000_000)\n"
        "from ipykernel.comm import Comm\n"
        "Comm(target_name='flood', data={'z': 'z' * 20_000_000})\n"
        "print('p' * 20_000_000)\n"
        "import os\n"
        "os.write(1, b'KERNEL-FD-LEAK')\n"
        "os.write(2, b'KERNEL-FD-LEAK')",
    )
    _insert(nb, "raise ValueError('t' * 20_000_000)", at=3)
    path = tmp_path / "03_lecun-flood.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "grades.json"
    # VmHWM is this process image's own peak; getrusage's ru_maxrss would also count the memory
    # of the pytest worker that forked it (Linux carries maxrss across fork and exec)
    code = (
        "import re, sys\n"
        "from course_utils.grading.cli import main\n"
        f"rc = main([{str(path)!r}, '--json', {str(out)!r}, '--timeout', '240', '--quiet'])\n"
        "status = open('/proc/self/status').read()\n"
        "print('PEAK_KB', re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=900, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the kernel's stdout and stderr (even written to the file descriptors) never get out
    assert "KERNEL-FD-LEAK" not in proc.stdout + proc.stderr and "ppppp" not in proc.stdout
    peak_mb = int(proc.stdout.split("PEAK_KB")[1].split()[0]) / 1024
    print(f"grader peak memory under the display flood: {peak_mb:.0f} MB")
    assert peak_mb < 500
    r = json.loads(out.read_text())[0]
    assert r["score"] == FULL03, r
    assert "characters of output" in r["error"], r["error"]
    total = int(r["error"].split("sent ")[1].split(" characters")[0].replace(",", ""))
    assert total > 16 * 50_000_000 + 60_000_000  # display data plus widget, comm, stdout, error


# ---- --exercise and the refusal without a sandbox -----------------------------------------------
def test_exercise_option_forces_the_exercise_and_flags_disagreement(tmp_path):
    plain = tmp_path / "homework.ipynb"
    nbformat.write(_nb(), plain)
    other = tmp_path / "03_lecun-eve.ipynb"
    nbformat.write(_nb(), other)
    out = tmp_path / "g.json"
    cmd = [sys.executable, "-m", "course_utils.grade", str(plain), str(other), "--json", str(out),
           "--exercise", "04_glorot", "--quiet"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    a, b = json.loads(out.read_text())
    assert a["exercise"] == b["exercise"] == "04_glorot" and a["max_score"] == FULL04
    assert "metadata names exercise '03_lecun'" in a["error"]
    assert "file name points to '03_lecun'" in b["error"]
    bad = subprocess.run(
        [sys.executable, "-m", "course_utils.grade", str(plain), "--exercise", "99_nope"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown exercise" in bad.stderr


def test_references_of_other_packages_are_stubbed_and_their_source_hidden(tmp_path):
    """Exercise 04 forbids ``torch.nn.init.xavier_normal_``: in its sandbox torch still imports
    and ``nn.Linear`` still works, the reference raises, and its source is not readable."""
    pytest.importorskip("torch")
    nb = nbformat.read(ROOT / "solutions" / "04_glorot.ipynb", as_version=4)
    _insert(nb, "import torch\nlin = torch.nn.Linear(3, 3)")
    _insert(nb, "torch.nn.init.xavier_normal_(torch.empty(3, 3))", at=3)
    _insert(
        nb,
        "import inspect\nsrc = inspect.getsource(torch.nn.init)\n"
        "raise RuntimeError('visible' if 'def xavier_normal_(' in src else 'hidden')",
        at=4,
    )
    path = tmp_path / "04_glorot-torch.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "g.json"
    cmd = [sys.executable, "-m", "course_utils.grade", str(path), "--json", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(out.read_text())[0]
    notes = r["error"] or ""
    assert "cell 3 raised" not in notes, notes  # torch and nn.Linear import and run
    assert "xavier_normal_ is not available while grading" in notes, notes
    assert "RuntimeError: hidden" in notes, notes
    assert r["score"] == r["max_score"], r
