"""Figures that describe themselves: a text alternative kept with every figure's image.

A screen-reader user cannot see a plot, so every figure of the course carries a short description
of what it shows and what to notice, written by the code that draws it (the numbers in it come
from the plotted data). :func:`describe` attaches the text to a :class:`matplotlib.figure.Figure`;
inside IPython (Jupyter) a display formatter then puts it into the output's metadata as
``{"image/png": {"alt": text}}`` and uses it as the figure's ``text/plain`` representation, so:

* JupyterLab keeps it with the output (and shows it where the image cannot be shown);
* the static site and the slides (``course_utils.site``) write it into the ``<img alt="...">``;
* nbval compares the ``text/plain`` output, so a description that stops matching its data fails
  the notebook tests like any other printed number.

This module only stores and formats text; it draws nothing and imports no plotting code.

Examples
--------
>>> from matplotlib.figure import Figure
>>> fig = describe(Figure(), "Activation std against layer: He stays near 1.")
>>> description(fig)
'Activation std against layer: He stays near 1.'
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

__all__ = [
    "MAX_LENGTH",
    "describe",
    "description",
    "format_number",
    "format_mean_sd",
    "install_ipython_formatters",
    "summarize",
]

MAX_LENGTH = 600
"""Longest description kept (screen readers read alt text in one go; keep it short)."""

_ATTRIBUTE = "_course_description"
_MARK = "_course_alt_printer"


def _clean(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise ValueError("text must be a non-empty description of the figure")
    if len(text) > MAX_LENGTH:
        text = text[: MAX_LENGTH - 3].rstrip() + "..."
    return text


def describe(fig: Any, text: str) -> Any:
    """Attach the description ``text`` to ``fig`` and return ``fig``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to describe.
    text : str
        What the figure shows and what to notice, e.g. "Activation std against layer for 30
        ReLU layers: Glorot falls from 1 to 4e-5, He stays near 1". Whitespace is collapsed;
        text longer than :data:`MAX_LENGTH` characters is shortened with an ellipsis.

    Raises
    ------
    TypeError
        ``fig`` is not a matplotlib figure or ``text`` is not a string.
    ValueError
        ``text`` is empty.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    setattr(fig, _ATTRIBUTE, _clean(text))
    return fig


def description(fig: Any) -> str | None:
    """The description attached to ``fig`` by :func:`describe`, or ``None``."""
    return getattr(fig, _ATTRIBUTE, None)


def format_number(x: float) -> str:
    """A number for a figure description: 3 significant digits, a short exponent when tiny or
    huge (``4e-5``, ``1.2e4``), ``nan``/``inf`` as such.

    >>> format_number(4.1e-05), format_number(12345.0), format_number(0.5)
    ('4.1e-5', '1.2e4', '0.5')
    """
    if not np.isfinite(x):
        return str(float(x))
    text = f"{x:.2g}" if (x != 0 and (abs(x) < 0.01 or abs(x) >= 1e4)) else f"{x:.3g}"
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if e else text


