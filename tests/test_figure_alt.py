"""Figure descriptions: stored on the figure, carried into Jupyter's output as alt text."""

from __future__ import annotations

import nbformat
import pytest
from matplotlib.figure import Figure

from course_utils.figure_alt import MAX_LENGTH, describe, description


def test_describe_stores_clean_text_and_returns_the_figure():
    fig = Figure()
    assert description(fig) is None
    assert describe(fig, "  Std against layer:\n He stays near 1.  ") is fig
    assert description(fig) == "Std against layer: He stays near 1."


def test_long_descriptions_are_shortened_with_an_ellipsis():
    fig = describe(Figure(), "x" * (MAX_LENGTH + 50))
    assert len(description(fig)) == MAX_LENGTH
    assert description(fig).endswith("...")


@pytest.mark.parametrize(
    ("fig", "text", "error", "argument"),
    [(object(), "a", TypeError, "fig"), (Figure(), 3, TypeError, "text"), (Figure(), " \n", ValueError, "text")],
)
def test_bad_input_names_the_argument(fig, text, error, argument):
    with pytest.raises(error, match=argument):
        describe(fig, text)


def test_kernel_output_carries_the_description_as_alt_text_and_plain_text():
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "%matplotlib inline\n"
            "from IPython.display import display\n"
            "from matplotlib.figure import Figure\n"
            "from course_utils import plots\n"
            "fig = Figure(); fig.subplots().plot([1, 2])\n"
            "display(plots.describe(fig, 'A line rising from 1 to 2.'))\n"
            "bare = Figure(); bare.subplots().plot([2, 1]); display(bare)"
        ),
        # A second %matplotlib call re-registers IPython's printer: the description survives.
        nbformat.v4.new_code_cell("%matplotlib inline\ndisplay(fig)"),
    ]
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    described, bare = nb.cells[0].outputs
    assert described.metadata["image/png"]["alt"] == "A line rising from 1 to 2."
    assert described.data["text/plain"] == "A line rising from 1 to 2."
    assert "image/png" in described.data
    # an undescribed figure still gets an alt text, read off its content (its one line)
    assert bare.metadata["image/png"]["alt"] == "panel; a line from 2 to 1."
    assert bare.data["text/plain"].startswith("<Figure size")
    (again,) = nb.cells[1].outputs
    assert again.metadata["image/png"]["alt"] == "A line rising from 1 to 2."


def test_summary_reads_titles_labels_and_series_off_the_axes():
    from course_utils.figure_alt import summarize

    fig = Figure()
    fig.suptitle("Depth")
    ax = fig.subplots()
    ax.plot([1, 2, 3], [1.0, 0.5, 0.25], label="glorot")
    ax.plot([1, 2, 3], [1.0, 1.0, 1.0], label="he")
    ax.set(title="std by layer", xlabel="layer", ylabel="std", yscale="log")
    assert summarize(fig) == (
        "Depth. std by layer: std (log scale) against layer; glorot from 1 to 0.25, he at 1."
    )


def test_format_mean_sd_keeps_only_the_digits_the_spread_supports():
    """SD to one significant digit, the mean to the same decimal place; 0.096 rounds to 0.1 and
    takes the mean one place coarser; large spreads round to tens; NaN (a diverged seed) is
    dropped; no spread falls back to the plain number format."""
    import numpy as np

    from course_utils.figure_alt import format_mean_sd

    assert format_mean_sd([0.25, 0.36, 0.46, 0.55, 0.36]) == "0.4 +- 0.1"
    assert format_mean_sd([0.0295, 0.0135, 0.0648, 0.02, 0.02]) == "0.03 +- 0.02"
    sd_096 = np.array([-1.0, 1.0]) * 0.096 / np.sqrt(2) + 0.52
    assert format_mean_sd(sd_096) == "0.5 +- 0.1"
    assert format_mean_sd([120.0, 180.0, 150.0]) == "150 +- 30"
    assert format_mean_sd([0.3, float("nan"), 0.5]) == "0.4 +- 0.1"
    assert format_mean_sd([2.0, 2.0]) == "2" and format_mean_sd([]) == "nan"
