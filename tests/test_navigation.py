"""Every lecture's first cell links to the previous and next lecture and to its exercise."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("index", range(len(LECTURES)), ids=[p.stem for p in LECTURES])
def test_first_cell_links_neighbours_and_exercise(index):
    nb = nbformat.read(LECTURES[index], as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    text = first.source
    if index > 0:
        assert f"]({LECTURES[index - 1].name})" in text, "link to the previous lecture"
    if index + 1 < len(LECTURES):
        assert f"]({LECTURES[index + 1].name})" in text, "link to the next lecture"
    exercise = ROOT / "exercises" / LECTURES[index].name
    if exercise.exists():
        assert f"](../exercises/{exercise.name})" in text, "link to the lecture's exercise"
    for word in ("objectives", "prerequisites", "run time"):
        assert word in text.lower(), f"first cell states the {word}"


# optional appendices, e.g. A1_beyond_appendix
APPENDICES = sorted((ROOT / "notebooks").glob("A[0-9]_*.ipynb"))


@pytest.mark.parametrize("appendix", APPENDICES, ids=[p.stem for p in APPENDICES])
def test_appendix_links_its_lecture_both_ways(appendix):
    text = nbformat.read(appendix, as_version=4).cells[0].source
    linked = [nb for nb in LECTURES if f"]({nb.name})" in text]
    assert linked, "the appendix's first cell links back to a lecture"
    assert f"]({appendix.name})" in nbformat.read(linked[0], as_version=4).cells[0].source, (
        f"{linked[0].name}'s first cell links to its appendix"
    )
    for word in ("objectives", "prerequisites", "run time"):
        assert word in text.lower(), f"first cell states the {word}"
