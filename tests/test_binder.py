"""binder/ (mybinder.org builds it with repo2docker): pinned like constraints.txt, CPU torch, the
course installed by postBuild, the kernels' numeric environment set by start, the README badge
opening the first lecture.

What repo2docker runs, in order: ``pip install --no-cache-dir -r binder/requirements.txt`` from
the repository's folder, then ``binder/postBuild``; ``binder/start`` wraps the server at launch.
The install test runs those commands in a fresh venv, as far as this machine allows: PyTorch's
index is unreachable here, so the torch lines are left out, and the other packages come from this
environment (a folder of links, the course left out, no index) instead of PyPI. Not run here: a
Docker build by repo2docker itself, torch from PyTorch's CPU index, JupyterLab opening the URL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from course_utils import __version__
from course_utils.kernel_env import KERNEL_ENV

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
FIRST_LECTURE = "notebooks/00_why_initialization.ipynb"


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^;\s]+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def test_binder_pins_are_the_constraints_and_torch_is_the_cpu_build():
    text = (BINDER / "requirements.txt").read_text()
    reqs, pins = _requirements(), _constraints()
    for name in ("numpy", "matplotlib", "ipywidgets", "torch", "tqdm"):  # core + [torch]
        assert name in reqs, f"binder/requirements.txt pins no {name}"
    for name, version in reqs.items():
        assert pins.get(name) == version.split("+")[0], (
            f"{name}: binder {version}, constraints {pins.get(name)}"
        )
    assert reqs["torch"].endswith("+cpu")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text
    assert not re.search(r"^\s*(-c|-r|-e|\.)", text, flags=re.M), "repo2docker: no local paths"
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"  # the pins' Python


def test_postbuild_installs_the_course_and_start_sets_the_kernel_env():
    for name in ("postBuild", "start"):
        assert os.access(BINDER / name, os.X_OK), f"binder/{name} must be executable"
    post = (BINDER / "postBuild").read_text()
    assert "pip install --no-cache-dir --no-deps -e ." in post
    exports = dict(
        (k, v.strip('"'))
        for k, v in re.findall(r"^export (\w+)=(.*)$", (BINDER / "start").read_text(), re.M)
    )
    expected = {k: v for k, v in KERNEL_ENV.items() if k != "MPLBACKEND"}
    assert exports == expected
    assert (BINDER / "start").read_text().rstrip().endswith('exec "$@"')


def test_readme_badge_opens_the_first_lecture_at_the_release():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    url = (
        f"https://mybinder.org/v2/gh/init-course/init-course/v{__version__}"
        f"?urlpath=lab/tree/{FIRST_LECTURE}"
    )
    assert f"[![Binder](https://mybinder.org/badge_logo.svg)]({url})" in readme
    assert (ROOT / FIRST_LECTURE).is_file()
    first_screen = "\n".join(readme.splitlines()[:40])
    for needle in ("Binder", "Colab", "make lab", "make lite", FIRST_LECTURE):
        assert needle in first_screen, needle


def _deps_folder(target: Path, leave_out: tuple[str, ...]) -> Path:
    target.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        name = entry.name.lower()
        if name.startswith(leave_out) or name.endswith(".pth"):
            continue
        (target / entry.name).symlink_to(entry)
    return target


@pytest.mark.slow
@pytest.mark.skipif(
    f"python-{sys.version_info[0]}.{sys.version_info[1]}"
    != (Path(__file__).resolve().parents[1] / "binder" / "runtime.txt").read_text().strip(),
    reason="Binder builds with binder/runtime.txt's Python: its pins are for that version",
)
def test_binder_commands_install_the_course_into_a_fresh_venv(tmp_path):
    repo = tmp_path / "repo"  # a copy: the editable install writes its metadata beside the code
    repo.mkdir()
    for item in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / item, repo / item)
    for folder in ("course_utils", "binder", "notebooks"):
        shutil.copytree(
            ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    py = bin_dir / "python"
    fresh_site = Path(
        subprocess.check_output(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    # Python's bundled setuptools (older than the build's setuptools>=77) would shadow the
    # environment's; Binder's isolated build fetches a new one instead
    subprocess.run([str(py), "-m", "pip", "uninstall", "-q", "-y", "setuptools"], check=False)
    deps = _deps_folder(tmp_path / "deps", ("course_utils", "__editable__", "torch", "pip"))
    (fresh_site / "zz_deps.pth").write_text(str(deps) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",  # `python` and `pip` are the venv's, as in Binder
        PIP_NO_INDEX="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_BUILD_ISOLATION="0",  # (pip's spelling of "off") setuptools from this environment
    )
    # binder/requirements.txt without torch: PyTorch's index is unreachable here
    reqs = tmp_path / "requirements-no-torch.txt"
    reqs.write_text(
        "\n".join(
            line for line in (repo / "binder" / "requirements.txt").read_text().splitlines()
            if not line.startswith(("torch", "--extra-index-url"))
        )
    )  # fmt: skip
    step1 = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-cache-dir", "-r", str(reqs)],
        capture_output=True, text=True, cwd=repo, env=env,
    )  # fmt: skip
    assert step1.returncode == 0, step1.stderr[-3000:]
    step2 = subprocess.run(
        ["bash", str(repo / "binder" / "postBuild")],
        capture_output=True,
        text=True,
        cwd=repo,
        env=env,
    )
    assert step2.returncode == 0, step2.stderr[-3000:]
    assert f"course_utils {__version__}" in step2.stdout
    probe = subprocess.run(
        [str(repo / "binder" / "start"), str(py), "-c",
         "import os, course_utils; print(course_utils.__file__, os.environ['OPENBLAS_CORETYPE'])"],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-3000:]
    where, coretype = probe.stdout.split()
    assert Path(where).resolve().is_relative_to(repo.resolve())  # the repository's own code
    assert coretype == KERNEL_ENV["OPENBLAS_CORETYPE"]
    assert (repo / FIRST_LECTURE).is_file()  # what the badge's urlpath opens
