"""A JupyterLab server for the tests that need one (``test_lab_root``, ``test_browser``): started
on a free localhost port with a token and no browser, waited for until ``/api/status`` answers,
stopped (kernels first) when the test module is done."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

START_SECONDS = 120


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, method: str = "GET") -> tuple[int, bytes]:
    """``(status, body)`` of one HTTP request (an HTTP error is a status, not an exception)."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


class Lab:
    """A running JupyterLab: base URL, token, the served folder, the process and its log."""

    def __init__(self, url: str, token: str, root: Path, proc: subprocess.Popen, log: Path):
        self.url, self.token, self.root, self.proc, self.log = url, token, root, proc, log

    def api(self, path: str, method: str = "GET") -> tuple[int, bytes]:
        return request(f"{self.url}/api/{path}?token={self.token}", method)


@contextmanager
def running_lab(
    base: Path,
    root: Path,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    *,
    cls: type[Lab] = Lab,
) -> Iterator[Lab]:
    """``jupyter lab ARGS`` started in ``root``, its settings, workspaces, runtime files and log
    under ``base``; yields a :class:`Lab` once the server answers, fails the test (with the
    log's tail) when it exits or does not answer within ``START_SECONDS`` (``cls``: a subclass
    of :class:`Lab` with a test's own helpers)."""
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyterlab", *args, "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'ws'}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    full_env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(base / "rt"), **(env or {})}
    log = base / "jupyterlab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env, cwd=root)
    server = cls(f"http://127.0.0.1:{port}", token, root, proc, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if server.api("status")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"JupyterLab did not start in {START_SECONDS} s:\n{log.read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield server
    finally:
        try:  # kernels first, then the server itself
            status, body = server.api("kernels")
            if status == 200:
                for kernel in json.loads(body):
                    server.api(f"kernels/{kernel['id']}", "DELETE")
            server.api("shutdown", "POST")
        except OSError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
