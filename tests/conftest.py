"""Shared fixtures: Debian's Chromium for the browser tests (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import subprocess

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


def _chromium_missing_reason() -> str | None:
    """Install Debian's chromium when possible; return why not otherwise (None when present)."""
    if os.path.exists(CHROMIUM):
        return None
    if shutil.which("apt-get") is None:
        return f"{CHROMIUM} is missing and apt-get is not available to install it"
    if os.geteuid() != 0:
        return f"{CHROMIUM} is missing and installing it needs root (uid {os.geteuid()})"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "chromium"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    log = [out.stdout[-2000:] + out.stderr[-2000:]]
    if out.returncode != 0:  # stale package lists: refresh once and retry
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
        log.append(out.stdout[-2000:] + out.stderr[-2000:])
    if not os.path.exists(CHROMIUM):
        return f"apt-get install chromium did not provide {CHROMIUM}: {' '.join(log)[-1500:]}"
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's Chromium, installed through apt when missing (CI runs as root)."""
    reason = _chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    return CHROMIUM
