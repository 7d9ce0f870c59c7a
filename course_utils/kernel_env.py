"""The pinned environment of every notebook kernel: one source of truth, importable without extras.

``make notebooks`` (through :mod:`course_utils.grading.build`), ``make nbval``, a plain
``pytest --nbval notebooks solutions exercises`` (through the repository's ``conftest.py``) and
the Makefile's exports all use these values; ``tests/test_packaging.py`` keeps the Makefile equal.
Float32 BLAS results depend on the thread count and on the SIMD code path, so both are pinned:
outputs committed by ``make notebooks`` then match what ``pytest --nbval`` recomputes on any run.
"""

from __future__ import annotations

KERNEL_ENV = {
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    # The same kernels on every x86-64 machine with AVX2: OpenBLAS, numpy's SIMD loops and torch
    # otherwise pick AVX-512 code where the CPU has it, whose float32 rounding differs, and a
    # chaotic training run amplifies that into a printed digit.
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
}

__all__ = ["KERNEL_ENV"]
