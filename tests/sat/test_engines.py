"""The SimPy engines: DRAM transfers, double buffering, contention, and ops run by the Machine."""

from __future__ import annotations

import pytest
import simpy

from sparsesim.sat.arch import resolve
from sparsesim.sat.engines import Dram, Machine
from sparsesim.sat.schedule import OpPlan, Schedule
from sparsesim.spec import AcceleratorSpec


def _dram(env, channels=1, bw=96.0, lat=24.0):
    return Dram(env, channels=channels, channel_bytes_per_cycle=bw, latency_cycles=lat)


def _finish_times(env, events):
    out = {}
    for name, ev in events.items():
        ev.callbacks.append(lambda _e, name=name: out.__setitem__(name, env.now))
    env.run()
    return out


def test_transfer_takes_latency_plus_bytes_over_bandwidth():
    arch = resolve(AcceleratorSpec(dram_channels=1))
    env = simpy.Environment()
    dram = _dram(env, 1, arch.dram_channel_bytes_per_cycle, arch.dram_latency_cycles)
    done = _finish_times(env, {"t": dram.transfer(96_000)})
    # 19.2 GB/s at 200 MHz = 96 B/cycle; 120 ns = 24 cycles.
    assert done["t"] == pytest.approx(24 + 96_000 / 96)
    env = simpy.Environment()
    dram4 = _dram(env, 4, 96.0, 24.0)
    assert _finish_times(env, {"t": dram4.transfer(96_000)})["t"] == pytest.approx(24 + 250)


def test_two_flows_on_one_channel_slow_each_other_fairly():
    env = simpy.Environment()
    dram = _dram(env)
    done = _finish_times(env, {"a": dram.flow(9600), "b": dram.flow(9600)})
    assert done["a"] == pytest.approx(200) and done["b"] == pytest.approx(200)  # alone: 100 each
    env = simpy.Environment()
    dram = _dram(env)
    done = _finish_times(env, {"a": dram.flow(4800), "b": dram.flow(9600)})
    assert done["a"] == pytest.approx(100) and done["b"] == pytest.approx(150)


def test_capped_flow_leaves_bandwidth_to_others():
    env = simpy.Environment()
    dram = _dram(env)  # 96 B/cycle
    done = _finish_times(env, {"slow": dram.flow(2000, cap=20.0), "fast": dram.flow(7600)})
    assert done["slow"] == pytest.approx(100)  # its cap, not half the channel
    assert done["fast"] == pytest.approx(100)  # 76 B/cycle while the capped flow runs


def _plan(name, engine="pe_array", work=1000, nbytes=0, pro=0, epi=0):
    return OpPlan(
        name, engine, "test", work_cycles=work, dram_bytes=nbytes, prologue_bytes=pro, epilogue_bytes=epi
    )


def _schedule(arch, plans, deps=None, order=None):
    order = order or [p.name for p in plans]
    return Schedule(
        arch=arch,
        plans={p.name: p for p in plans},
        order=order,
        deps=deps or {p.name: [] for p in plans},
        priority={p.name: 0.0 for p in plans},
    )


def test_double_buffering_hides_transfers_shorter_than_compute():
    arch = resolve(AcceleratorSpec(dram_channels=1))
    lat = arch.dram_latency_cycles
    short = _plan("short", work=1000, nbytes=50 * 96)  # 50 cycles of DRAM under 1000 of work
    t = Machine(_schedule(arch, [short])).run()["short"]
    assert t.end - t.start == pytest.approx(2 * lat + 1000)
    long = _plan("long", work=1000, nbytes=3000 * 96)  # DRAM-bound: the steady phase takes 3000
    t = Machine(_schedule(arch, [long])).run()["long"]
    assert t.end - t.start == pytest.approx(2 * lat + 3000)


def test_engines_contend_for_dram_and_naive_runs_one_at_a_time():
    arch = resolve(AcceleratorSpec(dram_channels=1))
    lat = arch.dram_latency_cycles
    a = _plan("a", "pe_array", work=1000, nbytes=1000 * 96)  # each needs the whole channel
    b = _plan("b", "vector", work=1000, nbytes=1000 * 96)
    times = Machine(_schedule(arch, [a, b])).run()
    for t in times.values():  # sharing the channel: both steady phases stretch to 2000
        assert t.steady == pytest.approx(2000) and t.start == 0
    times = Machine(_schedule(arch.with_optimisations(offline_schedule=False), [a, b])).run()
    assert times["a"].steady == pytest.approx(1000) and times["b"].start == pytest.approx(times["a"].end)
    assert times["b"].end == pytest.approx(2 * (2 * lat + 1000))


def test_dependencies_and_priorities_order_an_engine():
    arch = resolve(None)
    plans = [
        _plan("x", work=100),
        _plan("lo", work=100),
        _plan("hi", work=100),
        _plan("after", "vector", work=10),
    ]
    sched = _schedule(arch, plans, deps={"x": [], "lo": [], "hi": [], "after": ["x", "hi"]})
    sched.priority.update({"x": 3.0, "hi": 2.0, "lo": 1.0})
    times = Machine(sched).run()
    assert times["x"].start < times["hi"].start < times["lo"].start
    assert times["after"].start >= max(times["x"].end, times["hi"].end)


def test_op_engine_stages_are_in_the_timeline_as_in_alone_cycles():
    """An array op's fixed stages (OpPlan.prologue/epilogue_stage_cycles) delay its prologue and epilogue in
    the SimPy timeline by exactly what alone_cycles adds."""
    arch = resolve(AcceleratorSpec(dram_channels=1))
    lat, bw = arch.dram_latency_cycles, arch.dram_channel_bytes_per_cycle
    plan = OpPlan("g", "pe_array", "test", work_cycles=1000, dram_bytes=960, prologue_bytes=96,
                  epilogue_bytes=96, prologue_stage_cycles=7, epilogue_stage_cycles=2)  # fmt: skip
    t = Machine(_schedule(arch, [plan])).run()["g"]
    assert t.prologue == pytest.approx(lat + 7 + 96 / bw)
    assert t.epilogue == pytest.approx(lat + 2 + 96 / bw)
    assert t.end - t.start == pytest.approx(plan.alone_cycles(arch))
    assert plan.alone_cycles(arch) == pytest.approx(2 * lat + 9 + 192 / bw + 1000)
