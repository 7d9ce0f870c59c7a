"""Exercise 07_modern: the solution grades to full marks, the blank exercise and stubs to 0,
typical mistakes lose the points with a message that names the misconception and never the
expected value, and the solution passes the grader's hidden inputs for many seeds.
"""

from __future__ import annotations

import math
import re
import sys

import nbformat
import numpy as np
import pytest
from _exercise_helpers import (
    assert_no_closed_forms,
    assert_patterns_found,
    assert_points_split,
    assert_wrong_answers_fail,
    student_text,
)
from _grading_helpers import (
    assert_full_marks,
    assert_passes_hidden_checks,
    assert_zero,
    grade,
    notebooks,
)

from course_utils import modern
from course_utils.grading import get_question, questions_for, run_checks

# The registry imports the questions modules itself (it records their VERSION and change history
# only then), so the module is taken from it rather than imported here first: importing it
# before the registry loads left exercise_info() empty for every test in the same process.
questions_for("07_modern")
ex07 = sys.modules["course_utils.grading.questions.ex07_modern"]

EXERCISE = "07_modern"
SOLUTION, BLANK = notebooks(EXERCISE)
IDS = [
    "residual_std",
    "flat_branch_scale",
    "attention_logit_variance",
    "stream_stds",
    "mlp_branch_variance",
]
FULL = 12.0


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return grade(SOLUTION, BLANK, out_dir=tmp_path_factory.mktemp("grades"))


@pytest.fixture(scope="module")
def ns():
    """The solution's setup cell (imports of math and numpy) and its graded cells, executed."""
    cells = [c for c in nbformat.read(SOLUTION, as_version=4).cells if c.cell_type == "code"]
    namespace: dict = {}
    for i, cell in enumerate(cells):
        if i == 0 or cell.metadata.get("nbgrader", {}).get("grade_id") in IDS:
            exec(compile(cell.source, f"cell {i}", "exec"), namespace)
    return namespace


#: Questions whose answer needs a step lecture 08 does not show:
#: - residual_std: a branch of any depth and weight variances (lecture 05's ReLU factor inside
#:   lecture 08's recursion; the lecture's branch preserves the second moment), and a normalized
#:   branch whose gain no longer matters;
#: - flat_branch_scale: the inversion for that general branch, with the impossible growths;
#: - attention_logit_variance: a token scored against its own key (x' = x), where E|x|^4 enters;
#: - mlp_branch_variance (stretch): SiLU besides GELU, and the Gaussian integral itself (the
#:   lecture calls the library's quadrature).
PAST_LECTURES = {"residual_std", "flat_branch_scale", "attention_logit_variance",
                 "mlp_branch_variance"}  # fmt: skip
STRETCH = "mlp_branch_variance"


def test_points_split():
    assert_points_split(EXERCISE, IDS, PAST_LECTURES, STRETCH, FULL)


def test_at_least_60_percent_of_the_points_go_past_the_lectures():
    past = sum(q.points for q in questions_for(EXERCISE) if q.id in PAST_LECTURES)
    assert past >= 0.6 * FULL, past


def test_module_metadata():
    assert ex07.VERSION == "2"
    assert set(ex07.ALLOWED_IMPORTS) == {"math", "numpy"}


