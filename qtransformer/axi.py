"""The board's AXI4-Stream word layout: one definition for the HLS wrapper, its C testbench and
the host driver (which packs on the board's ARM cores, where there is no TensorFlow, so this
module imports numpy only).

A sample travels as 64-bit words (the width of the Zynq's HP ports and of the AXI DMA's
streams). Its values, in the order of the top function's flattened port (token-major), sit in
lanes of 8, 16, 32 or 64 bits, the smallest that holds the fixed-point type: value ``k`` is lane
``k % per_word`` of word ``k // per_word``, lane 0 in the least significant bits, as the
two's-complement raw integer (value x 2^frac) sign- or zero-extended to the lane. A sample
starts on a fresh word; unused lanes of its last word are zero. A text model whose padding is
masked takes a second input, the mask (``seq_len`` values, 1 = token, 0 = ``[PAD]``, 8-bit
lanes): its words come first in each sample, then the sequence's (a streamed core reads the
mask before its first token). On little-endian hosts (x86,
ARM) a lane array is therefore the words' bytes, so packing is a ``view``.

The wrapper reads ``n_samples`` samples back to back (``s_axilite`` register) and writes as
many outputs, TLAST on the batch's last word, so one DMA transfer each way carries a batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

WORD_BITS = 64
LANES = (8, 16, 32, 64)


@dataclass(frozen=True)
class Port:
    """One side of the wrapper: ``n`` fixed-point values of ``width`` bits, ``frac`` of them
    fractional. ``rounding``: how a real value becomes the type, as the C++ assignment does
    (``conv``: round half to even and saturate, a quantizer's type; ``trn``: floor and wrap)."""

    n: int
    width: int
    frac: int
    signed: bool = True
    rounding: str = "conv"

    @property
    def lane(self) -> int:
        """Bits a value occupies in its word."""
        return next(b for b in LANES if b >= self.width)

    @property
    def per_word(self) -> int:
        return WORD_BITS // self.lane

    @property
    def words(self) -> int:
        """Words per sample."""
        return -(-self.n // self.per_word)

    @property
    def dtype(self) -> np.dtype:
        """numpy's integer type of one lane (a lane array is the words' bytes)."""
        return np.dtype(f"{'i' if self.signed else 'u'}{self.lane // 8}")

    def raw_range(self) -> tuple[int, int]:
        if self.signed:
            return -(2 ** (self.width - 1)), 2 ** (self.width - 1) - 1
        return 0, 2**self.width - 1

    def to_raw(self, values: np.ndarray) -> np.ndarray:
        """Real values -> raw integers of the type, exactly as assigning a float in C++ does."""
        scaled = np.asarray(values, np.float64) * 2.0**self.frac
        lo, hi = self.raw_range()
        if self.rounding == "conv":
            return np.clip(np.rint(scaled), lo, hi).astype(np.int64)
        raw = np.floor(scaled).astype(np.int64)
        span = hi - lo + 1
        return (raw - lo) % span + lo

    def from_raw(self, raw: np.ndarray) -> np.ndarray:
        return np.asarray(raw, np.float64) * 2.0**-self.frac


@dataclass(frozen=True)
class Layout:
    """The wrapper's ports (see the module docstring): the input, the output and, for a
    model whose padding is masked, the mask sent before each sample's input."""

    inputs: Port
    outputs: Port
    word_bits: int = WORD_BITS
    mask: Port | None = None

    @property
    def words_in(self) -> int:
        """Words per sample into the wrapper (the mask's, then the input's)."""
        return self.inputs.words + (self.mask.words if self.mask else 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Layout:
        mask = Port(**d["mask"]) if d.get("mask") else None
        return cls(Port(**d["inputs"]), Port(**d["outputs"]), d.get("word_bits", WORD_BITS),
                   mask)


def pack_inputs(layout: Layout, raw: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """A batch's words into the wrapper: per sample the mask's words (``mask``: ``(n,
    seq_len)`` of 0/1, required exactly when the layout has a mask), then the input's."""
    if (mask is None) != (layout.mask is None):
        raise ValueError("the layout has a padding mask input" if layout.mask else
                         "the layout takes no padding mask")
    words = pack_raw(layout.inputs, raw).reshape(-1, layout.inputs.words)
    if layout.mask is not None:
        mwords = pack_raw(layout.mask, mask).reshape(-1, layout.mask.words)
        words = np.concatenate([mwords, words], axis=1)
    return words.reshape(-1)


def pack_raw(port: Port, raw: np.ndarray) -> np.ndarray:
    """``(n_samples, port.n)`` raw integers -> ``(n_samples * port.words,)`` uint64 words."""
    raw = np.asarray(raw, np.int64).reshape(-1, port.n)
    lo, hi = port.raw_range()
    if raw.size and (raw.min() < lo or raw.max() > hi):
        raise ValueError(f"raw values outside the {port.width}-bit type")
    lanes = np.zeros((len(raw), port.words * port.per_word), port.dtype)
    lanes[:, :port.n] = raw
    return np.ascontiguousarray(lanes).view("<u8").reshape(-1).astype(np.uint64)


def unpack_raw(port: Port, words: np.ndarray, n_samples: int) -> np.ndarray:
    """``(n_samples * port.words,)`` uint64 words -> ``(n_samples, port.n)`` raw integers
    (each lane sign- or zero-extended from the type's width)."""
    words = np.ascontiguousarray(np.asarray(words, np.uint64).reshape(n_samples, port.words))
    lanes = words.view(port.dtype.newbyteorder("<")).reshape(n_samples, -1)[:, :port.n]
    raw = lanes.astype(np.int64)
    if port.width < port.lane:   # the wrapper extends, but keep only the type's bits
        mask = (1 << port.width) - 1
        raw = raw & mask
        if port.signed:
            raw = np.where(raw >= 1 << (port.width - 1), raw - (1 << port.width), raw)
    return raw
