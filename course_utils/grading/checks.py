"""Check builders: what to call a graded object with, and how to judge what came back.

A check never runs student code itself. It proposes :class:`Call` s (inputs), somebody runs them
(``check()`` in the student's process, or the grader inside the submission's kernel, both through
:mod:`course_utils.grading.harness`), and the check turns the plain results into a verdict.

Two sets of inputs: ``calls(None)`` gives the fixed, *visible* inputs used by ``check()`` in the
notebook; ``calls(rng)`` gives fresh inputs drawn by the grader at grading time.

Builders
--------
``random_initializer(variance, family=...)``
    For ``init(shape, rng, **kw)``: shapes and dtype on dense and conv kernels, sample variance
    within ``z`` standard errors of the target, mean near 0, the distribution family (kurtosis,
    and the bound for a uniform), reproducible for a seed, different across seeds, no use of
    numpy's global random state.
``deterministic(reference, visible=..., hidden=...)``
    Compare with a trusted reference function on the same inputs (exact or with tolerance); a
    reference that raises means the answer must raise the same exception type.
``value(accept)``
    The graded name is a value (a number, an array) judged by ``accept(value)``.
Anything else: subclass :class:`QuestionCheck` and implement ``calls`` and ``verdict``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_utils.grading.harness import Opaque, decode, encode

NO_OUTPUT = "no output to check"

# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rng:
    """Placeholder for an argument: a fresh ``np.random.default_rng(seed)`` built at call time."""

    seed: int


def _wire(value: Any) -> Any:
    if isinstance(value, Rng):
        return {"__rng__": int(value.seed)}
    if isinstance(value, tuple):
        return {"__tuple__": [_wire(v) for v in value]}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _wire(v) for k, v in value.items()}
    return encode(value) if isinstance(value, (np.ndarray, np.generic)) else value


@dataclass(frozen=True)
class Call:
    """One call ``f(*args, **kwargs)``; ``group`` names the check it counts towards."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    group: str = ""

    def to_wire(self) -> dict:
        """JSON form understood by :func:`course_utils.grading.harness.call_one`."""
        return {"args": [_wire(a) for a in self.args], "kwargs": _wire(dict(self.kwargs))}

    def describe(self, name: str = "f") -> str:
        """Readable ``name(args, k=v)`` on one line: generators as ``default_rng(seed)``, arrays
        anywhere inside the arguments as their shape and dtype (:func:`brief`)."""
        parts = [brief(a) for a in self.args] + [f"{k}={brief(v)}" for k, v in self.kwargs.items()]
        return one_line(f"{name}({', '.join(parts)})", 240)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def one_line(text: Any, limit: int = 400) -> str:
    """``text`` as one printable line of at most ``limit`` characters."""
    s = _CONTROL.sub(" ", str(text)).strip()
    s = re.sub(r"  +", " ", s)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def brief(v: Any, depth: int = 0) -> str:
    """A short description of a value, arrays abbreviated wherever they sit in a structure:
    ``<array (64, 32) float32>``, ``[<4 arrays (8, 8) float64>]``; small arrays in full."""
    if isinstance(v, Rng):
        return f"default_rng({v.seed})"
    if isinstance(v, np.ndarray):
        if v.size <= 6 and v.dtype.kind in "biufc":
            return np.array2string(v, precision=4, separator=", ").replace("\n", "")
        return f"<array {v.shape} {v.dtype}>"
    if isinstance(v, np.generic):
        return _short(v.item())
    if isinstance(v, float):
        return _fmt(v)
    if depth > 3:
        return "..."
    if isinstance(v, (list, tuple)):
        open_, close = ("[", "]") if isinstance(v, list) else ("(", ")")
        arrays = [x for x in v if isinstance(x, np.ndarray)]
        if len(v) > 2 and len(arrays) == len(v) and len({(a.shape, a.dtype) for a in arrays}) == 1:
            return f"{open_}<{len(v)} arrays {arrays[0].shape} {arrays[0].dtype}>{close}"
        inner = [brief(x, depth + 1) for x in v[:6]]
        if len(v) > 6:
            inner.append(f"... {len(v)} items")
        tail = "," if isinstance(v, tuple) and len(v) == 1 else ""
        return f"{open_}{', '.join(inner)}{tail}{close}"
    if isinstance(v, dict):
        items = [f"{k!r}: {brief(x, depth + 1)}" for k, x in list(v.items())[:6]]
        return "{" + ", ".join(items) + (", ..." if len(v) > 6 else "") + "}"
    if isinstance(v, Opaque):
        return one_line(repr(v), 80)
    text = repr(v)
    return one_line(text, 80)