def test_an_older_copy_is_told_what_changed():
    """Computed in a fresh interpreter (see test_exercise_06._version_notes)."""
    import json
    import subprocess
    import sys

    code = (
        "import json\n"
        "from course_utils.grading.registry import version_note\n"
        "print(json.dumps([version_note('07_modern', v) for v in ('2', '1')]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    current, v1 = json.loads(out.stdout.strip().splitlines()[-1])
    assert current is None
    changed = (
        "residual_std",
        "flat_branch_scale",
        "attention_logit_variance",
        "mlp_branch_variance",
    )
    assert all(q in v1 for q in changed) and "stream_stds" not in v1
    for path in (SOLUTION, BLANK):
        assert nbformat.read(path, as_version=4).metadata["course"]["version"] == "2"


def test_solution_gets_full_marks(reports):
    assert_full_marks(reports["solutions"], EXERCISE, FULL, IDS)


def test_blank_exercise_gets_zero(reports):
    assert_zero(reports["exercises"], EXERCISE, FULL)


@pytest.mark.parametrize("qid", IDS)
def test_solution_passes_hidden_inputs(ns, qid):
    assert_passes_hidden_checks(qid, ns[get_question(qid).name], seeds=12)


@pytest.mark.parametrize("qid", IDS)
@pytest.mark.parametrize(
    "stub",
    [
        lambda *a, **k: None,
        lambda *a, **k: 0.0,
        lambda *a, **k: 1.0,
        lambda *a, **k: np.zeros(3),
        lambda *a, **k: (_ for _ in ()).throw(ValueError("no")),
    ],
    ids=["none", "zero", "one", "zeros", "raises"],
)
def test_stubs_earn_nothing(qid, stub):
    assert run_checks(qid, stub).points == 0


def test_hidden_inputs_change_with_the_seed():
    for qid in IDS:
        check = get_question(qid).check
        a = [c.describe() for c in check.calls(np.random.default_rng(1))]
        b = [c.describe() for c in check.calls(np.random.default_rng(2))]
        assert a != b, qid


# ------------------------------------------------------------------------------ typical mistakes
B0 = (2.0, 1.0)


def _gain(weight_vars):
    return ex07.branch_gain(weight_vars)


def residual_variance_not_std(depth, branch_scale, *, weight_vars=B0, norm=False, std0=1.0):
    g = _gain(weight_vars)
    return (
        std0**2 + depth * branch_scale**2 if norm else std0**2 * (1 + g * branch_scale**2) ** depth
    )


def residual_beta_not_squared(depth, branch_scale, *, weight_vars=B0, norm=False, std0=1.0):
    g = _gain(weight_vars)
    return math.sqrt(
        std0**2 + depth * branch_scale if norm else std0**2 * (1 + g * branch_scale) ** depth
    )


def residual_always_plain(depth, branch_scale, *, weight_vars=B0, norm=False, std0=1.0):
    return std0 * (1 + _gain(weight_vars) * branch_scale**2) ** (depth / 2)


def residual_lecture_branch(depth, branch_scale, *, weight_vars=B0, norm=False, std0=1.0):
    """Lecture 08's formula whatever the branch (the branch's gain ignored)."""
    if norm:
        return math.sqrt(std0**2 + depth * branch_scale**2)
    return std0 * (1 + branch_scale**2) ** (depth / 2)


def residual_relu_on_every_layer(depth, branch_scale, *, weight_vars=B0, norm=False, std0=1.0):
    g = math.prod(v / 2 for v in weight_vars)  # a ReLU after the last layer too
    if norm:
        return math.sqrt(std0**2 + depth * branch_scale**2)
    return std0 * (1 + g * branch_scale**2) ** (depth / 2)


def residual_norm_relative(depth, branch_scale, *, weight_vars=B0, norm=False, std0=1.0):
    """The known case of issue 21: the normalized branch written std0 sqrt(1 + L beta^2)."""
    if norm:
        return std0 * math.sqrt(1 + depth * branch_scale**2)
    return std0 * (1 + _gain(weight_vars) * branch_scale**2) ** (depth / 2)


def residual_norm_with_gain(depth, branch_scale, *, weight_vars=B0, norm=False, std0=1.0):
    if norm:
        return math.sqrt(std0**2 + depth * branch_scale**2 * _gain(weight_vars))
    return std0 * (1 + _gain(weight_vars) * branch_scale**2) ** (depth / 2)


def residual_off_by_one(depth, branch_scale, *, weight_vars=B0, norm=False, std0=1.0):
    return ex07.residual_std_reference(
        depth - 1, branch_scale, weight_vars=weight_vars, norm=norm, std0=std0
    )


def flat_lecture_branch(depth, growth, *, weight_vars=B0):
    if growth < 1:
        raise ValueError("growth")
    return math.sqrt(growth ** (2 / depth) - 1)


def flat_std_as_variance(depth, growth, *, weight_vars=B0):
    if growth < 1:
        raise ValueError("growth")
    return math.sqrt((growth ** (1 / depth) - 1) / _gain(weight_vars))


def flat_fixup(depth, growth, *, weight_vars=B0):
    return 1 / math.sqrt(depth)


def flat_never_raises(depth, growth, *, weight_vars=B0):
    return math.sqrt(max(growth ** (2 / depth) - 1, 0.0) / _gain(weight_vars))


def flat_beta_squared(depth, growth, *, weight_vars=B0):
    if growth < 1:
        raise ValueError("growth")
    return (growth ** (2 / depth) - 1) / _gain(weight_vars)


def flat_gain_on_beta(depth, growth, *, weight_vars=B0):
    if growth < 1:
        raise ValueError("growth")
    return math.sqrt(growth ** (2 / depth) - 1) / _gain(weight_vars)


def flat_additive(depth, growth, *, weight_vars=B0):
    if growth < 1:
        raise ValueError("growth")
    return math.sqrt((growth**2 - 1) / (depth * _gain(weight_vars)))


def attention_independent_always(d_model, d_k, std_q, std_k, *, scaled=True, same_token=False):
    v = d_k * d_model**2 * std_q**2 * std_k**2
    return v / d_k if scaled else v


def attention_d2_plus_d(d_model, d_k, std_q, std_k, *, scaled=True, same_token=False):
    v = d_k * std_q**2 * std_k**2 * (d_model**2 + d_model if same_token else d_model**2)
    return v / d_k if scaled else v


def attention_no_fan_in(d_model, d_k, std_q, std_k, *, scaled=True, same_token=False):
    return d_k * std_q**2 * std_k**2 / (d_k if scaled else 1)


def attention_sqrt_scaling(d_model, d_k, std_q, std_k, *, scaled=True, same_token=False):
    v = ex07.attention_logit_variance_reference(d_model, d_k, std_q, std_k, scaled=False,
                                                same_token=same_token)  # fmt: skip
    return v / math.sqrt(d_k) if scaled else v


def attention_std(d_model, d_k, std_q, std_k, *, scaled=True, same_token=False):
    return math.sqrt(ex07.attention_logit_variance_reference(
        d_model, d_k, std_q, std_k, scaled=scaled, same_token=same_token))  # fmt: skip


def attention_same_token_squared_mean(d_model, d_k, std_q, std_k, *, scaled=True,
                                      same_token=False):  # fmt: skip
    """Same token: adds (E[q.k])^2 as if q.k had a mean d_model s_q s_k (q and k 'aligned')."""
    v = d_k * d_model**2 * std_q**2 * std_k**2 * (2 if same_token else 1)
    return v / d_k if scaled else v


def stream_mean_squares(x, w1s, w2s, branch_scale):
    out = [float(np.mean(x**2))]
    for a, b in zip(w1s, w2s, strict=True):
        x = x + branch_scale * np.maximum(x @ a, 0) @ b
        out.append(float(np.mean(x**2)))
    return np.array(out)


def stream_np_std(x, w1s, w2s, branch_scale):
    out = [float(np.std(x))]
    for a, b in zip(w1s, w2s, strict=True):
        x = x + branch_scale * np.maximum(x @ a, 0) @ b
        out.append(float(np.std(x)))
    return np.array(out)


def stream_no_first_entry(x, w1s, w2s, branch_scale):
    out = []
    for a, b in zip(w1s, w2s, strict=True):
        x = x + branch_scale * np.maximum(x @ a, 0) @ b
        out.append(math.sqrt(float(np.mean(x**2))))
    return np.array(out)


def stream_from_the_input(x, w1s, w2s, branch_scale):
    """Every block reads the original input instead of the stream."""
    x0, out = x, [math.sqrt(float(np.mean(x**2)))]
    for a, b in zip(w1s, w2s, strict=True):
        x = x + branch_scale * np.maximum(x0 @ a, 0) @ b
        out.append(math.sqrt(float(np.mean(x**2))))
    return np.array(out)


def stream_no_relu(x, w1s, w2s, branch_scale):
    out = [math.sqrt(float(np.mean(x**2)))]
    for a, b in zip(w1s, w2s, strict=True):
        x = x + branch_scale * (x @ a) @ b
        out.append(math.sqrt(float(np.mean(x**2))))
    return np.array(out)


def stream_row_rms_averaged(x, w1s, w2s, branch_scale):
    def rms(v):
        return float(np.mean(np.sqrt(np.mean(v**2, axis=1))))

    out = [rms(x)]
    for a, b in zip(w1s, w2s, strict=True):
        x = x + branch_scale * np.maximum(x @ a, 0) @ b
        out.append(rms(x))
    return np.array(out)


def stream_beta_squared(x, w1s, w2s, branch_scale):
    out = [math.sqrt(float(np.mean(x**2)))]
    for a, b in zip(w1s, w2s, strict=True):
        x = x + branch_scale**2 * np.maximum(x @ a, 0) @ b
        out.append(math.sqrt(float(np.mean(x**2))))
    return np.array(out)


def _second_moment(f, q, nodes=100):
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    h = math.sqrt(q) * z
    return float(np.sum(w * f(h) ** 2) / math.sqrt(2 * math.pi))


def _gelu(h):
    return h * 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in h]))


