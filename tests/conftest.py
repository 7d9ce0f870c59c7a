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
