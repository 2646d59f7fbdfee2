"""The vivado stage: the Makefile and Tcl that take an HLS project through C simulation,
synthesis, co-simulation and the board's bitstream (with Vitis/Vivado where installed; g++
alone for ``make csim``).

They are package data, copied into every project the build writes (:func:`install`), so a
project is self-contained: ``make -C <project> csim`` works from anywhere, for a user who
installed the package with pip and has no source checkout. A checkout's ``vivado/Makefile``
runs the same files in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..boards import Board

HERE = Path(__file__).parent
SCRIPT_DIR = "scripts"
BOARD_FILE = "qt_board.tcl"
# Python helpers the Makefile runs by path (numpy only): the testbench check and the reports.
HELPERS = (HERE.parent / "hls" / "tbcheck.py", HERE.parent / "hls" / "reports.py")


def scripts() -> list[Path]:
    return sorted(HERE.glob("*.tcl"))


def install(project_dir, board: Board) -> Path:
    """Copy the Makefile, Tcl and helpers into ``project_dir`` and name the board there
    (:func:`write_board`)."""
    prj = Path(project_dir)
    dest = prj / SCRIPT_DIR
    dest.mkdir(parents=True, exist_ok=True)
    for path in (*scripts(), *HELPERS):
        shutil.copy(path, dest / path.name)
    shutil.copy(HERE / "Makefile", prj / "Makefile")
    write_board(prj, board)
    return prj / "Makefile"


def write_board(project_dir, board: Board) -> Path:
    """``qt_board.tcl``: the board's name, FPGA part and Vivado board part (the block design
    of ``make bitstream`` needs the board files; "" where the flow has none for the board)."""
    path = Path(project_dir) / BOARD_FILE
    path.write_text(
        "# The board this project was built for (qtransformer.vivado.install); bitstream.tcl\n"
        "# makes a block design only where board_part names the board's Vivado board files.\n"
        f'set qt_board "{board.name}"\nset qt_board_fpga "{board.part}"\n'
        f'set qt_board_part "{board.board_part}"\n')
    return path
