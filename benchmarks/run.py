"""`make bench`: time the simulation engine, the explorer update and the notebooks.

Writes ``benchmarks/results.json`` (a flat JSON object) and prints the figures:

- ``forward_backward_ms``: :func:`course_utils.network.forward` + :func:`backward` with the full
  trace, 10 tanh layers of 500 units, batch 1000, float32, reusing the previous call's arrays
  (``out=``); ``forward_backward_fresh_ms`` is the same with new arrays on every call;
- ``gemm_chain_ms``: the same 30 matrix products alone (10 forward, 10 weight gradients, 10
  back-propagated signals): the floor;
- ``overhead_ratio``: the first over the second (median over repeats, interleaved);
- ``torch_autograd_ms``: the same network in PyTorch on the CPU, forward + ``backward()``;
- ``explorer_browser_ms``: the median time from a slider key press to the new image in
  JupyterLab + headless Chromium (``tests/test_browser.py``; ``None`` without Chromium);
- ``explorer_update_ms``: one call of ``course_utils.widgets.explorer_data()`` with default
  settings; ``explorer_frame_ms``: one whole frame of the init lab (settings -> data -> figure
  updated in place -> PNG bytes), ``explorer_frame_fresh_ms`` the same with a new figure, and
  ``training_panel_ms`` (3 schemes x 3 seeds, figure and PNG included); ``null`` until the
  module exists. These four run in a subprocess with the notebook kernels' environment (one
  BLAS thread, ``explorer_threads``), where the widget runs;
- ``load_average``: the machine's 1/5/15-minute load when the figures were taken (shared
  machines: read the timings with it);
- ``grading_seconds_per_submission``: wall time of ``python -m course_utils.grade`` over the six
  solution notebooks of exercises 01-06 (``--jobs 1``, sandboxed), divided by six, process start
  included; ``grading_seconds_per_submission_no_sandbox`` the same with ``--no-sandbox``
  (``null`` where bubblewrap cannot run; skipped with ``--skip-grading``);
- ``notebook_seconds``: wall time to execute each notebook under ``notebooks/`` and
  ``solutions/`` with nbclient (skipped with ``--skip-notebooks``);
- ``threads``, ``repeats`` and versions, to read the numbers by.

The thread count (``--threads``, default 2) is fixed for OpenBLAS and torch before either is
imported. Usage::

    .venv/bin/python benchmarks/run.py [--threads N] [--repeats R] [--skip-notebooks]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2, help="BLAS / torch threads (default 2)")
    p.add_argument("--repeats", type=int, default=9, help="timed repeats per figure (median)")
    p.add_argument("--skip-notebooks", action="store_true", help="do not execute the notebooks")
    p.add_argument("--skip-grading", action="store_true", help="do not time the grader")
    p.add_argument("--timeout", type=int, default=300, help="per-notebook timeout in seconds")
    p.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    return p.parse_args(argv)


def set_threads(n: int) -> None:
    """Fix the thread count of every BLAS numpy may use; must run before numpy is imported."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def time_interleaved(funcs: dict, repeats: int) -> dict[str, float]:
    """Median milliseconds of each function, run in turn so that load drifts hit all equally."""
    for f in funcs.values():  # warm-up: first-touch page faults, lazy BLAS init
        f()
    samples: dict[str, list[float]] = {k: [] for k in funcs}
    for _ in range(repeats):
        for k, f in funcs.items():
            t0 = time.perf_counter()
            f()
            samples[k].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in samples.items()}


def engine_benchmarks(threads: int, repeats: int) -> dict:
    import numpy as np
    import torch

    from course_utils.network import backward, forward, init_weights

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    depth, width, batch = 10, 500, 1000
    rng = np.random.default_rng(0)
    weights = init_weights([width] * (depth + 1), "lecun_normal", rng)
    x = rng.standard_normal((batch, width)).astype(np.float32)
    g = rng.standard_normal((batch, width)).astype(np.float32)

    reused: dict = {}

    def engine() -> None:
        # the trace and gradients of the previous call are overwritten in place (out=), as a
        # training or exploration loop would: no fresh memory to fault in on every call
        trace = forward(x, weights, "tanh", out=reused.get("trace"))
        reused["grads"] = backward(trace, weights, "tanh", g, out=reused.get("grads"))
        reused["trace"] = trace

    def gemm_chain() -> None:
        acts = [x]
        a = x
        for w in weights:
            a = a @ w
            acts.append(a)
        d = g
        for i in range(depth - 1, -1, -1):
            acts[i].T @ d  # weight gradient
            d = d @ weights[i].T  # back-propagated signal

    tx = torch.from_numpy(x)
    tg = torch.from_numpy(g)
    tw = [torch.from_numpy(w.copy()).requires_grad_() for w in weights]

    def torch_autograd() -> None:
        a = tx
        for w in tw:
            a = torch.tanh(a @ w)
        a.backward(tg)
        for w in tw:
            w.grad = None

    def engine_fresh() -> None:
        backward(forward(x, weights, "tanh"), weights, "tanh", g)

    ms = time_interleaved(
        {"engine": engine, "fresh": engine_fresh, "gemm": gemm_chain, "torch": torch_autograd},
        repeats,
    )
    return {
        "forward_backward_ms": round(ms["engine"], 2),
        "forward_backward_fresh_ms": round(ms["fresh"], 2),
        "gemm_chain_ms": round(ms["gemm"], 2),
        "overhead_ratio": round(ms["engine"] / ms["gemm"], 3),
        "torch_autograd_ms": round(ms["torch"], 2),
        "engine_vs_torch_ratio": round(ms["engine"] / ms["torch"], 3),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
    }


