"""Exercise 05_he: the solution grades to full marks, the blank exercise to 0, and mistakes fail.

One run of the grader CLI on both notebooks (a module fixture); then in-process checks of a
corpus of typical wrong answers per question (each earns at most 25 % on the hidden inputs of
three seeds and check() fails it, with the misconception named): the mode="fan_out" variance
and the ValueError are graded, stubs earn 0, no closed form of a graded answer appears in the
student notebook, and the predictions' references agree with simulated networks and with
torch.nn.init.calculate_gain.
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
from _exercise_helpers import (
    assert_check_names_each_mistake,
    assert_no_closed_forms,
    assert_patterns_found,
    assert_points_split,
    assert_wrong_answers_fail,
    grading_suite,
    hidden_points,
    student_text,
)
from _grading_helpers import (
    notebooks,
)

from course_utils.grading import get_question, run_checks
from course_utils.initializers import fan_in_and_fan_out

# The registry loads every questions module itself, in order, and records each module's VERSION
# as it does: importing this exercise's module directly first would hide it from the registry.
get_question("he_normal")
ex05 = importlib.import_module("course_utils.grading.questions.ex05_he")

SOLUTION, EXERCISE = notebooks("05_he")
IDS = ["he_normal", "he_uniform", "predicted_std", "he_activation_std", "quadrature_gain"]
# Questions whose answer needs a step lecture 05 does not show (7.5 of 10 points):
# - predicted_std: dropout between the layers (it keeps the mean, multiplies the second moment
#   by 1/keep) is not in the lecture; without it the question would be retyping the lecture;
# - he_activation_std: the mean of a leaky ReLU's output (the lecture has only its second
#   moment), its std, any widths, either mode;
# - quadrature_gain (stretch): GELU, SiLU, ELU are not in the lecture's gain table.
# Questions 1-2 implement the lecture's formula (retyping), so they do not count.
PAST_THE_LECTURE = {"predicted_std", "he_activation_std", "quadrature_gain"}
STRETCH = "quadrature_gain"
FULL = 10.0


def test_questions_and_points():
    assert_points_split("05_he", IDS, PAST_THE_LECTURE, STRETCH, FULL)
    from course_utils.grading.registry import questions_for

    past = sum(q.points for q in questions_for("05_he") if q.id in PAST_THE_LECTURE)
    assert past >= 0.6 * FULL, past


def test_module_states_its_version_and_imports():
    """The notebook says what an answer may use; scipy is not there, math.erf is."""
    assert ex05.VERSION == "2"
    assert ex05.ALLOWED_IMPORTS == ("numpy", "math")
    text = student_text(EXERCISE)
    assert "`scipy` is **not installed**" in text and "math.erf" in text


globals().update(grading_suite("05_he", IDS, FULL))


# ---- no answer in the student's notebook --------------------------------------------------------
CLOSED_FORMS = {
    "he_normal": [r"np\.sqrt\(\s*2(\.0)?\s*/\s*fan", r"standard deviation \$?\\sqrt\{?2"],
    "he_uniform": [r"sqrt\{?\(?\s*6\s*/", r"sqrt\(\s*6(\.0)?\s*/", r"a\^2\s*/\s*3\s*=\s*2"],
    "predicted_std": [
        r"c\s*\\?,?\s*\(\s*c\s*\\?,?\s*m\s*\)\s*\^",
        r"q_\{?l\}?\s*=\s*c\s*\\?,?\s*m\s*\\?,?\s*q",
        r"c\s*\*\s*m\s*/",
        r"1\s*/\s*p\s*per layer",
    ],
    "he_activation_std": [
        r"\(\s*1\s*-\s*a\s*\)\s*\\?sqrt",
        r"q\s*\\?,?\s*\(\s*1\s*\+\s*a\^2\s*\)\s*/\s*2",
        r"mean\s*=\s*\(\s*1\s*-\s*slope",
    ],
    "quadrature_gain": [
        r"g\s*=\s*1\s*/\s*\\?sqrt\{?\s*\\?(mathbb\s*)?E",
        r"1\s*/\s*np\.sqrt\(\s*np\.sum",
        r"gain is \$?1/",
    ],
}


def test_no_closed_form_in_the_student_notebook():
    assert_no_closed_forms(EXERCISE, CLOSED_FORMS)


def test_the_closed_form_patterns_catch_the_solution():
    """The patterns are real: each question's list finds its closed form in the solution's own
    text (model summary, reference code), so the test above can fail."""
    assert_patterns_found(SOLUTION, CLOSED_FORMS)


# ---- wrong answers: a corpus of typical misconceptions per question ----------------------------
def _fan(shape, layout, mode):
    fi, fo = fan_in_and_fan_out(shape, layout=layout)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fi if mode == "fan_in" else fo


def _normal(var_of_fan):
    def init(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
        fan = _fan(shape, layout, mode)
        return rng.normal(0.0, math.sqrt(var_of_fan(fan)), size=shape).astype(dtype)

    return init


def _uniform(limit_of_fan):
    def init(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
        a = limit_of_fan(_fan(shape, layout, mode))
        return rng.uniform(-a, a, size=shape).astype(dtype)

    return init


def glorot_as_he(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
    fan_in, fan_out = fan_in_and_fan_out(shape, layout=layout)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape).astype(dtype)


def he_modes_swapped(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
    fan = _fan(shape, layout, "fan_out" if mode == "fan_in" else "fan_in")
    return rng.normal(0.0, math.sqrt(2 / fan), size=shape).astype(dtype)


def he_uniform_std_as_limit(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
    a = math.sqrt(2.0 / _fan(shape, layout, mode))
    return rng.uniform(-a, a, size=shape).astype(dtype)


CORPUS = {
    "he_normal": {
        "variance passed as the std": _normal(lambda n: (2 / n) ** 2),
        "gain^2 = 2 used as the gain (std 2/sqrt(fan))": _normal(lambda n: 4 / n),
        "gain sqrt 2 where gain^2 belongs (Var sqrt(2)/fan)": _normal(lambda n: math.sqrt(2) / n),
        "ReLU factor 2 missing (LeCun)": _normal(lambda n: 1 / n),
        "uniform draws (normal vs uniform)": _uniform(lambda n: math.sqrt(6 / n)),
        "Glorot's variance": glorot_as_he,
        "modes swapped (the wrong fan)": he_modes_swapped,
    },
    "he_uniform": {
        "normal draws (normal vs uniform)": _normal(lambda n: 2 / n),
        "std used as the limit": he_uniform_std_as_limit,
        "limit without the square root": _uniform(lambda n: 6 / n),
        "LeCun's limit sqrt(3/fan)": _uniform(lambda n: math.sqrt(3 / n)),
        "gain^2 in the limit: 2 sqrt(3/fan)": _uniform(lambda n: 2 * math.sqrt(3 / n)),
        "modes swapped (the wrong fan)": lambda s, r, *, mode="fan_in", **k: _uniform(
            lambda n: math.sqrt(6 / n)
        )(s, r, mode="fan_out" if mode == "fan_in" else "fan_in", **k),
    },
    "predicted_std": dict(get_question("predicted_std").check.mistakes),
    "he_activation_std": {
        **get_question("he_activation_std").check.mistakes,
        "the mean not squared": lambda w, a, mode="fan_in": math.sqrt(
            abs(ex05._leaky_moments(w, a, mode)[1] - ex05._leaky_moments(w, a, mode)[2])
        ),
    },
    "quadrature_gain": dict(get_question("quadrature_gain").check.mistakes),
}


@pytest.mark.parametrize("qid", IDS)
def test_wrong_answers_earn_at_most_a_quarter(qid):
    assert_wrong_answers_fail(qid, CORPUS[qid])


@pytest.mark.parametrize("qid", ["predicted_std", "he_activation_std", "quadrature_gain"])
def test_check_names_each_misconception(qid):
    """Every wrong formula the question knows is named by check() on the visible inputs."""
    assert_check_names_each_mistake(qid)


@pytest.mark.parametrize(
    ("qid", "label", "words"),
    [
        ("he_normal", "variance passed as the std", "used as the standard deviation"),
        ("he_normal", "gain^2 = 2 used as the gain (std 2/sqrt(fan))", "gain vs gain^2"),
        ("he_normal", "gain sqrt 2 where gain^2 belongs (Var sqrt(2)/fan)", "gain vs gain^2"),
        ("he_normal", "uniform draws (normal vs uniform)", "uniform"),
        ("he_uniform", "std used as the limit", "sqrt(3 Var)"),
        ("he_uniform", "normal draws (normal vs uniform)", "normal"),
    ],
)
def test_initializer_messages_name_the_misconception(qid, label, words):
    r = run_checks(qid, CORPUS[qid][label])
    assert r.points == 0 and words in r.message, r.message


def he_ignoring_mode(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
    fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(dtype)


def he_accepting_any_mode(shape, rng, *, mode="fan_in", layout="in_out", dtype=np.float32):
    fan_in, fan_out = fan_in_and_fan_out(shape, layout=layout)
    fan = fan_out if mode == "fan_out" else fan_in
    return rng.normal(0.0, np.sqrt(2.0 / fan), size=shape).astype(dtype)


@pytest.mark.parametrize(
    "fn, failing",
    [
        (he_ignoring_mode, {"variance with mode='fan_out'", "ValueError for an unknown mode"}),
        (he_accepting_any_mode, {"ValueError for an unknown mode"}),
    ],
)
def test_mode_and_value_error_are_graded_as_side_requirements(fn, failing):
    """The fan_out form and the ValueError are requirements of the text: missing them keeps
    partial credit, never full marks (visible and hidden inputs)."""
    r = run_checks("he_normal", fn)
    assert {c.name for c in r.checks if not c.passed} == failing, r.message
    assert 0 < r.points < r.max_points
    assert 0 < hidden_points("he_normal", fn) < r.max_points


def test_a_simulation_cannot_pass_the_dropout_prediction():
    """Monte-Carlo with He layers (as many networks as a call can afford) misses 1e-6, and
    depths up to 60 with ReLU and Glorot underflow any finite batch's precision anyway."""

    def simulated(depth, scheme, activation, keep=1.0):
        rng = np.random.default_rng(0)
        c = 2.0 if scheme.startswith("he_") else 1.0
        squares = []
        for _ in range(10):
            x = rng.standard_normal((64, 64))
            for layer in range(depth):
                z = x @ (rng.standard_normal((64, 64)) * math.sqrt(c / 64))
                x = np.maximum(z, 0) if activation == "relu" else z
                if layer < depth - 1:
                    x = x * (rng.random(x.shape) < keep) / keep
            squares.append(np.mean(z**2))
        return float(np.sqrt(np.mean(squares)))

    assert run_checks("predicted_std", simulated).points == 0