@dataclass
class Outcome:
    """What one call produced, decoded in the grader: a value or an error message."""

    ok: bool
    value: Any = None
    error: str = ""
    global_rng: bool = False
    #: the call that produced it, as :meth:`Call.describe` shows it (set by the judge)
    input: str = ""
    #: positions (int) or names (str) of array arguments the call modified (a question that
    #: says "do not modify the arguments" grades it)
    modified: tuple = ()

    @classmethod
    def from_wire(cls, data: dict) -> Outcome:
        """Decode the harness's JSON; anything malformed becomes a failed outcome."""
        try:
            if data.get("ok"):
                out = cls(True, decode(data.get("value")), "", bool(data.get("global_rng")))
                changed = data.get("modified") or ()
                if isinstance(changed, list):
                    out.modified = tuple(c for c in changed[:20] if isinstance(c, (int, str)))
                return out
            return cls(
                False, None, str(data.get("error", "failed"))[:500], bool(data.get("global_rng"))
            )
        except Exception as err:  # noqa: BLE001 - hostile or corrupt data
            return cls(False, None, f"unreadable result ({type(err).__name__})")


@dataclass
class CheckResult:
    """One named check: passed or not, its weight in the question, a message (hint on failure).

    ``main`` marks a question's main check (variance, values, orthogonality): when a main check
    fails, the question's other checks earn nothing (see :func:`score`).
    """

    name: str
    passed: bool
    message: str = ""
    weight: float = 1.0
    main: bool = False


