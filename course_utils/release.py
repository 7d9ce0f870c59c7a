"""The student release: the tree a class receives, without the answers.

``make release`` (``course-release build build/release`` or ``python -m course_utils.release
build OUT``) writes ``OUT`` with

* ``notebooks/`` (the lectures, with their outputs) and ``exercises/`` (the student versions);
* the library ``course_utils/`` with the grading engine, where
  - ``grading/questions/`` holds no question module: no reference, no hidden-input generator, no
    known-mistake formula. Instead ``visible.json`` stores, for every question, what the judge
    needs on the *visible* inputs (the expected values, computed here once through the
    reference; the target variances of the initializer questions), and ``stored_questions.py``
    registers checks built from it (:mod:`course_utils.grading.stored`), so ``check()`` gives the
    same verdict on the visible inputs as in the instructor's install;
  - every library object that a question lists in ``forbidden=`` and that no lecture, no exercise
    import and no other part of the library uses is stubbed at the source level, exactly as the
    grader's sandbox view does (:func:`course_utils.grading.sandbox.stub_source`). Objects that
    the lectures call (``network.forward``, ``initializers.he_normal``, ...) stay: the lectures
    show and use them, and the course is built on them;
  - this module is left out (instructor tooling);
* ``README.md``, ``LICENSE``, ``pyproject.toml`` (without the ``course-release`` command),
  ``constraints.txt`` and ``environment.yml``.

Left out: ``solutions/``, ``tests/``, ``benchmarks/``, ``tools/``, ``deploy/``, ``docs/``, ``.git``.
:func:`verify` refuses a tree that holds a solution region, a question module or the source of a
stubbed object; the build runs it last.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import re
import shutil
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ReleaseError", "build", "main", "question_spec", "stubbed_objects", "verify"]

#: Files and folders of the course copied into the release, relative to the course folder.
COPIED = ("notebooks", "exercises", "README.md", "LICENSE", "pyproject.toml", "constraints.txt",
          "environment.yml")  # fmt: skip
SOLUTION_MARK = "BEGIN SOLUTION"


class ReleaseError(RuntimeError):
    """The release cannot be built (or is not clean); the message says why."""


# ------------------------------------------------------------------------------------------------
# what the release stores per question
# ------------------------------------------------------------------------------------------------
def _visible_variances(check: Any) -> dict[str, float]:
    from course_utils.grading.checks import _fans

    table = {}
    for call in check.calls(None):
        shape = tuple(call.args[0])
        fan_in, fan_out = _fans(shape, call.kwargs.get("layout", "in_out"))
        table[f"{fan_in},{fan_out}"] = float(check.variance(fan_in, fan_out))
    return table


def _stored(
    check: Any, reference: Any, *, mistakes: dict, rtol: float, atol: float, hints: dict, main: Any
) -> dict:
    from course_utils.grading.predictions import materialize
    from course_utils.grading.stored import call_key, calls_to_json, expectation

    calls = check.calls(None)
    expected, wrong = {}, {label: {} for label in mistakes}
    for call in calls:
        args, kwargs = materialize(tuple(call.args)), materialize(dict(call.kwargs))
        key = call_key(args, kwargs)
        expected[key] = expectation(
            reference, materialize(tuple(call.args)), materialize(dict(call.kwargs))
        )
        for label, formula in mistakes.items():
            got = expectation(
                formula, materialize(tuple(call.args)), materialize(dict(call.kwargs))
            )
            if "value" in got:  # a formula that does not apply to this input is left out
                wrong[label][key] = got
    return {
        "kind": "stored",
        "calls": calls_to_json(calls),
        "expected": expected,
        "mistakes": {label: t for label, t in wrong.items() if t},
        "rtol": float(rtol),
        "atol": float(atol),
        "hints": dict(hints),
        "main": main,
    }


#: Modules whose objects a shipped check class may import (the engine, the library, numpy).
SHIPPABLE_MODULES = ("course_utils.grading.checks", "course_utils.grading.predictions",
                     "course_utils.grading.harness", "numpy", "math", "typing", "collections.abc")  # fmt: skip


def _library_module(module: str) -> bool:
    return (
        module.startswith("course_utils.")
        and not module.startswith(("course_utils.grading.questions", "course_utils.release"))
        or module.startswith(SHIPPABLE_MODULES)
    )


def _ship_source(obj: Any, shipped: dict[str, str], seen: set[str]) -> None:
    """Add ``obj`` (a class or function of a question module) to ``shipped`` with everything of
    its module that it uses: engine and library imports, constants, helper functions. A class
    loses its ``calls`` method (the input generator). Reference functions (``*_reference``) and
    input generators (``*_calls``) are never shipped."""
    name = obj.__name__
    if name in seen:
        return
    seen.add(name)
    if name.endswith(("_reference", "_calls", "_hidden")):
        raise ReleaseError(f"{obj.__module__}.{name} would ship a reference or an input generator")
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    node = tree.body[0]
    if isinstance(node, ast.ClassDef):
        node.body = [
            n for n in node.body if not (isinstance(n, ast.FunctionDef) and n.name == "calls")
        ]
    module = sys.modules[obj.__module__]
    head = []
    for used in sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)}):
        if used not in vars(module) or used == name:
            continue  # a builtin, a local, or itself
        value = vars(module)[used]
        origin = getattr(value, "__module__", None) or ""
        if isinstance(value, types.ModuleType):
            if not _library_module(value.__name__):
                raise ReleaseError(f"{name} uses the module {value.__name__}")
            head.append(f"import {value.__name__} as {used}")
        elif origin == obj.__module__ and isinstance(value, (type, types.FunctionType)):
            _ship_source(value, shipped, seen)
        elif _library_module(origin) and hasattr(value, "__qualname__"):
            head.append(f"from {origin} import {value.__qualname__} as {used}")
        elif (
            isinstance(value, (int, float, str, bool, tuple))
            and ast.literal_eval(repr(value)) == value
        ):
            head.append(f"{used} = {value!r}")
        else:
            raise ReleaseError(
                f"{name} uses {used} from {obj.__module__}, which the release cannot ship "
                "(not an engine or library import, a constant or a helper of that module)"
            )
    shipped[name] = "\n".join(head) + ("\n\n" if head else "") + ast.unparse(node) + "\n"


def _fan_inputs(calls: list) -> list[tuple[int, int]]:
    from course_utils.grading.checks import _fans

    fans = []
    for call in calls:
        shape = call.args[0] if call.args else None
        if isinstance(shape, tuple) and len(shape) >= 2 and all(isinstance(d, int) for d in shape):
            pair = _fans(shape, call.kwargs.get("layout", "in_out"))
            if pair not in fans:
                fans.append(pair)
    return fans


def _attribute(value: Any, calls: list, shipped: dict[str, str], where: str) -> Any:
    """A shipped check's attribute as JSON: nested checks as specs, functions of the fans as
    tables over the visible fans, data as is."""
    from course_utils.grading.checks import QuestionCheck, _wire

    if isinstance(value, QuestionCheck):
        return {"__check__": check_spec(value, shipped, where)}
    if isinstance(value, dict):
        return {str(k): _attribute(v, calls, shipped, where) for k, v in value.items()}
    if callable(value):
        fans = _fan_inputs(calls)
        if not fans:
            raise ReleaseError(f"{where}: a function attribute outside an initializer question")
        return {"__variances__": {f"{fi},{fo}": float(value(fi, fo)) for fi, fo in fans}}
    return _wire(value)


def check_spec(check: Any, shipped: dict[str, str], where: str) -> dict:
    """What the release stores for one check (nested checks included); shipped class sources are
    added to ``shipped`` (name -> source)."""
    from course_utils.grading.checks import (
        DeterministicCheck,
        InitializerCheck,
        QuestionCheck,
        _wire,
    )
    from course_utils.grading.predictions import GatedCheck, ModeInitializerCheck, PredictedCheck
    from course_utils.grading.stored import calls_to_json

    name = type(check).__name__
    if isinstance(check, GatedCheck):
        return {"kind": "gated", "inner": check_spec(check.inner, shipped, where),
                "main": list(check.main)}  # fmt: skip
    if isinstance(check, InitializerCheck):
        return {
            "kind": "initializer",
            "variances": _visible_variances(check),
            "family": check.family,
            "variance_label": check.variance_label,
            "layouts": list(check.layouts),
            "dtype": str(check.dtype),
            "kwargs": _wire(dict(check.kwargs)),
            "z": check.z,
        }
    if isinstance(check, ModeInitializerCheck):
        return {
            "kind": "mode_initializer",
            "family": check.by_mode["fan_in"].family,
            "label": check.label,
            "variances": {m: _visible_variances(c) for m, c in check.by_mode.items()},
        }
    if isinstance(check, DeterministicCheck):
        spec = _stored(
            check, check.reference, mistakes=dict(getattr(check, "mistakes", {}) or {}),
            rtol=check.rtol, atol=check.atol, hints=check.hints, main=check.main,
        )  # fmt: skip
        own_verdict = type(check).verdict not in (
            DeterministicCheck.verdict,
            PredictedCheck.verdict,
        )
        if own_verdict:  # the subclass's verdict ships; its reference is the stored table
            _ship_source(type(check), shipped, set(shipped))
            spec["class"] = name
        return spec
    if name == "PredictionCheck":  # exercise 07: values (main) and raises groups
        return _stored(
            check, check.reference, mistakes=dict(check.mistakes), rtol=check.rtol, atol=1e-12,
            hints={"values": check.hint}, main="values",
        )  # fmt: skip
    if name == "StreamCheck":  # exercise 07: the library's simulation is the reference
        reference = sys.modules[type(check).__module__]._modern().stream_stds
        return _stored(
            check, reference, mistakes={}, rtol=1e-6, atol=1e-12, main="values",
            hints={"values": "one root mean square over the whole (batch, width) array before "
                   "the first block and after every block"},
        )  # fmt: skip
    if isinstance(check, QuestionCheck) and not hasattr(check, "reference"):
        _ship_source(type(check), shipped, set(shipped))
        calls = check.calls(None)
        return {
            "kind": "shipped",
            "class": name,
            "calls": calls_to_json(calls),
            "attributes": {k: _attribute(v, calls, shipped, where) for k, v in vars(check).items()},
        }
    raise ReleaseError(f"{where}: no way to store a {name} check in a release")


def question_spec(q: Any, shipped: dict[str, str]) -> dict:
    """What the release stores for question ``q`` (a registered Question)."""
    return {
        "check": check_spec(q.check, shipped, f"question {q.id}"),
        "id": q.id, "exercise": q.exercise, "name": q.name, "points": q.points,
        "title": q.title, "forbidden": list(q.forbidden),
    }  # fmt: skip


QUESTIONS_INIT = '''"""The course's questions in a student release: stored visible expectations only.

