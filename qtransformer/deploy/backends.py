"""Where the driver's words go: the board (PYNQ's Overlay and AXI DMA) or the emulator (the
IP's C simulation as a shared library, called through ctypes). Both take the packed input words
of a batch and return its output words, so everything else in the driver is the same code.
"""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from ..errors import QTError

# The AXI DMA's buffer length register is 26 bits wide in the block design (bitstream.tcl).
MAX_TRANSFER_BYTES = 2**26 - 1


class Emulator:
    """The board wrapper compiled with g++ from the HLS project: ``axi/<core>_axi.cpp`` around
    the core, behind ``axi/axi_bridge.cpp``'s ``qt_axi_run`` (exactly the C simulation that
    ``make csim`` checks bit for bit)."""

    name = "emulate"

    def __init__(self, project_dir: Path, core: str, say=print):
        """Compiles the library on first use (``say`` reports it)."""
        lib = ctypes.CDLL(str(compile_library(Path(project_dir), core, say)))
        self._run = lib.qt_axi_run
        u64p = ctypes.POINTER(ctypes.c_uint64)
        self._run.argtypes = [u64p, ctypes.c_ulong, u64p, ctypes.c_ulong, ctypes.c_uint]
        self._run.restype = ctypes.c_int

    def run(self, words: np.ndarray, n_samples: int, n_out: int) -> np.ndarray:
        """A batch's input words in, its ``n_out`` output words back (as the DMA moves them)."""
        src = np.ascontiguousarray(words, np.uint64)
        dst = np.zeros(n_out, np.uint64)
        u64p = ctypes.POINTER(ctypes.c_uint64)
        rc = self._run(src.ctypes.data_as(u64p), len(src), dst.ctypes.data_as(u64p), n_out,
                       n_samples)
        if rc != 0:
            why = {-1: "wrong number of output words", -2: "TLAST not on the last word",
                   -3: "input words left unread"}.get(rc, f"code {rc}")
            raise QTError(f"emulated IP: {why} for {n_samples} samples")
        return dst


def _sources(prj: Path, core: str) -> list[Path]:
    return [prj / "firmware" / f"{core}.cpp", prj / "axi" / f"{core}_axi.cpp",
            prj / "axi" / "axi_bridge.cpp"]


def compile_library(prj: Path, core: str, say=print) -> Path:
    """``<project>/csim/emu-<hash>.so``, compiled once per content of the project's C++."""
    sources = _sources(prj, core)
    missing = [s for s in sources if not s.is_file()]
    if missing:
        raise QTError(f"{missing[0]} missing: {prj} is not a qtransformer HLS project with a "
                      "board wrapper (rebuild it)")
    digest = hashlib.sha1(str(prj.resolve()).encode())   # the weights' path is compiled in
    for path in sorted([*sources, *prj.glob("firmware/*.h"), *prj.glob("firmware/weights/*"),
                        *prj.glob("firmware/nnet_utils/*"), *prj.glob("axi/*.h")]):
        digest.update(path.name.encode() + path.read_bytes())
    lib = prj / "csim" / f"emu-{digest.hexdigest()[:12]}.so"
    if lib.is_file():
        return lib
    cxx = shutil.which("g++")
    if cxx is None:
        raise QTError("g++ not found: the emulator compiles the project's C simulation "
                      "(install g++)")
    lib.parent.mkdir(exist_ok=True)
    say(f"[deploy] compiling the emulated IP of {prj} with g++ (once per project)")
    tmp = lib.with_suffix(".tmp")
    # Vitis-backend cores read their weights at start from WEIGHTS_DIR: absolute here, as
    # the driver may run from anywhere.
    weights = f'-DWEIGHTS_DIR="{(prj / "firmware" / "weights").resolve()}"'
    cmd = [cxx, "-O2", "-std=c++14", "-w", "-fPIC", "-shared", weights, f"-I{prj}",
           f"-I{prj / 'firmware'}", f"-I{prj / 'axi'}", f"-I{prj / 'firmware' / 'ap_types'}",
           *map(str, sources), "-o", str(tmp)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["?"])[-1]
        raise QTError(f"g++ could not compile the emulated IP: {last}")
    tmp.rename(lib)
    return lib


class Board:
    """The IP on a PYNQ board: ``make bitstream``'s ``<core>.bit`` (with its ``.hwh`` beside it)
    loaded as an Overlay, one DMA transfer each way per batch. Not run here (no board): written
    against PYNQ's documented Overlay / allocate / DMA API and the block design's cell names."""

    name = "board"

    def __init__(self, bitstream: Path, core: str, timeout_s: float = 10.0):
        try:
            import pynq
        except ImportError:
            raise QTError("no PYNQ board here (the pynq package is missing): run this on the "
                          "board, or use --emulate to run the same driver against the C "
                          "simulation") from None
        if not Path(bitstream).is_file():
            raise QTError(f"bitstream {bitstream} not found: run make -C <project> bitstream "
                          "and copy its .bit and .hwh here, or pass --bitstream")
        self.pynq, self.timeout_s = pynq, timeout_s
        self.overlay = pynq.Overlay(str(bitstream))
        self.dma = self.overlay.axi_dma_0
        self.ip = getattr(self.overlay, f"{core}_axi_0")
        self.buffers: dict[tuple[int, int], tuple] = {}   # contiguous memory, kept per size

    def _buffers(self, n_in: int, n_out: int) -> tuple:
        if (n_in, n_out) not in self.buffers:
            alloc = self.pynq.allocate
            self.buffers[n_in, n_out] = (alloc(shape=(n_in,), dtype=np.uint64),
                                         alloc(shape=(n_out,), dtype=np.uint64))
        return self.buffers[n_in, n_out]

    def run(self, words: np.ndarray, n_samples: int, n_out: int) -> np.ndarray:
        """Start the IP for ``n_samples``, then one DMA transfer each way (``transfer`` flushes
        and ``wait`` invalidates the caches); a stalled IP is an error, not a hang."""
        src, dst = self._buffers(len(words), n_out)
        src[:] = words
        self.ip.register_map.n_samples = n_samples
        self.ip.register_map.CTRL.AP_START = 1
        self.dma.recvchannel.transfer(dst)
        self.dma.sendchannel.transfer(src)
        deadline = time.monotonic() + self.timeout_s
        while not (self.dma.sendchannel.idle and self.dma.recvchannel.idle):
            if time.monotonic() > deadline:
                raise QTError(f"the IP did not answer {n_samples} samples within "
                              f"{self.timeout_s:g} s (DMA still busy): check the bitstream")
        self.dma.sendchannel.wait()
        self.dma.recvchannel.wait()
        return np.array(dst, np.uint64)
