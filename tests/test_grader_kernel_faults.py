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


# A cell that wedges a real ipykernel 7 the first time it runs (stops its shell-channel thread:
# requests are no longer handled, as in the ipykernel 7.3 fault), and does nothing on the rerun.
WEDGE = """import os
if not os.path.exists(".wedged-once"):
    open(".wedged-once", "w").close()
    _t = get_ipython().kernel.shell_channel_thread
    _t.io_loop.add_callback(_t.io_loop.stop)"""


def test_a_wedged_kernel_costs_a_correct_notebook_nothing(tmp_path):
    ipykernel = pytest.importorskip("ipykernel")
    if int(ipykernel.__version__.split(".")[0]) < 7:
        pytest.skip("ipykernel < 7 has no shell-channel thread to stop")
    solution, _ = notebooks("01_symmetry")
    nb = nbformat.read(solution, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first + 1, nbformat.v4.new_code_cell(WEDGE))
    path = tmp_path / "01_symmetry.ipynb"
    nbformat.write(nb, path)
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
    ipykernel = pytest.importorskip("ipykernel")
    if int(ipykernel.__version__.split(".")[0]) < 7:
        pytest.skip("ipykernel < 7 has no shell-channel thread to stop")
    solution, _ = notebooks("01_symmetry")
    nb = nbformat.read(solution, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    always = "_t = get_ipython().kernel.shell_channel_thread\n_t.io_loop.add_callback(_t.io_loop.stop)"
    nb.cells.insert(first + 1, nbformat.v4.new_code_cell(always))
    path = tmp_path / "01_symmetry.ipynb"
    nbformat.write(nb, path)
    report = grade_submission(path, use_sandbox=False, seed=0)
    assert report["status"] == "graded" and report["score"] == report["max_score"], report
    note = report["error"] or ""
    assert f"cell {first + 2} left its kernel unable to answer" in note, note  # 1-based
