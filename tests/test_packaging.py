"""The pip path (pyproject.toml) and the conda path (environment.yml) install the same packages."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
# conda spells some packages differently; these are infrastructure, not course dependencies
CONDA_TO_PIP = {"pytorch": "torch"}
CONDA_ONLY = {"python", "pip", "cpuonly"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pip_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {_name(r) for r in reqs}


def _conda_packages() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("\ndependencies:", 1)[1].splitlines():
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+)", line)  # top-level dependencies only
        if m:
            name = _name(m.group(1))
            names.add(CONDA_TO_PIP.get(name, name))
    return names - CONDA_ONLY


def test_pip_and_conda_list_the_same_packages():
    pip, conda = _pip_packages(), _conda_packages()
    assert pip == conda, f"only in pyproject: {pip - conda}; only in environment.yml: {conda - pip}"


def test_torch_pinned_to_the_cpu_wheel_on_both_paths():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"]
    assert "pytorch=2.13.0" in (ROOT / "environment.yml").read_text()
    assert "torch==2.13.0" in (ROOT / "Makefile").read_text()


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_makefile_pins_the_same_kernel_environment_as_the_notebook_builder():
    """Outputs committed by `make notebooks` must be recomputed bit for bit by nbval."""
    from course_utils.grading.build import KERNEL_ENV

    makefile = (ROOT / "Makefile").read_text()
    for name, value in KERNEL_ENV.items():
        if name == "MPLBACKEND":  # notebooks select the inline backend themselves
            continue
        assert re.search(rf"^export {name} :?= {re.escape(value)}$", makefile, flags=re.M), name
