"""Checks that judge from stored expectations: what ``check()`` runs in a student release.

The instructor's install judges an answer against trusted references (the question modules in
``course_utils/grading/questions``). The student release (``make release``,
:mod:`course_utils.release`) ships none of them: at build time every question's *visible* calls
are run through the reference once, and what the judge needs is written to a JSON file
(``questions/visible.json`` in the release). This module turns that file back into registered
questions whose checks use the same verdict code as the grader:

``"stored"``
    A :class:`~course_utils.grading.predictions.PredictedCheck` whose reference (and whose
    known-mistake formulas) are lookup tables keyed by the input (:func:`call_key`): the expected
    value of each visible call, or the exception type the reference raises. A question whose
    check subclasses it with a verdict of its own (a dtype, arguments left unchanged) gets that
    subclass, shipped without its input generator, on the same tables.
``"initializer"`` / ``"mode_initializer"``
    The engine's statistical initializer checks, with the target variance a table of
    ``(fan_in, fan_out) -> variance`` for the visible shapes.
``"shipped"``
    A property check that has no reference at all (e.g. orthonormal columns): its class is
    shipped without its input generator, and the visible calls are stored.

Hidden inputs do not exist in a release: asking a stored check for them raises.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from course_utils.grading.checks import (
    Call,
    CheckResult,
    Outcome,
    QuestionCheck,
    Rng,
    _wire,
    random_initializer,
)
from course_utils.grading.harness import decode, encode
from course_utils.grading.predictions import (
    ModeInitializerCheck,
    PredictedCheck,
    apply_gate,
    gated,
)
from course_utils.grading.registry import question

NO_HIDDEN = "hidden inputs are not part of the student release (only the grader has them)"

__all__ = [
    "StoredCheck",
    "VarianceTable",
    "call_key",
    "calls_from_json",
    "calls_to_json",
    "check_from_spec",
    "register_file",
]


# ------------------------------------------------------------------------------------------------
# keys and (de)serialisation of calls and values
# ------------------------------------------------------------------------------------------------
def _canon(value: Any) -> Any:
    if isinstance(value, np.random.Generator):
        return ["rng", json.dumps(value.bit_generator.state, sort_keys=True, default=str)]
    if isinstance(value, Rng):
        return _canon(np.random.default_rng(value.seed))
    if isinstance(value, np.ndarray):
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return ["nd", value.dtype.str, list(value.shape), digest]
    if isinstance(value, np.generic):
        return _canon(np.asarray(value).reshape(()))
    if isinstance(value, tuple):
        return ["t", [_canon(v) for v in value]]
    if isinstance(value, list):
        return ["l", [_canon(v) for v in value]]
    if isinstance(value, dict):
        return ["d", [[str(k), _canon(v)] for k, v in sorted(value.items())]]
    if isinstance(value, float):
        return ["f", repr(value)]
    return [type(value).__name__, repr(value)]


def call_key(args: tuple, kwargs: dict) -> str:
    """A string that identifies the inputs ``(args, kwargs)`` of one call (generators by their
    state, arrays by dtype, shape and bytes), the same in the instructor's build and the release."""
    return json.dumps([_canon(tuple(args)), _canon(dict(kwargs))])


def _unwire(data: Any) -> Any:
    """Inverse of :func:`course_utils.grading.checks._wire`, keeping :class:`Rng` placeholders."""
    if isinstance(data, list):
        return [_unwire(v) for v in data]
    if isinstance(data, dict):
        if "__rng__" in data:
            return Rng(int(data["__rng__"]))
        if "__tuple__" in data:
            return tuple(_unwire(v) for v in data["__tuple__"])
        if "__ndarray__" in data:
            return decode(data)
        return {str(k): _unwire(v) for k, v in data.items()}
    return data


def calls_to_json(calls: list[Call]) -> list[dict]:
    """Calls as JSON: arguments (generators as seeds, arrays as bytes) and group."""
    return [
        {"args": _wire(tuple(c.args)), "kwargs": _wire(dict(c.kwargs)), "group": c.group}
        for c in calls
    ]


