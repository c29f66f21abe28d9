"""Dynamic energy of small GEMMs on the RTL PE vs the analytical energy model (docs/energy_model.md).

For each case, one PE of rtl/pe.py (`SparsePE`) computes C[1 x I] = A[1 x k] . B[k x I] in accumulator (OS)
mode with I = L_add interleaved outputs, as the array runs an OS tile row: per reduction step, one weights
beat (N:M: the kept values and their indices; dense: P values) is presented I times, once per output
column, with that column's activation group. Amaranth's simulator records every signal (VCD); the bench
counts bit toggles at the inputs of each multiplier and each adder (the P-input tree and the accumulation
adder), and turns them into energy with the same per-action coefficients as the model: an operation's
energy from the table assumes random operands (half of the input bits toggle), so a unit's measured energy
is E_action x toggles / (0.5 x input bits), summed over cycles.

The analytical side is the energy model itself: `sparsesim.energy.actions` counts the GEMM's multiplies and
additions from its mapping, times the same coefficients. The two differ where real switching is not the
model's average: operands held across interleaved beats (OS reuses a weights beat I times), FP16 values of
similar magnitude (exponent bits rarely toggle), zeros in dense runs, pipeline fill and drain. Results are
checked against numpy before they are compared.

Whole GEMM ops (`--ops`, the default runs both parts): GEMM ops of the tiny-CNN workload, mapped by the
simulator (WS / OS) and cut into the tiles it times (tests/rtl/rtl_ops.py, the same tiles the Verilator op
bench checks bit for bit), run back to back on the 4 x 4 FP16 `SparseArray` in Amaranth's simulator with a
VCD of every signal. Per component:

- multipliers: issued multiplies counted from the trace (each cycle a beat is at a PE, its live lanes) vs
  the model's `pe_multiply` count; energy from the toggles at every multiplier's inputs;
- adders (every PE's adder tree and accumulation adder): energy from their input toggles vs the model's
  `pe_add` count x energy;
- buffers: bytes the array's weights / activations ports took in and its results port gave out (beats x
  the port's width) vs the model's buffer reads of A and B and writes of C for the same tile sequence;
- registers: bit toggles of the PE cells' registers (systolic operand and token registers, weight banks,
  pipeline registers, accumulators) per multiply: reported, not compared (the model has no per-register
  data energy; on the FPGA it is inside the fabric gap of the logic it feeds).

The array's results are checked against `sparsesim.sat.numerics` (bit for bit) before anything is compared.

    .venv/bin/python bench/energy_vs_rtl.py            # one PE, then whole ops on the 4 x 4 array
    .venv/bin/python bench/energy_vs_rtl.py --pe       # one PE only
    .venv/bin/python bench/energy_vs_rtl.py --ops      # whole ops only
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
from amaranth.sim import Simulator
from sparsesim.rtl.array import SparseArray
from sparsesim.rtl.config import ArrayConfig
from sparsesim.rtl.pe import SparsePE

from sparsesim.energy.actions import array_traffic, sat_op_counts
from sparsesim.energy.model import sat_table_for
from sparsesim.graph.lower import GemmOp
from sparsesim.sat.arch import resolve
from sparsesim.sat.schedule import map_gemm, plan_gemm
from sparsesim.spec import AcceleratorSpec

ROOT = Path(__file__).resolve().parents[1]

CASES = [  # (precision, N:M or None, k)
    ("fp16", None, 64),
    ("fp16", (2, 4), 64),
    ("fp16", (2, 8), 128),
    ("fp16", (1, 8), 128),
    ("int8", None, 64),
    ("int8", (2, 8), 128),
]


def operands(precision: str, nm, k: int, cols: int, rng) -> tuple[np.ndarray, np.ndarray]:
    if precision == "fp16":
        a = rng.standard_normal(k).astype(np.float16)
        b = rng.standard_normal((k, cols)).astype(np.float16)
    else:
        a = rng.integers(-128, 128, k).astype(np.int8)
        b = rng.integers(-128, 128, (k, cols)).astype(np.int8)
    if nm is not None:  # keep the N largest |a| of every M, as the N:M mask does
        n, m = nm
        g = np.abs(a.astype(np.float64)).reshape(-1, m)
        keep = np.argsort(-g, axis=1, kind="stable")[:, :n]
        mask = np.zeros_like(g, dtype=bool)
        np.put_along_axis(mask, keep, True, axis=1)
        a = np.where(mask.reshape(-1), a, 0).astype(a.dtype)
    return a, b


def bits(x, precision: str) -> int:
    if precision == "fp16":
        return int(np.asarray(x, dtype=np.float16).view(np.uint16))
    return int(np.asarray(x, dtype=np.int8).view(np.uint8))


def beats(cfg: ArrayConfig, nm, a: np.ndarray, b: np.ndarray):
    """Per beat: (values, idx, live, group, slot, first)."""
    p, slots = cfg.multipliers, cfg.slots
    e = nm[1] if nm else p
    for s in range(len(a) // e):
        seg = a[s * e : (s + 1) * e]
        if nm:
            kept = [i for i in range(e) if seg[i] != 0][: nm[0]]
            kept += [i for i in range(e) if i not in kept][: nm[0] - len(kept)]  # zeros kept if needed
        else:
            kept = list(range(e))
        vals = [bits(seg[i], cfg.precision) for i in kept] + [0] * (p - len(kept))
        idx = kept + [0] * (p - len(kept))
        live = (1 << len(kept)) - 1
        for j in range(slots):
            group = [bits(v, cfg.precision) for v in b[s * e : (s + 1) * e, j]]
            group += [0] * (cfg.max_m - len(group))
            yield vals, idx, live, group, j, s == 0


def simulate(cfg: ArrayConfig, nm, a, b, vcd_path: Path) -> None:
    pe = SparsePE(cfg)

    async def bench(ctx):
        ctx.set(pe.accumulate, 1)
        for vals, idx, live, group, slot, first in beats(cfg, nm, a, b):
            ctx.set(pe.valid, 1)
            ctx.set(pe.slot, slot)
            ctx.set(pe.first, first)
            for lane in range(cfg.multipliers):
                ctx.set(pe.weights.value[lane], vals[lane])
                ctx.set(pe.weights.idx[lane], idx[lane])
            ctx.set(pe.weights.live, live)
            for i, g in enumerate(group):
                ctx.set(pe.group[i], g)
            await ctx.tick()
        ctx.set(pe.valid, 0)
        for _ in range(int(cfg.mul_latency) + 3 * int(cfg.add_latency) + 4):  # drain the pipelines
            await ctx.tick()

    sim = Simulator(pe)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    with sim.write_vcd(str(vcd_path)):
        sim.run()


def read_vcd(vcd_path: Path, sample: tuple[str, ...] = (), clock: str = "",
             keep: re.Pattern | None = None) -> tuple[dict, dict, list]:  # fmt: skip
    """Per full signal name (scope.scope.name): bit toggles over the run and the final value (only the
    names `keep` matches, when given); with `clock` (a full name), also the values of the signals whose full
    names end with any of `sample` just before every rising edge of the clock (what the registers see). A
    small reader of the VCD subset Amaranth writes (scopes, vars, scalar and vector changes)."""
    names: dict[str, list[str]] = {}
    scope: list[str] = []
    last: dict[str, int] = {}
    count: dict[str, int] = {}
    header = True
    clk_code, sampled, samples, snap = None, {}, [], {}
    tracked: set[str] = set()
    with vcd_path.open() as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if header:
                if parts[0] == "$scope":
                    scope.append(parts[2])
                elif parts[0] == "$upscope":
                    scope.pop()
                elif parts[0] == "$var":
                    full = ".".join([*scope, parts[4].lstrip("\\")])
                    names.setdefault(parts[3], []).append(full)
                    if clock and full == clock:
                        clk_code = parts[3]
                    if sample and full.endswith(sample):
                        sampled[parts[3]] = full
                elif parts[0] == "$enddefinitions":
                    header = False
                    tracked = {
                        c for c, ns in names.items()
                        if keep is None or c in sampled or c == clk_code or any(keep.search(n) for n in ns)
                    }  # fmt: skip
                continue
            if parts[0][0] == "#":
                if sampled:  # the values all through the previous timestamp: what a clock edge now samples
                    snap = {n: last.get(c, 0) for c, n in sampled.items()}
                continue
            if parts[0][0] == "$":
                continue
            vector = parts[0][0] in "bB"
            code = parts[1] if vector else parts[0][1:]
            if code not in tracked:
                continue
            if vector:
                v = int(parts[0][1:].replace("x", "0").replace("z", "0") or "0", 2)
            else:
                v = int(parts[0][0].replace("x", "0").replace("z", "0"))
            if code == clk_code and v == 1 and last.get(code, 0) == 0:
                samples.append(snap)
            if code in last:
                count[code] = count.get(code, 0) + bin(last[code] ^ v).count("1")
            last[code] = v
    out_t, out_v = {}, {}
    for code, ns in names.items():
        for n in ns:
            out_t[n], out_v[n] = count.get(code, 0), last.get(code, 0)
    return out_t, out_v, samples


def toggles(vcd_path: Path) -> tuple[dict[str, int], dict[str, int]]:
    t, v, _ = read_vcd(vcd_path)
    return t, v


def fp32(bits_: int) -> float:
    return float(np.array([bits_], dtype=np.uint32).view(np.float32)[0])


def run_case(precision: str, nm, k: int, seed: int = 0, accumulator: str | None = None) -> dict:
    """One PE of the given design (`accumulator`: "exact", the FP16 preset, "fp32" or INT8's "int32"; None:
    the preset's), against the energy table of that design."""
    cfg = ArrayConfig(rows=1, cols=1, precision=precision, accumulator=accumulator)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    a, b = operands(precision, nm, k, cfg.slots, rng)
    with tempfile.TemporaryDirectory() as tmp:
        vcd = Path(tmp) / "pe.vcd"
        simulate(cfg, nm, a, b, vcd)
        tog, final = toggles(vcd)
    # the PE's sums, against numpy
    got = [final[f"bench.top.acc{j}"] for j in range(cfg.slots)]
    want = a.astype(np.float64) @ b.astype(np.float64)
    if cfg.exact:  # exact words: rounded once to FP32 (numerics.exact_to_fp32), as the array's edge does
        from sparsesim.sat.numerics import exact_to_fp32

        got_f = exact_to_fp32(got, k_bits=cfg.k_bits).view(np.float32).astype(np.float64)
        assert np.allclose(got_f, want, rtol=1e-3, atol=1e-3), (got_f, want)
    elif precision == "fp16":
        got_f = np.array([fp32(g) for g in got])
        assert np.allclose(got_f, want, rtol=1e-2, atol=1e-2), (got_f, want)
    else:
        got_i = np.array([g - (1 << 32) if g >> 31 else g for g in got])
        assert np.array_equal(got_i, want.astype(np.int64)), (got_i, want)
    # analytical: the energy model's counts for this GEMM (m = 1, n = I outputs, k) on an OS mapping
    lat = {"mul_latency_cycles": int(cfg.mul_latency), "add_latency_cycles": int(cfg.add_latency)}
    # a 1 x 1 array: the model counts what the array's geometry issues, here this one PE
    arch = resolve(AcceleratorSpec(precision=precision, dataflow="os", rows=1, cols=1, **lat))
    table = sat_table_for(arch, None, accumulator=cfg.accumulator)
    op = GemmOp(
        name="bench:FF", layer="bench", pass_="FF", role="fwd", m=1, n=cfg.slots, k=k, repeat=1,
        a_kind="weight", b_kind="act", c_kind="act", pattern="nm" if nm else "dense",
        density=float(np.count_nonzero(a)) / k if nm else 1.0, nm=nm, mask="ff" if nm else None,
    )  # fmt: skip
    counts = sat_op_counts(op, plan_gemm(op, arch, map_gemm(op, arch)), arch, cfg.accumulator)
    e_mul, e_add = table.energy("pe_multiply"), table.energy("pe_add")
    analytic = counts["pe_multiply"] * e_mul + counts["pe_add"] * e_add
    # measured: toggles at the units' inputs, at the coefficients' random-operand activity
    ob = cfg.operand_bits
    acc_bits = cfg.sum_bits  # 32 (FP32 / INT32) or the exact word
    mul_t = sum(tog[f"bench.top.mul{lane}.{x}"] for lane in range(cfg.multipliers) for x in ("a", "b"))
    add_units = [n.rsplit(".", 1)[0] for n in tog if n.endswith(".a") and ".tree." in n and "add_l" in n]
    add_units = sorted(set(add_units)) + ["bench.top.acc_add"]
    add_t = sum(tog[f"{u}.{x}"] for u in add_units for x in ("a", "b"))
    rtl = mul_t / (0.5 * 2 * ob) * e_mul + add_t / (0.5 * 2 * acc_bits) * e_add
    return {
        "case": f"{precision} {cfg.accumulator} {f'{nm[0]}:{nm[1]}' if nm else 'dense'} k={k} I={cfg.slots}",
        "multiplies": counts["pe_multiply"],
        "mul_ops_rtl": mul_t / (0.5 * 2 * ob),
        "adds": counts["pe_add"],
        "add_ops_rtl": add_t / (0.5 * 2 * acc_bits),
        "analytic_pj": analytic / 1e-12,
        "rtl_pj": rtl / 1e-12,
        "ratio": rtl / analytic,
    }


# ------------------------------------------------------------------------------ whole ops on the array
# GEMM ops of the tiny-CNN workload on the 4 x 4 FP16 array: (op, dataflow, interleave, N cut), a subset of
# the ops tests/rtl/rtl_ops.py's QUICK_OPS runs on Verilator (WS, OS with and without interleave, 2:4 and
# dense), N cut short so that Amaranth's simulator runs each in seconds.
# Both FP16 PE designs: the preset's exact accumulation and the FP32-adder PE, each against its own table.
ARRAY = ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16", accumulator="exact")
ARRAY_FP32 = ArrayConfig(rows=4, cols=4, multipliers=2, max_m=8, precision="fp16", accumulator="fp32")
OP_CASES = [
    ("conv2:FF", "ws", True, 8),
    ("conv2:FF", "os", True, 16),
    ("conv2:BP", "ws", True, 8),
    ("conv3:FF", "os", True, 8),
    ("conv3:FF", "os", False, 8),
    ("fc:FF", "ws", True, 8),
    ("conv2:FF", "ws", True, 2, 6),  # M cut to 6 on 4 columns: WS tiles with padded columns
]
_CELL = r"\.pe_\d+_\d+\."
MUL_INPUT = re.compile(_CELL + r"pe\.mul\d+\.(a|b)$")
ADD_INPUT = re.compile(_CELL + r"pe\.(tree\.add_l\d+_\d+|acc_add)\.(a|b)$")
# registers of a PE cell outside its arithmetic units (PECell and SparsePE, rtl/array.py, rtl/pe.py): the
# systolic token / lanes / group registers, the weight banks, the accumulators, the flag line and the
# control pipeline (the units' own pipeline registers are inside their energy per operation)
REGISTER = re.compile(_CELL + r"(pe\.)?(tok|lanes|grp|bank\d+|acc\d+|flag_d\d+|ctl_[pa]_[a-z]+_r\d+)$")
ROUND_INPUT = re.compile(r"\.rounding\.round\d+\.x$")  # the exact sums entering the edge roundings


def _rtl_helpers():
    """tests/rtl's op builder (rtl_ops) and result splitter (rtl_plan), as bench/rtl_vs_sim.py uses them."""
    sys.path.insert(0, str(ROOT / "tests" / "rtl"))
    import rtl_ops
    import rtl_plan

    return rtl_ops, rtl_plan


def drive_op(cfg: ArrayConfig, tiles, vcd_path: Path, max_cycles: int = 200_000) -> dict:
    """Stream an op's tiles back to back into a SparseArray (full streams, results always accepted), with a
    VCD of every signal. Returns the result words and the beats each port transferred."""
    cmds = [t.cmd for t in tiles]
    weights = [w for t in tiles for w in t.weights]
    acts = [x for t in tiles for x in t.acts]
    dut = SparseArray(cfg)
    out: dict = {"words": [], "cycles": 0, "weights_beats": 0, "acts_beats": 0}

    async def bench(ctx):
        ci = wi = ai = lasts = 0
        ctx.set(dut.results.ready, 1)
        for _ in range(max_cycles):
            ctx.set(dut.cmd.valid, ci < len(cmds))
            ctx.set(dut.cmd.payload.as_value(), cmds[ci] if ci < len(cmds) else 0)
            ctx.set(dut.weights.valid, wi < len(weights))
            ctx.set(dut.weights.payload.as_value(), weights[wi] if wi < len(weights) else 0)
            ctx.set(dut.acts.valid, ai < len(acts))
            ctx.set(dut.acts.payload.as_value(), acts[ai] if ai < len(acts) else 0)
            if ctx.get(dut.results.valid):
                out["words"].append(ctx.get(dut.results.payload.as_value()))
                lasts += ctx.get(dut.results.payload.last)
            ci += ci < len(cmds) and ctx.get(dut.cmd.ready)
            wi += wi < len(weights) and ctx.get(dut.weights.ready)
            ai += ai < len(acts) and ctx.get(dut.acts.ready)
            await ctx.tick()
            out["cycles"] += 1
            if lasts == len(cmds):
                break
        out["weights_beats"], out["acts_beats"] = wi, ai

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    with sim.write_vcd(str(vcd_path)):
        sim.run()
    return out


def issued_multiplies(samples: list[dict], cfg: ArrayConfig) -> int:
    """Multiplies the array issued: every clock edge, every cell whose token holds a beat (valid) adds the
    live lanes of the weights at its PE."""
    from sparsesim.rtl.array import token_layout

    v_off = token_layout(cfg)["valid"].offset
    live = cfg.cell_weights_layout["live"]
    total = 0
    for snap in samples:
        cells: dict[str, list[int]] = {}
        for name, val in snap.items():
            cell, sig = name.rsplit(".pe_", 1)[1].split(".", 1)
            cells.setdefault(cell, [0, 0])[0 if sig == "tok" else 1] = val
        for tok, w in cells.values():
            if (tok >> v_off) & 1:
                total += bin((w >> live.offset) & ((1 << cfg.multipliers) - 1)).count("1")
    return total


def run_op_case(name: str, dataflow: str, interleave: bool, n_cut: int, m_cut: int | None = None,
                cfg: ArrayConfig = ARRAY) -> dict:  # fmt: skip
    """One GEMM op of the tiny CNN on the array, N (and M, when `m_cut` is given) cut short."""
    import dataclasses

    rtl_ops, rtl_plan = _rtl_helpers()
    op = rtl_ops.workload_ops(str(ROOT / rtl_ops.WORKLOAD))[name]
    if m_cut is not None:
        op = dataclasses.replace(op, m=min(op.m, m_cut))
    run = rtl_ops.op_run(cfg, name, op, dataflow=dataflow, n_cut=n_cut, interleave=interleave)
    with tempfile.TemporaryDirectory() as tmp:
        vcd = Path(tmp) / "array.vcd"
        got = drive_op(cfg, run.tiles, vcd)
        keep = re.compile("|".join(p.pattern for p in (MUL_INPUT, ADD_INPUT, REGISTER, ROUND_INPUT)))
        tog, _, samples = read_vcd(vcd, sample=(".tok", ".pe.weights"), clock="bench.top.clk", keep=keep)
    # the array's results, bit for bit against numerics, before anything is compared
    bits = rtl_ops.assemble(run, cfg, rtl_plan.split_tiles(got["words"], cfg))
    bad = int(np.count_nonzero(bits != rtl_ops.expected(run, cfg)))
    if bad:
        raise AssertionError(f"{name} {dataflow}: {bad} results differ from numerics")
    # the model: the energy model's counts for the same op and mapping, on the XCVU9P table
    arch = rtl_ops.arch_for(cfg, dataflow, interleave)
    plan = plan_gemm(run.op, arch, run.mapping)
    counts = sat_op_counts(run.op, plan, arch, cfg.accumulator)
    traffic = array_traffic(plan, arch)
    table = sat_table_for(arch, None, accumulator=cfg.accumulator)
    e_mul, e_add, e_buf = (table.energy(a) for a in ("pe_multiply", "pe_add", "act_buffer_read_byte"))
    # the RTL: issued multiplies from the trace; unit energies from the toggles at their inputs at the
    # coefficients' random-operand activity (half the input bits toggle per operation)
    ob = cfg.operand_bits
    mul_t = sum(t for n, t in tog.items() if MUL_INPUT.search(n))
    add_t = sum(t for n, t in tog.items() if ADD_INPUT.search(n))
    reg_t = sum(t for n, t in tog.items() if REGISTER.search(n))
    acc_a_t = sum(t for n, t in tog.items() if n.endswith(".pe.acc_add.a"))  # the accumulator-side input
    round_t = sum(t for n, t in tog.items() if ROUND_INPUT.search(n))
    mults_rtl = issued_multiplies(samples, cfg)
    # A (the weights operand as run) enters through the weights port, B through the activations port
    model = {
        "mul_j": counts["pe_multiply"] * e_mul,
        "add_j": counts["pe_add"] * e_add,
        "a_bytes": traffic["a_read_bytes"],
        "b_bytes": traffic["b_read_bytes"],
        "out_bytes": traffic["c_write_bytes"],
    }
    exact = cfg.exact
    model["round_j"] = counts.get("edge_round", 0.0) * (table.energy("edge_round") if exact else 0.0)
    model["adds"] = counts["pe_add"]
    rtl = {
        "mul_j": mul_t / (0.5 * 2 * ob) * e_mul,
        "add_j": add_t / (0.5 * 2 * cfg.sum_bits) * e_add,
        "round_j": round_t / (0.5 * cfg.sum_bits) * table.energy("edge_round") if exact else 0.0,
        "adds": add_t / (0.5 * 2 * cfg.sum_bits),  # toggle-equivalent additions
        "a_bytes": got["weights_beats"] * cfg.weights_layout.size / 8,
        "b_bytes": got["acts_beats"] * cfg.acts_layout.size / 8,
        "out_bytes": float(len(got["words"]) * 4 * cfg.cols),  # FP32 per column; the `last` flag aside
    }
    compute = ("mul_j", "add_j", "round_j")
    return {
        "case": f"{name} {run.mapping.mode_text} M={run.mapping.m} N={run.mapping.n} K={run.mapping.k}",
        "accumulator": cfg.accumulator,
        "tiles": len(run.tiles),
        "cycles": got["cycles"],
        "multiplies": counts["pe_multiply"],
        "multiplies_rtl": mults_rtl,
        "model": model,
        "rtl": rtl,
        "compute_ratio": sum(rtl[c] for c in compute) / sum(model[c] for c in compute),
        "model_pj_per_mult": sum(model[c] for c in compute) / counts["pe_multiply"] / 1e-12,
        "rtl_pj_per_mult": sum(rtl[c] for c in compute) / max(mults_rtl, 1) / 1e-12,
        "buffer_j_model": (model["a_bytes"] + model["b_bytes"] + model["out_bytes"]) * e_buf,
        "buffer_j_rtl": (rtl["a_bytes"] + rtl["b_bytes"] + rtl["out_bytes"]) * e_buf,
        "register_toggles_per_mult": reg_t / max(mults_rtl, 1),
        "acc_input_toggles_per_mult": acc_a_t / max(mults_rtl, 1),
    }


def print_pe_cases() -> None:
    cols = ("mults", "rtl eq.", "adds", "rtl eq.", "model pJ", "RTL pJ", "RTL/model")
    print("one PE (Amaranth simulator), compute energy on the XCVU9P table of the PE's design")
    print(f"{'case':34s} " + " ".join(f"{c:>9s}" for c in cols))
    for precision, nm, k in CASES:
        for acc in (None, "fp32") if precision == "fp16" else (None,):
            r = run_case(precision, nm, k, accumulator=acc)
            print(
                f"{r['case']:34s} {r['multiplies']:9.0f} {r['mul_ops_rtl']:9.1f} {r['adds']:9.0f} "
                f"{r['add_ops_rtl']:9.1f} {r['analytic_pj']:9.2f} {r['rtl_pj']:9.2f} {r['ratio']:9.2f}"
            )


def print_op_cases(configs: tuple[ArrayConfig, ...] = (ARRAY, ARRAY_FP32)) -> None:
    head = ("tiles", "cycles", "mults", "rtl", "mul pJ", "rtl", "adds", "rtl eq.", "add pJ", "rtl",
            "round pJ", "rtl", "rtl/model", "A bytes", "rtl", "B bytes", "rtl", "C bytes", "rtl",
            "reg tog/mult", "acc.a/mult")  # fmt: skip
    for cfg in configs:
        print(f"whole GEMM ops on the {cfg.rows} x {cfg.cols} FP16 array, {cfg.accumulator} accumulation "
              "(Amaranth simulator), model / RTL")  # fmt: skip
        print(f"{'op':40s} " + " ".join(f"{h:>9s}" for h in head))
        for case in OP_CASES:
            if cfg.exact and not case[2]:
                continue  # one accumulator slot (L_add = 1): interleave changes nothing
            r = run_op_case(*case, cfg=cfg)
            m, t = r["model"], r["rtl"]
            vals = (r["tiles"], r["cycles"], r["multiplies"], r["multiplies_rtl"], m["mul_j"] / 1e-12,
                    t["mul_j"] / 1e-12, m["adds"], t["adds"], m["add_j"] / 1e-12, t["add_j"] / 1e-12,
                    m["round_j"] / 1e-12, t["round_j"] / 1e-12, r["compute_ratio"],
                    m["a_bytes"], t["a_bytes"], m["b_bytes"], t["b_bytes"], m["out_bytes"], t["out_bytes"],
                    r["register_toggles_per_mult"], r["acc_input_toggles_per_mult"])  # fmt: skip
            print(f"{r['case']:40s} " + " ".join(f"{v:9.4g}" for v in vals))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pe", action="store_true", help="only the one-PE cases")
    ap.add_argument("--ops", action="store_true", help="only the whole-op cases on the 4 x 4 array")
    args = ap.parse_args(argv)
    if not args.ops:
        print_pe_cases()
    if not args.pe:
        print_op_cases()
    return 0


if __name__ == "__main__":
    sys.exit(main())
