"""Installation: the pip path and the conda path agree, torch is the CPU build, the package is lean.

- pyproject.toml (ranges) and environment.yml (conda-forge names) list the same packages, mapped
  by an explicit table; constraints.txt pins every one of them inside its range.
- `make setup`'s torch step takes PyTorch's CPU index on Linux x86-64; the environment it built
  holds no nvidia-*/cuda-* package; the CPU build's dependency closure has no CUDA package.
- `course_utils` and `check()` work without torch, nbformat, nbclient or Jupyter.
- The kernel environment is written once (course_utils.kernel_env) and reaches every nbval run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
sys.path.insert(0, str(ROOT / "tools"))
import install_torch  # noqa: E402  (tools/ is not a package)

#: pip name -> conda-forge name, for every package pyproject.toml names. Spelled out, not derived:
#: conda-forge's CPU torch is the `pytorch-cpu` metapackage, matplotlib without Qt is
#: `matplotlib-base`, nbconvert without pandoc is `nbconvert-core`, Playwright is
#: `playwright-python`; the rest keep their PyPI names.
PIP_TO_CONDA = {
    "numpy": "numpy",
    "matplotlib": "matplotlib-base",
    "ipywidgets": "ipywidgets",
    "torch": "pytorch-cpu",
    "tqdm": "tqdm",
    "jupyterlab": "jupyterlab",
    "ipykernel": "ipykernel",
    "nbclient": "nbclient",
    "nbformat": "nbformat",
    "nbconvert": "nbconvert-core",
    "jupyter-server-mathjax": "jupyter-server-mathjax",
    "nbval": "nbval",
    "pytest": "pytest",
    "pytest-xdist": "pytest-xdist",
    "ruff": "ruff",
    "playwright": "playwright-python",
}
#: conda-only entries: the interpreter, pip (for `pip install -e . --no-deps`), and Node.js,
#: whose npm the site and slide builders use to fetch the page scripts (pip cannot install it).
CONDA_ONLY = {"python", "pip", "nodejs"}
#: pip-only: the instructor's nbgrader (the [nbgrader] extra, `make nbgrader`), kept out of the
#: students' conda environment so its JupyterLab extensions never reach their lab
PIP_ONLY = {"nbgrader"}
#: pip-only too: JupyterLite's builder (the [lite] extra, `make lite`), a build tool, not a need of
#: the students' environment
PIP_ONLY |= {"jupyterlite-core", "jupyterlite-pyodide-kernel"}
EXTRAS = {"torch", "lab", "grade", "site", "dev", "nbgrader", "lite"}


#: The Python that constraints.txt was pinned on (its other lines carry a python_version marker).
PIN_PYTHON = "3.11"


def _pip_requirements() -> dict[str, Requirement]:
    """pyproject's requirements by name, as they apply on PIN_PYTHON (a requirement with a
    marker for other Pythons, such as ipykernel's cap on 3.10, is left out)."""
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in PROJECT["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra]
    return {
        canonicalize_name(r.name): r
        for r in reqs
        if canonicalize_name(r.name) != "course-utils"
        and (r.marker is None or r.marker.evaluate({"python_version": PIN_PYTHON, "extra": ""}))
    }


def _conda_specs() -> dict[str, str]:
    """Top-level conda dependencies: name -> version spec."""
    specs = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("\ndependencies:", 1)[1].splitlines():
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+)\s*([^#]*)", line)
        if m:
            specs[m.group(1).lower()] = m.group(2).strip()
    return specs


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^;\s]+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


# ------------------------------------------------------------------------------------------
# pip and conda list the same packages
# ------------------------------------------------------------------------------------------
def test_every_pip_package_has_its_conda_forge_name_in_environment_yml():
    pip, conda = _pip_requirements(), _conda_specs()
    assert set(pip) - PIP_ONLY == set(PIP_TO_CONDA), "update PIP_TO_CONDA when pyproject's packages change"
    missing = {p: c for p, c in PIP_TO_CONDA.items() if c not in conda}
    assert not missing, f"environment.yml lacks (pip name: conda-forge name) {missing}"
    extra = set(conda) - set(PIP_TO_CONDA.values()) - CONDA_ONLY
    assert not extra, f"environment.yml lists packages pyproject does not: {extra}"


def test_conda_file_uses_conda_forge_only_and_its_cpu_torch():
    text = (ROOT / "environment.yml").read_text()
    channels = re.search(r"^channels:\n((?:  - .+\n)+)", text, flags=re.M).group(1)
    assert re.findall(r"- (\S+)", channels) == ["conda-forge"]
    specs = _conda_specs()
    assert "pytorch-cpu" in specs and "pytorch" not in specs and "cpuonly" not in specs
    assert "nodejs" in specs
    # the README's conda path makes course_utils importable without letting pip re-resolve
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "conda env create -f environment.yml" in readme
    assert "pip install -e . --no-deps" in readme


def test_conda_lower_bounds_match_pyproject():
    pip, conda = _pip_requirements(), _conda_specs()
    for name, req in pip.items():
        lows = sorted(s.version for s in req.specifier if s.operator == ">=")
        if lows and name not in PIP_ONLY:
            assert f">={lows[0]}" in conda[PIP_TO_CONDA[name]], (name, conda[PIP_TO_CONDA[name]])


# ------------------------------------------------------------------------------------------
# a lean package: ranges in pyproject, pins in constraints.txt
# ------------------------------------------------------------------------------------------
def test_core_dependencies_are_numpy_matplotlib_ipywidgets_and_extras_exist():
    core = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    assert core == {"numpy", "matplotlib", "ipywidgets"}
    assert set(PROJECT["optional-dependencies"]) == EXTRAS
    assert PROJECT["scripts"]["course-grade"] == "course_utils.grade:main"


def test_pyproject_has_ranges_not_exact_pins():
    for name, req in _pip_requirements().items():
        assert not any(s.operator in ("==", "===") for s in req.specifier), (name, str(req))


def test_constraints_pin_every_package_inside_its_pyproject_range():
    pins = _constraints()
    for name, req in _pip_requirements().items():
        assert name in pins, f"constraints.txt pins no version of {name}"
        assert req.specifier.contains(pins[name], prereleases=True), (name, pins[name], str(req))
    assert pins["torch"] == install_torch.torch_requirement().split("==")[1]


def test_make_setup_uses_the_constraints_and_the_torch_step():
    makefile = (ROOT / "Makefile").read_text()
    setup = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "tools/install_torch.py" in setup
    assert "-c constraints.txt" in setup
    assert re.search(r"'\.\[torch,lab,grade,site,dev\]'", setup)
    assert "torch==" not in makefile, "the torch version lives in constraints.txt only"
    stamp_deps = setup.split("\n", 1)[0]
    assert "constraints.txt" in stamp_deps and "pyproject.toml" in stamp_deps


#: Modules built on torch (they import it at the top); every other module imports without it.
TORCH_MODULES = {"training", "modern_torch"}


def test_every_module_but_the_torch_ones_imports_without_torch():
    import pkgutil

    import course_utils

    names = sorted(
        m.name for m in pkgutil.iter_modules(course_utils.__path__) if m.name not in TORCH_MODULES
    )
    code = "import sys\nsys.modules['torch'] = None\n" + "".join(
        f"import course_utils.{name}\n" for name in names
    )
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, f"imports torch at module level? {out.stderr[-2000:]}"


def test_course_utils_and_check_work_without_torch_or_jupyter(tmp_path):
    """Import every numpy-only module and pass a check() with torch, nbformat, nbclient,
    nbconvert, jupyter_client and tqdm made unimportable (a None entry in sys.modules)."""
    code = r"""
import sys
for name in ("torch", "nbformat", "nbclient", "nbconvert", "jupyter_client", "tqdm"):
    sys.modules[name] = None
import numpy as np
import course_utils, course_utils.initializers, course_utils.theory, course_utils.plots
import course_utils.activations, course_utils.data, course_utils.network, course_utils.kernel_env
import course_utils.modern, course_utils.notebook_runner
from course_utils.grading import check
from course_utils.initializers import lecun_normal
check("lecun_normal", lecun_normal)
for name in ("torch", "nbformat", "nbclient"):
    assert sys.modules[name] is None, name
"""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "the check itself failed" not in out.stdout, out.stdout[-3000:]
    assert "ModuleNotFoundError" not in out.stdout + out.stderr


# ------------------------------------------------------------------------------------------
# torch: the CPU build
# ------------------------------------------------------------------------------------------
def test_torch_step_uses_the_cpu_index_on_linux_x86_64_only():
    assert install_torch.uses_cpu_index("Linux", "x86_64")
    assert not install_torch.uses_cpu_index("Linux", "aarch64")
    assert not install_torch.uses_cpu_index("Darwin", "arm64")
    cmd = install_torch.pip_command("py", "torch==2.13.0", cpu_index=True)
    assert cmd[cmd.index("--index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert "--timeout" in cmd and "--no-deps" in cmd
    assert "--index-url" not in install_torch.pip_command("py", "torch==2.13.0", cpu_index=False)


def test_unreachable_index_is_given_up_quickly():
    """A name that cannot resolve, and a server on loopback that accepts the connection but
    never answers, both return within the probe's limit (the fallback then runs)."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # the kernel completes the handshake; nobody ever reads or replies
    try:
        port = silent.getsockname()[1]
        for url in ("https://nonexistent.invalid/whl/cpu", f"http://127.0.0.1:{port}/whl/cpu"):
            start = time.monotonic()
            ok, why = install_torch.index_reachable(url, seconds=2.0)
            assert not ok and why, url
            assert time.monotonic() - start < 3.0, url
        assert "no answer within 2 s" in why or "timed out" in why, why
    finally:
        silent.close()


def test_environment_has_no_cuda_packages():
    """`make setup` installed the CPU build: `pip list` shows no nvidia-* or cuda-* package."""
    found = install_torch.cuda_packages(sys.executable)
    assert not found, f"CUDA packages installed: {found}"
    if importlib.util.find_spec("torch") is not None:
        import torch

        assert torch.version.cuda is None, torch.__version__


def _dry_run(args: list[str], env: dict[str, str]) -> dict:
    cmd = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
        "--report", "-", "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
        "--python-version", "3.11", *args,
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if out.returncode != 0:
        pytest.skip(f"pip could not resolve {args}: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout)


def _names(report: dict) -> dict[str, str]:
    return {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in report["install"]}


def _isolated_pip_env() -> dict[str, str]:
    """No pip configuration: no find-links, extra indexes or constraints of this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_cpu_index_resolution_for_generic_linux_has_no_cuda_package():
    """The torch step as make setup runs it on Linux x86-64, resolved with its dependencies for
    the generic manylinux_2_28_x86_64 tag against PyTorch's CPU index alone."""
    ok, why = install_torch.index_reachable()
    if not ok:
        pytest.skip(f"{install_torch.CPU_INDEX} unreachable here ({why})")
    report = _dry_run(
        [install_torch.torch_requirement(), "--index-url", install_torch.CPU_INDEX],
        _isolated_pip_env(),
    )
    names = _names(report)
    assert names["torch"].endswith("+cpu"), names["torch"]
    assert not [n for n in names if n.startswith(install_torch.CUDA_PREFIXES)], names


def _cpu_wheel() -> Path | None:
    """A local copy of the wheel the CPU index serves (pip's find-links folders), if any."""
    spec = install_torch.torch_requirement().split("==")[1]
    folders = os.environ.get("PIP_FIND_LINKS", "").split() + ["/opt/wheels"]
    for folder in folders:
        hits = sorted(Path(folder).glob(f"torch-{spec}+cpu-cp311-*manylinux*_x86_64.whl"))
        if hits:
            return hits[0]
    return None


def test_cpu_wheel_and_its_dependency_closure_have_no_cuda_package():
    """Where the CPU index cannot be reached: the same file it serves (torch-X+cpu, found in a
    find-links folder) declares no CUDA requirement, and resolving it with its dependencies from
    the default index for the generic Linux tag brings in no nvidia-*/cuda-* package."""
    wheel = _cpu_wheel()
    if wheel is None:
        pytest.skip("no local torch +cpu wheel to inspect")
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [
            line.split(":", 1)[1].strip()
            for line in z.read(meta).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    assert requires, "the wheel declares its dependencies"
    assert not [r for r in requires if r.lower().startswith(install_torch.CUDA_PREFIXES)], requires
    report = _dry_run([str(wheel)], _isolated_pip_env())
    names = _names(report)
    assert names["torch"].endswith("+cpu")
    assert not [n for n in names if n.startswith(install_torch.CUDA_PREFIXES)], names


# ------------------------------------------------------------------------------------------
# CI, system packages, the pinned kernel environment
# ------------------------------------------------------------------------------------------
def test_ci_installs_system_packages_then_runs_make_test():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make system-deps" in ci and "make test" in ci
    assert ci.index("make system-deps") < ci.index("make test")
    makefile = (ROOT / "Makefile").read_text()
    target = makefile.split("\nsystem-deps:", 1)[1].split("\n\n", 1)[0]
    assert "chromium" in target and "bubblewrap" in target


def test_fixtures_never_install_system_packages():
    conftest = (ROOT / "tests" / "conftest.py").read_text()
    assert "apt-get install" not in conftest and "subprocess" not in conftest


def test_makefile_pins_the_same_kernel_environment_as_the_notebook_builder():
    """Outputs committed by `make notebooks` must be recomputed bit for bit by nbval."""
    from course_utils.grading.build import KERNEL_ENV
    from course_utils.kernel_env import KERNEL_ENV as SOURCE

    assert KERNEL_ENV is SOURCE
    makefile = (ROOT / "Makefile").read_text()
    for name, value in KERNEL_ENV.items():
        if name == "MPLBACKEND":  # notebooks select the inline backend themselves
            continue
        assert re.search(rf"^export {name} :?= {re.escape(value)}$", makefile, flags=re.M), name


def test_plain_pytest_runs_with_the_kernel_environment_and_sanitizer(tmp_path):
    """`python -m pytest --nbval notebooks ...` without make: the repository's conftest.py
    exports the kernel environment and selects the sanitizer and this Python's kernel. A
    notebook that prints the environment and a timing passes only then."""
    import nbformat

    from course_utils.kernel_env import KERNEL_ENV

    keys = sorted(KERNEL_ENV)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    code = (
        "import os, sys\n"
        f"print([os.environ.get(k) for k in {keys!r}])\n"
        "print(sys.executable)\n"
        "print('took 0.123 s')"
    )
    expected = f"{[KERNEL_ENV[k] for k in keys]!r}\n{sys.executable}\ntook 9.9 s\n"
    nb.cells = [
        nbformat.v4.new_code_cell(
            code,
            execution_count=1,
            outputs=[nbformat.v4.new_output("stream", name="stdout", text=expected)],
        )
    ]
    # under the repository (so its conftest.py applies), one file per test process
    target = ROOT / "tests" / "artifacts" / f"plain_pytest_env_{os.getpid()}.ipynb"
    target.parent.mkdir(exist_ok=True)
    nbformat.write(nb, target)
    env = {k: v for k, v in os.environ.items() if k not in KERNEL_ENV}
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "--nbval", "-q", "-p", "no:cacheprovider",
             "-p", "no:xdist", str(target)],
            cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
    finally:
        target.unlink(missing_ok=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "1 passed" in out.stdout
