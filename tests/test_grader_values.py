"""Values are judged by value (issue 21, item 1).

Every registered question's reference answer (the solution notebook's own function) is handed in
again returning its result in each numeric form a student naturally writes: numpy scalars
(``np.int64`` / ``np.float64``), ``np.float32`` scalars, 0-d arrays, lists instead of tuples and
small arrays, tuples instead of lists, and torch tensors. Each form must earn full marks in
``check()`` (visible inputs) and on the grader's hidden inputs, which go through the same
encode / decode as the sandboxed kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from _exercise_helpers import hidden_points, solution_functions

from course_utils.grading import all_questions, harness, run_checks
from course_utils.grading.predictions import close

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = all_questions()
SMALL = 64  # arrays up to this size may come back as lists or tuples (a prediction, not a sample)


def _graded_ids(solution: Path) -> list[str]:
    cells = nbformat.read(solution, as_version=4).cells
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in cells
        if c.cell_type == "code" and "grade_id" in c.metadata.get("nbgrader", {})
    ]


_NAMESPACES: dict[str, dict[str, Any]] = {}


def _reference(q) -> Any:
    """The solution notebook's own object for question ``q``."""
    if q.exercise not in _NAMESPACES:
        solution = ROOT / "solutions" / f"{q.exercise}.ipynb"
        _NAMESPACES[q.exercise] = solution_functions(solution, _graded_ids(solution))
    return _NAMESPACES[q.exercise][q.name]


def _map(value: Any, number: Callable[[Any], Any], array: Callable[[np.ndarray], Any]) -> Any:
    """``value`` with every number passed through ``number`` and every array through ``array``,
    inside tuples and lists (kept as they are)."""
    if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        return number(value[()]) if value.ndim == 0 else array(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return number(value)
    if isinstance(value, tuple):
        return tuple(_map(v, number, array) for v in value)
    if isinstance(value, list):
        return [_map(v, number, array) for v in value]
    return value


def _np_scalar(x: Any) -> Any:
    return np.int64(x) if isinstance(x, (int, np.integer)) else np.float64(x)


def _float32(x: Any) -> Any:
    return np.float32(x) if isinstance(x, (float, np.floating)) else np.int32(x)


def _small(container: type) -> Callable[[np.ndarray], Any]:
    def convert(arr: np.ndarray) -> Any:
        if arr.size > SMALL or arr.dtype not in (np.float64, np.int64):
            return arr  # a list cannot carry float32: only arrays a list would give come back so
        return container(_np_scalar(v) if arr.ndim == 1 else convert(v) for v in arr)

    return convert


def _swap(container: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            return container(convert(v) for v in value)
        return _map(value, _np_scalar, _small(container))

    return convert


def _torch(value: Any) -> Any:
    import torch

    return _map(value, lambda x: torch.tensor(x), lambda a: torch.from_numpy(a.copy()))


FORMS: dict[str, Callable[[Any], Any]] = {
    "numpy scalars": lambda v: _map(v, _np_scalar, lambda a: a),
    "float32 / int32 scalars": lambda v: _map(v, _float32, lambda a: a),
    "0-d arrays": lambda v: _map(v, np.asarray, lambda a: a),
    "lists": _swap(list),
    "tuples": _swap(tuple),
    "torch tensors": _torch,
}


def _in_form(reference: Any, form: Callable[[Any], Any]) -> Any:
    def answer(*args: Any, **kwargs: Any) -> Any:
        return form(reference(*args, **kwargs))

    answer.__name__ = getattr(reference, "__name__", "answer")
    return answer


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("q", QUESTIONS, ids=[q.id for q in QUESTIONS])
def test_every_reference_earns_full_marks_in_every_form(q, form):
    if form == "torch tensors":
        pytest.importorskip("torch", reason="torch is not installed: no tensors to return")
    reference = _reference(q)
    answer = _in_form(reference, FORMS[form]) if q.check.calls_object else FORMS[form](reference)
    visible = run_checks(q.id, answer)
    assert visible.points == visible.max_points, (form, visible.message)
    assert hidden_points(q.id, answer, seed=3) == q.points, form


@pytest.mark.parametrize(
    "value",
    [np.int64(784), np.float32(0.25), np.asarray(3.5), np.uint8(7), np.complex64(1 + 2j)],
    ids=["int64", "float32", "0-d array", "uint8", "complex64"],
)
def test_a_number_crosses_the_wire_as_a_number(value):
    back = harness.decode(harness.encode(value))
    assert np.ndim(back) == 0 and back == value and back.dtype == np.asarray(value).dtype


def test_arrays_keep_shape_dtype_and_values_and_come_back_writable():
    strided = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]
    for arr in (strided, np.zeros((0, 3)), np.arange(5, dtype=np.int16)):
        back = harness.decode(harness.encode(arr))
        assert back.shape == arr.shape and back.dtype == arr.dtype
        assert np.array_equal(back, arr) and back.flags.writeable


def test_torch_tensors_cross_as_arrays():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    back = harness.decode(harness.encode([torch.ones(2, 3, requires_grad=True), torch.tensor(2.0)]))
    assert back[0].shape == (2, 3) and back[0].dtype == np.float32 and back[1] == 2.0
    half = harness.decode(harness.encode(torch.ones(3, dtype=torch.bfloat16)))
    assert half.dtype == np.float32 and np.array_equal(half, np.ones(3))


def test_corrupt_array_data_is_refused():
    good = harness.encode(np.arange(4.0))
    for bad in ({**good, "__ndarray__": good["__ndarray__"][:-4]}, {**good, "__ndarray__": "a*=="}):
        with pytest.raises(ValueError):
            harness.decode(bad)


def test_close_judges_values_but_never_a_wrong_shape():
    assert close(np.int64(784), 784, 0.0, 0.0)
    assert close(np.asarray([2.0]), 2.0, 1e-9, 0.0) and close(2.0, np.asarray([2.0]), 1e-9, 0.0)
    assert close([np.int64(3), np.float32(0.5)], (3, 0.5), 1e-12, 0.0)
    assert close(np.float32(1 / 3), 1 / 3, 1e-12, 0.0)  # float32's own precision
    assert not close(np.float64(1 / 3 + 1e-9), 1 / 3, 1e-12, 0.0)  # float64 is held to rtol
    assert not close(np.float32(0.334), 1 / 3, 1e-12, 0.0)
    assert not close(np.ones(2), 1.0, 1e-9, 0.0)  # two numbers are not one
    assert not close(np.ones((3, 1)), np.ones(3), 1e-9, 0.0)
    assert not close(np.ones((1, 1)), 1.0, 1e-9, 0.0)