def calls_from_json(data: list[dict]) -> list[Call]:
    """Inverse of :func:`calls_to_json`."""
    return [
        Call(tuple(_unwire(d["args"])), dict(_unwire(d["kwargs"])), d.get("group", ""))
        for d in data
    ]


def expectation(fn: Callable[..., Any], args: tuple, kwargs: dict) -> dict:
    """What ``fn(*args, **kwargs)`` gives, as JSON: ``{"value": ...}`` or ``{"raises": "Type"}``."""
    try:
        return {"value": encode(fn(*args, **kwargs))}
    except Exception as err:  # noqa: BLE001 - a reference that rejects an input on purpose
        return {"raises": type(err).__name__}


def _exception_type(name: str) -> type[BaseException]:
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, Exception):
        return found
    return type(name, (Exception,), {})


class _Table:
    """A callable that answers stored inputs only: the stored value, or the stored exception."""

    def __init__(self, entries: dict[str, dict]) -> None:
        self.entries = dict(entries)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        entry = self.entries.get(call_key(args, kwargs))
        if entry is None:
            raise LookupError("no stored expectation for this input")
        if "raises" in entry:
            raise _exception_type(str(entry["raises"]))("the reference raises on this input")
        return decode(entry["value"])


class VarianceTable:
    """Target variance ``(fan_in, fan_out) -> float`` for the visible shapes only."""

    def __init__(self, entries: dict[str, float]) -> None:
        self.entries = {str(k): float(v) for k, v in entries.items()}

    def __call__(self, fan_in: int, fan_out: int) -> float:
        try:
            return self.entries[f"{int(fan_in)},{int(fan_out)}"]
        except KeyError:
            raise LookupError(f"no stored target variance for fans ({fan_in}, {fan_out})") from None


# ------------------------------------------------------------------------------------------------
# the checks
# ------------------------------------------------------------------------------------------------
def _no_hidden(rng: np.random.Generator) -> list[Call]:
    raise RuntimeError(NO_HIDDEN)


class StoredCheck(PredictedCheck):
    """A prediction/value check judged from stored expected outcomes of the visible calls.

    ``dtype_check`` names an extra check (e.g. ``"dtype"``): every returned array must have the
    dtype of the stored expected array for its call."""

    def __init__(
        self,
        visible: list[Call],
        expected: dict[str, dict],
        *,
        rtol: float,
        atol: float,
        mistakes: dict[str, dict[str, dict]] | None = None,
        hints: dict[str, str] | None = None,
        main: str | None = None,
        dtype_check: str | None = None,
    ) -> None:
        super().__init__(
            _Table(expected),
            visible=visible,
            hidden=_no_hidden,
            rtol=rtol,
            atol=atol,
            mistakes={label: _Table(t) for label, t in (mistakes or {}).items()},
            hints=hints,
            main=main,
        )
        self.dtype_check = dtype_check

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        results = super().verdict(calls, outcomes, name)
        if not self.dtype_check:
            return results
        wrong, n_arrays = [], 0
        for call, out in zip(calls, outcomes, strict=True):
            try:
                want = self.reference(*call.args, **call.kwargs)
            except Exception:  # noqa: BLE001 - an input the reference rejects has no dtype
                continue
            if out.ok and isinstance(out.value, np.ndarray) and isinstance(want, np.ndarray):
                n_arrays += 1
                if out.value.dtype != want.dtype:
                    wrong.append(
                        f"{call.describe(name)} has dtype {out.value.dtype}, expected {want.dtype}"
                    )
        if n_arrays == 0:
            results.append(CheckResult(self.dtype_check, False, "no output to check"))
        else:
            results.append(
                CheckResult(self.dtype_check, not wrong, wrong[0] if wrong else "the right dtype")
            )
        return apply_gate(results, [self.main] if self.main else [results[0].name])


