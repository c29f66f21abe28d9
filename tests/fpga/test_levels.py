"""sparsesim.fpga.levels on hand-written netlists in Yosys's `write_json` form (no Yosys needed): which
cells count, where paths start and end, black boxes, the limit per clock, and how cell and rest combine."""

from __future__ import annotations

from sparsesim.fpga import levels

IN, OUT = "input", "output"


def _cell(ctype, conns, dirs, params=None):
    return {"type": ctype, "connections": conns, "port_directions": dirs, "parameters": params or {}}


def _lut(i, o):
    return _cell("LUT2", {"I0": [i], "I1": [i], "O": [o]}, {"I0": IN, "I1": IN, "O": OUT})


def _ff(d, q):
    return _cell("FDRE", {"D": [d], "Q": [q], "C": [99]}, {"D": IN, "Q": OUT, "C": IN})


def _netlist(cells, ports):
    return {"modules": {"top": {"ports": ports, "cells": cells}}}


def test_luts_between_registers_are_counted_and_carries_are_not():
    # port a(2) -> FF(3) -> LUT(4) -> CARRY8(5) -> LUT(6) -> LUT(7) -> FF(8) -> port y
    cells = {
        "f1": _ff(2, 3),
        "l1": _lut(3, 4),
        "c1": _cell("CARRY8", {"S": [4], "CO": [5]}, {"S": IN, "CO": OUT}),
        "l2": _lut(5, 6),
        "l3": _lut(6, 7),
        "f2": _ff(7, 8),
        "short": _lut(3, 9),  # a one-LUT path to the output port
    }
    ports = {"a": {"direction": IN, "bits": [2]}, "y": {"direction": OUT, "bits": [8]},
             "z": {"direction": OUT, "bits": [9]}}  # fmt: skip
    got = levels.analyse(_netlist(cells, ports), "top")
    assert got["paths"]["reg_to_reg"] == {"lut": 3, "cells": 4}
    assert got["paths"]["reg_to_out"]["lut"] == 1
    assert got["paths"]["in_to_reg"]["lut"] == 0
    assert got["lut"] == 3 and got["combinational_loop"] is False


def test_black_boxes_and_bare_dsps():
    cells = {
        "f1": _ff(2, 3),
        "l1": _lut(3, 4),
        "pe": _cell("sparse_array_cell", {"i_x": [4], "o_y": [5]}, {"i_x": IN, "o_y": OUT}),
        "l2": _lut(5, 6),
        "l3": _lut(6, 7),
        "f2": _ff(7, 8),
        "dsp": _cell("DSP48E2", {"A": [3], "P": [10]}, {"A": IN, "P": OUT}, {"MREG": "0", "PREG": "0"}),
        "dsp2": _cell("DSP48E2", {"A": [3], "P": [11]}, {"A": IN, "P": OUT}, {"MREG": "1"}),
    }
    got = levels.analyse(_netlist(cells, {}), "top", blackboxes=("sparse_array_cell",))
    assert got["paths"]["reg_to_bb_in"]["lut"] == 1
    assert got["paths"]["bb_out_to_reg"]["lut"] == 2
    assert got["paths"]["reg_to_reg"]["lut"] == 0  # FF -> DSP only: the black box cuts the LUT paths
    assert got["dsp_without_registers"] == 1


def test_a_combinational_loop_is_reported():
    cells = {"l1": _lut(3, 4), "l2": _lut(4, 3)}
    assert levels.analyse(_netlist(cells, {}), "top")["combinational_loop"] is True


def test_limit_per_clock_and_the_combination():
    # (period - 1 ns) / 0.5 ns: 200 MHz -> 8, 125 MHz -> 14, 250 MHz -> 6
    assert [levels.lut_level_limit(f) for f in (200.0, 125.0, 250.0)] == [8, 14, 6]
    cell = {"paths": {"reg_to_reg": {"lut": 5}, "in_to_reg": {"lut": 3}, "reg_to_out": {"lut": 1}}}
    rest = {"paths": {"reg_to_reg": {"lut": 4}, "reg_to_bb_in": {"lut": 6}, "bb_out_to_reg": {"lut": 2}}}
    got = levels.combine(cell, rest, clock_mhz=200.0)
    assert (got["cell"], got["rest"], got["across_cell_boundary"]) == (5, 4, 9)
    assert got["worst"] == 9 and got["limit"] == 8 and got["within_limit"] is False


