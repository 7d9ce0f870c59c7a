"""A version to pin and cite: one version everywhere, a changelog that names it, classifiers,
authors and project URLs, and `python -m course_utils` listing the commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import course_utils

ROOT = Path(__file__).resolve().parents[1]


def test_one_version_everywhere():
    version = course_utils.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf'^version: "{re.escape(version)}"$', cff, re.M)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[(Unreleased\] — )?{re.escape(version)}", changelog, re.M), version
    pyproject = (ROOT / "pyproject.toml").read_text()  # (tomllib is 3.11+: read the two lines)
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = { attr = "course_utils.__version__" }' in pyproject


def test_installed_metadata_has_version_classifiers_and_urls():
    from importlib.metadata import metadata

    meta = metadata("course_utils")
    assert meta["Version"] == course_utils.__version__
    classifiers = meta.get_all("Classifier")
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "Intended Audience :: Education" in classifiers
    assert any(c.startswith("Topic :: ") for c in classifiers)
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Repository", "Changelog", "Issues"} <= set(urls)
    assert meta["Author"] or meta["Author-email"]
    assert meta["License-Expression"] == "MIT" or meta["License"] == "MIT"


def test_changelog_sections_are_ordered_and_dated():
    text = (ROOT / "CHANGELOG.md").read_text()
    heads = re.findall(r"^## \[([^\]]+)\](?: — (\S+))?", text, re.M)
    assert heads[0][0] == "Unreleased"
    dated = [(v, d) for v, d in heads[1:]]
    assert dated and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for _, d in dated)
    dates = [d for _, d in dated]
    assert dates == sorted(dates, reverse=True)


def test_contributing_states_the_tag_rule():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    assert "## Releases" in text and "vMAJOR.MINOR.PATCH" in text


def test_python_m_course_utils_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "course_utils"], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert course_utils.__version__ in out
    for command in ("course_utils.grade", "grading.build exercises", "grading.autograder", "links"):
        assert command in out
    version = subprocess.run([sys.executable, "-m", "course_utils", "--version"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert version.strip() == course_utils.__version__
    bad = subprocess.run([sys.executable, "-m", "course_utils", "--bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "usage" in bad.stderr
