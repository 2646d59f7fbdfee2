"""Board registry: FPGA part, default clock and resource budgets.

Adding a board is adding one entry to ``BOARDS``. The budgets are the device totals from
the vendors' product tables; the flow compares its estimates and Vivado's reports to them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .registry import Registry


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    clock_mhz: float
    lut: int
    ff: int
    bram36: int
    dsp: int
    description: str = ""
    # Vivado board part (board files) for the block design of `make bitstream`; "" where the
    # flow has no block design for the board yet.
    board_part: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


BOARDS: Registry[Board] = Registry("board")


def register_board(board: Board) -> Board:
    """Add a board to the registry (names are lower-case, unique)."""
    return BOARDS.add(board.name, board)


register_board(Board("pynq-z2", "xc7z020clg400-1", 100.0, 53_200, 106_400, 140, 220,
                     "TUL PYNQ-Z2 (Zynq-7020)", "tul.com.tw:pynq-z2:part0:1.0"))
register_board(Board("zedboard", "xc7z020clg484-1", 100.0, 53_200, 106_400, 140, 220,
                     "Avnet ZedBoard (Zynq-7020)"))
register_board(Board("arty-a7-100", "xc7a100tcsg324-1", 100.0, 63_400, 126_800, 135, 240,
                     "Digilent Arty A7-100T (Artix-7)"))
register_board(Board("ultra96-v2", "xczu3eg-sbva484-1-i", 200.0, 70_560, 141_120, 216, 360,
                     "Avnet Ultra96-V2 (Zynq UltraScale+ ZU3EG)"))
register_board(Board("kv260", "xck26-sfvc784-2LV-c", 200.0, 117_120, 234_240, 144, 1_248,
                     "AMD Kria KV260 (K26 SOM)"))
register_board(Board("zcu104", "xczu7ev-ffvc1156-2-e", 200.0, 230_400, 460_800, 312, 1_728,
                     "AMD ZCU104 (Zynq UltraScale+ ZU7EV)"))


def get_board(name: str) -> Board:
    """Look a board up by name; an unknown name lists the known ones."""
    return BOARDS.lookup(name.strip().lower())
