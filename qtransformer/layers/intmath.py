"""Integer building blocks of the LayerNorm and softmax definitions, mirrored in qt_layers.h.

Why ROMs and not dividers: a per-token ``1 / sqrt(M)`` or a per-row ``1 / sum`` computed by
a divider (and a bit-serial square root) costs thousands of LUTs per instance on a small FPGA.
Here the operand is normalised by an (even, for the square root) power of two so that it has
``bits`` significant bits, its leading bits index a small ROM of ``round(2**frac / f(m +
0.5))`` (the middle of the interval the dropped bits leave), and the power of two goes back as
a shift. The relative error is below ``2**-(bits - 2)`` for the reciprocal square root and
``2**-bits`` for the reciprocal: well under one output LSB at 8-bit activations.

Every function takes and returns int64 tensors; shifts by tensor amounts are exact (``floor``
for right shifts, as the C++ ``>>`` on signed values).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

RSQRT_BITS = 10     # ROM index: M >> s in [2**(R-2), 2**R), s even
RSQRT_FRAC = 21     # entries round(2**21 / sqrt(m + 0.5)): 17 bits
RECIP_BITS = 10     # ROM index: T >> s in [2**(R-1), 2**R)
RECIP_FRAC = 26     # entries round(2**26 / (m + 0.5)): 17 bits


def rsqrt_table(bits: int = RSQRT_BITS, frac: int = RSQRT_FRAC) -> np.ndarray:
    """``round(2**frac / sqrt(m + 0.5))`` for ``m`` in ``[2**(bits-2), 2**bits)``."""
    m = np.arange(2 ** (bits - 2), 2**bits, dtype=np.float64)
    return np.round(2.0**frac / np.sqrt(m + 0.5)).astype(np.int64)


def recip_table(bits: int = RECIP_BITS, frac: int = RECIP_FRAC) -> np.ndarray:
    """``round(2**frac / (m + 0.5))`` for ``m`` in ``[2**(bits-1), 2**bits)``."""
    m = np.arange(2 ** (bits - 1), 2**bits, dtype=np.float64)
    return np.round(2.0**frac / (m + 0.5)).astype(np.int64)


def bit_length(v):
    """Bits of non-negative int64 ``v`` (0 for 0), elementwise."""
    return tf.add_n([tf.cast(v >= (1 << j), tf.int64) for j in range(63)])


def shift_floor(v, s):
    """``floor(v / 2**s)`` for a tensor ``s`` of either sign (left shift when negative)."""
    s = tf.broadcast_to(s, tf.shape(v))
    right = tf.bitwise.right_shift(v, tf.maximum(s, 0))
    return tf.where(s >= 0, right, tf.bitwise.left_shift(v, tf.maximum(-s, 0)))


def normalize_shift(v, bits: int, even: bool):
    """The shift ``s`` (even when ``even``) that brings positive ``v`` to ``v >> s`` in
    ``[2**(bits-2), 2**bits)`` (even) or ``[2**(bits-1), 2**bits)``; negative: a left shift."""
    s = bit_length(v) - bits
    return s + tf.math.floormod(s, 2) if even else s


def shift_of(length: int, bits: int, even: bool) -> int:
    """:func:`normalize_shift` of a value of ``length`` bits, in Python (sizes the C++)."""
    s = length - bits
    return s + s % 2 if even else s


__all__ = ["RECIP_BITS", "RECIP_FRAC", "RSQRT_BITS", "RSQRT_FRAC", "bit_length",
           "normalize_shift", "recip_table", "rsqrt_table", "shift_floor", "shift_of"]