``visible.json`` holds, per question, the visible inputs and what the judge needs on them (written
by ``course_utils.release`` from the instructor's references); ``stored_questions`` registers
them. The references and the grader's hidden inputs are not part of this release.
"""
'''
STORED_QUESTIONS = '''"""Register the questions stored in ``visible.json`` (see course_utils.grading.stored)."""

from pathlib import Path

from course_utils.grading.questions import shipped_checks
from course_utils.grading.stored import register_file

register_file(Path(__file__).with_name("visible.json"), shipped_checks)
'''


def questions_package(dest: Path) -> dict:
    """Write the release's ``grading/questions`` package into ``dest``; the stored data."""
    from course_utils.grading.registry import all_questions, load_errors

    errors = load_errors()
    if errors:
        raise ReleaseError(f"question modules failed to load: {errors}")
    shipped: dict[str, str] = {}
    data = {"questions": [question_spec(q, shipped) for q in all_questions()]}
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "__init__.py").write_text(QUESTIONS_INIT, encoding="utf-8")
    (dest / "stored_questions.py").write_text(STORED_QUESTIONS, encoding="utf-8")
    body = "\n\n".join(shipped.values())  # dependencies first
    (dest / "shipped_checks.py").write_text(
        '"""Property checks shipped to students: no reference, no input generator."""\n\n'
        "# ruff: noqa\n" + body,
        encoding="utf-8",
    )
    (dest / "visible.json").write_text(json.dumps(data, indent=None, sort_keys=True), "utf-8")
    return data


