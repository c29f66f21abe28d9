"""`sparsesim energy FILE`: simulate the workload and print its energy table: every action with its energy per
action, its count in the run, the energy it adds up to and the source of the value. Writes nothing."""

from __future__ import annotations

import argparse
import json
import sys

from . import AddCommand, ConsoleLike, add_no_cache, cache_arg


def register(add: AddCommand) -> None:
    p = add("energy", energy_command, "simulate a workload and print its energy per action, count and source")
    p.add_argument("file", help="the workload.yaml to simulate")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--sources", action="store_true", help="table: also print how each value was derived")
    add_no_cache(p)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def energy_command(args: argparse.Namespace, con: ConsoleLike) -> int:
    from ..results import jsonable
    from ..spec import load_workload
    from ..targets import simulate

    wl = load_workload(args.file)
    result = simulate(wl, progress=con.progress, cache=cache_arg(args))
    rows = result.extras["energy_actions"]
    s = result.summary
    keys = ("energy_j", "avg_power_w", "gflops_per_w", "energy_breakdown", "dense_energy_j", "energy_gain",
            "static_energy_j", "dynamic_energy_j", "dynamic_gflops_per_w")
    if args.format == "json":
        out = {"model": s.get("energy_model"), **{k: s.get(k) for k in keys}, "actions": rows}
        print(json.dumps(jsonable(out), indent=2))
        return 0
    lines = [f"energy model: {s.get('energy_model')}", ""]
    head = ("action", "component", "per action", "count", "energy J", "source")
    table = [
        (r["action"], r["component"], f"{_fmt(r['energy_per_action'])} {r['unit']}",
         _fmt(r["count"]) + (" s" if r["unit"] == "W" else ""), _fmt(r["energy_j"]), r["source"][:60])
        for r in rows
    ]  # fmt: skip
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)) for t in table]
    if args.sources:
        lines += ["", "derivations:"] + [f"  {r['action']}: {r['derivation']} [{r['source']}]" for r in rows]
    b = s["energy_breakdown"]
    lines += [
        "",
        f"total {s['energy_j']:.4g} J (compute {b['compute']:.3g}, on-chip {b['onchip']:.3g}, "
        f"DRAM {b['dram']:.3g}, static {b['static']:.3g}); average {s['avg_power_w']:.3g} W; "
        f"{s['gflops_per_w']:.3g} GFLOPS/W; dense baseline {s['dense_energy_j']:.4g} J "
        f"(gain {s['energy_gain']:.3f}x)",
        "without the time-proportional part (static power, DRAM background, clock): "
        f"{s['dynamic_energy_j']:.4g} J, {s['dynamic_gflops_per_w']:.3g} GFLOPS/W",
    ]
    est = [r["action"] for r in rows if r.get("plausible")]
    if est:
        lines.append(
            "uncertain values (an estimate or a published range; plausible range in --format json, set in "
            "the workload where noted): "
            + ", ".join(est)
        )
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
