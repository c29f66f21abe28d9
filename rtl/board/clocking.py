"""Clocking of the board: the MMCM divider solver and the clock/reset generator (300 MHz board clock ->
IBUFDS -> MMCME4_ADV -> BUFG -> domain "sync")."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import ClockSignal, Elaboratable, Instance, Module, Signal
from amaranth.lib import cdc, io

# Virtex UltraScale+ MMCM limits, DS923 "MMCM Switching Characteristics" [K]: VCO 800-1600 MHz (all grades),
# input >= 10 MHz; output max 775 MHz (-2 at 0.85 V; the -2L part runs at 0.85 V); PFD max 450 MHz (the
# lowest grade's value, conservative). Counter ranges, UG572 "MMCM Attributes" [K]: CLKFBOUT_MULT_F and
# CLKOUT0_DIVIDE_F 2.000-128.000 in steps of 0.125, DIVCLK_DIVIDE 1-106.
VCO_MHZ = (800.0, 1600.0)
PFD_MHZ = (10.0, 450.0)
FOUT_MAX_MHZ = 775.0
MULT_RANGE = (2.0, 128.0)
OUT_DIV_RANGE = (2.0, 128.0)
DIVCLK_MAX = 106
FREQ_TOLERANCE = 1e-4  # relative: closer than 100 ppm counts as reached


@dataclass(frozen=True)
class MMCMDividers:
    """fout = fin * M / (D * O); VCO = fin * M / D."""

    fin_mhz: float
    mult: float  # M, CLKFBOUT_MULT_F
    divclk: int  # D, DIVCLK_DIVIDE
    out_div: float  # O, CLKOUT0_DIVIDE_F

    @property
    def vco_mhz(self) -> float:
        return self.fin_mhz * self.mult / self.divclk

    @property
    def fout_mhz(self) -> float:
        return self.vco_mhz / self.out_div


def mmcm_dividers(fin_mhz: float, fout_mhz: float) -> MMCMDividers:
    """M/D/O for an MMCME4 from `fin_mhz` to `fout_mhz` within the VCO/PFD limits above.

    Among settings within FREQ_TOLERANCE of the target, prefer the exact ones, then integer M and O (no
    fractional-divider jitter), then a high VCO (lower jitter), then a small D. ValueError (naming the
    reachable range or the closest frequency) if none exists."""
    lo_out = VCO_MHZ[0] / OUT_DIV_RANGE[1]
    if not lo_out <= fout_mhz <= FOUT_MAX_MHZ:
        raise ValueError(
            f"{fout_mhz:g} MHz is outside the MMCM's output range {lo_out:g}-{FOUT_MAX_MHZ:g} MHz (DS923)"
        )
    best, best_key, closest = None, None, None
    for d in range(1, DIVCLK_MAX + 1):
        pfd = fin_mhz / d
        if pfd < PFD_MHZ[0]:
            break
        if pfd > PFD_MHZ[1]:
            continue
        for m8 in range(int(MULT_RANGE[0] * 8), int(MULT_RANGE[1] * 8) + 1):
            vco = pfd * m8 / 8
            if not VCO_MHZ[0] <= vco <= VCO_MHZ[1]:
                continue
            o8 = round(vco / fout_mhz * 8)
            if not OUT_DIV_RANGE[0] * 8 <= o8 <= OUT_DIV_RANGE[1] * 8:
                continue
            got = vco / (o8 / 8)
            err = abs(got - fout_mhz) / fout_mhz
            cand = MMCMDividers(fin_mhz, m8 / 8, d, o8 / 8)
            if closest is None or err < closest[0]:
                closest = (err, cand)
            if err > FREQ_TOLERANCE:
                continue
            key = (err > 1e-12, m8 % 8 != 0 or o8 % 8 != 0, -vco, d)
            if best_key is None or key < best_key:
                best, best_key = cand, key
    if best is None:
        hint = f"; closest is {closest[1].fout_mhz:.6g} MHz" if closest else ""
        raise ValueError(f"{fout_mhz:g} MHz cannot be made from {fin_mhz:g} MHz by the MMCM{hint}")
    return best



class CRG(Elaboratable):
    """Clock and reset: the 300 MHz board clock through an MMCME4_ADV to the array clock (drives domain
    "sync", which the parent defines), reset held until the MMCM locks, released synchronously."""

    def __init__(self, dividers: MMCMDividers):
        self.dividers = dividers
        self.locked = Signal()

    def elaborate(self, platform):
        m = Module()
        d = self.dividers
        m.submodules.clk300 = clk300 = io.Buffer("i", platform.request("clk300", 0, dir="-"))  # IBUFDS
        clkfb, clkout = Signal(), Signal()
        m.submodules.mmcm = Instance(
            "MMCME4_ADV",
            p_BANDWIDTH="OPTIMIZED", p_COMPENSATION="AUTO", p_STARTUP_WAIT="FALSE",
            p_CLKIN1_PERIOD=round(1000.0 / d.fin_mhz, 3), p_REF_JITTER1=0.01,
            p_DIVCLK_DIVIDE=d.divclk, p_CLKFBOUT_MULT_F=float(d.mult), p_CLKFBOUT_PHASE=0.0,
            p_CLKOUT0_DIVIDE_F=float(d.out_div), p_CLKOUT0_DUTY_CYCLE=0.5, p_CLKOUT0_PHASE=0.0,
            i_CLKIN1=clk300.i, i_CLKIN2=0, i_CLKINSEL=1, i_CLKFBIN=clkfb, o_CLKFBOUT=clkfb,
            o_CLKOUT0=clkout, o_LOCKED=self.locked,
            i_RST=0, i_PWRDWN=0, i_CDDCREQ=0,
            i_DCLK=0, i_DEN=0, i_DWE=0, i_DADDR=0, i_DI=0,
            i_PSCLK=0, i_PSEN=0, i_PSINCDEC=0,
        )  # fmt: skip
        m.submodules.bufg = Instance("BUFG", i_I=clkout, o_O=ClockSignal("sync"))
        m.submodules.reset_sync = cdc.ResetSynchronizer(~self.locked, domain="sync")
        return m