def test_paths_across_the_cell_are_joined_at_the_pins_wired_together():
    """The cell's deep input (`a`, 5 LUTs to a register) is driven straight from a register in the rest; the
    rest's deep path (4 LUTs) ends at the cell's shallow input `b`. Joined pin by pin the crossing is 5; the
    bound without pins (every path in with every path inside) would be 9."""
    cell_cells = {f"l{i}": _lut(10 + i, 11 + i) for i in range(5)} | {"f": _ff(15, 16), "fb": _ff(20, 21)}
    cell_ports = {"a": {"direction": IN, "bits": [10]}, "b": {"direction": IN, "bits": [20]}}
    cell = levels.analyse(_netlist(cell_cells, cell_ports), "top")
    assert cell["by_port"]["in_to_reg"] == {"a": 5, "b": 0}
    bb = {"a": IN, "b": IN}
    rest_cells = {
        "f1": _ff(2, 3),
        "pe": _cell("sparse_array_cell", {"a": [3], "b": [8]}, bb),
        **{f"l{i}": _lut(4 + i, 5 + i) for i in range(4)},
        "f2": _ff(30, 4),
    }
    rest = levels.analyse(_netlist(rest_cells, {}), "top", blackboxes=("sparse_array_cell",))
    assert rest["by_port"]["reg_to_bb_in"] == {"a": 0, "b": 4}
    got = levels.combine(cell, rest, clock_mhz=200.0)
    assert got["across_cell_boundary"] == 5 and got["within_limit"] is True
    bound = levels.combine({"paths": cell["paths"]}, {"paths": rest["paths"]}, clock_mhz=200.0)
    assert bound["across_cell_boundary"] == 9


def test_the_deepest_path_is_named_cell_by_cell():
    """`deepest` names each kind's worst path: the start and end registers by the nets they drive, the
    LUTs between by theirs (Yosys's `$` names left out); `combine` carries the parts' and the crossing's."""
    # ctl.q (FF) -> l0 -> l1 -> l2 -> ctl.busy (FF); a shorter path ctl.q -> s0 -> ctl.other
    cells = {
        "$auto$ff1": _ff(2, 3),
        **{f"$abc$l{i}": _lut(3 + i, 4 + i) for i in range(3)},
        "$auto$ff2": _ff(6, 7),
        "$abc$s0": _lut(3, 8),
        "$auto$ff3": _ff(8, 9),
        "pe": _cell("sparse_array_cell", {"tok_in": [5], "tok_out": [10]}, {"tok_in": IN, "tok_out": OUT}),
        "$abc$t0": _lut(10, 11),
        "$auto$ff4": _ff(11, 12),
    }
    netnames = {
        "ctl.q": {"bits": [3], "hide_name": 0},
        "ctl.mid": {"bits": [4, 5], "hide_name": 0},
        "$abc$x": {"bits": [6], "hide_name": 1},
        "ctl.busy": {"bits": [7], "hide_name": 0},
        "scan.row": {"bits": [12], "hide_name": 0},
    }
    mod = {"ports": {}, "cells": cells, "netnames": netnames}
    got = levels.analyse({"modules": {"top": mod}}, "top", blackboxes=("sparse_array_cell",))
    deep = got["deepest"]["reg_to_reg"]
    assert deep == {"lut": 3, "start": "ctl.q (FDRE)", "end": "ctl.busy (FDRE)",
                    "through": ["ctl.mid[0] (LUT2)", "ctl.mid[1] (LUT2)", "$abc$l2 (LUT2)"]}  # fmt: skip
    assert got["deepest"]["reg_to_bb_in"]["end"] == "pe.tok_in"
    assert got["by_port_ends"]["bb_out_to_reg"]["tok_out"] == ["pe.tok_out", "scan.row (FDRE)"]
    cell_cells = {"f": _ff(20, 21), "l": _lut(21, 22), "g": _ff(22, 23), "h": _lut(30, 31), "k": _ff(31, 32)}
    cell_mod = {"ports": {"tok_in": {"direction": IN, "bits": [30]}}, "cells": cell_cells,
                "netnames": {"x": {"bits": [21], "hide_name": 0}, "y": {"bits": [23], "hide_name": 0}}}  # fmt: skip
    cell = levels.analyse({"modules": {"top": cell_mod}}, "top")
    comb = levels.combine(cell, got, clock_mhz=200.0)
    assert comb["deepest"]["rest"]["end"] == "ctl.busy (FDRE)"
    assert comb["deepest"]["cell"]["start"] == "x (FDRE)" and comb["deepest"]["cell"]["end"] == "y (FDRE)"
    across = comb["deepest"]["across_cell_boundary"]
    assert across["lut"] == comb["across_cell_boundary"] == 3  # ctl.q -> 2 LUTs -> tok_in -> 1 LUT -> k
    legs = [(v["part"], v["pins"], v["lut"]) for v in across["via"]]
    assert legs == [("rest", "tok_in", 2), ("cell", "tok_in", 1)]
    assert across["via"][0]["ends"] == ["ctl.q (FDRE)", "pe.tok_in"]
    # the build's depth line and refusal name the worst part's path
    from sparsesim.fpga.estimate import worst_path_text

    assert worst_path_text(comb) == "rest, ctl.q (FDRE) -> ctl.busy (FDRE)"
    assert worst_path_text({**comb, "rest": 1, "worst": 3, "cell": 1}) == (
        "across the cell boundary, rest ctl.q (FDRE) -> pe.tok_in (2), then cell port tok_in -> k (FDRE) (1)"
    )
