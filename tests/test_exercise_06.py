"""Exercise 06_beyond: the solution grades to full marks, the blank exercise to 0, and typical
mistakes lose exactly the checks they should.

One run of the grader CLI on both notebooks (a module fixture, hidden inputs); then in-process
checks of wrong answers with run_checks (visible inputs, the verdict a student sees), the
hidden-input generators against the library's references, stubs that earn 0, and the prediction
references against simulations (orthogonal networks, PyTorch's own convolutions, sampling a
truncated normal).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _exercise_helpers import assert_points_split, assert_stubs_earn_zero, solution_functions
from _grading_helpers import (
    assert_full_marks,
    assert_passes_hidden_checks,
    assert_zero,
    grade,
    notebooks,
)

from course_utils.grading import get_question, run_checks
from course_utils.grading.questions import ex06_beyond as ex06
from course_utils.initializers import fan_in_and_fan_out

SOLUTION, EXERCISE = notebooks("06_beyond")
IDS = [
    "orthogonal",
    "lsuv_step",
    "end_to_end_singular_values",
    "flax_default_kernel_init",
    "orthogonal_funnel_ratios",
    "torch_conv_default_std",
    "truncated_std_factor",
]
PREDICTIONS = {"orthogonal_funnel_ratios", "torch_conv_default_std", "truncated_std_factor"}
STRETCH = "truncated_std_factor"
FULL = 15.0


def test_questions_and_points():
    assert_points_split("06_beyond", IDS, PREDICTIONS, STRETCH, FULL)


@pytest.fixture(scope="module")
def answers() -> dict:
    return solution_functions(SOLUTION, IDS)


@pytest.mark.parametrize("qid", IDS[1:])
def test_solution_passes_the_hidden_checks_for_many_draws(answers, qid):
    assert_passes_hidden_checks(qid, answers[qid], seeds=8)


@pytest.mark.parametrize("qid", IDS)
def test_stubs_earn_zero(qid):
    assert_stubs_earn_zero(qid)


@pytest.mark.parametrize(
    "qid, fn, words",
    [
        ("orthogonal_funnel_ratios", lambda widths: (1.0, 1.0), "per-unit variance"),
        (
            "torch_conv_default_std",
            lambda c_in, c_out, ks, groups=1: 1 / math.sqrt(3 * c_in * math.prod(ks)),
            "groups are ignored",
        ),
        (
            "torch_conv_default_std",
            lambda c_in, c_out, ks, groups=1: 1 / math.sqrt(c_in // groups * math.prod(ks)),
            "bound",
        ),
        ("truncated_std_factor", lambda cut: math.erf(cut / math.sqrt(2)), "probability mass"),
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
    """The variance of the pooled weights of 10 seeded default convolutions: the sample variance
    of N uniform draws has SE Var sqrt((kurtosis - 1) / N) with kurtosis 9/5; within 5 SE."""
    torch = pytest.importorskip("torch")
    conv = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
    for c_in, c_out, ks, g in ((64, 128, (3, 3), 1), (32, 64, (3, 3), 4), (48, 48, (5, 5), 48),
                               (6, 12, (3,), 3), (8, 16, (3, 3, 3), 2)):  # fmt: skip
        torch.manual_seed(0)
        w = torch.cat([conv[len(ks)](c_in, c_out, ks, groups=g).weight.detach().flatten()
                       for _ in range(10)]).double().numpy()  # fmt: skip
        want = ex06.torch_conv_default_std_reference(c_in, c_out, ks, g) ** 2
        se = want * math.sqrt(0.8 / w.size)
        assert abs(float(np.mean(w**2)) - want) <= 5 * se, (c_in, c_out, ks, g)


def test_truncated_std_factor_agrees_with_sampling():
    """2e6 standard normals kept within the cut: sample std within 5 SE (SE of a sample std
    sd * sqrt((kurtosis - 1) / 4N), kurtosis of the truncated law < 3)."""
    rng = np.random.default_rng(62)
    z = rng.standard_normal(2_000_000)
    for cut in (0.5, 1.0, 2.0, 3.0):
        kept = z[np.abs(z) <= cut]
        want = ex06.truncated_std_factor_reference(cut)
        se = want * math.sqrt(2 / (4 * kept.size))
        assert abs(float(np.sqrt(np.mean(kept**2))) - want) <= 5 * se, cut


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return grade(SOLUTION, EXERCISE, out_dir=tmp_path_factory.mktemp("grades"))


def test_solution_gets_full_marks(reports):
    assert_full_marks(reports["solutions"], "06_beyond", FULL, IDS)


def test_blank_exercise_gets_zero(reports):
    assert_zero(reports["exercises"], "06_beyond", FULL)


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


def test_missing_sign_fix_fails_only_the_haar_check():
    """Without the fix numpy's Householder QR makes W[0, 0] negative in every one of the 120
    draws; under Haar the fraction is 1/2 with SE sqrt(1/4/120) = 0.046, so 0% is 11 SE away."""
    r = run_checks("orthogonal", orthogonal_without_sign_fix)
    checks = _checks(r)
    assert checks.pop("Haar law (sign fix)") is False
    assert all(checks.values()), checks
    assert 0 < r.points < r.max_points


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
    assert _checks(run_checks("lsuv_step", lsuv_mean_square))["non-centred inputs"] is False
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
