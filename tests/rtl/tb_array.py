"""cocotb bench of the PE array top level (sparsesim.rtl.array.SparseArray), in the style of cocotb's
matrix_multiplier example: stream drivers, monitors (results, events), a reference model (numerics, torch,
timing: rtl_plan) and a scoreboard. Its configuration comes from the pytest runner (SPARSESIM_RTL_BENCH).

One coroutine clocks everything (two awaits per cycle: drive after the edge, sample in ReadOnly), which keeps
cocotb's per-cycle overhead low.
"""

from __future__ import annotations

import random
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from rtl_plan import Plan, Scoreboard, array_plan, bench_config, split_tiles, stall_plan, write_report


class StreamDriver:
    """Drives one valid/ready input stream with a list of payload words, optionally with random gaps (valid
    low between transfers; a shown word stays until it is taken, as the protocol requires)."""

    def __init__(self, dut, name: str, words: list[int], *, gap_prob: float = 0.0, rng: random.Random | None = None):
        self.valid = getattr(dut, f"{name}__valid")
        self.payload = getattr(dut, f"{name}__payload")
        self.ready = getattr(dut, f"{name}__ready")
        self.words, self.gap_prob, self.rng = words, gap_prob, rng or random.Random(0)
        self.index = 0
        self.showing = False

    def drive(self) -> None:
        if self.showing:
            return
        if self.index < len(self.words) and not (self.gap_prob and self.rng.random() < self.gap_prob):
            self.payload.value = self.words[self.index]
            self.valid.value = 1
            self.showing = True
        else:
            self.valid.value = 0

    def sample(self) -> None:
        if self.showing and int(self.ready.value):
            self.index += 1
            self.showing = False

    @property
    def done(self) -> bool:
        return self.index == len(self.words)


class ResultMonitor:
    """Collects every transferred result beat; drives `results.ready` (always, or randomly)."""

    def __init__(self, dut, *, ready_prob: float = 1.0, rng: random.Random | None = None):
        self.valid, self.ready = dut.results__valid, dut.results__ready
        self.payload = dut.results__payload
        self.ready_prob, self.rng = ready_prob, rng or random.Random(1)
        self.words: list[int] = []
        self.tiles = 0  # beats with `last` set
        self.last_bit = None
        self.ready_now = 1

    def drive(self) -> None:
        self.ready_now = int(self.ready_prob >= 1.0 or self.rng.random() < self.ready_prob)
        self.ready.value = self.ready_now

    def sample(self) -> None:
        if self.ready_now and int(self.valid.value):
            word = self.payload.value.to_unsigned()
            self.words.append(word)
            self.tiles += (word >> self.last_bit) & 1


class EventMonitor:
    """Records the hardware cycle counter at every ev_load / ev_start / ev_done pulse."""

    def __init__(self, dut):
        self.dut = dut
        self.signals = {"load": dut.ev_load, "start": dut.ev_start, "done": dut.ev_done}
        self.cycles: dict[str, list[int]] = {k: [] for k in self.signals}

    def sample(self) -> None:
        fired = [k for k, s in self.signals.items() if int(s.value)]
        if fired:
            now = self.dut.cycle.value.to_unsigned()
            for k in fired:
                self.cycles[k].append(now)


async def reset(dut) -> None:
    dut.rst.value = 1
    for name in ("cmd", "weights", "acts"):
        getattr(dut, f"{name}__valid").value = 0
    dut.results__ready.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def run_plan(dut, plan: Plan, *, gap_prob: float = 0.0, ready_prob: float = 1.0, seed: int = 0):
    Clock(dut.clk, 10, unit="ns").start()
    await reset(dut)
    rng = random.Random(seed)
    cmds, weights, acts = plan.streams()
    drivers = [
        StreamDriver(dut, "cmd", cmds, gap_prob=gap_prob, rng=rng),
        StreamDriver(dut, "weights", weights, gap_prob=gap_prob, rng=rng),
        StreamDriver(dut, "acts", acts, gap_prob=gap_prob, rng=rng),
    ]
    results = ResultMonitor(dut, ready_prob=ready_prob, rng=rng)
    results.last_bit = 32 * plan.cfg.cols
    events = EventMonitor(dut)
    tiles = len(cmds)
    limit = 20 * (len(weights) + len(acts) + sum(t.result_beats for t in plan.tiles())) + 1000
    cycles = 0
    t0 = time.perf_counter()
    while len(events.cycles["done"]) < tiles or results.tiles < tiles:
        for d in drivers:
            d.drive()
        results.drive()
        await ReadOnly()
        for d in drivers:
            d.sample()
        results.sample()
        events.sample()
        await RisingEdge(dut.clk)
        cycles += 1
        assert cycles < limit, f"no progress: {len(events.cycles['done'])}/{tiles} tiles done after {cycles} cycles"
    wall = time.perf_counter() - t0
    return results, events, cycles, wall


@cocotb.test()
async def full_streams(dut):
    """Every tile of the plan with full streams: values vs numerics and torch, cycles vs timing."""
    cfg, spec = bench_config()
    plan = array_plan(cfg, seed=spec.get("seed", 1), size=spec.get("size", "ci"))
    results, events, cycles, wall = await run_plan(dut, plan)
    sb = Scoreboard(cfg)
    sb.check_values(plan, split_tiles(results.words, cfg))
    sb.check_timing(plan, events.cycles["load"], events.cycles["start"], events.cycles["done"])
    report = sb.report() | {"cycles": cycles, "wall_s": wall, "cycles_per_s": cycles / wall,
                            "sequences": len(plan.sequences), "modes": sorted({str(s.mode) for s in plan.sequences})}
    write_report(spec, "full_streams", report)
    assert not sb.mismatches, "\n".join(sb.mismatches[:20])


@cocotb.test()
async def random_stalls(dut):
    """Gaps in every input stream and result back-pressure: the array stalls and loses nothing."""
    cfg, spec = bench_config()
    plan = stall_plan(cfg, seed=spec.get("seed", 1) + 1)
    results, _, cycles, wall = await run_plan(dut, plan, gap_prob=0.3, ready_prob=0.6, seed=7)
    sb = Scoreboard(cfg)
    sb.check_values(plan, split_tiles(results.words, cfg))
    write_report(spec, "random_stalls", sb.report() | {"cycles": cycles, "wall_s": wall})
    assert not sb.mismatches, "\n".join(sb.mismatches[:20])
