"""Logic depth of a synthesised netlist: the longest combinational path, in LUT levels, between sequential
elements (docs/fpga.md, "Logic depth").

Input: Yosys `write_json` of the top module after `synth_xilinx` (cells are Xilinx primitives). Start and end
points are flip-flops, DSP48E2, block/ultra RAM, LUT-RAM and shift-register cells, the module's ports and the
black-box cells of a hierarchical synthesis (the PE cell seen from the rest). A path's depth counts its LUTs
("lut"); "cells" also counts CARRY8 and MUXF7/8/9 cells, the way Vivado's LOGIC_LEVELS counts every primitive
on a path. What this cannot see: placement and routing (net delay), and the DSP48E2's inner paths (a
DSP48E2 is an end point; `dsp_without_registers` counts those with no pipeline register at all, whose inner
path would chain into the fabric).

The limit (`lut_level_limit`) is our choice for an UltraScale+ -2 part: from the clock period, ~1 ns is set
aside for clock skew, the flip-flops' clock-to-out and setup, and each LUT level is budgeted ~0.5 ns with its
net (LUT delays in DS923, Virtex UltraScale+ FPGA Data Sheet: DC and AC Switching Characteristics, are
~0.1-0.2 ns; nets dominate on a large, full device). 200 MHz: (5 - 1) / 0.5 = 8 levels; 125 MHz: 14.
Xilinx UG949 (UltraFast Design Methodology Guide), "Datapath Delay and Logic Levels", names the number of
LUTs and other primitives on a path as the largest factor of its delay.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

MARGIN_NS = 1.0  # clock skew + clock-to-out + setup (our choice, see the module docstring)
NS_PER_LEVEL = 0.5  # one LUT and its net (our choice, see the module docstring)


def lut_level_limit(clock_mhz: float) -> int:
    """LUT levels a register-to-register path may have at `clock_mhz` (module docstring)."""
    return max(1, int((1000.0 / clock_mhz - MARGIN_NS) / NS_PER_LEVEL))

_LUTS = {f"LUT{i}" for i in range(1, 7)}
_OTHER_COMB = {"CARRY8", "CARRY4", "MUXF7", "MUXF8", "MUXF9", "INV"}
_IGNORED = {"VCC", "GND", "$scopeinfo"}


def _is_comb(cell_type: str) -> bool:
    return cell_type in _LUTS or cell_type in _OTHER_COMB


def _param_int(value: Any) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 2)
    except ValueError:
        return 0


def _top(netlist: dict, top: str) -> dict:
    modules = netlist["modules"]
    return modules[f"\\{top}"] if f"\\{top}" in modules else modules[top]


def analyse(netlist: dict, top: str, *, blackboxes: tuple[str, ...] = ()) -> dict[str, Any]:
    """Longest paths of module `top` by kind of start and end: "reg" (a sequential cell), "in"/"out" (the
    module's ports), "bb_in"/"bb_out" (a black-box cell's inputs/outputs, e.g. the PE cell in the rest).

    `by_port` has the same depths per port where a path starts or ends at one (a module port, a black-box
    pin), so `combine` can join the rest and the cell at the pins that are actually wired together.

    `deepest` names the deepest path of each kind cell by cell (`trace`): where it starts and ends (a
    register by the net its output drives, a port or a black-box pin by its name) and the cells between;
    `by_port_ends` has the start and end names of each `by_port` entry's deepest path."""
    mod = _top(netlist, top)
    cells: dict[str, dict] = mod["cells"]
    drivers: dict[int, str] = {}  # bit -> node that drives it
    sinks: dict[int, list[str]] = defaultdict(list)  # bit -> nodes that read it
    kind: dict[str, str] = {}
    weight: dict[str, tuple[int, int]] = {}  # node -> (lut, cells)
    dsp_bare = 0
    pin: dict[str, str] = {}  # port / black-box node -> the port or pin name it stands for
    ctypes: dict[str, str] = {}  # node -> its cell's type
    out_bits: dict[str, list[int]] = defaultdict(list)  # node -> the bits it drives
    for name, port in mod["ports"].items():
        node = f"port:{name}"
        for bit in port["bits"]:
            if not isinstance(bit, int):
                continue
            if port["direction"] == "input":
                drivers[bit] = node + ":in"
                kind[node + ":in"] = "in"
                pin[node + ":in"] = name
            else:
                sinks[bit].append(node + ":out")
                kind[node + ":out"] = "out"
                pin[node + ":out"] = name
    for name, cell in cells.items():
        ctype = cell["type"].lstrip("\\")
        if ctype in _IGNORED:
            continue
        dirs = cell.get("port_directions", {})
        ctypes[name] = ctypes[name + ":q"] = ctypes[name + ":d"] = ctype
        if _is_comb(ctype):
            kind[name] = "comb"
            weight[name] = (1 if ctype in _LUTS else 0, 1)
            src, dst = name, name
        else:
            bb = ctype in blackboxes
            src, dst = name + ":q", name + ":d"
            kind[src], kind[dst] = ("bb_out", "bb_in") if bb else ("reg", "reg")
            if bb:  # one node per pin: paths are told apart by the pin they leave or enter
                for pname, direction in dirs.items():
                    node = f"{name}:{'q' if direction == 'output' else 'd'}:{pname}"
                    kind[node] = "bb_out" if direction == "output" else "bb_in"
                    pin[node] = pname
            if ctype == "DSP48E2":
                regs = ("AREG", "BREG", "MREG", "PREG", "ADREG", "CREG")
                if not any(_param_int(cell["parameters"].get(r, 0)) for r in regs):
                    dsp_bare += 1
        for pname, bits in cell["connections"].items():
            direction = dirs.get(pname, "input")
            s_node, d_node = src, dst
            if kind.get(src) == "bb_out":
                s_node, d_node = f"{name}:q:{pname}", f"{name}:d:{pname}"
                kind.setdefault(s_node, "bb_out")
                kind.setdefault(d_node, "bb_in")
                pin[s_node] = pin[d_node] = pname
            for bit in bits:
                if not isinstance(bit, int):
                    continue
                if direction == "output":
                    drivers[bit] = s_node
                    out_bits[s_node].append(bit)
                else:
                    sinks[bit].append(d_node)
    # edges driver -> reader through each net bit
    succ: dict[str, set[str]] = defaultdict(set)
    indeg: dict[str, int] = defaultdict(int)
    for bit, readers in sinks.items():
        d = drivers.get(bit)
        if d is None:
            continue
        for r in readers:
            if r not in succ[d]:
                succ[d].add(r)
                indeg[r] += 1
    # best[node][(start kind, start pin)] = (lut, cells) of the deepest path from such a start to the node
    # (the pin is "" for a register start)
    best: dict[str, dict[tuple[str, str], tuple[int, int]]] = defaultdict(dict)
    pred: dict[tuple[str, tuple[str, str]], str] = {}  # (comb node, start key) -> previous node on its path
    for node, k in kind.items():
        if k in ("reg", "in", "bb_out") and node in succ:
            best[node][(k, pin.get(node, ""))] = (0, 0)
    order = deque(n for n in kind if indeg[n] == 0)
    result: dict[tuple[str, str], tuple[int, int]] = {}
    ends: dict[tuple[str, str], tuple[str, str, tuple[str, str]]] = {}  # -> (end node, last node, start key)
    port_ends: dict[tuple[str, str], tuple[str, str, tuple[str, str]]] = {}  # (kind, by_port name) -> same
    by_port: dict[str, dict[str, int]] = defaultdict(dict)  # "<start>_to_<end>" -> "<pin>" or "<a>><b>"
    while order:
        node = order.popleft()
        here = best.get(node, {})
        for nxt in succ.get(node, ()):
            nk = kind[nxt]
            for (start, spin), (lut, cnt) in here.items():
                if nk == "comb":
                    w = weight[nxt]
                    cand = (lut + w[0], cnt + w[1])
                    if cand > best[nxt].get((start, spin), (-1, -1)):
                        best[nxt][(start, spin)] = cand
                        pred[(nxt, (start, spin))] = node
                else:
                    key = (start, nk)
                    if (lut, cnt) > result.get(key, (-1, -1)):
                        result[key] = (lut, cnt)
                        ends[key] = (nxt, node, (start, spin))
                    epin = pin.get(nxt, "")
                    if spin or epin:
                        name = f"{spin}>{epin}" if spin and epin else spin or epin
                        table = by_port[f"{start}_to_{nk}"]
                        if lut > table.get(name, -1):
                            table[name] = lut
                            port_ends[(f"{start}_to_{nk}", name)] = (nxt, node, (start, spin))
            indeg[nxt] -= 1
            if indeg[nxt] == 0 and kind[nxt] == "comb":
                order.append(nxt)
    loop = any(k == "comb" and indeg[n] > 0 for n, k in kind.items())
    bitname = _bit_names(mod)

    def label(node: str) -> str:
        """A node by name: a port or black-box pin by its name, any other cell by the net it drives."""
        if kind[node] in ("in", "out"):
            return f"port {pin[node]}"
        if kind[node] in ("bb_in", "bb_out") and node in pin:
            return f"{node.split(':')[0]}.{pin[node]}"
        cell = node.rsplit(":", 1)[0] if node.endswith((":q", ":d")) else node
        src = cell + ":q" if cell + ":q" in out_bits else cell
        nets = [bitname[b] for b in out_bits.get(src, []) if b in bitname]
        return f"{nets[0] if nets else cell} ({ctypes.get(node, '?')})"

    def trace(end: str, last: str, skey: tuple[str, str]) -> dict[str, Any]:
        chain = []
        node = last
        while kind[node] == "comb":
            chain.append(node)
            node = pred[(node, skey)]
        return {"start": label(node), "end": label(end), "through": [label(n) for n in reversed(chain)]}

    deepest = {f"{s}_to_{e}": {"lut": result[(s, e)][0]} | trace(*v) for (s, e), v in sorted(ends.items())}
    ends_by_port: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for (pkind, name), (end, last, skey) in sorted(port_ends.items()):
        t = trace(end, last, skey)
        ends_by_port[pkind][name] = [t["start"], t["end"]]
    paths = {f"{s}_to_{e}": {"lut": v[0], "cells": v[1]} for (s, e), v in sorted(result.items())}
    worst = max((v[0] for v in result.values()), default=0)
    return {
        "paths": paths,
        "by_port": {k: dict(sorted(v.items())) for k, v in sorted(by_port.items())},
        "lut": worst,
        "deepest": deepest,
        "by_port_ends": dict(ends_by_port),
        "dsp_without_registers": dsp_bare,
        "combinational_loop": loop,
    }


