"""Build steps: student notebooks from solutions, and in-place execution of notebooks.

``python -m course_utils.grading.build exercises SOLUTIONS_DIR EXERCISES_DIR``
    For every ``SOLUTIONS_DIR/NN_topic.ipynb`` write ``EXERCISES_DIR/NN_topic.ipynb``: each
    region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes the region's
    ``# HINT:`` line plus ``raise NotImplementedError(...)`` (markdown regions become
    "_Your answer here._"), outputs and execution counts are cleared, solution cells are tagged
    ``raises-exception`` (so nbval runs the student version), and ``metadata.course`` records the
    exercise and its registered questions. The solution itself gets nbgrader's cell metadata
    (``solution: true``, ``grade_id``, ``schema_version: 3``) when it lacks it, so it also loads
    into an nbgrader course unchanged. Same semantics as ``nbgrader.preprocessors.ClearSolutions``
    (a marker is any line containing ``BEGIN SOLUTION``; a solution cell without markers is
    replaced whole), without nbgrader as a dependency.
``python -m course_utils.grading.build execute PATH [PATH ...]``
    Execute notebooks (files or folders of them) in place with nbclient, kernel ``python3`` from
    this environment, working directory the notebook's folder; outputs are kept for committing.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any

import nbformat

# The environment every notebook kernel runs in, here and under nbval: defined in
# course_utils.kernel_env (the one place it is written), re-exported here.
from course_utils.kernel_env import KERNEL_ENV
from course_utils.notebook_runner import execute_notebook

__all__ = ["KERNEL_ENV", "build_exercises", "execute_notebook", "make_exercise", "stamp_solution"]

BEGIN = "BEGIN SOLUTION"
END = "END SOLUTION"
TEXT_STUB = "_Your answer here._"
CODE_STUB = 'raise NotImplementedError("Replace this line with your solution.")'
HINT = re.compile(r"^\s*#\s*HINT:\s*(?P<hint>.+?)\s*$", re.IGNORECASE)
RAISES = "raises-exception"


def _replace_regions(source: str, cell_type: str, where: str) -> tuple[str, bool]:
    """Replace every solution region of ``source``; return the new source and whether any was."""
    lines = source.split("\n")
    out: list[str] = []
    inside = False
    replaced = False
    region: list[str] = []
    indent = ""
    for line in lines:
        if BEGIN in line:
            if inside:
                raise ValueError(f"{where}: nested '{BEGIN}'")
            inside, replaced, region = True, True, []
            indent = re.match(r"\s*", line).group(0)
        elif END in line:
            if not inside:
                raise ValueError(f"{where}: '{END}' without '{BEGIN}'")
            inside = False
            if cell_type == "code":
                hints = [m.group("hint") for m in map(HINT.match, region) if m]
                if not hints:
                    raise ValueError(f"{where}: a solution region needs a '# HINT: ...' line")
                out.append(f"{indent}# Hint: {hints[0]}")
                out.append(f"{indent}{CODE_STUB}")
            else:
                out.append(TEXT_STUB)
        elif inside:
            region.append(line)
        else:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{BEGIN}' without '{END}'")
    return "\n".join(out), replaced


def _has_region(cell: Any) -> bool:
    return any(BEGIN in line for line in cell.source.split("\n"))


def _grade_id(cell: Any, index: int, used: set[str]) -> str:
    qid = cell.metadata.get("course", {}).get("question")
    match = re.search(r"^\s*def\s+([A-Za-z_]\w*)", cell.source, re.M)
    base = qid or (match.group(1) if match else f"answer_{index + 1}")
    grade_id, k = base, 2
    while grade_id in used:
        grade_id, k = f"{base}_{k}", k + 1
    used.add(grade_id)
    return grade_id


def _exercise_meta(name: str) -> dict:
    from course_utils.grading.registry import exercise_info, questions_for

    meta = {
        "exercise": name,
        "questions": [
            {"id": q.id, "name": q.name, "points": q.points} for q in questions_for(name)
        ],
    }
    version = exercise_info(name).version
    if version is not None:  # the grader names what changed since an older copy's version
        meta["version"] = version
    return meta


def stamp_solution(nb: Any, name: str) -> bool:
    """Give solution cells nbgrader's metadata and the notebook ``metadata.course``; True when
    something changed. Existing ``grade_id`` s are kept."""
    before = nbformat.writes(nb)
    used = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type not in ("code", "markdown") or not _has_region(cell):
            continue
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id") or _grade_id(cell, index, used)
        cell.metadata["nbgrader"] = {
            "grade": False,
            "grade_id": grade_id,
            "locked": False,
            "schema_version": 3,
            "solution": True,
        }
    nb.metadata["course"] = _exercise_meta(name)
    return nbformat.writes(nb) != before


def make_exercise(solution: Any, name: str) -> Any:
    """The student notebook for the solution notebook ``solution`` (not modified)."""
    nb = copy.deepcopy(solution)
    for index, cell in enumerate(nb.cells):
        where = f"{name} cell {index + 1}"
        is_solution = bool(cell.metadata.get("nbgrader", {}).get("solution"))
        replaced = False
        if cell.cell_type in ("code", "markdown"):
            cell.source, replaced = _replace_regions(cell.source, cell.cell_type, where)
        if is_solution and not replaced:
            cell.source = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
            if replaced or is_solution:
                tags = list(cell.metadata.get("tags", []))
                if RAISES not in tags:
                    tags.append(RAISES)
                cell.metadata["tags"] = tags
    nb.metadata["course"] = _exercise_meta(name)
    return nb


def build_exercises(solutions: Path, exercises: Path) -> list[Path]:
    """Write an exercise for every solution notebook; stamp solutions that lack metadata."""
    exercises.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sorted(solutions.glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        if stamp_solution(nb, src.stem):
            nbformat.write(nb, src)
            print(f"stamped nbgrader metadata into {src}")
        dst = exercises / src.name
        text = nbformat.writes(make_exercise(nb, src.stem)) + "\n"
        if not dst.exists() or dst.read_text(encoding="utf-8") != text:
            dst.write_text(text, encoding="utf-8")
        written.append(dst)
        print(f"{src} -> {dst}")
    return written


def _notebooks(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(
                sorted(x for x in p.glob("*.ipynb") if ".ipynb_checkpoints" not in x.parts)
            )
        elif p.suffix == ".ipynb" and p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(f"not a notebook or folder: {p}")
    return found


def main(argv: list[str] | None = None) -> int:
    """``exercises SOLUTIONS EXERCISES`` or ``execute PATH...``."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.grading.build")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("exercises", help="generate student notebooks from solutions")
    ex.add_argument("solutions", type=Path)
    ex.add_argument("exercises", type=Path)
    run = sub.add_parser("execute", help="execute notebooks in place")
    run.add_argument("paths", nargs="+")
    run.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    if args.command == "exercises":
        if not args.solutions.is_dir():
            parser.error(f"not a folder: {args.solutions}")
        build_exercises(args.solutions, args.exercises)
        return 0
    try:
        paths = _notebooks(args.paths)
    except FileNotFoundError as err:
        parser.error(str(err))
    for path in paths:
        seconds = execute_notebook(path, timeout=args.timeout)
        print(f"executed {path} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