@dataclass
class QuestionResult:
    """Verdict on one question: points earned out of ``max_points`` and the checks behind it."""

    id: str
    points: float
    max_points: float
    passed: bool
    message: str
    checks: list[CheckResult] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The JSON fields of DESIGN.md: id, points, max_points, passed, message."""
        return {
            "id": self.id,
            "points": self.points,
            "max_points": self.max_points,
            "passed": self.passed,
            "message": self.message,
        }


def main_checks(checks: Sequence[CheckResult]) -> list[CheckResult]:
    """The checks marked ``main``; the first check when none is marked."""
    marked = [c for c in checks if c.main]
    return marked or list(checks[:1])


def score(question_id: str, max_points: float, checks: list[CheckResult]) -> QuestionResult:
    """Partial credit: ``max_points`` times the passed share of the checks' weights, where the
    secondary checks (dtype, mean, seeds, rng use, "runs", raises) count only when every main
    check passed (:func:`main_checks`): a stub that returns zeros, ``None`` or its input, or that
    raises, earns nothing."""
    for c in checks:
        c.message = one_line(c.message)
    total = sum(c.weight for c in checks)
    mains = main_checks(checks)
    gate = all(c.passed for c in mains)
    earned = sum(c.weight for c in checks if c.passed and (gate or any(c is m for m in mains)))
    points = round(max_points * earned / total, 2) if total > 0 else 0.0
    passed = bool(checks) and all(c.passed for c in checks)
    if passed:
        message = f"all {len(checks)} checks passed"
    else:
        failed = [c for c in checks if not c.passed and c.message != NO_OUTPUT]
        waiting = [c.name for c in checks if not c.passed and c.message == NO_OUTPUT]
        message = "; ".join(f"{c.name}: {c.message}" for c in failed)
        if waiting:
            message += f"; not checked without an output: {', '.join(waiting)}"
        if not gate and any(c.passed for c in checks if not any(c is m for m in mains)):
            names = ", ".join(c.name for c in mains)
            message += f" (the other checks earn points only once {names} passes)"
    message = one_line(message)
    return QuestionResult(question_id, points, float(max_points), passed, message, checks)


def zero(question_id: str, max_points: float, message: str) -> QuestionResult:
    """A question that earns nothing, with the reason."""
    return QuestionResult(question_id, 0.0, float(max_points), False, message, [])


class QuestionCheck:
    """Base class of a question's checks. Subclass for a custom question.

    Attributes
    ----------
    calls_object : bool
        True when the graded object is called (a function); False when it is a value.
    """

    calls_object: bool = True

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        """Inputs to call the graded object with: visible (``rng is None``) or hidden ones."""
        raise NotImplementedError

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        """Judge the outcomes of ``calls`` (same order). For value questions ``calls == []``
        and ``outcomes`` holds one outcome with the value."""
        raise NotImplementedError


def first_error(outcomes: Sequence[Outcome]) -> str:
    """The first failed outcome's error, as a message; '' when every call returned.

    Among several outcomes, the message also names the input that made the code raise (the
    caller of a single outcome shows its call itself)."""
    for o in outcomes:
        if not o.ok:
            if o.error.startswith("NotImplementedError"):
                return "not implemented yet (it raises NotImplementedError)"
            text = f"raised {o.error}" if not o.error.startswith("timeout") else o.error
            if len(outcomes) > 1 and o.input:
                text = f"{o.input} {text}"
            return text
    return ""


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# --------------------------------------------------------------------------------------------
# random initializers
# --------------------------------------------------------------------------------------------
def _fans(shape: tuple[int, ...], layout: str) -> tuple[int, int]:
    if layout == "in_out":
        receptive = math.prod(shape[:-2])
        return shape[-2] * receptive, shape[-1] * receptive
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _standard_moments(family: str) -> tuple[float, float, float]:
    """E[z^4], E[z^6], E[z^8] of the unit-variance member of ``family``."""
    if family == "normal":
        return 3.0, 15.0, 105.0
    if family == "uniform":  # z ~ U(-sqrt 3, sqrt 3): E z^2k = 3^k / (2k + 1)
        return 9 / 5, 27 / 7, 81 / 9
    if family == "truncated_normal":  # N(0,1) cut at +-2, then rescaled to unit variance
        a = 2.0
        z = math.erf(a / math.sqrt(2))
        phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
        m = {0: 1.0}
        for n in (2, 4, 6, 8):  # m_n = (n-1) m_(n-2) - 2 a^(n-1) phi(a) / Z
            m[n] = (n - 1) * m[n - 2] - 2 * a ** (n - 1) * phi / z
        return m[4] / m[2] ** 2, m[6] / m[2] ** 3, m[8] / m[2] ** 4
    raise ValueError(f"family must be 'normal', 'uniform' or 'truncated_normal', got {family!r}")


def _kurtosis_se(family: str, n: int) -> float:
    """Standard error of the sample kurtosis m4 / m2^2 for a symmetric law (delta method):
    N Var(b2) = mu8 - mu4^2 - 4 mu4 (mu6 - mu4) + 4 mu4^2 (mu4 - 1), unit variance."""
    m4, m6, m8 = _standard_moments(family)
    return math.sqrt(max(m8 - m4**2 - 4 * m4 * (m6 - m4) + 4 * m4**2 * (m4 - 1), 1e-12) / n)


#: Variance formulas a student might have used by mistake, as functions of (fan_in, fan_out).
MISTAKES: dict[str, Callable[[int, int], float]] = {
    "1/fan_in (LeCun)": lambda fi, fo: 1 / fi,
    "1/fan_out": lambda fi, fo: 1 / fo,
    "2/(fan_in + fan_out) (Glorot)": lambda fi, fo: 2 / (fi + fo),
    "2/fan_in (He)": lambda fi, fo: 2 / fi,
    "2/fan_out": lambda fi, fo: 2 / fo,
    "1/(3 fan_in): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) - the factor 3 is missing": lambda fi, fo: (
        1 / (3 * fi)
    ),
    "3/fan_in: the uniform limit used as a standard deviation": lambda fi, fo: 3 / fi,
    "1/fan_in^2: the variance used as a standard deviation": lambda fi, fo: 1 / fi**2,
    "1/sqrt(fan_in): the standard deviation used as a variance": lambda fi, fo: 1 / math.sqrt(fi),
    "1 (unit variance: no scaling at all)": lambda fi, fo: 1.0,
}


class InitializerCheck(QuestionCheck):
    """Checks for a random initializer ``init(shape, rng, **kw)``; see :func:`random_initializer`."""

    def __init__(
        self,
        variance: Callable[[int, int], float],
        *,
        family: str,
        variance_label: str,
        layouts: Sequence[str] = ("in_out", "out_in"),
        dtype: str = "float32",
        kwargs: dict | None = None,
        z: float = 5.0,
    ) -> None:
        _standard_moments(family)
        self.variance = variance
        self.family = family
        self.variance_label = variance_label
        self.layouts = tuple(layouts)
        self.dtype = np.dtype(dtype)
        self.kwargs = dict(kwargs or {})
        self.z = float(z)

    # ---- inputs -----------------------------------------------------------------------------
    def _shapes(self, rng: np.random.Generator | None) -> list[tuple[tuple[int, ...], str]]:
        if rng is None:
            out = [((400, 100), "in_out"), ((100, 400), "in_out"), ((3, 5, 24, 48), "in_out")]
            if "out_in" in self.layouts:
                out.append(((48, 24, 5, 3), "out_in"))
            return out
        out = []
        fan_in = int(rng.integers(128, 513))
        for ratio in (rng.choice([0.25, 0.4]), rng.choice([2.5, 4.0])):
            out.append(((fan_in, max(16, int(round(fan_in * ratio)))), "in_out"))
            fan_in = int(rng.integers(128, 513))
        kh, kw = (int(k) for k in rng.choice([1, 3, 5, 7], size=2, replace=False))
        c_in = int(rng.integers(8, 49))
        c_out = c_in * int(rng.choice([2, 3])) + int(rng.integers(0, 4))
        while kh * kw * c_in * c_out < 20000:
            c_in, c_out = c_in + 8, c_out + 16
        out.append(((kh, kw, c_in, c_out), "in_out"))
        if "out_in" in self.layouts:
            k = int(rng.choice([3, 5]))
            c_in = int(rng.integers(16, 65))
            c_out = max(8, c_in // int(rng.choice([2, 3])))
            while k * c_in * c_out < 10000:
                c_in, c_out = c_in + 8, c_out + 4
            out.append(((c_out, c_in, k), "out_in"))
        return out

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        if rng is None:
            seeds = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
        else:
            seeds = [int(s) for s in rng.choice(2**31, size=10, replace=False)]
        calls = []
        for i, (shape, layout) in enumerate(self._shapes(rng)):
            kw = dict(self.kwargs)
            if layout != "in_out":
                kw["layout"] = layout
            calls.append(Call((shape, Rng(seeds[i % 4])), kw, group="sample"))
        first = calls[0]
        calls.append(Call(first.args, first.kwargs, group="same seed"))
        calls.append(Call((first.args[0], Rng(seeds[5])), first.kwargs, group="other seed"))
        # a second, independent set of samples: a statistical check fails only when it fails
        # on both sets (docs/grading.md: the false-fail probability is then squared)
        for i, c in enumerate([c for c in calls if c.group == "sample"]):
            calls.append(Call((c.args[0], Rng(seeds[6 + i % 4])), c.kwargs, group="resample"))
        return calls

    # ---- verdict ----------------------------------------------------------------------------
    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        samples = [(c, o) for c, o in zip(calls, outcomes, strict=True) if c.group == "sample"]
        results: list[CheckResult] = []
        err = first_error(outcomes)
        results.append(CheckResult("runs", not err, err or "returns a value for every input"))

        arrays: list[tuple[tuple[int, ...], str, np.ndarray]] = []
        shape_bad = []
        dtype_bad = []
        for call, out in samples:
            shape = call.args[0]
            layout = call.kwargs.get("layout", "in_out")
            if not out.ok:
                continue
            value = out.value
            if isinstance(value, np.ndarray) and value.dtype != self.dtype:
                dtype_bad.append(str(value.dtype))
            if not isinstance(value, np.ndarray):
                shape_bad.append(
                    f"{call.describe(name)} returned {type(value).__name__}, not an array"
                )
                continue
            if value.shape != tuple(shape):
                shape_bad.append(
                    f"{call.describe(name)} has shape {value.shape}, expected {tuple(shape)}"
                )
                continue
            if value.dtype.kind in "fiu":
                arrays.append((tuple(shape), layout, value.astype(np.float64).ravel()))
        n_ok = sum(1 for _, o in samples if o.ok)
        if n_ok == 0:
            shape_msg = NO_OUTPUT
        elif shape_bad:
            shape_msg = (
                shape_bad[0] + " (dense (fan_in, fan_out) and conv kernels must keep the shape)"
            )
        else:
            shape_msg = "the returned array has the requested shape (dense and conv)"
        results.append(CheckResult("shape", n_ok == len(samples) and not shape_bad, shape_msg))
        returned = [o.value for _, o in samples if o.ok and isinstance(o.value, np.ndarray)]
        if not returned:
            dtype_ok, dtype_msg = False, NO_OUTPUT
        elif dtype_bad:
            dtype_ok = False
            dtype_msg = f"dtype is {dtype_bad[0]}, expected {self.dtype} (use .astype(dtype) or pass dtype=)"
        else:
            dtype_ok, dtype_msg = True, f"dtype {self.dtype}"
        results.append(CheckResult("dtype", dtype_ok, dtype_msg, weight=0.5))

        again = []
        for call, out in zip(calls, outcomes, strict=True):
            value = out.value
            if call.group == "resample" and out.ok and isinstance(value, np.ndarray):
                if value.shape == tuple(call.args[0]) and value.dtype.kind in "fiu":
                    layout = call.kwargs.get("layout", "in_out")
                    again.append((tuple(call.args[0]), layout, value.astype(np.float64).ravel()))
        n_again = sum(1 for c in calls if c.group == "resample")
        checks = [self._variance_check, self._mean_check, self._family_check]
        if self.family == "uniform":
            checks.append(self._bound_check)
        for check in checks:
            result = check(arrays)
            if not result.passed and arrays and n_again and len(again) == n_again:
                retry = check(again)  # fails only if the second, independent set fails too
                if retry.passed:
                    result = retry
            results.append(result)
        results.extend(self._seed_checks(calls, outcomes))
        return results

    def statistics_fail(
        self, x: np.ndarray, shape: tuple[int, ...], layout: str
    ) -> dict[str, np.ndarray]:
        """Which statistical checks each row of ``x`` (``k`` samples of ``shape``, as a
        ``(k, n)`` array) fails: ``{"variance", "mean", "distribution", "bound"}`` -> bool
        ``(k,)``. The verdict uses exactly this (with ``k = 1``); the tests use it vectorized."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        n = x.shape[1]
        target = self._target(shape, layout)
        kurt = _standard_moments(self.family)[0]
        mean = x.mean(axis=1)
        c = x - mean[:, None]
        c2 = c * c
        m2 = c2.mean(axis=1)
        m4 = (c2 * c2).mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            b2 = np.where(m2 > 0, m4 / np.where(m2 > 0, m2, 1.0) ** 2, np.inf)
        se_var = target * math.sqrt((kurt - 1) / n)  # SE of a sample variance
        top = np.abs(x).max(axis=1)
        limit = math.sqrt(3 * target)
        # P(max|w| < a (1 - t)) = (1 - t)^N ~ exp(-t N): t = 30 / N fails a correct law w.p. e^-30
        return {
            "variance": ~(np.abs(m2 - target) <= self.z * se_var),
            "mean": ~(np.abs(mean) <= self.z * math.sqrt(target / n)),
            "distribution": ~(np.abs(b2 - kurt) <= self.z * _kurtosis_se(self.family, n)),
            "bound": (top > limit * (1 + 1e-5)) | (top < limit * (1 - 30 / n)),
        }

    def _target(self, shape: tuple[int, ...], layout: str) -> float:
        fan_in, fan_out = _fans(shape, layout)
        return float(self.variance(fan_in, fan_out))

    def _variance_check(self, arrays: list) -> CheckResult:
        if not arrays:
            return CheckResult("variance", False, NO_OUTPUT, weight=3.0, main=True)
        bad = []
        for shape, layout, x in arrays:
            if self.statistics_fail(x, shape, layout)["variance"][0]:
                bad.append((shape, layout, float(x.var()), self._target(shape, layout)))
        if not bad:
            return CheckResult(
                "variance",
                True,
                f"sample variance matches {self.variance_label}",
                weight=3.0,
                main=True,
            )
        shape, layout, s2, target = bad[0]
        ratio = s2 / target if target > 0 else float("inf")
        # The direction, never the target or the factor: the message names the misconception
        # (below) without handing over the expected value (COURSE.md).
        direction = "too large" if ratio > 1 else "too small"
        msg = (
            f"for shape {shape} ({layout}) the sample variance is {_fmt(s2)}, {direction} for "
            "the target law"
        )
        guess = self._guess(arrays)
        if guess:
            msg += f"; your values match Var = {guess}"
        return CheckResult("variance", False, msg, weight=3.0, main=True)

    def _guess(self, arrays: list) -> str | None:
        """Which mistaken formula (and fan layout) explains every measured variance best."""
        best, best_err = None, float("inf")
        for label, formula in MISTAKES.items():
            for swapped in (False, True):
                same = all(
                    math.isclose(formula(*_fans(shape, layout)), self._target(shape, layout))
                    for shape, layout, _ in arrays
                )
                if same and not swapped:
                    continue  # that is the right formula, not a mistake
                worst = 0.0
                for shape, layout, x in arrays:
                    use = layout if not swapped else ("out_in" if layout == "in_out" else "in_out")
                    predicted = formula(*_fans(shape, use))
                    worst = max(worst, abs(math.log(max(float(x.var()), 1e-300) / predicted)))
                if worst < best_err:
                    best = label + (
                        " with the fans of the other layout (in_out vs out_in)" if swapped else ""
                    )
                    best_err = worst
        return best if best_err < 0.1 else None

    def _mean_check(self, arrays: list) -> CheckResult:
        if not arrays:
            return CheckResult("mean", False, NO_OUTPUT, weight=0.5)
        for shape, layout, x in arrays:
            if self.statistics_fail(x, shape, layout)["mean"][0]:
                return CheckResult(
                    "mean",
                    False,
                    f"the mean for shape {shape} is {_fmt(float(x.mean()))}, not near 0",
                    weight=0.5,
                )
        return CheckResult("mean", True, "mean near 0", weight=0.5)

    def _family_check(self, arrays: list) -> CheckResult:
        if not arrays:
            return CheckResult("distribution", False, NO_OUTPUT)
        target = _standard_moments(self.family)[0]
        for shape, layout, x in arrays:
            c = x - x.mean()
            m2 = float(np.mean(c**2))
            if m2 <= 0:
                return CheckResult("distribution", False, f"all values are equal for shape {shape}")
            b2 = float(np.mean(c**4)) / m2**2
            if self.statistics_fail(x, shape, layout)["distribution"][0]:
                looks = min(
                    ("normal", "uniform", "truncated_normal"),
                    key=lambda f: abs(_standard_moments(f)[0] - b2),
                )
                if looks == self.family:  # nearest law is the right one: say which way it is off
                    tails = "heavier" if b2 > target else "lighter"
                    looks_text = f"{tails} tails than a {self.family.replace('_', ' ')} law"
                else:
                    looks_text = f"your values look {looks.replace('_', ' ')}"
                return CheckResult(
                    "distribution",
                    False,
                    f"kurtosis {b2:.3f} for shape {shape}; a {self.family.replace('_', ' ')} law "
                    f"has {target:.3f} ({looks_text})",
                )
        return CheckResult("distribution", True, f"shape of the distribution is {self.family}")

    def _bound_check(self, arrays: list) -> CheckResult:
        if not arrays:
            return CheckResult("bound", False, NO_OUTPUT)
        for shape, layout, x in arrays:
            limit = math.sqrt(3 * self._target(shape, layout))
            top = float(np.abs(x).max())
            if self.statistics_fail(x, shape, layout)["bound"][0]:
                return CheckResult(
                    "bound",
                    False,
                    f"for shape {shape} max |w| = {_fmt(top)}, but U(-a, a) with variance "
                    f"{self.variance_label} has a = sqrt(3 Var) = {_fmt(limit)}",
                )
        return CheckResult("bound", True, "values fill (-a, a) with a = sqrt(3 Var)")

    def _seed_checks(self, calls: list[Call], outcomes: list[Outcome]) -> list[CheckResult]:
        return seed_checks(calls, outcomes, draw_hint="rng.normal / rng.uniform")