# ---- references against simulation and torch ------------------------------------------------------
def test_quadrature_gain_agrees_with_torch_where_torch_has_a_formula():
    torch = pytest.importorskip("torch")
    for slope in (0.01, 0.2, 0.5):
        want = torch.nn.init.calculate_gain("leaky_relu", slope)
        assert ex05.quadrature_gain_reference("leaky_relu", slope) == pytest.approx(want, rel=1e-9)


def test_quadrature_gain_keeps_the_variance_of_simulated_layers():
    """A wide layer (4000 units, 200 inputs, R = 8 draws) with Var(w) = g^2 / n after f applied
    to unit-variance inputs: the pre-activation variance is 1 within 5 SE + 1 %."""
    rng = np.random.default_rng(51)
    for act, param in (("gelu", None), ("silu", None), ("elu", 0.7)):
        f = ex05._activation(act, param)
        g = ex05.quadrature_gain_reference(act, param)
        runs = []
        for _ in range(8):
            x = f(rng.standard_normal((200, 4000)))
            runs.append(
                float(np.mean((x @ (rng.standard_normal((4000, 300)) * g / math.sqrt(4000))) ** 2))
            )
        se = np.std(runs, ddof=1) / math.sqrt(len(runs))
        assert abs(np.mean(runs) - 1) <= 5 * se + 0.01, (act, np.mean(runs), se)


