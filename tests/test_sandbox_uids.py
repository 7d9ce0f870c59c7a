"""Two graders on one machine never share a sandbox uid: each job slot leases its uid with an
exclusive flock held for the grader's lifetime (two test workers' slot 0 used to share 61000, so
RLIMIT_NPROC counted both and one grader's cap killed the other's kernel)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from course_utils.grading import sandbox


def test_each_process_and_slot_gets_its_own_uid():
    code = textwrap.dedent(
        """
        import sys, time
        from course_utils.grading import sandbox
        print(sandbox.lease_uid(0), sandbox.lease_uid(1), sandbox.lease_uid(0), flush=True)
        sys.stdin.read()  # hold the leases until the test closes stdin
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )  # fmt: skip
        for _ in range(3)
    ]
    try:
        rows = [list(map(int, p.stdout.readline().split())) for p in procs]
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(timeout=30)
    uids = [u for row in rows for u in row[:2]]
    assert all(row[0] == row[2] for row in rows)  # a slot keeps its uid in one grader
    assert len(set(uids)) == len(uids) == 6, rows  # no two slots of any graders share one
    lo, hi = sandbox.SANDBOX_UID, sandbox.SANDBOX_UID + sandbox.UID_RANGE
    assert all(lo <= u < hi for u in uids)
    # the leases end with their processes: a new grader can take the lowest uid again
    again = subprocess.run([sys.executable, "-c", "from course_utils.grading import sandbox;"
                            "print(sandbox.lease_uid(0))"], capture_output=True, text=True)  # fmt: skip
    assert int(again.stdout) <= min(uids)


def test_a_grader_without_the_sandbox_leases_its_uid_too(monkeypatch, tmp_path):
    """--no-sandbox used a fixed uid (61000 + slot) that a sandboxed grader on the same machine
    could lease at the same time: in CI a test worker's kernel then died before it replied."""
    import asyncio
    import shutil
    from pathlib import Path

    import numpy as np

    from course_utils.grading import runner

    seen = []

    async def fake_worker(job, **kwargs):
        seen.append(job["uid"])
        return None

    monkeypatch.setattr(runner, "_run_worker", fake_worker)
    monkeypatch.setattr(sandbox, "lease_uid", lambda slot: 64321 + slot)
    sub = tmp_path / "01_symmetry.ipynb"
    shutil.copy(Path(__file__).resolve().parents[1] / "exercises" / "01_symmetry.ipynb", sub)
    for use_sandbox in (False, True):
        asyncio.run(
            runner.grade_submission_async(
                sub, runner.Limits(), np.random.default_rng(0), use_sandbox=use_sandbox, slot=2
            )
        )
    assert seen == [64323, 64323]


def test_a_kernel_that_dies_before_it_answers_is_started_again(monkeypatch):
    """A kernel that never ran a line of the submission is started again (up to
    START_ATTEMPTS times) rather than the submission graded 0; the last failure is raised."""
    import asyncio

    from course_utils.grading import runner

    worker = runner._Worker({"output_chars": 1, "interrupt_grace": 1}, out=None)
    calls = []

    async def flaky(cwd, env):
        calls.append(cwd)
        if len(calls) < runner.START_ATTEMPTS:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return "km", "kc"

    monkeypatch.setattr(worker, "start", flaky)
    real_sleep = asyncio.sleep
    monkeypatch.setattr(runner.asyncio, "sleep", lambda seconds: real_sleep(0))
    assert asyncio.run(worker.start_retrying("/x", {})) == ("km", "kc")
    assert len(calls) == runner.START_ATTEMPTS

    calls.clear()

    async def dead(cwd, env):
        calls.append(cwd)
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(worker, "start", dead)
    with pytest.raises(RuntimeError, match="kernel_info"):
        asyncio.run(worker.start_retrying("/x", {}))
    assert len(calls) == runner.START_ATTEMPTS


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root grader changes uid")
def test_kill_unleased_kills_what_a_finished_grader_left_and_spares_a_working_one():
    """The autograder's clean-up after a grader without the sandbox: processes of a sandbox uid
    whose lease is free are killed; those of a uid a grader still holds are not."""
    import time

    from course_utils.grading import runner

    free, held = (
        sandbox.SANDBOX_UID + sandbox.UID_RANGE - 1,
        sandbox.SANDBOX_UID + sandbox.UID_RANGE - 2,
    )
    lock = sandbox.try_lock_uid(held)
    assert lock is not None
    procs = []
    try:
        for uid in (free, held):
            procs.append(subprocess.Popen(["sleep", "60"], user=uid, group=uid))
        time.sleep(0.2)
        killed = runner.kill_unleased()
        assert killed.get(free) == 1 and held not in killed, killed
        assert procs[0].wait(timeout=10) == -9
        assert procs[1].poll() is None
    finally:
        for p in procs:
            p.kill()
            p.wait()
        os.close(lock)
