"""Accessibility of the static site and the slides (WCAG 2.1 AA), used by :mod:`course_utils.site`.

What the rendered pages need beyond nbconvert's defaults, each measured by axe-core in
tests/test_accessibility.py:

* **Figures with a text alternative.** Every figure's PNG carries its description in the
  output metadata (``{"image/png": {"alt": ...}}``, written by :mod:`course_utils.figure_alt`
  when the notebook ran); :data:`TEMPLATE_BLOCKS` writes it into ``<img alt="...">``. An image
  without one falls back to its ``text/plain`` representation, never to an empty alt.
* **Contrast.** JupyterLab's light theme colours code tokens and prompts below 4.5:1 on the
  code background (comments #408080, numbers #080, operators #a2f, prompts #307fc1 at reduced
  opacity). :data:`A11Y_CSS` replaces them with colours of the same hue and at least 4.5:1
  against the cell background (#f5f5f5), checked by :func:`contrast_ratio` in the tests.
* **Links distinguishable without colour**: underlined in text.
* **Math that renders**: the copied MathJax has only the STIX-Web fonts, so they are configured,
  and math inside a folded answer is laid out again when the answer opens.
* **No inert controls.** A saved widget renders in a static page as sliders and dropdowns that
  do nothing (and carry no accessible name). :func:`strip_widgets` replaces each widget view by
  a short note that the explorer runs in JupyterLab; the notebook's static figure (what nbval
  sees) stays.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = [
    "A11Y_CSS",
    "CODE_BACKGROUND",
    "TEMPLATE_BLOCKS",
    "TOKEN_COLOURS",
    "WIDGET_NOTE",
    "contrast_ratio",
    "strip_widgets",
]

CODE_BACKGROUND = "#f5f5f5"
"""JupyterLab's light-theme cell editor background, on which code tokens are drawn."""

#: JupyterLab's CSS variables for code tokens, with colours >= 4.5:1 on :data:`CODE_BACKGROUND`
#: (hues kept close to the defaults so the code looks familiar).
TOKEN_COLOURS = {
    "keyword": "#006b00",
    "atom": "#3333b3",
    "number": "#006b00",
    "def": "#0000e0",
    "variable": "#212121",
    "variable-2": "#00366d",
    "variable-3": "#006b48",
    "punctuation": "#00509e",
    "property": "#00509e",
    "operator": "#8a1cc4",
    "comment": "#386b6b",
    "string": "#ae1f1f",
    "string-2": "#770088",
    "meta": "#8a1cc4",
    "qualifier": "#505050",
    "builtin": "#006b00",
    "bracket": "#5c5c45",
    "tag": "#116600",
    "attribute": "#0000b8",
    "header": "#0000e0",
    "quote": "#006b00",
    "link": "#0000b8",
    "error": "#c00000",
    "hr": "#6b6b6b",
}

PROMPT_COLOURS = {"inprompt": "#1f5f9e", "outprompt": "#a0401f"}

A11Y_CSS = (
    ":root {\n"
    + "".join(f"  --jp-mirror-editor-{k}-color: {v};\n" for k, v in TOKEN_COLOURS.items())
    + "".join(f"  --jp-cell-{k}-font-color: {v};\n" for k, v in PROMPT_COLOURS.items())
    + "}\n"
    """.jp-InputPrompt, .jp-OutputPrompt { opacity: 1 !important; }
.jp-RenderedHTMLCommon a, .jp-RenderedHTMLCommon a:link, .jp-RenderedHTMLCommon a:visited,
.reveal .slides a { text-decoration: underline !important; }
.jp-RenderedHTMLCommon a:focus, .reveal .slides a:focus { outline: 2px solid #1f5f9e; }
.course-widget-note { border-left: 4px solid #1f5f9e; padding: .3em .8em; color: #212121;
  background: #eef4fa; }
"""
)

TEMPLATE_BLOCKS = (
    """{% block notebook_css %}{{ super() }}
<style type="text/css">
"""
    + A11Y_CSS  # plain CSS holds no "{{", "{%" or "{#", so Jinja leaves it as it is
    + """</style>
{% endblock notebook_css %}
{% block html_head_js_mathjax %}{{ super() }}
<script type="text/x-mathjax-config">
// The MathJax copied into the site ships the STIX-Web fonts only (not the TeX ones); and math
// inside a folded <details> answer cannot be measured while hidden, so it is laid out on opening.
MathJax.Hub.Config({"HTML-CSS": {availableFonts: ["STIX-Web"], preferredFont: "STIX-Web",
                                 webFont: "STIX-Web", imageFont: null}});
document.addEventListener("toggle", function (e) {
  if (e.target.open && window.MathJax) { MathJax.Hub.Queue(["Rerender", MathJax.Hub, e.target]); }
}, true);
</script>
{% endblock html_head_js_mathjax %}
{% block data_png scoped %}
{%- set alt = output | get_metadata('alt', 'image/png') -%}
{%- if not alt -%}{%- set alt = output.data.get('text/plain', 'Figure') -%}{%- endif -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
{%- if 'image/png' in output.metadata.get('filenames', {}) %}
<img src="{{ output.metadata.filenames['image/png'] | posix_path | escape_html }}"
{%- else %}
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
{%- endif %}
 alt="{{ alt | escape_html }}"
{%- set width=output | get_metadata('width', 'image/png') -%}
{%- if width is not none %}
 width={{ width | escape_html }}
{%- endif %}
{%- set height=output | get_metadata('height', 'image/png') -%}
{%- if height is not none %}
 height={{ height | escape_html }}
{%- endif %}
>
</div>
{%- endblock data_png %}
"""
)

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = (
    "Interactive controls: they run in JupyterLab (<code>make lab</code>, then open this "
    "notebook). The figure below is what they show at their default settings."
)


def strip_widgets(nb: Any) -> Any:
    """A copy of ``nb`` whose widget views are replaced by :data:`WIDGET_NOTE` (HTML) and whose
    saved widget state is dropped, so a static page shows no control that cannot work."""
    out = copy.deepcopy(nb)
    out.metadata.pop("widgets", None)
    for cell in out.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_MIME in data:
                output["data"] = {"text/html": f'<p class="course-widget-note">{WIDGET_NOTE}</p>'}
                output["metadata"] = {}
    return out


def _luminance(colour: str) -> float:
    colour = colour.lstrip("#")
    if len(colour) == 3:
        colour = "".join(c * 2 for c in colour)
    if len(colour) != 6:
        raise ValueError(f"colour must be #rgb or #rrggbb, got #{colour}")
    channels = [int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio of two ``#rrggbb`` colours, from 1 to 21.

    >>> round(contrast_ratio("#000000", "#ffffff"), 1)
    21.0
    """
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)
