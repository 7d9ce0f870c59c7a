"""Gradescope autograder: build the zip for one exercise, and the code that runs inside it.

``make autograder EXERCISE=03_lecun`` (``python -m course_utils.grading.autograder build
03_lecun``) writes ``build/autograder/03_lecun.zip`` holding

* ``setup.sh`` - run once by Gradescope when it builds the image: installs Python, bubblewrap,
  PyTorch's CPU build (from PyTorch's CPU wheel index, falling back to the default index) and the
  course wheel that sits next to it;
* ``run_autograder`` - run once per submission: grades ``$ROOT/submission/*.ipynb`` with the
  course grader and writes ``$ROOT/results/results.json`` in Gradescope's format;
* ``course_utils-*.whl`` - this course, built from the working tree.

``ROOT`` is ``/autograder`` on Gradescope; ``AUTOGRADER_ROOT`` overrides it (the tests unzip into
a temporary folder). The grader runs each submission in its bubblewrap sandbox when the container
allows user namespaces; Gradescope's default containers often do not, and then the grader runs
with ``--no-sandbox`` and the results' ``output`` says so: the container, which Gradescope makes
fresh for every submission, is then the only isolation (see docs/grading.md).

Gradescope's format (``results.json``): ``score``, ``execution_time``, ``output``, and ``tests``,
one entry per question with ``name``, ``score``, ``max_score``, ``status`` (``passed`` /
``failed``), ``output`` and ``visibility``. The messages are the grader's own, which name the
misconception but never the hidden inputs or the expected values.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from course_utils.grading.gradebook import write_text_atomic

__all__ = ["build", "results_from_report", "run", "sandbox_works"]

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
# PyTorch's CPU build (about 200 MB) rather than the default CUDA build (several GB); bounded
# timeout, then the default index (CPU-only already on aarch64 and macOS).
case "$(uname -m)" in
  x86_64)
    "$py" -m pip install --quiet --timeout 20 --retries 1 \
        --index-url https://download.pytorch.org/whl/cpu "torch=={torch}" \
      || "$py" -m pip install --quiet "torch=={torch}" ;;
  *) "$py" -m pip install --quiet "torch=={torch}" ;;
esac
"$py" -m pip install --quiet "$(ls "$here"/course_utils-*.whl)[grade]"
"$py" -c "import course_utils.grading; print('course grader installed')"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Grade one Gradescope submission of exercise {exercise}; writes $ROOT/results/results.json.
set -uo pipefail
root="${{AUTOGRADER_ROOT:-/autograder}}"
py="${{AUTOGRADER_PYTHON:-/autograder/venv/bin/python}}"
exec "$py" -m course_utils.grading.autograder run {exercise} --root "$root"
"""

TORCH_VERSION = "2.13.0"


def _repo_root() -> Path:
    return Path.cwd()


def build(
    exercise: str,
    *,
    out_dir: str | os.PathLike = "build/autograder",
    root: str | os.PathLike | None = None,
    wheel: str | os.PathLike | None = None,
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

    Raises
    ------
    ValueError
        ``exercise`` is not a registered exercise, or ``root`` holds no ``pyproject.toml``.
    """
    from course_utils.grading.registry import exercises

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
            for name, text in (
                ("setup.sh", SETUP_SH.format(exercise=exercise, torch=TORCH_VERSION)),
                ("run_autograder", RUN_AUTOGRADER.format(exercise=exercise)),
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


def _titles() -> dict[str, str]:
    try:
        from course_utils.grading.registry import exercises, questions_for

        return {q.id: q.title for ex in exercises() for q in questions_for(ex)}
    except Exception:  # noqa: BLE001 - names are a nicety; the ids are enough
        return {}


def results_from_report(report: dict[str, Any] | None, *, seconds: float, note: str) -> dict:
    """Gradescope's ``results.json`` object for one grader report (or none at all)."""
    tests = []
    if report is None:
        return {
            "score": 0.0,
            "execution_time": round(seconds, 1),
            "output": f"{note}\nNo notebook was graded.".strip(),
            "tests": tests,
        }
    titles = _titles()
    for q in report.get("questions") or []:
        qid = str(q.get("id"))
        tests.append(
            {
                "name": f"{qid}: {titles[qid]}" if titles.get(qid) else qid,
                "score": float(q.get("points") or 0.0),
                "max_score": float(q.get("max_points") or 0.0),
                "status": "passed" if q.get("passed") else "failed",
                "output": str(q.get("message") or ""),
                "visibility": "visible",
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


def run(exercise: str, root: str | os.PathLike = "/autograder") -> dict:
    """Grade ``ROOT/submission`` as ``exercise``; write and return ``ROOT/results/results.json``."""
    start = time.monotonic()
    base = Path(root)
    results_dir = base / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    notebook, note = _pick(base / "submission", exercise)
    report = None
    notes = [note] if note else []
    if notebook is not None:
        sandboxed = sandbox_works()
        if not sandboxed:
            notes.append(
                "Graded without the bubblewrap sandbox (this container does not allow it); "
                "the container Gradescope starts for this submission is its isolation."
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
            if proc.returncode == 0 and out.is_file():
                reports = json.loads(out.read_text(encoding="utf-8"))
                report = reports[0] if reports else None
            else:
                notes.append(f"The grader could not run (exit status {proc.returncode}).")
    results = results_from_report(report, seconds=time.monotonic() - start, note="\n".join(notes))
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
    r = sub.add_parser("run", help="grade ROOT/submission, write ROOT/results/results.json")
    r.add_argument("exercise")
    r.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    args = parser.parse_args(argv)
    if args.command == "build":
        try:
            path = build(args.exercise, out_dir=args.out, root=args.root)
        except ValueError as err:
            parser.error(str(err))
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
        return 0
    results = run(args.exercise, args.root)
    print(f"score {results['score']:g}; wrote {Path(args.root) / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
