"""The sandbox's bounds, for a grader run by root and by an ordinary user (issue 21, item 4).

* HOME and /tmp are tmpfs mounts with a size cap: a notebook that fills them stops at the cap, and
  nothing of the submission is written to the host's disk;
* cleanup never raises: a folder tree 1,500 deep (no sandbox) is removed and the result kept;
* a sandbox-wide memory and process cap (cgroup v2 or v1 where the grader can create one);
* the kernel can neither ptrace its worker, nor open its /proc entries (fd, mem, environ), nor
  signal it, whether the grader runs as root or as an ordinary user (``nobody``).

Every hostile notebook is built here, from a cell of the committed solution that defines a graded
function (so a correct answer is graded next to the probes) plus probe cells that report what
they saw by raising ``RuntimeError("TAG ...")``: the report's notes carry the text back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from course_utils.grading import sandbox
from course_utils.grading.runner import Limits, grade_paths

ROOT = Path(__file__).resolve().parents[1]
SOL03 = ROOT / "solutions" / "03_lecun.ipynb"
MiB = 2**20

pytestmark = pytest.mark.skipif(
    sandbox.unavailable_reason() is not None,
    reason=f"no bubblewrap sandbox here: {sandbox.unavailable_reason()}",
)

# ---- probe cells --------------------------------------------------------------------------------
FILL = """
import errno, os
def _fill(folder):
    written, err = 0, None
    try:
        for i in range(10_000):
            with open(os.path.join(folder, f"fill{i}.bin"), "wb") as fh:
                for _ in range(16):
                    fh.write(b"x" * 2**20)
                    fh.flush()
                    written += 1
    except OSError as e:
        err = errno.errorcode.get(e.errno, e.errno)
    for name in os.listdir(folder):
        if name.startswith("fill"):
            os.unlink(os.path.join(folder, name))
    return written, err
_h, _t = _fill(os.path.expanduser("~")), _fill("/tmp")
raise RuntimeError(f"BOUNDS home={_h[0]} {_h[1]} tmp={_t[0]} {_t[1]} "
                   f"sub={os.path.isfile('submission.ipynb')} cwd={os.getcwd()}")
"""

PROC = """
import ctypes, os, signal
_libc = ctypes.CDLL(None, use_errno=True)
def _probe(pid):
    res = []
    def t(label, fn):
        try:
            fn()
            res.append(label + "=OPEN")
        except OSError as e:
            res.append(f"{label}=E{e.errno}")
    t("fd1w", lambda: os.close(os.open(f"/proc/{pid}/fd/1", os.O_WRONLY)))
    t("fd", lambda: os.listdir(f"/proc/{pid}/fd"))
    def mem():
        fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
        try:
            start = int(open(f"/proc/{pid}/maps").read().split("-")[0], 16)
            os.lseek(fd, start, 0)
            os.read(fd, 16)
        finally:
            os.close(fd)
    t("mem", mem)
    t("environ", lambda: open(f"/proc/{pid}/environ", "rb").read())
    if _libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
        os.waitpid(pid, 0)
        _libc.ptrace(17, pid, None, None)
        res.append("ptrace=ATTACHED")
    else:
        res.append(f"ptrace=E{ctypes.get_errno()}")
    return ",".join(res)
