"""`sparsesim fpga build` (without Yosys): the Vivado tree's files, part, clock constraint, pin locations,
bitstream settings, MMCM and the console's instructions. The expected pins are written out here from the
sources (UG1289, Corundum's VCU1525 XDC, LiteX's sqrl_xcu1525.py; docs/fpga.md), not read back from
rtl/vcu1525.py, so a wrong edit there fails this test."""

from __future__ import annotations

import json
import re

import pytest
from fpga_helpers import TINY_ACCELERATOR

NAME = "sparsesim_vcu1525"

# port -> (LOC, IOSTANDARD)
EXPECTED_PINS = {
    "clk300_0__p": ("AY37", "DIFF_SSTL12"), "clk300_0__n": ("AY38", "DIFF_SSTL12"),
    "led_0__io": ("BC21", "LVCMOS12"), "led_1__io": ("BB21", "LVCMOS12"), "led_2__io": ("BA20", "LVCMOS12"),
    "switch_0__io": ("AN22", "LVCMOS12"), "switch_1__io": ("AM19", "LVCMOS12"),
    "switch_2__io": ("AL19", "LVCMOS12"), "switch_3__io": ("AP20", "LVCMOS12"),
    "uart_0__rx__io": ("BF18", "LVCMOS12"), "uart_0__tx__io": ("BB20", "LVCMOS12"),
}  # fmt: skip

EXPECTED_BITSTREAM = {
    "CONFIG_VOLTAGE": "1.8", "CFGBVS": "GND", "BITSTREAM.GENERAL.COMPRESS": "TRUE",
    "BITSTREAM.CONFIG.OVERTEMPSHUTDOWN": "ENABLE", "BITSTREAM.CONFIG.SPI_BUSWIDTH": "4",
    "BITSTREAM.CONFIG.SPI_32BIT_ADDR": "YES", "BITSTREAM.CONFIG.CONFIGRATE": "85.0",
    "BITSTREAM.CONFIG.UNUSEDPIN": "PULLUP",
}  # fmt: skip


def _port_props(xdc: str) -> dict[str, dict[str, str]]:
    props: dict[str, dict[str, str]] = {}
    for prop, value, port in re.findall(
        r'^set_property (\S+) "?([^"\s]+)"? \[get_ports "?([^"\]]+)"?\]', xdc, re.M
    ):
        props.setdefault(port, {})[prop] = value
    return props


def test_the_build_succeeds_and_says_how_to_run_vivado(tiny_tree):
    assert tiny_tree.code == 0, tiny_tree.stderr
    out = tiny_tree.stdout
    assert "xcvu9p-fsgd2104-2L-e" in out
    assert f"cd {tiny_tree.tree} && sh build_{NAME}.sh" in out
    assert "Vivado not run (--no-vivado)" in out
    for name in (
        f"{NAME}.v",
        f"{NAME}.xdc",
        f"{NAME}.tcl",
        f"build_{NAME}.sh",
        "sparse_array_cell.v",
        "sparsesim_sdp_ram.v",
        "config.json",
        "README.md",
    ):
        assert (tiny_tree.tree / name).stat().st_size > 0, name
    assert not list(tiny_tree.tree.parent.glob(".tree.tmp-*")), "a temporary folder was left behind"


def test_tcl_targets_the_vcu1525_part_and_reads_every_source(tiny_tree):
    tcl = (tiny_tree.tree / f"{NAME}.tcl").read_text()
    assert re.search(rf"^create_project -force -name {NAME} -part xcvu9p-fsgd2104-2L-e$", tcl, re.M)
    for src in ("sparse_array_cell.v", "sparsesim_sdp_ram.v", f"{NAME}.v"):
        assert re.search(rf'^add_files "?{re.escape(src)}"?$', tcl, re.M), src
    assert f"read_xdc {NAME}.xdc" in tcl
    assert f"synth_design -top {NAME}" in tcl
    assert re.search(rf"^write_bitstream -force -bin_file {NAME}\.bit$", tcl, re.M)
    assert f"report_timing_summary -datasheet -max_paths 10 -file {NAME}_timing.rpt" in tcl
    assert f"report_utilization -file {NAME}_utilization_place.rpt" in tcl
    script = (tiny_tree.tree / f"build_{NAME}.sh").read_text()
    assert '[ -n "$AMARANTH_ENV_VIVADO" ] && . "$AMARANTH_ENV_VIVADO"' in script
    assert f'"$VIVADO" -mode batch -log {NAME}.log -source {NAME}.tcl' in script


