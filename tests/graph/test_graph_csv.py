"""`sparsesim graph` CSV: the run's ops.csv column names first, integers written as integers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sparsesim.cli import main
from sparsesim.results import OPS_COLUMNS

ROOT = Path(__file__).resolve().parents[2]


def test_graph_csv_names_columns_as_ops_csv_and_writes_integers(capsys, tmp_path):
    out = tmp_path / "ops.csv"
    assert main(["graph", str(ROOT / "workloads" / "tiny-cnn-nm-2of4.yaml"), "-q", "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    header = list(rows[0])
    shared = [c for c in OPS_COLUMNS if c in header]
    assert header[: len(shared)] == shared and header[:4] == ["op", "layer", "pass", "kind"]
    assert "name" not in header
    gemms = [r for r in rows if r["kind"] == "gemm"]
    assert gemms and all(r["op"].startswith(r["layer"]) for r in rows)
    for col in ("m", "n", "k", "repeat", "macs", "elements"):
        assert all(r[col] == "" or r[col].isdigit() for r in rows), col  # "16", never "16.0"
    # the integers are the GEMM's: macs = m * n * k * repeat (densities are the only fractions)
    assert all(int(r["macs"]) == int(r["m"]) * int(r["n"]) * int(r["k"]) * int(r["repeat"]) for r in gemms)
