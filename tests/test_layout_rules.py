"""The layout's import rules (shared/DESIGN.md, "Layout intent"), checked by reading the source.

Only the syntax tree is read (``ast``): nothing here imports the modules it judges, so a broken
rule is reported as the offending ``file:line`` instead of as a side effect of importing. The one
exception is the last test, which imports ``course_utils.lsuv`` in a fresh interpreter with torch
made unimportable.

"Module level" means any import the interpreter runs when the module is imported: top-level
statements, including those inside ``if``/``try`` and class bodies, but not function bodies
(a function may import torch lazily when it is called).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "course_utils"

#: the numpy engine: the science that must run without torch (and the lecture drivers built on it)
NUMPY_ENGINE = (
    "initializers",
    "activations",
    "network",
    "theory",
    "lsuv",
    "isometry",
    "modern",
    "data",
    "experiments",
)
#: the only library modules allowed to import torch at module level
TORCH_MODULES = {"course_utils.training", "course_utils.modern_torch"}


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, *, module_level_only: bool, root: Path = ROOT) -> list[tuple[str, int]]:
    """Every module an ``import`` in ``path`` names, fully qualified, with its line.

    ``from a.b import c`` yields both ``a.b`` and ``a.b.c`` (``c`` may be a submodule); relative
    imports are resolved against ``path``'s package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if module_level_only and isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            ):
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package[: len(package) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                found.append((base, child.lineno))
                found.extend((f"{base}.{alias.name}", child.lineno) for alias in child.names)
            visit(child)

    visit(tree)
    return found


def _library_files() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(LIB.rglob("*.py"))}


def _module_level_closure(start: list[str], files: dict[str, Path]) -> dict[str, str]:
    """Every name reached by module-level imports from ``start`` (library modules are followed,
    with their parent packages' ``__init__``); maps each name to the module that imported it."""
    seen: dict[str, str] = {}
    todo = [(name, "<start>") for name in start]
    while todo:
        name, via = todo.pop()
        if name in seen:
            continue
        seen[name] = via
        parts = name.split(".")
        for i in range(1, len(parts)):  # importing a.b.c runs a/__init__ and a/b/__init__
            parent = ".".join(parts[:i])
            if parent not in seen:
                todo.append((parent, name))
        if name in files:
            todo.extend(
                (target, name)
                for target, _ in _imports(files[name], module_level_only=True)
                if target not in seen
            )
    return seen


def _is_torch(name: str) -> bool:
    return name == "torch" or name.startswith("torch.")


# --------------------------------------------------------------------------- torch


@pytest.mark.parametrize("stem", NUMPY_ENGINE)
def test_numpy_engine_never_reaches_torch_at_module_level(stem):
    """Directly or through another library module imported at module level."""
    files = _library_files()
    name = f"course_utils.{stem}"
    assert name in files, f"{name} is missing: update NUMPY_ENGINE"
    reached = _module_level_closure([name], files)
    bad = sorted(f"{n} (imported by {via})" for n, via in reached.items() if _is_torch(n))
    assert not bad, f"{name} imports torch when imported: {bad}"


def _module_level_offenders(files: dict, bad) -> list[str]:
    """``path:line imports target`` for every module-level import, outside TORCH_MODULES, of a
    target for which ``bad(target)`` holds."""
    return [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for name, path in files.items()
        if name not in TORCH_MODULES
        for target, line in _imports(path, module_level_only=True)
        if bad(target)
    ]


def test_only_training_and_modern_torch_import_torch_at_module_level():
    files = _library_files()
    offenders = _module_level_offenders(files, _is_torch)
    assert not offenders, offenders
    for name in TORCH_MODULES:  # the rule names real files
        assert name in files, name


def test_no_library_module_pulls_in_a_torch_module_at_module_level():
    """A module-level ``from course_utils.training import ...`` would import torch too."""
    files = _library_files()
    offenders = _module_level_offenders(
        files, lambda target: any(target == t or target.startswith(t + ".") for t in TORCH_MODULES)
    )
    assert not offenders, offenders