def _silu(h):
    return h / (1 + np.exp(-h))


def mlp_linear_gelu(d_model, std, proj_std, *, activation="gelu"):
    return 4 * d_model * proj_std**2 * d_model * std**2 / 4


def mlp_relu(d_model, std, proj_std, *, activation="gelu"):
    return 4 * d_model * proj_std**2 * d_model * std**2 / 2


def mlp_gelu_always(d_model, std, proj_std, *, activation="gelu"):
    return 4 * d_model * proj_std**2 * _second_moment(_gelu, d_model * std**2)


def mlp_d_not_4d(d_model, std, proj_std, *, activation="gelu"):
    f = _gelu if activation == "gelu" else _silu
    return d_model * proj_std**2 * _second_moment(f, d_model * std**2)


def mlp_forgot_layernorm_sum(d_model, std, proj_std, *, activation="gelu"):
    f = _gelu if activation == "gelu" else _silu
    return 4 * d_model * proj_std**2 * _second_moment(f, std**2)


def mlp_std_for_variance(d_model, std, proj_std, *, activation="gelu"):
    f = _gelu if activation == "gelu" else _silu
    return 4 * d_model * proj_std**2 * _second_moment(f, math.sqrt(d_model) * std)


def mlp_variance_not_second_moment(d_model, std, proj_std, *, activation="gelu"):
    f = _gelu if activation == "gelu" else _silu
    q = d_model * std**2
    z, w = np.polynomial.hermite_e.hermegauss(100)
    mean = float(np.sum(w * f(math.sqrt(q) * z)) / math.sqrt(2 * math.pi))
    return 4 * d_model * proj_std**2 * (_second_moment(f, q) - mean**2)


