"""The op engine's host-side pieces without a simulator: the AXI scoreboard reports each kind of protocol
violation (so the AxiRam bench can fail), its stage measurements disagree with the simulator's stages when
they should, and the descriptor packing refuses what does not fit."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rtl_opengine import axi_scoreboard, measured_stages, stage_mismatches
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.opengine.descriptor import DATA_BYTES, descriptor_layout, pack_descriptor

from sparsesim.sat.arch import resolve

CFG = ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16")


def _run(weights: int, acts: int, results: int):
    return SimpleNamespace(label=lambda: "op", beats={"rd_w": weights, "rd_a": acts, "wr": results})


SIZE = DATA_BYTES.bit_length() - 1  # AxSIZE of a full-width beat


def _burst(port, addr, beats, size=SIZE, burst=1):
    return {"port": port, "addr": addr, "len": beats - 1, "size": size, "burst": burst}


def _board(bursts, w_beats, run):
    rep = {"bursts": bursts, "w_beats": w_beats, "results": []}
    return axi_scoreboard(CFG, [run], [], rep, 0, run.beats)


def _w(n):
    return [{"last": int(i == n - 1), "strb": (1 << DATA_BYTES) - 1} for i in range(n)]


def test_clean_traffic_passes():
    run = _run(4, 8, 2)
    b = [_burst("rd_w", 0, 4), _burst("rd_a", 4096 - 2 * DATA_BYTES, 2), _burst("rd_a", 4096, 6),
         _burst("wr", 8192, 2)]  # fmt: skip
    board = _board(b, _w(2), run)
    assert board["errors"] == []
    assert board["boundary_cuts"] == 1


@pytest.mark.parametrize(
    "bursts, w_beats, what",
    [
        ([_burst("rd_w", 0, 4), _burst("rd_a", 4096 - 128, 8), _burst("wr", 8192, 2)], _w(2), "4 KiB"),
        ([_burst("rd_w", 32, 4), _burst("rd_a", 4096, 8), _burst("wr", 8192, 2)], _w(2), "aligned"),
        ([_burst("rd_w", 0, 4, size=SIZE - 1), _burst("rd_a", 4096, 8), _burst("wr", 8192, 2)], _w(2), "size"),
        ([_burst("rd_w", 0, 4, burst=0), _burst("rd_a", 4096, 8), _burst("wr", 8192, 2)], _w(2), "burst type"),
        ([_burst("rd_w", 0, 4), _burst("rd_a", 4096, 8), _burst("wr", 8192, 2)], _w(1) + _w(1), "WLAST"),
        ([_burst("rd_w", 0, 4), _burst("rd_a", 4096, 7), _burst("wr", 8192, 2)], _w(2), "beats per port"),
        ([_burst("rd_w", 0, 4), _burst("rd_a", 4096, 8), _burst("wr", 8192, 2)], _w(3), "W beats"),
    ],
)
def test_each_violation_is_reported(bursts, w_beats, what):
    errors = _board(bursts, w_beats, _run(4, 8, 2))["errors"]
    assert any(what in e for e in errors), errors


def test_stage_measurement_and_its_check():
    """Issue = first read address valid - start cycle, response = op end - last write response; compared
    with the preset's op_issue_cycles / op_response_cycles, a cycle off either way is reported."""
    run = SimpleNamespace(
        label=lambda: "op", mapping=SimpleNamespace(dataflow="ws", mode=SimpleNamespace(interleave=True))
    )
    arch = resolve()
    ops = {"op": {"started_at": 100, "op_cycles": 500}}
    for d_issue, d_resp in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
        seen = {
            "start": 100,
            "ar": 100 + arch.op_issue_cycles + d_issue,
            "b": 600 - arch.op_response_cycles - d_resp,
        }
        stages = measured_stages([run], {"ops": ops, "stages": [seen]})
        assert stages == {
            "op": {"issue": arch.op_issue_cycles + d_issue, "response": arch.op_response_cycles + d_resp}
        }
        assert bool(stage_mismatches(CFG, [run], stages)) == (d_issue != 0 or d_resp != 0)
    assert stage_mismatches(CFG, [run], {}) == ["op: stages not measured"]


def test_descriptor_packing_checks_fields():
    names = [name for name, _ in descriptor_layout(CFG)]
    fields = dict.fromkeys(names, 0)
    assert pack_descriptor(CFG, **fields) == 0
    with pytest.raises(ValueError, match="does not fit"):
        pack_descriptor(CFG, **(fields | {"m": 1 << 16}))
    with pytest.raises(ValueError, match="missing"):
        pack_descriptor(CFG, **{k: v for k, v in fields.items() if k != "k"})
    lay = descriptor_layout(CFG)
    assert pack_descriptor(CFG, **(fields | {"k": 5})) == 5 << lay["k"].offset
