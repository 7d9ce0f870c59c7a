"""`make lab` opens JupyterLab where the lectures and the exercises are both reachable.

The test reads the Makefile's ``LAB_OPEN`` arguments, starts ``jupyter lab`` with them from the
course folder (as ``make lab`` does; on a free localhost port, with a token, no browser), and
lists ``notebooks/`` and ``exercises/`` through the server's contents API; the server's start page
redirects to the first lecture. nbgrader's server extensions (when nbgrader is installed for the
instructor) are not loaded in it.
"""

from __future__ import annotations

import json
import re
import shlex
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from _jupyterlab import running_lab

ROOT = Path(__file__).resolve().parents[1]


def _get(url: str) -> tuple[int, bytes, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, resp.read(), resp.headers.get("Location", "")
    except urllib.error.HTTPError as err:
        return err.code, b"", err.headers.get("Location", "") if err.headers else ""


def lab_open_args() -> list[str]:
    """The ``LAB_OPEN`` arguments of ``make lab``, read from the Makefile."""
    text = (ROOT / "Makefile").read_text()
    m = re.search(r"(?m)^LAB_OPEN\s*:?=\s*(.+)$", text)
    assert m, "the Makefile defines LAB_OPEN for `make lab`"
    recipe = re.search(r"(?m)^lab:.*\n\t(.+)$", text)
    assert recipe and "$(LAB_OPEN)" in recipe.group(1)
    return shlex.split(m.group(1))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("lab_root")
    with running_lab(base, ROOT, lab_open_args()) as server:
        yield server.url, server.token, server.log


def _contents(url: str, token: str, path: str) -> dict:
    status, body, _ = _get(f"{url}/api/contents/{path}?token={token}&content=1")
    assert status == 200, (path, status)
    return json.loads(body)


def test_lectures_and_exercises_are_both_reachable(lab):
    url, token, _ = lab
    root = {item["name"] for item in _contents(url, token, "")["content"]}
    assert {"notebooks", "exercises"} <= root
    lectures = {i["name"] for i in _contents(url, token, "notebooks")["content"]}
    exercises = {i["name"] for i in _contents(url, token, "exercises")["content"]}
    assert "00_why_initialization.ipynb" in lectures
    assert {p.name for p in (ROOT / "exercises").glob("*.ipynb")} <= exercises
    # the README's next step opens an exercise: the file itself is served
    first = sorted((ROOT / "exercises").glob("*.ipynb"))[0].name
    assert _contents(url, token, f"exercises/{first}")["type"] == "notebook"


def test_lab_opens_on_the_first_lecture(lab):
    url, token, _ = lab
    status, _, location = _get(f"{url}/?token={token}")
    assert status in (301, 302, 303, 307), status
    assert location.split("?")[0].endswith("/lab/tree/notebooks/00_why_initialization.ipynb")


def test_no_nbgrader_extension_in_the_students_lab(lab):
    url, token, _ = lab
    for route in ("formgrader", "assignments", "courses"):  # nbgrader's server extensions
        status, _, _ = _get(f"{url}/{route}?token={token}")
        assert status == 404, f"nbgrader's /{route} is served in the students' lab"
