"""The student release (``make release``): no answers in it, and ``check()`` works from it alone.

What the fresh-venv test proves: the release is installed (as a wheel built from the release
folder, ``--no-deps``) into a new virtual environment that has no ``course_utils`` of its own; the
third-party packages (numpy, matplotlib, torch) come from the course's .venv through a path entry
(``.pth``) that adds its site-packages folder *after* the new environment's own, so neither the
editable instructor install (its finder is a ``.pth`` in that folder, which Python does not
process from a path entry) nor ``solutions/`` is importable. In that environment every graded
solution of every exercise earns full marks from ``check()``'s verdict (``run_checks``) and a stub
(``raise NotImplementedError``) earns 0, on the visible inputs stored at build time.
"""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

from course_utils import release
from course_utils.grading.registry import all_questions, exercises, questions_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "release"
    summary = release.build(out, ROOT)
    return out, summary


def _texts(out: Path) -> dict[Path, str]:
    texts = {}
    for p in out.rglob("*"):
        if p.is_file():
            try:
                texts[p] = p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                pass
    return texts


def test_release_holds_the_course_without_solutions(built):
    out, summary = built
    assert (out / "notebooks" / "00_why_initialization.ipynb").is_file()
    for ex in exercises():
        assert (out / "exercises" / f"{ex}.ipynb").is_file()
    assert not (out / "solutions").exists()
    assert not (out / "tests").exists()
    assert (out / "course_utils" / "grading" / "questions" / "visible.json").is_file()
    assert sorted(p.name for p in (out / "course_utils/grading/questions").iterdir()) == [
        "__init__.py", "shipped_checks.py", "stored_questions.py", "visible.json",
    ]  # fmt: skip
    assert not (out / "course_utils" / "release.py").exists()
    assert "course-release" not in (out / "pyproject.toml").read_text()
    assert summary["questions"] == len(all_questions())
    texts = _texts(out)
    assert not [p for p, t in texts.items() if p.suffix == ".ipynb" and "BEGIN SOLUTION" in t]
    assert not [p for p, t in texts.items() if release.solution_regions(t)]


def test_no_reference_source_in_the_release(built):
    """No reference function, hidden-input generator or known-mistake helper of a question
    module is defined anywhere in the release, and each stubbed library object's definition is
    gone from its module."""
    out, summary = built
    py = "\n".join(t for p, t in _texts(out).items() if p.suffix == ".py")
    qdir = ROOT / "course_utils" / "grading" / "questions"
    defined = []
    for path in sorted(qdir.glob("ex*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef):
                defined.append(node.name)
    refs = [n for n in defined if n.endswith(("_reference", "_calls", "_hidden", "_ref"))]
    assert len(refs) >= 20
    leaked = [n for n in refs if f"def {n}(" in py]
    assert not leaked
    # the generators of the shipped property checks are gone too
    assert (
        "def calls(" not in (out / "course_utils/grading/questions/shipped_checks.py").read_text()
    )
    assert summary["stubbed"], "nothing was stubbed"
    for name in summary["stubbed"]:
        module, _, attr = name.rpartition(".")
        obj = getattr(__import__(module, fromlist=[attr]), attr)
        body = inspect.getsource(obj)
        released = out.joinpath(*module.split(".")).with_suffix(".py").read_text()
        assert body not in released, name
        assert f"{attr} = _CourseGradingUnavailable(" in released


def test_stubbed_objects_are_unused_by_the_lectures(built):
    out, summary = built
    for nb in sorted((out / "notebooks").glob("*.ipynb")):
        code = "\n".join(
            c.source for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code"
        )
        for name in summary["stubbed"]:
            assert name.rpartition(".")[2] not in code, (nb.name, name)


def _solution_cells(exercise: str) -> tuple[str, list[str]]:
    """The solution's setup cell and its graded cells (nbgrader grade_id = a question id)."""
    ids = {q.id for q in questions_for(exercise)}
    cells = [
        c for c in nbformat.read(ROOT / "solutions" / f"{exercise}.ipynb", as_version=4).cells
        if c.cell_type == "code"
    ]  # fmt: skip
    graded = [c.source for c in cells[1:] if c.metadata.get("nbgrader", {}).get("grade_id") in ids]
    return cells[0].source, graded


VENV_SCRIPT = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
import course_utils
from course_utils.grading import run_checks
from course_utils.grading.registry import questions_for, load_errors
assert load_errors() == {}, load_errors()
try:
    import course_utils.grading.questions.ex03_lecun
    sys.exit("the instructor's question modules are importable")
except ImportError:
    pass
plan = json.load(sys.stdin)
report = {"file": course_utils.__file__, "solution": {}, "stub": {}}
for exercise, (setup, graded) in plan.items():
    ns = {}
    exec(compile(setup, "setup", "exec"), ns)
    for src in graded:
        exec(compile(src, "solution", "exec"), ns)
    for q in questions_for(exercise):
        r = run_checks(q.id, ns[q.name])
        report["solution"][q.id] = [r.points, r.max_points, r.message]
        def stub(*args, **kwargs):
            raise NotImplementedError
        report["stub"][q.id] = [run_checks(q.id, stub if callable(ns[q.name]) else None).points]
print(json.dumps(report))
"""


def test_check_works_in_a_fresh_venv_from_the_release(built, tmp_path):
    out, _ = built
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(out)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    wheel = next(wheels.glob("course_utils-*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps",
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    (site / "zz_course_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    plan = {ex: _solution_cells(ex) for ex in exercises()}
    proc = subprocess.run(
        [str(py), "-c", VENV_SCRIPT], input=json.dumps(plan), capture_output=True, text=True,
        cwd=tmp_path, timeout=900, env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
                                        "OPENBLAS_NUM_THREADS": "1", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["file"].startswith(str(venv)), report["file"]
    assert len(report["solution"]) == len(all_questions())
    not_full = {k: v for k, v in report["solution"].items() if v[0] != v[1]}
    assert not not_full
    assert all(v[0] == 0 for v in report["stub"].values()), report["stub"]