class _StoredCalls(QuestionCheck):
    """A shipped property check (no reference) with its visible calls stored."""

    def __init__(self, inner: QuestionCheck, visible: list[Call]) -> None:
        self.inner = inner
        self.visible = visible
        self.calls_object = inner.calls_object

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        if rng is not None:
            raise RuntimeError(NO_HIDDEN)
        return list(self.visible)

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        return self.inner.verdict(calls, outcomes, name)


def _initializer(spec: dict) -> QuestionCheck:
    check = random_initializer(
        VarianceTable(spec["variances"]),
        family=spec["family"],
        variance_label=spec["variance_label"],
        layouts=tuple(spec["layouts"]),
        dtype=spec["dtype"],
        kwargs=_unwire(spec["kwargs"]),
        z=float(spec["z"]),
    )
    check.calls = _visible_only(check.calls)  # type: ignore[method-assign]
    return check


def _visible_only(calls: Callable[[Any], list[Call]]) -> Callable[[Any], list[Call]]:
    def visible(rng: np.random.Generator | None) -> list[Call]:
        if rng is not None:
            raise RuntimeError(NO_HIDDEN)
        return calls(None)

    return visible


def _attribute(value: Any, shipped: Any) -> Any:
    if isinstance(value, dict):
        if "__check__" in value:
            return check_from_spec(value["__check__"], shipped)
        if "__variances__" in value:
            return VarianceTable(value["__variances__"])
        if any(k.startswith("__") for k in value):
            return _unwire(value)
        return {k: _attribute(v, shipped) for k, v in value.items()}
    return _unwire(value)


def check_from_spec(spec: dict, shipped: Any = None) -> QuestionCheck:
    """The release's check for one stored ``spec`` (see :mod:`course_utils.release`).

    ``shipped`` is the module holding shipped property-check classes (kind ``"shipped"``)."""
    kind = spec["kind"]
    if kind == "gated":
        return gated(check_from_spec(spec["inner"], shipped), main=list(spec["main"]))
    if kind == "stored":
        stored = StoredCheck(
            calls_from_json(spec["calls"]),
            spec["expected"],
            rtol=float(spec["rtol"]),
            atol=float(spec["atol"]),
            mistakes=spec.get("mistakes"),
            hints=spec.get("hints"),
            main=spec.get("main"),
            dtype_check=spec.get("dtype_check"),
        )
        if not spec.get("class"):
            return stored
        # a shipped subclass with its own verdict, on the stored reference and calls
        cls = getattr(shipped, spec["class"])
        check = cls.__new__(cls)
        check.__dict__.update(vars(stored))
        return check
    if kind == "initializer":
        return _initializer(spec)
    if kind == "mode_initializer":
        check = ModeInitializerCheck(float("nan"), family=spec["family"], label=spec["label"])
        for mode, variances in spec["variances"].items():
            check.by_mode[mode].variance = VarianceTable(variances)
        check.calls = _visible_only(check.calls)  # type: ignore[method-assign]
        return check
    if kind == "shipped":
        cls = getattr(shipped, spec["class"])
        inner = cls.__new__(cls)
        inner.__dict__.update(
            {k: _attribute(v, shipped) for k, v in spec.get("attributes", {}).items()}
        )
        return _StoredCalls(inner, calls_from_json(spec["calls"]))
    raise ValueError(
        "kind must be 'gated', 'stored', 'initializer', 'mode_initializer' or 'shipped', "
        f"got {kind!r}"
    )


def register_file(path: Path, shipped: Any = None) -> list[str]:
    """Register every question stored in the JSON file ``path``; the ids registered."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    ids = []
    for spec in data["questions"]:
        question(
            spec["id"],
            exercise=spec["exercise"],
            points=float(spec["points"]),
            check=check_from_spec(spec["check"], shipped),
            name=spec["name"],
            forbidden=tuple(spec["forbidden"]),
            title=spec.get("title", ""),
        )
        ids.append(spec["id"])
    return ids