CORPORA = {
    "residual_std": {
        "variance, not std": residual_variance_not_std,
        "beta, not beta^2": residual_beta_not_squared,
        "plain recursion for a normalized branch": residual_always_plain,
        "the lecture's branch whatever the weights": residual_lecture_branch,
        "a ReLU after the last layer too": residual_relu_on_every_layer,
        "normalized written std0 sqrt(1 + L beta^2)": residual_norm_relative,
        "branch gain applied after the normalization": residual_norm_with_gain,
        "off by one block": residual_off_by_one,
    },
    "flat_branch_scale": {
        "the lecture's branch": flat_lecture_branch,
        "std growth as variance growth": flat_std_as_variance,
        "1/sqrt(L)": flat_fixup,
        "beta^2": flat_beta_squared,
        "gain divided out of beta": flat_gain_on_beta,
        "additive approximation": flat_additive,
    },
    "attention_logit_variance": {
        "same token as independent": attention_independent_always,
        "E|x|^4 = d^2 + d": attention_d2_plus_d,
        "fan-in left out": attention_no_fan_in,
        "sqrt(d_k) on the variance": attention_sqrt_scaling,
        "a std": attention_std,
        "same token: q and k aligned": attention_same_token_squared_mean,
    },
    "stream_stds": {
        "mean squares": stream_mean_squares,
        "np.std (mean subtracted)": stream_np_std,
        "no value before the first block": stream_no_first_entry,
        "every block reads the input": stream_from_the_input,
        "no ReLU": stream_no_relu,
        "row RMS averaged": stream_row_rms_averaged,
        "beta^2 on the branch": stream_beta_squared,
    },
    "mlp_branch_variance": {
        "small-variance approximation": mlp_linear_gelu,
        "ReLU's 1/2": mlp_relu,
        "GELU whatever the activation": mlp_gelu_always,
        "d_model hidden units, not 4 d_model": mlp_d_not_4d,
        "LayerNorm's sum of squares forgotten": mlp_forgot_layernorm_sum,
        "std of h used as its variance": mlp_std_for_variance,
        "Var(f(h)) for E[f(h)^2]": mlp_variance_not_second_moment,
    },
}


