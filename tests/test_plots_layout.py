"""course_utils.plots is a package of figure modules by topic; the old namespace still works.

The lists below were captured from ``course_utils.plots`` when it was one 2,400-line module
(``dir()``'s public callables and ``__all__``), just before the split into
``course_utils/plots/{distributions,depth,comparisons,training,spectra,landscapes}.py`` with
shared private helpers in ``_common.py``. Every old name must still import from
``course_utils.plots`` and be the same object as in its topic module.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import course_utils.plots as plots

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_utils" / "plots"
TOPICS = ("distributions", "depth", "comparisons", "training", "spectra", "landscapes")

#: public callables of the old module (``callable(getattr(plots, name))``, no leading underscore)
PUBLIC_CALLABLES_BEFORE = [
    "Any", "Callable", "Figure", "Line2D", "ListedColormap", "Mapping", "MaxNLocator", "Sequence",
    "TwoSlopeNorm", "basins_figure", "basins_of_attraction", "color", "curves_over_seeds",
    "decision_boundaries", "describe", "description", "format_mean_sd", "format_number",
    "function_curves", "gradient_descent_1d", "install_ipython_formatters", "landscape_figure",
    "landscape_grad", "landscape_loss", "layer_histograms", "learning_time_figure", "loss_curves",
    "measured_vs_theory", "newman_lyapunov_exponents", "norm_ratio_figure", "qr_sign_fix_figure",
    "ratio_bars", "recurrence_figure", "sample_histograms", "series_vs_theory", "spectrum_figure",
    "start_losses", "std_by_depth", "std_by_depth_panels", "std_ratio_heatmap", "summarize",
    "three_families", "truncated_normal_figure",
]
#: the old module's ``__all__``, in its order
ALL_BEFORE = [
    "LANDSCAPE_MINIMA", "LANDSCAPE_STARTS", "PALETTE", "color", "decision_boundaries", "describe",
    "description", "gradient_descent_1d", "landscape_figure", "landscape_grad", "landscape_loss",
    "layer_histograms", "loss_curves", "std_by_depth", "std_ratio_heatmap", "three_families",
    "basins_figure", "basins_of_attraction", "norm_ratio_figure", "qr_sign_fix_figure",
    "recurrence_figure", "spectrum_figure", "truncated_normal_figure", "curves_over_seeds",
    "learning_time_figure", "std_by_depth_panels", "function_curves", "measured_vs_theory",
    "ratio_bars", "sample_histograms", "start_losses",
]
#: private helpers tests elsewhere reach through the old namespace
PRIVATE_USED_ELSEWHERE = ["_fmt_num", "_trend", "_join"]


def test_every_old_public_callable_still_imports_from_course_utils_plots():
    now = {n for n in dir(plots) if not n.startswith("_") and callable(getattr(plots, n))}
    missing = sorted(set(PUBLIC_CALLABLES_BEFORE) - now)
    assert not missing, f"course_utils.plots lost public names: {missing}"


def test_all_is_unchanged_and_every_entry_resolves():
    assert plots.__all__ == ALL_BEFORE
    for name in plots.__all__:
        assert hasattr(plots, name), name


@pytest.mark.parametrize("name", PRIVATE_USED_ELSEWHERE)
def test_private_helpers_used_by_other_tests_still_resolve(name):
    assert callable(getattr(plots, name))


def test_each_figure_lives_in_exactly_one_topic_module_and_is_the_same_object():
    homes: dict[str, str] = {}
    for topic in TOPICS:
        module = importlib.import_module(f"course_utils.plots.{topic}")
        for name in module.__all__:
            assert name not in homes, f"{name} is exported by {homes.get(name)} and {topic}"
            homes[name] = topic
            assert getattr(plots, name) is getattr(module, name)
            assert getattr(module, name).__module__ == f"course_utils.plots.{topic}"
    figures = {
        n for n in PUBLIC_CALLABLES_BEFORE
        if inspect.isfunction(getattr(plots, n))
        and getattr(plots, n).__module__.startswith("course_utils.plots")
    }
    assert figures - {"color"} == set(homes), "a figure function has no topic module (or two)"


def test_topic_modules_import_helpers_only_from_common_not_from_each_other():
    """Shared helpers live in _common; a topic module never reaches into another topic's file."""
    for topic in TOPICS:
        tree = ast.parse((PACKAGE / f"{topic}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "course_utils.plots"
            ):
                assert node.module == "course_utils.plots._common", (topic, node.module)


def test_the_old_single_module_is_gone():
    assert not (ROOT / "course_utils" / "plots.py").exists()
    assert Path(plots.__file__).parent == PACKAGE