def seed_checks(calls: list[Call], outcomes: list[Outcome], *, draw_hint: str) -> list[CheckResult]:
    """The randomness checks of any random answer ``f(shape, rng, ...)``.

    ``calls`` holds one call in each group ``"sample"``, ``"same seed"`` (a new generator with the
    sample's seed) and ``"other seed"``; the checks are "same seed, same values", "different seeds
    differ" and "uses only rng" (numpy's global state untouched in every call). ``draw_hint``
    names the generator methods the answer should use, for the hint.
    """
    by_group = {}
    for c, o in zip(calls, outcomes, strict=True):
        by_group.setdefault(c.group, o)
    first, same, other = (
        by_group.get("sample"),
        by_group.get("same seed"),
        by_group.get("other seed"),
    )
    arrays_ok = all(
        o is not None and o.ok and isinstance(o.value, np.ndarray) for o in (first, same, other)
    )
    results = []
    if not arrays_ok:
        results.append(CheckResult("same seed, same values", False, NO_OUTPUT))
        results.append(CheckResult("different seeds differ", False, NO_OUTPUT))
    else:
        equal = first.value.shape == same.value.shape and np.array_equal(first.value, same.value)
        results.append(
            CheckResult(
                "same seed, same values",
                equal,
                "reproducible"
                if equal
                else "two generators with the same seed gave different "
                "values: draw only from the rng argument",
            )
        )
        differ = not (
            first.value.shape == other.value.shape and np.array_equal(first.value, other.value)
        )
        results.append(
            CheckResult(
                "different seeds differ",
                differ,
                "different seeds give different values"
                if differ
                else "different seeds gave identical values: the rng argument is ignored",
            )
        )
    used_global = any(o.global_rng for o in outcomes)
    any_ok = any(o.ok for o in outcomes)
    results.append(
        CheckResult(
            "uses only rng",
            not used_global and any_ok,
            f"numpy's global random state changed: use {draw_hint}, never np.random.*"
            if used_global
            else ("numpy's global random state untouched" if any_ok else NO_OUTPUT),
        )
    )
    return results


