"""Our ASIC energy per MAC and per memory access against ZigZag's, a peer design-space-exploration tool.

ZigZag (`pip install zigzag-dse`; L. Mei et al., "ZigZag: Enlarging Joint Architecture-Mapping Design Space
Exploration for DNN Accelerators", IEEE Trans. Computers 70(8), 2021) charges every MAC a fixed
`unit_energy` and every memory access the `r_cost` / `w_cost` of its memory, per access of the port's
widest word (`bandwidth_max` bits: its cost model counts accesses as bits moved / that width). Two
comparisons, printed as ratios (ZigZag / ours), not a test:

1. ZigZag's example architectures, as shipped in the package (`zigzag/inputs/hardware/*.yaml`: TPU-like,
   Edge-TPU-like, Eyeriss-like, ...): per MAC and per byte read or written at each memory, against our
   ASIC table (`sparsesim.energy.tables.asic_table`) for the same operation and a memory of the same size.
   The files do not state their technology node; we compare at 28 nm, the node ZigZag's CACTI wrapper
   special-cases (it runs CACTI at 32 nm and scales the energies by 0.9^2).
2. With `--cacti` (needs `make` and a C++ compiler): ZigZag's own CACTI wrapper (`get_cacti_cost`) at
   28 nm for SRAMs of the sizes our buffers and Horowitz's table use, per byte, against ours. CACTI is built
   from the sources ZigZag ships, in a temporary folder (nothing is written anywhere else).

    .venv/bin/python bench/energy_vs_zigzag.py [--node 28] [--cacti]

Exit 3 when zigzag-dse is not installed (`pip install 'sparsesim[peers]'`), or `--cacti` cannot build CACTI.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from sparsesim.energy import tables as T
from sparsesim.sat.arch import resolve
from sparsesim.spec import AcceleratorSpec

PJ = 1e-12


def zigzag_root() -> Path | None:
    """The installed zigzag package's folder, found without importing it (its import pulls in onnx etc.)."""
    spec = importlib.util.find_spec("zigzag")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def ours_mac_pj(node_nm: float, bits: int) -> float:
    """Our MAC at the node: a multiply plus the accumulating add (INT8 -> INT32, FP16 -> FP32), as the
    ASIC table charges one `pe_multiply` and one `pe_add` per MAC."""
    arch = resolve(AcceleratorSpec(precision="int8" if bits <= 8 else "fp16"))
    t = T.asic_table(arch, node_nm)
    return (t.energy("pe_multiply") + t.energy("pe_add")) / PJ


# Memories below 1 KiB are register files in ZigZag's examples; ours have no register action to compare.
REGISTER_FILE_BYTES = 1024
# Memories of 1 GB and more are off-chip DRAM in ZigZag's examples (e.g. gemm_l1_l3's "l3", LPDDR5)
OFF_CHIP_BYTES = 1 << 30


def ours_sram_pj_per_byte(node_nm: float, size_bytes: float) -> float:
    """What our ASIC table charges per byte of an SRAM of that size: up to 32 KiB, Horowitz's per-64-bit
    figure for the size (`tables.sram_pj_per_64b`) per 8 B; above, the accelerator's banked buffers (one
    32 KB bank per access, the buffer actions of `asic_table`), scaled to the node."""
    if size_bytes > 32 * 1024:
        t = T.asic_table(resolve(AcceleratorSpec()), node_nm)
        return t.energy("act_buffer_read_byte") / PJ
    return T.sram_pj_per_64b(size_bytes / 1024) / 8 * T.tech_scale(45.0, node_nm)


def ours_dram_pj_per_byte() -> tuple[float, float]:
    d = T.ddr4_figures()
    act = d.activate_j_per_byte
    return (d.read_j_per_byte + act) / PJ, (d.write_j_per_byte + act) / PJ


def _width_bits(mem: dict, kind: str) -> int:
    widths = [p["bandwidth_max"] for p in mem.get("ports", []) if p["type"] in (kind, "read_write")]
    return int(max(widths)) if widths else 0


def shipped_architectures(root: Path, node_nm: float) -> list[dict]:
    rows = []
    for path in sorted((root / "inputs" / "hardware").glob("*.yaml")):
        arch = yaml.safe_load(path.read_text())
        array = arch.get("operational_array", {})
        if "unit_energy" not in array or "memories" not in arch:
            continue  # in-memory-computing macros describe their cells otherwise
        name = arch.get("name", path.stem)
        # the MAC's precision: the widest operand register's port (8 or 16 bit in the shipped files)
        regs = [m for m in arch["memories"].values() if m["size"] <= 2048 and m.get("ports")]
        bits = max((_width_bits(m, "read") for m in regs if set(m["operands"]) & {"I1", "I2"}), default=8)
        mac = ours_mac_pj(node_nm, 8 if bits <= 8 else 16)
        rows.append({"arch": name, "what": f"MAC ({'INT8' if bits <= 8 else '16-bit'})",
                     "zigzag_pj": float(array["unit_energy"]), "ours_pj": mac})  # fmt: skip
        for mname, mem in arch["memories"].items():
            rb, wb = _width_bits(mem, "read"), _width_bits(mem, "write")
            size_bytes = mem["size"] / 8
            if not rb or size_bytes < REGISTER_FILE_BYTES:
                continue  # register files: our tables have no per-access register action to compare
            if "dram" in mname.lower() or size_bytes >= OFF_CHIP_BYTES:
                ours_r, ours_w = ours_dram_pj_per_byte()
            else:
                ours_r = ours_w = ours_sram_pj_per_byte(node_nm, size_bytes)
            rows.append({"arch": name, "what": f"{mname} read / B", "zigzag_pj": mem["r_cost"] / (rb / 8),
                         "ours_pj": ours_r})  # fmt: skip
            if wb:
                rows.append({"arch": name, "what": f"{mname} write / B",
                             "zigzag_pj": mem["w_cost"] / (wb / 8), "ours_pj": ours_w})  # fmt: skip
    return rows


