"""Call a graded object on given inputs and return plain, JSON-safe results.

This module is deliberately self-contained (standard library + numpy only). It runs in two
places:

* in the student's own process, imported normally, when ``check()`` gives instant feedback;
* inside the kernel that executed a submission: the grader reads this file's *source* and sends
  it to the kernel as code, so nothing the notebook did to ``course_utils`` changes it.

Everything crossing the process boundary is JSON: arrays travel as base64 of their raw bytes
with dtype and shape (never pickle). The verdict is computed elsewhere, from these plain values.

Wire format of a call: ``{"args": [...], "kwargs": {...}}`` where values are JSON, or tagged
objects ``{"__rng__": seed}`` (a fresh ``numpy.random.Generator``), ``{"__tuple__": [...]}``,
``{"__ndarray__": base64, "dtype": str, "shape": [...]}``.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import math
import signal
import sys
import threading
import types
from typing import Any

import numpy as np

MIME = "application/vnd.course-grading+json"
MAX_ARRAY_BYTES = 64 * 2**20
NUMERIC_KINDS = "biufc"


class CallTimeout(BaseException):
    """Raised inside a graded call that ran past its time limit."""


# ------------------------------------------------------------------------------------------------
# encoding
# ------------------------------------------------------------------------------------------------
def encode(value: Any, depth: int = 0) -> Any:
    """Turn a returned value into JSON-safe data (numbers, arrays, sequences; else a repr)."""
    if depth > 8:
        return {"__object__": "nested too deep", "repr": ""}
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else value[:1000]
    if isinstance(value, int):
        return value if abs(value) < 2**53 else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    tensor = _torch_array(value)
    if tensor is not None:
        value = tensor
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype.kind not in NUMERIC_KINDS or arr.dtype.hasobject:
            return {"__object__": f"array of dtype {arr.dtype}", "repr": ""}
        if arr.nbytes > MAX_ARRAY_BYTES:
            return {"__object__": f"array too large ({arr.nbytes} bytes)", "repr": ""}
        # tobytes() writes C order whatever the strides, and keeps a 0-d array 0-d
        # (np.ascontiguousarray would have made it shape (1,): a scalar then failed shape checks)
        return {
            "__ndarray__": base64.b64encode(arr.tobytes(order="C")).decode("ascii"),
            "dtype": arr.dtype.str,
            "shape": list(arr.shape),
            "scalar": arr.ndim == 0,
        }
    if isinstance(value, (tuple, list)):
        return {
            "__seq__": "tuple" if isinstance(value, tuple) else "list",
            "items": [encode(v, depth + 1) for v in value[:10000]],
        }
    try:
        text = repr(value)[:200]
    except Exception:  # a broken __repr__ must not break grading
        text = "<unprintable>"
    return {"__object__": type(value).__name__, "repr": text}


def _torch_array(value: Any) -> np.ndarray | None:
    """A torch tensor as a numpy array (detached, on the CPU; bfloat16 and other dtypes numpy
    lacks become float32); None for anything else. torch is never imported here: a tensor can
    only exist if the caller imported it."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, getattr(torch, "Tensor", ())):
        return None
    try:
        t = value.detach().cpu()
        if t.is_complex() or t.dtype == torch.bool:
            return np.asarray(t.numpy())
        try:
            return np.asarray(t.resolve_conj().numpy())
        except (TypeError, RuntimeError):
            return np.asarray(t.float().numpy())
    except Exception:  # noqa: BLE001 - a tensor subclass that will not convert: report its repr
        return None


_B64_CHUNK = 2**22  # characters of base64 decoded at a time (a multiple of 4)