def random_initializer(
    variance: Callable[[int, int], float],
    *,
    family: str,
    variance_label: str,
    layouts: Sequence[str] = ("in_out", "out_in"),
    dtype: str = "float32",
    kwargs: dict | None = None,
    z: float = 5.0,
) -> InitializerCheck:
    """Checks for a random initializer ``init(shape, rng, *, layout=..., dtype=...)``.

    Parameters
    ----------
    variance : callable(fan_in, fan_out) -> float
        Target variance, e.g. ``lambda fi, fo: 1 / fi`` for LeCun.
    family : {"normal", "uniform", "truncated_normal"}
    variance_label : str
        How messages name the target, e.g. ``"1/fan_in"``.
    layouts : layouts to probe; ``"out_in"`` calls pass ``layout="out_in"``.
    dtype : expected dtype of the result.
    kwargs : extra keyword arguments for every call (e.g. ``{"mode": "fan_out"}``).
    Weights of the checks in the question's points: variance 3, dtype and mean 0.5, every other
    check (runs, shape, distribution, bound, same seed, different seeds, rng only) 1. The
    variance is the main check: the others earn points only when it passes.

    z : tolerance in standard errors. The sample variance ``s^2`` of ``N`` draws has standard
        error ``Var * sqrt((kurtosis - 1) / N)``. Every statistical check (variance, mean,
        kurtosis, bound) is judged on two independent sets of samples and fails only when both
        fail, so a correct answer fails with at most the square of the one-set probability
        (derived and measured in docs/grading.md: below 1e-6 per question).
    """
    return InitializerCheck(
        variance,
        family=family,
        variance_label=variance_label,
        layouts=layouts,
        dtype=dtype,
        kwargs=kwargs,
        z=z,
    )


