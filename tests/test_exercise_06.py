"""Exercise 06_beyond: the solution grades to full marks, the blank exercise to 0, and typical
mistakes lose exactly the checks they should.

One run of the grader CLI on both notebooks (a module fixture, hidden inputs); then in-process
checks of wrong answers with run_checks (visible inputs, the verdict a student sees), the
hidden-input generators against the library's references, stubs that earn 0, and the prediction
references against simulations (orthogonal networks, PyTorch's own convolutions, PyTorch's own
trunc_normal_). A corpus of typical wrong answers per question (each at most 25 % of the points
on hidden inputs, and failed by check()), and the closed forms that must not appear in the
student notebook.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from _exercise_helpers import (
    assert_no_closed_forms,
    assert_patterns_found,
    assert_points_split,
    assert_wrong_answers_fail,
    grading_suite,
)
from _grading_helpers import (
    notebooks,
)

from course_utils.grading import get_question, run_checks
from course_utils.grading.registry import questions_for
from course_utils.initializers import fan_in_and_fan_out

# The registry imports the questions modules itself (it records their VERSION and change history
# only then), so the module is taken from it rather than imported here first: importing it
# before the registry loads left exercise_info() empty for every test in the same process.
questions_for("06_beyond")
ex06 = sys.modules["course_utils.grading.questions.ex06_beyond"]

SOLUTION, EXERCISE = notebooks("06_beyond")
IDS = [
    "orthogonal",
    "lsuv_step",
    "end_to_end_singular_values",
    "flax_default_kernel_init",
    "orthogonal_funnel_ratios",
    "torch_conv_default_std",
    "torch_trunc_normal_std",
]
#: Questions whose answer needs a step lecture 06 (and A1) do not show:
#: - orthogonal_funnel_ratios: the lecture's orthogonal layers are all square; here the width
#:   changes, and the student must work out what orthonormal rows vs columns do to the
#:   per-unit second moment, forwards and backwards, over a whole width profile;
#: - torch_conv_default_std: grouped and transposed convolutions; the lecture shows the dense
#:   default (04) and the plain conv fan-in (06), not where torch reads the fan_in of a grouped
#:   or transposed weight (c_out/groups for a transposed one);
#: - torch_trunc_normal_std (stretch): absolute, asymmetric bounds, where the kept mean is not 0;
#:   the lecture does the symmetric cut at 2 sd only.
PAST_LECTURES = {"orthogonal_funnel_ratios", "torch_conv_default_std", "torch_trunc_normal_std"}
STRETCH = "torch_trunc_normal_std"
FULL = 13.5


def test_questions_and_points():
    assert_points_split("06_beyond", IDS, PAST_LECTURES, STRETCH, FULL)


def test_at_least_60_percent_of_the_points_go_past_the_lectures():
    from course_utils.grading.registry import questions_for

    past = sum(q.points for q in questions_for("06_beyond") if q.id in PAST_LECTURES)
    assert past >= 0.6 * FULL, past


def test_module_metadata():
    assert ex06.VERSION == "3"
    assert set(ex06.ALLOWED_IMPORTS) >= {"math", "numpy"}
    assert "scipy" not in ex06.ALLOWED_IMPORTS


def _version_notes(exercise, versions):
    """registry.version_note for each version, computed in a fresh interpreter: the registry
    records a module's VERSION only when it imports the module itself, and this test file
    imports the questions module first."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from course_utils.grading.registry import version_note\n"
        f"print(json.dumps([version_note({exercise!r}, v) for v in {list(versions)!r}]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_an_older_copy_is_told_what_changed():
    """A copy from before layout= (no version in its metadata) is told every change; a version-2
    copy only the two questions changed in version 3. Both notebooks carry the version."""
    import nbformat

    current, unversioned, v2 = _version_notes("06_beyond", ["3", None, "2"])
    assert current is None
    assert all(
        q in unversioned for q in ("orthogonal", "torch_conv_default_std", "torch_trunc_normal_std")
    )
    assert "torch_conv_default_std" in v2 and "orthogonal," not in v2
    for path in (SOLUTION, EXERCISE):
        assert nbformat.read(path, as_version=4).metadata["course"]["version"] == "3"


globals().update(grading_suite("06_beyond", IDS, FULL, hidden=IDS[1:]))


