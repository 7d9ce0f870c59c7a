"""Near-copies of graded functions, flagged for the instructor (never a penalty).

Each graded function is read from the notebook's JSON in the grader's own process (the last
top-level ``def`` of its name in the code cells, parsed with :mod:`ast`; student code is never
run for this) and reduced to a *fingerprint*: the sequence of its syntax-tree nodes with every
identifier renamed in order of first use (``v0``, ``v1``, ...), docstrings and comments gone,
attribute names (``np.sqrt``) and constants kept. Two fingerprints are compared with
:class:`difflib.SequenceMatcher` (the share of matching nodes, 0..1).

A function is flagged when it is at least :data:`THRESHOLD` similar to

* a *reference* of its question: the source of each library object the question lists in
  ``forbidden=`` and every function of the question's module; or
* the same function of another submission of the same exercise in the same run, unless both are
  the *canonical* answer: at least :data:`THRESHOLD` similar to the model solution's function
  (the solution notebook's, when the repository's ``solutions/`` folder is there). A short
  initializer has one natural form, and every honest student writes it (a timed solve's
  three-line ``glorot_uniform`` was "98 % similar to the model solution"): matching it is not a
  sign of copying, so neither it nor two students who both wrote it are flagged.

Short functions (fewer than :data:`MIN_NODES` nodes) are never flagged: a one-line answer is
written the same way by everyone. A flag says "look at this", nothing more: similar code can be
honest (a small function has few reasonable forms), and a reworded copy can slip under the bar.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import inspect
import re
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "MIN_NODES",
    "THRESHOLD",
    "find_copies",
    "fingerprint",
    "function_node",
    "reference_fingerprints",
    "similarity",
]

THRESHOLD = 0.92
MIN_NODES = 40
_MAGIC = re.compile(r"^\s*[%!].*$", re.MULTILINE)
_SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


def _cell_sources(nb: Any) -> list[str]:
    cells = nb.get("cells", []) if isinstance(nb, dict) else getattr(nb, "cells", [])
    out = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        out.append("".join(source) if isinstance(source, list) else str(source))
    return out


def function_node(nb: Any, name: str) -> ast.AST | None:
    """The last top-level ``def name`` (or ``class name``) in the notebook's code cells, or None.
    Cells that do not parse are skipped; IPython ``%magic`` and ``!shell`` lines are blanked."""
    found = None
    for source in _cell_sources(nb):
        try:
            tree = ast.parse(_MAGIC.sub("", source))
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.name == name:
                    found = node
    return found


def _strip_docstrings(node: ast.AST) -> None:
    for sub in ast.walk(node):
        body = getattr(sub, "body", None)
        if (
            isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module))
            and isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            sub.body = body[1:] or [ast.Pass()]


def fingerprint(node: ast.AST) -> tuple[str, ...]:
    """The node sequence of ``node`` with identifiers renamed in order of first use, docstrings
    dropped, the function's own name ignored."""
    tree = ast.parse(ast.unparse(node))  # a private copy (and no comments, by construction)
    _strip_docstrings(tree)
    names: dict[str, str] = {}

    def canon(identifier: str) -> str:
        return names.setdefault(identifier, f"v{len(names)}")

    out: list[str] = []
    top = tree.body[0] if tree.body else tree
    for sub in ast.walk(top):
        kind = type(sub).__name__
        if sub is top:
            out.append(kind)
        elif isinstance(sub, ast.Name):
            out.append(f"Name:{canon(sub.id)}")
        elif isinstance(sub, ast.arg):
            out.append(f"arg:{canon(sub.arg)}")
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append(f"{kind}:{canon(sub.name)}")
        elif isinstance(sub, ast.Attribute):
            out.append(f"Attribute:{sub.attr}")
        elif isinstance(sub, ast.Constant):
            out.append(f"Constant:{sub.value!r}"[:60])
        elif isinstance(sub, ast.keyword):
            out.append(f"keyword:{sub.arg}")
        elif not isinstance(sub, (ast.Load, ast.Store, ast.Del, ast.expr_context)):
            out.append(kind)
    return tuple(out)


def similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of matching nodes between two fingerprints (1.0: identical up to renaming)."""
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _object_node(qualname: str) -> ast.AST | None:
    module_name, _, attr = qualname.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except Exception:  # noqa: BLE001 - a builtin, a C function, a missing optional module
        return None
    return tree.body[0] if tree.body else None


@functools.lru_cache(maxsize=256)
def reference_fingerprints(exercise: str, name: str) -> list[tuple[str, tuple[str, ...]]]:
    """``(label, fingerprint)`` of every reference of the question graded under ``name`` in
    ``exercise`` (see the module's description)."""
    from course_utils.grading.registry import questions_for

    out: list[tuple[str, tuple[str, ...]]] = []
    for q in questions_for(exercise):
        if q.name != name:
            continue
        for qualname in q.forbidden:
            node = _object_node(qualname)
            if node is not None:
                out.append((f"the library's {qualname}", fingerprint(node)))
        for holder in (f"course_utils.grading.questions.ex{exercise}",):
            try:
                tree = ast.parse(inspect.getsource(importlib.import_module(holder)))
            except Exception:  # noqa: BLE001
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    out.append((f"{holder}.{node.name}", fingerprint(node)))
    return out


@functools.lru_cache(maxsize=256)
def canonical_fingerprint(exercise: str, name: str) -> tuple[str, ...] | None:
    """The fingerprint of the model solution's ``name`` (None without ``solutions/``)."""
    import json

    solution = _SOLUTIONS / f"{exercise}.ipynb"
    if not solution.is_file():
        return None
    try:
        node = function_node(json.loads(solution.read_text(encoding="utf-8")), name)
    except (OSError, ValueError):
        return None
    return None if node is None else fingerprint(node)


def find_copies(
    submissions: Iterable[tuple[str, str, str, Any]],
    *,
    threshold: float = THRESHOLD,
    min_nodes: int = MIN_NODES,
) -> dict[str, list[str]]:
    """Flags per submission key for ``(key, student, exercise, notebook)`` entries.

    Each graded function of the exercise (its questions' names) is compared with its references
    (:func:`reference_fingerprints`) and with the same function of every other submission of
    that exercise by another student. Returns ``{key: [flag, ...]}`` for flagged keys only.
    """
    from course_utils.grading.registry import questions_for

    by_exercise: dict[str, list[tuple[str, str, Any]]] = {}
    for key, student, exercise, nb in submissions:
        by_exercise.setdefault(exercise, []).append((key, student, nb))
    flags: dict[str, list[str]] = {}
    for exercise, entries in by_exercise.items():
        names = list(dict.fromkeys(q.name for q in questions_for(exercise)))
        for name in names:
            refs = [(lab, fp) for lab, fp in reference_fingerprints(exercise, name)
                    if len(fp) >= min_nodes]  # fmt: skip
            canonical = canonical_fingerprint(exercise, name)
            prints = []
            for key, student, nb in entries:
                node = function_node(nb, name)
                fp = fingerprint(node) if node is not None else ()
                if len(fp) < min_nodes:
                    continue
                usual = canonical is not None and similarity(fp, canonical) >= threshold
                prints.append((key, student, fp, usual))
                best = max(((similarity(fp, r), lab) for lab, r in refs), default=(0.0, ""))
                if best[0] >= threshold:
                    flags.setdefault(key, []).append(
                        f"`{name}` is a near-copy ({best[0]:.0%} similar) of {best[1]}"
                    )
            for i, (key_a, who_a, fp_a, usual_a) in enumerate(prints):
                for key_b, who_b, fp_b, usual_b in prints[i + 1 :]:
                    if usual_a and usual_b:  # both wrote the natural form: no evidence
                        continue
                    if who_a == who_b or not _may_match(fp_a, fp_b, threshold):
                        continue
                    score = similarity(fp_a, fp_b)
                    if score >= threshold:
                        flags.setdefault(key_a, []).append(
                            f"`{name}` is {score:.0%} similar to {who_b}'s ({key_b})"
                        )
                        flags.setdefault(key_b, []).append(
                            f"`{name}` is {score:.0%} similar to {who_a}'s ({key_a})"
                        )
    return flags


def _may_match(a: Sequence[str], b: Sequence[str], threshold: float) -> bool:
    """Cheap upper bounds first: lengths, then the multiset bound of ``quick_ratio``."""
    if 2 * min(len(a), len(b)) / (len(a) + len(b)) < threshold:
        return False
    return difflib.SequenceMatcher(None, a, b, autojunk=False).quick_ratio() >= threshold
