"""Charts as Vega-Lite specs (built with Vega-Altair) in one offline HTML page, or as a static SVG.

A page holds each chart's spec as a JSON data block (`<script type="application/json">`) beside an empty
`<div class="chart">`, the Vega/Vega-Lite/Vega-Embed bundle inline (vendor/vega-bundle.js, written by
scripts/vendor_vega.py) and a few lines that render every chart as SVG when the page loads. Nothing is
fetched: the data are in the specs, the libraries in the page. `window.sparsesimChartsReady` is a promise
that settles when every chart has rendered (the headless-browser tests wait on it).

Marks that draw data are named `data_<what>` (`data_layer`), so the rendered SVG groups them as
`g.role-mark.data_<what>_marks`; reference lines and labels are not named that way. Tests count those marks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from html import escape
from importlib import resources
from typing import Any

# Colours (Tableau 10, as Vega's default scheme): one per pass, the same in every chart.
PASS_COLORS: dict[str, str] = {
    "FF": "#4e79a7",
    "BP": "#f28e2b",
    "WU": "#59a14f",
    "UPD": "#b07aa1",
    "GEN": "#9c755f",
    "static": "#bab0ac",
}
RUN_COLORS: dict[str, str] = {"sparse": "#4e79a7", "dense baseline": "#bab0ac"}
FONT = "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"
CONFIG: dict[str, Any] = {
    "font": FONT,
    "title": {"anchor": "start", "fontSize": 14, "fontWeight": 600},
    "axis": {"labelFontSize": 10, "titleFontSize": 11, "titleFontWeight": "normal"},
    "legend": {"labelFontSize": 10, "titleFontSize": 11, "orient": "top"},
    "view": {"stroke": None},
}
EMBED_OPTIONS = {"renderer": "svg", "actions": False}

RENDER_SCRIPT = """
(function () {
  "use strict";
  var opts = %s;
  var charts = Array.prototype.slice.call(document.querySelectorAll("div.chart[data-spec]"));
  window.sparsesimChartsReady = Promise.all(charts.map(function (el) {
    var spec = JSON.parse(document.getElementById(el.getAttribute("data-spec")).textContent);
    return vegaEmbed(el, spec, opts).catch(function (err) {
      el.textContent = "chart " + el.id + " failed to render: " + err;
      console.error("chart " + el.id + ": " + err);
    });
  }));
})();
"""


@contextmanager
def building() -> Iterator[None]:
    """Build charts without Altair validating every object as it is made (Altair's "debug mode", which
    costs about a second per report)."""
    from altair.utils.schemapi import debug_mode

    with debug_mode(False):
        yield


def scale(colors: dict[str, str], domain: list[str]) -> dict[str, Any]:
    """An Altair-ready colour scale: `domain` in that order, each with its colour in `colors`."""
    from .charts import PALETTE

    rng = [colors.get(d, PALETTE[i % len(PALETTE)]) for i, d in enumerate(domain)]
    return {"domain": domain, "range": rng}


def spec(chart: Any, *, validate: bool = False) -> dict[str, Any]:
    """The Vega-Lite spec of an Altair chart, with the page's style. Validating against Vega-Lite's schema
    costs about half a second per report, so it is left to the tests (tests/report/test_report.py validates
    every chart the reports draw) and to the browser, which reports a spec it cannot render."""
    d = chart.to_dict(validate=validate)
    d.setdefault("config", {})
    d["config"] = {**d["config"], **CONFIG}
    return d


def _json_block(obj: Any) -> str:
    # No '<' at all inside the element (as \u003c, still the same JSON): '</script' cannot end it early and
    # '<!--' cannot start a comment in it.
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")


def embed(chart: Any, chart_id: str) -> str:
    """A chart's placeholder and its spec as a JSON block (rendered by `script()` when the page loads)."""
    d = spec(chart)
    title = d.get("title")
    title = title.get("text") if isinstance(title, dict) else title
    named = f' data-title="{escape(str(title))}"' if title else ""
    return (
        f'<div class="chart" id="{escape(chart_id)}" data-spec="{escape(chart_id)}-spec"{named}></div>'
        f'<script type="application/json" id="{escape(chart_id)}-spec">{_json_block(d)}</script>'
    )


@cache
def bundle() -> str:
    """The Vega/Vega-Lite/Vega-Embed bundle (about 0.9 MB of JavaScript)."""
    return (resources.files(__package__) / "vendor" / "vega-bundle.js").read_text(encoding="utf-8")


def script() -> str:
    """The scripts a page with charts ends with: the libraries, then the renderer."""
    return f"<script>{bundle()}</script>\n<script>{RENDER_SCRIPT % json.dumps(EMBED_OPTIONS)}</script>"


def to_svg(chart: Any) -> str:
    """A static SVG of the chart (vl-convert renders Vega offline; text stays text)."""
    import altair as alt
    import vl_convert as vlc

    vl_version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])  # the Vega-Lite Altair writes
    return vlc.vegalite_to_svg(spec(chart), vl_version=vl_version)
