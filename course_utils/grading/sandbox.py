"""A bubblewrap sandbox per submission, and the view of ``course_utils`` that it sees.

The grader runs each submission's worker (which starts the Jupyter kernel and drives it, see
:mod:`course_utils.grading.runner`) with :func:`command`:

* ``bwrap`` (Debian/Ubuntu package ``bubblewrap``) with new PID, network, IPC, UTS and cgroup
  namespaces (no network at all, only a private loopback), ``--die-with-parent`` and a new terminal
  session; every process of the sandbox dies with it (PID 1 of the namespace is bwrap's reaper);
* a root made of read-only binds: ``/usr`` (and the ``/bin``, ``/lib`` links), ``/etc``, the
  Python installation, the virtual environment, and the *view* of ``course_utils`` built by
  :func:`build_view`; a home and a ``/tmp`` that are size-capped tmpfs mounts (:data:`HOME_BYTES`,
  :data:`TMP_BYTES`: in memory, nothing on the host's disk); the worker copies the submission into
  the home. The course repository itself (``solutions/``, ``.git``, other submissions, the
  grader's output files) is not mounted;
* the worker is PID 1 of the namespace (``--as-pid-1``: no bwrap process inside holds its event
  pipe) and makes itself non-dumpable, so the kernel, even under the same uid, can neither ptrace
  it, open its ``/proc`` entries, nor signal it (PID 1 only gets the signals it handles);
* the worker drops to an unprivileged uid (:data:`SANDBOX_UID` + the job slot) before it runs any
  submitted code when the grader runs as root, and applies the resource limits of
  :func:`rlimits` (memory, processes, file size, CPU time, open files, no core dumps);
* a sandbox-wide memory and process cap (:class:`Cgroup`): a cgroup v2 child where the grader can
  create one with the ``memory`` and ``pids`` controllers, else cgroup v1 ``memory`` and ``pids``
  children, else only the per-process limits (:func:`cgroup_support` says which).

The view replaces every object that a question of the exercise lists in ``forbidden=`` by a stub
that raises ``RuntimeError("<name> is not available while grading")``, at the *source* level (the
original definition is not in the file the kernel can read, and no ``.pyc`` of it is visible), and
``course_utils.grading.questions`` by a package whose import raises the same error.
"""

from __future__ import annotations

import ast
import compileall
import functools
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

UNAVAILABLE = "not available while grading"
SANDBOX_UID = 61000  # the first of the unprivileged uids a sandbox runs as (see lease_uid)
UID_RANGE = 1000  # sandboxes lease uids SANDBOX_UID .. SANDBOX_UID + UID_RANGE - 1
HOME = "/home/student"
HOME_BYTES = 256 * 2**20  # the sandbox's home is a tmpfs (in memory), capped
TMP_BYTES = 256 * 2**20  # so is its /tmp
SANDBOX_MEMORY = 4 * 2**30  # every process of one sandbox together (cgroup), tmpfs pages included
SANDBOX_PIDS = 512  # processes and threads of one sandbox together (cgroup)
FIX = (
    "the grader runs every submission in a bubblewrap sandbox, and none is available here: "
    "install it with `sudo apt-get install bubblewrap` (Debian/Ubuntu; `make sandbox` does it) "
    "or `sudo dnf install bubblewrap` (Fedora). Without it (macOS, Windows) only `--no-sandbox` "
    "works, which is meant for a student grading their own notebook, never for a class"
)

STUB_HELPER = '''
class _CourseGradingUnavailable:
    """Stands in for a graded reference while grading: any use raises."""

    __slots__ = ("_name",)

    def __init__(self, name):
        object.__setattr__(self, "_name", name)

    def _fail(self, *args, **kwargs):
        raise RuntimeError(f"{self._name} is not available while grading")

    __call__ = __getitem__ = __iter__ = __len__ = __contains__ = _fail

    @property
    def __name__(self):  # code that wraps the reference (deprecation aliases) still imports
        return self._name.rpartition(".")[2]

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self._fail()

    def __repr__(self):
        return f"<{self._name}: not available while grading>"

'''

