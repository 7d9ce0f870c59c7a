"""Exercise 06 (beyond the classics): orthogonal init, one LSUV step, the end-to-end spectrum,
JAX/Flax's default (truncated LeCun normal), and the predictions: what orthogonal layers do to
the per-unit variance of a funnel, the std of PyTorch's default (grouped) convolution, and
(stretch) the std of a normal truncated at any cut."""

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
    first_error,
    random_initializer,
    seed_checks,
)
from course_utils.grading.predictions import PredictedCheck, apply_gate, gated, predicted
from course_utils.grading.registry import question
from course_utils.lsuv import lsuv_step

EXERCISE = "06_beyond"

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
                "Multiply the columns of Q by sign(diag(R))",
            )
        return CheckResult("Haar law (sign fix)", True, "diagonal signs are balanced (Haar)")


question(
    "orthogonal",
    exercise=EXERCISE,
    points=3,
    title="orthogonal(shape, rng, *, gain, layout): QR of a Gaussian matrix with the sign fix",
    check=gated(OrthogonalCheck(), main="orthonormal"),
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


class _LsuvCheck(PredictedCheck):
    """Values against the reference, plus the dtype of the weight kept (the question asks)."""

    def verdict(self, calls: list[Call], outcomes: list[Outcome], name: str) -> list[CheckResult]:
        results = super().verdict(calls, outcomes, name)
        wrong, n_arrays = [], 0
        for call, out in zip(calls, outcomes, strict=True):
            if out.ok and isinstance(out.value, np.ndarray):
                n_arrays += 1
                if out.value.dtype != call.args[0].dtype:
                    wrong.append(f"dtype {out.value.dtype}, the weight's is {call.args[0].dtype}")
        if n_arrays == 0:
            results.append(CheckResult("dtype kept", False, NO_OUTPUT))
        else:
            results.append(
                CheckResult("dtype kept", not wrong, wrong[0] if wrong else "the weight's dtype")
            )
        return apply_gate(results, [results[0].name])


_VIS = np.random.default_rng(606)
question(
    "lsuv_step",
    exercise=EXERCISE,
    points=1.5,
    title="one LSUV step: rescale W so Var(x W) = 1 on the batch",
    check=_LsuvCheck(
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
            "shrinks a large layer": "the factor comes from the layer's output on the batch",
            "grows a small layer": "the same formula scales a small layer up",
            "non-centred inputs": "the variance of the outputs, not their mean square: inputs "
            "after a ReLU are not centred",
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
    points=1,
    title="singular values of the end-to-end product of the layers",
    check=predicted(
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
            "square layers": "the product of the matrices in their order; only its singular "
            "values are wanted, largest first",
            "changing widths": "the product of (a, b) and (b, c) matrices is (a, c): it has "
            "min(a, c) singular values",
        },
    ),
)

# ------------------------------------------------------------------------------ Flax default

question(
    "flax_default_kernel_init",
    exercise=EXERCISE,
    points=2,
    title="JAX/Flax's default Dense kernel: truncated normal with Var = 1/fan_in",
    check=gated(
        random_initializer(
            lambda fan_in, fan_out: 1.0 / fan_in,
            family="truncated_normal",
            variance_label="1/fan_in (after truncation at 2 sd)",
        ),
        main="variance",
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
    depth = int(rng.integers(2, 7))
    return [int(v) for v in rng.integers(8, 1025, size=depth + 1)]


question(
    "orthogonal_funnel_ratios",
    exercise=EXERCISE,
    points=3,
    title="predict the per-unit forward and backward ratios of a net of orthogonal layers",
    check=predicted(
        orthogonal_funnel_ratios_reference,
        visible=[
            Call(([1024, 256, 64, 10],), group="width profiles"),
            Call(([64, 256, 32, 128],), group="width profiles"),
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
        },
        hints={
            "width profiles": "lecture 06, norm preservation: a tall matrix has orthonormal "
            "columns, a wide one orthonormal rows; ask what each does to the mean square per "
            "unit, forwards (x W) and backwards (g W^T)",
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
    c_in: int, c_out: int, kernel_size: tuple[int, ...], groups: int = 1
) -> float:
    """Std of the weights of a default ``nn.Conv{1,2,3}d(c_in, c_out, kernel_size,
    groups=groups)``: kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
    fan_in = (c_in / groups) * prod(kernel_size), so the std is 1 / sqrt(3 fan_in)."""
    fan_in = (c_in // groups) * math.prod(kernel_size)
    return 1.0 / math.sqrt(3.0 * fan_in)


def _conv_default_calls(rng: np.random.Generator) -> list[Call]:
    calls = []
    for _ in range(2):
        ks = tuple(int(v) for v in rng.choice([1, 3, 5, 7], size=int(rng.integers(1, 4))))
        calls.append(
            Call((int(rng.integers(1, 257)), int(rng.integers(1, 257)), ks), group="dense groups")
        )
    for _ in range(2):
        g = int(rng.choice([2, 4, 8, 16]))
        ks = tuple(int(v) for v in rng.choice([3, 5], size=2))
        c_in, c_out = g * int(rng.integers(1, 17)), g * int(rng.integers(1, 17))
        calls.append(Call((c_in, c_out, ks), {"groups": g}, group="grouped and depthwise"))
    c = int(rng.integers(8, 257))
    calls.append(Call((c, c, (3, 3)), {"groups": c}, group="grouped and depthwise"))
    return calls


question(
    "torch_conv_default_std",
    exercise=EXERCISE,
    points=2.5,
    title="predict the weight std of PyTorch's default (grouped, depthwise) convolution",
    check=predicted(
        torch_conv_default_std_reference,
        visible=[
            Call((64, 128, (3, 3)), group="dense groups"),
            Call((3, 16, (5,)), group="dense groups"),
            Call((32, 64, (3, 3)), {"groups": 4}, group="grouped and depthwise"),
            Call((48, 48, (3, 3)), {"groups": 48}, group="grouped and depthwise"),
        ],
        hidden=_conv_default_calls,
        rtol=1e-9,
        mistakes={
            "the bound 1/sqrt(fan_in) of the uniform law is used as its standard deviation": (
                lambda c_in, c_out, ks, groups=1: 1.0 / math.sqrt((c_in // groups) * math.prod(ks))
            ),
            "the groups are ignored: each output channel sees only c_in/groups channels": (
                lambda c_in, c_out, ks, groups=1: 1.0 / math.sqrt(3.0 * c_in * math.prod(ks))
            ),
            "the receptive field is left out of fan_in": lambda c_in, c_out, ks, groups=1: (
                1.0 / math.sqrt(3.0 * (c_in // groups))
            ),
            "He's std sqrt(2/fan_in) is given: PyTorch's default is kaiming_uniform_ with "
            "a = sqrt(5), not He's gain": lambda c_in, c_out, ks, groups=1: math.sqrt(
                2.0 / ((c_in // groups) * math.prod(ks))
            ),
        },
        hints={
            "dense groups": "lecture 04's default for nn.Linear holds for convolutions, with the "
            "convolution's fan_in (lecture 06)",
            "grouped and depthwise": "PyTorch stores a grouped kernel as (c_out, c_in / groups, "
            "k...): what is its fan_in?",
        },
    ),
    # no forbidden objects: the library's fan_in_and_fan_out knows no groups, and it stays
    # available for question 4 (a forbidden object is stubbed for the whole exercise)
)

# ------------------------------------------------------------------------------ truncation (stretch)


def truncated_std_factor_reference(cut: float) -> float:
    """Std of N(0, 1) conditioned on |z| <= cut: sqrt(1 - 2 cut phi(cut) / (2 Phi(cut) - 1))."""
    c = float(cut)
    mass = math.erf(c / math.sqrt(2.0))
    phi = math.exp(-c * c / 2.0) / math.sqrt(2.0 * math.pi)
    return math.sqrt(1.0 - 2.0 * c * phi / mass)


question(
    "truncated_std_factor",
    exercise=EXERCISE,
    points=2,
    title="stretch: derive the std of a standard normal truncated at +-cut",
    check=predicted(
        truncated_std_factor_reference,
        visible=[Call((2.0,), group="cuts"), Call((1.0,), group="cuts")],
        hidden=lambda rng: [
            Call((float(np.round(c, 4)),), group="cuts") for c in rng.uniform(0.3, 3.5, size=4)
        ],
        rtol=1e-6,
        mistakes={
            "you give the variance, not the standard deviation": lambda cut: (
                truncated_std_factor_reference(cut) ** 2
            ),
            "you give the probability mass inside the cut, not the std": lambda cut: math.erf(
                cut / math.sqrt(2.0)
            ),
            "the truncation is ignored": lambda cut: 1.0,
        },
        hints={
            "cuts": "the second moment of a normal restricted to [-c, c], renormalised by the "
            "probability of that interval; integrate by parts",
        },
    ),
)
