"""Exercise 06 (beyond the classics): orthogonal init, one LSUV step, the end-to-end spectrum,
and JAX/Flax's default (truncated LeCun normal)."""

from __future__ import annotations

import math

import numpy as np

from course_utils.grading.checks import (
    NO_OUTPUT,
    Call,
    CheckResult,
    Outcome,
    QuestionCheck,
    Rng,
    deterministic,
    first_error,
    random_initializer,
    seed_checks,
)
from course_utils.grading.registry import question
from course_utils.lsuv import lsuv_step

EXERCISE = "06_beyond"

# ------------------------------------------------------------------------------ orthogonal

#: Draws of a 4 x 4 matrix used to test that the law is Haar (the sign fix): under Haar each
#: diagonal entry is positive with probability 1/2; without the fix, numpy's Householder QR makes
#: Q[0, 0] = -|a_00| / ||a_0|| negative in every draw.
HAAR_DRAWS = 120
HAAR_Z = 5.0


class OrthogonalCheck(QuestionCheck):
    """``orthogonal(shape, rng, *, gain=1.0, layout="in_out")`` as the library's: shape, float32,
    orthonormal columns (tall/square) or rows (wide) scaled by ``gain``, conv kernels flattened
    to ``(prod(shape[:-1]), shape[-1])`` in the in_out layout and to ``(shape[0],
    prod(shape[1:]))`` in the out_in (PyTorch) layout, Haar law (sign fix), seeds and global
    state. The out_in calls form their own check ("out_in layout"): a dense weight looks the
    same in both layouts, a conv kernel does not, so a function that ignores ``layout`` fails it.
    """

    def calls(self, rng: np.random.Generator | None) -> list[Call]:
        if rng is None:
            shapes = [
                ((64, 32), {}),
                ((32, 64), {}),
                ((3, 3, 8, 16), {}),
                ((50, 50), {"gain": 2.0}),
            ]
            out_in = [((32, 64), {}), ((16, 8, 3, 3), {}), ((12, 4, 5), {"gain": 1.5})]
            seeds = [int(s) for s in range(1, 7)]
            out_in_seeds = [int(s) for s in range(7, 10)]
            haar_seeds = list(range(1000, 1000 + HAAR_DRAWS))
        else:
            n = int(rng.integers(20, 120))
            m = int(rng.integers(5, n))
            k = int(rng.choice([1, 3, 5]))
            c_in, c_out = int(rng.integers(2, 12)), int(rng.integers(4, 40))
            shapes = [
                ((n, m), {}),
                ((m, n), {}),
                ((k, k, c_in, c_out), {}),
                ((n, n), {"gain": float(np.round(rng.uniform(0.5, 3.0), 3))}),
            ]
            c_o, c_i = int(rng.integers(8, 40)), int(rng.integers(2, 12))
            out_in = [
                ((m, n), {}),
                ((c_o, c_i, k, k), {}),
                ((c_i, c_o, k), {"gain": float(np.round(rng.uniform(0.5, 3.0), 3))}),
            ]
            seeds = [int(s) for s in rng.choice(2**31, size=6, replace=False)]
            out_in_seeds = [int(s) for s in rng.choice(2**31, size=3, replace=False)]
            haar_seeds = [int(s) for s in rng.choice(2**31, size=HAAR_DRAWS, replace=False)]
        calls = [Call((s, Rng(seeds[i])), kw, group="sample") for i, (s, kw) in enumerate(shapes)]
        calls += [
            Call((s, Rng(out_in_seeds[i])), {**kw, "layout": "out_in"}, group="out_in")
            for i, (s, kw) in enumerate(out_in)
        ]
        calls.append(Call(calls[0].args, {}, group="same seed"))
        calls.append(Call((calls[0].args[0], Rng(seeds[5])), {}, group="other seed"))
        calls += [Call(((4, 4), Rng(s)), {}, group="haar") for s in haar_seeds]
        return calls

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        err = first_error([o for c, o in zip(calls, outcomes, strict=True) if c.group != "out_in"])
        results = [CheckResult("runs", not err, err or "returns a value for every input")]
        shape_msgs, ortho_msgs, dtype_msgs = [], [], []
        n_samples = 0
        for call, out in zip(calls, outcomes, strict=True):
            if call.group != "sample" or not out.ok:
                continue
            n_samples += 1
            shape = tuple(call.args[0])
            w = out.value
            if not isinstance(w, np.ndarray) or w.shape != shape:
                got = w.shape if isinstance(w, np.ndarray) else type(w).__name__
                shape_msgs.append(f"{call.describe(name)} returned {got}, expected shape {shape}")
                continue
            if w.dtype != np.float32:
                dtype_msgs.append(f"dtype {w.dtype}, expected float32")
            g = float(call.kwargs.get("gain", 1.0))
            mat = w.astype(np.float64).reshape(math.prod(shape[:-1]), shape[-1])
            gram = mat.T @ mat if mat.shape[0] >= mat.shape[1] else mat @ mat.T
            dev = float(np.abs(gram - g**2 * np.eye(gram.shape[0])).max())
            # float32 entries: the Gram matrix's rounding is ~1e-7 * gain^2 * sqrt(n); 1e-4 * g^2
            if not dev <= 1e-4 * max(g**2, 1.0):
                which = "W^T W" if mat.shape[0] >= mat.shape[1] else "W W^T"
                ortho_msgs.append(
                    f"{call.describe(name)}: {which} differs from gain^2 I by up to {dev:.3g}"
                    " (tall or square: orthonormal columns; wide: orthonormal rows; conv kernels"
                    " are flattened to (kh*kw*c_in, c_out); multiply by gain)"
                )
        if n_samples == 0:
            results += [CheckResult(c, False, NO_OUTPUT) for c in ("shape", "orthonormal")]
            results.append(CheckResult("dtype", False, NO_OUTPUT, weight=0.5))
        else:
            results.append(
                CheckResult(
                    "shape", not shape_msgs, shape_msgs[0] if shape_msgs else "requested shapes"
                )
            )
            results.append(
                CheckResult(
                    "orthonormal",
                    not ortho_msgs and not shape_msgs,
                    ortho_msgs[0] if ortho_msgs else "orthonormal columns/rows, scaled by gain",
                )
            )
            results.append(
                CheckResult(
                    "dtype", not dtype_msgs, dtype_msgs[0] if dtype_msgs else "float32", weight=0.5
                )
            )
        results.append(self._out_in(calls, outcomes, name))
        results.append(self._haar(calls, outcomes))
        results.extend(seed_checks(calls, outcomes, draw_hint="rng.standard_normal"))
        return results  # fmt: skip

    @staticmethod
    def _out_in(calls: list[Call], outcomes: list[Outcome], name: str) -> CheckResult:
        """PyTorch's layout: the matrix is ``(shape[0], prod(shape[1:]))``; its rows (wide) or
        columns (tall) are orthonormal times gain, as ``torch.nn.init.orthogonal_`` makes them."""
        pairs = [(c, o) for c, o in zip(calls, outcomes, strict=True) if c.group == "out_in"]
        if not pairs:
            return CheckResult("out_in layout", False, NO_OUTPUT)
        for call, out in pairs:
            shape = tuple(call.args[0])
            if not out.ok:
                msg = first_error([out])
                return CheckResult(
                    "out_in layout",
                    False,
                    f"{call.describe(name)} {msg}: accept layout='in_out' or 'out_in' as the "
                    "library does",
                )
            w = out.value
            if not isinstance(w, np.ndarray) or w.shape != shape:
                got = w.shape if isinstance(w, np.ndarray) else type(w).__name__
                return CheckResult(
                    "out_in layout", False,
                    f"{call.describe(name)} returned {got}, expected shape {shape}",
                )  # fmt: skip
            g = float(call.kwargs.get("gain", 1.0))
            mat = w.astype(np.float64).reshape(shape[0], -1)
            gram = mat.T @ mat if mat.shape[0] >= mat.shape[1] else mat @ mat.T
            dev = float(np.abs(gram - g**2 * np.eye(gram.shape[0])).max())
            if not dev <= 1e-4 * max(g**2, 1.0):
                return CheckResult(
                    "out_in layout",
                    False,
                    f"{call.describe(name)}: the matrix (shape[0], prod(shape[1:])) = {mat.shape} "
                    f"is not orthogonal times gain (max deviation of its Gram matrix {dev:.3g}); "
                    "in the out_in layout flatten all axes but the first into columns",
                )
        return CheckResult(
            "out_in layout", True, "out_in: (shape[0], prod(shape[1:])) orthogonal times gain"
        )

    @staticmethod
    def _haar(calls: list[Call], outcomes: list[Outcome]) -> CheckResult:
        diags = [
            np.diag(o.value)
            for c, o in zip(calls, outcomes, strict=True)
            if c.group == "haar" and o.ok and isinstance(o.value, np.ndarray)
            and o.value.shape == (4, 4)
        ]  # fmt: skip
        if len(diags) < HAAR_DRAWS:
            return CheckResult("Haar law (sign fix)", False, NO_OUTPUT)
        frac = (np.array(diags) > 0).mean(axis=0)
        # Binomial: each fraction has SE sqrt(1/4 / N) under Haar
        se = math.sqrt(0.25 / len(diags))
        bad = [i for i, f in enumerate(frac) if abs(f - 0.5) > HAAR_Z * se]
        if bad:
            return CheckResult(
                "Haar law (sign fix)",
                False,
                f"over {len(diags)} draws of a 4x4 matrix, W[{bad[0]},{bad[0]}] was positive in "
                f"{frac[bad[0]]:.0%} of them (a uniformly random orthogonal matrix: 50%). "
                "Multiply the columns of Q by sign(diag(R))",
            )
        return CheckResult("Haar law (sign fix)", True, "diagonal signs are balanced (Haar)")


