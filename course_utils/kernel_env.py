"""The pinned environment of every notebook kernel: one source of truth, importable without extras.

``make notebooks`` (through :mod:`course_utils.grading.build`), ``make nbval``, a plain
``pytest --nbval notebooks solutions exercises`` (through the repository's ``conftest.py``) and
the Makefile's exports all use these values; ``tests/test_packaging.py`` keeps the Makefile equal.
Float32 BLAS results depend on the thread count and on the SIMD code path, so both are pinned:
outputs committed by ``make notebooks`` then match what ``pytest --nbval`` recomputes on any run.

``PORTABLE_ENV`` is the same environment with the numeric code paths of *another* machine: an
x86-64 CPU without AVX2, FMA or AVX-512 as far as OpenBLAS, numpy, torch and MKL can be told
(``make test-portable``). A notebook whose committed outputs also pass under it prints nothing
that depends on one CPU's rounding. ``COURSE_KERNEL_PROFILE=portable`` selects it wherever
:func:`kernel_environment` is asked (``conftest.py``, the notebook builder).
"""

from __future__ import annotations

import os

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

# Another machine's code paths: OpenBLAS's Sandybridge kernels (AVX, no FMA), numpy's baseline
# loops only (no AVX2/FMA3 = X86_V3, no AVX-512 = X86_V4), torch's default ATen kernels, and
# MKL's conditional-numerical-reproducibility "compatible" path.
PORTABLE_ENV = {
    **KERNEL_ENV,
    "OPENBLAS_CORETYPE": "Sandybridge",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_CBWR": "COMPATIBLE",
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
}

PROFILES = {"default": KERNEL_ENV, "portable": PORTABLE_ENV}
PROFILE_VARIABLE = "COURSE_KERNEL_PROFILE"


def kernel_environment(profile: str | None = None) -> dict[str, str]:
    """Return the kernel environment of ``profile`` ("default" or "portable").

    Without an argument the profile comes from ``$COURSE_KERNEL_PROFILE`` (default "default").
    Raises ``ValueError`` naming ``profile`` for an unknown name.
    """
    name = profile if profile is not None else os.environ.get(PROFILE_VARIABLE) or "default"
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {name!r}")
    return dict(PROFILES[name])


__all__ = ["KERNEL_ENV", "PORTABLE_ENV", "PROFILES", "PROFILE_VARIABLE", "kernel_environment"]
