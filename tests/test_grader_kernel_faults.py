"""A kernel that stops handling messages is the kernel's fault, not the submission's.

Seen with ipykernel 7.3 on Python 3.10 (about one kernel in ten under the grader): from one
request on, the kernel sits idle and neither a reply nor any output comes. The grader used to wait
out the cell's time limit, interrupt (futile: the kernel is idle), kill the kernel and skip the
cell, so a correct notebook lost the definitions in that cell and the points that needed them. Now
:meth:`_Worker.execute` calls such a request ``lost`` (no "busy" within ``LOST_IOPUB_SECONDS``, or
an execute_reply without the IOPub "idle" for as long) and the notebook runs again on a fresh
kernel, nothing skipped.
"""

from __future__ import annotations

import asyncio
import queue
from pathlib import Path

import nbformat
import pytest
from _grading_helpers import notebooks

from course_utils.grading import runner
from course_utils.grading.runner import _Worker, grade_submission


class _Channels:
    """A kernel manager and client whose kernel receives requests and does what ``mode`` says:
    ``"silent"`` (never begins one), ``"no-idle"`` (replies on the shell channel, sends nothing
    on IOPub) or ``"ok"`` (busy, then idle)."""

    def __init__(self, mode: str):
        self.mode = mode
        self.iopub: list[dict] = []
        self.shell: list[dict] = []

    def execute(self, code, **kwargs):
        msg_id = f"m{len(self.shell) + len(self.iopub)}"
        parent = {"msg_id": msg_id}
        if self.mode in ("no-idle", "ok"):
            self.shell.append({"parent_header": parent, "msg_type": "execute_reply"})
        if self.mode == "ok":
            for state in ("busy", "idle"):
                self.iopub.append({"parent_header": parent, "msg_type": "status",
                                   "content": {"execution_state": state}})  # fmt: skip
        return msg_id

    async def get_iopub_msg(self, timeout=None):
        if self.iopub:
            return self.iopub.pop(0)
        await asyncio.sleep(min(timeout or 0, 0.05))
        raise queue.Empty

    async def get_shell_msg(self, timeout=None):
        if self.shell:
            return self.shell.pop(0)
        raise queue.Empty

    async def is_alive(self):
        return True

    async def interrupt_kernel(self):
        raise AssertionError("an idle kernel that never began the request is not interrupted")

    async def shutdown_kernel(self, now=False):
        pass


@pytest.mark.parametrize("mode", ["silent", "no-idle"])
def test_a_request_the_kernel_never_finishes_on_iopub_is_lost(monkeypatch, mode):
    monkeypatch.setattr(runner, "LOST_IOPUB_SECONDS", 0.3)
    worker = _Worker({"output_chars": 10_000, "interrupt_grace": 1}, out=None)
    fake = _Channels(mode)
    status, errors, answers = asyncio.run(worker.execute(fake, fake, "x = 1", timeout=60))
    assert (status, errors, answers) == ("lost", [], [])


def test_a_kernel_that_answers_is_not_lost(monkeypatch):
    monkeypatch.setattr(runner, "LOST_IOPUB_SECONDS", 0.3)
    worker = _Worker({"output_chars": 10_000, "interrupt_grace": 1}, out=None)
    fake = _Channels("ok")
    assert asyncio.run(worker.execute(fake, fake, "x = 1", timeout=60))[0] == "ok"


# Stopping a real ipykernel 7's shell-channel thread wedges it as the ipykernel 7.3 fault does:
# requests are no longer handled. ONCE does it the first time only (a marker in the home folder,
# which lives as long as the submission's grading), ALWAYS on every run.
STOP = "_t = get_ipython().kernel.shell_channel_thread\n_t.io_loop.add_callback(_t.io_loop.stop)"
ONCE = """import os
if not os.path.exists(".wedged-once"):
    open(".wedged-once", "w").close()
""" + "".join(f"    {line}\n" for line in STOP.splitlines())


def _solution_with(tmp_path, source: str) -> tuple[Path, int]:
    """Solution 01 with a code cell ``source`` after its first code cell: the file and the new
    cell's index in the notebook."""
    ipykernel = pytest.importorskip("ipykernel")
    if int(ipykernel.__version__.split(".")[0]) < 7:
        pytest.skip("ipykernel < 7 has no shell-channel thread to stop")
    solution, _ = notebooks("01_symmetry")
    nb = nbformat.read(solution, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code") + 1
    nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    path = tmp_path / "01_symmetry.ipynb"
    nbformat.write(nb, path)
    return path, index


def test_a_wedged_kernel_costs_a_correct_notebook_nothing(tmp_path):
    path, _ = _solution_with(tmp_path, ONCE)
    copy = path.read_bytes()
    # the worker is a process of its own: the fault is noticed after LOST_IOPUB_SECONDS (10 s)
    report = grade_submission(path, use_sandbox=False, seed=0)
    assert path.read_bytes() == copy  # the submission is never modified
    assert report["status"] == "graded" and report["score"] == report["max_score"], report
    note = report["error"] or ""
    assert "kernel fault" in note and "skipped" not in note.replace("nothing skipped", ""), note


def test_a_cell_that_always_wedges_its_kernel_is_the_one_skipped(tmp_path):
    """A cell that leaves its kernel unable to answer every time it runs: the next cell is lost
    twice, so the cell before it (the culprit) is skipped on a fresh kernel and the rest of the
    notebook is graded in full; the note names the culprit, not its victim."""
    path, index = _solution_with(tmp_path, STOP)
    report = grade_submission(path, use_sandbox=False, seed=0)
    assert report["status"] == "graded" and report["score"] == report["max_score"], report
    note = report["error"] or ""
    assert f"cell {index + 1} left its kernel unable to answer" in note, note  # 1-based
