"""The summary is declared once (sparsesim.summary): the keys that readers name by string (report fields, sweep
sections and Pareto defaults) must be declared keys. (What the simulators write is checked against the same
declaration in tests/test_hardening_sat.py; misspelled literal keys in code are caught by the type check.)"""

from __future__ import annotations

from sparsesim.report.text import CONTEXT_KEYS, SUMMARY_FIELDS
from sparsesim.summary import column_keys, summary_keys
from sparsesim.sweep import DEFAULT_PARETO, FLATTEN, SUMMARY_COLUMNS


def test_report_fields_are_summary_keys():
    named = {key for key, _label, _fmt in SUMMARY_FIELDS} | set(CONTEXT_KEYS)
    assert named <= set(summary_keys()), sorted(named - set(summary_keys()))


def test_sweep_sections_and_pareto_defaults_are_summary_keys():
    assert set(FLATTEN) <= set(summary_keys()), sorted(set(FLATTEN) - set(summary_keys()))
    for target, (_x, y) in DEFAULT_PARETO.items():
        assert y in column_keys(target)
        assert SUMMARY_COLUMNS[target] == column_keys(target)


def test_column_keys_are_the_scalars_and_short_lists():
    sat, mobile = column_keys("sat"), column_keys("mobile")
    assert {"speedup", "nm", "note", "energy_j"} <= sat and "arch" not in sat and "threads" not in sat
    assert {"threads", "cores_used", "latency_ms"} <= mobile and "kernels" not in mobile and "nm" not in mobile
