"""The board top's elaboration parameters and what INFO reports about them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import protocol as proto
from ..config import ArrayConfig


@dataclass(frozen=True)
class BoardParams:
    """Elaboration parameters of the board top."""

    cfg: ArrayConfig
    weight_depth: int = 16  # words (one weights beat each)
    act_depth: int = 32  # words (one activations beat each)
    result_depth: int = 32  # words (one result beat each, without the `last` bit)
    clocks_per_bit: int = 4  # UART divisor
    clock_mhz: float = 200.0  # the array clock (reported by INFO; the CRG makes it)
    baud: int = 921_600  # informational (the divisor is what the RTL uses)
    uram: bool = False  # ram_style "ultra" for the buffers (else "block")
    # buffers as instances of ram_verilog()'s module; False: Amaranth memories (for amaranth.sim)
    verilog_ram: bool = True
    heartbeat_bit: int = 26  # LED 0 shows bit `heartbeat_bit` of a free-running counter

    def __post_init__(self) -> None:
        for name in ("weight_depth", "act_depth", "result_depth"):
            depth = getattr(self, name)
            if not 1 <= depth <= 1 << 32:
                raise ValueError(f"{name} must be 1..2^32 words, got {depth}")
        for name in ("weight_bytes", "act_bytes", "result_bytes"):
            if proto.ADDR_BYTES + getattr(self, name) > proto.MAX_PAYLOAD:
                raise ValueError(
                    f"a {getattr(self, name)}-byte {name.split('_')[0]} word does not fit one protocol frame "
                    f"({proto.MAX_PAYLOAD} bytes with its address)"
                )

    @property
    def weight_bits(self) -> int:
        return self.cfg.weights_layout.size

    @property
    def act_bits(self) -> int:
        return self.cfg.acts_layout.size

    @property
    def result_bits(self) -> int:
        return 32 * self.cfg.cols

    @property
    def weight_bytes(self) -> int:
        return -(-self.weight_bits // 8)

    @property
    def act_bytes(self) -> int:
        return -(-self.act_bits // 8)

    @property
    def result_bytes(self) -> int:
        return self.result_bits // 8

    def key(self) -> dict:
        return asdict(self)

    def build_hash(self) -> int:
        """32 bits identifying the RTL source and these parameters (reported by INFO)."""
        blob = json.dumps({"src": board_source_hash(), "params": self.key()}, sort_keys=True, default=str)
        return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:4], "little")

    def verilog_key(self) -> dict:
        """What a cached conversion of the board depends on (for sparsesim.rtl.export.write_verilog)."""
        return {"params": self.key(), "board_src": board_source_hash()}

    def info(self) -> proto.InfoBlock:
        cfg = self.cfg
        return proto.InfoBlock(
            magic=proto.MAGIC, version=proto.VERSION, precision=proto.PRECISIONS.index(cfg.precision),
            rows=cfg.rows, cols=cfg.cols, multipliers=cfg.multipliers, max_m=cfg.max_m,
            mul_latency=int(cfg.mul_latency), add_latency=int(cfg.add_latency),  # type: ignore[arg-type]
            k_bits=cfg.k_bits, len_bits=cfg.len_bits, cycle_bits=cfg.cycle_bits, accumulator=int(cfg.exact),
            weight_depth=self.weight_depth, act_depth=self.act_depth, result_depth=self.result_depth,
            weight_bytes=self.weight_bytes, act_bytes=self.act_bytes, result_bytes=self.result_bytes,
            clock_khz=round(self.clock_mhz * 1000), clocks_per_bit=self.clocks_per_bit,
            build_hash=self.build_hash(),
        )  # fmt: skip


def board_source_hash() -> str:
    """The array's RTL source hash (sparsesim.rtl.export) plus the board's modules and the wire format."""
    from ..export import RTL_DIR, rtl_source_hash

    h = hashlib.sha256(rtl_source_hash().encode())
    board = Path(__file__).resolve().parent
    paths = sorted(board.glob("*.py")) + [RTL_DIR / name for name in ("uart.py", "vcu1525.py")]
    for path in paths + [Path(proto.__file__)]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]