def build_cacti(root: Path, where: Path) -> Path:
    """CACTI from the sources ZigZag ships, built in `where` (kept: a second run reuses it). Linked with
    -no-pie: its objects are not position independent and today's toolchains default to PIE."""
    src = where / "cacti"
    if (src / "cacti").exists():
        return src
    if not (shutil.which("make") and shutil.which("g++")):
        raise RuntimeError("building CACTI needs make and g++")
    shutil.copytree(root / "cacti" / "cacti_master", src, dirs_exist_ok=True)
    build = subprocess.run(["make", "CXX=g++ -no-pie"], cwd=src, capture_output=True, text=True)
    if build.returncode or not (src / "cacti").exists():
        raise RuntimeError(f"CACTI did not build: {build.stderr[-400:]}")
    return src


def zigzag_cacti_energy_pj(src: Path, node_nm: float, size_bytes: int, bw: int) -> tuple[float, float]:
    """Read / write energy per access of `bw` bits from ZigZag's `get_cacti_cost`. zigzag-dse 3.9.1's reader
    stops at the first "N/A" in CACTI's output row (a column it does not use); then the same row is read
    here with ZigZag's own scaling (28 nm: CACTI at 32 nm x 0.9^2; words wider than 32 bits: a 32-bit
    array x bw / 32)."""
    import os

    from zigzag.hardware.architecture.get_cacti_cost import get_cacti_cost

    cwd = os.getcwd()
    # CACTI prints its whole report on the process's stdout: send it to /dev/null at the descriptor level
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        _, _, r, w = get_cacti_cost(str(src), node_nm / 1000, "sram", size_bytes, bw)
        return r, w
    except ValueError:
        out = [ln for ln in (src / "self_gen" / "cache_a.cfg.out").read_text().splitlines() if ln.strip()]
        # CACTI appends a row per run; the last is this one (ZigZag reads the last too)
        row = dict(zip([h.strip() for h in out[0].split(",")], [v.strip() for v in out[-1].split(",")]))
        k = (0.9 * 0.9 if node_nm == 28 else 1.0) * (bw / 32 if bw > 32 else 1.0) * 1000
        return float(row["Dynamic read energy (nJ)"]) * k, float(row["Dynamic write energy (nJ)"]) * k
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
        os.chdir(cwd)  # the wrapper works inside CACTI's folder and does not return on an error


def cacti_rows(root: Path, node_nm: float, where: Path) -> list[dict]:
    """ZigZag's CACTI wrapper at the node for SRAMs of Horowitz's sizes, 64-bit words."""
    src = build_cacti(root, where)
    rows = []
    scale = T.tech_scale(45.0, node_nm)
    for kib in (8, 32, 256, 1024):
        bw = 64
        r_cost, w_cost = zigzag_cacti_energy_pj(src, node_nm, kib * 1024, bw)
        ours = T.sram_pj_per_64b(kib) / 8 * scale  # a monolithic SRAM of that size, as CACTI models it
        for what, cost in (("read", r_cost), ("write", w_cost)):
            rows.append({"arch": f"CACTI via ZigZag, {node_nm:g} nm", "what": f"SRAM {kib} KiB {what} / B",
                         "zigzag_pj": cost / (bw / 8), "ours_pj": ours})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node", type=float, default=28.0, help="our ASIC table's node, nm (default 28)")
    ap.add_argument("--cacti", action="store_true", help="also run ZigZag's CACTI wrapper (builds CACTI)")
    ap.add_argument("--cacti-dir", type=Path, help="build CACTI here and keep it (default: a temp folder)")
    args = ap.parse_args(argv)
    root = zigzag_root()
    if root is None:
        print("error: zigzag-dse is not installed; fix: pip install 'sparsesim[peers]'", file=sys.stderr)
        return 3
    rows = shipped_architectures(root, args.node)
    if args.cacti:
        try:
            if args.cacti_dir:
                args.cacti_dir.mkdir(parents=True, exist_ok=True)
                rows += cacti_rows(root, args.node, args.cacti_dir)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    rows += cacti_rows(root, args.node, Path(tmp))
        except (RuntimeError, ImportError) as err:
            print(f"error: --cacti: {err}", file=sys.stderr)
            return 3
    print(f"energy in pJ; ours: sparsesim's ASIC table at {args.node:g} nm (DRAM: the DDR4 figures, no node)")
    print(f"{'architecture':34s} {'what':28s} {'ZigZag':>9s} {'ours':>9s} {'ZigZag/ours':>11s}")
    for r in rows:
        ratio = r["zigzag_pj"] / r["ours_pj"] if r["ours_pj"] else float("nan")
        print(f"{r['arch']:34s} {r['what']:28s} {r['zigzag_pj']:9.4g} {r['ours_pj']:9.4g} {ratio:11.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