question(
    "orthogonal",
    exercise=EXERCISE,
    points=4,
    title="orthogonal(shape, rng, *, gain, layout): QR of a Gaussian matrix with the sign fix",
    check=OrthogonalCheck(),
    forbidden=(
        "course_utils.initializers.orthogonal",
        "course_utils.initializers.INITIALIZERS",
        "torch.nn.init.orthogonal_",
        "scipy.stats.ortho_group",
    ),
)

# ------------------------------------------------------------------------------ LSUV step


def lsuv_step_reference(w: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """``w / sqrt(Var(inputs @ w))`` (Mishkin & Matas, 2016), via the library."""
    return lsuv_step(w, inputs)


def _lsuv_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for group, scale in (("shrinks a large layer", 3.0), ("grows a small layer", 0.05)):
        for _ in range(2):
            n_in, n_out, batch = (int(v) for v in rng.integers(8, 200, size=3))
            w = (scale * rng.standard_normal((n_in, n_out)) / math.sqrt(n_in)).astype(np.float32)
            x = rng.standard_normal((batch, n_in)) * float(rng.uniform(0.5, 2.0))
            calls.append(Call((w, x), group=group))
    n_in, n_out = (int(v) for v in rng.integers(8, 100, size=2))
    x = np.abs(rng.standard_normal((64, n_in))) + 0.5  # non-centred inputs (after a ReLU)
    w = rng.standard_normal((n_in, n_out)).astype(np.float32)
    calls.append(Call((w, x), group="non-centred inputs"))
    return calls


_VIS = np.random.default_rng(606)
question(
    "lsuv_step",
    exercise=EXERCISE,
    points=3,
    title="one LSUV step: rescale W so Var(x W) = 1 on the batch",
    check=deterministic(
        lsuv_step_reference,
        visible=[
            Call(
                (
                    (3.0 * _VIS.standard_normal((64, 32)) / 8).astype(np.float32),
                    _VIS.standard_normal((128, 64)),
                ),
                group="shrinks a large layer",
            ),
            Call(
                (
                    (0.05 * _VIS.standard_normal((64, 32)) / 8).astype(np.float32),
                    _VIS.standard_normal((128, 64)),
                ),
                group="grows a small layer",
            ),
            Call(
                (
                    _VIS.standard_normal((16, 8)).astype(np.float32),
                    np.abs(_VIS.standard_normal((32, 16))) + 0.5,
                ),
                group="non-centred inputs",
            ),
        ],  # fmt: skip
        hidden=_lsuv_calls,
        rtol=1e-5,
        atol=1e-7,
        hints={
            "shrinks a large layer": "divide w by the standard deviation of inputs @ w",
            "grows a small layer": "the same formula scales a small layer up",
            "non-centred inputs": "use the variance of the outputs (np.var), not their mean "
            "square: inputs after a ReLU are not centred",
        },
    ),
    forbidden=(
        "course_utils.lsuv.lsuv_step",
        "course_utils.lsuv.lsuv",
        "course_utils.lsuv.lsuv_init",
    ),
)

# ------------------------------------------------------------------------------ spectrum


def end_to_end_singular_values_reference(weights: list[np.ndarray]) -> np.ndarray:
    """Singular values, largest first, of the product ``W_1 W_2 ... W_L`` (float64)."""
    p = weights[0].astype(np.float64)
    for w in weights[1:]:
        p = p @ w.astype(np.float64)
    return np.linalg.svd(p, compute_uv=False)


def _sv_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(2):
        n, depth = int(rng.integers(8, 40)), int(rng.integers(3, 12))
        ws = [rng.standard_normal((n, n)) / math.sqrt(n) for _ in range(depth)]
        calls.append(Call((ws,), group="square layers"))
    widths = [int(v) for v in rng.integers(5, 40, size=4)]
    pairs = zip(widths[:-1], widths[1:], strict=True)
    ws = [rng.standard_normal((a, b)) / math.sqrt(a) for a, b in pairs]
    calls.append(Call((ws,), group="changing widths"))
    return calls


_SV = np.random.default_rng(607)
question(
    "end_to_end_singular_values",
    exercise=EXERCISE,
    points=2,
    title="singular values of the end-to-end product of the layers",
    check=deterministic(
        end_to_end_singular_values_reference,
        visible=[
            Call(
                ([_SV.standard_normal((20, 20)) / math.sqrt(20) for _ in range(5)],),
                group="square layers",
            ),
            Call(
                ([_SV.standard_normal((10, 30)), _SV.standard_normal((30, 5))],),
                group="changing widths",
            ),
        ],  # fmt: skip
        hidden=_sv_calls,
        rtol=1e-6,
        atol=1e-9,
        hints={
            "square layers": "multiply the matrices in order, then np.linalg.svd(..., "
            "compute_uv=False); the values come largest first",
            "changing widths": "the product of (a, b) and (b, c) matrices is (a, c): it has "
            "min(a, c) singular values",
        },
    ),
)

# ------------------------------------------------------------------------------ Flax default

question(
    "flax_default_kernel_init",
    exercise=EXERCISE,
    points=3,
    title="JAX/Flax's default Dense kernel: truncated normal with Var = 1/fan_in",
    check=random_initializer(
        lambda fan_in, fan_out: 1.0 / fan_in,
        family="truncated_normal",
        variance_label="1/fan_in (after truncation at 2 sd)",
    ),
    forbidden=(
        "course_utils.initializers.variance_scaling",
        "course_utils.initializers.lecun_normal",
        "course_utils.initializers.INITIALIZERS",
    ),
)
