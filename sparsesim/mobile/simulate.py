"""`target: mobile`: run a pruned network on a phone CPU model and its dense baseline on the same SoC.

Flow per run (sparse model and the dense baseline `prepare(wl, dense=True)` alike):

1. Kernel selection for every weight layer (`select.py`; the real pruned weights are packed into the
   kernel's format: CSRDelta for SpMM, BlockCSR for the group kernel, N:M counts for the N:M kernel).
2. Layout: depthwise convs run XNNPACK's CHW kernels when any layer runs SpMM (the sparse subgraph runs in
   NCHW), else the NHWC kernels (`mobile.layout` overrides).
3. Work of every op (`costs.py`): core cycles per parallel chunk from the micro-kernel bodies, memory streams.
4. Time of every op, in program order: chunks scheduled greedily on the threads (each at its core's clock),
   memory streams resolved to cache levels and link times (`memory.py`), then
   `time = max(core, memory) + pipeline fill + thread-pool dispatch`. Columns: `compute_cycles` = the
   work divided evenly over the threads' speeds, `stall_cycles` = load imbalance + fill + dispatch,
   `memory_cycles` = time the slowest link adds beyond the critical thread's compute.
   Cycles count the reference clock (thread 0's core).

Batch norm and ReLU-type activations after a conv are folded/fused (`fuse_elementwise`), as XNNPACK does.
`ablate=True` re-runs the sparse model with each sparse kernel family used switched off (and SpMM forced to
NR = 1 if blocked SpMM was used) and reports those speedups in `summary['ablation']`.
"""

from __future__ import annotations

import copy
import heapq
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import SpecError
from ..pipeline import Progress, _silent
from ..results import OPS_COLUMNS, RunResult
from ..sparsity import BlockCSR, CSRDelta, xnnpack_block_size
from ..sparsity.block import as_rows
from ..summary import Summary
from . import costs, streams
from .cache import CacheHierarchy, CacheStats
from .memory import FLOAT_BYTES, MemoryModel, Traffic
from .microkernels import BodyCache, instruction_counts
from .select import Decision, LayerView, decide, layer_type, subgraph_zero_fraction, zero_fraction
from .soc import SoC, resolve_soc

if TYPE_CHECKING:
    from ..pipeline import Prepared
    from ..spec import MobileSpec, Workload

WEIGHT_KINDS = ("conv", "dwconv", "gconv", "linear")
# Line accesses simulated per op before the stream is sampled (every k-th pixel tile / row panel / channel
# / output row, counts scaled by k; streams.LineStream). Our choice: keeps a whole MobileNet run in seconds;
# tests/mobile/test_mobile_cache_model.py measures the sampling error against full simulation. None = all.
SAMPLE_BUDGET_LINES = 200_000

# Mobile-only per-op columns from the cache model (the README's generated column list documents them).
MOBILE_COLUMNS = {
    "line_accesses": "cache-line accesses of the op's address stream (scaled when sampled)",
    "l1_misses": "demand accesses that missed L1 and were not prefetched",
    "prefetch_hits": "demand accesses that hit a line the hardware prefetcher brought in",
    "miss_stall_cycles": "core stall from demand misses: latency beyond L1 / miss_overlap",
    "ldst_instructions": "load/store instructions (the kernel's inner-body mix per cycle x its core cycles)",
    "neon_mac_instructions": "NEON/FP multiply-accumulate instructions (FMLA), counted likewise",
    "neon_instructions": "other NEON/FP instructions (FMUL, FADD, FMIN/FMAX, moves, broadcasts), likewise",
    "scalar_instructions": "scalar integer and branch instructions, likewise",
    "l1_bytes": "bytes the load/store instructions move through L1, likewise",
}
_CLAMP_ACTS = ("relu", "clip", "hardtanh", "clamp")


def instruction_columns(timing, core_cycles: float) -> dict[str, float]:
    """The per-op instruction-class columns (MOBILE_COLUMNS) of a kernel run for `core_cycles`."""
    c = instruction_counts(timing, core_cycles)
    return {
        "ldst_instructions": c["ldst"], "neon_mac_instructions": c["neon_mac"],
        "neon_instructions": c["neon"], "scalar_instructions": c["scalar"], "l1_bytes": c["l1_bytes"],
    }  # fmt: skip


@dataclass
class OpPlan:
    op: Any  # lower.GemmOp | lower.VectorOp
    node: dict[str, Any]
    work: costs.Work
    in_bytes: float
    out_bytes: float
    reads_network_input: bool
    decision: Decision | None = None
    view: LayerView | None = None
    alternatives: dict[str, costs.Work] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()  # producer nodes whose outputs this op reads


