"""The SAT target's bound and its summary columns, checked from first principles (not from the code under
test): the ideal speedup is recomputed from the OpGraph and the array's parameters."""

from __future__ import annotations

import numpy as np
import pytest

from sparsesim.pipeline import prepare
from sparsesim.sat.arch import resolve
from sparsesim.sat.simulate import run_workload
from sparsesim.spec import workload_from_dict
from sparsesim.summary import summary_keys
from sparsesim.sweep import SUMMARY_COLUMNS, flat_metrics


def _gemm_cycles(ops, elements_per_pe_beat) -> float:
    """Sum of every GEMM's MACs / (reduction elements per PE per beat); the array size cancels in ratios."""
    return sum(op.macs / elements_per_pe_beat(op) for op in ops.ops() if op.kind == "gemm")


@pytest.mark.parametrize("n,m", [(2, 4), (1, 8)])
def test_ideal_speedup_is_the_gemm_bound_with_dense_layers_and_the_arrays_rate(n, m):
    wl = workload_from_dict(
        {"model": "tiny_cnn", "sparsity": {"pattern": "nm", "n": n, "m": m}, "target": "sat",
         "task": {"batch_size": 8}}
    )  # fmt: skip
    p = resolve(wl.accelerator).multipliers_per_pe  # a dense beat covers P reduction elements per PE
    sparse_ops = prepare(wl).ops
    dense_ops = prepare(wl, dense=True).ops
    # A PE in N:M mode takes one group of M activations per beat (docs/pe_array.md), whatever N is.
    want = _gemm_cycles(dense_ops, lambda op: p) / _gemm_cycles(
        sparse_ops, lambda op: op.nm[1] if op.nm else p
    )
    s = run_workload(wl).summary
    assert s["ideal_speedup"] == pytest.approx(want, rel=1e-9)
    assert s["speedup"] <= s["ideal_speedup"] + 1e-9
    # with P = 2, 1:8 runs at 8/2 = 4x per sparse GEMM, not M/N = 8x: the textbook formula overstates it
    assert s["ideal_speedup"] < s["nm_formula_speedup"]
    assert s["note"].startswith(f"{sum(1 for r in prepare(wl).prune.to_records() if r['pattern'] == 'dense')} ")


def test_dense_run_has_bound_one_and_no_note():
    wl = workload_from_dict({"model": "tiny_mlp", "sparsity": "dense", "target": "sat"})
    s = run_workload(wl).summary
    assert s["ideal_speedup"] == 1.0 and s["speedup"] == 1.0 and s["note"] == ""


@pytest.mark.parametrize(
    "spec,ablate",
    [
        ({"model": "tiny_mlp", "sparsity": {"pattern": "nm", "n": 2, "m": 4}, "target": "sat"}, True),
        ({"model": "tiny_mlp", "sparsity": {"pattern": "bdwp", "n": 2, "m": 8}, "target": "sat",
          "task": {"mode": "infer"}}, False),
        ({"model": "tiny_cnn", "sparsity": {"pattern": "block", "sparsity": 0.8}, "target": "mobile"}, True),
    ],
)  # fmt: skip
def test_sweep_knows_every_summary_column_before_running(spec, ablate):
    """SUMMARY_COLUMNS lets a sweep reject an unknown pareto column before any point runs; it must list
    every scalar a run really produces."""
    from sparsesim.targets import simulate

    wl = workload_from_dict(spec)
    summary = simulate(wl, ablate=ablate).summary
    scalars = {k for k in flat_metrics(summary) if "." not in k}
    assert scalars <= SUMMARY_COLUMNS[wl.target], sorted(scalars - SUMMARY_COLUMNS[wl.target])
    # every key the run wrote is declared for its target (sparsesim.summary), with a value of its declared type
    declared = summary_keys(wl.target)
    assert set(summary) <= set(declared), sorted(set(summary) - set(declared))
    wrong = {k: type(v).__name__ for k, v in summary.items() if not conforms(v, declared[k])}
    assert not wrong, wrong


def conforms(value, hint) -> bool:
    """Whether `value` is of the declared type `hint` (int counts as float; NaN and None as declared)."""
    import types
    import typing
    from collections.abc import Mapping

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any:
        return True
    if origin is types.UnionType:
        return any(conforms(value, a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if origin is Mapping:
        return isinstance(value, Mapping) and all(
            conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items()
        )
    if hint is float:
        return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int | np.integer) and not isinstance(value, bool)
    if hint is type(None):
        return value is None
    return isinstance(value, hint)
