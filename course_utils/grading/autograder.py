"""Gradescope autograder: build the zip for one exercise, and the code that runs inside it.

``make autograder EXERCISE=03_lecun`` (``python -m course_utils.grading.autograder build
03_lecun``) writes ``build/autograder/03_lecun.zip`` holding

* ``setup.sh`` - run once by Gradescope when it builds the image: installs Python, bubblewrap and
  the course wheel that sits next to it with the ``[grade]`` extra, pinned by ``constraints.txt``
  (also in the zip); PyTorch's CPU build only when grading the exercise needs torch
  (:func:`needs_torch`), and then only from PyTorch's CPU index on x86-64: if that index does not
  answer, setup stops with an error instead of installing the multi-GB CUDA build;
* ``run_autograder`` - run once per submission: grades ``$ROOT/submission/*.ipynb`` with the
  course grader and writes ``$ROOT/results/results.json`` in Gradescope's format;
* ``course_utils-*.whl`` - this course, built from the working tree.

``ROOT`` is ``/autograder`` on Gradescope; ``AUTOGRADER_ROOT`` overrides it (the tests unzip into
a temporary folder). A grade written to ``results.json`` is never one the submission could forge
(:func:`safe_mode`):

* where bubblewrap can start, each submission runs in the grader's sandbox;
* otherwise (Gradescope's default containers often forbid user namespaces), when the autograder
  runs as root and an unprivileged user can run its Python, the kernel runs as a uid of its own
  (leased from :data:`~course_utils.grading.sandbox.SANDBOX_UID` up) that cannot write to
  ``ROOT/results``
  (root's, mode 0755, no folder above it writable by others), the installed ``course_utils`` and
  ``ROOT/source`` (which holds the wheel) are made unreadable to it (mode 0700: only the stubbed
  view can be imported), and every process of that uid is killed (once the grader, and its
  lease, ended) before ``results.json`` is written;
* where neither holds, ``results.json`` says the submission cannot be graded safely here (score
  0, the reason in ``output``) rather than write a grade.

``COURSE_GRADING_NO_BWRAP=1`` makes the grader act as if bubblewrap could not start (to test the
other paths).

Gradescope's format (``results.json``): ``score``, ``execution_time``, ``output``, and ``tests``,
one entry per question with ``name``, ``score``, ``max_score``, ``status`` (``passed`` /
``failed``), ``output`` and ``visibility``. A test's ``output`` is the grader's message with the
inputs drawn at grading time left out (:func:`visible_message`): the arguments of a call, shapes
and expected values become ``…``; the misconception it names, the hint and the student's own
returned value stay (``check()`` in the notebook shows the visible inputs in full). ``build(...,
visibility="after_published")`` (``--visibility``) holds every test, and the score, until the
instructor publishes the grades (Gradescope's values: ``visible``, the default, ``hidden``,
``after_due_date``, ``after_published``).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from course_utils.grading.gradebook import write_text_atomic

__all__ = [
    "VISIBILITIES",
    "build",
    "needs_torch",
    "results_from_report",
    "run",
    "safe_mode",
    "sandbox_works",
    "visible_message",
]

#: Gradescope's visibility values for a test (and for the whole result).
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope image setup for the weight-initialization course's exercise {exercise}.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip bubblewrap >/dev/null
python3 -m venv /autograder/venv
py=/autograder/venv/bin/python
"$py" -m pip install --quiet --upgrade pip
{torch_block}"$py" -m pip install --quiet -c "$here/constraints.txt" "$(ls "$here"/course_utils-*.whl){extras}"
"$py" -c "import course_utils.grading; print('course grader installed')"
"""

#: setup.sh's torch step, for an exercise whose grading needs torch: PyTorch's CPU build (about
#: 200 MB) from its CPU index on x86-64, where PyPI's wheel is the CUDA build (several GB): no
#: fallback to the default index there. Elsewhere (aarch64) the default wheel is CPU-only.
TORCH_BLOCK = r"""# grading {exercise} needs torch: the CPU build only
case "$(uname -m)" in
  x86_64)
    if ! "$py" -m pip install --quiet --no-deps --timeout 20 --retries 2 \
        --index-url https://download.pytorch.org/whl/cpu "torch=={torch}"; then
      echo "setup.sh: PyTorch's CPU index (download.pytorch.org/whl/cpu) did not answer;" >&2
      echo "setup.sh: not falling back to PyPI's CUDA build of torch. Rebuild the image later." >&2
      exit 1
    fi ;;
  *) "$py" -m pip install --quiet --no-deps "torch=={torch}" ;;
esac
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Grade one Gradescope submission of exercise {exercise}; writes $ROOT/results/results.json.
set -uo pipefail
root="${{AUTOGRADER_ROOT:-/autograder}}"
py="${{AUTOGRADER_PYTHON:-/autograder/venv/bin/python}}"
exec "$py" -m course_utils.grading.autograder run {exercise} --root "$root" --visibility {visibility}
"""