# --------------------------------------------------------------------------------------------
# deterministic answers
# --------------------------------------------------------------------------------------------
#: ulps of the returned type that a value may be off: a correct number returned as float32
#: (a torch tensor, a float32 array's mean) is judged at float32's precision, not float64's
ULPS = 8


def returned_rtol(got: Any, rtol: float) -> float:
    """``rtol``, widened to :data:`ULPS` units of the least precise float type in ``got``."""
    eps = 0.0
    stack, seen = [got], 0
    while stack and seen < 10000:
        v = stack.pop()
        seen += 1
        if isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "fc":
            eps = max(eps, float(np.finfo(v.dtype).eps))
        elif isinstance(v, (tuple, list)):
            stack.extend(v)
    return max(float(rtol), ULPS * eps) if eps > np.finfo(np.float64).eps else float(rtol)


def _compare(got: Any, want: Any, rtol: float, atol: float) -> str:
    """'' when ``got`` matches ``want``, else a short reason."""
    if isinstance(got, Opaque):
        return f"returned {got!r}"
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list, np.ndarray)) or len(got) != len(want):
            return f"returned {_short(got)}, not the expected value"
        for g, w in zip(got, want, strict=True):
            if _compare(g, w, rtol, atol):
                return f"returned {_short(got)}, not the expected value"
        return ""
    want_arr = np.asarray(want)
    try:
        got_arr = np.asarray(got, dtype=float) if not isinstance(got, np.ndarray) else got
    except (TypeError, ValueError):
        return f"returned {_short(got)}, expected a number or array"
    if got_arr.dtype.kind not in "biuf":
        return f"returned {_short(got)}, expected a number or array"
    if got_arr.shape != want_arr.shape:
        # a number as a 0-d or 1-element array (or the reverse) is the same number
        one = got_arr.size == 1 == want_arr.size and got_arr.ndim <= 1 and want_arr.ndim <= 1
        if not one:
            return f"returned shape {got_arr.shape}, expected {want_arr.shape}"
        got_arr = got_arr.reshape(want_arr.shape)
    rtol = returned_rtol(got_arr, rtol) if want_arr.dtype.kind == "f" else rtol
    if want_arr.dtype.kind in "biu" and rtol == 0 and atol == 0:
        ok = np.array_equal(got_arr, want_arr)
    else:
        ok = np.allclose(got_arr.astype(float), want_arr.astype(float), rtol=rtol, atol=atol)
    return "" if ok else f"returned {_short(got)}, not the expected value"


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{v.shape}" if v.size > 6 else np.array2string(v, precision=4)
    if isinstance(v, float):
        return _fmt(v)
    if isinstance(v, (tuple, list)):
        inner = ", ".join(_short(x) for x in v[:6])
        return f"({inner})" if isinstance(v, tuple) else f"[{inner}]"
    if isinstance(v, np.generic):
        return _short(v.item())
    return repr(v)[:80]


