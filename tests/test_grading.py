"""In-process tests of the grading library: checks, verdicts, codec, registry, generator."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest

from course_utils import initializers
from course_utils.grading import (
    Call,
    check,
    deterministic,
    get_question,
    harness,
    question,
    random_initializer,
    run_checks,
    value,
)
from course_utils.grading.build import make_exercise
from course_utils.grading.checks import Outcome, _kurtosis_se, _standard_moments, score
from course_utils.grading.judge import judge, request_for
from course_utils.grading.predictions import gated


# ---- student-like implementations ----------------------------------------------------------
# (exercise 03 also grades fan_in_and_fan_out, so the library's one is out of reach there: a
# student's initializer uses the student's own fans)
def own_fans(shape, *, layout="in_out"):
    receptive = int(np.prod(shape[:-2] if layout == "in_out" else shape[2:]))
    if layout == "in_out":
        return shape[-2] * receptive, shape[-1] * receptive
    return shape[1] * receptive, shape[0] * receptive


def own_normal(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = own_fans(shape, layout=layout)
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=shape).astype(dtype)


def own_uniform(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = own_fans(shape, layout=layout)
    a = np.sqrt(3.0 / fan_in)
    return rng.uniform(-a, a, size=shape).astype(dtype)


def fan_out_normal(shape, rng, *, layout="in_out", dtype=np.float32):
    _, fan_out = own_fans(shape, layout=layout)
    return rng.normal(0.0, np.sqrt(1.0 / fan_out), size=shape).astype(dtype)


def global_normal(shape, rng, *, layout="in_out", dtype=np.float32):
    fan_in, _ = own_fans(shape, layout=layout)
    return np.random.normal(0.0, np.sqrt(1.0 / fan_in), size=shape).astype(dtype)  # noqa: NPY002


def float64_normal(shape, rng, *, layout="in_out", dtype=np.float32):
    return own_normal(shape, rng, layout=layout, dtype=np.float64)


def flat_normal(shape, rng, *, layout="in_out", dtype=np.float32):
    return own_normal(shape, rng, layout=layout, dtype=dtype).ravel()


def fixed_seed_normal(shape, rng, *, layout="in_out", dtype=np.float32):
    return own_normal(shape, np.random.default_rng(0), layout=layout, dtype=dtype)


def stub(shape, rng, *, layout="in_out", dtype=np.float32):
    raise NotImplementedError("Replace this line with your solution.")


def _failed(result):
    return {c.name: c.message for c in result.checks if not c.passed}


# ---- random initializer checks -------------------------------------------------------------
def test_correct_initializers_pass_every_visible_check():
    for qid, fn in (("lecun_normal", own_normal), ("lecun_uniform", own_uniform)):
        r = run_checks(qid, fn)
        assert r.passed and r.points == r.max_points, _failed(r)


def test_correct_initializers_pass_the_hidden_checks_for_many_grader_draws():
    """A correct answer must not lose points by chance. Each comparison allows z = 5 standard
    errors: the sample variance s^2 of N draws has SE = Var * sqrt((kurtosis - 1) / N)
    (sqrt(2/N) for a normal, sqrt(0.8/N) for a uniform), the mean SE = sqrt(Var / N), the
    sample kurtosis the delta-method SE of ``_kurtosis_se``. Two-sided P(|Z| > 5) = 5.7e-7 per
    comparison, about 1e-5 over the ~20 comparisons of a question, so 30 draws (seeds 0..29,
    fixed) pass unless the tolerance is wrong."""
    for qid, fn in (("lecun_normal", own_normal), ("lecun_uniform", own_uniform)):
        q = get_question(qid)
        for seed in range(30):
            calls = q.check.calls(np.random.default_rng(seed))
            answer = harness.run_question({q.name: fn}, request_for(q, calls, time_limit=10))
            r = judge(q, calls, answer)
            assert r.passed, (qid, seed, _failed(r))


def _lecun(family, fn, seed=None):
    """The engine's own LeCun initializer check (``random_initializer`` gated on the variance,
    as docs/grading.md declares it), independent of how exercise 03 combines its checks."""
    check_ = gated(
        random_initializer(lambda fi, fo: 1 / fi, family=family, variance_label="1/fan_in"),
        main="variance",
    )
    calls = check_.calls(None if seed is None else np.random.default_rng(seed))
    answer = harness.run_question({"f": fn}, {"name": "f", "calls": [c.to_wire() for c in calls]})
    outcomes = [Outcome.from_wire(o) for o in answer["outcomes"]]
    return score("lecun", 3.0, check_.verdict(calls, outcomes, "f"))


@pytest.mark.parametrize(
    "fn, failing, words, partial",
    [
        (fan_out_normal, "variance", "1/fan_out", False),
        (global_normal, "uses only rng", "global random state", True),
        (float64_normal, "dtype", "float64", True),
        (flat_normal, "shape", "expected", False),
        (fixed_seed_normal, "different seeds differ", "rng argument is ignored", True),
        (own_uniform, "distribution", "look uniform", True),
    ],
)
def test_each_mistake_fails_its_check_with_a_hint(fn, failing, words, partial):
    """Partial credit only while the main check (the variance) passes: a wrong variance, or no
    array of the right shape to measure it on, earns 0."""
    r = _lecun("normal", fn)
    failed = _failed(r)
    assert failing in failed and words in failed[failing], failed
    if partial:
        assert 0 < r.points < r.max_points
    else:
        assert r.points == 0 and "variance" in failed


def test_wrong_variance_is_detected_on_the_hidden_shapes_too():
    """1/fan_out differs from 1/fan_in by the factor fan_in / fan_out, at least 2.5 on the
    grader's dense shapes: far outside 5 standard errors (at most 11% for N >= 4096 draws)."""
    for seed in range(10):
        assert "variance" in _failed(_lecun("normal", fan_out_normal, seed))


