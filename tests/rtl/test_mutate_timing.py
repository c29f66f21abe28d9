"""The RTL-vs-model cycle check can fail: `bench/mutate_timing.py --quick` mutates the timing model (a copy),
the RTL (elaboration parameters) and the simulator's op engine stages one change at a time and every mutation
must be reported."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.rtl

BENCH = Path(__file__).resolve().parents[2] / "bench" / "mutate_timing.py"


def test_every_mutation_is_caught():
    res = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=600)
    lines = res.stdout.strip().splitlines()
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    last = re.fullmatch(r"(\d+) of (\d+) mutations caught", lines[-1])
    assert last and last[1] == last[2] and int(last[2]) >= 30, lines[-1]
    assert sum(line.startswith("caught") for line in lines) == int(last[2])
    assert not any(line.startswith("MISSED") for line in lines)
    # the op engine's six stages (SatArch.op_*_cycles), each +1 and -1, against the op engine in Verilator
    assert sum(line.startswith("caught  sim    op_") for line in lines) == 12


def test_a_mutation_that_does_not_apply_is_an_error():
    """A stale mutation (its text no longer in timing.py) stops the bench instead of passing silently."""
    sys.path.insert(0, str(BENCH.parent))
    try:
        import mutate_timing
    finally:
        sys.path.remove(str(BENCH.parent))
    with pytest.raises(SystemExit, match="occurs 0 times"):
        mutate_timing.mutant_module(
            mutate_timing.ModelMutation("x", (("no such text in the model", "y", 1),))
        )
    # and an applied mutation really changes the copy, not the real module
    mut = next(m for m in mutate_timing.MODEL_MUTATIONS if m.name == "WS bank-free delay +1")
    from sparsesim.sat import timing

    p = timing.ArrayParams(rows=4, cols=4, multipliers=2, max_m=8, mul_latency=2, add_latency=4)
    copy = mutate_timing.mutant_module(mut)
    assert copy.ws_bank_free_delay(copy.ArrayParams(**p.__dict__)) == timing.ws_bank_free_delay(p) + 1
