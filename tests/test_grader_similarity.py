"""Near-copies flagged for the instructor (issue 21, item 8): normalized-AST similarity of each
graded function against its question's references and classmates' functions in the same run.

A flag is never a penalty: the tests only look at the flags, never at scores.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import nbformat

from course_utils import initializers
from course_utils.grading import similarity as sim

ROOT = Path(__file__).resolve().parents[1]


def _nb(*sources: str) -> dict:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return json.loads(nbformat.writes(nb))


class _Rename(ast.NodeTransformer):
    """A disguise: every argument and local name renamed, the function renamed, comments gone."""

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = {"math": "math", "ValueError": "ValueError"}.get(node.id, f"my_{node.id}")
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = f"my_{node.arg}"
        return node


def _disguised(fn, name: str) -> str:
    tree = ast.parse(inspect.getsource(fn))
    tree = _Rename().visit(tree)
    tree.body[0].name = name
    tree.body[0].body[0] = ast.Expr(ast.Constant("My own docstring, written by me."))
    return "# my answer\n" + ast.unparse(tree)


HONEST_FANS = """
def fan_in_and_fan_out(shape, *, layout="in_out"):
    if layout not in ("in_out", "out_in"):
        raise ValueError(f"layout must be 'in_out' or 'out_in', got {layout!r}")
    dims = [int(d) for d in shape]
    if len(dims) < 2:
        raise ValueError("shape needs 2 dimensions")
    if layout == "out_in":
        dims = dims[2:] + [dims[1], dims[0]]
    field = 1
    for d in dims[:-2]:
        field *= d
    return dims[-2] * field, dims[-1] * field
"""


def test_the_fingerprint_ignores_names_docstrings_and_comments():
    a = ast.parse("def f(x, y):\n    '''doc'''\n    z = x * 2  # twice\n    return z + y").body[0]
    b = ast.parse("def g(p, q):\n    w = p * 2\n    return w + q").body[0]
    c = ast.parse("def f(x, y):\n    z = x * 3\n    return z + y").body[0]
    assert sim.fingerprint(a) == sim.fingerprint(b)
    assert sim.fingerprint(a) != sim.fingerprint(c)  # constants count
    assert sim.similarity(sim.fingerprint(a), sim.fingerprint(b)) == 1.0


def test_a_disguised_copy_of_the_library_is_flagged_an_own_answer_is_not():
    copied = _nb(
        "import math\nimport numpy as np",
        _disguised(initializers.fan_in_and_fan_out, "fan_in_and_fan_out"),
    )
    own = _nb("import numpy as np", HONEST_FANS)
    flags = sim.find_copies(
        [("c.ipynb", "carol", "03_lecun", copied), ("o.ipynb", "olga", "03_lecun", own)]
    )
    assert any(
        "the library's course_utils.initializers.fan_in_and_fan_out" in f for f in flags["c.ipynb"]
    )
    assert "o.ipynb" not in flags


def test_the_natural_form_is_not_evidence_of_copying():
    """Two students who both wrote the model solution's form (one natural way to write a short
    initializer) are not flagged, nor is either of them for matching the model solution; a
    student beside them whose function differs is not flagged either."""
    solution = json.loads((ROOT / "solutions" / "03_lecun.ipynb").read_text(encoding="utf-8"))
    flags = sim.find_copies(
        [
            ("s.ipynb", "sam", "03_lecun", solution),
            ("t.ipynb", "tess", "03_lecun", json.loads(json.dumps(solution))),
            ("o.ipynb", "olga", "03_lecun", _nb("import numpy as np", HONEST_FANS)),
        ]
    )
    assert flags == {}, flags


def test_classmates_with_one_function_between_them_are_flagged_in_pairs():
    renamed = HONEST_FANS.replace("dims", "sizes").replace("field", "rf").replace("d ", "k ")
    other = HONEST_FANS.replace("field *= d", "field = field * d")  # one small change
    entries = [
        ("a.ipynb", "alice", "03_lecun", _nb(HONEST_FANS)),
        ("b.ipynb", "bob", "03_lecun", _nb("x = 1", renamed)),
        ("c.ipynb", "carol", "03_lecun", _nb(other)),
        ("a2.ipynb", "alice", "03_lecun", _nb(HONEST_FANS)),  # alice's second hand-in: not a pair
        ("d.ipynb", "dan", "03_lecun", _nb("import numpy as np", inspect.getsource(_dans_fans))),
    ]
    flags = sim.find_copies(entries)
    assert any("similar to bob's (b.ipynb)" in f for f in flags["a.ipynb"])
    assert any("similar to alice's (a.ipynb)" in f for f in flags["b.ipynb"])
    assert any("carol" in f for f in flags["a.ipynb"])
    assert not any("alice's (a2.ipynb)" in f for f in flags["a.ipynb"])
    assert "d.ipynb" not in flags


def _dans_fans(shape, *, layout="in_out"):
    import numpy as np

    shape = tuple(shape)
    if layout not in {"in_out", "out_in"}:
        raise ValueError(f"unknown layout {layout!r}")
    if len(shape) < 2:
        raise ValueError(f"shape needs at least two dimensions, got {shape}")
    spatial = shape[:-2] if layout == "in_out" else shape[2:]
    c_in, c_out = (shape[-2], shape[-1]) if layout == "in_out" else (shape[1], shape[0])
    k = int(np.prod(spatial, dtype=np.int64)) if spatial else 1
    return c_in * k, c_out * k


def test_short_functions_stubs_and_unparsable_cells_are_never_flagged():
    stub = json.loads((ROOT / "exercises" / "03_lecun.ipynb").read_text(encoding="utf-8"))
    short = _nb(
        "def sum_variance(n, var_w, var_x, mean_x=0.0):\n    return n * var_w * (var_x + mean_x**2)"
    )
    broken = _nb("def fan_in_and_fan_out(:\n    pass", "%matplotlib inline\nraise SystemExit")
    entries = [
        (f"{i}.ipynb", f"s{i}", "03_lecun", nb)
        for i, nb in enumerate([stub, stub, short, short, broken])
    ]
    assert sim.find_copies(entries) == {}


def test_the_function_read_is_the_last_top_level_definition():
    nb = _nb("def f():\n    return 1", "def f():\n    return 2\n", "class f:\n    pass")
    assert isinstance(sim.function_node(nb, "f"), ast.ClassDef)
    assert sim.function_node(_nb("def g():\n    def f():\n        return 1"), "f") is None
