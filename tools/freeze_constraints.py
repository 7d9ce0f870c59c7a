"""Write constraints.txt: the exact versions installed in this environment (``make constraints``).

The committed notebook outputs are printed numbers that nbval compares strictly, so the versions
that computed them are pinned: ``make setup`` installs with ``pip install -c constraints.txt``.
pyproject.toml keeps ranges (what the code supports); this file is what reproduces the outputs.

A pin whose release needs a newer Python than the package supports gets that release's own
``Requires-Python`` as an environment marker, so on an older Python (3.10) pip falls back to the
ranges in pyproject.toml instead of failing. ``torch`` is pinned without the ``+cpu`` local label,
so the pin matches the CPU wheel (Linux x86-64) and the default macOS / aarch64 wheel alike.

Run with the environment's Python: ``.venv/bin/python tools/freeze_constraints.py``.
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {"course-utils", "pip", "setuptools", "wheel"}
HEADER = """\
# Exact versions that reproduce the committed notebook outputs; `make setup` installs with
# `pip install -c constraints.txt`. Ranges live in pyproject.toml. Regenerate from a working
# .venv with `make constraints` (tools/freeze_constraints.py), never by hand.
"""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def marker(requires_python: str | None) -> str:
    """An environment marker for a release's ``Requires-Python`` lower bound above 3.10."""
    if not requires_python:
        return ""
    m = re.search(r">=\s*(3\.(\d+)(?:\.(\d+))?)", requires_python)
    if not m or int(m.group(2)) <= 10:
        return ""
    var = "python_full_version" if m.group(3) else "python_version"
    return f'; {var} >= "{m.group(1)}"'


def pins() -> list[str]:
    lines = {}
    for dist in distributions():
        name = canonical(dist.metadata["Name"])
        if name in SKIP or name in lines:
            continue
        version = dist.version.split("+", 1)[0]  # torch 2.13.0+cpu -> torch==2.13.0
        lines[name] = f"{name}=={version}{marker(dist.metadata.get('Requires-Python'))}"
    return [lines[k] for k in sorted(lines)]


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else ROOT / "constraints.txt"
    out.write_text(HEADER + "\n".join(pins()) + "\n", encoding="utf-8")
    print(f"wrote {len(pins())} pins to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