class DeterministicCheck(QuestionCheck):
    """Compare with a trusted reference; see :func:`deterministic`."""

    def __init__(
        self,
        reference: Callable[..., Any],
        *,
        visible: Sequence[Call],
        hidden: Callable[[np.random.Generator], Sequence[Call]],
        rtol: float = 1e-6,
        atol: float = 0.0,
        hints: dict[str, str] | None = None,
        main: str | None = None,
    ) -> None:
        self.reference = reference
        self.visible = list(visible)
        self.hidden = hidden
        self.rtol = rtol
        self.atol = atol
        self.hints = dict(hints or {})
        self.main = main

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        return list(self.visible) if rng is None else list(self.hidden(rng))

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        groups: dict[str, list[str]] = {}
        for call, out in zip(calls, outcomes, strict=True):
            problems = groups.setdefault(call.group or "answers", [])
            args = [decode(_wire(a)) for a in call.args]
            kwargs = {k: decode(_wire(v)) for k, v in call.kwargs.items()}
            try:
                want, want_error = self.reference(*args, **kwargs), None
            except Exception as err:  # noqa: BLE001 - the reference rejects this input on purpose
                want, want_error = None, err
            if want_error is not None:
                expected = type(want_error).__name__
                if out.ok:
                    problems.append(
                        f"{call.describe(name)} should raise {expected}, returned {_short(out.value)}"
                    )
                elif not out.error.startswith(expected):
                    problems.append(
                        f"{call.describe(name)} should raise {expected}, raised {out.error}"
                    )
                continue
            if not out.ok:
                reason = first_error([out])
                problems.append(f"{call.describe(name)} {reason}")
                continue
            reason = _compare(out.value, want, self.rtol, self.atol)
            if reason:
                problems.append(f"{call.describe(name)} {reason}")
        results = []
        for group, problems in groups.items():
            if problems:
                hint = self.hints.get(group, "")
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                msg = problems[0] + more + (f". Hint: {hint}" if hint else "")
                results.append(CheckResult(group, False, msg))
            else:
                results.append(CheckResult(group, True, "correct"))
        main = self.main if self.main in groups else next(iter(groups), None)
        for r in results:
            r.main = r.name == main
        return results


