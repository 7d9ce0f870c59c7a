"""Late hand-ins: when a submission came in, how late it is, and an optional penalty rule.

``course-grade ... --due 2026-12-01T23:59+01:00 [--late-penalty 10%/day]``

When was it handed in
    nbgrader's collection writes ``timestamp.txt`` next to each submitted notebook
    (``submitted/<student>/<assignment>/timestamp.txt``, e.g. ``2026-12-01 22:14:03.512 UTC``);
    that time is used when present. Otherwise the notebook file's modification time (the time the
    upload or copy wrote it; keep it when moving files: ``cp -p``, ``rsync -t``).
The due time
    ISO 8601 (``2026-12-01T23:59``, ``2026-12-01 23:59:00+01:00``, ``...Z``); a time without an
    offset is UTC.
The penalty rule
    ``P%/day`` or ``P%/hour``: every *started* day (hour) after the due time costs ``P`` percent of
    the points (automatic plus manual), at most 100 %. ``0`` or no rule: late hand-ins are only
    marked. Example: ``10%/day`` and 26 hours late -> 2 started days -> 20 % off.

The grader adds to each report ``submitted_at`` (ISO, UTC), ``submitted_from`` (``timestamp.txt``
or ``file time``), ``late_seconds`` (0 when on time) and ``late_penalty`` (a fraction); the
gradebook shows the columns ``late`` and ``penalty`` and a ``final`` score after the penalty. The
grader's own ``score`` is never changed (it stays the sum of the questions).
"""

from __future__ import annotations

import math
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "LateRule",
    "annotate",
    "describe_late",
    "parse_due",
    "parse_penalty",
    "parse_time",
    "submitted_at",
]


def parse_time(text: str) -> datetime:
    """A timezone-aware time from ISO 8601 text or nbgrader's ``timestamp.txt`` format
    (``2026-12-01 22:14:03.512345 UTC``); no offset means UTC. ValueError when unreadable."""
    raw = str(text).strip()
    cleaned = re.sub(r"\s*(UTC|GMT|Z)$", "+00:00", raw, flags=re.IGNORECASE)
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def parse_due(text: str) -> datetime:
    """``--due``: see :func:`parse_time` (ValueError names ``--due``)."""
    try:
        return parse_time(text)
    except ValueError as err:
        raise ValueError(f"--due: {err} (e.g. 2026-12-01T23:59+01:00)") from None


class LateRule:
    """``P%/day`` or ``P%/hour``: each started unit late costs ``P`` % of the points, up to 100 %."""

    def __init__(self, percent: float, unit_seconds: float, text: str) -> None:
        self.percent = float(percent)
        self.unit_seconds = float(unit_seconds)
        self.text = text

    def fraction(self, late_seconds: float) -> float:
        """The share of the points taken for being ``late_seconds`` late."""
        if late_seconds <= 0 or self.percent == 0:
            return 0.0
        units = math.ceil(late_seconds / self.unit_seconds)
        return min(1.0, units * self.percent / 100.0)

    def __repr__(self) -> str:
        return f"LateRule({self.text!r})"


def parse_penalty(text: str) -> LateRule:
    """``--late-penalty``: ``10%/day``, ``2.5%/hour`` or ``0``. ValueError naming the option."""
    raw = str(text).strip().lower().replace(" ", "")
    if raw in ("0", "0%", "none"):
        return LateRule(0.0, 86400.0, "0")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)%/(day|d|hour|h)", raw)
    if not m or float(m.group(1)) > 100:
        raise ValueError(
            f"--late-penalty must be P%/day or P%/hour with 0 <= P <= 100 (e.g. 10%/day), got {text!r}"
        )
    unit = 86400.0 if m.group(2) in ("day", "d") else 3600.0
    return LateRule(float(m.group(1)), unit, f"{m.group(1)}%/{'day' if unit > 3600 else 'hour'}")


def submitted_at(notebook: str | os.PathLike) -> tuple[datetime, str]:
    """``(time, source)`` of a hand-in: nbgrader's ``timestamp.txt`` beside the notebook when it
    is there and readable, else the notebook's modification time."""
    path = Path(notebook)
    stamp = path.parent / "timestamp.txt"
    if stamp.is_file() and not stamp.is_symlink():
        try:
            return parse_time(stamp.read_text(encoding="utf-8").strip().splitlines()[0]), (
                "timestamp.txt"
            )
        except (ValueError, IndexError, OSError, UnicodeDecodeError):
            pass
    mtime = os.lstat(path).st_mtime
    return datetime.fromtimestamp(mtime, tz=timezone.utc), "file time"


def describe_late(seconds: float) -> str:
    """``"2 d 3 h"``, ``"5 h 10 min"``, ``"4 min"``; ``""`` when on time."""
    if seconds <= 0:
        return ""
    minutes = int(math.ceil(seconds / 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def annotate(
    report: dict[str, Any], notebook: str | os.PathLike, due: datetime, rule: LateRule | None
) -> dict[str, Any]:
    """Add ``submitted_at``, ``submitted_from``, ``late_seconds`` and ``late_penalty`` to
    ``report`` (a grader report dict) and return it."""
    when, source = submitted_at(notebook)
    late = max(0.0, (when - due).total_seconds())
    report["submitted_at"] = when.astimezone(timezone.utc).isoformat(timespec="seconds")
    report["submitted_from"] = source
    report["due"] = due.astimezone(timezone.utc).isoformat(timespec="seconds")
    report["late_seconds"] = round(late, 1)
    report["late_penalty"] = rule.fraction(late) if rule is not None else 0.0
    if rule is not None:
        report["late_rule"] = rule.text
    return report