@dataclass
class OpTime:
    seconds: float
    compute_s: float
    memory_s: float
    stall_s: float
    core_s: float
    memory_bound_s: float
    bottleneck: str
    traffic: Any
    input_level: str
    output_level: str
    cache: CacheStats | None = None
    miss_stall_s: float = 0.0


class MobileSimulator:
    """One SoC + MobileSpec; `run(prepared)` simulates one pruned (or dense) model."""

    def __init__(self, soc: SoC, spec: MobileSpec, budget_lines: int | None = SAMPLE_BUDGET_LINES) -> None:
        self.soc = soc
        self.spec = spec
        self.threads = int(spec.threads)
        self.bc = BodyCache(soc.core)
        self.budget = budget_lines

    # ------------------------------------------------------------------------------ plans
    def _view(self, prep: Prepared, name: str) -> tuple[LayerView, np.ndarray, np.ndarray | None]:
        g, prune = prep.graph, prep.prune
        node = g.nodes[name]
        lp = prune.by_name(name)
        w = prune.masked_weight(name)
        view = LayerView(
            name=name,
            kind=node["kind"],
            layer_type=layer_type(node),
            pattern=lp.pattern,
            dense_reason=lp.dense_reason,
            zero_fraction=zero_fraction(w),
            params=int(w.size),
            block=lp.block,
            n=lp.n,
            m=lp.m,
        )
        return view, w, lp.ff_mask

    def _sparse_work(
        self, family: str, op: Any, node: dict, view: LayerView, w: np.ndarray, mask: np.ndarray | None,
        in_bytes: float, out_bytes: float, geo: Any,
    ) -> costs.Work:  # fmt: skip
        spec, batch = self.spec, int(op.n // max(geo.tokens, 1))
        reuse = geo.kh * geo.kw / _stride_area(node)
        if family == "spmm":
            w2 = as_rows(w)
            m2 = as_rows(mask) if mask is not None else None
            nr = xnnpack_block_size(w2, mask=m2) if spec.spmm_block == "auto" else int(spec.spmm_block)
            csr = CSRDelta.from_dense(w2, nr, mask=m2)
            shape = costs.SpmmShape.from_csr(csr, k=geo.reduction)
            work = costs.spmm_work(
                self.bc, shape, pixels=geo.tokens, batch=batch, mr=int(spec.spmm_mr),
                pack=view.layer_type == "conv", in_bytes=in_bytes, out_bytes=out_bytes, threads=self.threads,
            )  # fmt: skip
            mr = int(spec.spmm_mr)
            work.addresses = lambda sp, x, wb, y: streams.spmm_lines(
                csr, pixels=geo.tokens, mr=mr, x_base=x, w_base=wb, y_base=y, batch=batch, budget=self.budget
            )
            return work
        if family == "group":
            bcsr = BlockCSR.from_dense(w, int(view.block), mask=mask)
            work = costs.group_work(
                self.bc, costs.GroupShape.from_bcsr(bcsr), pixels=geo.tokens, batch=batch,
                mr=int(spec.group_mr), in_bytes=in_bytes, out_bytes=out_bytes, threads=self.threads,
                input_reuse=reuse,
            )  # fmt: skip
            gmr, k = int(spec.group_mr), int(geo.reduction)
            work.addresses = lambda sp, x, wb, y: streams.group_lines(
                bcsr, k=k, pixels=geo.tokens, mr=gmr, x_base=x, w_base=wb, y_base=y, batch=batch,
                pack_base=sp.buffer("packed tile", k * gmr * FLOAT_BYTES), budget=self.budget,
            )  # fmt: skip
            return work
        if family == "nm":
            taps = int(np.prod(w.shape[2:])) if w.ndim > 2 else 1
            shape = costs.NMShape(int(view.n), int(view.m), int(w.shape[0]), int(w.shape[1]), taps)
            return costs.nm_work(
                self.bc, shape, pixels=geo.tokens, batch=batch, mr=int(spec.nm_mr), in_bytes=in_bytes,
                out_bytes=out_bytes, threads=self.threads, input_reuse=reuse,
            )  # fmt: skip
        raise ValueError(family)

    def _dense_work(self, op: Any, node: dict, geo: Any, layout: str, in_bytes: float, out_bytes: float):
        work = self._dense_work_core(op, node, geo, layout, in_bytes, out_bytes)
        batch = int(op.n // max(geo.tokens, 1))
        in_shape = node["in_shapes"][0]
        h = int(in_shape[2]) if len(in_shape) > 2 else 1
        w_in = int(in_shape[-1]) if len(in_shape) > 3 else 1
        stride = int(tuple(node.get("stride", (1, 1)))[0])
        pad = int(tuple(node.get("padding", (0, 0)))[0]) if node.get("padding") is not None else 0
        if work.family == "dwconv_chw":
            work.addresses = lambda sp, x, wb, y: streams.dwconv_chw_lines(
                channels=geo.cout,
                h=h,
                w=w_in,
                stride=stride,
                x_base=x,
                w_base=wb,
                y_base=y,
                batch=batch,
                budget=self.budget,
            )
        elif work.family == "dwconv_hwc":
            work.addresses = lambda sp, x, wb, y: streams.dwconv_hwc_lines(
                channels=geo.cout, h=h, w=w_in, kh=geo.kh, kw=geo.kw, stride=stride, pad=pad, ho=geo.ho,
                wo=geo.wo, x_base=x, w_base=wb, y_base=y, zero_base=sp.buffer("zero", 4096), batch=batch,
                budget=self.budget,
            )  # fmt: skip
        elif work.family == "igemm" and geo.groups == 1:
            work.addresses = lambda sp, x, wb, y: streams.igemm_lines(
                h=h, w=w_in, cin=geo.cin, cout=geo.cout, kh=geo.kh, kw=geo.kw, stride=stride, pad=pad,
                ho=geo.ho, wo=geo.wo, x_base=x, w_base=wb, y_base=y, zero_base=sp.buffer("zero", 4096),
                batch=batch, budget=self.budget,
            )  # fmt: skip
        elif work.family == "gemm" and op.repeat == 1:
            m_rows, n_cols, k = int(op.n), int(op.m), int(op.k)
            mr = 1 if m_rows == 1 else 6
            work.addresses = lambda sp, x, wb, y: streams.gemm_lines(
                m_rows, n_cols, k, x_base=x, w_base=wb, y_base=y, mr=mr, budget=self.budget
            )
        return work

    def _dense_work_core(self, op: Any, node: dict, geo: Any, layout: str, in_bytes: float, out_bytes: float):
        kind = node["kind"]
        batch = int(op.n // max(geo.tokens, 1))
        if kind == "dwconv":
            stride = tuple(node.get("stride", (1, 1)))
            if (
                layout == "nchw"
                and (geo.kh, geo.kw) == (3, 3)
                and tuple(node.get("padding", ())) == (1, 1)
                and stride in ((1, 1), (2, 2))
                and tuple(node.get("dilation", (1, 1))) == (1, 1)
            ):
                return costs.dwconv_chw_work(
                    self.bc, channels=geo.cout, ho=geo.ho, wo=geo.wo, stride=stride[0], batch=batch,
                    in_bytes=in_bytes, out_bytes=out_bytes, threads=self.threads,
                )  # fmt: skip
            w_in = int(node["in_shapes"][0][-1])
            return costs.dwconv_hwc_work(
                self.bc, channels=geo.cout, ho=geo.ho, wo=geo.wo, kh=geo.kh, kw=geo.kw, stride=stride[0],
                w_in=w_in, batch=batch, in_bytes=in_bytes, out_bytes=out_bytes, threads=self.threads,
            )  # fmt: skip
        weight_bytes = (op.k * op.m + op.m) * FLOAT_BYTES * op.repeat
        if kind == "linear" or layer_type(node) == "conv1x1":
            return costs.gemm_work(
                self.bc, m=op.n, n=op.m, k=op.k, repeat=op.repeat, in_bytes=in_bytes, out_bytes=out_bytes,
                weight_bytes=weight_bytes, threads=self.threads,
            )  # fmt: skip
        taps = geo.kh * geo.kw
        w_in = int(node["in_shapes"][0][-1])
        return costs.gemm_work(
            self.bc, m=op.n, n=op.m, k=op.k // taps, repeat=op.repeat, taps=taps, in_bytes=in_bytes,
            out_bytes=out_bytes, weight_bytes=weight_bytes, threads=self.threads,
            input_reuse=taps / _stride_area(node),
            reuse_footprint=geo.kh * w_in * (geo.cin // geo.groups) * FLOAT_BYTES,
        )  # fmt: skip

    def _vector_work(self, op: Any, node: dict, fused_into: str | None) -> costs.Work:
        if fused_into is not None:
            return costs.fused_work(fused_into)
        kind = op.kind
        in_bytes, out_bytes = op.reads * FLOAT_BYTES, op.elements * FLOAT_BYTES
        t = self.threads
        if kind == "pool":
            out_spatial = int(np.prod(node["out_shape"][2:])) if len(node["out_shape"]) > 2 else 1
            if out_spatial == 1:
                return costs.reduce_work(
                    self.bc, elements=op.reads, outputs=op.elements, in_bytes=in_bytes, threads=t
                )
            taps = int(np.prod(node.get("kernel", (1,))))
            return costs.eltwise_work(
                self.bc, elements=op.elements, inputs=taps, vops=max(1, taps - 1), in_bytes=in_bytes,
                out_bytes=out_bytes, threads=t,
            )  # fmt: skip
        inputs, vops = {"add": (2, 1), "mul": (2, 1), "softmax": (1, 4), "concat": (1, 0)}.get(kind, (1, 1))
        return costs.eltwise_work(
            self.bc, elements=op.elements, inputs=inputs, vops=vops, in_bytes=in_bytes, out_bytes=out_bytes,
            threads=t,
        )  # fmt: skip

    def plan(self, prep: Prepared) -> tuple[list[OpPlan], str]:
        g = prep.graph
        spec = self.spec
        ops = list(prep.ops.ops("FF"))
        batch = int(prep.ops.graph.get("batch", 1))
        gemms = [
            op
            for op in ops
            if getattr(op, "kind", "") == "gemm" and g.nodes[op.layer]["kind"] in WEIGHT_KINDS
        ]
        views = {op.layer: self._view(prep, op.layer) for op in gemms}
        sub_z = subgraph_zero_fraction([v for v, _, _ in views.values()], spec)
        decisions = {name: decide(v, spec, sub_z) for name, (v, _, _) in views.items()}
        layout = spec.layout
        if layout == "auto":  # XNNPACK runs the sparse subgraph in NCHW (with sparse_only_if_faster: if
            # SpMM may run anywhere; the choice is made per op later)
            spmm = [
                ("spmm" in d.candidates) if spec.sparse_only_if_faster else d.family == "spmm"
                for d in decisions.values()
            ]
            layout = "nchw" if any(spmm) else "nhwc"

        fused: dict[str, str] = {}
        plans: list[OpPlan] = []
        for op in ops:
            node = g.nodes[op.layer]
            preds = list(g.predecessors(op.layer))
            reads_input = any(g.nodes[p]["kind"] == "input" for p in preds)
            if getattr(op, "kind", "") == "gemm":
                in_bytes = sum(math.prod(s) for s in node["in_shapes"]) * batch * FLOAT_BYTES
                out_bytes = int(node["out_elems"]) * batch * FLOAT_BYTES
                if node["kind"] not in WEIGHT_KINDS:  # activation x activation matmul
                    work = costs.gemm_work(
                        self.bc, m=op.m, n=op.n, k=op.k, repeat=op.repeat, in_bytes=in_bytes,
                        out_bytes=out_bytes, weight_bytes=0.0, threads=self.threads,
                    )  # fmt: skip
                    plans.append(
                        OpPlan(op, node, work, in_bytes, out_bytes, reads_input, inputs=tuple(preds))
                    )
                    continue
                in_bytes = math.prod(node["in_shapes"][0]) * batch * FLOAT_BYTES
                geo = g.geometry(op.layer)
                view, w, mask = views[op.layer]
                dec = decisions[op.layer]
                dense = self._dense_work(op, node, geo, layout, in_bytes, out_bytes)
                alternatives: dict[str, costs.Work] = {}
                if spec.sparse_only_if_faster and dec.candidates:
                    alternatives["dense"] = dense
                    for fam in dec.candidates:
                        alternatives[fam] = self._sparse_work(
                            fam, op, node, view, w, mask, in_bytes, out_bytes, geo
                        )
                    work = alternatives[dec.family]
                elif dec.sparse:
                    work = self._sparse_work(dec.family, op, node, view, w, mask, in_bytes, out_bytes, geo)
                else:
                    work = dense
                plans.append(
                    OpPlan(
                        op,
                        node,
                        work,
                        in_bytes,
                        out_bytes,
                        reads_input,
                        dec,
                        view,
                        alternatives,
                        inputs=tuple(preds),
                    )  # fmt: skip
                )
                continue
            fused_into = None
            if spec.fuse_elementwise and len(preds) == 1 and _fusable(node):
                p = preds[0]
                if g.nodes[p]["kind"] in WEIGHT_KINDS:
                    fused_into = p
                elif p in fused:
                    fused_into = fused[p]
            if fused_into is not None:
                fused[op.layer] = fused_into
            work = self._vector_work(op, node, fused_into)
            plans.append(
                OpPlan(
                    op,
                    node,
                    work,
                    op.reads * FLOAT_BYTES,
                    op.elements * FLOAT_BYTES,
                    reads_input,
                    inputs=tuple(preds),
                )  # fmt: skip
            )
        return plans, layout

    # ------------------------------------------------------------------------------ timing
    def time(self, work: costs.Work, mm: MemoryModel, input_level: str, output_level: str) -> OpTime:
        soc, t = self.soc, self.threads
        if work.family == "fused":
            return OpTime(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "-", mm.resolve([], "L1", "L1"), "-", "-")
        cores = soc.cores[:t]
        hz = [c.clock_ghz * 1e9 for c in cores]
        free = [(0.0, i) for i in range(t)]
        done = [0.0] * t
        for cyc in work.chunks:  # dynamic work queue: the next chunk goes to the first free thread
            start, i = heapq.heappop(free)
            done[i] += cyc
            heapq.heappush(free, (start + cyc / hz[i], i))
        core_s = max(s for s, _ in free)
        total = float(sum(work.chunks))
        balanced_s = total / sum(hz)
        shares = [d / total for d in done] if total else [1.0 / t] * t
        traffic = mm.resolve(work.streams, input_level, output_level)
        links = mm.link_seconds(traffic, shares)
        bottleneck = max(links, key=lambda k: links[k])
        mem_s = links[bottleneck]
        fill = mm.fill_seconds(input_level)
        dispatch = soc.parallel_dispatch_us * 1e-6 if t > 1 else 0.0
        memory_s = max(0.0, mem_s - core_s)
        stall_s = (core_s - balanced_s) + fill + dispatch
        return OpTime(
            seconds=balanced_s + memory_s + stall_s,
            compute_s=balanced_s,
            memory_s=memory_s,
            stall_s=stall_s,
            core_s=core_s,
            memory_bound_s=mem_s,
            bottleneck=bottleneck if mem_s > core_s else "core",
            traffic=traffic,
            input_level=input_level,
            output_level=output_level,
        )

    def hierarchy(self) -> CacheHierarchy:
        soc = self.soc
        return CacheHierarchy(
            soc.cache_levels(), prefetch_depth_lines=soc.prefetch_depth_lines, streams=soc.prefetch_streams
        )

    def op_lines(self, plan: OpPlan, work: costs.Work, space: streams.AddressSpace) -> streams.LineStream:
        """The op's line-address stream: its kernel's own (`work.addresses`) or, for vector ops and
        kernels without one, each input read once and the output written once."""
        op = plan.op
        ins = [p for p in plan.inputs] or [f"{op.layer}:input"]
        x = space.buffer(ins[0], plan.in_bytes)
        y = space.buffer(op.layer, plan.out_bytes)
        wbytes = sum(st.bytes for st in work.streams if st.source == "weights")
        wb = space.buffer(f"{op.layer}:weights", wbytes)
        if work.addresses is not None:
            return work.addresses(space, x, wb, y)
        share = plan.in_bytes / max(1, len(ins))
        reads = [(space.buffer(i, share), share) for i in ins] + [(wb, wbytes)]
        return streams.sequential_lines(reads, [(y, plan.out_bytes)])

    def simulate_op(self, caches: CacheHierarchy, plan: OpPlan, work: costs.Work, space) -> CacheStats:
        return streams.run_stream(caches, self.op_lines(plan, work, space))

    def time_cache(self, work: costs.Work, stats: CacheStats, mm: MemoryModel) -> OpTime:
        """Op time from the core cycles and the cache simulation: each demand miss stalls for its level's
        load-to-use latency beyond L1 divided by the misses that overlap (`miss_overlap`, at most the
        core's outstanding-miss limit); prefetched lines cost no latency. The links (L2->L1, L3->L2,
        DRAM) carry the simulated line fills and write-backs; the op takes the longer of the core (with
        its miss stalls) and the busiest link."""
        soc, t = self.soc, self.threads
        if work.family == "fused":
            return OpTime(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "-", Traffic(), "-", "-", stats, 0.0)
        cores = soc.cores[:t]
        hz = [c.clock_ghz * 1e9 for c in cores]
        free = [(0.0, i) for i in range(t)]
        done = [0.0] * t
        for cyc in work.chunks:
            start, i = heapq.heappop(free)
            done[i] += cyc
            heapq.heappush(free, (start + cyc / hz[i], i))
        core_s = max(s for s, _ in free)
        total = float(sum(work.chunks))
        balanced_s = total / sum(hz)
        shares = [d / total for d in done] if total else [1.0 / t] * t
        lat = soc.load_to_use_cycles()
        overlap = max(1.0, min(float(soc.miss_overlap), float(soc.l1_outstanding_misses)))
        stall_cycles = sum(float(stats.demand[lv]) * (lat[lv] - lat[0]) for lv in range(1, len(lat)))
        stall_cycles /= overlap
        with_stalls = max(
            f + stall_cycles * sh / h for (f, _), sh, h in zip(sorted(free, key=lambda x: x[1]), shares, hz)
        )
        traffic = Traffic()
        names = stats.levels
        for lv in range(1, len(names)):
            traffic.add(names[lv], float(stats.fills[lv]) * soc.line_bytes)
            traffic.add(names[lv], float(stats.writebacks[lv]) * soc.line_bytes, write=True)
        links = mm.link_seconds(traffic, shares)
        link = max(links, key=lambda k: links[k])
        dispatch = soc.parallel_dispatch_us * 1e-6 if t > 1 else 0.0
        busy = max(with_stalls, links[link])
        bottleneck = (
            link if links[link] > with_stalls else ("misses" if with_stalls > core_s * 1.05 else "core")
        )
        return OpTime(
            seconds=busy + dispatch,
            compute_s=balanced_s,
            memory_s=busy - core_s,
            stall_s=(core_s - balanced_s) + dispatch,
            core_s=core_s,
            memory_bound_s=links[link],
            bottleneck=bottleneck,
            traffic=traffic,
            input_level=names[1 + int(np.argmax(stats.demand[1:]))] if stats.demand[1:].sum() else "L1",
            output_level="-",
            cache=stats,
            miss_stall_s=with_stalls - core_s,
        )

    def run(self, prep: Prepared, name: str, progress: Progress | None = None) -> RunResult:
        """Time every op of `prep`; `progress(name, done=, total=)` follows the ops."""
        plans, layout = self.plan(prep)
        soc = self.soc
        probe = MemoryModel(soc, self.threads)
        weight_total = sum(s.bytes for p in plans for s in p.work.streams if s.source == "weights")
        home = "DRAM"
        llc = "L3" if soc.l3_bytes else ("L2" if soc.l2_shared else None)
        if llc and weight_total <= probe.tensor_capacity(llc):
            home = llc
        mm = MemoryModel(soc, self.threads, weights_home=home)
        caches = self.hierarchy()
        space = streams.AddressSpace()
        self.records: list[tuple[costs.Work, CacheStats | None]] = []  # per op: for re-timing (calibration)
        ref_hz = soc.clock_ghz * 1e9
        peak = soc.core.peak_macs_per_cycle
        rows: list[dict[str, Any]] = []
        clock = 0.0
        for i, p in enumerate(plans, 1):
            if progress is not None:
                progress(f"timing {name}", done=i, total=len(plans))
            op = p.op
            work, reason = p.work, (p.decision.reason if p.decision else "")
            if p.work.family == "fused":
                space.alias(op.layer, p.inputs[0] if p.inputs else op.layer)
            if p.alternatives:
                timed = {}
                states = {}
                for fam, wk in p.alternatives.items():
                    h = copy.deepcopy(caches)
                    timed[fam] = self.time_cache(wk, self.simulate_op(h, p, wk, space), mm)
                    states[fam] = h
                best = min(timed, key=lambda k: (timed[k].seconds, k != "dense"))
                work = p.alternatives[best]
                caches = states[best]
                tm = timed[best]
                listing = ", ".join(f"{k} {v.seconds * 1e6:.1f} us" for k, v in timed.items())
                reason = f"{reason}; fastest of [{listing}] (sparse_only_if_faster)"
                if best == "dense":
                    reason = f"dense faster: [{listing}] (sparse_only_if_faster)"
            elif work.family == "fused":
                tm = self.time_cache(work, caches.run(np.zeros(0, np.int64)), mm)
            else:
                tm = self.time_cache(work, self.simulate_op(caches, p, work, space), mm)
            st = tm.cache
            self.records.append((work, st))
            cycles = tm.seconds * ref_hz
            is_gemm = getattr(op, "kind", "") == "gemm"
            macs = float(op.macs) if is_gemm else 0.0
            density = float(op.density) if is_gemm else 1.0
            util = macs * density / (cycles * peak * self.threads) if is_gemm and cycles > 0 else float("nan")
            sparse = work.family in ("spmm", "group", "nm")
            rows.append(
                {
                    "op": op.name,
                    "layer": op.layer,
                    "pass": op.pass_,
                    "kind": op.kind,
                    "engine": "cpu",
                    "mode": work.label,
                    "m": op.m if is_gemm else 0,
                    "n": op.n if is_gemm else 0,
                    "k": op.k if is_gemm else 0,
                    "repeat": op.repeat if is_gemm else 1,
                    "elements": op.repeat * op.m * op.n if is_gemm else op.elements,
                    "macs": macs,
                    "density": density,
                    "start_cycle": clock,
                    "end_cycle": clock + cycles,
                    "cycles": cycles,
                    "compute_cycles": tm.compute_s * ref_hz,
                    "memory_cycles": tm.memory_s * ref_hz,
                    "stall_cycles": tm.stall_s * ref_hz,
                    "dram_bytes": tm.traffic.dram_bytes,
                    "utilisation": util,
                    "energy_j": float("nan"),
                    "kernel": work.family,
                    "sparse": sparse,
                    "reason": reason,
                    "zero_fraction": p.view.zero_fraction if p.view else float("nan"),
                    "nr": work.detail.get("nr", work.detail.get("g", np.nan)),
                    "inner_loop": work.inner,
                    "inner_bound": work.bound,
                    "bottleneck": tm.bottleneck,
                    "input_level": tm.input_level,
                    "output_level": tm.output_level,
                    "l2_bytes": tm.traffic.reads["L2"] + tm.traffic.writes["L2"],
                    "l3_bytes": tm.traffic.reads["L3"] + tm.traffic.writes["L3"],
                    "line_accesses": st.accesses if st is not None else 0,
                    "l1_misses": int(st.demand[1:].sum()) if st is not None else 0,
                    "prefetch_hits": st.prefetch_hits if st is not None else 0,
                    "miss_stall_cycles": tm.miss_stall_s * ref_hz,
                    "core_cycles": work.core_cycles,
                    "time_us": tm.seconds * 1e6,
                    **instruction_columns(self.bc.named(work.inner), work.core_cycles),
                }
            )
            clock += cycles
        ops_df = pd.DataFrame(rows)
        for col in OPS_COLUMNS:
            if col not in ops_df.columns:
                ops_df[col] = np.nan
        ops_df = ops_df[list(OPS_COLUMNS) + [c for c in ops_df.columns if c not in OPS_COLUMNS]]
        summary = self._summary(ops_df, name, layout, home, clock)
        return RunResult(name=name, target="mobile", summary=summary, ops=ops_df)

    def _summary(self, df: pd.DataFrame, name: str, layout: str, home: str, total: float) -> Summary:
        soc = self.soc
        ref_hz = soc.clock_ghz * 1e9
        seconds = total / ref_hz
        gemm = df[df["kind"] == "gemm"]
        useful = float((gemm["macs"] * gemm["density"]).sum())
        weight_ops = df[df["reason"] != ""]
        dense_ops = weight_ops[~weight_ops["sparse"]]
        return {
            "name": name,
            "target": "mobile",
            "soc": soc.name,
            "core": soc.core.name,
            "threads": self.threads,
            "cores_used": [f"{c.name} @ {c.clock_ghz} GHz" for c in soc.cores[: self.threads]],
            "layout": layout,
            "weights_home": home,
            "clock_mhz": soc.clock_ghz * 1000.0,
            "total_cycles": total,
            "seconds_simulated": seconds,
            "latency_ms": seconds * 1e3,
            "macs": float(gemm["macs"].sum()),
            "useful_macs": useful,
            "effective_gflops": 2 * useful / seconds / 1e9 if seconds else 0.0,
            "utilisation": useful / (total * soc.core.peak_macs_per_cycle * self.threads) if total else 0.0,
            "dram_bytes": float(df["dram_bytes"].sum()),
            "cycles_per_pass": {"FF": total},
            "kernels": dict(Counter(df["mode"])),
            "cycles_by_kernel": {str(k): float(v) for k, v in df.groupby("kernel")["cycles"].sum().items()},
            "sparse_layers": {str(r.layer): str(r.mode) for r in df[df["sparse"]].itertuples()},
            "dense_layers": {str(r.layer): str(r.reason) for r in dense_ops.itertuples()},
            "memory_bound_ops": int((df["memory_cycles"] > df["compute_cycles"] * 0.01).sum()),
        }


def _stride_area(node: dict) -> float:
    return float(np.prod(node.get("stride", (1,)))) or 1.0


def _fusable(node: dict) -> bool:
    """Batch norm folds into the preceding conv; ReLU-type clamps fuse into its output clamp."""
    op = str(node.get("op", "")).lower()
    if node["kind"] == "norm":
        return "batchnorm" in op
    if node["kind"] == "act":
        return any(a in op for a in _CLAMP_ACTS)
    return False


def simulate_prepared(
    prep: Prepared, soc: SoC, spec: MobileSpec, name: str, progress: Progress | None = None
) -> RunResult:
    return MobileSimulator(soc, spec).run(prep, name, progress)


def run_workload(
    wl: Workload, *, progress: Progress | None = None, ablate: bool = False, sensitivity: bool = False
) -> RunResult:
    """Simulate `wl` on its SoC and the dense model on the same SoC; `result.baseline` is the dense run.
    `sensitivity`: also each uncertain SoC parameter at the ends of its range (sparsesim.sensitivity)."""
    from ..pipeline import prepare

    if wl.task.mode != "infer":
        raise SpecError(
            f"the mobile target simulates inference only (got task.mode: {wl.task.mode})", path="task.mode"
        )
    say = progress or _silent
    soc = resolve_soc(wl.mobile)
    name = wl.resolved_name()
    prep = prepare(wl, progress=progress)
    say(f"simulating {name} on {soc.name} ({wl.mobile.threads} thread(s))")
    result = simulate_prepared(prep, soc, wl.mobile, name, say)
    # The same leading keys as the sat summary, so sweeps and reports can mix targets.
    result.summary = {
        "model": wl.model.name, "task": wl.task.mode, "batch_size": wl.task.batch_size,
        "pattern": wl.sparsity.pattern, **result.summary,
    }  # fmt: skip
    say("dense baseline")
    dense = prepare(wl, dense=True)
    base = simulate_prepared(dense, soc, wl.mobile, f"{name} (dense)", say)
    result.baseline = base
    _compare(result, base)
    _energy(result, base, soc)
    if ablate:
        result.summary["ablation"] = _ablation(prep, soc, wl.mobile, result, base, name)
    if sensitivity:
        result.summary["sensitivity"] = _sensitivity(prep, dense, soc, wl.mobile, result, name, say)
    result.extras["wall_seconds"] = dict(prep.wall_seconds)
    result.prepared = prep
    return result


def _compare(result: RunResult, base: RunResult) -> None:
    s, b = result.summary, base.summary
    s["dense_total_cycles"] = b["total_cycles"]
    s["dense_latency_ms"] = b["latency_ms"]
    s["speedup"] = b["total_cycles"] / s["total_cycles"] if s["total_cycles"] else float("nan")
    s["dense_kernels"] = b["kernels"]


def _energy(result: RunResult, base: RunResult, soc: SoC) -> None:
    """energy_j of every op (run and baseline) and the summary's energy keys (sparsesim.energy)."""
    from ..energy.model import annotate, gain, mobile_energy

    rep, brep = mobile_energy(result.ops, result.summary, soc), mobile_energy(base.ops, base.summary, soc)
    annotate(result.ops, rep)
    annotate(base.ops, brep)
    base.summary.update(brep.summary())
    result.summary.update(rep.summary())
    result.summary["dense_energy_j"] = brep.energy_j
    result.summary["energy_gain"] = gain(brep.energy_j, rep.energy_j)
    result.extras["energy_actions"] = rep.action_rows()


def _sensitivity(
    prep: Any, dense: Any, soc: SoC, spec: Any, result: RunResult, name: str, say: Progress
) -> list[dict[str, Any]]:
    """One-at-a-time study over the SoC's and the core's uncertain parameters (front end reused)."""
    from dataclasses import fields, replace

    from ..energy.model import mobile_energy
    from ..sensitivity import Outcome, run_sensitivity, uncertain_from

    top = {f.name: getattr(soc, f.name) for f in fields(soc) if f.name not in ("name", "core", "sources")}
    core = {f.name: getattr(soc.core, f.name) for f in fields(soc.core) if f.name not in ("name", "sources")}
    params = uncertain_from(top, soc.sources) + uncertain_from(core, soc.core.sources, prefix="core.")

    def evaluate(parameter: str, value: float | int) -> Outcome:
        if parameter.startswith("core."):
            varied = replace(soc, core=replace(soc.core, **{parameter[len("core."):]: value}))
        else:
            varied = replace(soc, **{parameter: value})
        run = MobileSimulator(varied, spec).run(prep, name)
        base = MobileSimulator(varied, spec).run(dense, f"{name} (dense)")
        energy = mobile_energy(run.ops, run.summary, varied).energy_j
        cycles = run.summary["total_cycles"]
        return Outcome(int(cycles), base.summary["total_cycles"] / cycles, energy)

    s = result.summary
    baseline = Outcome(int(s["total_cycles"]), float(s["speedup"]), float(s["energy_j"]))
    return run_sensitivity(params, evaluate, baseline, say)


def _ablation(
    prep: Prepared, soc: SoC, spec: MobileSpec, result: RunResult, base: RunResult, name: str
) -> dict[str, float]:
    used = set(result.ops.loc[result.ops["sparse"], "kernel"])
    variants: dict[str, Any] = {}
    for fam in sorted(used):
        variants[f"{fam} kernel off"] = spec.model_copy(
            update={"sparse_kernels": [k for k in spec.sparse_kernels if k != fam]}
        )
    spmm = result.ops[result.ops["kernel"] == "spmm"]
    if len(spmm) and (spmm["nr"] > 1).any():
        variants["blocked SpMM off (NR=1)"] = spec.model_copy(update={"spmm_block": 1})
    from ..energy.model import mobile_energy

    out, energies = {}, {}
    for label, sp in variants.items():
        res = MobileSimulator(soc, sp).run(prep, name)
        out[label] = base.summary["total_cycles"] / res.summary["total_cycles"]
        energies[label] = mobile_energy(res.ops, res.summary, soc).energy_j
    result.summary["ablation_energy_j"] = energies
    return out