def _bit_names(mod: dict) -> dict[int, str]:
    """bit -> "net[i]" for the module's named nets (Yosys's own `$...` names left out; the first name a bit
    has wins, in the order `write_json` lists them)."""
    out: dict[int, str] = {}
    for name, net in mod.get("netnames", {}).items():
        if name.startswith("$") or net.get("hide_name"):
            continue
        bits = net["bits"]
        for i, b in enumerate(bits):
            if isinstance(b, int):
                out.setdefault(b, f"{name}[{i}]" if len(bits) > 1 else name)
    return out


def analyse_file(path: Path, top: str, *, blackboxes: tuple[str, ...] = ()) -> dict[str, Any]:
    return analyse(json.loads(Path(path).read_text()), top, blackboxes=blackboxes)


def _lut(levels: dict, key: str) -> int:
    return int(levels["paths"].get(key, {}).get("lut", 0))


def _verdict(worst: int, clock_mhz: float) -> dict[str, Any]:
    limit = lut_level_limit(clock_mhz)
    return {
        "worst": worst,
        "limit": limit,
        "limit_mhz": clock_mhz,
        "within_limit": worst <= limit,
        "unit": "LUTs on the longest register-to-register path (CARRY/MUXF cells not counted; levels.py)",
    }


def single(top: dict, *, clock_mhz: float) -> dict[str, Any]:
    """The depth of a flat synthesis."""
    return _verdict(int(top.get("lut", 0)), clock_mhz) | {
        "dsp_without_registers": int(top.get("dsp_without_registers", 0)),
        "deepest": {"top": _deepest(top)},
    }


