"""The one room that runs notebooks: the kernels' environment, starting a kernel, executing a
notebook in place.

Three callers share it and nothing else executes notebooks:

- ``make notebooks`` (:mod:`course_utils.grading.build` ``execute``) and ``make bench``
  (``benchmarks/run.py``) call :func:`execute_notebook`;
- the grader's sandboxed worker (:mod:`course_utils.grading.runner`) starts each submission's
  kernel with :func:`start_kernel` and gives it :func:`kernel_environment` (plus its own private
  home, user and paths);
- ``pytest --nbval`` gets the same environment through the repository's ``conftest.py``.

The environment itself is written once in :mod:`course_utils.kernel_env` (importable with numpy
alone, because ``conftest.py`` reads it before anything else); it is re-exported here. nbclient and
jupyter_client (the ``[grade]`` extra) are imported only when a notebook or kernel is run.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from course_utils.kernel_env import (
    KERNEL_ENV,
    PORTABLE_ENV,
    PROFILE_VARIABLE,
    kernel_environment,
)

__all__ = [
    "KERNEL_ENV",
    "PORTABLE_ENV",
    "PROFILE_VARIABLE",
    "execute_notebook",
    "kernel_environment",
    "start_kernel",
]


def execute_notebook(path: str | os.PathLike, *, timeout: int = 600, profile: str | None = None) -> float:
    """Execute the notebook at ``path`` in place and return the seconds it took.

    The kernel is ``python3`` of this environment with :func:`kernel_environment` (``profile``,
    default from ``$COURSE_KERNEL_PROFILE``), working directory the notebook's folder, ZeroMQ over
    IPC files in a private temporary folder (no TCP ports). ``timeout`` is the limit per cell in
    seconds. Outputs are kept (they are committed); per-cell timing metadata is dropped so a
    re-run changes nothing but what the code printed.
    """
    import nbformat
    from nbclient import NotebookClient

    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
        raise ValueError(f"timeout must be a positive int (seconds per cell), got {timeout!r}")
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    folder = str(path.parent.resolve())
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="course-exec-") as tmp:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": folder}},
        )
        client.km = client.create_kernel_manager()
        client.km.transport = "ipc"
        client.km.ip = os.path.join(tmp, "kernel-ipc")
        client.execute(cwd=folder, env=dict(os.environ, **kernel_environment(profile)))
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return time.monotonic() - start


async def start_kernel(cwd: str, env: dict[str, str], *, ready_timeout: float = 60) -> tuple[Any, Any]:
    """Start a ``python3`` kernel in ``cwd`` with exactly ``env``; return ``(manager, client)``
    once it answers (``jupyter_client``'s asynchronous API, channels started)."""
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel(cwd=cwd, env=env)
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=ready_timeout)
    return km, kc