@pytest.mark.parametrize("qid", IDS)
def test_wrong_answers_earn_at_most_a_quarter(qid):
    assert_wrong_answers_fail(qid, CORPORA[qid])


@pytest.mark.parametrize(
    ("qid", "answer", "words"),
    [
        ("residual_std", residual_variance_not_std, "variance, not the std"),
        ("residual_std", residual_beta_not_squared, "beta instead of beta^2"),
        ("residual_std", residual_always_plain, "normalized branch"),
        ("residual_std", residual_lecture_branch, "branch's weights ignored"),
        ("residual_std", residual_norm_relative, "variance 1, not the stream's"),
        ("residual_std", residual_norm_with_gain, "whatever the branch's weights"),
        ("residual_std", residual_off_by_one, "off by one"),
        ("flat_branch_scale", flat_std_as_variance, "growth^2"),
        ("flat_branch_scale", flat_fixup, "1/sqrt(L)"),
        ("flat_branch_scale", flat_lecture_branch, "gain ignored"),
        ("attention_logit_variance", attention_no_fan_in, "fan-in"),
        ("attention_logit_variance", attention_sqrt_scaling, "c^2"),
        ("attention_logit_variance", attention_independent_always, "E|x|^4"),
        ("stream_stds", stream_mean_squares, "square root"),
        ("mlp_branch_variance", mlp_linear_gelu, "small-variance approximation"),
        ("mlp_branch_variance", mlp_gelu_always, "GELU used whatever"),
    ],
)
def test_mistakes_lose_the_points_with_a_diagnosis(qid, answer, words):
    result = run_checks(qid, answer)
    assert result.points == 0, result.message
    assert words in result.message, result.message


def test_the_normalized_branch_bug_of_issue_21_fails_check_and_grader():
    """std0 * sqrt(1 + L beta^2) passed check() 3/3 and got 0/3 from the grader: the visible
    inputs had no normalized case with std0 != 1. Now both fail it."""
    from _exercise_helpers import hidden_points

    assert run_checks("residual_std", residual_norm_relative).points == 0
    assert all(hidden_points("residual_std", residual_norm_relative, seed=s) == 0 for s in range(3))
    visible = get_question("residual_std").check.calls(None)
    assert any(c.kwargs.get("norm") and c.kwargs.get("std0", 1.0) != 1.0 for c in visible)


def test_hidden_inputs_mix_the_cases():
    for seed in range(5):
        rng = np.random.default_rng(seed)
        calls = get_question("residual_std").check.calls(rng)
        assert any(c.kwargs.get("norm") for c in calls)
        assert any(len(c.kwargs.get("weight_vars", B0)) != 2 for c in calls)
        calls = get_question("attention_logit_variance").check.calls(rng)
        assert {c.kwargs["same_token"] for c in calls} == {True, False}
        calls = get_question("mlp_branch_variance").check.calls(rng)
        assert {c.kwargs["activation"] for c in calls} == {"gelu", "silu"}


def test_missing_value_error_costs_only_the_secondary_check():
    result = run_checks("flat_branch_scale", flat_never_raises)
    assert 0 < result.points < result.max_points
    assert "ValueError" in result.message


def _numbers(text: str) -> set[float]:
    """Decimal numbers in ``text`` (integers such as "beta^2" or "lecture 08" are not values)."""
    return {float(m) for m in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text)}


@pytest.mark.parametrize(
    ("qid", "answer"),
    [
        ("residual_std", residual_variance_not_std),
        ("residual_std", lambda depth, branch_scale, **kw: 123.456),
        ("flat_branch_scale", flat_fixup),
        ("attention_logit_variance", attention_no_fan_in),
        ("mlp_branch_variance", mlp_linear_gelu),
    ],
)
def test_messages_never_print_the_expected_value(qid, answer):
    """After the input and the answer's own value ("f(args) returned v"), the message holds
    no rounding of any expected value."""
    q = get_question(qid)
    result = run_checks(qid, answer)
    assert result.points == 0
    tail = re.sub(r"^.*? returned [^,:.]+(?:\.\d+)?", "", result.message)
    shown = _numbers(tail)
    for call in q.check.calls(None):
        if call.group != "values":
            continue
        want = float(q.check.reference(*call.args, **call.kwargs))
        for digits in (3, 4, 5, 6):
            assert float(f"{want:.{digits}g}") not in shown, (want, result.message)