QUESTIONS_STUB = (
    '"""Not available while grading."""\n'
    'raise ImportError("course_utils.grading.questions is not available while grading")\n'
)


class SandboxUnavailable(RuntimeError):
    """No working bubblewrap: the message names the fix."""


# ------------------------------------------------------------------------------------------------
# is bubblewrap usable here?
# ------------------------------------------------------------------------------------------------
def bwrap_path() -> str | None:
    """Path of the ``bwrap`` executable, or None."""
    found = shutil.which("bwrap")
    if found:
        return found
    return "/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None


@functools.lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """None when a sandbox can be started here; otherwise why not, with the fix."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux (this is {sys.platform}); {FIX}"
    if os.environ.get("COURSE_GRADING_NO_BWRAP") == "1":  # to test the paths without a sandbox
        return f"bubblewrap is turned off here (COURSE_GRADING_NO_BWRAP=1); {FIX}"
    exe = bwrap_path()
    if exe is None:
        return f"`bwrap` was not found; {FIX}"
    probe = [exe, *_namespace_args(), *_root_args(), "--", "/bin/true"]
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"`bwrap` could not start ({err}); {FIX}"
    if proc.returncode != 0:
        detail = (proc.stderr or "").strip().splitlines()[:1]
        return (
            f"`bwrap` is installed but cannot create a sandbox here ({' '.join(detail)}): "
            "unprivileged user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone "
            "or an AppArmor policy); run the grader as root or allow them"
        )
    return None


def require() -> None:
    """Raise :class:`SandboxUnavailable` (naming the fix) when no sandbox can be started."""
    reason = unavailable_reason()
    if reason:
        raise SandboxUnavailable(reason)


# ------------------------------------------------------------------------------------------------
# the view of course_utils
# ------------------------------------------------------------------------------------------------
def module_file(module: str) -> Path | None:
    """Source file of ``module`` found on ``sys.path`` without importing it (None if absent)."""
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    if not spec.submodule_search_locations:
        return None
    base = Path(list(spec.submodule_search_locations)[0])
    for i, part in enumerate(rest):
        last = i == len(rest) - 1
        if (base / part / "__init__.py").is_file():
            if last:
                return base / part / "__init__.py"
            base = base / part
        elif last and (base / f"{part}.py").is_file():
            return base / f"{part}.py"
        else:
            return None
    return None


def split_forbidden(name: str) -> tuple[str, str] | None:
    """``"pkg.mod.attr"`` -> ``("pkg.mod", "attr")`` for the longest importable module prefix."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        if module_file(module) is not None:
            return module, ".".join(parts[cut:])
    return None


def _defined_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def stub_source(text: str, module: str, names: Iterable[str]) -> str:
    """``text`` (a module's source) with each top-level definition of ``names`` replaced by a
    stub that raises "not available while grading"; the names are bound to stubs again at the end
    so re-exports and later assignments cannot bring the original back."""
    names = sorted({n for n in names if n.isidentifier()})
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    insert_at = 0  # after the docstring and `from __future__` imports
    for node in tree.body:
        is_doc = isinstance(node, ast.Expr) and isinstance(
            getattr(node, "value", None), ast.Constant
        )
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if (is_doc and insert_at == 0) or is_future:
            insert_at = node.end_lineno or insert_at
        else:
            break
    spans: list[tuple[int, int, list[str]]] = []
    for node in tree.body:
        hit = _defined_names(node) & set(names)
        if not hit:
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        spans.append((start, node.end_lineno or node.lineno, sorted(hit)))
    out: list[str] = []
    line_no = 1
    for start, end, hit in sorted(spans):
        out.extend(lines[line_no - 1 : start - 1])
        out.extend(f"{n} = _CourseGradingUnavailable({module + '.' + n!r})\n" for n in hit)
        line_no = end + 1
    out.extend(lines[line_no - 1 :])
    # the helper goes after the docstring / future imports (line numbers before it unchanged)
    head = "".join(lines[:insert_at])
    body = "".join(out)[len(head) :] if "".join(out).startswith(head) else "".join(out)
    tail = "".join(f"{n} = _CourseGradingUnavailable({module + '.' + n!r})\n" for n in names)
    return head + STUB_HELPER + body + "\n# not available while grading\n" + tail