def _b64_writable(text: Any) -> bytearray:
    """Strict base64 decoding straight into one writable buffer, a chunk at a time: a large array
    costs its own bytes once, not a bytes object plus a writable copy of it."""
    if not isinstance(text, str) or len(text) % 4:
        raise ValueError("array data is not base64")
    pad = len(text) - len(text.rstrip("="))
    out = bytearray(len(text) // 4 * 3 - pad)
    pos = 0
    for start in range(0, len(text), _B64_CHUNK):
        part = base64.b64decode(text[start : start + _B64_CHUNK], validate=True)
        if len(part) > len(out) - pos:
            raise ValueError("array data is not base64")
        out[pos : pos + len(part)] = part
        pos += len(part)
    if pos != len(out):
        raise ValueError("array data is not base64")
    return out


def decode(data: Any) -> Any:
    """Inverse of :func:`encode` (and of the call-argument tags). Accepts numeric dtypes only."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__ndarray__" in data:
        dtype = np.dtype(str(data["dtype"]))
        if dtype.kind not in NUMERIC_KINDS or dtype.hasobject:
            raise ValueError(f"refusing dtype {dtype}")
        shape = tuple(int(d) for d in data["shape"])
        raw = _b64_writable(data["__ndarray__"])
        if len(raw) != dtype.itemsize * math.prod(shape):
            raise ValueError("array bytes do not match dtype and shape")
        if not shape:  # a scalar or a 0-d array: judged as the number it holds
            return np.frombuffer(raw, dtype=dtype)[0]
        return np.frombuffer(raw, dtype=dtype).reshape(shape)
    if "__rng__" in data:
        return np.random.default_rng(int(data["__rng__"]))
    if "__tuple__" in data:
        return tuple(decode(v) for v in data["__tuple__"])
    if "__float__" in data:
        return float(data["__float__"])
    if "__seq__" in data:
        items = [decode(v) for v in data["items"]]
        return tuple(items) if data["__seq__"] == "tuple" else items
    if "__object__" in data:
        return Opaque(str(data["__object__"]), str(data.get("repr", "")))
    return {str(k): decode(v) for k, v in data.items()}


class Opaque:
    """A returned object that is not plain data: only its type name and repr came back."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>" if self.text else f"<{self.type_name}>"


# ------------------------------------------------------------------------------------------------
# the library's own references
# ------------------------------------------------------------------------------------------------
UNAVAILABLE = "not available while grading"


def _resolve(qualname: str) -> Any:
    """Object named ``module.attr`` if its module is already imported, else None."""
    module_name, _, attr = qualname.rpartition(".")
    module = sys.modules.get(module_name)
    return getattr(module, attr, None) if module is not None else None


def library_origin(obj: Any, forbidden: list[str]) -> str | None:
    """Name of the forbidden library object that ``obj`` *is* (directly, through
    ``functools.partial``, a bound method or ``__wrapped__``); None otherwise.

    Only identity counts, so a student's own function is never mistaken for the library's
    (whatever its name or the names it uses). Code that merely calls a reference is caught by
    :func:`references_stubbed` during ``check()`` and, in the grader, by the sandbox, where the
    references are stubs.
    """
    targets = {}
    for name in forbidden:
        ref = _resolve(name)
        if ref is not None:
            targets[id(ref)] = name
    o, depth = obj, 0
    while o is not None and depth < 8:
        if id(o) in targets:
            return targets[id(o)]
        if isinstance(o, functools.partial):
            o = o.func
        elif isinstance(o, types.MethodType):
            o = o.__func__
        else:
            try:
                o = getattr(o, "__wrapped__", None) if callable(o) else None
            except Exception:  # noqa: BLE001 - a hostile __getattr__
                return None
        depth += 1
    return None


def _unavailable(name: str) -> Any:
    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{name} is {UNAVAILABLE}")

    unavailable.__name__ = name.rpartition(".")[2]
    return unavailable


@contextlib.contextmanager
def references_stubbed(obj: Any, forbidden: list[str]) -> Any:
    """While the block runs, each forbidden object is a stub raising "not available while
    grading": as a module attribute and wherever ``obj``'s globals hold that very object.
    Everything is restored afterwards. (In the grader's sandbox the references are stubs
    already, at the source level; this gives ``check()`` in a notebook the same verdict.)"""
    swaps: list[tuple[Any, str, Any]] = []
    try:
        originals = {}
        for name in forbidden:
            module_name, _, attr = name.rpartition(".")
            module = sys.modules.get(module_name)
            if module is None or attr not in getattr(module, "__dict__", {}):
                continue
            original = module.__dict__[attr]
            originals[id(original)] = name
            swaps.append((module.__dict__, attr, original))
        namespace = getattr(obj, "__globals__", None)
        if isinstance(namespace, dict):
            for key, value in list(namespace.items()):
                if id(value) in originals:
                    swaps.append((namespace, key, value))
        for where, key, original in swaps:
            where[key] = _unavailable(originals[id(original)])
        yield
    finally:
        for where, key, original in reversed(swaps):
            where[key] = original


# ------------------------------------------------------------------------------------------------
# calling
# ------------------------------------------------------------------------------------------------
class _Sink:
    """Stands in for stdout/stderr during a graded call: keeps nothing, never floods."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False


def _global_state_key() -> tuple:
    state = np.random.get_state()  # noqa: NPY002 - watching for misuse, not drawing
    return (bytes(np.asarray(state[1]).tobytes()), int(state[2]), int(state[3]), float(state[4]))


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    first = text[0][:300] if text else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


_WATCH_BYTES = 16 * 2**20  # array arguments copied per call to see whether the call modified them


def _snapshot(args: list, kwargs: dict) -> list[tuple[Any, np.ndarray, bytes]]:
    """(position or name, array, its bytes) of the array arguments, up to ``_WATCH_BYTES``."""
    out, total = [], 0
    for key, value in [*enumerate(args), *kwargs.items()]:
        if isinstance(value, np.ndarray) and total + value.nbytes <= _WATCH_BYTES:
            out.append((key, value, value.tobytes()))
            total += value.nbytes
    return out


def _modified(watched: list[tuple[Any, np.ndarray, bytes]]) -> list:
    """Positions (int) or names (str) of the watched arguments whose contents changed."""
    return [key for key, value, before in watched if value.tobytes() != before]


def call_one(
    obj: Any, call: dict, time_limit: float, *, cpu: bool = False, wall_limit: float = 0.0
) -> dict:
    """Call ``obj(*args, **kwargs)`` once; report the value or the error, and global RNG use.

    ``time_limit`` is wall time, or with ``cpu`` the kernel's CPU time (``ITIMER_PROF``: a busy
    machine does not make a correct call time out), then with ``wall_limit`` (> 0) as a wall-time
    backstop for a call that sleeps."""
    try:
        args = [decode(a) for a in call.get("args", [])]
        kwargs = {str(k): decode(v) for k, v in (call.get("kwargs") or {}).items()}
    except Exception as err:  # pragma: no cover - the grader built these itself
        return {"ok": False, "error": f"bad call: {_describe(err)}", "global_rng": False}
    watched = _snapshot(args, kwargs)
    saved = np.random.get_state()  # noqa: NPY002 - restored below
    before = _global_state_key()
    out_stdout, out_stderr = sys.stdout, sys.stderr
    timer, alarm = (
        (getattr(signal, "ITIMER_PROF", None), getattr(signal, "SIGPROF", None))
        if cpu
        else (getattr(signal, "ITIMER_REAL", None), getattr(signal, "SIGALRM", None))
    )
    use_timer = (
        hasattr(signal, "setitimer")  # not on Windows or Pyodide: no per-call time limit there
        and timer is not None
        and alarm is not None
        and threading.current_thread() is threading.main_thread()
        and time_limit > 0
    )
    old_handler = None
    result: dict

    backstop = use_timer and cpu and wall_limit > 0 and hasattr(signal, "SIGALRM")
    old_backstop = None

    def on_alarm(signum: int, frame: Any) -> None:
        if signum == getattr(signal, "SIGPROF", None):
            raise CallTimeout(f"took longer than {time_limit:g} s of CPU time")
        raise CallTimeout(f"took longer than {time_limit:g} s")

    def on_wall(signum: int, frame: Any) -> None:
        raise CallTimeout(f"took longer than {wall_limit:g} s")

    try:
        if use_timer:
            old_handler = signal.signal(alarm, on_alarm)
            signal.setitimer(timer, time_limit)
        if backstop:
            old_backstop = signal.signal(signal.SIGALRM, on_wall)
            signal.setitimer(signal.ITIMER_REAL, wall_limit)
        sys.stdout, sys.stderr = _Sink(), _Sink()
        value = obj(*args, **kwargs)
        result = {"ok": True, "value": encode(value)}
        modified = _modified(watched)
        if modified:  # the call changed the caller's arrays (a question may forbid that)
            result["modified"] = modified
    except CallTimeout as err:
        result = {"ok": False, "error": f"timeout: {err}"}
    except BaseException as err:  # noqa: BLE001 - student code may raise anything
        if isinstance(err, KeyboardInterrupt):
            result = {"ok": False, "error": "interrupted"}
        else:
            result = {"ok": False, "error": _describe(err)}
    finally:
        if backstop:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_backstop or signal.SIG_DFL)
        if use_timer:
            signal.setitimer(timer, 0)
            signal.signal(alarm, old_handler or signal.SIG_DFL)
        sys.stdout, sys.stderr = out_stdout, out_stderr
    try:
        result["global_rng"] = _global_state_key() != before
    finally:
        np.random.set_state(saved)  # noqa: NPY002 - leave the caller's state as it was
    return result


def run_question(namespace: dict, request: dict) -> dict:
    """Look up ``request["name"]`` in ``namespace`` and run the requested calls on it.

    Returns ``{"found": bool, "library": str | None, "kind": type name, "value" | "outcomes"}``.
    """
    name = request["name"]
    if name not in namespace:
        return {"found": False}
    obj = namespace[name]
    answer: dict = {"found": True, "kind": type(obj).__name__}
    answer["library"] = library_origin(obj, list(request.get("forbidden", [])))
    calls = request.get("calls")
    if calls is None:  # the graded object is a value, not a function
        answer["value"] = encode(obj)
        return answer
    if not callable(obj):
        answer["outcomes"] = [
            {"ok": False, "error": f"{name} is a {type(obj).__name__}, not a function"}
            for _ in calls
        ]
        return answer
    limit = float(request.get("time_limit", 10.0))
    outcomes: list[dict] = []
    with references_stubbed(obj, list(request.get("forbidden", []))):
        for call in calls:
            last = str(outcomes[-1].get("error", "")) if outcomes else ""
            if last.startswith(("timeout", "interrupted")):
                error = last.removesuffix(" (an earlier call)")
                outcomes.append({"ok": False, "error": error + " (an earlier call)"})
                continue
            cpu = request.get("clock") == "cpu"
            wall = float(request.get("wall_limit") or 0.0)
            outcomes.append(call_one(obj, call, limit, cpu=cpu, wall_limit=wall))
    answer["outcomes"] = outcomes
    return answer


def kernel_main(namespace: dict, request: dict) -> None:
    """Entry point inside the grading kernel: run one question, publish the JSON answer."""
    try:
        answer = run_question(namespace, request)
    except BaseException as err:  # noqa: BLE001
        answer = {"found": True, "crash": _describe(err)}
    answer["nonce"] = request["nonce"]
    from IPython import get_ipython

    get_ipython().display_pub.publish(data={MIME: answer}, metadata={})