def test_the_uniform_bound_is_checked():
    def too_wide(shape, rng, *, layout="in_out", dtype=np.float32):
        fan_in, _ = own_fans(shape, layout=layout)
        return rng.uniform(-np.sqrt(1 / fan_in), np.sqrt(1 / fan_in), size=shape).astype(dtype)

    failed = _failed(_lecun("uniform", too_wide))
    assert "bound" in failed and "factor 3 is missing" in failed["variance"]


def test_kurtosis_standard_error_matches_the_normal_formula():
    """For a normal, N Var(b2) -> 24 (the textbook result); uniform moments 9/5, 27/7, 9."""
    assert _kurtosis_se("normal", 24) == pytest.approx(1.0)
    assert _standard_moments("uniform")[0] == pytest.approx(1.8)
    m4 = _standard_moments("truncated_normal")[0]
    z = np.random.default_rng(0).standard_normal(2_000_000)
    z = z[np.abs(z) < 2]
    assert m4 == pytest.approx(np.mean(z**4) / np.mean(z**2) ** 2, abs=0.01)


# ---- library reference, stubs, never raising -----------------------------------------------
def test_the_library_reference_earns_zero_even_when_wrapped():
    from functools import partial

    from course_utils.initializers import lecun_normal as imported

    def wrapper(shape, rng, *, layout="in_out", dtype=np.float32):
        return initializers.variance_scaling(shape, rng, layout=layout, dtype=dtype)

    def wraps_imported(shape, rng, *, layout="in_out", dtype=np.float32):
        return imported(shape, rng, layout=layout, dtype=dtype)

    for fn in (initializers.lecun_normal, partial(initializers.lecun_normal)):
        r = run_checks("lecun_normal", fn)
        assert r.points == 0 and "library's own" in r.message, r.message
    for fn in (wrapper, wraps_imported):
        r = run_checks("lecun_normal", fn)
        assert r.points == 0 and "not available while grading" in r.message, r.message
    # and the references are back afterwards
    assert (
        initializers.lecun_normal((4, 3), 0).shape == (4, 3)
        and imported is initializers.lecun_normal
    )


def test_an_own_helper_named_like_a_library_function_is_fine():
    """The old in-kernel origin detection refused an honest helper named ``predict`` next to
    ``theory.weight_variance``; only identity counts now."""
    from course_utils import theory

    def predict(shape, rng, *, layout="in_out", dtype=np.float32):
        return own_normal(shape, rng, layout=layout, dtype=dtype)

    def lecun_normal(shape, rng, *, layout="in_out", dtype=np.float32):
        assert theory is not None
        return predict(shape, rng, layout=layout, dtype=dtype)

    r = run_checks("lecun_normal", lecun_normal)
    assert r.passed, r.message