def test_references_agree_with_the_library_on_the_lecture_cases():
    """The lecture's branch, independent tokens and GELU: the question references equal
    course_utils.modern's (which the lecture's simulations check)."""
    for depth, beta, norm, std0 in ((30, 0.3, False, 1.0), (12, 0.5, True, 2.0)):
        assert ex07.residual_std_reference(depth, beta, norm=norm, std0=std0) == pytest.approx(
            modern.residual_std(depth, beta, norm=norm, std0=std0), rel=1e-12
        )
    assert ex07.flat_branch_scale_reference(30, 2.0) == pytest.approx(
        modern.flat_branch_scale(30, 2.0), rel=1e-12
    )
    assert ex07.attention_logit_variance_reference(768, 64, 0.02, 0.03) == pytest.approx(
        modern.attention_logit_variance(768, 64, 0.02, 0.03), rel=1e-12
    )
    for d, s, p in ((64, 0.02, 0.02), (32, 0.3, 0.05), (16, 0.5, 0.01)):
        assert ex07.mlp_branch_variance_reference(d, s, p) == pytest.approx(
            modern.mlp_branch_variance(d, s, p), rel=1e-9
        )


def test_residual_std_agrees_with_simulated_branches():
    """Real weight matrices, width 128, 10 blocks, beta 0.5, 40 networks of batch 32 per
    branch: the root of the mean final second moment within 5 SE of the prediction (SE from
    the spread between networks)."""
    rng = np.random.default_rng(71)
    n, depth, beta = 128, 10, 0.5
    for weight_vars in ((1.0, 1.0), (2.0, 2.0, 1.0), (1.5,)):
        finals = []
        for _ in range(40):
            x = rng.standard_normal((32, n))
            for _ in range(depth):
                h = x
                for k, v in enumerate(weight_vars):
                    h = h @ (rng.standard_normal((n, n)) * math.sqrt(v / n))
                    if k < len(weight_vars) - 1:
                        h = np.maximum(h, 0)
                x = x + beta * h
            finals.append(float(np.mean(x**2)))
        want = ex07.residual_std_reference(depth, beta, weight_vars=weight_vars) ** 2
        se = np.std(finals, ddof=1) / math.sqrt(len(finals))
        assert abs(np.mean(finals) - want) <= 5 * se, (weight_vars, np.mean(finals), want, se)


def test_same_token_logit_variance_agrees_with_sampling():
    """20000 draws of (x, W_q, W_k) at small widths, where the factor 1 + 2/d_model is large:
    the mean of (q.k)^2 within 5 SE of the prediction, and the independent-token value outside."""
    rng = np.random.default_rng(72)
    for d_model, d_k, sq, sk in ((4, 8, 0.5, 0.5), (2, 4, 1.0, 0.7)):
        x = rng.standard_normal((20000, d_model))
        wq = rng.standard_normal((20000, d_model, d_k)) * sq
        wk = rng.standard_normal((20000, d_model, d_k)) * sk
        q, k = np.einsum("nd,ndk->nk", x, wq), np.einsum("nd,ndk->nk", x, wk)
        sq_logit = np.sum(q * k, axis=1) ** 2
        mean, se = float(np.mean(sq_logit)), float(np.std(sq_logit) / math.sqrt(20000))
        want = ex07.attention_logit_variance_reference(d_model, d_k, sq, sk, scaled=False,
                                                       same_token=True)  # fmt: skip
        other = ex07.attention_logit_variance_reference(d_model, d_k, sq, sk, scaled=False)
        assert abs(mean - want) <= 5 * se, (d_model, mean, want, se)
        assert abs(mean - other) > 5 * se, (d_model, mean, other, se)


def test_silu_second_moment_agrees_with_sampling():
    """E[SiLU(h)^2] by the reference's quadrature against 10^6 draws (SE from the sample)."""
    rng = np.random.default_rng(73)
    for q in (0.3, 1.0, 4.0):
        h = rng.standard_normal(1_000_000) * math.sqrt(q)
        v = (h / (1 + np.exp(-h))) ** 2
        want = ex07.gaussian_moment(ex07._silu, q)
        assert abs(v.mean() - want) <= 5 * v.std() / math.sqrt(v.size), q