def format_mean_sd(values: Any) -> str:
    """``"mean +- SD"`` of ``values`` (e.g. one number per seed) at the precision the spread
    supports: the SD to one significant digit and the mean to the same decimal place.

    Digits finer than the seed-to-seed spread are what another CPU's rounding changes in a
    chaotic run, so they are left out. Non-finite entries are dropped; one value, or no spread,
    falls back to :func:`format_number`.

    >>> format_mean_sd([0.25, 0.36, 0.46, 0.55, 0.36]), format_mean_sd([1.0, 1.0])
    ('0.4 +- 0.1', '1')
    >>> format_mean_sd([1.1040, 1.1050, 1.1062])
    '1.105 +- 0.001'
    """
    a = np.asarray(values, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return "nan"
    mean = float(a.mean())
    sd = float(a.std(ddof=1)) if a.size > 1 else 0.0
    if sd == 0:
        return format_number(mean)
    place = -int(np.floor(np.log10(sd)))  # decimal place of the SD's first significant digit
    if round(sd, place) >= 10.0 ** (1 - place):  # 0.096 -> 0.1: one place coarser
        place -= 1
    if place > 0:
        return f"{mean:.{place}f} +- {sd:.{place}f}"
    step = 10.0**-place
    return f"{round(mean / step) * step:.0f} +- {round(sd / step) * step:.0f}"


def _axes_sentence(ax: Any) -> str:
    """One sentence about one axes: its title, what is plotted against what, and the series."""
    title = ax.get_title() or ""
    xlabel, ylabel = ax.get_xlabel(), ax.get_ylabel()
    scale = " (log scale)" if ax.get_yscale() == "log" else ""
    head = title or "panel"
    if xlabel or ylabel:
        head += f": {ylabel or 'value'}{scale} against {xlabel or 'x'}"
    parts = []
    lines = [ln for ln in ax.get_lines() if ln.get_visible()]
    named = [ln for ln in lines if not str(ln.get_label()).startswith("_")]
    for ln in (named or lines)[:6]:
        y = np.asarray(ln.get_ydata(), dtype=float).ravel()
        y = y[np.isfinite(y)]
        if y.size == 0:
            continue
        label = ln.get_label() if not str(ln.get_label()).startswith("_") else "a line"
        if y.size == 1 or np.allclose(y, y[0]):
            parts.append(f"{label} at {format_number(y[0])}")
        else:
            parts.append(f"{label} from {format_number(y[0])} to {format_number(y[-1])}")
    if len(named or lines) > 6:
        parts.append(f"{len(named or lines) - 6} more lines")
    if ax.patches and not lines:
        parts.append("a histogram or bars")
    if ax.images:
        parts.append("a colour map")
    elif ax.collections and not lines:
        parts.append("markers or regions")
    return head + ("; " + ", ".join(parts) if parts else "")


def summarize(fig: Any) -> str:
    """A plain description read off a figure's content: its title, then per panel the axis
    labels and each labelled line's first and last values (at most eight panels)."""
    axes = [ax for ax in fig.get_axes() if ax.get_visible() and ax.axison]
    suptitle = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    sentences = [suptitle] if suptitle else []
    if len(axes) > 8:
        titles = [ax.get_title() for ax in axes if ax.get_title()]
        sentences.append(
            f"{len(axes)} panels" + (f" ({titles[0]} to {titles[-1]})" if titles else "")
        )
        axes = axes[:2]
    sentences += [_axes_sentence(ax) for ax in axes]
    return ". ".join(s.rstrip(".") for s in sentences if s) + "." if sentences else "A figure."


def _png_printer(previous: Any):
    from IPython.core.pylabtools import print_figure

    base = previous if previous is not None else (lambda fig: print_figure(fig, "png"))

    def printer(fig: Any) -> Any:
        data = base(fig)
        if data is None:
            return data
        text = description(fig)
        if text is None:
            try:
                text = _clean(summarize(fig))
            except Exception:  # noqa: BLE001 - a description must never break a display
                text = "A figure (no description could be derived)."
        return data, {"alt": text}

    setattr(printer, _MARK, True)
    return printer


def _text_printer(previous: Any):
    def printer(fig: Any, p: Any, cycle: bool) -> None:
        text = description(fig)
        if text is not None:
            p.text(text)
        elif previous is not None:
            previous(fig, p, cycle)
        else:
            p.text(repr(fig))

    setattr(printer, _MARK, True)
    return printer


def _ensure(shell: Any) -> None:
    from matplotlib.figure import Figure

    formatters = shell.display_formatter.formatters
    png = formatters["image/png"]
    current = png.type_printers.get(Figure)
    if not getattr(current, _MARK, False):
        png.for_type(Figure, _png_printer(current))
    text = formatters["text/plain"]
    current = text.type_printers.get(Figure)
    if not getattr(current, _MARK, False):
        text.for_type(Figure, _text_printer(current))


def install_ipython_formatters() -> bool:
    """Make IPython show figure descriptions; a no-op outside IPython. Idempotent.

    Wraps whatever PNG printer is registered for figures (``%matplotlib inline`` registers one)
    so that a described figure's PNG carries ``{"alt": text}`` as its metadata, and shows the
    description as the figure's ``text/plain``. A ``pre_run_cell`` hook re-applies the wrapper
    if a later ``%matplotlib`` call replaces it. Returns whether an IPython shell was found.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    _ensure(shell)
    hook_name = "_course_alt_hook"
    if not getattr(shell, hook_name, False):
        shell.events.register("pre_run_cell", lambda *args: _ensure(shell))
        shell.events.register("post_run_cell", lambda *args: _ensure(shell))
        setattr(shell, hook_name, True)
    return True