_worker = os.getppid()
_seen = _probe(_worker)
for _sig in (signal.SIGSTOP, signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
    try:
        os.kill(_worker, _sig)
    except OSError:
        pass
raise RuntimeError(f"PROC worker={_worker} {_seen} uid={os.getuid()}")
"""

PIDS = """
import os, time
_kids, _err = [], None
try:
    for _ in range(400):
        _pid = os.fork()
        if _pid == 0:
            time.sleep(3)
            os._exit(0)
        _kids.append(_pid)
except OSError as e:
    _err = e.errno
for _k in _kids:
    os.waitpid(_k, 0)
raise RuntimeError(f"PIDS {len(_kids)} E{_err}")
"""

MEMORY = """
import subprocess, sys
_code = "b = bytearray(200 * 2**20)\\nimport time\\ntime.sleep(3)"
_ps = [subprocess.Popen([sys.executable, "-c", _code]) for _ in range(5)]
raise RuntimeError(f"MEM {[p.wait() for p in _ps]}")
"""

DEEP = """
import os
_fd = os.open(".", os.O_RDONLY)
for _ in range(1500):
    os.mkdir("d", dir_fd=_fd)
    _next = os.open("d", os.O_RDONLY, dir_fd=_fd)
    os.close(_fd)
    _fd = _next
os.close(_fd)
"""


def _honest_cells() -> list:
    """The solution's first code cell (imports) and the cell defining fan_in_and_fan_out."""
    nb = nbformat.read(SOL03, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    defining = [c for c in code if c.source.lstrip().startswith("def fan_in_and_fan_out(")]
    assert len(defining) == 1
    return [code[0], defining[0]]


def _notebook(folder: Path, name: str, *probes: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = _honest_cells() + [nbformat.v4.new_code_cell(p.strip()) for p in probes]
    nb.metadata["course"] = {"exercise": "03_lecun"}
    path = folder / f"03_lecun-{name}.ipynb"
    nbformat.write(nb, path)
    path.chmod(0o644)
    return path


def _tag(report: dict, tag: str) -> str:
    found = re.search(rf"RuntimeError: {tag} ([^;]*)", report["error"] or "")
    assert found, (tag, report["error"])
    return found.group(1)


def _fan(report: dict) -> dict:
    return next(q for q in report["questions"] if q["id"] == "fan_in_and_fan_out")


# ---- a grader run by root ---------------------------------------------------------------------
CAPS = {"home_bytes": 48 * MiB, "tmp_bytes": 32 * MiB}


@pytest.fixture(scope="module")
def as_root(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the grader runs as an ordinary user here (see the `as_nobody` tests)")
    folder = tmp_path_factory.mktemp("bounds")
    paths = {
        "bounds": _notebook(folder, "bounds", FILL, PROC),
        "caps": _notebook(folder, "caps", PIDS, MEMORY),
    }
    private = folder / "tmp"  # the grader's own temporary files go here: watched below
    private.mkdir()
    saved, tempfile.tempdir = tempfile.tempdir, str(private)
    limits = Limits(
        cell_timeout=60, notebook_timeout=240, sandbox_memory_bytes=512 * MiB,
        sandbox_processes=48, **CAPS,
    )  # fmt: skip
    start = time.monotonic()
    try:
        reports = grade_paths(list(paths.values()), limits=limits, jobs=2)
    finally:
        tempfile.tempdir = saved
    return {
        "reports": {n: r.as_dict() for n, r in zip(paths, reports, strict=True)},
        "grader_tmp": sorted(p.name for p in private.iterdir()),
        "seconds": time.monotonic() - start,
    }


def test_home_and_tmp_are_capped_in_memory_and_hold_only_the_submission(as_root):
    r = as_root["reports"]["bounds"]
    home, home_err, tmp, tmp_err, sub, cwd = _tag(r, "BOUNDS").split()
    cap_home, cap_tmp = CAPS["home_bytes"] // MiB, CAPS["tmp_bytes"] // MiB
    assert home_err == "ENOSPC" and tmp_err == "ENOSPC", r["error"]
    assert int(home.split("=")[1]) <= cap_home and int(tmp.split("=")[1]) <= cap_tmp
    assert int(home.split("=")[1]) >= cap_home - 4  # the cap, not some other limit, stopped it
    assert sub == "sub=True" and cwd == f"cwd={sandbox.HOME}"
    assert as_root["grader_tmp"] == []  # no home on the host's disk, the views removed
    assert _fan(r)["passed"], _fan(r)


def test_root_graders_kernel_cannot_reach_its_worker(as_root):
    r = as_root["reports"]["bounds"]
    seen = _tag(r, "PROC")
    print("root grader, the kernel's view of its worker:", seen)
    assert "worker=1 " in seen  # the worker is PID 1 of the sandbox
    for probe in ("fd1w", "fd", "mem", "environ"):
        assert f"{probe}=E13" in seen, seen  # EACCES
    assert "ptrace=E1" in seen, seen  # EPERM
    assert _fan(r)["passed"]  # SIGSTOP, SIGINT, SIGTERM, SIGKILL did nothing to the worker


@pytest.mark.skipif(
    sandbox.cgroup_support() == "per-process limits only",
    reason="this grader cannot create a cgroup: only the per-process limits hold",
)
def test_sandbox_wide_memory_and_process_caps(as_root):
    r = as_root["reports"]["caps"]
    pids = _tag(r, "PIDS").split()
    print("cgroup:", sandbox.cgroup_support(), "pids:", pids, "notes:", r["error"])
    assert pids[1] == "E11" and int(pids[0]) < 48, pids  # EAGAIN at the sandbox's pids cap
    # 5 x 200 MB in a 512 MB sandbox: the cap killed some of them, or the kernel itself
    if "RuntimeError: MEM" in (r["error"] or ""):
        assert -9 in [int(x) for x in re.findall(r"-?\d+", _tag(r, "MEM"))], r["error"]
    else:
        assert "killed the kernel" in r["error"], r["error"]
    assert "memory cap" in r["error"], r["error"]
    assert _fan(r)["passed"]


def test_cgroups_are_removed_afterwards(as_root):
    own = sandbox._own_cgroups()
    for point, fstype, opts in sandbox._mounts():
        key = (
            "" if fstype == "cgroup2" else next((c for c in ("memory", "pids") if c in opts), None)
        )
        if key is None or key not in own:
            continue
        base = Path(point) / own[key].lstrip("/")
        left = [p.name for p in base.glob(f"course-grade-{os.getpid()}-*")]
        assert not left, left


# ---- cleanup that cannot raise ------------------------------------------------------------------
def test_remove_tree_handles_depth_links_and_locked_folders(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep", encoding="utf-8")
    tree = tmp_path / "tree"
    tree.mkdir()
    fd = os.open(tree, os.O_RDONLY)
    for i in range(1500):
        os.mkdir("d", dir_fd=fd)
        nxt = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nxt
        if i % 300 == 0:
            os.symlink(str(outside), "link", dir_fd=fd)
            os.symlink(str(tmp_path), "up", dir_fd=fd)
    os.close(fd)
    (tree / "locked").mkdir()
    (tree / "locked" / "f").write_text("x", encoding="utf-8")
    (tree / "locked").chmod(0)
    assert sandbox.remove_tree(tree) is True
    assert not tree.exists() and outside.read_text(encoding="utf-8") == "keep"
    assert sandbox.remove_tree(tree) is True  # nothing there: still no error


def test_a_deep_tree_in_the_home_costs_no_result(tmp_path):
    """Without a sandbox the home is a host folder: a 1,500-deep tree in it is removed and the
    judged result is kept (it used to become an error row, its files left on disk)."""
    path = _notebook(tmp_path, "deep", DEEP)
    private = tmp_path / "tmp"
    private.mkdir()
    saved, tempfile.tempdir = tempfile.tempdir, str(private)
    try:
        (report,) = grade_paths([path], limits=Limits(cell_timeout=60), use_sandbox=False)
    finally:
        tempfile.tempdir = saved
    r = report.as_dict()
    assert r["status"] == "graded" and _fan(r)["passed"], r
    assert list(private.iterdir()) == []  # the home (and its tree) removed


# ---- a grader run by an ordinary user --------------------------------------------------------
def _blocked_ancestors(paths: list[Path]) -> dict[Path, set[str]]:
    """Folders on the way to ``paths`` that other users cannot search, with the names of their
    children that lead to ``paths``."""
    out: dict[Path, set[str]] = {}
    for path in paths:
        chain = [*reversed(path.parents), path]
        for parent, child in zip(chain, chain[1:], strict=False):
            if not parent.stat().st_mode & 0o001:
                out.setdefault(parent, set()).add(child.name)
    return out


def in_searchable_namespace(argv: list[str], user: str | None = None) -> list[str] | None:
    """``argv`` run (as ``user``, else as root) in a private mount namespace where the folders
    holding Python, the virtual environment and the course are searchable by every user (an
    empty tmpfs is mounted over each folder that is not, with only the needed children bound
    back; the host's folders are untouched). None when that cannot be arranged here."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        return None
    needed = [Path(sys.executable).resolve(), Path(sys.prefix).resolve(), ROOT]
    needed += [Path(sys.base_prefix).resolve()]
    blocked = _blocked_ancestors(needed)
    lines = ["set -e", "stage=$(mktemp -d)"]
    for n, (folder, children) in enumerate(sorted(blocked.items())):
        if folder == Path("/") or any(folder in other.parents for other in blocked):
            return None
        for m, child in enumerate(sorted(children)):
            lines.append(f'mkdir "$stage/{n}_{m}"')
            lines.append(f'mount --bind "{folder / child}" "$stage/{n}_{m}"')
        lines.append(f'mount -t tmpfs -o mode=755 tmpfs "{folder}"')
        for m, child in enumerate(sorted(children)):
            lines.append(f'mkdir "{folder / child}"')
            lines.append(f'mount --bind "$stage/{n}_{m}" "{folder / child}"')
    if user is not None:
        lines.append(f'exec setpriv --reuid={user} --regid=nogroup --clear-groups -- "$@"')
    else:
        lines.append('exec "$@"')
    script = "\n".join(lines)
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", *argv]


def _as_nobody(argv: list[str]) -> list[str] | None:
    return in_searchable_namespace(argv, "nobody")


NOBODY_SCRIPT = """
import json, sys
from pathlib import Path
from course_utils.grading.runner import Limits, grade_paths
limits = Limits(cell_timeout=60, notebook_timeout=240, processes=40, **json.loads(sys.argv[2]))
reports = grade_paths([Path(p) for p in sys.argv[3:]], limits=limits, jobs=2)
Path(sys.argv[1]).write_text(json.dumps([r.as_dict() for r in reports]))
"""


@pytest.fixture(scope="module")
def as_nobody():
    folder = Path(tempfile.mkdtemp(prefix="course-grade-nobody-"))
    try:
        folder.chmod(0o777)
        paths = [_notebook(folder, "bounds", FILL, PROC), _notebook(folder, "caps", PIDS)]
        out = folder / "out.json"
        script = folder / "grade.py"
        script.write_text(NOBODY_SCRIPT, encoding="utf-8")
        script.chmod(0o644)
        argv = [
            "env", f"HOME={folder}", f"MPLCONFIGDIR={folder}/mpl", "PYTHONDONTWRITEBYTECODE=1",
            sys.executable, str(script), str(out), json.dumps(CAPS), *map(str, paths),
        ]  # fmt: skip
        cmd = _as_nobody(argv)
        if cmd is None:
            pytest.skip("cannot run the grader as `nobody` here (needs root, unshare and setpriv)")
        probe = subprocess.run(
            _as_nobody([sys.executable, "-c", "from course_utils.grading import sandbox; "
                        "print(sandbox.unavailable_reason())"]),
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )  # fmt: skip
        if probe.returncode != 0 or probe.stdout.strip() != "None":
            pytest.skip(f"no sandbox for `nobody` here: {(probe.stdout + probe.stderr)[-300:]}")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-3000:]
        bounds, caps = json.loads(out.read_text())
        yield {"bounds": bounds, "caps": caps}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_nobody_graders_kernel_cannot_reach_its_worker(as_nobody):
    """Kernel and worker share a uid here: the worker is non-dumpable and PID 1, so the kernel
    cannot write to its event pipe, read its memory, ptrace it or signal it."""
    r = as_nobody["bounds"]
    seen = _tag(r, "PROC")
    print("ordinary-user grader, the kernel's view of its worker:", seen)
    assert "uid=65534" in seen and "worker=1 " in seen, seen
    for probe in ("fd1w", "fd", "mem", "environ"):
        assert f"{probe}=E13" in seen, seen
    assert "ptrace=E1" in seen, seen
    assert _fan(r)["passed"], r


def test_nobody_grader_has_capped_home_tmp_and_processes(as_nobody):
    home, home_err, tmp, tmp_err, sub, _cwd = _tag(as_nobody["bounds"], "BOUNDS").split()
    assert (home_err, tmp_err, sub) == ("ENOSPC", "ENOSPC", "sub=True")
    assert int(home.split("=")[1]) <= CAPS["home_bytes"] // MiB
    assert int(tmp.split("=")[1]) <= CAPS["tmp_bytes"] // MiB
    pids = _tag(as_nobody["caps"], "PIDS").split()
    print("ordinary-user grader, processes before the cap:", pids)
    if not sandbox.nproc_is_per_namespace():
        pytest.skip("Linux < 5.14: RLIMIT_NPROC would count the user's own processes")
    assert pids[1] == "E11" and int(pids[0]) < 40, pids  # RLIMIT_NPROC in the sandbox's userns
    assert _fan(as_nobody["caps"])["passed"]