@dataclass
class View:
    """A built view: the package folder to mount over ``course_utils`` and extra file binds."""

    root: Path
    package: Path  # the view's course_utils folder
    target: Path  # where the real course_utils lives (mounted over in the sandbox)
    binds: list[tuple[Path, Path]] = field(default_factory=list)  # (view file, real file)
    stubbed: list[str] = field(default_factory=list)


def build_view(forbidden: Iterable[str], dest: Path) -> View:
    """Build in ``dest`` a copy of ``course_utils`` with ``forbidden`` objects stubbed.

    Objects of other packages (``torch.nn.init.xavier_normal_``) are stubbed in a copy of their
    module file that the sandbox mounts over the original, and the original's ``.pyc`` files are
    hidden behind empty files.
    """
    import course_utils

    real = Path(course_utils.__file__).resolve().parent
    dest.mkdir(parents=True, exist_ok=True)
    package = dest / "course_utils"
    if package.exists():
        shutil.rmtree(package)
    shutil.copytree(real, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    questions = package / "grading" / "questions"
    if questions.exists():
        shutil.rmtree(questions)
    questions.mkdir()
    (questions / "__init__.py").write_text(QUESTIONS_STUB, encoding="utf-8")
    view = View(dest, package, real)
    by_module: dict[str, set[str]] = {}
    for name in forbidden:
        split = split_forbidden(name)
        if split is None:  # the package is not installed: nothing to hide
            continue
        module, attr = split
        by_module.setdefault(module, set()).add(attr.split(".")[0])
        view.stubbed.append(name)
    empty = dest / "empty"
    empty.write_bytes(b"")
    for n, (module, attrs) in enumerate(sorted(by_module.items())):
        original = module_file(module)
        assert original is not None
        source = stub_source(original.read_text(encoding="utf-8"), module, attrs)
        if module == "course_utils" or module.startswith("course_utils."):
            file = package / original.resolve().relative_to(real)
            file.write_text(source, encoding="utf-8")
            continue
        copy = dest / "overrides" / f"{n}_{original.name}"
        copy.parent.mkdir(exist_ok=True)
        copy.write_text(source, encoding="utf-8")
        view.binds.append((copy, original))
        for pyc in sorted((original.parent / "__pycache__").glob(f"{original.stem}.*.pyc")):
            view.binds.append((empty, pyc))
    compileall.compile_dir(str(package), quiet=2, workers=1)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return view


# ------------------------------------------------------------------------------------------------
# the bwrap command line
# ------------------------------------------------------------------------------------------------
def _namespace_args() -> list[str]:
    args = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "grading"]
    args += ["--as-pid-1"]  # the worker is PID 1: no bwrap process inside the sandbox
    if os.geteuid() != 0:  # an ordinary user: bwrap needs a user namespace of its own
        args.insert(0, "--unshare-user")
    return args


def _root_args(tmp_bytes: int = TMP_BYTES) -> list[str]:
    args: list[str] = []
    for top in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(int(tmp_bytes)), "--tmpfs", "/tmp"]
    return args


def _dirs_for(target: Path, made: set[str]) -> list[str]:
    """``--dir`` for every missing ancestor (bwrap would make them mode 0700 otherwise)."""
    args = []
    for parent in reversed(target.parents):
        p = str(parent)
        if p in ("/", "/usr", "/etc", "/tmp", "/proc", "/dev") or p.startswith(("/usr/", "/etc/")):
            continue
        if p not in made:
            made.add(p)
            args += ["--perms", "0755", "--dir", p]
    return args


def python_roots() -> list[Path]:
    """Folders the sandbox needs for Python: the installation and the virtual environment."""
    roots = []
    for p in (sys.base_prefix, sys.prefix, sys.exec_prefix):
        path = Path(p).resolve()
        if path not in roots and not str(path).startswith(("/usr/", "/usr")):
            roots.append(path)
    return roots


