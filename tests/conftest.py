"""Shared fixtures: Debian's Chromium and bubblewrap, detected only (never installed here).

System packages are installed by ``make system-deps`` (which ``.ci/run`` calls before
``make test``); a test that needs one is skipped, with the reason, where it is missing.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
#: Flags for headless Chromium on a machine with a closed network (no background connections).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = "run `make system-deps` (Debian/Ubuntu, as root or with sudo) to install it"


def _chromium_missing_reason() -> str | None:
    """Why Debian's Chromium cannot be used here, or None when it is installed."""
    if os.path.exists(CHROMIUM):
        return None
    return f"{CHROMIUM} is missing: {INSTALL_HINT}"


def _bwrap_missing_reason() -> str | None:
    """Why bubblewrap cannot be used here, or None when ``bwrap`` is on PATH."""
    if shutil.which("bwrap"):
        return None
    return f"bubblewrap (bwrap) is not on PATH: {INSTALL_HINT}"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's Chromium; skips the test when it is not installed."""
    reason = _chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def bwrap() -> str:
    """Path of bubblewrap's ``bwrap``; skips the test when it is not installed."""
    reason = _bwrap_missing_reason()
    if reason:
        pytest.skip(reason)
    return shutil.which("bwrap")


def _build_or_skip(build):
    try:
        return build()
    except RuntimeError as err:  # the pages' scripts are fetched once with npm (site.py)
        if "npm is needed" in str(err):
            pytest.skip(str(err))
        raise


@pytest.fixture(scope="session")
def course_site(tmp_path_factory):
    """``make html`` of this course, built once per test session (per xdist worker) from another
    working folder with the course folder given: ``(out, pages)``."""
    from pathlib import Path

    from course_utils import site

    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("course-site")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("elsewhere"))
        pages = _build_or_skip(lambda: site.build_html(out, root=root))
    return out, pages


@pytest.fixture(scope="session")
def course_decks(tmp_path_factory):
    """``make slides`` of this course, built once per test session: ``(out, deck paths)``."""
    from pathlib import Path

    from course_utils import site

    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("course-slides")
    decks = _build_or_skip(lambda: site.build_slides(out, root=root))
    return out, [Path(p) for p in decks]
