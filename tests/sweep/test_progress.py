"""The console's progress: a bar on a terminal, nothing otherwise."""

from __future__ import annotations

import io
import os
import pty
import select

from sparsesim.cli import Console
from sparsesim.sweep import load_sweep, run_sweep

from .conftest import TINY_BASE, write_sweep


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def bar_line(text: str, message: str) -> str:
    """The one terminal line a bar occupied: every redraw of it (separated by carriage returns)."""
    lines = [line for line in text.split("\n") if f"  {message} " in line and "\r" in line]
    assert len(lines) == 1, f"the bar for {message!r} drew {len(lines)} lines: {text!r}"
    return lines[0]


def test_bar_redraws_in_place_and_ends_its_line():
    out = FakeTTY()
    con = Console(stream=out)
    con.REDRAW_SECONDS = 0.0
    con.progress("building")
    for i in range(1, 4):
        con.progress("simulating ops", done=i, total=3)
    con.progress("dense baseline")
    text = out.getvalue()
    assert text.startswith("  building ...\n")
    assert text.endswith("\n  dense baseline ...\n")
    line = bar_line(text, "simulating ops")
    draws = [d for d in line.split("\r") if d]
    assert len(draws) >= 3  # redrawn in place, once per step here (no throttling)
    assert "1/3" in draws[1] and "<" in draws[1]  # count, elapsed < estimated time left
    assert "3/3" in draws[-1] and "100%" in draws[-1]


def test_a_new_message_ends_the_previous_bar():
    out = FakeTTY()
    con = Console(stream=out)
    con.progress("a", done=1, total=5)
    con.progress("b", done=1, total=2)
    con.close()
    text = out.getvalue()
    assert "1/5" in bar_line(text, "a") and "1/2" in bar_line(text, "b")
    assert text.index("  a ") < text.index("  b ") and text.endswith("\n")


def test_close_ends_an_open_bar_line_before_a_message():
    out = FakeTTY()
    con = Console(stream=out)
    con.progress("half", done=1, total=2)
    con.close()
    out.write("error: something\n")
    assert out.getvalue().split("\n")[-2] == "error: something"
    con.close()  # twice is harmless
    assert out.getvalue().endswith("error: something\n")


def test_redraws_are_throttled_but_the_last_is_drawn():
    out = FakeTTY()
    con = Console(stream=out)
    for i in range(1, 1001):
        con.progress("fast", done=i, total=1000)
    text = out.getvalue()
    assert text.count("\r") < 20 and "1000/1000" in text and text.endswith("\n")


def test_silent_when_not_a_terminal_or_quiet():
    plain = io.StringIO()
    Console(stream=plain).progress("x", done=1, total=2)
    Console(stream=plain).progress("x")
    tty = FakeTTY()
    Console(quiet=True, stream=tty).progress("x", done=1, total=1)
    assert plain.getvalue() == "" and tty.getvalue() == ""


def test_sweep_draws_a_bar_on_a_terminal(tmp_path):
    """A real terminal (a pty) on the console's stream: the sweep's bar ticks per point."""
    path = write_sweep(
        tmp_path,
        {
            "name": "bar",
            "base": TINY_BASE,
            "axes": {"accelerator.rows": [8, 16, 32]},
            "output": str(tmp_path / "out"),
        },
    )
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as terminal:
        con = Console(stream=terminal)
        assert con.enabled
        run_sweep(load_sweep(path), workers=0, progress=con.progress)
    chunks = []
    while select.select([master], [], [], 0)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    text = b"".join(chunks).decode(errors="replace")
    assert "3 points: 0 cached, 3 to run ..." in text
    line = bar_line(text.replace("\r\n", "\n"), "bar: points")  # the pty turns \n into \r\n
    assert "3/3" in line.split("\r")[-1] and "100%" in line.split("\r")[-1]


def _recording_console(monkeypatch):
    """Make the CLI's console draw on a fake terminal and record every bar update."""
    import sparsesim.cli as cli_mod

    calls: list[tuple[str, int | None, int | None]] = []
    out = FakeTTY()

    class Recording(Console):
        def __init__(self, quiet: bool = False, stream=None) -> None:
            super().__init__(quiet=quiet, stream=out)

        def progress(self, message, *, done=None, total=None):
            calls.append((message, done, total))
            super().progress(message, done=done, total=total)

    monkeypatch.setattr(cli_mod, "Console", Recording)
    return calls, out


def test_run_reports_progress_per_layer_and_per_op(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from sparsesim import cli

    calls, out = _recording_console(monkeypatch)
    wl = Path(__file__).resolve().parents[2] / "workloads" / "tiny-cnn-nm-2of4.yaml"
    assert cli.main(["run", str(wl), "-o", str(tmp_path / "o"), "--format", "json"]) == 0
    bars = {}
    for msg, done, total in calls:
        if total is not None:
            bars.setdefault(msg, []).append((done, total))
    sim = [m for m in bars if m.startswith("simulating") and "ops on a" in m]
    assert sim and any(m.startswith("pruning") for m in bars) and "dense baseline" in bars
    for msg in sim + ["dense baseline"]:
        steps = bars[msg]
        total = steps[0][1]
        assert [d for d, _ in steps] == list(range(1, total + 1)) and total > 1
    assert "100%" in out.getvalue()


def test_run_quiet_draws_nothing(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from sparsesim import cli

    calls, out = _recording_console(monkeypatch)
    wl = Path(__file__).resolve().parents[2] / "workloads" / "tiny-cnn-nm-2of4.yaml"
    assert cli.main(["run", str(wl), "-o", str(tmp_path / "o"), "--quiet"]) == 0
    assert out.getvalue() == ""


def test_an_error_mid_bar_ends_the_bar_line_before_the_message(tmp_path, monkeypatch, capsys):
    """A failure while a bar is drawn: the bar's line is ended (so `error:` starts a clean line)."""
    from pathlib import Path

    import sparsesim.targets as targets_mod
    from sparsesim import cli
    from sparsesim.errors import SpecError

    calls, out = _recording_console(monkeypatch)

    def fail_half_way(wl, *, progress=None, ablate=False, sensitivity=False, cache=None):
        progress("simulating ops", done=1, total=3)
        raise SpecError("model: made-up failure half way")

    monkeypatch.setattr(targets_mod, "simulate", fail_half_way)  # what `run` calls (through the API)
    wl = Path(__file__).resolve().parents[2] / "workloads" / "tiny-cnn-nm-2of4.yaml"
    assert cli.main(["run", str(wl), "-o", str(tmp_path / "o")]) == 2
    assert "1/3" in bar_line(out.getvalue(), "simulating ops") and out.getvalue().endswith("\n")
    assert capsys.readouterr().err.startswith("error: model: made-up failure half way")
