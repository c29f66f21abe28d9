"""Seeded weights drawn on first read (models._init.deferred_init, graph.weights.Weights): a simulation of
an N:M workload never draws them, and whatever reads them sees exactly the weights drawn eagerly."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from sparsesim.pipeline import build_layer_graph, prepare
from sparsesim.spec import workload_from_dict

BASE = {"model": "tiny_cnn", "task": {"mode": "train", "batch_size": 8}, "target": "sat"}
BDWP = {**BASE, "sparsity": {"pattern": "bdwp", "n": 2, "m": 8}}


def _eager(spec: dict) -> dict[str, np.ndarray]:
    graph = build_layer_graph(workload_from_dict(dict(spec)))  # drawn at build, as before
    assert not graph.weights.pending
    return {name: graph.weights[name].copy() for name in graph.weights}


def test_a_simulation_leaves_the_weights_undrawn_and_a_reader_gets_the_eager_ones():
    from sparsesim.sat.simulate import run_workload

    wl = workload_from_dict(dict(BDWP))
    prepared = prepare(wl)
    assert prepared.graph.weights.pending  # shapes, densities and sizes came without the values
    result = run_workload(wl, prepared=prepared)
    # a whole run (its sparse and dense schedules; on the preset's array the tiny CNN's 2:8 ops wait for the
    # activation port, so it is no faster than dense: tests/sat/test_simulate.py) leaves them undrawn
    s = result.summary
    assert s["total_cycles"] > 0 and s["dense_total_cycles"] > 0 and prepared.graph.weights.pending
    eager = _eager(BDWP)
    # the masks, computed on first read, draw the weights first: the eager masks on the eager weights
    from sparsesim.sparsity import bdwp_masks

    layer = next(lp for lp in prepared.prune.layers if lp.pattern == "bdwp")
    ff, bp = bdwp_masks(eager[layer.name], 2, 8)
    np.testing.assert_array_equal(layer.ff_mask, ff)
    np.testing.assert_array_equal(layer.bp_mask, bp)
    assert not prepared.graph.weights.pending
    for name, w in eager.items():
        np.testing.assert_array_equal(prepared.graph.weights[name], w)
        np.testing.assert_array_equal(prepared.prune.weights[name], w)


@pytest.mark.parametrize("read", ["getitem", "values", "pickle", "deepcopy", "prune.weights", "records"])
def test_every_way_of_reading_draws_first(read):
    eager = _eager(BDWP)
    prepared = prepare(workload_from_dict(dict(BDWP)))
    weights = prepared.graph.weights
    assert weights.pending
    if read == "records":  # shapes only: nothing drawn
        records = prepared.prune.to_records()
        assert [r["shape"] for r in records] == [tuple(w.shape) for w in eager.values()]
        assert weights.pending
        return
    got = {
        "getitem": lambda: {n: weights[n] for n in weights},
        "values": lambda: dict(zip(weights, weights.values())),
        "pickle": lambda: dict(pickle.loads(pickle.dumps(weights))),
        "deepcopy": lambda: dict(copy.deepcopy(weights)),
        "prune.weights": lambda: dict(prepared.prune.weights),
    }[read]()
    assert got.keys() == eager.keys()
    for name, w in eager.items():
        np.testing.assert_array_equal(got[name], w)


def test_patterns_whose_masks_read_values_draw_at_pruning():
    spec = {**BASE, "target": "mobile", "sparsity": {"pattern": "block", "sparsity": 0.5, "block_size": 1}}
    prepared = prepare(workload_from_dict(spec))
    assert not prepared.graph.weights.pending
    eager = _eager(spec)
    for name, w in eager.items():
        np.testing.assert_array_equal(prepared.graph.weights[name], w)
