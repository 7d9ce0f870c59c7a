"""Grade submitted notebooks: each runs in its own sandbox; the verdict is computed here.

Two halves:

* **The grader** (:func:`grade_submission`, :func:`grade_paths`) reads a submission safely (no
  symlinks, regular files only, a size cap), decides which exercise it is, draws the hidden inputs
  from ``os.urandom``, starts a *worker* in a bubblewrap sandbox (:mod:`.sandbox`) and judges the
  plain JSON answers the worker streams back (:func:`.judge.judge`). Student code never runs in
  the grader's process, and nothing the kernel prints reaches the grader's terminal.
* **The worker** (:func:`worker_main`, ``python -m course_utils.grading.runner``) runs inside the
  sandbox: it drops to an unprivileged uid, applies resource limits, starts a Jupyter kernel with
  ``jupyter_client``'s public API, executes the notebook's code cells, then the harness for each
  question, and writes one capped JSON line per event to its stdout (kernels get ``/dev/null``).

One bad cell costs only that cell: a cell past its time is interrupted; a cell still busy a few
seconds after the interrupt (a bare ``except:`` that swallows it) or one that kills its kernel is
skipped on a fresh kernel. The notebook's deadline keeps a reserve for the graded calls, so a
slow notebook still gets its functions graded.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import queue
import re
import secrets
import stat
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.grading import harness, sandbox
from course_utils.grading.checks import Call, QuestionResult
from course_utils.grading.judge import judge, request_for
from course_utils.grading.registry import (
    Question,
    exercises,
    notebook_version,
    questions_for,
    version_note,
)

HARNESS_SOURCE = Path(harness.__file__).read_text(encoding="utf-8")
MAX_NOTES = 8
MAX_KERNELS = 5  # a kernel that dies (or is killed) is restarted with the offending cell skipped
START_ATTEMPTS = 3  # a kernel that dies before it answers kernel_info is started again
# A kernel that has not begun a request this long (s) after it was sent (no "busy"), or whose
# execute_reply came this long before its IOPub "idle", has stopped handling messages (seen with
# ipykernel 7.3 on Python 3.10, about one kernel in ten: from one request on, the kernel sits idle
# and neither a reply nor any output comes). It is replaced and the notebook run again from the
# top, nothing skipped.
LOST_IOPUB_SECONDS = 10.0
MAX_FILE_BYTES = 20 * 2**20  # a submission larger than this is refused
MAX_LINE_BYTES = 96 * 2**20  # one worker event (a question's answer with its arrays)
MAX_WORKER_BYTES = 512 * 2**20  # everything a worker may send
READ_CHUNK = 2**20  # the grader reads a worker's events in chunks of this size (bounded read-ahead)
MAX_STRETCH = 8.0  # on a busy machine a submission's limits may take up to this factor in wall time
MAX_MESSAGE = 400  # characters of one message in the reports
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


@dataclass
class Limits:
    """Time, size and resource limits for one submission."""

    cell_timeout: float = 60.0
    notebook_timeout: float = 300.0
    call_timeout: float = 10.0
    output_chars: int = 2_000_000
    interrupt_grace: float = 3.0  # a cell still busy this long after the interrupt is killed
    memory_bytes: int = 8 * 2**30  # address space per sandboxed process
    file_bytes: int = 256 * 2**20  # largest file a sandboxed process may write
    processes: int = 512  # processes + threads of the sandbox's uid (RLIMIT_NPROC)
    startup: float = 60.0  # kernel start allowance on top of the notebook's time
    sandbox_memory_bytes: int = sandbox.SANDBOX_MEMORY  # the whole sandbox (cgroup)
    sandbox_processes: int = sandbox.SANDBOX_PIDS  # the whole sandbox (cgroup)
    home_bytes: int = sandbox.HOME_BYTES  # the sandbox's home (tmpfs)
    tmp_bytes: int = sandbox.TMP_BYTES  # the sandbox's /tmp (tmpfs)


@dataclass
class SubmissionReport:
    """Result for one submission; :meth:`as_dict` gives DESIGN.md's JSON fields exactly."""

    submission: str
    exercise: str | None
    status: str
    score: float
    max_score: float
    questions: list[QuestionResult] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    #: notes for the instructor that never change the score (a near-copy, a file name naming
    #: another student); filled in after grading (:mod:`.similarity`, the CLI's identity check)
    flags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """``{"submission", "exercise", "status", "score", "max_score", "questions", "error",
        "flags"}``."""
        return {
            "submission": self.submission,
            "exercise": self.exercise,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "questions": [q.as_dict() for q in self.questions],
            "error": self.error,
            "flags": [clean(f) for f in self.flags],
        }


def clean(text: Any, limit: int = MAX_MESSAGE) -> str:
    """``text`` as one printable line: control characters dropped, at most ``limit`` chars."""
    s = _CONTROL.sub("", str(text).replace("\n", " ").replace("\t", " "))
    return s if len(s) <= limit else s[: limit - 3] + "..."


def harness_cell_source(request: dict) -> str:
    """Code for the kernel: load the harness from source text, run one question, publish."""
    return (
        "def __course_grading__():\n"
        "    ns = {'__name__': '__course_grading_harness__'}\n"
        f"    exec(compile({HARNESS_SOURCE!r}, '<course-grading>', 'exec'), ns)\n"
        f"    ns['kernel_main'](globals(), __import__('json').loads({json.dumps(request)!r}))\n"
        "__course_grading__()\n"
    )


