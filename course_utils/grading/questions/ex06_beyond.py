"""Exercise 06 (beyond the classics): orthogonal init, one LSUV step, the end-to-end spectrum,
JAX/Flax's default (truncated LeCun normal), and three questions past the lectures: what
orthogonal layers do to the per-unit second moment when the width changes, the std of PyTorch's
default grouped and transposed convolutions, and (stretch) the std that torch's trunc_normal_
gives for absolute, possibly asymmetric bounds.

Version history (``VERSION``): 1 the first release; 2 added ``layout=`` to ``orthogonal``;
3 (this one) re-weighted the points, added ``transposed=`` to ``torch_conv_default_std`` and
replaced the stretch ``truncated_std_factor(cut)`` by ``torch_trunc_normal_std(std, a, b)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from course_utils.grading.checks import (
    NO_OUTPUT,
    Call,
    CheckResult,
    Outcome,
    QuestionCheck,
    Rng,
    first_error,
    random_initializer,
    seed_checks,
)
from course_utils.grading.predictions import (
    GatedCheck,
    PredictedCheck,
    apply_gate,
    predicted,
)
from course_utils.grading.registry import question
from course_utils.lsuv import lsuv_step

EXERCISE = "06_beyond"
#: bumped whenever a question of this exercise changes (see the module docstring)
VERSION = "3"
#: what a graded answer may import: numpy and math, and the course's fan helper for question 4
ALLOWED_IMPORTS = ("math", "numpy", "course_utils.initializers")

# ------------------------------------------------------------------------------ orthogonal

#: Draws of a 4 x 4 matrix used to test that the law is Haar (the sign fix): under Haar each
#: diagonal entry is positive with probability 1/2; without the fix, numpy's Householder QR makes
#: Q[0, 0] = -|a_00| / ||a_0|| negative in every draw.
HAAR_DRAWS = 120
BAD_LAYOUTS = ("channels_last", "NCHW", "inout", "out-in")
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
        bad = "channels_last" if rng is None else str(rng.choice(BAD_LAYOUTS))
        calls.append(Call(((6, 4), Rng(seeds[0])), {"layout": bad}, group="bad layout"))
        return calls

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        err = first_error(
            [
                o
                for c, o in zip(calls, outcomes, strict=True)
                if c.group not in ("out_in", "bad layout")
            ]
        )
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
        results.append(self._bad_layout(calls, outcomes, name))
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
    def _bad_layout(calls: list[Call], outcomes: list[Outcome], name: str) -> CheckResult:
        """The question's text asks for ValueError on an unknown layout."""
        for call, out in zip(calls, outcomes, strict=True):
            if call.group != "bad layout":
                continue
            if out.ok:
                msg = f"{call.describe(name)} returned a value: an unknown layout must raise"
                return CheckResult("ValueError for an unknown layout", False, msg)
            if not out.error.startswith("ValueError"):
                msg = f"{call.describe(name)} raised {out.error[:80]}, not ValueError"
                return CheckResult("ValueError for an unknown layout", False, msg)
            return CheckResult("ValueError for an unknown layout", True, "raises ValueError")
        return CheckResult("ValueError for an unknown layout", False, NO_OUTPUT)

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
                "The QR routine's sign convention makes the law non-uniform: see lecture 06, "
                "'Orthogonal matrices, sampled correctly'",
            )
        return CheckResult("Haar law (sign fix)", True, "diagonal signs are balanced (Haar)")


class _MainsFirst(GatedCheck):
    """A gated check whose verdict lists the failed main checks first, so that the message a
    student reads starts with what carries the concept, not with "counts only when ..."."""

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        results = super().verdict(calls, outcomes, name)
        return sorted(results, key=lambda r: not (getattr(r, "main", False) and not r.passed))


