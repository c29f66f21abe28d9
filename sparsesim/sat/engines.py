"""SimPy engines of the SAT-style accelerator: DRAM channels, the PE array, the vector unit, the weight-update
engine and the sparse-weight generator (SORE), running a `Schedule` (docs/architecture.md, simulation method).

Events scale with ops and DRAM flow changes, not cycles. Inside an op the array's cycles come from the timing
contract (computed by the scheduler for the op's tile runs). An op runs in three phases:

1. prologue: DRAM latency + the op engine's issue and fill stages + the first tile's operands (exposed:
   nothing to overlap with yet);
2. steady: the op's work overlapped with the rest of its DRAM traffic (double buffering), as one DRAM flow
   capped at the rate the work consumes it (bytes / work cycles): it takes max(work, bytes / bandwidth share);
3. epilogue: DRAM latency + the op engine's write-back and response stages + the last tile's results; it
   runs in the background, so the engine's next op starts its prologue meanwhile (cross-op prefetch), and
   dependants start when it is done.

DRAM: `channels` channels, address-interleaved, so a transfer sees their summed bandwidth; concurrent flows
share it max-min fairly (water-filling over their caps). Each flow change is one event.

Stall attribution per op (cycles = end - start):
- compute (work), stall_pipeline (array fill/drain/load bubbles), stall_accumulate (OS without interleave):
  from the schedule (timing contract);
- memory: what DRAM costs the op when alone (latencies and the op engine's stages around them, first loads,
  last writes, bandwidth above the work);
- stall_weights_not_ready: waiting for the SORE (generation on demand, pre-generation off);
- stall_dram_contention: the rest, i.e. DRAM slowed by other engines' concurrent traffic.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import simpy

from .schedule import ENGINES, OpPlan, Schedule


# ------------------------------------------------------------------------------------------------- DRAM
@dataclass
class _Flow:
    remaining: float
    cap: float
    event: simpy.Event
    rate: float = 0.0
    finish: float = math.inf


class Dram:
    """DRAM channels as one interleaved pool with fluid, max-min fair bandwidth sharing.

    Bandwidth in bytes per array-clock cycle; latency in cycles, paid by `transfer` (and by the op phases
    that start or end a dependency chain), not by flows of a running, pipelined stream.
    """

    def __init__(
        self,
        env: simpy.Environment,
        *,
        channels: int,
        channel_bytes_per_cycle: float,
        latency_cycles: float,
        timeline: list[tuple[float, float, int]] | None = None,
    ) -> None:
        self.env = env
        self.bandwidth = channels * channel_bytes_per_cycle
        self.latency = latency_cycles
        self.flows: dict[int, _Flow] = {}
        self._next_id = 0
        self._token = 0
        self._last = 0.0
        self.bytes_moved = 0.0
        self.timeline = timeline

    def flow(self, nbytes: float, cap: float = math.inf) -> simpy.Event:
        """An event that succeeds when `nbytes` have moved, at no more than `cap` bytes per cycle."""
        if math.isinf(self.bandwidth):  # an unlimited interface (SCALE-Sim's CALC mode): only the cap binds
            self.bytes_moved += max(0.0, nbytes)
            return self.env.timeout(nbytes / cap if nbytes > 0 and cap < math.inf else 0.0)
        ev = self.env.event()
        if nbytes <= 0:
            ev.succeed()
            return ev
        self._advance()
        self.flows[self._next_id] = _Flow(float(nbytes), cap, ev)
        self._next_id += 1
        self.bytes_moved += nbytes
        self._reallocate()
        return ev

    def transfer(self, nbytes: float) -> simpy.Process:
        """A stand-alone DMA transfer: latency, then the bytes."""

        def proc() -> Generator[Any, Any, None]:
            yield self.env.timeout(self.latency)
            yield self.flow(nbytes)

        return self.env.process(proc())

    # internals ------------------------------------------------------------------------------------
    def _advance(self) -> None:
        now = self.env.now
        dt = now - self._last
        if dt > 0:
            for f in self.flows.values():
                f.remaining -= f.rate * dt
        self._last = now

    def _reallocate(self) -> None:
        now = self.env.now
        flows = sorted(self.flows.values(), key=lambda f: f.cap)
        left = self.bandwidth
        for i, f in enumerate(flows):
            f.rate = min(f.cap, left / (len(flows) - i))
            left -= f.rate
            f.finish = now + f.remaining / f.rate if f.rate > 0 else math.inf
        if self.timeline is not None:
            self.timeline.append((now, self.bandwidth - left, len(flows)))
        if flows:
            self._token += 1
            self.env.process(self._wake(self._token, min(f.finish for f in flows) - now))

    def _wake(self, token: int, delay: float) -> Generator[Any, Any, None]:
        yield self.env.timeout(max(0.0, delay))
        if token != self._token:
            return  # a newer allocation superseded this wake-up
        self._advance()
        now = self.env.now
        eps = 1e-9 * max(1.0, now)
        for key in [k for k, f in self.flows.items() if f.finish <= now + eps]:
            self.flows.pop(key).event.succeed()
        self._reallocate()


# ------------------------------------------------------------------------------------------ op records
@dataclass
class OpTimes:
    """Measured phases of one op, in cycles (floats; rounded when tabulated)."""

    engine: str
    start: float = 0.0
    end: float = 0.0
    weights_wait: float = 0.0
    prologue: float = 0.0
    steady: float = 0.0
    epilogue: float = 0.0


class Machine:
    """Runs a Schedule: offline (engines in parallel, list scheduling by priority) or naive (one op at a
    time, in program order)."""

    def __init__(
        self,
        schedule: Schedule,
        *,
        record_timeline: bool = False,
        on_op_done: Callable[[int, int], None] | None = None,
    ) -> None:
        """`on_op_done(done, total)` is called as each op completes (a progress bar's feed)."""
        self.s = schedule
        self.on_op_done = on_op_done
        self.n_done = 0
        arch = schedule.arch
        self.env = simpy.Environment()
        self.timeline: list[tuple[float, float, int]] | None = [] if record_timeline else None
        self.dram = Dram(
            self.env,
            channels=arch.dram_channels,
            channel_bytes_per_cycle=arch.dram_bytes_per_cycle / arch.dram_channels,
            latency_cycles=arch.dram_latency_cycles,
            timeline=self.timeline,
        )
        self.times: dict[str, OpTimes] = {}
        self.done: dict[str, simpy.Event] = {n: self.env.event() for n in schedule.order}
        self.lazy = {g for gens in schedule.weight_deps.values() for g in gens}
        self.fused_of: dict[str, list[str]] = {}
        for n, plan in schedule.plans.items():
            if plan.fused_into:
                self.fused_of.setdefault(plan.fused_into, []).append(n)

    # public --------------------------------------------------------------------------------------------
    def run(self) -> dict[str, OpTimes]:
        if self.s.arch.offline_schedule:
            self._start_offline()
        else:
            self.env.process(self._sequencer())
        self.env.run()
        missing = [n for n in self.s.order if n not in self.times]
        if missing:  # a dependency cycle or a lost wake-up: a bug, never a user error
            raise RuntimeError(f"simulation ended with {len(missing)} ops not run, e.g. {missing[:3]}")
        return self.times

    # op phases --------------------------------------------------------------------------------------
    def _prologue_steady(self, plan: OpPlan, t: OpTimes) -> Generator[Any, Any, None]:
        env, dram = self.env, self.dram
        t0 = env.now
        yield env.timeout(dram.latency + plan.prologue_stage_cycles)
        if plan.prologue_bytes:
            yield dram.flow(plan.prologue_bytes)
        t.prologue = env.now - t0
        t0 = env.now
        busy, nbytes = plan.steady_floor_cycles, plan.steady_bytes
        if nbytes > 0:
            yield dram.flow(nbytes, cap=nbytes / busy if busy > 0 else math.inf)
        elif busy > 0:
            yield env.timeout(busy)
        t.steady = env.now - t0

    def _epilogue(self, name: str, plan: OpPlan, t: OpTimes) -> Generator[Any, Any, None]:
        t0 = self.env.now
        yield self.env.timeout(self.dram.latency + plan.epilogue_stage_cycles)
        if plan.epilogue_bytes:
            yield self.dram.flow(plan.epilogue_bytes)
        t.epilogue = self.env.now - t0
        t.end = self.env.now
        self._complete(name)

    def _complete(self, name: str) -> None:
        self.done[name].succeed()
        self.n_done += 1
        if self.on_op_done is not None:
            self.on_op_done(self.n_done, len(self.s.order))
        for f in self.fused_of.get(name, ()):
            self.times[f] = OpTimes(self.s.plans[f].engine, start=self.env.now, end=self.env.now)
            self._complete(f)
        if self.s.arch.offline_schedule:
            for succ in self.succ.get(name, ()):
                self.pending[succ] -= 1
                if self.pending[succ] == 0 and succ not in self.lazy and not self.s.plans[succ].fused_into:
                    self._push(succ, self.s.priority.get(succ, 0.0))

    # offline: engines in parallel ----------------------------------------------------------------------
    def _start_offline(self) -> None:
        s = self.s
        self.succ: dict[str, list[str]] = {n: [] for n in s.order}
        self.pending: dict[str, int] = {}
        for n in s.order:
            ds = s.deps[n]
            self.pending[n] = len(ds)
            for d in ds:
                self.succ[d].append(n)
        self.ready: dict[str, list[tuple[float, int, str]]] = {e: [] for e in ENGINES}
        self.wake: dict[str, simpy.Event | None] = dict.fromkeys(ENGINES)
        self.remaining = dict.fromkeys(ENGINES, 0)
        self._seq = 0
        self.triggered: set[str] = set()
        for n in s.order:
            plan = s.plans[n]
            if plan.fused_into:
                continue
            self.remaining[plan.engine] += 1
            if self.pending[n] == 0 and n not in self.lazy:
                self._push(n, s.priority.get(n, 0.0))
        for e in ENGINES:
            if self.remaining[e]:
                self.env.process(self._engine(e))

    def _push(self, name: str, priority: float) -> None:
        engine = self.s.plans[name].engine
        self._seq += 1
        heapq.heappush(self.ready[engine], (-priority, self._seq, name))
        ev = self.wake[engine]
        if ev is not None and not ev.triggered:
            ev.succeed()

    def _engine(self, engine: str) -> Generator[Any, Any, None]:
        s, env = self.s, self.env
        queue = self.ready[engine]
        while self.remaining[engine] > 0:
            if not queue:
                self.wake[engine] = env.event()
                yield self.wake[engine]
                continue
            _, _, name = heapq.heappop(queue)
            plan = s.plans[name]
            t = self.times[name] = OpTimes(engine, start=env.now)
            gens = [g for g in s.weight_deps.get(name, ()) if not self.done[g].triggered]
            for g in gens:
                if g not in self.triggered:
                    self.triggered.add(g)
                    self._push(g, math.inf)  # generate on demand, ahead of anything else
            if gens:
                yield simpy.AllOf(env, [self.done[g] for g in gens])
            t.weights_wait = env.now - t.start
            yield from self._prologue_steady(plan, t)
            self.remaining[engine] -= 1
            env.process(self._epilogue(name, plan, t))

    # naive: one op at a time, in program order ------------------------------------------------------
    def _sequencer(self) -> Generator[Any, Any, None]:
        s, env = self.s, self.env
        for name in s.order:
            plan = s.plans[name]
            if name in self.lazy or plan.fused_into:
                continue
            start = env.now
            for g in s.weight_deps.get(name, ()):
                yield from self._run_alone(g, env.now)
            yield from self._run_alone(name, start)

    def _run_alone(self, name: str, start: float) -> Generator[Any, Any, None]:
        plan = self.s.plans[name]
        t = self.times[name] = OpTimes(plan.engine, start=start)
        t.weights_wait = self.env.now - start
        yield from self._prologue_steady(plan, t)
        yield from self._epilogue(name, plan, t)