def test_xdc_pins_and_io_standards(tiny_tree):
    props = _port_props((tiny_tree.tree / f"{NAME}.xdc").read_text())
    assert set(props) == set(EXPECTED_PINS)
    for port, (loc, std) in EXPECTED_PINS.items():
        assert props[port]["LOC"] == loc, port
        assert props[port]["IOSTANDARD"] == std, port
    assert props["uart_0__tx__io"]["DRIVE"] == "8" and "DRIVE" not in props["uart_0__rx__io"]


def test_xdc_clock_constraints(tiny_tree):
    xdc = (tiny_tree.tree / f"{NAME}.xdc").read_text()
    (period,) = re.findall(r"^create_clock -name clk300_0__p -period ([\d.]+) ", xdc, re.M)
    assert float(period) == pytest.approx(1e9 / 300e6, abs=1e-6)
    assert re.search(r"^create_generated_clock -name clk_array \[get_pins .*crg/mmcm/CLKOUT0", xdc, re.M)
    assert "set_false_path -from [get_ports -filter {DIRECTION == IN && NAME !~ clk300*}]" in xdc


def test_xdc_bitstream_settings(tiny_tree):
    xdc = (tiny_tree.tree / f"{NAME}.xdc").read_text()
    found = dict(re.findall(r"^set_property (\S+) (\S+) \[current_design\]", xdc, re.M))
    for prop, value in EXPECTED_BITSTREAM.items():
        assert found.get(prop) == value, prop


def test_the_mmcm_makes_the_workload_clock_and_the_array_has_its_cells(tiny_tree):
    v = (tiny_tree.tree / f"{NAME}.v").read_text()
    mmcm = v[v.index("MMCME4_ADV") :]
    mult = float(re.search(r"\.CLKFBOUT_MULT_F\(([\d.]+)\)", mmcm).group(1))
    out_div = float(re.search(r"\.CLKOUT0_DIVIDE_F\(([\d.]+)\)", mmcm).group(1))
    divclk = int(re.search(r"\.DIVCLK_DIVIDE\((?:32'd)?(\d+)\)", mmcm).group(1))
    assert float(re.search(r"\.CLKIN1_PERIOD\(([\d.]+)\)", mmcm).group(1)) == pytest.approx(3.333)
    vco = 300.0 * mult / divclk
    assert 800.0 <= vco <= 1600.0  # DS923, all -2L speed grades
    assert vco / out_div == pytest.approx(TINY_ACCELERATOR["clock_mhz"], rel=1e-4)
    cells = re.findall(r"^\s*sparse_array_cell \S+ \(", v, re.M)
    assert len(cells) == TINY_ACCELERATOR["rows"] * TINY_ACCELERATOR["cols"]
    assert "IBUFDS" in v and re.search(r"^\s*BUFG \S+ \(", v, re.M)


def test_config_json_records_the_build(tiny_tree):
    config = json.loads((tiny_tree.tree / "config.json").read_text())
    assert config["part"] == "xcvu9p-fsgd2104-2L-e"
    assert (
        config["pins"]["uart[0].rx"]["pin"] == "BF18" and "UG1289" in config["pins"]["uart[0].rx"]["source"]
    )
    assert all(p["source"] for p in config["pins"].values())
    assert config["board_params"]["uram"] is True
    assert config["mmcm"]["fout_mhz"] == pytest.approx(TINY_ACCELERATOR["clock_mhz"], rel=1e-4)
    info = config["info"]
    assert (info["rows"], info["cols"], info["precision"]) == (2, 2, 1)  # 1: int8
    # buffer depths from the spec: 1 KiB / word width, rounded down
    for b in config["buffers"]:
        assert b["depth"] == (1024 * 8) // b["word_bits"]
    assert "estimate" not in config  # --no-estimate


def test_swap_uart_moves_only_the_uart(tmp_path):
    from fpga_helpers import run_cli, write_workload

    wl = write_workload(tmp_path / "w.yaml", TINY_ACCELERATOR)
    code, _, err, _ = run_cli(
        [
            "fpga",
            "build",
            str(wl),
            "-o",
            str(tmp_path / "t"),
            "--no-estimate",
            "--no-vivado",
            "--swap-uart",
            "-q",
        ]
    )
    assert code == 0, err
    props = _port_props((tmp_path / "t" / f"{NAME}.xdc").read_text())
    assert props["uart_0__rx__io"]["LOC"] == "BB20" and props["uart_0__tx__io"]["LOC"] == "BF18"
    assert props["led_0__io"]["LOC"] == "BC21"