@pytest.mark.parametrize(
    "qid, fn, words",
    [
        ("orthogonal_funnel_ratios", lambda widths: (1.0, 1.0), "per-unit variance"),
        (
            "torch_conv_default_std",
            lambda c_in, c_out, ks, groups=1, transposed=False: (
                1 / math.sqrt(3 * (c_out if transposed else c_in) * math.prod(ks))
            ),
            "groups are ignored",
        ),
        (
            "torch_conv_default_std",
            lambda c_in, c_out, ks, groups=1, transposed=False: (
                1 / math.sqrt((c_out if transposed else c_in) // groups * math.prod(ks))
            ),
            "bound",
        ),
        (
            "torch_conv_default_std",
            lambda c_in, c_out, ks, groups=1, transposed=False: (
                1 / math.sqrt(3 * c_in // groups * math.prod(ks))
            ),
            "transposed convolution",
        ),
        ("torch_trunc_normal_std", lambda std, a=-2.0, b=2.0: std, "truncation is ignored"),
        (
            "torch_trunc_normal_std",
            lambda std, a=-2.0, b=2.0: ex06.torch_trunc_normal_std_reference(std, a * std, b * std),
            "units of std",
        ),
    ],
)
def test_wrong_predictions_are_diagnosed(qid, fn, words):
    r = run_checks(qid, fn)
    assert r.points < r.max_points and words in r.message, r.message


def test_orthogonal_funnel_ratios_agree_with_simulated_networks():
    """Haar orthogonal layers (QR with the sign fix), R = 30 networks, batch 200: both per-unit
    ratios within 5 SE (spread between networks); exact in expectation, no width allowance."""
    rng = np.random.default_rng(61)

    def haar(n_in, n_out):
        q, r = np.linalg.qr(rng.standard_normal((max(n_in, n_out), min(n_in, n_out))))
        q = q * np.sign(np.diag(r))
        return q if n_in >= n_out else q.T

    for widths in ([64, 256, 32, 128], [300, 40, 200, 10]):
        fwd, bwd = [], []
        for _ in range(30):
            ws = [haar(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]
            x = rng.standard_normal((200, widths[0]))
            g = rng.standard_normal((200, widths[-1]))
            for w in ws:
                x = x @ w
            for w in reversed(ws):
                g = g @ w.T
            fwd.append(float(np.mean(x**2)))
            bwd.append(float(np.mean(g**2)))
        want = ex06.orthogonal_funnel_ratios_reference(widths)
        for runs, target in ((fwd, want[0]), (bwd, want[1])):
            se = np.std(runs, ddof=1) / math.sqrt(len(runs))
            assert abs(np.mean(runs) - target) <= 5 * se, (widths, np.mean(runs), target, se)


def test_torch_conv_default_std_agrees_with_torch():
    """The variance of the pooled weights of 10 seeded default (transposed) convolutions: the
    sample variance of N uniform draws has SE Var sqrt((kurtosis - 1) / N) with kurtosis 9/5;
    within 5 SE."""
    torch = pytest.importorskip("torch")
    conv = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
    conv_t = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}
    cases = ((64, 128, (3, 3), 1, False), (32, 64, (3, 3), 4, False), (48, 48, (5, 5), 48, False),
             (6, 12, (3,), 3, False), (8, 16, (3, 3, 3), 2, False), (64, 16, (4, 4), 1, True),
             (32, 64, (2, 3, 3), 8, True), (12, 6, (5,), 3, True))  # fmt: skip
    for c_in, c_out, ks, g, transposed in cases:
        torch.manual_seed(0)
        kind = (conv_t if transposed else conv)[len(ks)]
        w = torch.cat([kind(c_in, c_out, ks, groups=g).weight.detach().flatten()
                       for _ in range(10)]).double().numpy()  # fmt: skip
        want = ex06.torch_conv_default_std_reference(c_in, c_out, ks, g, transposed) ** 2
        se = want * math.sqrt(0.8 / w.size)
        assert abs(float(np.mean(w**2)) - want) <= 5 * se, (c_in, c_out, ks, g, transposed)


def test_torch_trunc_normal_std_agrees_with_torch():
    """torch.nn.init.trunc_normal_ on 10^6 float64 values per case: the sample std within 5 SE
    of the reference (SE of a sample std: sd sqrt((kurtosis - 1) / 4N); a truncated normal has
    kurtosis below 3, so sqrt(2 / 4N) bounds it)."""
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(62)
    for std, a, b in ((1.0, -2.0, 2.0), (2.0, -2.0, 2.0), (0.5, -0.25, 1.0), (1.0, -0.5, 2.0),
                      (0.3, -0.7, 0.1), (0.02, -2.0, 2.0)):  # fmt: skip
        w = torch.nn.init.trunc_normal_(
            torch.empty(1_000_000, dtype=torch.float64), std=std, a=a, b=b, generator=gen
        )
        want = ex06.torch_trunc_normal_std_reference(std, a, b)
        se = want * math.sqrt(2 / (4 * w.numel()))
        assert abs(float(w.std()) - want) <= 5 * se, (std, a, b, float(w.std()), want)


# ----------------------------------------------------------------------------- wrong answers


def orthogonal_without_sign_fix(shape, rng, *, gain=1.0, layout="in_out", dtype=np.float32):
    if layout == "out_in":  # PyTorch: (shape[0], prod(shape[1:]))
        rows, cols = shape[0], math.prod(shape[1:])
    elif layout == "in_out":
        rows, cols = math.prod(shape[:-1]), shape[-1]
    else:
        raise ValueError(f"layout must be 'in_out' or 'out_in', got {layout!r}")
    q, _ = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(dtype)


def orthogonal_accepting_any_layout(shape, rng, *, gain=1.0, layout="in_out", dtype=np.float32):
    layout = "out_in" if layout == "out_in" else "in_out"  # anything else silently in_out
    return orthogonal_without_sign_fix(shape, rng, gain=gain, layout=layout, dtype=dtype)


def test_an_unknown_layout_must_raise():
    r = run_checks("orthogonal", orthogonal_accepting_any_layout)
    assert _checks(r)["ValueError for an unknown layout"] is False
    assert r.points < r.max_points


def orthogonal_ignoring_gain(shape, rng, *, gain=1.0, layout="in_out", dtype=np.float32):
    return orthogonal_without_sign_fix(shape, rng, layout=layout, dtype=dtype) * np.sign(1.0)


def orthogonal_gaussian(shape, rng, *, gain=1.0, layout="in_out", dtype=np.float32):
    return (gain * rng.standard_normal(shape) / math.sqrt(shape[0])).astype(dtype)


def _checks(result):
    return {c.name: c.passed for c in result.checks}


def test_missing_sign_fix_fails_the_haar_check_which_gates_the_rest():
    """Without the fix numpy's Householder QR makes W[0, 0] negative in every one of the 120
    draws; under Haar the fraction is 1/2 with SE sqrt(1/4/120) = 0.046, so 0% is 11 SE away.
    The Haar law is one of the question's main checks: without it only the other main checks
    (orthonormal, out_in layout) count."""
    r = run_checks("orthogonal", orthogonal_without_sign_fix)
    checks = _checks(r)
    assert checks["Haar law (sign fix)"] is False
    assert checks["orthonormal"] and checks["out_in layout"], checks
    assert 0 < r.points <= 0.25 * r.max_points


def test_ignoring_gain_or_sampling_gaussian_is_not_orthogonal():
    assert _checks(run_checks("orthogonal", orthogonal_ignoring_gain))["orthonormal"] is False
    assert _checks(run_checks("orthogonal", orthogonal_gaussian))["orthonormal"] is False


def test_the_library_orthogonal_passes_the_checks_on_hidden_inputs():
    """The custom check itself is right: a correct Haar orthogonal passes on fresh inputs (run
    in-process through the same harness the grader uses)."""
    from course_utils.grading import harness
    from course_utils.grading.judge import judge, request_for

    q = get_question("orthogonal")
    calls = q.check.calls(np.random.default_rng(12345))

    def fresh_orthogonal(shape, rng, *, gain=1.0, layout="in_out", dtype=np.float32):
        # an independent, correct answer (wrapping the library would be refused as the reference)
        shape = tuple(shape)
        if layout not in ("in_out", "out_in"):
            raise ValueError(f"unknown layout {layout!r}")
        if layout == "in_out":
            rows, cols = int(np.prod(shape[:-1])), shape[-1]
        else:
            rows, cols = shape[0], int(np.prod(shape[1:]))
        q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
        q = q * np.sign(np.diag(r))
        m = q if rows >= cols else q.T
        return (gain * m).reshape(shape).astype(dtype)

    answer = harness.run_question({"orthogonal": fresh_orthogonal},
                                  request_for(q, calls, time_limit=30.0))  # fmt: skip
    checks = {c.name: c.passed for c in judge(q, calls, answer).checks}
    # the answer was judged (not refused as the library's own function) by every kind of check
    assert len(checks) >= 5, checks
    assert all(checks.values()), checks


def lsuv_mean_square(w, inputs):
    return (w / np.sqrt(np.mean((inputs @ w) ** 2))).astype(w.dtype)


def lsuv_weight_std(w, inputs):
    return (w / w.std()).astype(w.dtype)


def test_lsuv_mistakes():
    """The mean square equals the variance only for centred outputs: after a ReLU the inputs have
    mean ~0.8, the outputs a non-zero mean, and the answer is off by far more than rtol 1e-5.
    Dividing by the weights' own std ignores the data entirely."""
    r = run_checks("lsuv_step", lsuv_mean_square)
    assert r.points == 0 and "not centred" in r.message, r.message
    assert not any(_checks(run_checks("lsuv_step", lsuv_weight_std)).values())


def singular_values_ascending(weights):
    p = np.linalg.multi_dot(weights) if len(weights) > 1 else weights[0]
    return np.sort(np.linalg.svd(p, compute_uv=False))


def flax_without_correction(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    z = rng.standard_normal(shape)
    z = np.where(np.abs(z) > 2, rng.standard_normal(shape), z)
    z = np.clip(z, -2, 2)
    return (z / math.sqrt(fan_in)).astype(dtype)


def test_spectrum_and_flax_mistakes():
    """Ascending order is wrong (the question asks largest first). Without the 1/0.8796
    correction the variance is 0.774/fan_in, 22.6% low: with the check's N >= 40000 draws the
    sample variance's SE is below 0.6%, so 5 SE cannot absorb it."""
    assert run_checks("end_to_end_singular_values", singular_values_ascending).points == 0
    r = run_checks("flax_default_kernel_init", flax_without_correction)
    assert _checks(r)["variance"] is False
    r = run_checks("flax_default_kernel_init", flax_untruncated)
    assert _checks(r)["variance"] is True and _checks(r)["distribution"] is False
    assert r.points <= 0.25 * r.max_points


# ----------------------------------------------------------------------------- corpora
# Typical wrong answers per question (real misconceptions, not stubs): each earns at most 25 %
# of the question on the hidden inputs of three seeds, and check() does not pass it.


def _truncated_draws(shape, rng, cut=2.0):
    z = rng.standard_normal(shape)
    bad = np.abs(z) > cut
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > cut
    return z


def _matrix_dims(shape, layout):
    if layout == "in_out":
        return math.prod(shape[:-1]), shape[-1]
    if layout == "out_in":
        return shape[0], math.prod(shape[1:])
    raise ValueError(f"unknown layout {layout!r}")


def orthogonal_gain_squared(shape, rng, *, gain=1.0, layout="in_out", dtype=np.float32):
    rows, cols = _matrix_dims(shape, layout)
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))
    return (gain**2 * (q if rows >= cols else q.T)).reshape(shape).astype(dtype)


def orthogonal_ignoring_layout(shape, rng, *, gain=1.0, layout="in_out", dtype=np.float32):
    """Flattens every kernel the in_out way (the version-1 answer, before layout= existed)."""
    if layout not in ("in_out", "out_in"):
        raise ValueError(f"unknown layout {layout!r}")
    rows, cols = _matrix_dims(shape, "in_out")
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))
    return (gain * (q if rows >= cols else q.T)).reshape(shape).astype(dtype)