question(
    "orthogonal",
    exercise=EXERCISE,
    since="2",
    points=2,
    title="orthogonal(shape, rng, *, gain, layout): QR of a Gaussian matrix with the sign fix",
    # the three concepts of the question gate the rest: orthonormal times gain, the Haar law
    # (sign fix) and PyTorch's out_in flattening; an answer missing one of them earns at most
    # the other two's weights (2 of 9.5)
    check=_MainsFirst(OrthogonalCheck(), ["orthonormal", "Haar law (sign fix)", "out_in layout"]),
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
    for scale in (3.0, 0.05):
        n_in, n_out, batch = (int(v) for v in rng.integers(8, 200, size=3))
        w = (scale * rng.standard_normal((n_in, n_out)) / math.sqrt(n_in)).astype(np.float32)
        x = rng.standard_normal((batch, n_in)) * float(rng.uniform(0.5, 2.0))
        calls.append(Call((w, x), group="layers and batches"))
    for _ in range(2):  # non-centred inputs (after a ReLU): variance and mean square differ
        n_in, n_out = (int(v) for v in rng.integers(8, 100, size=2))
        x = np.abs(rng.standard_normal((64, n_in))) + float(rng.uniform(0.2, 1.0))
        w = rng.standard_normal((n_in, n_out)).astype(np.float32)
        calls.append(Call((w, x), group="layers and batches"))
    return calls


class _LsuvCheck(PredictedCheck):
    """Values against the reference (one group: large, small and non-centred layers, so a mean
    square in place of the variance fails the main check), plus the dtype of the weight kept
    (the question asks; a side requirement)."""

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        results = super().verdict(calls, outcomes, name)
        wrong, n_arrays = [], 0
        for call, out in zip(calls, outcomes, strict=True):
            if out.ok and isinstance(out.value, np.ndarray):
                n_arrays += 1
                if out.value.dtype != call.args[0].dtype:
                    wrong.append(f"dtype {out.value.dtype}, the weight's is {call.args[0].dtype}")
        if n_arrays == 0:
            results.append(CheckResult("dtype kept", False, NO_OUTPUT, weight=0.5))
        else:
            results.append(
                CheckResult(
                    "dtype kept", not wrong, wrong[0] if wrong else "the weight's dtype", weight=0.5
                )
            )
        return apply_gate(results, [results[0].name])


_VIS = np.random.default_rng(606)
question(
    "lsuv_step",
    exercise=EXERCISE,
    points=1,
    title="one LSUV step: rescale W so Var(x W) = 1 on the batch",
    check=_LsuvCheck(
        lsuv_step_reference,
        visible=[
            Call(
                (
                    (3.0 * _VIS.standard_normal((64, 32)) / 8).astype(np.float32),
                    _VIS.standard_normal((128, 64)),
                ),
                group="layers and batches",
            ),
            Call(
                (
                    (0.05 * _VIS.standard_normal((64, 32)) / 8).astype(np.float32),
                    _VIS.standard_normal((128, 64)),
                ),
                group="layers and batches",
            ),
            Call(
                (
                    _VIS.standard_normal((16, 8)).astype(np.float32),
                    np.abs(_VIS.standard_normal((32, 16))) + 0.5,
                ),
                group="layers and batches",
            ),
        ],  # fmt: skip
        hidden=_lsuv_calls,
        rtol=1e-5,
        atol=1e-7,
        mistakes={
            "the mean square of the outputs is used: inputs after a ReLU are not centred, so "
            "it is not their variance": lambda w, x: w / np.sqrt(np.mean((x @ w) ** 2)),
            "the weight is divided by the variance instead of the std": lambda w, x: (
                w / np.var(x @ w)
            ),
            "the weights' own spread is used: LSUV measures the layer's output on the batch": (
                lambda w, x: w / np.std(w)
            ),
            "each output unit is rescaled on its own: LSUV takes one variance over the whole "
            "(batch, fan_out) block": lambda w, x: w / np.std(x @ w, axis=0),
        },
        hints={
            "layers and batches": "lecture 06, section 'LSUV: measure the scale instead of "
            "deriving it': which quantity does one step set "
            "to 1, and how does it change when the weight is multiplied by a constant?",
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
        calls.append(Call((ws,), group="products"))
    widths = [int(v) for v in rng.integers(5, 40, size=4)]
    pairs = zip(widths[:-1], widths[1:], strict=True)
    ws = [rng.standard_normal((a, b)) / math.sqrt(a) for a, b in pairs]
    calls.append(Call((ws,), group="products"))
    return calls


_SV = np.random.default_rng(607)
question(
    "end_to_end_singular_values",
    exercise=EXERCISE,
    points=0.5,
    title="singular values of the end-to-end product of the layers",
    check=predicted(
        end_to_end_singular_values_reference,
        visible=[
            Call(
                ([_SV.standard_normal((20, 20)) / math.sqrt(20) for _ in range(5)],),
                group="products",
            ),
            Call(
                ([_SV.standard_normal((10, 30)), _SV.standard_normal((30, 5))],),
                group="products",
            ),
        ],  # fmt: skip
        hidden=_sv_calls,
        rtol=1e-6,
        atol=1e-9,
        mistakes={
            "the singular values are sorted smallest first": lambda ws: np.sort(
                end_to_end_singular_values_reference(ws)
            ),
            "squared singular values (eigenvalues of P^T P) are returned": lambda ws: (
                end_to_end_singular_values_reference(ws) ** 2
            ),
            "the layers are multiplied in reverse order": lambda ws: (
                end_to_end_singular_values_reference(ws[::-1])
            ),
        },
        hints={
            "products": "lecture 06, section 'Fifty layers: the spectrum of the end-to-end "
            "map': the map is x -> x W_1 ... W_L; how many singular "
            "values does an (a, c) matrix have, and in which order does the question want them?",
        },
    ),
)

# ------------------------------------------------------------------------------ Flax default


class _FlaxCheck(_MainsFirst):
    """The variance and the law (a normal cut at two standard deviations) are the two concepts
    of the question: both are main checks, each 2.5 of 11 weight units, so an answer with only
    one of them earns under a quarter of the points."""

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        results = self.inner.verdict(calls, outcomes, name)
        for r in results:
            if r.name in ("variance", "distribution"):
                r.weight = 2.5
        results = apply_gate(results, self.main)
        return sorted(results, key=lambda r: not (getattr(r, "main", False) and not r.passed))


question(
    "flax_default_kernel_init",
    exercise=EXERCISE,
    points=1.5,
    title="JAX/Flax's default Dense kernel: truncated normal with Var = 1/fan_in",
    check=_FlaxCheck(
        random_initializer(
            lambda fan_in, fan_out: 1.0 / fan_in,
            family="truncated_normal",
            variance_label="1/fan_in (after truncation at 2 sd)",
        ),
        main=("variance", "distribution"),
    ),
    forbidden=(
        "course_utils.initializers.variance_scaling",
        "course_utils.initializers.lecun_normal",
        "course_utils.initializers.INITIALIZERS",
    ),
)


# ------------------------------------------------------------------------------ orthogonal funnel


def orthogonal_funnel_ratios_reference(widths: list[int]) -> tuple[float, float]:
    """(E[z_L^2] / E[x^2], E[(dL/dx)^2] / E[(dL/dz_L)^2]) per unit, linear net of orthogonal
    layers with gain 1, isotropic inputs and output gradients. A tall layer (n_in >= n_out) has
    orthonormal columns: each output keeps the per-unit second moment, while backwards the norm is
    kept and spread over more units (factor n_out / n_in); a wide layer the other way round."""
    forward = backward = 1.0
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        forward *= min(1.0, n_in / n_out)
        backward *= min(1.0, n_out / n_in)
    return forward, backward


def _ortho_widths(rng: np.random.Generator) -> list[int]:
    depth = int(rng.integers(3, 8))
    return [int(v) for v in rng.integers(8, 1025, size=depth + 1)]


def _funnel_ends_only(widths):
    return min(1.0, widths[0] / widths[-1]), min(1.0, widths[-1] / widths[0])


question(
    "orthogonal_funnel_ratios",
    exercise=EXERCISE,
    points=3.5,
    title="predict the per-unit forward and backward ratios of a net of orthogonal layers",
    check=predicted(
        orthogonal_funnel_ratios_reference,
        visible=[
            Call(([1024, 256, 64, 10],), group="width profiles"),
            Call(([64, 256, 32, 128],), group="width profiles"),
            Call(([100, 400, 50, 300, 20],), group="width profiles"),
        ],
        hidden=lambda rng: [Call((_ortho_widths(rng),), group="width profiles") for _ in range(4)],
        rtol=1e-9,
        mistakes={
            "an orthogonal matrix keeps norms, but not the per-unit variance when the width "
            "changes": lambda widths: (1.0, 1.0),
            "the two ratios are swapped": lambda widths: orthogonal_funnel_ratios_reference(widths)[
                ::-1
            ],
            "LeCun's ratios are given (1 forward, n_L/n_0 backward)": lambda widths: (
                1.0,
                widths[-1] / widths[0],
            ),
            "every layer is treated as norm-preserving in both directions (n_in/n_out per "
            "layer): a tall layer with orthonormal columns drops part of the norm": lambda w: (
                w[0] / w[-1],
                w[-1] / w[0],
            ),
            "only the first and last widths are used: a narrow layer in between is a "
            "bottleneck": _funnel_ends_only,
            "the ratios of the standard deviations are given, not of the mean squares": (
                lambda widths: tuple(
                    math.sqrt(v) for v in orthogonal_funnel_ratios_reference(widths)
                )
            ),
        },
        hints={
            "width profiles": "lecture 06, section 'Orthogonal matrices, sampled correctly' "
            "(norm preservation): what does x W do to "
            "the squared norm when W has orthonormal rows, and when it has orthonormal columns? "
            "Over how many units is that norm spread?",
        },
    ),
    forbidden=(
        "course_utils.theory.predict",
        "course_utils.theory.weight_variance",
        "course_utils.theory.backward_variance",
    ),
)

# ------------------------------------------------------------------------------ PyTorch conv default


def torch_conv_default_std_reference(
    c_in: int,
    c_out: int,
    kernel_size: tuple[int, ...],
    groups: int = 1,
    transposed: bool = False,
) -> float:
    """Std of the weights of a default ``nn.Conv{1,2,3}d(c_in, c_out, kernel_size,
    groups=groups)`` or, with ``transposed``, ``nn.ConvTranspose{1,2,3}d``. Both draw
    kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), std 1 / sqrt(3 fan_in),
    with the fan_in that torch computes from the stored weight: dimension 1 times the receptive
    field. A convolution stores (c_out, c_in / groups, k...), so fan_in = (c_in / groups) prod(k);
    a transposed one stores (c_in, c_out / groups, k...), so fan_in = (c_out / groups) prod(k)."""
    per_group = (c_out if transposed else c_in) // groups
    return 1.0 / math.sqrt(3.0 * per_group * math.prod(kernel_size))


def _conv_default_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for transposed in (False, True):
        ks = tuple(int(v) for v in rng.choice([1, 3, 5, 7], size=int(rng.integers(1, 4))))
        c_in, c_out = (int(v) for v in rng.choice(np.arange(1, 257), size=2, replace=False))
        calls.append(Call((c_in, c_out, ks), {"transposed": transposed}, group="convolutions"))
    for transposed in (False, True):
        g = int(rng.choice([2, 4, 8, 16]))
        ks = tuple(int(v) for v in rng.choice([3, 5], size=2))
        a, b = (int(v) for v in rng.choice(np.arange(1, 17), size=2, replace=False))
        calls.append(
            Call((g * a, g * b, ks), {"groups": g, "transposed": transposed}, group="convolutions")
        )
    c = int(rng.integers(8, 257))
    calls.append(Call((c, 2 * c, (3, 3)), {"groups": c}, group="convolutions"))
    return calls


def _conv_wrong(fan_in_of: Callable[..., float], std_of: Callable[[float], float]):
    def wrong(c_in, c_out, ks, groups=1, transposed=False):
        return std_of(fan_in_of(c_in, c_out, ks, groups, transposed))

    return wrong


def _conv_fan_in(c_in, c_out, ks, groups, transposed):
    return ((c_out if transposed else c_in) // groups) * math.prod(ks)


def _uniform_std(fan_in: float) -> float:
    return 1.0 / math.sqrt(3.0 * fan_in)


question(
    "torch_conv_default_std",
    exercise=EXERCISE,
    since="3",
    points=3,
    title="predict the weight std of PyTorch's default (grouped, transposed) convolutions",
    check=predicted(
        torch_conv_default_std_reference,
        visible=[
            Call((64, 128, (3, 3)), group="convolutions"),
            Call((3, 16, (5,)), group="convolutions"),
            Call((32, 64, (3, 3)), {"groups": 4}, group="convolutions"),
            Call((48, 96, (3, 3)), {"groups": 48}, group="convolutions"),
            Call((64, 16, (4, 4)), {"transposed": True}, group="convolutions"),
            Call((32, 64, (2, 3, 3)), {"groups": 8, "transposed": True}, group="convolutions"),
        ],
        hidden=_conv_default_calls,
        rtol=1e-9,
        mistakes={
            "the bound 1/sqrt(fan_in) of the uniform law is used as its standard deviation": (
                _conv_wrong(_conv_fan_in, lambda f: 1.0 / math.sqrt(f))
            ),
            "the variance is given, not the standard deviation": _conv_wrong(
                _conv_fan_in, lambda f: 1.0 / (3.0 * f)
            ),
            "the groups are ignored: each output channel sees only c_in/groups channels": (
                _conv_wrong(
                    lambda ci, co, ks, g, t: (co if t else ci) * math.prod(ks), _uniform_std
                )
            ),
            "the receptive field is left out of fan_in": _conv_wrong(
                lambda ci, co, ks, g, t: (co if t else ci) // g, _uniform_std
            ),
            "He's std sqrt(2/fan_in) is given: PyTorch's default is kaiming_uniform_ with "
            "a = sqrt(5), not He's gain": _conv_wrong(_conv_fan_in, lambda f: math.sqrt(2.0 / f)),
            "a transposed convolution is treated like a convolution: torch stores its weight as "
            "(c_in, c_out / groups, k...) and takes fan_in from dimension 1": _conv_wrong(
                lambda ci, co, ks, g, t: (ci // g) * math.prod(ks), _uniform_std
            ),
            "fan_in and fan_out are swapped (c_out where c_in belongs)": _conv_wrong(
                lambda ci, co, ks, g, t: ((ci if t else co) // g) * math.prod(ks), _uniform_std
            ),
        },
        hints={
            "convolutions": "lecture 04 gives the default law of nn.Linear, lecture 06 the fan_in "
            "of a convolution. Which axis of the stored weight does torch read the fan_in from, "
            "and what is the stored shape of a grouped or a transposed convolution (print "
            "conv.weight.shape)?",
        },
    ),
    # no forbidden objects: the library's fan_in_and_fan_out knows no groups, and it stays
    # available for question 4 (a forbidden object is stubbed for the whole exercise)
)

# ------------------------------------------------------------------------------ truncation (stretch)


def _phi(x: float) -> float:
    return math.exp(-x * x / 2.0) / math.sqrt(2.0 * math.pi)


def _big_phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def torch_trunc_normal_std_reference(std: float, a: float = -2.0, b: float = 2.0) -> float:
    """Std of the values of ``torch.nn.init.trunc_normal_(w, mean=0, std=std, a=a, b=b)``: a
    normal N(0, std^2) conditioned on a <= w <= b, with *absolute* bounds. With alpha = a/std,
    beta = b/std and Z = Phi(beta) - Phi(alpha), the standardized law has mean
    m = (phi(alpha) - phi(beta)) / Z and second moment 1 + (alpha phi(alpha) - beta phi(beta)) / Z,
    so the std is std * sqrt(1 + (alpha phi(alpha) - beta phi(beta)) / Z - m^2)."""
    alpha, beta = a / std, b / std
    z = _big_phi(beta) - _big_phi(alpha)
    m = (_phi(alpha) - _phi(beta)) / z
    second = 1.0 + (alpha * _phi(alpha) - beta * _phi(beta)) / z
    return std * math.sqrt(second - m * m)


def _trunc_hidden(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(2):  # symmetric absolute bounds, the cut 0.6-3 standard deviations away
        std = float(np.round(rng.uniform(0.3, 3.0), 4))
        cut = float(np.round(std * rng.uniform(0.6, 3.0), 4))
        calls.append(Call((std,), {"a": -cut, "b": cut}, group="bounds"))
    for _ in range(3):  # asymmetric: the kept interval holds a few % or more of the mass
        std = float(np.round(rng.uniform(0.3, 3.0), 4))
        lo = float(rng.uniform(-2.5, 0.8))
        hi = lo + float(rng.uniform(0.4, 3.0))
        calls.append(
            Call((std,), {"a": float(np.round(lo * std, 4)), "b": float(np.round(hi * std, 4))},
                 group="bounds")
        )  # fmt: skip
    return calls


def _symmetric_trunc(std, a=-2.0, b=2.0):
    c = b / std
    return std * math.sqrt(1.0 - 2.0 * c * _phi(c) / math.erf(c / math.sqrt(2.0)))


def _trunc_relative_bounds(std, a=-2.0, b=2.0):
    return torch_trunc_normal_std_reference(std, a * std, b * std)


def _trunc_mean_not_subtracted(std, a=-2.0, b=2.0):
    alpha, beta = a / std, b / std
    z = _big_phi(beta) - _big_phi(alpha)
    return std * math.sqrt(1.0 + (alpha * _phi(alpha) - beta * _phi(beta)) / z)


def _trunc_mass_not_divided(std, a=-2.0, b=2.0):
    alpha, beta = a / std, b / std
    return std * math.sqrt(1.0 + alpha * _phi(alpha) - beta * _phi(beta))


question(
    "torch_trunc_normal_std",
    exercise=EXERCISE,
    since="3",
    points=2,
    title="stretch: the std that torch's trunc_normal_ gives, for any (absolute) bounds",
    check=predicted(
        torch_trunc_normal_std_reference,
        visible=[
            Call((1.0,), {"a": -1.0, "b": 1.0}, group="bounds"),
            Call((0.5,), {"a": -2.0, "b": 2.0}, group="bounds"),
            Call((2.0,), {"a": -2.0, "b": 2.0}, group="bounds"),
            Call((1.0,), {"a": -0.5, "b": 2.0}, group="bounds"),
            Call((0.5,), {"a": 0.0, "b": 1.0}, group="bounds"),
        ],
        hidden=_trunc_hidden,
        rtol=1e-6,
        mistakes={
            "the variance is given, not the standard deviation": lambda s, a=-2.0, b=2.0: (
                torch_trunc_normal_std_reference(s, a, b) ** 2
            ),
            "the bounds are read in units of std (Keras' convention), not as absolute values": (
                _trunc_relative_bounds
            ),
            "the truncation is ignored": lambda s, a=-2.0, b=2.0: s,
            "the mean of the kept values is not subtracted: with asymmetric bounds it is not 0": (
                _trunc_mean_not_subtracted
            ),
            "the symmetric formula (cut at b) is used for asymmetric bounds": _symmetric_trunc,
            "the kept mass Z is not divided out (the density of the kept values integrates to "
            "1)": _trunc_mass_not_divided,
        },
        hints={
            "bounds": "lecture 06, section 'Truncated normals: corrected or not'. "
            "Standardize the bounds first; "
            "then the kept law's first and second moments, each an integral over [a, b] "
            "divided by the kept probability. Checks: a very wide interval must give std back; "
            "an interval only on one side of 0 has a mean that is not 0.",
        },
    ),
)
