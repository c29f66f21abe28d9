"""Proof that the RTL-vs-model cycle check can fail: mutate the timing model or the RTL, one small change at a
time, rerun the comparison and report whether it noticed.

    python bench/mutate_timing.py [--quick]

Timing-model mutations are applied to a copy of the source of `sparsesim.sat.timing` loaded as a separate
module (the repository's files are never edited): each latency term +-1, the WS fill and drain terms, the OS
fill/final-add/drain terms, the bank-reuse rule, the load bus, interleave slots, the OS beat gap, the N:M
group rate and the mode-switch delay. RTL mutations are elaboration parameters of the array: one extra
pipeline register in the PE (its multiplier one stage deeper) and one fewer weight bank (single-buffered).

The comparison is the array benches' scoreboard (tests/rtl/rtl_plan.py): the unmutated RTL, run once per
configuration in Amaranth's simulator on a plan of back-to-back tile sequences in every mode, against the
mutated model (every tile's load/start/end, every sequence's total against the simulator's queries
`ws_runs_cycles` / `os_runs_cycles`, every mode switch); a mutated RTL against the real model, plus every
result against sparsesim.sat.numerics. A mutation is caught when the scoreboard reports any mismatch.

Op-engine stage mutations: each of the simulator's fixed op engine stages (the architecture's
op_issue_cycles, op_fill_ws_cycles, op_fill_os_cycles, op_writeback_cycles, op_accumulate_cycles,
op_response_cycles) +-1, against one run of the unmutated op engine (Verilator, with the HDL DRAM model)
on a WS op (its final sums pass the out buffer's adders) and an OS op of the 4x4 array: caught when
tests/rtl/rtl_opengine.mismatches reports a row (the cycles before the array's first action and after its
last result are compared exactly; the op's total within 2 %). Without --quick also the waits for words
wider than a DRAM beat (op_reload_cycles +-1, the waits before the array's first action counted inside
it, every first-pass wait dropped, the WS tiles' alternating intervals averaged) against the 16x16
array's two 2:8 ops and a WS 1:4 op of the 16x32 preset array (STREAM_RUNS).

The last line is `K of N mutations caught`; the exit status is 1 unless every mutation was caught (3 when
Verilator is missing).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rtl"))

from rtl_amsim import run_array  # noqa: E402
from rtl_opengine import mismatches as engine_mismatches  # noqa: E402
from rtl_opengine import run_engine_ops, with_sim  # noqa: E402
from rtl_ops import WORKLOAD, arch_for, op_runs  # noqa: E402
from rtl_plan import Plan, Scoreboard, array_plan, split_tiles  # noqa: E402
from sparsesim.rtl import toolchain  # noqa: E402
from sparsesim.rtl.array import SparseArray  # noqa: E402
from sparsesim.rtl.config import ArrayConfig  # noqa: E402
from test_ops import preset_config  # noqa: E402

from sparsesim.errors import ToolError  # noqa: E402
from sparsesim.sat import schedule, timing  # noqa: E402


@dataclasses.dataclass(frozen=True)
class ModelMutation:
    """Replace each `old` (found exactly `count` times in timing.py) by `new`."""

    name: str
    edits: tuple[tuple[str, str, int], ...]


def _m(name: str, *edits: tuple[str, str] | tuple[str, str, int]) -> ModelMutation:
    return ModelMutation(name, tuple((e[0], e[1], e[2] if len(e) > 2 else 1) for e in edits))  # type: ignore[misc]


MODEL_MUTATIONS: list[ModelMutation] = [
    _m(
        "L_mul +1",
        ("return p.mul_latency + tree_latency(p)", "return p.mul_latency + 1 + tree_latency(p)"),
    ),
    _m(
        "L_mul -1",
        ("return p.mul_latency + tree_latency(p)", "return p.mul_latency - 1 + tree_latency(p)"),
    ),
    _m(
        "L_tree +1",
        (
            "return (p.multipliers.bit_length() - 1) * p.add_latency",
            "return (p.multipliers.bit_length() - 1) * p.add_latency + 1",
        ),
    ),
    _m(
        "L_tree -1",
        (
            "return (p.multipliers.bit_length() - 1) * p.add_latency",
            "return (p.multipliers.bit_length() - 1) * p.add_latency - 1",
        ),
    ),
    _m(
        "WS fill: column hops +1",
        ("return (p.cols - 1) + product_latency(p)", "return p.cols + product_latency(p)"),
    ),
    _m(
        "WS fill: column hops -1",
        ("return (p.cols - 1) + product_latency(p)", "return (p.cols - 2) + product_latency(p)"),
    ),
    _m(
        "WS drain: psum chain R*L_add -> (R-1)*L_add",
        ("product_latency(p) + p.rows * p.add_latency", "product_latency(p) + (p.rows - 1) * p.add_latency"),
    ),
    _m(
        "WS drain: psum chain +1",
        ("product_latency(p) + p.rows * p.add_latency", "product_latency(p) + p.rows * p.add_latency + 1"),
    ),
    _m(
        "WS bank-free delay +1",
        (
            "return (p.rows - 1) * (p.add_latency - 1) + p.cols - 2",
            "return (p.rows - 1) * (p.add_latency - 1) + p.cols - 1",
        ),
    ),
    _m(
        "WS bank-free delay -1",
        (
            "return (p.rows - 1) * (p.add_latency - 1) + p.cols - 2",
            "return (p.rows - 1) * (p.add_latency - 1) + p.cols - 3",
        ),
    ),
    _m(
        "WS bank reuse: single bank (tile i-1's bank)",
        ("banks = p.weight_banks\n", "banks = 1\n"),
        ("bank_owner = prev2 if p.weight_banks == 2 else prev1", "bank_owner = prev1"),
    ),
    _m(
        "WS bank reuse: rule dropped",
        ("if i >= banks:", "if False:"),
        ("if bank_owner is not None:", "if False:"),
    ),
    _m(
        "WS load bus R -> R-1",
        ("times[i - 1].load + p.rows", "times[i - 1].load + p.rows - 1"),
        ("prev1[0] + p.rows", "prev1[0] + p.rows - 1"),
    ),
    _m(
        "WS load bus R -> R+1",
        ("times[i - 1].load + p.rows", "times[i - 1].load + p.rows + 1"),
        ("prev1[0] + p.rows", "prev1[0] + p.rows + 1"),
    ),
    _m(
        "WS weights visible: start = load + 2",
        ('return 1 if p.weight_load == "bus"', 'return 2 if p.weight_load == "bus"'),
    ),
    _m(
        "WS weights visible: start = load",
        ('return 1 if p.weight_load == "bus"', 'return 0 if p.weight_load == "bus"'),
    ),
    _m("OS fill +1", ("fill = (p.rows - 1) + (p.cols - 1)\n", "fill = p.rows + (p.cols - 1)\n")),
    _m(
        "OS fill -1",
        ("fill = (p.rows - 1) + (p.cols - 1)\n", "fill = (p.rows - 1) + (p.cols - 2)\n"),
    ),
    _m(
        "OS final add dropped",
        (
            "* os_beat_gap(p, mode) + product_latency(p) + p.add_latency",
            "* os_beat_gap(p, mode) + product_latency(p)",
        ),
    ),
    _m(
        "OS drain R*I -> (R-1)*I",
        ("+ 1 + p.rows * os_slots(p, mode)", "+ 1 + (p.rows - 1) * os_slots(p, mode)", 2),
    ),
    _m("OS drain +1", ("+ 1 + p.rows * os_slots(p, mode)", "+ 2 + p.rows * os_slots(p, mode)", 2)),
    _m(
        "OS interleave slots L_add + 1",
        (
            "return p.add_latency if mode.interleave else 1",
            "return p.add_latency + 1 if mode.interleave else 1",
        ),
    ),
    _m(
        "OS interleave slots L_add - 1",
        (
            "return p.add_latency if mode.interleave else 1",
            "return max(1, p.add_latency - 1) if mode.interleave else 1",
        ),
    ),
    _m(
        "OS beat gap without interleave L_add - 1",
        (
            "return 1 if mode.interleave else p.add_latency",
            "return 1 if mode.interleave else p.add_latency - 1",
        ),
    ),
    _m(
        "OS beat gap without interleave L_add + 1",
        (
            "return 1 if mode.interleave else p.add_latency",
            "return 1 if mode.interleave else p.add_latency + 1",
        ),
    ),
    _m(
        "N:M group rate M -> M/2 per beat",
        (
            "return int(mode.m) if mode.sparse else p.multipliers",
            "return max(1, int(mode.m) // 2) if mode.sparse else p.multipliers",
        ),
    ),
    _m(
        "dense rate P -> 2P per beat",
        (
            "return int(mode.m) if mode.sparse else p.multipliers",
            "return int(mode.m) if mode.sparse else 2 * p.multipliers",
        ),
    ),
    _m(
        "mode switch +1",
        ('return 3 if mode.dataflow == "ws" else 4', 'return 4 if mode.dataflow == "ws" else 5'),
    ),
    _m(
        "mode switch -1 (OS)",
        ('return 3 if mode.dataflow == "ws" else 4', 'return 3 if mode.dataflow == "ws" else 3'),
    ),
]

RTL_MUTATIONS: list[tuple[str, Callable[[ArrayConfig], ArrayConfig]]] = [
    (
        "RTL: one extra pipeline register in the PE (multiplier)",
        lambda c: dataclasses.replace(c, mul_latency=int(c.mul_latency) + 1),
    ),  # type: ignore[arg-type]
    ("RTL: one fewer weight bank (single-buffered)", lambda c: dataclasses.replace(c, weight_banks=1)),
]

# The simulator's op engine stages (sparsesim.sat.arch, SatArch.op_*), each mutated by +1 and -1.
STAGE_TERMS = ("op_issue_cycles", "op_fill_ws_cycles", "op_fill_os_cycles", "op_writeback_cycles",
               "op_accumulate_cycles", "op_response_cycles")  # fmt: skip
# The ops the stage mutations are checked on: the tiny CNN's linear layer WS and its 3x3 conv FF OS without
# interleave (rtl_ops.QUICK_OPS: the two shortest, ~400 cycles), on the 4x4 array.
STAGE_CONFIG = ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16")
STAGE_OPS = [(WORKLOAD, "fc:FF", "ws", True, 32), (WORKLOAD, "conv3:FF", "os", False, 8)]

# Without --quick: the simulator's waits for words wider than their DRAM port's beat
# (schedule.stream_wait, timing.first_pass_wait / first_action_wait), mutated against one run of the
# unmutated op engine on ops whose words are wider than a beat (bench/rtl_vs_sim.py --arrays 16x16,16x32):
# the 16x16 array's 2:8 ops (two-beat activation words) and the 16x32 preset's WS 1:4 op (two-beat weight
# and activation words, one tile per block: the tiles' alternating intervals matter). The reload's stages
# +-1, the first-action waits dropped, every first-pass wait dropped, the WS tiles' intervals averaged.
STREAM_RUNS = [
    (ArrayConfig(rows=16, cols=16, multipliers=2, max_m=8, precision="fp16"),
     [("tests/rtl/workloads/tiny-cnn-bdwp-2of8.yaml", "conv2:FF", "ws", True, 8),
      ("tests/rtl/workloads/tiny-cnn-bdwp-2of8.yaml", "conv2:BP", "os", True, 8)]),
    (preset_config(), [("tests/rtl/workloads/tiny-cnn-nm-1of4.yaml", "conv3:FF", "ws", True, 8)]),
]  # fmt: skip


def _uniform_ws_sequence(p, lengths):
    """A mutant of timing.ws_sequence for stream_wait: every tile interval the average (no swing)."""
    times = timing.ws_sequence(p, lengths)
    step = timing.ws_steady_interval(p, lengths[0])
    return [dataclasses.replace(t, start=times[0].start + i * step) for i, t in enumerate(times)]


STREAM_MUTATIONS: list[tuple[str, dict, dict]] = [
    ("op_reload_cycles +1", {"op_reload_cycles": 1}, {}),
    ("op_reload_cycles -1", {"op_reload_cycles": -1}, {}),
    ("first-action waits dropped (all inside the array)", {}, {"first_action_wait": lambda *a: 0.0}),
    ("first-pass waits dropped", {}, {"first_pass_wait": lambda s: 0.0}),
    ("WS tiles' alternating intervals averaged", {}, {"ws_sequence": _uniform_ws_sequence}),
]

# Configurations the comparison runs on (Amaranth's simulator): odd sizes and depths so that the terms do not
# coincide (R != C, L_mul != L_add, L_add > 1 so the bank-free delay depends on R).
QUICK_CONFIGS = [
    ArrayConfig(rows=2, cols=3, multipliers=2, max_m=4, precision="fp16", mul_latency=1, add_latency=3)
]
FULL_CONFIGS = QUICK_CONFIGS + [
    ArrayConfig(rows=3, cols=2, multipliers=2, max_m=8, precision="int8", mul_latency=2, add_latency=2),
    ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16"),
]


def mutant_module(mut: ModelMutation) -> types.ModuleType:
    """A fresh copy of sparsesim.sat.timing with the mutation's edits, as its own module."""
    src = Path(timing.__file__).read_text()
    for old, new, count in mut.edits:
        found = src.count(old)
        if found != count:
            raise SystemExit(
                f"error: mutation {mut.name!r}: {old!r} occurs {found} times in timing.py, "
                f"expected {count}; update bench/mutate_timing.py to the model's source"
            )
        src = src.replace(old, new)
    name = f"_timing_mutant_{abs(hash(mut.name))}"
    mod = types.ModuleType(name)
    mod.__file__ = f"<{mut.name}>"
    mod.__package__ = "sparsesim.sat"  # its relative import of the data types (array_types)
    sys.modules[name] = mod  # dataclasses resolve their module while the class is created
    try:
        exec(compile(src, mod.__file__, "exec"), mod.__dict__)
    finally:
        del sys.modules[name]
    return mod