def orthogonal_no_transpose(shape, rng, *, gain=1.0, layout="in_out", dtype=np.float32):
    """Wide matrices reshaped from the tall Q instead of transposed."""
    rows, cols = _matrix_dims(shape, layout)
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))
    return (gain * q).reshape(shape).astype(dtype)


ORTHOGONAL_CORPUS = {
    "no sign fix (not Haar)": orthogonal_without_sign_fix,
    "scaled Gaussian, not orthogonal": orthogonal_gaussian,
    "gain ignored": orthogonal_ignoring_gain,
    "gain^2 for gain": orthogonal_gain_squared,
    "layout ignored (always in_out)": orthogonal_ignoring_layout,
    "wide matrices reshaped, not transposed": orthogonal_no_transpose,
}

LSUV_CORPUS = {
    "mean square for variance": lsuv_mean_square,
    "the weights' own std": lsuv_weight_std,
    "divided by the variance": lambda w, x: (w / np.var(x @ w)).astype(w.dtype),
    "multiplied by the std": lambda w, x: (w * np.std(x @ w)).astype(w.dtype),
    "per output unit": lambda w, x: (w / np.std(x @ w, axis=0)).astype(w.dtype),
    "the inputs' variance": lambda w, x: (w / np.std(x)).astype(w.dtype),
}


