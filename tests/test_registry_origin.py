"""The registry finds each exercise's VERSION and ALLOWED_IMPORTS whoever imported its questions
module first (a test or notebook importing it before the registry loaded used to hide them, and
the sync test then asked for `make exercises`)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_a_questions_module_first_keeps_its_version():
    code = (
        "import course_utils.grading.questions.ex05_he as m\n"
        "import course_utils.grading.questions.ex01_symmetry as n\n"
        "from course_utils.grading import registry\n"
        "for mod, ex in ((m, '05_he'), (n, '01_symmetry')):\n"
        "    info = registry.exercise_info(ex)\n"
        "    assert info.version == str(mod.VERSION), (ex, info)\n"
        "    assert info.allowed_imports == tuple(mod.ALLOWED_IMPORTS), (ex, info)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
