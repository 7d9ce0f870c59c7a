"""Two graders on one machine never share a sandbox uid: each job slot leases its uid with an
exclusive flock held for the grader's lifetime (two test workers' slot 0 used to share 61000, so
RLIMIT_NPROC counted both and one grader's cap killed the other's kernel)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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
        subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)  # fmt: skip
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