# ------------------------------------------------------------------------------------------------
# which library objects the release stubs
# ------------------------------------------------------------------------------------------------
def _identifiers(tree: ast.AST, skip: ast.AST | None = None) -> set[str]:
    out: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if node is skip:
            continue
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.alias):
            out.add(node.name.rsplit(".", 1)[-1])
            if node.asname:
                out.add(node.asname)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _code_cells(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            src = "".join(cell.get("source", []))
            cells.append(
                "\n".join(
                    line for line in src.splitlines() if not line.lstrip().startswith(("%", "!"))
                )
            )
    return "\n".join(cells)


def _exercise_imports(tree: ast.AST) -> set[str]:
    """Library names an exercise notebook imports or reaches as attributes (its own definitions
    of a graded name, and the ``check(...)`` calls on them, do not count)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
    return out


def stubbed_objects(root: Path) -> list[str]:
    """The ``forbidden=`` library objects that the release stubs: those that no lecture
    (``notebooks/``), no exercise import and no other code of the library (outside the question
    modules) uses. Sorted fully qualified names."""
    import course_utils
    from course_utils.grading.registry import all_questions
    from course_utils.grading.sandbox import module_file

    package = Path(course_utils.__file__).resolve().parent
    used: set[str] = set()
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        used |= _identifiers(ast.parse(_code_cells(nb)))
    for nb in sorted((root / "exercises").glob("*.ipynb")):
        used |= _exercise_imports(ast.parse(_code_cells(nb)))
    modules = {
        p: ast.parse(p.read_text(encoding="utf-8"))
        for p in sorted(package.rglob("*.py"))
        if "questions" not in p.relative_to(package).parts and p.name != "release.py"
    }
    names = sorted(
        {f for q in all_questions() for f in q.forbidden if f.startswith("course_utils.")}
    )
    out = []
    for name in names:
        module, _, attr = name.rpartition(".")
        source = module_file(module)
        if source is None or attr in used:
            continue
        home = modules.get(source.resolve())
        definition = None
        if home is not None:
            definition = next((n for n in home.body if attr in _defined(n)), None)
        if definition is None:
            continue  # not a top-level definition of that module: nothing to stub
        elsewhere = any(
            attr in _identifiers(tree, skip=definition if path == source.resolve() else None)
            for path, tree in modules.items()
        )
        if not elsewhere:
            out.append(name)
    return out


def _defined(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    return set()


# ------------------------------------------------------------------------------------------------
# build and verify
# ------------------------------------------------------------------------------------------------
def _ignore(folder: str, names: list[str]) -> set[str]:
    return {
        n
        for n in names
        if n in ("__pycache__", ".ipynb_checkpoints") or n.endswith((".pyc", ".egg-info"))
    }


def build(out: Path, root: Path = Path(".")) -> dict:
    """Write the student release of the course at ``root`` into ``out`` (replaced); a summary
    ``{"files": n, "bytes": size, "stubbed": [...], "questions": n}``."""
    import course_utils
    from course_utils.grading.sandbox import module_file, stub_source

    root, out = Path(root).resolve(), Path(out).resolve()
    if not (root / "notebooks").is_dir() or not (root / "exercises").is_dir():
        raise ReleaseError(
            f"root must be the course folder (with notebooks/ and exercises/), got {root}"
        )
    if out == root or root in out.parents and out.parent == root:
        if out.name in COPIED or out.name in ("course_utils", "solutions"):
            raise ReleaseError(f"out must not be a folder of the course itself, got {out}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for item in COPIED:
        src = root / item
        if src.is_dir():
            shutil.copytree(src, out / item, ignore=_ignore)
        elif src.is_file():
            shutil.copy2(src, out / item)
    pyproject = out / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^course-release = .*\n", "", text)
        if "[tool.setuptools.package-data]" not in text:  # the stored expectations ship as data
            text += (
                '\n[tool.setuptools.package-data]\n"course_utils.grading.questions" = ["*.json"]\n'
            )
        pyproject.write_text(text, encoding="utf-8")

    package = Path(course_utils.__file__).resolve().parent
    dest = out / "course_utils"
    shutil.copytree(package, dest, ignore=_ignore)
    (dest / "release.py").unlink(missing_ok=True)
    _strip_authoring_docs(dest)
    shutil.rmtree(dest / "grading" / "questions")
    data = questions_package(dest / "grading" / "questions")

    stubbed = stubbed_objects(root)
    by_module: dict[str, set[str]] = {}
    for name in stubbed:
        module, _, attr = name.rpartition(".")
        by_module.setdefault(module, set()).add(attr)
    for module, attrs in sorted(by_module.items()):
        original = module_file(module)
        assert original is not None
        target = dest / original.resolve().relative_to(package)
        target.write_text(stub_source(target.read_text(encoding="utf-8"), module, attrs), "utf-8")
    verify(out, stubbed)
    files = [p for p in out.rglob("*") if p.is_file()]
    return {
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "stubbed": stubbed,
        "questions": len(data["questions"]),
    }


def solution_regions(text: str) -> int:
    """How many solution regions ``text`` holds: a line with ``BEGIN SOLUTION`` whose next
    marker line has ``END SOLUTION``, with at least one non-blank line between them."""
    found, start = 0, None
    for i, line in enumerate(text.splitlines()):
        if SOLUTION_MARK in line:
            start = i
        elif "END SOLUTION" in line:
            if start is not None and any(x.strip() for x in text.splitlines()[start + 1 : i]):
                found += 1
            start = None
    return found


def _strip_authoring_docs(dest: Path) -> None:
    """The grading package's docstring teaches authors how to add a question with a worked
    solution region; the release keeps a pointer instead."""
    init = dest / "grading" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    text = re.sub(
        r"How to add a graded question\n-+\n.*?(?=\nSee ``docs/grading.md``)",
        "How to add a graded question: see the instructor's repository (this is a student "
        "release).\n",
        text,
        flags=re.S,
    )
    init.write_text(text, encoding="utf-8")


def verify(out: Path, stubbed: list[str] | None = None) -> None:
    """Raise :class:`ReleaseError` when ``out`` holds a solution region, a ``solutions`` folder,
    an instructor question module, or a definition of a stubbed object."""
    out = Path(out)
    problems = []
    if (out / "solutions").exists():
        problems.append("solutions/ is present")
    allowed = {"__init__.py", "stored_questions.py", "shipped_checks.py", "visible.json"}
    questions = out / "course_utils" / "grading" / "questions"
    extra = (
        sorted(p.name for p in questions.iterdir() if p.name not in allowed)
        if questions.is_dir()
        else []
    )
    if extra:
        problems.append(f"question modules in the release: {extra}")
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        # a notebook may not even mention the marker; elsewhere (the builder's docs name it) a
        # region is a BEGIN line whose next marker line is an END line, with content between
        if SOLUTION_MARK in text if path.suffix == ".ipynb" else solution_regions(text):
            problems.append(f"{path.relative_to(out)} holds a solution region")
    for name in stubbed or []:
        module, _, attr = name.rpartition(".")
        file = out.joinpath(*module.split(".")).with_suffix(".py")
        if not file.is_file():
            file = out.joinpath(*module.split("."), "__init__.py")
        if file.is_file() and re.search(
            rf"(?m)^(async )?def {re.escape(attr)}\(|^class {re.escape(attr)}\b",
            file.read_text("utf-8"),
        ):
            problems.append(f"{name} is still defined in {file.relative_to(out)}")
    if problems:
        raise ReleaseError("the release is not clean: " + "; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-release", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write the student release into OUT (replaced)")
    b.add_argument("out", type=Path)
    b.add_argument("--root", type=Path, default=Path("."), help="the course folder (default .)")
    args = parser.parse_args(argv)
    try:
        summary = build(args.out, args.root)
    except ReleaseError as err:
        print(f"course-release: {err}", file=sys.stderr)
        return 1
    print(
        f"release written to {args.out}: {summary['files']} files, "
        f"{summary['bytes'] / 2**20:.1f} MiB, {summary['questions']} questions judged from "
        f"stored visible expectations, {len(summary['stubbed'])} library references stubbed"
    )
    for name in summary["stubbed"]:
        print(f"  stubbed: {name}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