# ================================================================================================
# reading a submission
# ================================================================================================
def read_submission(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[Any, str | None]:
    """``(notebook, None)`` or ``(None, reason)``. Never follows a symlink, never blocks on a FIFO:
    only a regular file under ``max_bytes`` is read."""
    try:
        info = os.lstat(path)
    except OSError as err:
        return None, f"cannot read the file: {err.strerror}"
    kind = _kind(info.st_mode)
    if kind != "file":
        return None, f"not a regular file ({kind}): refused without reading it"
    try:
        fd = os.open(
            path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        )
    except OSError as err:
        return None, f"cannot open the file: {err.strerror}"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, f"not a regular file ({_kind(info.st_mode)}): refused"
        if info.st_size > max_bytes:
            return None, f"the file has {info.st_size:,} bytes, more than the {max_bytes:,} allowed"
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        return None, f"the file has more than the {max_bytes:,} bytes allowed"
    try:
        import nbformat

        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no cells")
    except Exception as err:  # noqa: BLE001 - anything unreadable is an error row
        first = str(err).splitlines()[0] if str(err) else ""
        return None, f"not a readable notebook: {type(err).__name__}: {first}"
    return nb, None


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISREG, "file"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "an unknown kind of file"


def exercise_from_name(path: Path) -> str | None:
    """The exercise a file name points to (``03_lecun-alice.ipynb`` -> ``03_lecun``), or None."""
    known = exercises()
    stem = path.stem
    if stem in known:
        return stem
    inside = [e for e in known if e in stem]
    if inside:
        return max(inside, key=len)
    prefix = re.match(r"(\d\d)[_-]", stem)
    if prefix:
        same = [e for e in known if e.startswith(prefix.group(1) + "_")]
        if len(same) == 1:
            return same[0]
    return None


def identify_exercise(
    nb: Any, path: Path, forced: str | None = None
) -> tuple[str | None, str | None]:
    """``(exercise, note)``: ``forced`` (``--exercise``) if given, else the file name's exercise,
    else ``metadata.course.exercise``. ``note`` flags any disagreement between them; the file
    name wins over the metadata (which the student can edit), so metadata can never lift a score
    above the maximum of the exercise the file was handed in as."""
    known = exercises()
    meta = nb.get("metadata", {}).get("course", {}) if isinstance(nb, dict) else {}
    claimed = meta.get("exercise") if isinstance(meta, dict) else None
    claimed = claimed if isinstance(claimed, str) else None
    by_name = exercise_from_name(path)
    if forced is not None:
        chosen = forced
    elif by_name is not None:
        chosen = by_name
    else:
        chosen = claimed if claimed in known else None
    notes = []
    if claimed is not None and chosen is not None and claimed != chosen:
        notes.append(f"the notebook's metadata names exercise {clean(claimed, 60)!r}")
    if forced is not None and by_name is not None and by_name != forced:
        notes.append(f"the file name points to {by_name!r}")
    note = None
    if notes:
        note = "; ".join(notes) + f": graded as {chosen!r} (at most its maximum)"
    return chosen, note


# ================================================================================================
# the worker (inside the sandbox)
# ================================================================================================
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORTS = (ast.Import, ast.ImportFrom)
_ASSIGNS = (ast.Assign, ast.AnnAssign, ast.AugAssign)


def _python_source(source: str) -> str:
    """A cell's source as plain Python (IPython's ``%magic`` and ``!shell`` lines translated)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - no IPython here, or a cell it cannot read
        return source


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_python_source(source))
    except (SyntaxError, ValueError):
        return None


def _loaded(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _stored(node: ast.AST) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return {
        n.id
        for t in targets
        if t is not None
        for n in ast.walk(t)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }


def needed_names(sources: Sequence[str], graded: Sequence[str]) -> set[str]:
    """Names that the notebook's definitions (and the graded names) need at module level: every
    name a ``def``/``class`` body, decorator, default or base reads, and, transitively, every
    name read by a module-level assignment of one of those names."""
    needed = set(graded)
    assigns = []
    for source in sources:
        tree = _parse(source)
        for node in tree.body if tree is not None else []:
            if isinstance(node, _DEFS):
                needed |= _loaded(node)
            elif isinstance(node, _ASSIGNS):
                assigns.append((_stored(node), _loaded(node)))
    grown = True
    while grown:
        grown = False
        for stored, loaded in assigns:
            if stored & needed and not loaded <= needed:
                needed |= loaded
                grown = True
    return needed


def _keeps(node: ast.stmt, needed: set[str]) -> bool:
    """Whether a top-level statement still runs after the cells' time share."""
    if isinstance(node, (*_IMPORTS, *_DEFS, ast.Pass)):
        return True
    if isinstance(node, _ASSIGNS):
        return isinstance(node.value, ast.Constant) or bool(_stored(node) & needed)
    if isinstance(node, (ast.If, ast.Try)):  # `try: import torch / except ImportError: ...`
        inner = [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
        inner += [s for h in getattr(node, "handlers", []) for s in h.body]
        return all(_keeps(s, needed) for s in inner)
    return False


def definitions_only(source: str, needed: set[str]) -> tuple[str, list[str]]:
    """``(code, skipped)``: the part of a cell that runs once the cells' time share is spent -
    its imports, ``def`` s and ``class`` es, constant assignments and the assignments of names
    in ``needed`` (:func:`needed_names`) - and a short description of each statement left out.
    A cell Python cannot parse is left out whole."""
    text = _python_source(source)
    tree = _parse(source)
    if tree is None:
        first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
        return "", [f"`{clean(first, 40)}` (the cell does not parse)"]
    kept: list[ast.stmt] = []
    skipped: list[str] = []
    for node in tree.body:
        if _keeps(node, needed):
            kept.append(node)
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            same = len(text.splitlines()) == len(source.splitlines())
            lines = source.splitlines() if same else []
            line = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else ""
            skipped.append(f"`{clean(line or ast.unparse(node).splitlines()[0], 40)}`")
    if len(kept) == len(tree.body):
        return source, []
    return (ast.unparse(ast.Module(body=kept, type_ignores=[])) if kept else ""), skipped


def _size(value: Any, depth: int = 0) -> int:
    if isinstance(value, (str, bytes)):
        return len(value)
    if depth > 20:
        return 0
    if isinstance(value, dict):
        return sum(len(str(k)) + _size(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(_size(v, depth + 1) for v in value)
    return 8


class _Worker:
    def __init__(self, job: dict, out: Any) -> None:
        self.job = job
        self.out = out
        self.output = 0
        self.sent = 0
        self.limit = int(job["output_chars"])
        self.grace = float(job["interrupt_grace"])
        self.kernel_pids: set[int] = set()
        self._wall0 = time.monotonic()
        self._pid: int | None = None  # the current kernel
        self._waited = 0.0  # run-queue delay of the kernels before it
        self._delay = 0.0  # ... and of the current one, at the last reading
        self._last = 0.0
        self._lost_said = False

    def now(self) -> float:
        """The submission's clock, in seconds: wall time minus the time the kernel's main thread
        (and the worker's) spent runnable but waiting for a CPU (``/proc/PID/schedstat``). On a
        busy machine it runs slower than the wall clock, so other processes' load does not eat
        the limits of cells, calls and the notebook; it never runs slower than the wall clock
        divided by :data:`MAX_STRETCH`, and never backwards."""
        if self._pid is not None:
            self._delay = _run_delay(self._pid, self._delay)
        wall = time.monotonic() - self._wall0
        own = _run_delay(os.getpid(), 0.0)
        value = max(wall - self._waited - self._delay - own, wall / MAX_STRETCH, self._last)
        self._last = value
        return value

    def emit(self, **event: Any) -> None:
        line = json.dumps(event, separators=(",", ":"), allow_nan=False)
        if len(line) > MAX_LINE_BYTES - 1 and event.get("event") == "answer":
            line = json.dumps(
                {"event": "missing", "qid": event["qid"], "text": "its answer was too large"}
            )
        self.out.write(line.encode() + b"\n")
        self.out.flush()

    async def start(self, cwd: str, env: dict) -> Any:
        from course_utils.notebook_runner import start_kernel

        if self._pid is not None:  # the previous kernel's waiting stays on the clock
            self._waited += _run_delay(self._pid, self._delay)
            self._pid, self._delay = None, 0.0
        km, kc = await start_kernel(cwd, env)
        pid = getattr(getattr(getattr(km, "provisioner", None), "process", None), "pid", None)
        if isinstance(pid, int):
            self.kernel_pids.add(pid)
            self._pid, self._delay = pid, 0.0
        return km, kc

    def lost_output(self) -> None:
        """Say once that a kernel stopped sending its output (the kernel's fault, not the
        submission's: it is replaced and the notebook run again, nothing skipped)."""
        if not self._lost_said:
            self._lost_said = True
            self.emit(
                event="note",
                text="a Jupyter kernel stopped sending its output (a kernel fault): the notebook "
                "was run again on a fresh kernel, nothing skipped",
            )

    async def start_retrying(self, cwd: str, env: dict, attempts: int = START_ATTEMPTS) -> Any:
        """:meth:`start`, tried again when a kernel dies before it answers: a kernel that never
        ran a line of the submission (the machine was short of memory or processes for a
        moment) is no reason to grade it 0. The last failure is raised."""
        for attempt in range(attempts):
            try:
                return await self.start(cwd, env)
            except Exception:  # noqa: BLE001
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    async def execute(self, km: Any, kc: Any, code: str, timeout: float) -> tuple[str, list, list]:
        """Run ``code``; ``(status, errors, answers)``, status ``ok`` | ``interrupted`` |
        ``killed`` (still busy after the interrupt: the kernel is shut down) | ``dead`` |
        ``lost`` (the kernel stopped handling messages: it never began the request, or it
        replied on its shell channel but its IOPub messages stopped coming; the kernel is to be
        replaced and nothing skipped)."""
        msg_id = kc.execute(code, store_history=False, allow_stdin=False, stop_on_error=False)
        sent = self.now()
        end = sent + max(0.5, timeout)
        interrupted = False
        started = False  # a message of this request came (the kernel's "busy" comes first)
        replied: float | None = None  # when the execute_reply came, on the submission's clock
        errors: list[str] = []
        answers: list[dict] = []
        while True:
            now = self.now()
            left = end - now
            if replied is not None and (left <= 0 or now - replied > LOST_IOPUB_SECONDS):
                return "lost", errors, answers
            if not started and not interrupted and (left <= 0 or now - sent > LOST_IOPUB_SECONDS):
                return "lost", errors, answers  # interrupting a kernel that never began is futile
            if left <= 0:
                if not interrupted:
                    interrupted = True
                    try:
                        await km.interrupt_kernel()
                    except Exception:  # noqa: BLE001 - a dead kernel cannot be interrupted
                        pass
                    end = self.now() + self.grace
                    continue
                try:
                    await km.shutdown_kernel(now=True)
                except Exception:  # noqa: BLE001
                    pass
                return "killed", errors, answers
            try:
                msg = await kc.get_iopub_msg(timeout=min(left, 1.0))
            except queue.Empty:
                if not await km.is_alive():
                    return "dead", errors, answers
                if replied is None and await _has_reply(kc, msg_id):
                    replied = self.now()
                continue
            content = msg.get("content") or {}
            mine = msg.get("parent_header", {}).get("msg_id") == msg_id
            started = started or mine
            msg_type = msg.get("msg_type")
            data = content.get("data") if isinstance(content.get("data"), dict) else {}
            if mine and msg_type in ("display_data", "execute_result") and harness.MIME in data:
                if isinstance(data[harness.MIME], dict):
                    answers.append(data[harness.MIME])
                continue
            if msg_type not in ("status", "execute_input"):
                # every output kind counts: streams, display data, widget state, comm
                # messages, tracebacks; none is kept
                self.output += _size(content) + sum(len(b) for b in msg.get("buffers") or [])
            if not mine:
                continue
            if msg_type == "error":
                ename = clean(content.get("ename", "Error"), 80)
                evalue = str(content.get("evalue", "")).strip().splitlines()
                errors.append(f"{ename}: {clean(evalue[0], 200)}" if evalue else ename)
            if msg_type == "status" and content.get("execution_state") == "idle":
                return ("interrupted" if interrupted else "ok"), errors, answers

    async def run(self) -> None:
        job = self.job
        start = self.now()
        total = float(job["notebook_timeout"])
        reserve = min(float(job["reserve"]), total / 2)
        cells_end = start + total - reserve
        end = start + total
        cells = [(int(i), str(s)) for i, s in job["cells"]]
        pending = list(job["requests"])
        skip: set[int] = set()
        lost: set[tuple[str, Any]] = set()  # cells and calls a kernel once did not answer
        reported: set[tuple[int, str]] = set()
        skipped_for_time = False
        needed = needed_names([s for _, s in cells], [str(r["name"]) for r in pending])
        env = dict(os.environ)

        def cell_event(index: int, text: str) -> None:
            if (index, text) not in reported:
                reported.add((index, text))
                self.emit(event="cell", index=index, text=text)

        for _attempt in range(MAX_KERNELS):
            if not pending:
                break
            try:
                km, kc = await self.start_retrying(job["cwd"], env)
            except Exception as err:  # noqa: BLE001
                self.emit(event="fatal", text=clean(f"{type(err).__name__}: {err}"))
                return
            restart = False
            previous: int | None = None  # the last cell this kernel ran
            try:
                for index, source in cells:
                    if index in skip:
                        continue
                    now = self.now()
                    timeout = float(job["cell_timeout"])
                    if now >= cells_end:
                        # past the share: keep every import, def and class and the names
                        # they use; name each computation left out
                        source, left_out = definitions_only(source, needed)
                        if left_out and not skipped_for_time:
                            skipped_for_time = True
                            self.emit(
                                event="note",
                                text=f"the notebook ran past its {total - reserve:g} s share "
                                f"of the {total:g} s limit: from cell {index + 1} on only "
                                "imports, definitions and the names they use were run",
                            )
                        if left_out:
                            more = f" and {len(left_out) - 2} more" if len(left_out) > 2 else ""
                            cell_event(
                                index,
                                "came after the time share: skipped "
                                + ", ".join(left_out[:2])
                                + more,
                            )
                        if not source.strip():
                            continue
                        timeout = min(timeout, 5.0)
                    else:
                        timeout = min(timeout, max(1.0, cells_end - now))
                    status, errors, _ = await self.execute(km, kc, source, timeout)
                    if status == "lost" and ("cell", index) not in lost:
                        lost.add(("cell", index))  # the kernel's fault: nothing skipped
                        self.lost_output()
                        restart = True
                        break
                    if status == "lost":
                        # lost twice at one cell: the notebook itself leaves its kernel unable
                        # to answer (its event loop blocked, say), most likely the cell that ran
                        # just before on this kernel; that one is skipped
                        culprit = previous if previous is not None else index
                        skip.add(culprit)
                        cell_event(
                            culprit,
                            "left its kernel unable to answer (twice): skipped on a fresh kernel",
                        )
                        restart = True
                        break
                    if status in ("dead", "killed"):
                        skip.add(index)
                        cell_event(
                            index,
                            "killed the kernel (os._exit or a crash); skipped on a fresh kernel"
                            if status == "dead"
                            else f"was still busy {self.grace:g} s after the interrupt: killed "
                            "with its kernel and skipped on a fresh kernel",
                        )
                        restart = True
                        break
                    previous = index
                    if status == "interrupted":
                        cell_event(index, f"timed out after {timeout:.3g} s and was interrupted")
                    elif errors:
                        cell_event(index, f"raised {errors[0]}")
                if restart:
                    continue
                for req in list(pending):
                    left = end - self.now()
                    if left <= 0:
                        break
                    status, _, answers = await self.execute(
                        km, kc, req["code"], min(float(req["budget"]), left)
                    )
                    answer = next((a for a in answers if a.get("nonce") == req["nonce"]), None)
                    if status == "lost" and answer is None and ("call", req["qid"]) not in lost:
                        lost.add(("call", req["qid"]))  # asked again on the next kernel, once
                        self.lost_output()
                        restart = True
                        break
                    pending.remove(req)
                    if answer is not None:
                        self.emit(event="answer", qid=req["qid"], answer=answer)
                    elif status == "dead":
                        text = f"calling `{req['name']}` killed the kernel (os._exit or a crash)"
                        self.emit(event="missing", qid=req["qid"], text=text)
                    elif status in ("killed", "interrupted"):
                        text = f"calling `{req['name']}` hung and was stopped"
                        self.emit(event="missing", qid=req["qid"], text=text)
                    else:
                        text = f"no answer came back for `{req['name']}`"
                        self.emit(event="missing", qid=req["qid"], text=text)
                    if status in ("dead", "killed", "lost"):  # the next requests: a new kernel
                        restart = True
                        break
                if not restart:
                    break
            finally:
                kc.stop_channels()
                try:
                    await km.shutdown_kernel(now=True)
                except Exception:  # noqa: BLE001
                    pass
        for req in pending:
            text = (
                f"not graded: the notebook ran past the {total:g} s limit"
                if self.now() >= end
                else "not graded: the kernel kept dying"
            )
            self.emit(event="missing", qid=req["qid"], text=text)
        if self.output > self.limit:
            self.emit(
                event="note",
                text=f"the notebook sent {self.output:,} characters of output; none is kept",
            )


async def _has_reply(kc: Any, msg_id: str) -> bool:
    """Whether the shell channel holds the execute_reply to ``msg_id`` (the replies to earlier
    requests, never read otherwise, are drained on the way)."""
    while True:
        try:
            msg = await kc.get_shell_msg(timeout=0)
        except queue.Empty:
            return False
        if (msg.get("parent_header") or {}).get("msg_id") == msg_id:
            return True


def _run_delay(pid: int, default: float) -> float:
    """Seconds the main thread of ``pid`` spent runnable but waiting for a CPU (``default`` when
    the kernel does not say: no schedstat, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return default


def _prepare_home(job: dict) -> None:
    """Put the submission into the (empty, private) home; as root, hand the home to the uid."""
    home = Path(job["cwd"])
    uid = int(job.get("uid") or 0)
    if job.get("submission") is not None:
        path = home / "submission.ipynb"
        path.write_text(str(job["submission"]), encoding="utf-8")
        job["submission"] = None
        if uid and os.geteuid() == 0:
            os.chown(path, uid, uid)
    if uid and os.geteuid() == 0:
        os.chown(home, uid, uid)
        home.chmod(0o700)


def _drop_privileges(job: dict) -> None:
    import resource

    uid = int(job.get("uid") or 0)
    dropped = False
    if uid and os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        dropped = True
    # RLIMIT_NPROC counts every process of the uid (in its user namespace): only for a dedicated
    # uid, or in a user namespace of the sandbox's own (job["nproc"], Linux >= 5.14)
    nproc = dropped or bool(job.get("nproc"))
    for name, value in (job.get("rlimits") or {}).items():
        if name == "RLIMIT_NPROC" and not nproc:
            continue
        which = getattr(resource, name, None)
        if which is None:
            continue
        soft, hard = resource.getrlimit(which)
        value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: no setuid binary gives privileges back
        # PR_SET_DUMPABLE 0: processes of the same uid (the kernel) can neither ptrace the worker
        # nor open its /proc entries (fd, mem, environ, maps); kept until the worker exits
        if libc.prctl(4, 0, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
    except (OSError, AttributeError) as err:
        if sys.platform.startswith("linux"):  # elsewhere (--no-sandbox only) there is no prctl
            raise RuntimeError(f"the worker could not protect itself: {err}") from err


def _reap_orphans(worker: _Worker) -> None:
    """As PID 1 of the sandbox the worker inherits every orphan: collect the ones that exited
    (never a kernel, whose status jupyter_client collects)."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in worker.kernel_pids:
            continue
        fields = _stat_fields(entry)
        if len(fields) > 1 and fields[0] == b"Z" and int(fields[1]) == me:
            try:
                os.waitpid(int(entry), os.WNOHANG)
            except ChildProcessError:
                pass


async def _serve(worker: _Worker) -> None:
    async def reaper() -> None:
        while True:
            await asyncio.sleep(1.0)
            _reap_orphans(worker)

    task = asyncio.ensure_future(reaper()) if os.getpid() == 1 else None
    try:
        await worker.run()
    finally:
        if task is not None:
            task.cancel()


def worker_main() -> int:
    """Entry point inside the sandbox: the job on stdin, events on stdout (JSON lines)."""
    import signal

    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    out = os.fdopen(os.dup(1), "wb")  # events only; kernels inherit /dev/null as stdout/stderr
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    # PID 1 of a namespace gets only the signals it handles, and Python's SIGINT handler would
    # let the kernel stop the worker with KeyboardInterrupt: a handler that does nothing instead
    # (the kernels it starts get the default handlers back)
    signal.signal(signal.SIGINT, lambda *_: None)
    worker = _Worker(job, out)
    try:
        _prepare_home(job)
        _drop_privileges(job)
    except Exception as err:  # noqa: BLE001 - no submitted code runs unprotected
        worker.emit(event="fatal", text=clean(f"{type(err).__name__}: {err}"))
        worker.emit(event="done")
        return 1
    try:
        asyncio.run(_serve(worker))
    except Exception as err:  # noqa: BLE001
        worker.emit(event="fatal", text=clean(f"{type(err).__name__}: {err}"))
    worker.emit(event="done")
    out.close()
    return 0


# ================================================================================================
# the grader
# ================================================================================================
def _worker_env(home: str) -> dict[str, str]:
    from course_utils.notebook_runner import kernel_environment

    bindir = str(Path(sys.executable).parent)
    env = kernel_environment("default")
    env.update(
        PATH=f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        HOME=home,
        USER="student",
        LOGNAME="student",
        LANG="C.UTF-8",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONNOUSERSITE="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        JUPYTER_PLATFORM_DIRS="1",
        JUPYTER_RUNTIME_DIR=f"{home}/.runtime",
        IPYTHONDIR=f"{home}/.ipython",
        MPLCONFIGDIR=f"{home}/.matplotlib",
        VIRTUAL_ENV=sys.prefix,
    )
    return env


class _Views:
    """One view of course_utils per exercise, built on first use, removed at the end."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="course-grade-views-"))
        self.root.chmod(0o755)
        self.views: dict[str, sandbox.View] = {}

    def get(self, exercise: str) -> sandbox.View:
        if exercise not in self.views:
            forbidden = [name for q in questions_for(exercise) for name in q.forbidden]
            self.views[exercise] = sandbox.build_view(forbidden, self.root / exercise)
        return self.views[exercise]

    def close(self) -> None:
        sandbox.remove_tree(self.root)


def kill_uid(uid: int) -> int:
    """Kill every process of ``uid`` (a sandbox uid of its own, never 0), as that uid with
    ``kill(-1, SIGKILL)`` (one pass over every process, so a fork loop cannot slip past), until
    none is left; returns how many were seen. Only for a root grader."""
    if uid <= 0 or os.geteuid() != 0:
        return 0
    seen = 0
    for _round in range(20):
        mine = _processes_of(uid)
        if not mine:
            break
        seen += len(mine)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
                os.kill(-1, 9)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.05)
    return seen


def kill_unleased() -> dict[int, int]:
    """Kill every process of a sandbox uid (``SANDBOX_UID`` .. ``+ UID_RANGE``) whose lease no
    grader holds any more: what a finished (or crashed) grader's notebooks left running. The uids
    of graders still at work are left alone; each uid killed is locked meanwhile, so no new
    grader leases it half-way. Returns ``{uid: processes seen}``. Only for a root grader."""
    if os.geteuid() != 0:
        return {}
    lo, hi = sandbox.SANDBOX_UID, sandbox.SANDBOX_UID + sandbox.UID_RANGE
    uids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                uid = os.stat(f"/proc/{entry}").st_uid
            except OSError:
                continue
            if lo <= uid < hi:
                uids.add(uid)
    killed = {}
    for uid in sorted(uids):
        fd = sandbox.try_lock_uid(uid)
        if fd is None:  # a grader at work holds it
            continue
        try:
            killed[uid] = kill_uid(uid)
        finally:
            os.close(fd)
    return killed


def _processes_of(uid: int) -> list[int]:
    """The live processes of ``uid`` (a zombie is dead already: only its parent can reap it)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid != uid:
                    continue
            except OSError:
                continue
            fields = _stat_fields(entry)
            if fields and fields[0] not in (b"Z", b"X"):
                out.append(int(entry))
    return out


def _stat_fields(pid: str) -> list[bytes]:
    """The fields of ``/proc/PID/stat`` after the command name (state, ppid, ...); empty when
    the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return []


async def _run_worker(
    job: dict,
    *,
    home: Path | None,
    view: sandbox.View,
    use_sandbox: bool,
    limits: Limits,
    on_event: Any,
    group: sandbox.Cgroup | None = None,
) -> str | None:
    """Start the worker (in bwrap unless ``use_sandbox`` is False), feed it ``job``, pass each
    event to ``on_event``; returns a problem description or None. Every process is gone when
    this returns. In a sandbox the home is a tmpfs (``home`` is not used); without one it is
    ``home``, and a root grader's worker still drops to the job's uid when that uid can run
    Python (then every process of that uid is killed before this returns)."""
    argv = [sys.executable, "-m", "course_utils.grading.runner"]
    if use_sandbox:
        env = _worker_env(sandbox.HOME)
        job = {**job, "cwd": sandbox.HOME}
        cmd = sandbox.join_command(
            group,
            sandbox.command(
                view, argv, env, home_bytes=limits.home_bytes, tmp_bytes=limits.tmp_bytes
            ),
        )
        cwd = None
    else:
        assert home is not None
        env = _worker_env(str(home))
        env["PYTHONPATH"] = str(view.root)  # the stubbed course_utils first on the path
        uid = int(job["uid"]) if os.geteuid() == 0 and unprivileged_python() is None else 0
        job = {**job, "cwd": str(home), "uid": uid, "nproc": False}
        cmd = sandbox.join_command(group, argv)
        cwd = str(home)
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # a small read-ahead: the pipe, not this process, holds what the worker sends before the
        # grader has judged the previous event (read_line below enforces the event cap)
        limit=READ_CHUNK,
        cwd=cwd,
        env=env if not use_sandbox else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        start_new_session=True,
    )
    stderr_tail = bytearray()

    async def drain_stderr() -> None:
        while chunk := await proc.stderr.read(65536):
            if len(stderr_tail) < 8192:
                stderr_tail.extend(chunk[: 8192 - len(stderr_tail)])

    pending = bytearray()

    async def read_line() -> bytes:
        """The next line (b"" at the end), read in chunks of READ_CHUNK; ValueError past the cap."""
        scanned = 0
        while True:
            i = pending.find(b"\n", scanned)
            if i >= 0:
                line = bytes(pending[: i + 1])
                del pending[: i + 1]
                return line
            if len(pending) > MAX_LINE_BYTES:
                raise ValueError("line longer than the cap")
            scanned = len(pending)
            chunk = await proc.stdout.read(READ_CHUNK)
            if not chunk:
                line = bytes(pending)
                pending.clear()
                return line
            pending.extend(chunk)

    async def read_events() -> str | None:
        received = 0
        done = False
        while True:
            try:
                line = await read_line()
            except ValueError:
                return "the sandbox sent a message larger than the cap; it was stopped"
            if not line:
                break
            received += len(line)
            if received > MAX_WORKER_BYTES:
                return "the sandbox sent more than the cap; it was stopped"
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                if event.get("event") == "done":
                    done = True
                on_event(event)
        if not done:
            tail = clean(bytes(stderr_tail).decode("utf-8", "replace"), 200)
            return "the sandbox ended before the worker finished" + (f" ({tail})" if tail else "")
        return None

    problem: str | None = None
    stderr_task = asyncio.ensure_future(drain_stderr())
    try:
        proc.stdin.write(json.dumps(job).encode())
        await proc.stdin.drain()
        proc.stdin.close()
        # the worker keeps the limits on the submission's clock, which runs up to MAX_STRETCH
        # times slower than the wall clock on a busy machine; this is only the backstop
        wall = (limits.notebook_timeout + limits.startup * 2) * MAX_STRETCH + 30
        problem = await asyncio.wait_for(read_events(), wall)
    except asyncio.TimeoutError:
        problem = "the sandbox ran past its wall-clock limit and was stopped"
    except (BrokenPipeError, ConnectionResetError):
        problem = "the sandbox did not start"
    finally:
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
        await proc.wait()
        stderr_task.cancel()
        if not use_sandbox and int(job.get("uid") or 0):
            kill_uid(int(job["uid"]))
    return problem


def unprivileged_python() -> str | None:
    """None when a process of another, unprivileged uid can run this Python and read the
    virtual environment (every folder on the way world-searchable); otherwise why not."""
    for path in (Path(sys.executable).resolve(), *(r for r in sandbox.python_roots())):
        for folder in [*reversed(path.parents), path] if path.is_dir() else reversed(path.parents):
            try:
                mode = folder.stat().st_mode
            except OSError as err:
                return f"{folder}: {err.strerror}"
            if not mode & 0o001:
                return f"{folder} is not searchable by other users"
    return None


def _defining_cell(nb: Any, name: str) -> int | None:
    pattern = re.compile(rf"^\s*(def\s+{re.escape(name)}\s*\(|{re.escape(name)}\s*=)", re.M)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and pattern.search(str(cell.source)):
            return index
    return None


async def grade_submission_async(
    path: Path,
    limits: Limits,
    rng: np.random.Generator,
    *,
    use_sandbox: bool = True,
    exercise: str | None = None,
    label: str | None = None,
    slot: int = 0,
    views: _Views | None = None,
) -> SubmissionReport:
    """Grade one submission file; always returns a report, never raises."""
    start = time.monotonic()
    label = clean(label or str(path), 1000)
    nb, reason = read_submission(Path(path))
    if nb is None:
        return SubmissionReport(label, None, "error", 0.0, 0.0, [], clean(reason), 0.0)
    chosen, flag = identify_exercise(nb, Path(path), exercise)
    if chosen is None or not questions_for(chosen):
        reason = (
            f"unknown exercise {chosen!r}"
            if chosen
            else "cannot tell which exercise this is (no metadata.course.exercise, unknown file "
            "name); use --exercise NAME"
        )
        return SubmissionReport(label, None, "error", 0.0, 0.0, [], clean(reason), 0.0)
    questions = questions_for(chosen)
    max_score = sum(q.points for q in questions)
    token = secrets.token_hex(8)
    plan: dict[str, tuple[Question, list[Call]]] = {}
    requests = []
    for q in questions:
        calls = q.check.calls(rng)
        request = request_for(q, calls, time_limit=limits.call_timeout)
        request["nonce"] = f"{token}:{q.id}"
        # per call: the kernel's CPU time (load-independent), with a wall-time backstop
        request["clock"], request["wall_limit"] = "cpu", limits.call_timeout * MAX_STRETCH
        plan[q.id] = (q, calls)
        requests.append(
            {
                "qid": q.id,
                "name": q.name,
                "nonce": request["nonce"],
                "code": harness_cell_source(request),
                "budget": limits.call_timeout * max(1, len(calls)) + 10,
            }
        )
    cells = [[i, str(c.source)] for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"]
    job = {
        "cells": cells,
        "requests": requests,
        "cell_timeout": limits.cell_timeout,
        "notebook_timeout": limits.notebook_timeout,
        "reserve": sum(r["budget"] for r in requests),
        "interrupt_grace": limits.interrupt_grace,
        "output_chars": limits.output_chars,
        # a uid no other grader on this machine holds, with or without the sandbox: a fixed uid
        # under --no-sandbox was shared with another grader's leased one, and RLIMIT_NPROC then
        # counted both graders' processes (a kernel died before replying, in CI); the Gradescope
        # fallback kills what is left of it once the lease is free (kill_unleased)
        "uid": sandbox.lease_uid(slot),
        # in a sandbox of an ordinary user, RLIMIT_NPROC counts only the sandbox's user namespace
        "nproc": use_sandbox and sandbox.nproc_is_per_namespace(),
        "submission": json.dumps(nb),
        "rlimits": sandbox.rlimits(
            memory_bytes=limits.memory_bytes,
            cpu_seconds=int(limits.notebook_timeout * 2 + limits.startup),
            file_bytes=limits.file_bytes,
            processes=limits.processes,
        ),
    }
    results: dict[str, QuestionResult] = {}
    absent: dict[str, dict] = {}
    missing: dict[str, str] = {}
    failed_cells: dict[int, str] = {}
    notes: list[str] = [flag] if flag else []
    older = version_note(chosen, notebook_version(nb))  # an older copy: say what changed since
    if older:
        notes.append(older)

    def on_event(event: dict) -> None:
        kind = event.get("event")
        qid = event.get("qid")
        if kind == "answer" and qid in plan and qid not in results:
            q, calls = plan[qid]
            answer = event.get("answer")
            if isinstance(answer, dict) and not answer.get("found"):
                absent[qid] = answer  # judged at the end, with the failed cell as the reason
            else:
                results[qid] = judge(q, calls, answer if isinstance(answer, dict) else None)
        elif kind == "missing" and qid in plan:
            missing.setdefault(qid, clean(event.get("text", "")))
        elif kind == "cell" and isinstance(event.get("index"), int):
            failed_cells.setdefault(event["index"], clean(event.get("text", "")))
        elif kind in ("note", "fatal"):
            text = clean(event.get("text", ""))
            notes.append(text if kind == "note" else f"the kernel could not run: {text}")

    own_views = views is None
    views = views or _Views()
    # in a sandbox the home is a capped tmpfs: nothing of the submission's goes on the host disk
    home = None if use_sandbox else Path(tempfile.mkdtemp(prefix="course-grade-home-"))
    group = None
    try:
        group = sandbox.make_cgroup(
            f"course-grade-{os.getpid()}-{slot}-{token}",
            memory_bytes=limits.sandbox_memory_bytes,
            pids=limits.sandbox_processes,
        )
        view = views.get(chosen)
        problem = await _run_worker(
            job, home=home, view=view, use_sandbox=use_sandbox, limits=limits,
            on_event=on_event, group=group,
        )  # fmt: skip
        if problem:
            notes.append(problem)
        if group is not None and group.oom_kills():
            notes.append(
                f"the sandbox reached its memory cap ({limits.sandbox_memory_bytes / 2**30:g} "
                "GiB for all its processes): a process was killed"
            )
    except Exception as err:  # noqa: BLE001 - the grader must always produce a report
        notes.append(clean(f"grader failure: {type(err).__name__}: {err}"))
    finally:  # neither can raise: a judged result is never lost to cleanup
        if group is not None:
            group.close()
        if home is not None:
            sandbox.remove_tree(home)
        if own_views:
            views.close()

    out = []
    for q in questions:
        if q.id in results:
            out.append(results[q.id])
            continue
        reason = missing.get(q.id, "")
        where = _defining_cell(nb, q.name)
        if not reason and where is not None and where in failed_cells:
            reason = f"cell {where + 1}, which defines it, {failed_cells[where]}"
        elif not reason and failed_cells:
            first = min(failed_cells)
            reason = f"cell {first + 1} {failed_cells[first]}"
        answer = absent.get(q.id)
        out.append(
            judge(
                q,
                plan[q.id][1],
                answer,
                missing=reason or ("" if answer else "no answer came back"),
            )
        )
    for r in out:
        r.message = clean(r.message)
    for index in sorted(failed_cells):
        notes.append(f"cell {index + 1} {failed_cells[index]}")
    score = min(round(sum(r.points for r in out), 2), max_score)
    error = clean("; ".join(notes[:MAX_NOTES]), 2000) if notes else None
    return SubmissionReport(
        label, chosen, "graded", score, max_score, out, error, time.monotonic() - start
    )


def grade_submission(
    path: str | Path,
    *,
    limits: Limits | None = None,
    use_sandbox: bool = True,
    exercise: str | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Grade one submission: path in, DESIGN.md's result dict out (the JSON entry)."""
    if use_sandbox:
        sandbox.require()
    rng = np.random.default_rng(
        seed if seed is not None else int.from_bytes(os.urandom(16), "little")
    )
    views = _Views()
    try:
        report = asyncio.run(
            grade_submission_async(
                Path(path), limits or Limits(), rng, use_sandbox=use_sandbox,
                exercise=exercise, views=views,
            )
        )  # fmt: skip
    finally:
        views.close()
    return report.as_dict()


def grade_paths(
    paths: list[Path],
    *,
    limits: Limits | None = None,
    jobs: int = 1,
    seed: int | None = None,
    use_sandbox: bool = True,
    exercise: str | None | Sequence[str | None] = None,
) -> list[SubmissionReport]:
    """Grade every file in ``paths`` with at most ``jobs`` sandboxes at once; reports in order.

    ``exercise`` forces the exercise of every submission (a name), or of each one (a sequence
    as long as ``paths``, ``None`` where the notebook's own name and metadata decide).

    ``seed`` fixes the grader's input draws (for debugging); by default they come from
    ``os.urandom``. Raises :class:`~course_utils.grading.sandbox.SandboxUnavailable` when
    ``use_sandbox`` and no sandbox can be started. Returns after every sandbox is gone.
    """
    if use_sandbox:
        sandbox.require()
    limits = limits or Limits()
    base = np.random.SeedSequence(
        seed if seed is not None else int.from_bytes(os.urandom(16), "little")
    )
    rngs = [np.random.default_rng(s) for s in base.spawn(len(paths))]
    if exercise is None or isinstance(exercise, str):
        forced_list = [exercise] * len(paths)
    else:
        forced_list = list(exercise)
        if len(forced_list) != len(paths):
            raise ValueError(
                f"exercise must be a name or one entry per path ({len(paths)}), got {len(forced_list)}"
            )
    views = _Views()

    async def main() -> list[SubmissionReport]:
        slots: asyncio.Queue[int] = asyncio.Queue()
        for i in range(max(1, jobs)):
            slots.put_nowait(i)

        async def one(path: Path, rng: np.random.Generator, forced: str | None) -> SubmissionReport:
            slot = await slots.get()
            try:
                return await grade_submission_async(
                    path, limits, rng, use_sandbox=use_sandbox, exercise=forced,
                    slot=slot, views=views,
                )  # fmt: skip
            except Exception as err:  # noqa: BLE001 - last line of defence
                return SubmissionReport(
                    clean(str(path), 1000), None, "error", 0.0, 0.0, [],
                    clean(f"grader failure: {err}"),
                )  # fmt: skip
            finally:
                slots.put_nowait(slot)

        return list(
            await asyncio.gather(
                *(one(p, r, f) for p, r, f in zip(paths, rngs, forced_list, strict=True))
            )
        )

    try:
        return asyncio.run(main())
    finally:
        views.close()


if __name__ == "__main__":
    sys.exit(worker_main())
