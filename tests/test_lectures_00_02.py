"""Lectures 00-02: the committed notebooks have the structure the syllabus asks for, and the
numbers they print are the ones the library computes.

Structure: title cell with objectives, prerequisites and run time; slide metadata on every cell;
at least 3 figures, each shown once; no error or stderr output; summary and references at the
end; every code cell executed. Content: the claims printed in the notebooks (the circles
accuracies, the lecture-00 step counts) are recomputed here from the library, so a change in the
library that would make a notebook's text wrong fails a unit test, not only nbval.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_utils import plots
from course_utils.data import circles
from course_utils.symmetry import init_mlp, train

ROOT = Path(__file__).resolve().parents[1]
LECTURES = [
    ROOT / "notebooks" / "00_why_initialization.ipynb",
    ROOT / "notebooks" / "01_symmetry.ipynb",
    ROOT / "notebooks" / "02_small_vs_large_random.ipynb",
]


def _stdout(nb) -> str:
    return "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream" and o.name == "stdout"
    )


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_structure(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    for words in ("Learning objectives", "Prerequisites", "run time"):
        assert words in first.source, words
    assert all("slide_type" in c.metadata.get("slideshow", {}) for c in nb.cells)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Summary" in text and "## References" in text
    images = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, cell.source[:60]
        for out in cell.outputs:
            assert out.output_type != "error", cell.source[:60]
            assert not (out.output_type == "stream" and out.name == "stderr"), out.text[:200]
            data = out.get("data", {})
            if "image/png" in data:
                images += 1
            else:
                assert "<Figure size" not in data.get("text/plain", ""), "figure shown as text"
    assert images >= 3


def test_lecture_00_prints_what_gradient_descent_does():
    out = _stdout(nbformat.read(LECTURES[0], as_version=4))
    ends = []
    for name, w0 in plots.LANDSCAPE_STARTS.items():
        path, n = plots.gradient_descent_1d(plots.landscape_grad, w0, lr=0.1, tol=1e-4)
        assert f"start {name}: w0 = {w0:+.2f} -> w = {path[-1]:+.4f} after {n:3d} steps" in out
        ends.append(round(path[-1], 2))
    assert len(set(ends)) == 3  # three different minima


def test_lecture_01_circles_accuracies_match_a_fresh_run():
    """The table of lecture 01 is recomputed: He-normal init fits the circles (train and test
    accuracy printed in the notebook), zeros stays at exactly ln 2 and 50%."""
    out = _stdout(nbformat.read(LECTURES[1], as_version=4))
    x, y, xt, yt = circles(np.random.default_rng(1))
    _, hist = train(
        init_mlp([2, 10, 5, 1], "he_normal", np.random.default_rng(0)),
        x,
        y,
        lr=1.0,
        steps=1500,
        x_test=xt,
        y_test=yt,
    )
    row = re.search(r"^He normal\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    assert row, out
    assert float(row.group(2)) == pytest.approx(hist.loss[-1], abs=1e-4)
    assert float(row.group(3)) == pytest.approx(hist.train_accuracy[-1], abs=1e-3)
    assert float(row.group(4)) == pytest.approx(hist.test_accuracy[-1], abs=1e-3)
    assert hist.train_accuracy[-1] > 0.95 and hist.test_accuracy[-1] > 0.9
    zeros = re.search(r"^zeros\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    assert [float(v) for v in zeros.groups()] == [
        round(math.log(2), 4),
        round(math.log(2), 4),
        0.5,
        0.5,
    ]
    assert "largest spread over all steps, per hidden layer: [0. 0.]" in out


def test_lecture_02_says_the_scale_must_depend_on_fan_in():
    nb = nbformat.read(LECTURES[2], as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "depend on the fan-in" in text
    out = _stdout(nb)
    for sigma in ("0.01", " 0.1", " 1.0"):
        assert f"tanh deep sigma={sigma}" in out


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_every_question_has_a_folded_answer_right_under_it(path):
    """Issue 12 item 5: a <details><summary>Answer</summary> block follows each question prompt
    in the same cell, with a non-empty answer."""
    nb = nbformat.read(path, as_version=4)
    n = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "> **Question.**" not in cell.source:
            continue
        n += 1
        after = cell.source.split("> **Question.**", 1)[1]
        m = re.search(r"<details><summary>Answer</summary>(.*?)</details>", after, re.S)
        assert m, cell.source[:80]
        assert len(m.group(1).split()) >= 20, m.group(1)
        assert after.count("> **Question.**") == 0  # one question per cell
    assert n >= 4


def test_lecture_00_attributes_the_step_counts_to_the_ridges():
    from course_utils.experiments import descent_budget, landscape_ridges

    out = _stdout(nbformat.read(LECTURES[0], as_version=4))
    ridges = landscape_ridges(plots.landscape_grad, -8.0, 8.0)

    def hess(w):
        return 0.12 - 2.56 * np.sin(1.6 * w)

    for name, w0 in plots.LANDSCAPE_STARTS.items():
        r = descent_budget(plots.landscape_grad, hess, w0)
        line = (
            f"{name}: nearest ridge {np.min(np.abs(ridges - w0)):.2f} away, "
            f"|L'(w0)| = {r['start_slope']:.2f}, distance to minimum {r['distance']:.2f}: "
            f"{r['steps']} steps, parabola alone {r['geometric_steps']:.1f}, "
            f"extra {r['extra_steps']:+.1f}"
        )
        assert line in out
    assert "P(at least one of three beyond 2 SE) = 0.13" in out


def test_lecture_01_cosines_and_he_spikes_agree_with_the_text():
    from course_utils.symmetry import min_unit_cosine

    nb = nbformat.read(LECTURES[1], as_version=4)
    out = _stdout(nb)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    he = init_mlp([2, 10, 5, 1], "he_normal", np.random.default_rng(0))
    tiny = init_mlp([2, 10, 5, 1], "random_normal", np.random.default_rng(0), std=1e-3)
    cos_he = min_unit_cosine(he.weights[0], he.biases[0])
    assert cos_he == pytest.approx(min_unit_cosine(tiny.weights[0], tiny.biases[0]), abs=1e-6)
    for name in ("N(0, 1e-3^2)", "He normal"):
        row = re.search(rf"^{re.escape(name)}\s+(?:\S+\s+){{4}}\[.*?\]\s+(\S+)", out, re.M)
        assert row and float(row.group(1)) == pytest.approx(cos_he, abs=1e-6), name
    almost = re.search(r"^0\.5 \+ N\(0, 1e-3\^2\)\s+(?:\S+\s+){4}\[.*?\]\s+(\S+)", out, re.M)
    assert almost.group(1) in text  # the answer quotes the almost-constant cosine
    spike = re.search(
        r"largest loss after step 0 (\S+) at step (\d+), steps with a loss above 1: (\d+)", out
    )
    assert spike, out
    assert f"to {spike.group(1)} at step {spike.group(2)}" in text
    assert f"above 1 on {spike.group(3)} of the 1500 steps" in text


def test_lecture_02_training_text_quotes_the_table():
    nb = nbformat.read(LECTURES[2], as_version=4)
    out = _stdout(nb)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    rows = {
        m.group(1).strip(): m.groups()[1:]
        for m in re.finditer(
            r"^((?:tanh|relu) \S.*?)\s+([+-]\d\.\d{3})\s+(\S+)\s+(\S+) \(\s*(\d+)\)\s+(\S+)\s+(\S+)\s+(\S+)$",
            out,
            re.M,
        )
    }
    assert len(rows) == 7, rows  # eight runs, one diverged
    assert f"for {rows['tanh sigma = 0.1'][1]} steps" in text
    he = rows["relu he_normal (fan-in)"]
    assert (
        f"up to {float(he[2]):.1f} at step\n  {he[3]}" in text
        or f"up to {float(he[2]):.1f} at step {he[3]}" in text
    )
    assert f"starts {float(he[0]):.2f} above" in text
    assert "diverged: loss not finite at step 2" in out and "diverges at step 2" in text
    accs = [rows[k][5] for k in ("tanh sigma = 0.01", "relu sigma = 0.01", "relu sigma = 0.1")]
    assert f"({accs[0]}, {accs[1]}, {accs[2]})" in text.replace("\n  ", " ")


def test_start_losses_names_overlaps_and_marks_divergence():
    """Lecture 02's training figure hides no run: identical curves are named in the legend, a
    diverged run gets a cross at its step, clipped curves say so."""
    from types import SimpleNamespace

    from course_utils.figure_alt import description

    flat = np.full(11, math.log(2))
    results = {
        "sigma = 0.01": {"history": SimpleNamespace(loss=flat), "diverged_at": None},
        "sigma = 0.1": {"history": SimpleNamespace(loss=flat * (1 + 1e-6)), "diverged_at": None},
        "sigma = 1.0": {"history": None, "diverged_at": 2},
        "he": {"history": SimpleNamespace(loss=np.geomspace(30.0, 1e-4, 11)), "diverged_at": None},
    }
    fig = plots.start_losses(results, reference=math.log(2))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "sigma = 0.1 (on top of sigma = 0.01)" in labels
    assert "sigma = 1.0: diverged at step 2" in labels
    assert "he (clipped)" in labels and "ln 2 (chance)" in labels
    cross = [ln for ln in ax.get_lines() if ln.get_label().startswith("sigma = 1.0")][0]
    assert list(cross.get_xdata()) == [2] and list(cross.get_ydata()) == [20.0]
    widths = [
        ln.get_linewidth() for ln in ax.get_lines() if ln.get_label().startswith("sigma = 0.")
    ]
    assert widths[0] > widths[1]  # the curve underneath stays visible
    assert "diverged at step 2" in description(fig)
    with pytest.raises(ValueError, match="diverged_at"):
        plots.start_losses({"x": {"history": None}})
    with pytest.raises(ValueError, match="ylim"):
        plots.start_losses({"a": results["he"]}, ylim=(0.0, 1.0))