def test_he_activation_std_agrees_with_simulated_networks():
    """R = 30 networks: sqrt of the mean activation variance within 5 SE (delta method) + 1 %."""
    rng = np.random.default_rng(52)
    for widths, slope, mode in (
        ([256, 512, 128], 0.1, "fan_out"),
        ([300, 300, 300, 100], 0.0, "fan_in"),
    ):
        variances = []
        for _ in range(30):
            a = rng.standard_normal((200, widths[0]))
            for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
                fan = n_in if mode == "fan_in" else n_out
                z = a @ (rng.standard_normal((n_in, n_out)) * math.sqrt(2 / fan))
                a = np.where(z > 0, z, slope * z)
            variances.append(float(a.var()))
        std = math.sqrt(np.mean(variances))
        se = np.std(variances, ddof=1) / math.sqrt(30) / (2 * std)
        want = ex05.he_activation_std_reference(widths, slope, mode)
        assert abs(std - want) <= 5 * se + 0.01 * want, (widths, std, want, se)


def test_reference_matches_theory_module_without_dropout():
    """With keep = 1 the graded reference is course_utils.theory.predicted_std (Glorot + ReLU at
    depth 30 is 2^-14.5), for every scheme, activation and a few depths."""
    from course_utils.theory import predicted_std

    assert ex05.predicted_std_reference(30, "glorot_normal", "relu") == pytest.approx(2**-14.5)
    for scheme in ex05._SCHEMES:
        for act in ("linear", "relu"):
            for depth in (1, 2, 7, 30):
                want = predicted_std(depth, scheme, act)
                assert ex05.predicted_std_reference(depth, scheme, act) == pytest.approx(
                    want, rel=1e-12
                )


def test_dropout_prediction_agrees_with_simulated_networks():
    """He + ReLU, 8 layers of 256, inverted dropout (keep 0.7) between the layers, R = 30
    networks (batch 200): sqrt of the mean E[z_8^2] within 5 SE (delta method) + 3 % (finite
    width)."""
    rng = np.random.default_rng(53)
    keep, depth, n = 0.7, 8, 256
    squares = []
    for _ in range(30):
        x = rng.standard_normal((200, n))
        for layer in range(depth):
            z = x @ (rng.standard_normal((n, n)) * math.sqrt(2 / n))
            x = np.maximum(z, 0)
            if layer < depth - 1:
                x = x * (rng.random(x.shape) < keep) / keep
        squares.append(float(np.mean(z**2)))
    rms = math.sqrt(np.mean(squares))
    se = np.std(squares, ddof=1) / math.sqrt(30) / (2 * rms)
    want = ex05.predicted_std_reference(depth, "he_normal", "relu", keep=keep)
    assert abs(rms - want) <= 5 * se + 0.03 * want, (rms, want, se)