TORCH_VERSION = "2.13.0"


def _repo_root() -> Path:
    return Path.cwd()


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


#: library modules that import torch when loaded
TORCH_MODULES = ("course_utils.modern", "course_utils.training")


def needs_torch(exercise: str, root: str | os.PathLike | None = None) -> bool:
    """Whether grading ``exercise`` needs torch: its student notebook (``exercises/EXERCISE.ipynb``
    under ``root``) or its question module imports ``torch``, ``course_utils.modern`` or
    ``course_utils.training``. Unknown (no notebook found) counts as yes."""
    import json as _json

    from course_utils.grading.registry import questions_for

    def uses(names: set[str]) -> bool:
        return any(n == "torch" or n.startswith("torch.") or n.startswith(TORCH_MODULES)
                   for n in names)  # fmt: skip

    modules = {sys.modules[type(q.check).__module__] for q in questions_for(exercise)}
    for q in questions_for(exercise):
        for check in (q.check, getattr(q.check, "inner", None)):
            if check is not None:
                modules.add(sys.modules[type(check).__module__])
    for module in modules:
        if module.__name__.startswith("course_utils.grading.questions") and module.__file__:
            if uses(_imports(ast.parse(Path(module.__file__).read_text(encoding="utf-8")))):
                return True
    notebook = Path(root if root is not None else _repo_root()) / "exercises" / f"{exercise}.ipynb"
    if not notebook.is_file():
        return True
    cells = _json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        src = "".join(cell.get("source", []))
        src = "\n".join(x for x in src.splitlines() if not x.lstrip().startswith(("%", "!")))
        try:
            if uses(_imports(ast.parse(src))):
                return True
        except SyntaxError:
            if "torch" in src:
                return True
    return False


def build(
    exercise: str,
    *,
    out_dir: str | os.PathLike = "build/autograder",
    root: str | os.PathLike | None = None,
    wheel: str | os.PathLike | None = None,
    visibility: str = "visible",
    torch: bool | None = None,
) -> Path:
    """Write ``OUT_DIR/EXERCISE.zip`` (see the module docstring) and return its path.

    Parameters
    ----------
    exercise : str
        A registered exercise, e.g. ``"03_lecun"``.
    out_dir : path
        Where the zip goes (created).
    root : path, optional
        The course's folder to build the wheel from (default: the current folder).
    wheel : path, optional
        An already built ``course_utils-*.whl`` to put in instead of building one.
    visibility : str
        Gradescope's visibility of every test and of the score: ``"visible"`` (default),
        ``"hidden"``, ``"after_due_date"`` or ``"after_published"``.
    torch : bool, optional
        Whether setup.sh installs torch; default :func:`needs_torch`.

    Raises
    ------
    ValueError
        ``exercise`` is not a registered exercise, ``root`` holds no ``pyproject.toml``, or
        ``visibility`` is not one of :data:`VISIBILITIES`.
    """
    from course_utils.grading.registry import exercises

    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}; got {visibility!r}")

    known = sorted(exercises())
    if exercise not in known:
        raise ValueError(f"exercise must be one of {', '.join(known)}; got {exercise!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            src = Path(root) if root is not None else _repo_root()
            if not (src / "pyproject.toml").is_file():
                raise ValueError(f"root must be the course folder (with pyproject.toml), got {src}")
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "--quiet",
                    "--no-deps",
                    "--no-build-isolation",
                    "-w",
                    tmp,
                    str(src),
                ],
                check=True,
            )
            (wheel,) = Path(tmp).glob("course_utils-*.whl")
        wheel = Path(wheel)
        target = out / f"{exercise}.zip"
        partial = out / f".{exercise}.zip.partial"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            src = Path(root) if root is not None else _repo_root()
            with_torch = needs_torch(exercise, src) if torch is None else bool(torch)
            block = TORCH_BLOCK.format(exercise=exercise, torch=TORCH_VERSION) if with_torch else ""
            setup = SETUP_SH.format(
                exercise=exercise,
                torch_block=block,
                extras="[grade,torch]" if with_torch else "[grade]",
            )
            constraints = src / "constraints.txt"
            pins = constraints.read_text(encoding="utf-8") if constraints.is_file() else ""
            for name, text in (
                ("setup.sh", setup),
                ("run_autograder", RUN_AUTOGRADER.format(exercise=exercise, visibility=visibility)),
                ("constraints.txt", pins),
            ):
                info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | 0o755) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, text)
            zf.write(wheel, wheel.name)
        os.replace(partial, target)
    return target