def explorer_benchmark(repeats: int) -> dict[str, float | None]:
    """The init lab at its default settings (``course_utils.widgets``):

    - ``explorer_update_ms``: ``explorer_data()`` alone (forward, backward, histograms, theory,
      Jacobian spectrum);
    - ``explorer_frame_ms``: one frame as the widget makes it: settings -> ``explorer_data`` ->
      ``explorer_figure(data, fig=kept)`` (artists updated in place) -> ``figure_png`` bytes;
    - ``explorer_frame_fresh_ms``: the same with a new figure every time;
    - ``training_panel_ms``: ``training_data()`` (3 schemes x 3 seeds) + figure + PNG.
    """
    none = dict.fromkeys(
        ("explorer_update_ms", "explorer_frame_ms", "explorer_frame_fresh_ms", "training_panel_ms")
    )
    try:
        from course_utils import widgets  # noqa: PLC0415
    except ImportError:
        return none
    if getattr(widgets, "explorer_data", None) is None:
        return none
    kept = {"fig": widgets.explorer_figure(widgets.explorer_data())}

    def frame() -> None:
        data = widgets.explorer_data(**widgets.DEFAULTS)
        kept["fig"] = widgets.explorer_figure(data, fig=kept["fig"])
        widgets.figure_png(kept["fig"])

    def fresh() -> None:
        widgets.figure_png(widgets.explorer_figure(widgets.explorer_data(**widgets.DEFAULTS)))

    def training() -> None:
        widgets.figure_png(widgets.training_figure(widgets.training_data()))

    ms = time_interleaved(
        {"update": widgets.explorer_data, "frame": frame, "fresh": fresh}, repeats
    )
    train = time_interleaved({"training": training}, max(3, repeats // 3))
    return {
        "explorer_update_ms": round(ms["update"], 2),
        "explorer_frame_ms": round(ms["frame"], 2),
        "explorer_frame_fresh_ms": round(ms["fresh"], 2),
        "training_panel_ms": round(train["training"], 1),
    }


def explorer_benchmark_as_kernel(repeats: int) -> dict[str, float | None]:
    """:func:`explorer_benchmark` in a subprocess with the notebook kernels' pinned environment
    (:data:`course_utils.kernel_env.KERNEL_ENV`: one BLAS thread), because that is where the
    widget runs; the figures are those a learner's slider move costs."""
    import subprocess

    from course_utils.kernel_env import KERNEL_ENV

    here = str(Path(__file__).resolve().parent)
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import run; "
        f"print(json.dumps(run.explorer_benchmark({repeats})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **KERNEL_ENV}, cwd=ROOT,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        print(f"  explorer benchmark failed:\n{out.stderr[-2000:]}", file=sys.stderr)
        return dict.fromkeys(
            ("explorer_update_ms", "explorer_frame_ms", "explorer_frame_fresh_ms",
             "training_panel_ms")
        )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def browser_benchmark(timeout: float = 900.0) -> dict[str, float | None]:
    """``explorer_browser_ms``: the init lab in a real browser (``tests/test_browser.py``:
    JupyterLab + headless Chromium), the median time from a depth-slider key press to the new
    image, which the test writes to ``tests/artifacts/init_lab_browser.json`` with the load
    average. ``None`` when the test cannot run here (no Chromium: skipped) or fails."""
    import subprocess

    artifact = ROOT / "tests" / "artifacts" / "init_lab_browser.json"
    artifact.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", "tests/test_browser.py", "-q", "-p", "no:cacheprovider"]
    try:
        subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        print(f"  browser benchmark: no result in {timeout:.0f} s", file=sys.stderr)
    if not artifact.exists():
        return {"explorer_browser_ms": None}
    return {"explorer_browser_ms": json.loads(artifact.read_text())["explorer_browser_ms"]}


def grading_benchmark() -> dict[str, float | None]:
    """Seconds per submission to grade the solutions of exercises 01-06, with and without the
    sandbox (one grader run each, ``--jobs 1``, everything included)."""
    import shutil
    import subprocess
    import tempfile

    solutions = sorted(str(p) for p in (ROOT / "solutions").glob("0[1-6]_*.ipynb"))
    out: dict[str, float | None] = {}
    for key, flags in (
        ("grading_seconds_per_submission", []),
        ("grading_seconds_per_submission_no_sandbox", ["--no-sandbox"]),
    ):
        if not flags and not shutil.which("bwrap"):  # the grader would refuse: no sandbox
            out[key] = None
            continue
        with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
            cmd = [sys.executable, "-m", "course_utils.grade", *solutions, "--jobs", "1",
                   "--quiet", "--json", str(Path(tmp) / "g.json"), *flags]  # fmt: skip
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            seconds = time.perf_counter() - start
            reports = json.loads((Path(tmp) / "g.json").read_text()) if proc.returncode == 0 else []
        full = all(r["status"] == "graded" and r["score"] == r["max_score"] for r in reports)
        if not reports or not full:
            print(f"  grading benchmark: the solutions did not all get full marks ({key})", file=sys.stderr)
        out[key] = round(seconds / len(solutions), 2) if reports else None
    return out


def notebook_benchmarks(timeout: int) -> dict[str, float]:
    """Execute a copy of each notebook exactly as ``make notebooks`` does (same kernel
    environment, IPC transport) and time it; the committed files are not touched."""
    import shutil
    import tempfile

    from course_utils.notebook_runner import execute_notebook

    out: dict[str, float] = {}
    for folder in ("notebooks", "solutions"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
                copy = Path(tmp) / path.name
                shutil.copy2(path, copy)
                try:
                    out[f"{folder}/{path.name}"] = round(execute_notebook(copy, timeout=timeout), 2)
                except Exception as err:  # report, do not abort the other figures
                    print(f"  {folder}/{path.name}: failed ({type(err).__name__})", file=sys.stderr)
                    out[f"{folder}/{path.name}"] = None
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads < 1 or args.repeats < 1:
        print("--threads and --repeats must be >= 1", file=sys.stderr)
        return 2
    set_threads(args.threads)
    sys.path.insert(0, str(ROOT))
    results: dict = {
        "threads": args.threads,
        "repeats": args.repeats,
        "python": platform.python_version(),
    }
    results.update(engine_benchmarks(args.threads, args.repeats))
    results.update(explorer_benchmark_as_kernel(args.repeats))
    results["explorer_threads"] = 1  # as in the notebook kernels (KERNEL_ENV)
    results.update(browser_benchmark())
    if not args.skip_grading:
        results.update(grading_benchmark())
    results["load_average"] = [round(v, 2) for v in os.getloadavg()]
    results["notebook_seconds"] = None if args.skip_notebooks else notebook_benchmarks(args.timeout)

    print(f"threads {results['threads']}, median of {results['repeats']} repeats")
    print(f"forward+backward (10 tanh x 500, batch 1000): {results['forward_backward_ms']:8.1f} ms")
    print(f"30 bare matrix products:                      {results['gemm_chain_ms']:8.1f} ms")
    print(f"overhead ratio:                               {results['overhead_ratio']:8.3f}")
    print(f"torch autograd, same network:                 {results['torch_autograd_ms']:8.1f} ms")
    for key, label in (
        ("explorer_update_ms", "explorer update (data):"),
        ("explorer_frame_ms", "explorer frame (data+figure+PNG):"),
        ("explorer_frame_fresh_ms", "explorer frame, new figure each time:"),
        ("training_panel_ms", "training panel (3 schemes x 3 seeds):"),
        ("explorer_browser_ms", "browser: slider key -> new image (median):"),
    ):
        v = results[key]
        print(f"{label:46s}{'n/a' if v is None else f'{v:8.1f} ms'}")
    for key in ("grading_seconds_per_submission", "grading_seconds_per_submission_no_sandbox"):
        if key in results:
            v = results[key]
            print(f"{key + ':':46s}{'n/a' if v is None else f'{v:8.2f} s'}")
    print(f"load average (1, 5, 15 min) at the end:      {results['load_average']}")
    for name, sec in (results["notebook_seconds"] or {}).items():
        print(f"  {name}: {'failed' if sec is None else f'{sec:.1f} s'}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
