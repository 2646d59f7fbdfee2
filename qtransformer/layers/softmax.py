"""Fixed-point softmax that hardware can reproduce bit for bit.

Why not a float softmax followed by a quantizer: the exponentials and the division would be
computed differently in HLS, so outputs near a rounding boundary would flip. Here every step is
defined on integers, the way the HLS template computes it:

1. ``d = s - max(s)`` on the score grid (``s`` already quantized, ``score_frac`` bits);
2. ``e = EXP_TABLE[-d_raw]``: ``round(exp(scale * d) * 2**exp_frac)``, the same table is
   written into the HLS project;
3. one reciprocal per row from a ROM (:func:`~.intmath.recip_table`): ``sum(e) = m 2**s``
   with ``m`` of ``RECIP_BITS`` bits, ``p_raw = min(floor(e r / 2**(RECIP_FRAC + s -
   prob_frac)), 2**prob_frac)`` with ``r = ROM[m]``: one ROM read and one shift per row, one
   multiply per key; no divider.

The exp table stops at its first zero entry (larger differences all map to it).

The forward value is the fixed-point result; the gradient is the float softmax's
(straight-through), so quantization-aware training works as usual.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .intmath import RECIP_BITS, RECIP_FRAC, normalize_shift, recip_table, shift_floor


def exp_table(score_bits: int, score_frac: int, scale: float, exp_frac: int) -> np.ndarray:
    """``round(exp(-i * 2**-score_frac * scale) * 2**exp_frac)`` for ``i`` in ``0..2**score_bits``.

    ``d = s - max(s)`` spans ``2**score_bits`` steps at most, so that many entries cover it;
    the table ends at its first zero (every larger ``d`` reads that entry: it is clamped).
    """
    idx = np.arange(2**score_bits, dtype=np.float64)
    table = np.round(np.exp(-idx * 2.0**-score_frac * scale) * 2.0**exp_frac).astype(np.int64)
    zeros = np.flatnonzero(table == 0)
    return table[: zeros[0] + 1] if zeros.size else table


def fixed_softmax(scores, table: np.ndarray, score_frac: int, prob_frac: int, keep=None):
    """Integer softmax over the last axis of already-quantized ``scores``.

    ``keep`` (broadcastable bool, optional) marks the keys that may be attended to; the others
    get probability 0. Returns probabilities on the ``2**-prob_frac`` grid (float32 tensor).
    """
    s_raw = tf.cast(tf.round(scores * 2.0**score_frac), tf.int64)
    if keep is not None:
        s_raw = tf.where(keep, s_raw, tf.reduce_min(s_raw, axis=-1, keepdims=True))
    d_raw = tf.reduce_max(s_raw, axis=-1, keepdims=True) - s_raw
    d_raw = tf.minimum(d_raw, table.shape[0] - 1)
    e_raw = tf.gather(tf.constant(table, tf.int64), d_raw)
    if keep is not None:
        e_raw = tf.where(keep, e_raw, tf.zeros_like(e_raw))
    # a row without a kept key (every key padding: no text of the CLI's, where [CLS] is
    # always there) sums to 0: 1 instead keeps the ROM index in range, and p = 0
    total = tf.maximum(tf.reduce_sum(e_raw, axis=-1, keepdims=True), 1)
    s = normalize_shift(total, RECIP_BITS, even=False)
    r = tf.gather(tf.constant(recip_table(), tf.int64),
                  shift_floor(total, s) - 2 ** (RECIP_BITS - 1))
    p_raw = tf.minimum(shift_floor(e_raw * r, RECIP_FRAC + s - prob_frac), 2**prob_frac)
    return tf.cast(p_raw, tf.float32) * 2.0**-prob_frac


def ste(forward, backward):
    """Value of ``forward`` with the gradient of ``backward`` (straight-through estimator)."""
    return backward + tf.stop_gradient(forward - backward)