def _pin_table(levels: dict, *keys: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for key in keys:
        for name, lut in levels.get("by_port", {}).get(key, {}).items():
            out[name] = max(out.get(name, -1), int(lut))
    return out


def _ends(levels: dict, kinds: tuple[str, ...], name: str) -> list[str]:
    """[start, end] of the deepest `by_port` path of `kinds` at `name` (empty from an older analysis)."""
    table = levels.get("by_port", {})
    best = max((k for k in kinds if name in table.get(k, {})), key=lambda k: table[k][name], default=None)
    return list(levels.get("by_port_ends", {}).get(best, {}).get(name, [])) if best else []


def _across_by_pin(cell: dict, rest: dict) -> tuple[int, dict[str, Any]]:
    """Paths across the cell boundary joined pin by pin: the rest's path into cell input p continues only
    through the cell's paths from p (and out of output q only into the rest's paths from q). Returns the
    depth and the deepest crossing's pieces (`via`: the pins, each piece's depth and [start, end] names)."""
    into = _pin_table(rest, "reg_to_bb_in", "in_to_bb_in")  # cell input pin -> depth in the rest
    out_of = _pin_table(rest, "bb_out_to_reg", "bb_out_to_out")  # cell output pin -> depth in the rest
    through = _pin_table(rest, "bb_out_to_bb_in")  # "q>p": cell output q -> rest -> cell input p
    c_in = _pin_table(cell, "in_to_reg")  # cell input port -> depth to a register in the cell
    c_out = _pin_table(cell, "reg_to_out")  # cell output port -> depth from a register in the cell
    c_thru = _pin_table(cell, "in_to_out")  # "p>q" inside the cell
    r_in, r_out = ("reg_to_bb_in", "in_to_bb_in"), ("bb_out_to_reg", "bb_out_to_out")

    def piece(part: str, levels: dict, kinds: tuple[str, ...], name: str, lut: int) -> dict[str, Any]:
        return {"part": part, "pins": name, "lut": lut, "ends": _ends(levels, kinds, name)}

    cands: list[tuple[int, list[dict[str, Any]]]] = [(0, [])]
    for p, d in into.items():
        if p in c_in:
            cands.append((d + c_in[p], [piece("rest", rest, r_in, p, d),
                                        piece("cell", cell, ("in_to_reg",), p, c_in[p])]))  # fmt: skip
    for q, d in out_of.items():
        if q in c_out:
            cands.append((c_out[q] + d, [piece("cell", cell, ("reg_to_out",), q, c_out[q]),
                                         piece("rest", rest, r_out, q, d)]))  # fmt: skip
    for pq, d in c_thru.items():
        p, q = pq.split(">")
        if p in into and q in out_of:
            cands.append((into[p] + d + out_of[q], [piece("rest", rest, r_in, p, into[p]),
                                                    piece("cell", cell, ("in_to_out",), pq, d),
                                                    piece("rest", rest, r_out, q, out_of[q])]))  # fmt: skip
    for qp, d in through.items():
        q, p = qp.split(">")
        if q in c_out and p in c_in:
            cands.append((c_out[q] + d + c_in[p], [
                piece("cell", cell, ("reg_to_out",), q, c_out[q]),
                piece("rest", rest, ("bb_out_to_bb_in",), qp, d),
                piece("cell", cell, ("in_to_reg",), p, c_in[p])]))  # fmt: skip
    depth, via = max(cands, key=lambda c: c[0])
    return depth, {"lut": depth, "via": via}


def _deepest(levels: dict) -> dict[str, Any]:
    """The deepest register-to-register path of one part, by name (`analyse`'s `deepest`; {} if older)."""
    return dict(levels.get("deepest", {}).get("reg_to_reg", {}))


def combine(cell: dict, rest: dict, *, clock_mhz: float) -> dict[str, Any]:
    """The board core's depth from the hierarchical parts: paths inside the cell, inside the rest, and those
    that cross the cell's boundary (rest -> cell input -> ... and ... -> cell output -> rest). With the
    per-pin depths of `analyse` (`by_port`) the crossing paths are joined at the pins wired together;
    without them (an older analysis) every path into the cell is joined with every path inside it, an upper
    bound."""
    across_path: dict[str, Any] = {}
    if "by_port" in cell and "by_port" in rest:
        across, across_path = _across_by_pin(cell, rest)
    else:
        into = max(_lut(rest, "reg_to_bb_in"), _lut(rest, "in_to_bb_in"))
        out_of = max(_lut(rest, "bb_out_to_reg"), _lut(rest, "bb_out_to_out"))
        across = max(
            into + _lut(cell, "in_to_reg"),
            _lut(cell, "reg_to_out") + out_of,
            into + _lut(cell, "in_to_out") + out_of,
            _lut(rest, "bb_out_to_bb_in") + max(_lut(cell, "reg_to_out"), 0) + _lut(cell, "in_to_reg"),
        )
    worst = max(_lut(cell, "reg_to_reg"), _lut(rest, "reg_to_reg"), across)
    return {
        "cell": _lut(cell, "reg_to_reg"),
        "rest": _lut(rest, "reg_to_reg"),
        "across_cell_boundary": across,
        "deepest": {"cell": _deepest(cell), "rest": _deepest(rest), "across_cell_boundary": across_path},
        "dsp_without_registers": {
            "cell": int(cell.get("dsp_without_registers", 0)),
            "rest": int(rest.get("dsp_without_registers", 0)),
        },
    } | _verdict(worst, clock_mhz)