def _product(weights):
    p = np.asarray(weights[0], dtype=np.float64)
    for w in weights[1:]:
        p = p @ w
    return p


SPECTRUM_CORPUS = {
    "ascending": singular_values_ascending,
    "squared": lambda ws: np.linalg.svd(_product(ws), compute_uv=False) ** 2,
    "reverse order": lambda ws: np.linalg.svd(_product(ws[::-1]), compute_uv=False),
    "product of each layer's singular values": lambda ws: np.prod(
        [np.linalg.svd(w, compute_uv=False)[: min(min(v.shape) for v in ws)] for w in ws], axis=0
    ),
    "eigenvalue magnitudes": lambda ws: np.sort(np.abs(np.linalg.eigvals(_product(ws))))[::-1],
}


def flax_untruncated(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    return (rng.standard_normal(shape) / math.sqrt(fan_in)).astype(dtype)


def flax_clipped_corrected(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    z = np.clip(rng.standard_normal(shape), -2, 2)
    return (z / math.sqrt(fan_in) / 0.87962566103423978).astype(dtype)


def flax_fan_out(shape, rng, *, layout="in_out", dtype=np.float32):
    _, fan_out = fan_in_and_fan_out(shape, layout=layout)
    return (_truncated_draws(shape, rng) / math.sqrt(fan_out) / 0.87962566103423978).astype(dtype)


def flax_correction_multiplied(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    return (_truncated_draws(shape, rng) / math.sqrt(fan_in) * 0.87962566103423978).astype(dtype)


def flax_uniform(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    limit = math.sqrt(3 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


FLAX_CORPUS = {
    "no correction": flax_without_correction,
    "untruncated normal": flax_untruncated,
    "clipped instead of redrawn": flax_clipped_corrected,
    "fan_out": flax_fan_out,
    "correction multiplied": flax_correction_multiplied,
    "uniform with the right variance": flax_uniform,
}


def _funnel(widths, per_layer):
    fwd = bwd = 1.0
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        f, g = per_layer(a, b)
        fwd, bwd = fwd * f, bwd * g
    return fwd, bwd


FUNNEL_CORPUS = {
    "norms kept, so (1, 1)": lambda widths: (1.0, 1.0),
    "swapped": lambda widths: ex06.orthogonal_funnel_ratios_reference(widths)[::-1],
    "LeCun's ratios": lambda widths: (1.0, widths[-1] / widths[0]),
    "n_in/n_out every layer": lambda widths: _funnel(widths, lambda a, b: (a / b, b / a)),
    "first and last widths only": lambda widths: (
        min(1.0, widths[0] / widths[-1]),
        min(1.0, widths[-1] / widths[0]),
    ),
    "std ratios": lambda widths: tuple(
        math.sqrt(v) for v in ex06.orthogonal_funnel_ratios_reference(widths)
    ),
    "the min on the wrong side": lambda widths: _funnel(
        widths, lambda a, b: (min(1.0, b / a), min(1.0, a / b))
    ),
}


def _conv(fan_in, std_of=lambda f: 1 / math.sqrt(3 * f)):
    def answer(c_in, c_out, kernel_size, groups=1, transposed=False):
        return std_of(fan_in(c_in, c_out, kernel_size, groups, transposed))

    return answer


def _right_fan(ci, co, ks, g, t):
    return ((co if t else ci) // g) * math.prod(ks)


CONV_CORPUS = {
    "bound as std": _conv(_right_fan, lambda f: 1 / math.sqrt(f)),
    "variance": _conv(_right_fan, lambda f: 1 / (3 * f)),
    "He's std": _conv(_right_fan, lambda f: math.sqrt(2 / f)),
    "groups ignored": _conv(lambda ci, co, ks, g, t: (co if t else ci) * math.prod(ks)),
    "receptive field left out": _conv(lambda ci, co, ks, g, t: (co if t else ci) // g),
    "transposed like a plain conv": _conv(lambda ci, co, ks, g, t: ci // g * math.prod(ks)),
    "fan_out for fan_in": _conv(lambda ci, co, ks, g, t: ((ci if t else co) // g) * math.prod(ks)),
}


def _phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def trunc_mean_not_subtracted(std, a=-2.0, b=2.0):
    al, be = a / std, b / std
    return std * math.sqrt(1 + (al * _phi(al) - be * _phi(be)) / (_cdf(be) - _cdf(al)))


def trunc_symmetric_at_b(std, a=-2.0, b=2.0):
    c = b / std
    return std * math.sqrt(1 - 2 * c * _phi(c) / math.erf(c / math.sqrt(2)))


TRUNC_CORPUS = {
    "variance": lambda std, a=-2.0, b=2.0: ex06.torch_trunc_normal_std_reference(std, a, b) ** 2,
    "bounds in units of std": lambda std, a=-2.0, b=2.0: ex06.torch_trunc_normal_std_reference(
        std, a * std, b * std
    ),
    "truncation ignored": lambda std, a=-2.0, b=2.0: std,
    "mean not subtracted": trunc_mean_not_subtracted,
    "symmetric formula at b": trunc_symmetric_at_b,
    "PyTorch's bounds at +-2 std always": lambda std, a=-2.0, b=2.0: (
        ex06.torch_trunc_normal_std_reference(std, -2 * std, 2 * std)
    ),
}

CORPORA = {
    "orthogonal": ORTHOGONAL_CORPUS,
    "lsuv_step": LSUV_CORPUS,
    "end_to_end_singular_values": SPECTRUM_CORPUS,
    "flax_default_kernel_init": FLAX_CORPUS,
    "orthogonal_funnel_ratios": FUNNEL_CORPUS,
    "torch_conv_default_std": CONV_CORPUS,
    "torch_trunc_normal_std": TRUNC_CORPUS,
}


@pytest.mark.parametrize("qid", IDS)
def test_wrong_answers_earn_at_most_a_quarter(qid):
    assert_wrong_answers_fail(qid, CORPORA[qid])


# ----------------------------------------------------------------------------- the student's copy
#: Per question, the closed forms (or the algorithm's key step) that would hand the answer over;
#: none may appear anywhere in the generated student notebook (hints, prose, docstrings).
CLOSED_FORMS = {
    "orthogonal": [
        r"sign\s*\(\s*(np\.)?diag",
        r"\\mathrm\{sign\}\(R_\{?jj",
        r"np\.linalg\.qr",
    ],
    "lsuv_step": [
        r"\(w\s*/\s*np\.(sqrt|std)\(",
        r"W\s*/\s*\\?sqrt\{?\s*\(?\s*\\?(operatorname\{)?Var",
        r"\\leftarrow\s*\\frac\{W\}",
    ],
    "end_to_end_singular_values": [r"svd\([^)]*compute_uv"],
    "flax_default_kernel_init": [r"0\.879", r"redraw every value"],
    "orthogonal_funnel_ratios": [
        r"min\(\s*1(\.0)?\s*,\s*n_?\{?(in|out)",
        r"n_\{?in\}?\s*/\s*n_\{?out\}?\s*\)?\s*per unit",
        r"factor \$?n_\{?(in|out)\}?\s*/\s*n_",
    ],
    "torch_conv_default_std": [
        r"1\s*/\s*(np\.|math\.|\\)?sqrt\s*[\{(]\s*3",
        r"\(\s*c_?\{?out\}?\s+if\s+transposed",
        r"a\^2\s*/\s*3",
        r"\(c_\{?(in|out)\}?\s*/\s*g\)\s*\\cdot",
    ],
    "torch_trunc_normal_std": [
        r"alpha\s*\*?\s*\\?(var)?phi\(\s*\\?alpha\s*\)\s*-\s*\\?beta",
        r"2\s*c\s*\\?,?\s*\\?varphi\(c\)",
        r"\(\s*\\?(var)?phi\(\s*\\?alpha\s*\)\s*-\s*\\?(var)?phi\(\s*\\?beta\s*\)\s*\)\s*/",
    ],
}


def test_no_closed_form_in_the_student_notebook():
    assert_no_closed_forms(EXERCISE, CLOSED_FORMS)


def test_the_closed_form_patterns_match_what_they_guard():
    """The patterns are real: each question's first pattern finds the answer in the solution
    notebook (where the code, Hint-free summary and model answers live)."""
    assert_patterns_found(SOLUTION, {qid: patterns[:1] for qid, patterns in CLOSED_FORMS.items()})