def command(
    view: View | None,
    argv: list[str],
    env: dict[str, str],
    *,
    home_bytes: int = HOME_BYTES,
    tmp_bytes: int = TMP_BYTES,
) -> list[str]:
    """The bwrap command running ``argv`` as PID 1 of a sandbox whose home (:data:`HOME`) and
    ``/tmp`` are empty tmpfs mounts of ``home_bytes`` and ``tmp_bytes``, with ``view`` mounted
    over ``course_utils``. The worker copies the submission into the home itself."""
    exe = bwrap_path()
    if exe is None:
        raise SandboxUnavailable(FIX)
    args = [exe, *_namespace_args(), *_root_args(tmp_bytes)]
    made: set[str] = set()
    for root in python_roots():
        args += _dirs_for(root, made) + ["--ro-bind", str(root), str(root)]
    if view is not None:
        args += _dirs_for(view.target, made) + ["--ro-bind", str(view.package), str(view.target)]
        for src, dst in view.binds:
            args += ["--ro-bind", str(src), str(dst)]
    args += _dirs_for(Path(HOME), made)
    args += ["--perms", "0700", "--size", str(int(home_bytes)), "--tmpfs", HOME, "--chdir", HOME]
    args += ["--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return [*args, "--", *argv]


def rlimits(*, memory_bytes: int, cpu_seconds: int, file_bytes: int, processes: int) -> dict:
    """The resource limits the worker applies to itself and everything it starts."""
    return {
        "RLIMIT_AS": memory_bytes,
        "RLIMIT_CPU": cpu_seconds,
        "RLIMIT_FSIZE": file_bytes,
        "RLIMIT_NPROC": processes,
        "RLIMIT_NOFILE": 1024,
        "RLIMIT_CORE": 0,
    }


def nproc_is_per_namespace() -> bool:
    """Whether ``RLIMIT_NPROC`` set inside a new user namespace counts only that namespace's
    processes (Linux 5.14 and later account it per user namespace), so a grader run by an
    ordinary user can cap its sandboxes' processes without counting the user's own."""
    try:
        major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 14)