def sandbox_works() -> bool:
    """Whether the grader's own bubblewrap sandbox can start here (its probe, the same one the
    grader runs before it refuses)."""
    from course_utils.grading import sandbox

    return sandbox.unavailable_reason() is None


def _unsafe_ancestor(path: Path) -> str | None:
    """Why another uid could write or replace ``path`` (it is not root's with mode 0755, or a
    folder above it is writable by every user without the sticky bit), or None."""
    for folder in [*reversed(path.parents), path]:
        try:
            info = folder.stat()
        except OSError as err:
            return f"{folder}: {err.strerror}"
        if folder == path and (info.st_uid != 0 or info.st_mode & 0o022):
            return f"{folder} is writable by others"
        if folder != path and info.st_mode & 0o002 and not info.st_mode & stat.S_ISVTX:
            return f"{folder} is writable by every user"
    return None


def _real_package() -> Path:
    import course_utils

    return Path(course_utils.__file__).resolve().parent


def safe_mode(root: str | os.PathLike) -> tuple[str | None, str]:
    """``("sandbox", "")`` where bubblewrap starts; ``("separate-user", "")`` where a root
    autograder can run the kernel as an unprivileged uid of its own with the references out of
    its reach (this makes ``ROOT/results`` root's and 0755, the installed package and
    ``ROOT/source`` 0700); otherwise ``(None, why not)``."""
    from course_utils.grading import runner

    root = Path(root)
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    if sandbox_works():
        return "sandbox", ""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None, "bubblewrap cannot start and the autograder does not run as root"
    why = runner.unprivileged_python()
    if why:
        return None, f"bubblewrap cannot start and an unprivileged user cannot run Python ({why})"
    package = _real_package()
    if not {"site-packages", "dist-packages"} & set(package.parts):
        return None, (
            f"bubblewrap cannot start and the course package at {package} is a source checkout, "
            "not an installed wheel (setup.sh installs one) that the grader can hide"
        )
    try:
        os.chown(results, 0, 0)
        results.chmod(0o755)
        package.chmod(0o700)
        if (root / "source").is_dir():
            (root / "source").chmod(0o700)
    except OSError as err:
        return None, f"bubblewrap cannot start and {err.filename} cannot be protected ({err})"
    why = _unsafe_ancestor(results)
    if why:
        return None, f"bubblewrap cannot start and the results folder is not safe: {why}"
    return "separate-user", ""


def _cannot_grade(reason: str) -> str:
    return (
        f"This submission cannot be graded safely on this autograder: {reason}. No grade was "
        "written; please tell your instructor (the autograder needs bubblewrap, or root with the "
        "course installed from its wheel)."
    )


_CALL_ARGS = r"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"  # up to three levels of parentheses
_INT_TUPLE = re.compile(r"[(\[]\s*-?\d+\s*(?:,\s*-?\d+\s*)*,?\s*[)\]]")
_EXPECTED = re.compile(r"\bexpected (?!a |an |the |to |one )[^,;]+?(?=[,;]|\. |\.$| \(|$)")


def visible_message(message: str, names: list[str] | tuple[str, ...] = ()) -> str:
    """``message`` without the inputs drawn at grading time: the arguments of a call of any of
    ``names``, integer tuples (shapes) and expected values become ``…``; the diagnosis and the
    hints stay."""
    text = str(message)
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}{_CALL_ARGS}", f"{name}(…)", text)
    text = _INT_TUPLE.sub("(…)", text)
    return _EXPECTED.sub("expected …", text)


def _names() -> list[str]:
    try:
        from course_utils.grading.registry import exercises, questions_for

        return sorted({q.name for ex in exercises() for q in questions_for(ex)})
    except Exception:  # noqa: BLE001
        return []


def _titles() -> dict[str, str]:
    try:
        from course_utils.grading.registry import exercises, questions_for

        return {q.id: q.title for ex in exercises() for q in questions_for(ex)}
    except Exception:  # noqa: BLE001 - names are a nicety; the ids are enough
        return {}