def test_using_a_library_helper_that_is_not_the_answer_is_fine():
    def with_gain(shape, rng, *, layout="in_out", dtype=np.float32):
        fan_in, _ = own_fans(shape, layout=layout)
        std = initializers.gain("linear") / np.sqrt(fan_in)  # not a reference of exercise 03
        return rng.normal(0.0, std, size=shape).astype(dtype)

    r = run_checks("lecun_normal", with_gain)
    assert r.passed


@pytest.mark.parametrize("obj", [stub, 42, None, "text", lambda: 1 / 0])
def test_check_never_raises_and_prints_a_verdict(obj, capsys):
    check("lecun_normal", obj)
    out = capsys.readouterr().out
    assert out.startswith(f"lecun_normal: 0 / {get_question('lecun_normal').points:g} points")


def test_check_on_a_stub_says_not_implemented(capsys):
    check("lecun_normal", stub)
    assert "not implemented yet" in capsys.readouterr().out


def test_check_unknown_question_and_missing_name(capsys):
    check("no_such_question", own_normal)
    assert "unknown question" in capsys.readouterr().out
    check("sum_variance")  # not defined in this module's globals
    assert "not defined yet" in capsys.readouterr().out


def test_check_leaves_the_global_random_state_alone():
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    check("lecun_normal", global_normal)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002


def test_check_stops_a_hanging_function():
    def slow(n, var_w, var_x, mean_x=0.0):
        while True:
            pass

    r = run_checks("sum_variance", slow, time_limit=0.2)
    assert r.points == 0 and "timeout" in r.message


# ---- deterministic questions ---------------------------------------------------------------
def _doubling_check():
    """A deterministic check built here (the exercises' questions change): the main group
    "values", then "negative values" and "bad input" (the reference raises ValueError)."""

    def reference(x):
        if not isinstance(x, (int, float)):
            raise ValueError("x must be a number")
        return 2 * x

    return deterministic(
        reference,
        visible=[Call((3,), group="values"), Call((-4,), group="negative values"),
                 Call(("a",), group="bad input")],
        hidden=lambda rng: [],
    )  # fmt: skip


def _grade(check_, fn):
    calls = check_.calls(None)
    answer = harness.run_question({"f": fn}, {"name": "f", "calls": [c.to_wire() for c in calls]})
    outcomes = [Outcome.from_wire(o) for o in answer["outcomes"]]
    return score("q", 3.0, check_.verdict(calls, outcomes, "f"))


def test_deterministic_partial_credit_per_group_once_the_main_group_passes():
    r = _grade(_doubling_check(), lambda x: 2 * x if x >= 0 else 0)  # no ValueError either
    assert [c.name for c in r.checks if c.main] == ["values"]
    assert r.points == pytest.approx(1.0) and not r.passed


def test_a_stub_earns_nothing_even_where_a_secondary_check_passes():
    """A stub that always raises ValueError passes "bad input" on its own; returning the input
    passes nothing; zeros pass nothing: all earn 0 because the main group fails."""
    check_ = _doubling_check()
    for stub_fn in (lambda x: (_ for _ in ()).throw(ValueError("todo")), lambda x: x, lambda x: 0):
        r = _grade(check_, stub_fn)
        assert r.points == 0, r.checks
    raising = _grade(check_, lambda x: (_ for _ in ()).throw(ValueError("todo")))
    assert any(c.passed and not c.main for c in raising.checks)  # passed, but earned nothing
    assert "earn points only once values passes" in raising.message


def test_score_gating_follows_the_contract():
    from course_utils.grading.checks import CheckResult

    unmarked = [CheckResult("first", False), CheckResult("second", True)]
    assert score("q", 2.0, unmarked).points == 0  # no main marked: the first is main
    marked = [CheckResult("a", True), CheckResult("b", False, main=True), CheckResult("c", True)]
    assert score("q", 3.0, marked).points == 0
    marked[1].passed = True
    assert score("q", 3.0, marked).points == 3.0


# ---- codec ---------------------------------------------------------------------------------
def test_arrays_round_trip_through_json_without_pickle():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    wire = json.loads(json.dumps(harness.encode((x, 3, 2.5, np.int64(7)))))
    back = harness.decode(wire)
    assert np.array_equal(back[0], x) and back[0].dtype == np.float32 and back[1:3] == (3, 2.5)
    assert back[3] == 7