# ------------------------------------------------------------------------------------------------
# a sandbox-wide memory and process cap: cgroups
# ------------------------------------------------------------------------------------------------
def _mounts() -> list[tuple[str, str, set[str]]]:
    """``(mount point, file system type, super options)`` of every cgroup mount."""
    out = []
    try:
        text = Path("/proc/self/mountinfo").read_text(encoding="utf-8")
    except OSError:
        return out
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or len(rest) < 3 or not rest[0].startswith("cgroup"):
            continue
        point = fields[4].replace("\\040", " ")
        out.append((point, rest[0], set(rest[2].split(","))))
    return out


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per hierarchy: ``{"": v2 path, "memory": ..., "pids": ...}``."""
    out: dict[str, str] = {}
    try:
        text = Path("/proc/self/cgroup").read_text(encoding="utf-8")
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            out[controller] = parts[2]
    return out


def _write(path: Path, value: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(value)


@dataclass
class Cgroup:
    """One sandbox's cgroup(s). ``procs`` are the ``cgroup.procs`` files the sandbox's first
    process writes its pid to before it starts bwrap (:func:`join_command`)."""

    kind: str  # "v2" or "v1"
    dirs: list[Path]
    procs: list[Path]
    memory_bytes: int
    pids: int

    def peak_memory(self) -> int | None:
        """The largest memory use seen (bytes), where the kernel reports it."""
        for d in self.dirs:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                try:
                    return int((d / name).read_text().split()[0])
                except (OSError, ValueError, IndexError):
                    continue
        return None

    def oom_kills(self) -> int:
        """How many processes the memory cap killed."""
        for d in self.dirs:
            for name in ("memory.events", "memory.oom_control"):
                try:
                    text = (d / name).read_text()
                except OSError:
                    continue
                for line in text.splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        return 0

    def close(self) -> None:
        """Kill whatever is left in it and remove it. Never raises."""
        for d in self.dirs:
            try:
                if (d / "cgroup.kill").exists():
                    _write(d / "cgroup.kill", "1")
            except OSError:
                pass
        for _round in range(50):
            left = []
            for d in self.dirs:
                try:
                    pids = [int(x) for x in (d / "cgroup.procs").read_text().split()]
                except (OSError, ValueError):
                    pids = []
                for pid in pids:
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
                try:
                    d.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    left.append(d)
            self.dirs = left
            if not left:
                return
            time.sleep(0.05)


def make_cgroup(name: str, *, memory_bytes: int = SANDBOX_MEMORY, pids: int = SANDBOX_PIDS):
    """A cgroup capping the memory (``memory_bytes``, swap excluded) and the number of processes
    (``pids``) of one sandbox, or None where this grader cannot create one (then only the
    per-process limits of :func:`rlimits` hold). Tries cgroup v2 first, then v1."""
    if not sys.platform.startswith("linux"):
        return None
    mounts = _mounts()
    own = _own_cgroups()
    for point, fstype, _opts in mounts:
        if fstype == "cgroup2" and "" in own:
            group = _make_v2(Path(point), own[""], name, memory_bytes, pids)
            if group is not None:
                return group
    return _make_v1(mounts, own, name, memory_bytes, pids)


def _make_v2(point: Path, path: str, name: str, memory_bytes: int, pids: int) -> Cgroup | None:
    base = point / path.lstrip("/")
    try:
        if not {"memory", "pids"} <= set((base / "cgroup.controllers").read_text().split()):
            return None
        enabled = set((base / "cgroup.subtree_control").read_text().split())
        if not {"memory", "pids"} <= enabled:
            _write(base / "cgroup.subtree_control", "+memory +pids")
        d = base / name
        d.mkdir()
    except OSError:
        return None
    group = Cgroup("v2", [d], [d / "cgroup.procs"], memory_bytes, pids)
    try:
        _write(d / "memory.max", str(int(memory_bytes)))
        if (d / "memory.swap.max").exists():
            _write(d / "memory.swap.max", "0")
        _write(d / "pids.max", str(int(pids)))
    except OSError:
        group.close()
        return None
    return group


def _make_v1(mounts, own: dict[str, str], name: str, memory_bytes: int, pids: int):
    dirs: dict[str, Path] = {}
    for controller in ("memory", "pids"):
        point = next((m for m, t, o in mounts if t == "cgroup" and controller in o), None)
        if point is None or controller not in own:
            break
        base = Path(point) / own[controller].lstrip("/")
        try:
            (base / name).mkdir()
        except OSError:
            break
        dirs[controller] = base / name
    group = Cgroup("v1", list(dirs.values()), [d / "cgroup.procs" for d in dirs.values()],
                   memory_bytes, pids)  # fmt: skip
    if len(dirs) != 2:
        group.close()
        return None
    try:
        mem = dirs["memory"]
        _write(mem / "memory.limit_in_bytes", str(int(memory_bytes)))
        if (mem / "memory.memsw.limit_in_bytes").exists():  # no swapping around the cap
            try:
                _write(mem / "memory.memsw.limit_in_bytes", str(int(memory_bytes)))
            except OSError:
                pass
        _write(dirs["pids"] / "pids.max", str(int(pids)))
    except OSError:
        group.close()
        return None
    return group


@functools.lru_cache(maxsize=1)
def cgroup_support() -> str:
    """Which sandbox-wide cap this grader gets: ``"cgroup v2"``, ``"cgroup v1"`` or
    ``"per-process limits only"`` (what :func:`make_cgroup` would give)."""
    group = make_cgroup(f"course-grade-probe-{os.getpid()}", memory_bytes=2**30, pids=64)
    if group is None:
        return "per-process limits only"
    group.close()
    return f"cgroup {group.kind}"


def join_command(group: Cgroup | None, argv: list[str]) -> list[str]:
    """``argv`` started through a shell that first moves itself into ``group`` (so every
    process of the sandbox, from bwrap on, is in it); ``argv`` unchanged without a group."""
    if group is None:
        return list(argv)
    script = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
    return ["/bin/sh", "-c", script, "sh", *map(str, group.procs), "--", *argv]


# ------------------------------------------------------------------------------------------------
# removing a folder a submission wrote (without a sandbox): iterative, never raises
# ------------------------------------------------------------------------------------------------
def remove_tree(path: str | os.PathLike) -> bool:
    """Remove ``path`` and everything under it without following links, however deep (no
    recursion: a stack of names, with file descriptors relative to the parent, so neither
    ``RecursionError`` nor ``ENAMETOOLONG``), making folders writable where needed. Never
    raises; True when nothing is left."""
    path = os.fspath(path)
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(path)
            return True
        fd = os.open(path, flags)
    except OSError:
        return False
    names: list[str] = []  # the folders entered below ``path``
    stuck: set[tuple[int, int]] = set()  # folders that could not be emptied: left alone
    try:
        while True:
            entered = False
            try:
                os.fchmod(fd, 0o700)
            except OSError:
                pass
            try:
                entries = list(os.scandir(fd))
            except OSError:
                entries = []
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        if (st.st_dev, st.st_ino) in stuck:
                            continue
                        try:
                            os.rmdir(entry.name, dir_fd=fd)
                            continue
                        except OSError:
                            pass
                        child = os.open(entry.name, flags, dir_fd=fd)
                        os.close(fd)
                        fd = child
                        names.append(entry.name)
                        entered = True
                        break
                    os.unlink(entry.name, dir_fd=fd)
                except OSError:
                    continue
            if entered:
                continue
            if not names:
                break
            # this folder is as empty as it gets: go back up and remove it
            me = os.fstat(fd)
            parent = os.open("..", flags, dir_fd=fd)
            os.close(fd)
            fd = parent
            name = names.pop()
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError:
                stuck.add((me.st_dev, me.st_ino))
    except Exception:  # noqa: BLE001 - cleanup must never cost a judged result
        pass
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.rmdir(path)
    except OSError:
        pass
    return not os.path.lexists(path)


_LEASES: dict[int, tuple[int, int]] = {}  # job slot -> (uid, open lock file descriptor)


def lease_uid(slot: int) -> int:
    """An unprivileged uid for job ``slot`` that no other grader on this machine holds.

    Two grader processes at once (shards on one machine, two test workers) used to give their
    slot 0 the same uid 61000: RLIMIT_NPROC then counted both graders' processes together and
    one grader's tight cap killed the other's kernel ("Kernel died before replying"). Each uid is
    leased with an exclusive ``flock`` on ``/run/course-grade-uids/<uid>.lock`` (root's, mode
    0700; the temporary folder where /run is not writable), held by this process for its lifetime: the kernel releases
    it when the process ends, whatever way it ends. Without a free uid (1,000 concurrent
    sandboxes) it raises ``RuntimeError``.
    """
    if os.geteuid() != 0:  # an ordinary user's grader does not change uid: nothing to lease
        return SANDBOX_UID + slot
    if slot in _LEASES:
        return _LEASES[slot][0]
    taken = {uid for uid, _ in _LEASES.values()}
    for uid in range(SANDBOX_UID + slot % UID_RANGE, SANDBOX_UID + UID_RANGE):
        if uid in taken:
            continue
        fd = try_lock_uid(uid)
        if fd is not None:
            _LEASES[slot] = (uid, fd)
            return uid
    raise RuntimeError(f"no free sandbox uid in {SANDBOX_UID}..{SANDBOX_UID + UID_RANGE - 1}")


def try_lock_uid(uid: int) -> int | None:
    """The open, exclusively ``flock``-ed lock file of ``uid`` (close it to release the lease),
    or None when another grader holds it. Root only: the folder is root's."""
    import fcntl
    import tempfile

    run = Path("/run")
    base = run if run.is_dir() and os.access(run, os.W_OK) else Path(tempfile.gettempdir())
    folder = base / "course-grade-uids"
    folder.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd
