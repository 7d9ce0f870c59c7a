"""Grades do not depend on the machine's load (issue 24, item 5).

A bad notebook - a top-level infinite loop and a cell that kills its kernel - next to correct
answers is graded while the test keeps the machine loaded to 4x its cores (8 busy processes on a
2-core machine, started here, bounded to 3 minutes each and killed in a ``finally``). The
correct questions must keep every point: the grader's limits run on the submission's clock
(wall time minus the time the kernel waited for a CPU) and each graded call on the kernel's CPU
time, not on the wall clock that the load stretches.

The notebook is built from the committed solution, reduced to its imports and definitions (the
grader's own :func:`~course_utils.grading.runner.definitions_only`), so the run stays short.
Tight limits (2 s per cell, 1 s per call, 40 s per notebook) make a wall-clock grader fail here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course_utils.grading import questions_for, sandbox
from course_utils.grading.harness import call_one
from course_utils.grading.runner import (
    MAX_STRETCH,
    Limits,
    _Worker,
    definitions_only,
    grade_paths,
    needed_names,
)

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "03_lecun"
BURN = "import time\nt = time.monotonic()\nwhile time.monotonic() - t < 180:\n    pass\n"


def _busy_processes(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(n)]


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def _bad_notebook(folder: Path) -> Path:
    nb = nbformat.read(ROOT / "solutions" / f"{EXERCISE}.ipynb", as_version=4)
    code = [str(c.source) for c in nb.cells if c.cell_type == "code"]
    needed = needed_names(code, [q.name for q in questions_for(EXERCISE)])
    kept = [s for s in (definitions_only(src, needed)[0] for src in code) if s.strip()]
    bad = ["while True:\n    pass", "import os\nos._exit(1)"]
    out = nbformat.v4.new_notebook()
    out.cells = [nbformat.v4.new_code_cell(s) for s in kept[:1] + bad + kept[1:]]
    out.metadata["course"] = {"exercise": EXERCISE}
    path = folder / f"{EXERCISE}-bad.ipynb"
    nbformat.write(out, path)
    return path


@pytest.mark.machine_load
@pytest.mark.skipif(
    sandbox.unavailable_reason() is not None,
    reason=f"no bubblewrap sandbox here: {sandbox.unavailable_reason()}",
)
def test_a_bad_notebook_keeps_every_correct_point_on_a_loaded_machine(tmp_path):
    path = _bad_notebook(tmp_path)
    limits = Limits(cell_timeout=2, notebook_timeout=40, call_timeout=1)
    burners = _busy_processes(4 * (os.cpu_count() or 2))
    try:
        time.sleep(1)
        start = time.monotonic()
        (report,) = grade_paths([path], limits=limits, jobs=1)
        seconds = time.monotonic() - start
        alive = sum(p.poll() is None for p in burners)
    finally:
        _stop(burners)
    r = report.as_dict()
    print(f"graded under {len(burners)} busy processes in {seconds:.0f} s: {r['score']}")
    assert alive == len(burners)  # the load lasted the whole grading
    assert r["status"] == "graded", r
    lost = {q["id"]: q["message"] for q in r["questions"] if q["points"] != q["max_points"]}
    assert not lost, (lost, r["error"])
    assert r["score"] == r["max_score"]
    assert "cell 2 timed out" in r["error"] and "cell 3 killed the kernel" in r["error"], r["error"]


@pytest.mark.machine_load
def test_a_graded_call_is_limited_by_cpu_time_not_wall_time():
    """Under 8 busy processes a call that needs 0.3 s of CPU takes well over 1 s of wall time:
    with the grader's CPU-time limit it still passes; a call that sleeps is stopped by the wall
    backstop, and one that spins by the CPU limit."""

    def work() -> float:
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass
        return 1.0

    burners = _busy_processes(4 * (os.cpu_count() or 2))
    try:
        time.sleep(1)
        wall = time.monotonic()
        loaded = call_one(work, {"args": []}, 1.0, cpu=True, wall_limit=60.0)
        wall = time.monotonic() - wall
        by_wall = call_one(work, {"args": []}, 1.0)  # the old rule: 1 s of wall time
    finally:
        _stop(burners)
    print(f"0.3 s of CPU took {wall:.2f} s of wall time under load")
    assert loaded["ok"], loaded
    # the load is real: the same correct call fails a 1 s wall-time limit
    assert by_wall["error"] == "timeout: took longer than 1 s", by_wall
    slept = call_one(lambda: time.sleep(30), {"args": []}, 1.0, cpu=True, wall_limit=1.5)
    assert not slept["ok"] and slept["error"] == "timeout: took longer than 1.5 s"

    def spin() -> None:
        while True:
            pass

    spun = call_one(spin, {"args": []}, 0.3, cpu=True, wall_limit=60.0)
    assert spun["error"] == "timeout: took longer than 0.3 s of CPU time", spun


def test_the_submission_clock_leaves_out_waiting_for_a_cpu(monkeypatch):
    """``_Worker.now`` = wall time minus the kernel's (and the worker's) run-queue delay, never
    slower than wall / MAX_STRETCH and never backwards."""
    from course_utils.grading import runner

    delays = {"kernel": 0.0}
    monkeypatch.setattr(
        runner, "_run_delay", lambda pid, default: delays["kernel"] if pid == 4242 else 0.0
    )
    wall = {"t": 100.0}
    monkeypatch.setattr(runner.time, "monotonic", lambda: wall["t"])
    worker = _Worker({"output_chars": 1, "interrupt_grace": 1}, out=None)
    worker._pid = 4242
    wall["t"], delays["kernel"] = 110.0, 6.0  # 10 s of wall time, 6 of them waiting for a CPU
    assert worker.now() == pytest.approx(4.0)
    wall["t"] = 130.0  # 20 s more, none of it waiting
    assert worker.now() == pytest.approx(24.0)
    wall["t"], delays["kernel"] = 210.0, 100.0  # the clock never runs backwards
    assert worker.now() == pytest.approx(24.0)
    wall["t"], delays["kernel"] = 400.0, 290.0  # nor slower than wall / MAX_STRETCH
    assert worker.now() == pytest.approx(300.0 / MAX_STRETCH)