def test_lsuv_imports_without_torch():
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "import course_utils.lsuv\n"
        "assert sys.modules['torch'] is None\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]


# --------------------------------------------------------------------------- grading


QUESTIONS = "course_utils.grading.questions"


def _engine_files() -> list[Path]:
    files = sorted((LIB / "grading").glob("*.py"))
    assert any(p.name == "registry.py" for p in files)
    return [p for p in files if p.name != "registry.py"]


@pytest.mark.parametrize("path", _engine_files(), ids=lambda p: p.name)
def test_grading_engine_reaches_the_questions_only_through_the_registry(path):
    """Anywhere in the file (function bodies too): no import of the questions package or of a
    question module; ``registry.questions_for`` and friends are the door."""
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for target, line in _imports(path, module_level_only=False)
        if target == QUESTIONS
        or target.startswith(QUESTIONS + ".")
        or target.split(".")[-1] == "questions"
    ]
    assert not bad, bad


def test_the_registry_is_what_imports_the_questions():
    """The rule above is about a real door: the registry does import the questions package."""
    targets = {t for t, _ in _imports(LIB / "grading" / "registry.py", module_level_only=False)}
    assert any(t == QUESTIONS or t.startswith(QUESTIONS + ".") for t in targets)


# --------------------------------------------------------------------------- bench, notebooks


def test_bench_never_imports_grading():
    """Neither benchmarks/run.py itself (any import, anywhere in it) nor any library module it
    imports at module level."""
    bench = ROOT / "benchmarks" / "run.py"
    direct = _imports(bench, module_level_only=False)
    bad = [f"run.py:{line} imports {t}" for t, line in direct if t.startswith("course_utils.grading")]
    assert not bad, bad
    files = _library_files()
    reached = _module_level_closure(
        [t for t, _ in direct if t.startswith("course_utils")], files
    )
    bad = sorted(
        f"{n} (imported by {via})"
        for n, via in reached.items()
        if n == "course_utils.grading" or n.startswith("course_utils.grading.")
    )
    assert not bad, bad


NOTEBOOK_PACKAGES = ("notebooks", "exercises", "solutions", "import_ipynb", "ipynb")


def test_nothing_in_the_library_imports_a_notebook():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in _library_files().values()
        for target, line in _imports(path, module_level_only=False)
        if target.split(".")[0] in NOTEBOOK_PACKAGES
    ]
    assert not offenders, offenders


# --------------------------------------------------------------------------- the checker itself


def test_the_import_reader_sees_what_it_must(tmp_path):
    """The rules above can fail: the reader finds torch under ``try``, relative imports, and
    skips function bodies only when asked."""
    pkg = tmp_path / "course_utils" / "grading"
    pkg.mkdir(parents=True)
    src = pkg / "fake.py"
    src.write_text(
        "try:\n    import torch.nn\nexcept ImportError:\n    pass\n"
        "from .questions import ex01\n"
        "def f():\n    from course_utils import training\n",
        encoding="utf-8",
    )
    top = {t for t, _ in _imports(src, module_level_only=True, root=tmp_path)}
    every = {t for t, _ in _imports(src, module_level_only=False, root=tmp_path)}
    assert "torch.nn" in top
    assert "course_utils.grading.questions.ex01" in top
    assert "course_utils.training" not in top
    assert "course_utils.training" in every


def test_lsuv_torch_variant_lives_beside_the_torch_code():
    """The numpy LSUV module holds no torch code at all (not even a lazy import): its PyTorch
    variant is course_utils.torch_lsuv, re-exported by name."""
    source = (ROOT / "course_utils" / "lsuv.py").read_text()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not any(a.name.split(".")[0] == "torch" for a in node.names)
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith(("torch", "course_utils.training"))
    torch_side = ast.parse((ROOT / "course_utils" / "torch_lsuv.py").read_text())
    defined = {n.name for n in torch_side.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert {"lsuv_torch", "layer_variances_torch", "default_variances_torch",
            "training_comparison", "LayerReport"} <= defined  # fmt: skip
