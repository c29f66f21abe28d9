"""Reports of a run: summary.md and report.html beside ops.csv and summary.json (results contract).

Reports only read a `RunResult` (the per-op table, the summary, the timeline, the dense baseline); they never
recompute simulation quantities.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..results import RunResult

REPORT_FILES = ("summary.md", "report.html")


def write_reports(result: RunResult, folder: str | Path) -> list[Path]:
    """Write summary.md and report.html into `folder` (which must exist).

    `sparsesim run` calls this inside `io.atomic_dir`, so an error or Ctrl-C here leaves no output folder.
    When the folder already holds the run's workload.yaml, report.html shows it.
    """
    from .html import report_html
    from .markdown import summary_markdown

    folder = Path(folder)
    md = folder / "summary.md"
    md.write_text(summary_markdown(result), encoding="utf-8")
    workload = folder / "workload.yaml"  # the resolved workload, written beside the report by `run`
    workload_yaml = workload.read_text(encoding="utf-8") if workload.is_file() else None
    page = folder / "report.html"
    page.write_text(report_html(result, workload_yaml), encoding="utf-8")
    return [md, page]


__all__ = ["REPORT_FILES", "write_reports"]
