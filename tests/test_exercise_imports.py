"""What a graded answer may use is imported for the student: every module an exercise's
ALLOWED_IMPORTS names is imported by the student notebook's first code cell, so an answer that
uses it (math.erf, math.sqrt) works in the graded notebook as it did in a scratch file
(a timed solve lost 8 of 12 points of exercise 04 to a NameError on `math`)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = sorted((ROOT / "exercises").glob("0*.ipynb"))


def _setup_imports(path: Path) -> set[str]:
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    names: set[str] = set()
    for node in ast.walk(ast.parse(cell.source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_allowed_modules_are_imported_in_the_setup_cell(path):
    from course_utils.grading import registry

    registry.questions_for(path.stem)  # load the registry before reading the module
    module = importlib.import_module(f"course_utils.grading.questions.ex{path.stem}")
    allowed = getattr(module, "ALLOWED_IMPORTS", ("numpy", "math"))
    imported = _setup_imports(path)
    for name in allowed:
        assert name in imported or any(i.startswith(name + ".") for i in imported), (
            f"{path.name}: answers may use {name}, but the setup cell does not import it"
        )
