"""pytest configuration for every run from the repository, with or without make.

``.venv/bin/python -m pytest --nbval notebooks solutions exercises`` must recompute the committed
outputs digit for digit, exactly as ``make nbval`` does, so this file (not the Makefile) is what
pins the notebook kernels' environment:

- the kernel environment of :mod:`course_utils.kernel_env` (thread counts, SIMD code paths, hash
  seed; ``COURSE_KERNEL_PROFILE=portable`` gives another machine's code paths), set before any kernel starts or any test imports numpy; a kernel inherits it;
- nbval's sanitizer file ``tests/nbval_sanitize.cfg`` (addresses, timings) unless one is given;
- the kernel is this Python (``--nbval-current-env``) unless a kernel name is given, so a
  ``python3`` kernel spec of another Python in the user's Jupyter folders is never picked up.
"""

from __future__ import annotations

import os
from pathlib import Path

from course_utils.kernel_env import kernel_environment

HERE = Path(__file__).resolve().parent
SANITIZE = HERE / "tests" / "nbval_sanitize.cfg"

# COURSE_KERNEL_PROFILE=portable (make test-portable) selects another machine's code paths.
os.environ.update(kernel_environment())


def pytest_configure(config):
    opt = config.option
    if not hasattr(opt, "nbval_sanitize_with"):  # nbval is not installed
        return
    if not opt.nbval_sanitize_with and not getattr(opt, "sanitize_with", None):
        opt.nbval_sanitize_with = str(SANITIZE)
    if not opt.nbval_kernel_name and not getattr(opt, "current_env", False):
        opt.nbval_current_env = True
