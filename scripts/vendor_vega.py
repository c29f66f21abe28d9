"""Write sparsesim/report/vendor/vega-bundle.js: Vega, Vega-Lite and Vega-Embed as one script (their
dependencies included), which report.html and pareto.html inline so that their charts render offline.

The bundle is vl-convert-python's (`vl_convert.javascript_bundle`, which ships the libraries and bundles them
locally, no network). It is generated once and kept in the package because bundling takes about 2 s per
process, which every `sparsesim run` would otherwise pay. The Vega-Lite version is the one the installed
Altair writes specs for (tests/report/test_report.py checks that the two agree).

    .venv/bin/python scripts/vendor_vega.py          # after upgrading altair or vl-convert-python
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import vl_convert as vlc

OUT = Path(__file__).resolve().parents[1] / "sparsesim" / "report" / "vendor" / "vega-bundle.js"


def vegalite_minor(schema_version: str) -> str:
    """'v6.4.1' -> '6.4' (vl-convert selects Vega-Lite by major.minor)."""
    return ".".join(schema_version.lstrip("v").split(".")[:2])


def main() -> None:
    vl = vegalite_minor(alt.SCHEMA_VERSION)
    header = (
        f"/* vega-bundle: Vega {vlc.get_vega_version()}, Vega-Lite {vl}, "
        f"Vega-Embed {vlc.get_vega_embed_version()}"
        f" (defines window.vegaEmbed, window.vega, window.vegaLite), bundled by vl-convert-python "
        f"{vlc.__version__} for Altair {alt.__version__} by scripts/vendor_vega.py. Vega, Vega-Lite and "
        "Vega-Embed: Copyright (c) the University of Washington Interactive Data Lab, BSD-3-Clause licence; "
        "they bundle d3 modules (Copyright Mike Bostock, ISC licence) and other MIT/ISC/BSD-licensed "
        "modules. */\n"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(header + vlc.javascript_bundle(vl_version=vl) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
