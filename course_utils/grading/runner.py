"""Grade submitted notebooks: execute each in a fresh kernel, call the graded names there on
inputs drawn now, judge the plain results here.

Guarantees
----------
* The submission file is only read, never written; the kernel runs in an empty temporary folder.
* Student code runs only in the kernel (a separate process). The kernel receives the harness as
  source text read from this package's files, so patching ``numpy`` or ``course_utils.grading``
  inside the notebook does not change how results are judged: the verdict is computed in this
  process, with this process's numpy, from arrays and numbers sent back as JSON (no pickle).
* Inputs (shapes, seeds, numbers) are drawn at grading time from a generator seeded by
  ``os.urandom``, so a notebook cannot be tuned to them.
* Per-cell and whole-notebook time limits, a per-call limit inside the kernel, outputs dropped
  past a cap, errors in one cell do not stop later cells. A kernel that dies is restarted (up to
  twice) with the offending cell skipped, so work before and after it still counts.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from course_utils.grading import harness
from course_utils.grading.checks import Call, QuestionResult
from course_utils.grading.judge import judge, request_for
from course_utils.grading.registry import Question, exercises, questions_for

HARNESS_SOURCE = Path(harness.__file__).read_text(encoding="utf-8")
MAX_NOTES = 8
MAX_KERNELS = 5  # a kernel that dies is restarted with the offending cell skipped


@dataclass
class Limits:
    """Time and size limits for one submission."""

    cell_timeout: float = 60.0
    notebook_timeout: float = 300.0
    call_timeout: float = 10.0
    output_chars: int = 2_000_000


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

    def as_dict(self) -> dict[str, Any]:
        """``{"submission", "exercise", "status", "score", "max_score", "questions", "error"}``."""
        return {
            "submission": self.submission,
            "exercise": self.exercise,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "questions": [q.as_dict() for q in self.questions],
            "error": self.error,
        }


def harness_cell_source(request: dict) -> str:
    """Code for the kernel: load the harness from source text, run one question, publish."""
    return (
        "def __course_grading__():\n"
        "    ns = {'__name__': '__course_grading_harness__'}\n"
        f"    exec(compile({HARNESS_SOURCE!r}, '<course-grading>', 'exec'), ns)\n"
        f"    ns['kernel_main'](globals(), __import__('json').loads({json.dumps(request)!r}))\n"
        "__course_grading__()\n"
    )


def identify_exercise(nb: Any, path: Path) -> str | None:
    """``metadata.course.exercise`` if it names a known exercise, else from the file name."""
    known = exercises()
    meta = nb.get("metadata", {}).get("course", {}) if isinstance(nb, dict) else {}
    name = meta.get("exercise") if isinstance(meta, dict) else None
    if isinstance(name, str) and name in known:
        return name
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


class _Client(NotebookClient):
    """NotebookClient that keeps no outputs: it records errors, harness answers and volume."""

    def __init__(self, *args: Any, output_limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: list[dict] = []
        self.errors: list[tuple[int, str]] = []
        self.timeouts: list[int] = []
        self.output_seen = 0
        self.output_limit = output_limit
        self.current = -1

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> None:
        msg_type = msg.get("msg_type")
        content = msg.get("content") or {}
        data = content.get("data") or {}
        if msg_type in ("display_data", "execute_result") and harness.MIME in data:
            if isinstance(data[harness.MIME], dict):
                self.answers.append(data[harness.MIME])
            return None
        if msg_type == "error":
            ename, evalue = str(content.get("ename", "Error")), str(content.get("evalue", ""))
            self.errors.append(
                (cell_index, f"{ename}: {evalue.splitlines()[0][:200] if evalue else ''}")
            )
            return None
        self.output_seen += len(str(content.get("text", ""))) + sum(
            len(str(v)) for v in data.values()
        )
        return None  # outputs are counted, never kept: nothing to flood

    async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> Any:
        self.timeouts.append(self.current)
        return await super()._async_handle_timeout(timeout, cell)


@dataclass
class _Session:
    answers: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failed_cells: dict[int, str] = field(default_factory=dict)
    died_cell: int | None = None
    died_question: str | None = None
    overtime: bool = False
    fatal: str | None = None


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MPLBACKEND="Agg",
        PYTHONHASHSEED="0",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    return env


async def _session(
    nb: Any,
    skip: set[int],
    requests: list[tuple[Question, dict, float]],
    limits: Limits,
    deadline: float,
) -> _Session:
    """One kernel: run the notebook's code cells (minus ``skip``), then each question's harness."""
    out = _Session()
    work = copy.deepcopy(nb)
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        client = _Client(
            work,
            timeout=max(1, math.ceil(limits.cell_timeout)),
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": "Timeout", "evalue": "cell timed out", "traceback": []},
            record_timing=False,
            shutdown_kernel="immediate",
            iopub_timeout=2,
            resources={"metadata": {"path": tmp}},
            output_limit=limits.output_chars,
        )
        client.km = client.create_kernel_manager()
        client.km.transport = "ipc"
        client.km.ip = os.path.join(tmp, "kernel-ipc")

        async def run(cell: Any, index: int, timeout: float) -> str:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "overtime"
            client.timeout = max(1, math.ceil(min(timeout, remaining)))
            client.current = index
            try:
                await asyncio.wait_for(client.async_execute_cell(cell, index), remaining + 10)
            except DeadKernelError:
                return "dead"
            except asyncio.TimeoutError:
                return "overtime"
            return "ok"

        try:
            async with client.async_setup_kernel(cwd=tmp, env=_kernel_env()):
                for index, cell in enumerate(list(work.cells)):
                    if cell.cell_type != "code" or index in skip:
                        continue
                    cell.outputs = []
                    status = await run(cell, index, limits.cell_timeout)
                    if status == "dead":
                        out.died_cell = index
                        return out
                    if status == "overtime":
                        out.overtime = True
                        return out
                    if index in client.timeouts:
                        out.failed_cells[index] = (
                            f"timed out after {client.timeout} s and was interrupted"
                        )
                    for err_index, text in client.errors:
                        if err_index == index and index not in out.failed_cells:
                            out.failed_cells[index] = f"raised {text}"
                for q, request, budget in requests:
                    cell = nbformat.v4.new_code_cell(harness_cell_source(request))
                    work.cells.append(cell)
                    index = len(work.cells) - 1
                    status = await run(cell, index, budget)
                    if status == "dead":
                        out.died_question = q.id
                        return out
                    if status == "overtime":
                        out.overtime = True
                        return out
                    for answer in client.answers:
                        if answer.get("nonce") == request["nonce"]:
                            out.answers[q.id] = answer
                            break
                    if q.id not in out.answers and index in client.timeouts:
                        out.notes.append(f"calling `{q.name}` hung and was interrupted")
        except Exception as err:  # noqa: BLE001 - kernel start failures and the like
            out.fatal = f"{type(err).__name__}: {err}"
        if client.output_seen > limits.output_chars:
            out.notes.append(
                f"the notebook printed {client.output_seen:,} characters; output is not kept"
            )
    return out


def _defining_cell(nb: Any, name: str) -> int | None:
    pattern = re.compile(rf"^\s*(def\s+{re.escape(name)}\s*\(|{re.escape(name)}\s*=)", re.M)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and pattern.search(cell.source):
            return index
    return None


async def grade_notebook_async(
    path: Path, limits: Limits, rng: np.random.Generator, label: str | None = None
) -> SubmissionReport:
    """Grade one submission file; always returns a report, never raises."""
    start = time.monotonic()
    label = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no cells")
    except Exception as err:  # noqa: BLE001
        reason = f"not a readable notebook: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
        return SubmissionReport(
            label, None, "error", 0.0, 0.0, [], reason, time.monotonic() - start
        )
    exercise = identify_exercise(nb, path)
    if exercise is None:
        reason = (
            "cannot tell which exercise this is (no metadata.course.exercise, unknown file name)"
        )
        return SubmissionReport(
            label, None, "error", 0.0, 0.0, [], reason, time.monotonic() - start
        )
    questions = questions_for(exercise)
    max_score = sum(q.points for q in questions)
    token = secrets.token_hex(8)
    plan: dict[str, tuple[Question, list[Call], dict, float]] = {}
    for q in questions:
        calls = q.check.calls(rng)
        request = request_for(q, calls, time_limit=limits.call_timeout)
        request["nonce"] = f"{token}:{q.id}"
        budget = limits.call_timeout * max(1, len(calls)) + 10
        plan[q.id] = (q, calls, request, budget)

    deadline = time.monotonic() + limits.notebook_timeout
    answers: dict[str, dict] = {}
    missing: dict[str, str] = {}
    notes: list[str] = []
    failed_cells: dict[int, str] = {}
    skip: set[int] = set()
    pending = [q.id for q in questions]
    for _attempt in range(MAX_KERNELS):
        requests = [(plan[i][0], plan[i][2], plan[i][3]) for i in pending]
        s = await _session(nb, skip, requests, limits, deadline)
        answers.update(s.answers)
        notes.extend(n for n in s.notes if n not in notes)
        failed_cells.update(s.failed_cells)
        pending = [i for i in pending if i not in answers]
        if s.fatal:
            notes.append(f"the kernel could not run: {s.fatal}")
            for i in pending:
                missing[i] = "the notebook could not be executed"
            break
        if s.overtime:
            notes.append(
                f"the notebook ran past the {limits.notebook_timeout:g} s limit and was stopped"
            )
            for i in pending:
                missing[i] = (
                    f"not graded: the notebook ran past the {limits.notebook_timeout:g} s limit"
                )
            break
        if s.died_cell is not None:
            skip.add(s.died_cell)
            failed_cells[s.died_cell] = (
                "killed the kernel (os._exit or a crash); skipped on a fresh kernel"
            )
            continue
        if s.died_question is not None:
            q = plan[s.died_question][0]
            missing[q.id] = f"calling `{q.name}` killed the kernel (os._exit or a crash)"
            pending = [i for i in pending if i != q.id]
            if pending:
                continue
        break
    else:
        for i in pending:
            missing.setdefault(i, "not graded: the kernel kept dying")

    results = []
    for q in questions:
        _, calls, _, _ = plan[q.id]
        reason = missing.get(q.id, "")
        where = _defining_cell(nb, q.name)
        if not reason and where is not None and where in failed_cells:
            reason = f"cell {where + 1}, which defines it, {failed_cells[where]}"
        elif not reason and failed_cells:
            first = min(failed_cells)
            reason = f"cell {first + 1} {failed_cells[first]}"
        results.append(judge(q, calls, answers.get(q.id), missing=reason))
    for index in sorted(failed_cells):
        notes.append(f"cell {index + 1} {failed_cells[index]}")
    score = round(sum(r.points for r in results), 2)
    error = "; ".join(notes[:MAX_NOTES]) if notes else None
    return SubmissionReport(
        label, exercise, "graded", score, max_score, results, error, time.monotonic() - start
    )


def grade_paths(
    paths: list[Path],
    *,
    limits: Limits | None = None,
    jobs: int = 1,
    seed: int | None = None,
) -> list[SubmissionReport]:
    """Grade every file in ``paths`` with at most ``jobs`` kernels at once; reports in order.

    ``seed`` fixes the grader's input draws (for debugging); by default they come from
    ``os.urandom``.
    """
    limits = limits or Limits()
    base = np.random.SeedSequence(
        seed if seed is not None else int.from_bytes(os.urandom(16), "little")
    )
    rngs = [np.random.default_rng(s) for s in base.spawn(len(paths))]

    async def main() -> list[SubmissionReport]:
        gate = asyncio.Semaphore(max(1, jobs))

        async def one(path: Path, rng: np.random.Generator) -> SubmissionReport:
            async with gate:
                try:
                    return await grade_notebook_async(path, limits, rng)
                except Exception as err:  # noqa: BLE001 - last line of defence
                    return SubmissionReport(
                        str(path), None, "error", 0.0, 0.0, [], f"grader failure: {err}"
                    )

        return list(await asyncio.gather(*(one(p, r) for p, r in zip(paths, rngs, strict=True))))

    return asyncio.run(main())