def deterministic(
    reference: Callable[..., Any],
    *,
    visible: Sequence[Call],
    hidden: Callable[[np.random.Generator], Sequence[Call]],
    rtol: float = 1e-6,
    atol: float = 0.0,
    hints: dict[str, str] | None = None,
    main: str | None = None,
) -> DeterministicCheck:
    """Checks that compare a function with a trusted ``reference`` on the same inputs.

    Parameters
    ----------
    reference : the right answer, run in the grader's (or checker's) process.
    visible : calls used by ``check()`` in the notebook.
    hidden : ``hidden(rng)`` draws the grader's calls at grading time.
    rtol, atol : tolerance for numbers and arrays (``rtol = atol = 0`` for integers means exact).
    hints : optional hint per call group, appended to the message when that group fails.

    main : the group that is the main check (default: the first group of the calls); the other
        groups earn points only when it passes.

    Each distinct ``Call.group`` is one check of equal weight. When the reference raises for an
    input, the answer must raise the same exception type.
    """
    return DeterministicCheck(
        reference, visible=visible, hidden=hidden, rtol=rtol, atol=atol, hints=hints, main=main
    )


class ValueCheck(QuestionCheck):
    """The graded name is a value; ``accept(value) -> (passed, message)``."""

    calls_object = False

    def __init__(
        self, accept: Callable[[Any], tuple[bool, str]], *, check_name: str = "value"
    ) -> None:
        self.accept = accept
        self.check_name = check_name

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        return []

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        out = outcomes[0] if outcomes else Outcome(False, error="no value")
        if not out.ok:
            return [CheckResult(self.check_name, False, out.error, main=True)]
        try:
            passed, message = self.accept(out.value)
        except Exception as err:  # noqa: BLE001 - a value of the wrong type
            passed, message = False, f"cannot judge {_short(out.value)} ({type(err).__name__})"
        return [CheckResult(self.check_name, bool(passed), str(message), main=True)]


def value(accept: Callable[[Any], tuple[bool, str]], *, check_name: str = "value") -> ValueCheck:
    """Checks for a graded *value* (a number, an array): ``accept(value) -> (passed, message)``."""
    return ValueCheck(accept, check_name=check_name)