def test_object_arrays_and_corrupt_data_are_refused():
    assert "__object__" in harness.encode(np.array([object()]))
    bad = {"ok": True, "value": {"__ndarray__": "AAAA", "dtype": "|O", "shape": [1]}}
    assert not Outcome.from_wire(bad).ok
    short = {"ok": True, "value": {"__ndarray__": "AAAA", "dtype": "<f8", "shape": [2]}}
    assert not Outcome.from_wire(short).ok


# ---- registry ------------------------------------------------------------------------------
def test_every_question_module_loads():
    from course_utils.grading.registry import load_errors

    assert load_errors() == {}


def test_registry_rejects_duplicates_and_bad_points():
    check_ = random_initializer(lambda fi, fo: 1 / fi, family="normal", variance_label="1/fan_in")
    with pytest.raises(ValueError, match="already registered"):
        question("lecun_normal", exercise="99_x", points=1, check=check_)
    with pytest.raises(ValueError, match="points"):
        question("tmp_q", exercise="99_x", points=0, check=check_)
    with pytest.raises(TypeError, match="check"):
        question("tmp_q", exercise="99_x", points=1, check=object())


def test_value_and_deterministic_builders_judge_plain_results():
    v = value(lambda x: (abs(x - 0.5) < 0.1, "near 0.5"))
    assert v.verdict([], [Outcome(True, 0.52)], "x")[0].passed
    assert not v.verdict([], [Outcome(True, "0.5")], "x")[0].passed
    d = deterministic(lambda a: a * 2, visible=[Call((np.ones(3),))], hidden=lambda rng: [])
    [res] = d.verdict(d.calls(None), [Outcome(True, np.full(3, 2.0))], "f")
    assert res.passed


# ---- generator -----------------------------------------------------------------------------
def _one_cell_notebook(source, cell_type="code"):
    nb = nbformat.v4.new_notebook()
    make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    nb.cells = [make(source)]
    return nb


def test_generator_keeps_the_hint_and_tags_the_stub():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    # HINT: double it\n    return 2 * x\n    ### END SOLUTION"
    cell = make_exercise(_one_cell_notebook(src), "99_x").cells[0]
    assert cell.source == (
        "def f(x):\n    # Hint: double it\n"
        '    raise NotImplementedError("Replace this line with your solution.")'
    )
    assert "raises-exception" in cell.metadata["tags"] and cell.outputs == []


