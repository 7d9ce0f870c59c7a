"""Install PyTorch's CPU build into an environment: the torch step of ``make setup``.

Linux x86-64: PyPI's ``torch`` wheel for this platform is the CUDA build, which pulls in the CUDA
runtime, cuDNN and NCCL wheels (gigabytes). PyTorch publishes the CPU build on its own index, the
``whl/cpu`` index that the install selector on pytorch.org prints; this script installs torch from
there. The index is probed first with a short, hard time limit (DNS included); when it does not
answer, the script says so and falls back to pip's default resolver (which, on a machine that
keeps a local CPU wheel in pip's find-links, takes that file).

macOS and Linux aarch64: the default wheel is CPU-only; it comes from the default index.

Only torch itself is installed here (``--no-deps``); its dependencies (sympy, networkx, ...) come
with the course's own install step, from the default index and pinned by constraints.txt. The
version is the one constraints.txt pins, so there is one place to change it.

Usage (the Makefile runs the first)::

    python tools/install_torch.py --python .venv/bin/python
    python tools/install_torch.py --python .venv/bin/python --check   # no nvidia-*/cuda-* installed
    python tools/install_torch.py --print-command                     # what it would run
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
#: Seconds the CPU index has to answer the probe before the default resolver is used instead.
PROBE_SECONDS = 10.0
#: pip's socket timeout and retries while it talks to the CPU index (a stall is not a hang).
PIP_NETWORK = ["--timeout", "30", "--retries", "2"]
CUDA_PREFIXES = ("nvidia-", "cuda-")


def torch_requirement(constraints: Path = CONSTRAINTS) -> str:
    """``torch==X.Y.Z`` as pinned in constraints.txt (the single place the version is written)."""
    for line in constraints.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^torch==([0-9][^;\s]*)", line.strip())
        if m:
            return f"torch=={m.group(1)}"
    raise ValueError(f"{constraints} pins no torch version (expected a line 'torch==X.Y.Z')")


def uses_cpu_index(system: str | None = None, machine: str | None = None) -> bool:
    """True where the default wheel is a CUDA build and the CPU index is needed: Linux x86-64."""
    system = platform.system() if system is None else system
    machine = platform.machine() if machine is None else machine
    return system == "Linux" and machine.lower() in ("x86_64", "amd64")


def index_reachable(url: str = CPU_INDEX, seconds: float = PROBE_SECONDS) -> tuple[bool, str]:
    """Whether ``url``/torch/ answers within ``seconds`` (name lookup included); and why not.

    The request runs in a daemon thread that is abandoned after ``seconds``: a resolver or a
    firewall that never answers cannot make this wait longer.
    """
    result: dict[str, object] = {}

    def probe() -> None:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/torch/", timeout=seconds) as r:
                result["ok"] = 200 <= r.status < 400
                result["why"] = f"HTTP {r.status}"
        except Exception as err:  # any failure means: do not use it
            result["ok"], result["why"] = False, f"{type(err).__name__}: {err}"

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        return False, f"no answer within {seconds:g} s"
    return bool(result.get("ok")), str(result.get("why", ""))


def pip_command(python: str, requirement: str, *, cpu_index: bool) -> list[str]:
    """The pip command of the torch step (``cpu_index``: from PyPI's whl/cpu index only)."""
    cmd = [python, "-m", "pip", "install", "--no-deps", requirement]
    if cpu_index:
        cmd += ["--index-url", CPU_INDEX, *PIP_NETWORK]
    return cmd


def cuda_packages(python: str) -> list[str]:
    """Installed distributions named nvidia-* or cuda-* (as ``pip list`` reports them)."""
    out = subprocess.run(
        [python, "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    names = [d["name"].lower() for d in json.loads(out.stdout)]
    return sorted(n for n in names if n.startswith(CUDA_PREFIXES))


def install(python: str, *, quiet: bool = True) -> int:
    requirement = torch_requirement()
    extra = ["--quiet"] if quiet else []
    if uses_cpu_index():
        ok, why = index_reachable()
        if ok:
            print(f"torch: {requirement} CPU build from {CPU_INDEX}", flush=True)
            done = subprocess.run(pip_command(python, requirement, cpu_index=True) + extra)
            if done.returncode == 0:
                return 0
            why = f"pip exited with status {done.returncode}"
        print(
            f"torch: PyTorch's CPU index {CPU_INDEX} is not usable ({why}); falling back to "
            "pip's default resolver. On Linux x86-64 that is the CUDA build (several GB) unless "
            "a CPU wheel is in pip's find-links.",
            flush=True,
        )
    else:
        print(f"torch: {requirement} default wheel ({platform.system()} {platform.machine()}, "
              "CPU-only)", flush=True)
    return subprocess.run(pip_command(python, requirement, cpu_index=False) + extra).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/install_torch.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable, help="the environment's Python")
    parser.add_argument("--check", action="store_true",
                        help="fail when nvidia-*/cuda-* packages are installed")
    parser.add_argument("--print-command", action="store_true",
                        help="print the pip command for this platform and exit")
    parser.add_argument("--verbose", action="store_true", help="show pip's output")
    args = parser.parse_args(argv)
    if args.print_command:
        cmd = pip_command(args.python, torch_requirement(), cpu_index=uses_cpu_index())
        print(" ".join(cmd))
        return 0
    if args.check:
        found = cuda_packages(args.python)
        if found:
            print(f"torch: CUDA packages are installed ({', '.join(found)}): this is not the "
                  "CPU build the course expects; see README 'Install'.", file=sys.stderr)
            return 1
        print("torch: no nvidia-*/cuda-* package installed")
        return 0
    return install(args.python, quiet=not args.verbose)


if __name__ == "__main__":
    sys.exit(main())
