"""A RUN's cycles measured on the RTL array itself, for the in-process board model (sparsesim.fpga.model).

The board model computes a RUN's values with `sparsesim.sat.numerics`; its cycle registers come from here:
the array of rtl/array.py, elaborated for the board's `ArrayConfig`, runs in Amaranth's own simulator (no
external tool) on the RUN's command word and its very weight and activation words, and the cycles of the
array's load / start / done events are read off as the board's run controller latches them
(rtl/board/runctl.py: tile cycles = done - (WS load | OS start) + 1). The timing model
(`sparsesim.sat.timing`) is not consulted, so the host-protocol tests, which compare the board model's cycles
with the timing model, compare two independent things.

One simulation per configuration stays alive between RUNs (elaborating and compiling it costs far more than a
small tile); every tile starts on an idle array, as on the board, whose run controller takes the next RUN
only after the last result of the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparsesim.rtl.array import SparseArray
from sparsesim.rtl.config import ArrayConfig

IDLE_CYCLES = 4  # idle cycles after a tile's last result before the next one (the board has many more)


@dataclass(frozen=True)
class ArrayRun:
    """Event cycles of one tile on the array's free-running counter, and its result beats."""

    load: int | None  # WS: the first weight-row write; OS: None (no load event)
    start: int  # the first beat
    done: int  # the last result leaves the array
    result_beats: int

    @property
    def first(self) -> int:
        return self.start if self.load is None else self.load

    @property
    def tile_cycles(self) -> int:
        """The board's tile register: done - (WS load | OS start) + 1."""
        return self.done - self.first + 1


class ArraySimulation:
    """The RTL array of one configuration in Amaranth's simulator, run one tile at a time on demand."""

    def __init__(self, cfg: ArrayConfig, *, max_tile_cycles: int = 1_000_000):
        from amaranth.sim import Simulator

        self.cfg = cfg
        self.max_tile_cycles = max_tile_cycles
        self._dut = SparseArray(cfg)
        self._job: tuple[int, list[int], list[int]] | None = None
        self._out: ArrayRun | None = None
        self._error: str | None = None
        self._sim = Simulator(self._dut)
        self._sim.add_clock(1e-8)
        self._sim.add_testbench(self._bench, background=True)

    async def _bench(self, ctx) -> None:
        dut = self._dut
        ctx.set(dut.results.ready, 1)
        while True:
            if self._job is None:
                await ctx.tick()
                continue
            cmd, weights, acts = self._job
            events: dict[str, int] = {}
            ci = wi = ai = beats = 0
            last = False
            for _ in range(self.max_tile_cycles):
                ctx.set(dut.cmd.valid, ci < 1)
                ctx.set(dut.cmd.payload.as_value(), cmd)
                ctx.set(dut.weights.valid, wi < len(weights))
                ctx.set(dut.weights.payload.as_value(), weights[wi] if wi < len(weights) else 0)
                ctx.set(dut.acts.valid, ai < len(acts))
                ctx.set(dut.acts.payload.as_value(), acts[ai] if ai < len(acts) else 0)
                cycle = ctx.get(dut.cycle)
                for ev in ("load", "start", "done"):
                    if ctx.get(getattr(dut, f"ev_{ev}")) and ev not in events:
                        events[ev] = cycle
                if ctx.get(dut.results.valid):
                    beats += 1
                    last = bool(ctx.get(dut.results.payload.last))
                ci += ci < 1 and ctx.get(dut.cmd.ready)
                wi += wi < len(weights) and ctx.get(dut.weights.ready)
                ai += ai < len(acts) and ctx.get(dut.acts.ready)
                await ctx.tick()
                if last and "done" in events:
                    break
            else:
                self._error = f"the array did not finish a tile within {self.max_tile_cycles} cycles"
            ctx.set(dut.cmd.valid, 0)
            ctx.set(dut.weights.valid, 0)
            ctx.set(dut.acts.valid, 0)
            for _ in range(self.max_tile_cycles):  # the array drains (OS results still leaving, flags)
                if not ctx.get(dut.busy):
                    break
                await ctx.tick()
            for _ in range(IDLE_CYCLES):
                await ctx.tick()
            if self._error is None:
                missing = {"start", "done"} - events.keys()
                if missing:
                    self._error = f"the array raised no {sorted(missing)} event"
                else:
                    self._out = ArrayRun(events.get("load"), events["start"], events["done"], beats)
            self._job = None

    def run(self, cmd: int, weights: list[int], acts: list[int]) -> ArrayRun:
        """Run one tile (the array's command word and its stream words) on the idle array."""
        self._job, self._out, self._error = (cmd, list(weights), list(acts)), None, None
        while self._job is not None:
            self._sim.advance()
        if self._error is not None:
            raise RuntimeError(f"{self.cfg.name()}: {self._error}")
        assert self._out is not None
        return self._out


_SIMULATIONS: dict[ArrayConfig, ArraySimulation] = {}


def array_simulation(cfg: ArrayConfig) -> ArraySimulation:
    """The live simulation of `cfg`'s array (one per configuration and process)."""
    if cfg not in _SIMULATIONS:
        _SIMULATIONS[cfg] = ArraySimulation(cfg)
    return _SIMULATIONS[cfg]