def test_generator_replaces_markdown_answers_and_rejects_bad_regions():
    md = "Q?\n<!-- ### BEGIN SOLUTION -->\nsecret\n<!-- ### END SOLUTION -->"
    assert make_exercise(_one_cell_notebook(md, "markdown"), "99_x").cells[0].source == (
        "Q?\n_Your answer here._"
    )
    with pytest.raises(ValueError, match="HINT"):
        make_exercise(_one_cell_notebook("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), "99_x")
    with pytest.raises(ValueError, match="without"):
        make_exercise(_one_cell_notebook("### BEGIN SOLUTION\n# HINT: h\nx = 1"), "99_x")


def test_past_the_time_share_definitions_and_the_names_they_use_still_run():
    from course_utils.grading.runner import definitions_only, needed_names

    cells = [
        "import numpy as np",
        "N = 2001\nT_GRID = np.linspace(-10.0, 10.0, N)\nhistory = train(100)\n\n"
        "def mean_of(q):\n    return float(np.mean(T_GRID * q))\n\nprint(mean_of(1))",
        "%matplotlib inline\nLABEL = 'x'\ntry:\n    import torch\nexcept ImportError:\n"
        "    torch = None\nanswer = compute()",
        "def broken(:",
    ]
    needed = needed_names(cells, ["answer"])
    assert {"T_GRID", "N", "np", "answer"} <= needed and "history" not in needed
    code, skipped = definitions_only(cells[1], needed)
    ns: dict = {"np": np}
    exec(code, ns)  # noqa: S102 - the test's own code
    assert ns["mean_of"](2.0) == pytest.approx(0.0, abs=1e-9) and "history" not in ns
    assert skipped == ["`history = train(100)`", "`print(mean_of(1))`"]
    code, skipped = definitions_only(cells[2], needed)
    assert "import torch" in code and "LABEL = 'x'" in code and "answer = compute()" in code
    assert skipped == ["`%matplotlib inline`"]
    assert definitions_only(cells[0], needed) == (cells[0], [])
    assert definitions_only(cells[3], needed)[0] == ""


def test_exercise_versions_allowed_imports_and_changes_are_read_from_the_question_modules():
    import types

    from course_utils.grading import registry
    from course_utils.grading.build import _exercise_meta

    for exercise in registry.exercises():
        info = registry.exercise_info(exercise)
        assert info.allowed_imports and "numpy" in info.allowed_imports
        if info.version is not None:
            assert _exercise_meta(exercise)["version"] == info.version
    qs = [
        registry.Question("a", "99_x", "a", 1.0, _doubling_check()),
        registry.Question("b", "99_x", "fb", 1.0, _doubling_check(), since="3"),
    ]
    module = types.SimpleNamespace(
        VERSION=3, ALLOWED_IMPORTS="numpy, math, scipy", CHANGED_IN_2=("a",)
    )
    info = registry._module_info(module, "99_x", qs)
    assert (info.version, info.allowed_imports) == ("3", ("numpy", "math", "scipy"))
    assert dict(info.changed) == {"2": ("a",), "3": ("b",)}
    assert registry.version_key("10") > registry.version_key("9") > registry.version_key(None)


def test_an_older_copy_is_told_what_changed_and_a_current_one_nothing():
    from course_utils.grading import registry

    exercise = next(e for e in registry.exercises() if registry.exercise_info(e).changed)
    info = registry.exercise_info(exercise)
    latest, ids = info.changed[-1]
    assert registry.version_note(exercise, info.version) is None
    old = registry.version_note(exercise, str(int(latest) - 1))
    assert f"version {int(latest) - 1}" in old and all(i in old for i in ids), old
    assert "no version" in registry.version_note(exercise, None)
    nb = nbformat.v4.new_notebook()
    nb.metadata["course"] = {"exercise": exercise, "version": 7}
    assert registry.notebook_version(nb) == "7" and registry.notebook_version({}) is None


def test_a_missing_module_names_what_a_graded_answer_may_import():
    def fan_in_and_fan_out(shape, *, layout="in_out"):
        import course_utils_no_such_module  # noqa: F401

    r = run_checks("fan_in_and_fan_out", fan_in_and_fan_out)
    assert r.points == 0 and r.message.startswith("a graded answer may import only numpy"), (
        r.message
    )
    assert "ModuleNotFoundError" in r.message and len(r.message) <= 400


def test_feedback_abbreviates_arrays_anywhere_and_stays_one_short_line():
    from course_utils.grading.checks import Call, brief, first_error, one_line

    layers = [np.ones((64, 64)) for _ in range(8)]
    call = Call((np.ones((16, 64)), layers, {"w": layers[:2]}, (np.arange(3.0),)), {"beta": 0.5})
    text = call.describe("stream_stds")
    assert "\n" not in text and len(text) <= 240, text
    assert "<8 arrays (64, 64) float64>" in text and "<array (16, 64) float64>" in text
    assert "[0., 1., 2.]" in text  # a small array is shown in full
    assert brief(list(range(20))).endswith("... 20 items]")
    assert one_line("a\nb\x1b[31m" + "x" * 500).count("\n") == 0 and len(one_line("x" * 500)) == 400
    outs = [
        Outcome(True, 1.0, input="f(1)"),
        Outcome(False, error="ValueError: growth", input="f(growth=1)"),
    ]
    assert first_error(outs) == "f(growth=1) raised ValueError: growth"  # the input that raised
    assert first_error(outs[1:]) == "raised ValueError: growth"  # one outcome: the caller shows it


def test_a_raising_initializer_is_told_the_input_and_a_wrong_value_the_expected_value():
    def lecun_normal(shape, rng, *, layout="in_out", dtype=np.float32):
        if len(shape) > 2:
            raise ValueError("only dense shapes")
        return rng.normal(0.0, np.sqrt(1.0 / shape[0]), size=shape).astype(dtype)

    r = run_checks("lecun_normal", lecun_normal)
    assert (
        "lecun_normal((3, 5, 24, 48), default_rng(" in r.message
        and "raised ValueError" in r.message
    )
    r = run_checks("fan_in_and_fan_out", lambda shape, layout="in_out": (1, 2))
    assert "which is not the expected value" in r.message and "prediction" not in r.message