@pytest.mark.parametrize(
    ("qid", "answer"),
    [
        ("residual_std", modern.residual_std),
        ("flat_branch_scale", lambda depth, growth, **kw: modern.flat_branch_scale(depth, growth)),
        ("attention_logit_variance", modern.attention_logit_variance),
        ("stream_stds", modern.stream_stds),
        ("mlp_branch_variance", lambda d, s, p, **kw: modern.mlp_branch_variance(d, s, p)),
    ],
)
def test_handing_in_the_library_reference_earns_nothing(qid, answer):
    assert run_checks(qid, answer).points == 0


def test_the_value_error_must_name_the_argument():
    def anonymous_error(depth, growth, *, weight_vars=B0):
        if growth < 1:
            raise ValueError("impossible")
        return math.sqrt((growth ** (2 / depth) - 1) / _gain(weight_vars))

    result = run_checks("flat_branch_scale", anonymous_error)
    assert 0 < result.points < result.max_points
    assert "does not name" in result.message


# ------------------------------------------------------------------------------ the student's copy
#: Per question, the closed forms that would hand the answer over; none may appear anywhere in
#: the generated student notebook (hints, prose, docstrings, summary).
CLOSED_FORMS = {
    "residual_std": [
        r"\(\s*1\s*\+\s*(branch_scale|\\beta)\s*\*?\*?\^?\s*2\s*\*?\s*(\\,)?\s*(gain|G)\s*\)",
        r"q_L\s*=\s*q_0\s*\(1\s*\+\s*\\beta\^2",
        r"q_L\s*=\s*q_0\s*\+\s*L\s*\\beta\^2",
        r"v_m\s*\\prod",
        r"gain\s*\*=\s*v\s*/\s*2",
    ],
    "flat_branch_scale": [
        r"growth\s*\*\*\s*\(\s*2(\.0)?\s*/\s*depth\s*\)\s*-\s*1",
        r"g\^\{?2\s*/\s*L\}?\s*-\s*1",
        r"\(1\s*\+\s*\\beta\^2\)\^\{?L\s*/\s*2\}?\s*=\s*g",
    ],
    "attention_logit_variance": [
        r"d_model\s*\*\*\s*2\s*\+\s*2\s*\*\s*d_model",
        r"d_\{?model\}?\^2\s*\+\s*2\s*d_\{?model\}?",
        r"d_k\s*\\?,?\s*\(d_\{?model\}?\s*s_q\^2\)",
        r"variance \$?d_\{?model\}?\s*s_q\^2",
    ],
    "stream_stds": [r"np\.maximum\(\s*x\s*@\s*w1"],
    "mlp_branch_variance": [
        r"4\s*\*\s*d_model\s*\*\s*proj_std\s*\*\*\s*2",
        r"4\s*d\s*\\?,?\s*p\^2",
        r"N\(0,\s*d_\{?model\}?\s*s\^2\)\$?\s*exactly",
    ],
}


def test_no_closed_form_in_the_student_notebook():
    assert_no_closed_forms(BLANK, CLOSED_FORMS)


def test_the_closed_form_patterns_match_what_they_guard():
    """Each question's first pattern finds the answer in the solution notebook: the patterns
    are real."""
    assert_patterns_found(SOLUTION, {qid: patterns[:1] for qid, patterns in CLOSED_FORMS.items()})


def test_the_literature_is_exact():
    """Issue 25: the student notebook no longer credits Fixup with the forward 1/sqrt(L)
    argument, names ReZero beside SkipInit in the references, and says which GPT-2 init is
    modelled (the paper's, and what the released code does)."""
    text = student_text(BLANK)
    assert not re.search(r"Fixup's\s*\$?\\?beta\s*=\s*1\s*/\s*\\?sqrt", text)
    assert "L^{-1/(2m-2)}" in text and "Hanin & Rolnick" in text
    assert "ReZero" in text and "SkipInit" in text
    assert "released code" in text and "0.01" in text


def test_question_module_loads_without_torch():
    """The registry imports every question module for any check(): exercise 07's must not
    pull in torch (course_utils.modern does; the questions import it only when checked)."""
    import subprocess
    import sys

    code = (
        "import sys\nsys.modules['torch'] = None\n"
        "from course_utils.grading.registry import load_errors, questions_for\n"
        "assert 'ex07_modern' not in load_errors(), load_errors()\n"
        "assert len(questions_for('07_modern')) == 5\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