def run_rtl(cfg: ArrayConfig, plan: Plan) -> dict:
    return run_array(SparseArray(cfg), plan)


def mismatches(cfg: ArrayConfig, plan: Plan, out: dict, model=timing) -> list[str]:
    sb = Scoreboard(cfg)
    sb.check_values(plan, split_tiles(out["results"], cfg))
    try:
        sb.check_timing(plan, out["load"], out["start"], out["done"], model=model)
    except (ValueError, ZeroDivisionError, IndexError) as err:  # the mutant rejects a tile the RTL ran
        sb.mismatches.append(f"model raised {type(err).__name__}: {err}")
    return sb.mismatches


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one small configuration (CI)")
    args = ap.parse_args(argv)
    configs = QUICK_CONFIGS if args.quick else FULL_CONFIGS
    t0 = time.perf_counter()
    runs = []
    for cfg in configs:
        plan = array_plan(cfg, seed=cfg.rows * 7 + int(cfg.add_latency), size="small")  # type: ignore[arg-type]
        out = run_rtl(cfg, plan)
        base = mismatches(cfg, plan, out)
        if base:
            print(f"error: the unmutated RTL and model disagree on {cfg.name()}: {base[0]}", file=sys.stderr)
            return 2
        runs.append((cfg, plan, out))
    caught = total = 0
    for mut in MODEL_MUTATIONS:
        model = mutant_module(mut)
        found = []
        for cfg, plan, out in runs:
            found += [f"{cfg.name()}: {m}" for m in mismatches(cfg, plan, out, model)]
        total += 1
        caught += bool(found)
        print(
            f"{'caught' if found else 'MISSED'}  model  {mut.name}"
            + (f"  [{found[0][:150]}]" if found else "")
        )
    for name, mutate in RTL_MUTATIONS:
        found = []
        for cfg, plan, _ in runs:
            found += [f"{cfg.name()}: {m}" for m in mismatches(cfg, plan, run_rtl(mutate(cfg), plan))]
        total += 1
        caught += bool(found)
        print(
            f"{'caught' if found else 'MISSED'}  rtl    {name}" + (f"  [{found[0][:150]}]" if found else "")
        )
    try:
        toolchain.configure_environment()
        toolchain.require_simulator("verilator")
    except ToolError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    engine_runs = op_runs(STAGE_CONFIG, STAGE_OPS, ROOT)
    rows = run_engine_ops(STAGE_CONFIG, engine_runs)
    base = [f"{row['op']} {row['mapping']}: {m}" for row in rows for m in engine_mismatches(row)]
    if base:
        print(f"error: the unmutated op engine and simulator disagree: {base[0]}", file=sys.stderr)
        return 2
    for term in STAGE_TERMS:
        for delta in (1, -1):
            found = []
            for row, run in zip(rows, engine_runs):
                arch = arch_for(STAGE_CONFIG, run.mapping.dataflow, run.mapping.mode.interleave)
                arch = dataclasses.replace(arch, **{term: getattr(arch, term) + delta})
                mutated = with_sim(row, run, arch)
                found += [f"{row['op']} {row['mapping']}: {m}" for m in engine_mismatches(mutated)]
            total += 1
            caught += bool(found)
            print(
                f"{'caught' if found else 'MISSED'}  sim    {term} {delta:+d}"
                + (f"  [{found[0][:150]}]" if found else "")
            )
    if not args.quick:
        stream_rows = []
        for cfg, ops in STREAM_RUNS:
            stream_runs = op_runs(cfg, ops, ROOT, n_scale=4)
            rows = run_engine_ops(cfg, stream_runs)
            base = [f"{row['op']} {row['mapping']}: {m}" for row in rows for m in engine_mismatches(row)]
            if base:
                print(f"error: the unmutated op engine and simulator disagree: {base[0]}", file=sys.stderr)
                return 2
            stream_rows += [(cfg, row, run) for row, run in zip(rows, stream_runs)]
        for name, deltas, patches in STREAM_MUTATIONS:
            found = []
            saved = {k: getattr(schedule, k) for k in patches}
            try:
                for k, v in patches.items():
                    setattr(schedule, k, v)
                for cfg, row, run in stream_rows:
                    arch = arch_for(cfg, run.mapping.dataflow, run.mapping.mode.interleave)
                    arch = dataclasses.replace(arch, **{k: getattr(arch, k) + d for k, d in deltas.items()})
                    found += [f"{row['array']} {row['op']} {row['mapping']}: {m}"
                              for m in engine_mismatches(with_sim(row, run, arch))]  # fmt: skip
            finally:
                for k, v in saved.items():
                    setattr(schedule, k, v)
            total += 1
            caught += bool(found)
            note = f"  [{found[0][:150]}]" if found else ""
            print(f"{'caught' if found else 'MISSED'}  sim    {name}{note}")
    print(f"# {len(configs)} configuration(s) and the op engine on {STAGE_CONFIG.name()}"
          + ("" if args.quick else " and " + ", ".join(c.name() for c, _ in STREAM_RUNS))
          + f", {time.perf_counter() - t0:.0f} s")
    print(f"{caught} of {total} mutations caught")
    return 0 if caught == total else 1


if __name__ == "__main__":
    sys.exit(main())