def results_from_report(
    report: dict[str, Any] | None, *, seconds: float, note: str, visibility: str = "visible"
) -> dict:
    """Gradescope's ``results.json`` object for one grader report (or none at all); every test,
    and the result as a whole, get ``visibility``."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}; got {visibility!r}")
    tests = []
    if report is None:
        return {
            "score": 0.0,
            "execution_time": round(seconds, 1),
            "output": f"{note}\nNo notebook was graded.".strip(),
            "visibility": visibility,
            "tests": tests,
        }
    titles = _titles()
    names = _names()
    for q in report.get("questions") or []:
        qid = str(q.get("id"))
        tests.append(
            {
                "name": f"{qid}: {titles[qid]}" if titles.get(qid) else qid,
                "score": float(q.get("points") or 0.0),
                "max_score": float(q.get("max_points") or 0.0),
                "status": "passed" if q.get("passed") else "failed",
                "output": visible_message(str(q.get("message") or ""), names),
                "visibility": visibility,
            }
        )
    lines = [note] if note else []
    lines.append(
        f"{report.get('exercise')}: {report.get('score', 0):g} / {report.get('max_score', 0):g} "
        f"points ({report.get('status')})."
    )
    if report.get("error"):
        lines.append(f"Note: {report['error']}")
    return {
        "score": float(report.get("score") or 0.0),
        "execution_time": round(seconds, 1),
        "output": "\n".join(lines),
        "visibility": visibility,
        "tests": tests,
    }


def _pick(submission_dir: Path, exercise: str) -> tuple[Path | None, str]:
    notebooks = (
        sorted(p for p in submission_dir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        if submission_dir.is_dir()
        else []
    )
    if not notebooks:
        return None, f"No .ipynb file was found in the submission; upload {exercise}.ipynb."
    named = [p for p in notebooks if p.stem.startswith(exercise)]
    chosen = (named or notebooks)[0]
    note = ""
    if len(notebooks) > 1:
        note = f"{len(notebooks)} notebooks were uploaded; graded {chosen.name}."
    return chosen, note


def run(
    exercise: str, root: str | os.PathLike = "/autograder", visibility: str = "visible"
) -> dict:
    """Grade ``ROOT/submission`` as ``exercise``; write and return ``ROOT/results/results.json``
    (every test with ``visibility``)."""
    start = time.monotonic()
    base = Path(root)
    results_dir = base / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    notebook, note = _pick(base / "submission", exercise)
    report = None
    notes = [note] if note else []
    mode, reason = safe_mode(base) if notebook is not None else (None, "")
    if notebook is not None and mode is None:
        notes.append(_cannot_grade(reason))
    elif notebook is not None:
        sandboxed = mode == "sandbox"
        if not sandboxed:
            notes.append(
                "Graded without the bubblewrap sandbox (this container does not allow it): the "
                "notebook ran as a separate unprivileged user, stopped before this grade was "
                "written."
            )
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "report.json"
            cmd = [
                sys.executable,
                "-m",
                "course_utils.grade",
                str(notebook),
                "--exercise",
                exercise,
                "--json",
                str(out),
                "--quiet",
            ]
            if not sandboxed:
                cmd.append("--no-sandbox")
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if not sandboxed:  # nothing the submission started outlives its grading: the
                # grader has exited, so its leased uid is free again and is killed
                from course_utils.grading import runner

                runner.kill_unleased()
            if proc.returncode == 0 and out.is_file():
                reports = json.loads(out.read_text(encoding="utf-8"))
                report = reports[0] if reports else None
            else:
                notes.append(f"The grader could not run (exit status {proc.returncode}).")
    results = results_from_report(
        report, seconds=time.monotonic() - start, note="\n".join(notes), visibility=visibility
    )
    write_text_atomic(results_dir / "results.json", json.dumps(results, indent=2) + "\n")
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.grading.autograder build EXERCISE [--out DIR]`` or ``run``."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.grading.autograder")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write build/autograder/EXERCISE.zip for Gradescope")
    b.add_argument("exercise")
    b.add_argument("--out", default="build/autograder", help="output folder")
    b.add_argument("--root", default=None, help="the course folder (default: current folder)")
    for p in (b,):
        p.add_argument(
            "--visibility", default="visible", choices=VISIBILITIES,
            help="Gradescope visibility of the tests and score (after_published: held until "
            "the grades are published)",
        )  # fmt: skip
    r = sub.add_parser("run", help="grade ROOT/submission, write ROOT/results/results.json")
    r.add_argument("exercise")
    r.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    r.add_argument("--visibility", default="visible", choices=VISIBILITIES)
    args = parser.parse_args(argv)
    if args.command == "build":
        try:
            path = build(
                args.exercise, out_dir=args.out, root=args.root, visibility=args.visibility
            )
        except ValueError as err:
            parser.error(str(err))
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
        return 0
    results = run(args.exercise, args.root, visibility=args.visibility)
    print(f"score {results['score']:g}; wrote {Path(args.root) / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
