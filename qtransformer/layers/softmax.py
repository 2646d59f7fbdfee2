"""Fixed-point softmax that hardware can reproduce bit for bit.

Why not a float softmax followed by a quantizer: the exponentials and the division would be
computed differently in HLS, so outputs near a rounding boundary would flip. Here every step is
defined on integers, the way the HLS template computes it:

1. ``d = s - max(s)`` on the score grid (``s`` already quantized, ``score_frac`` bits);
2. ``e = EXP_TABLE[-d_raw]``: ``round(exp(scale * d) * 2**exp_frac)``, the same table is
   written into the HLS project;
3. ``p_raw = floor(e * 2**prob_frac / sum(e))`` with integer division.

The forward value is the fixed-point result; the gradient is the float softmax's
(straight-through), so quantization-aware training works as usual.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def exp_table(score_bits: int, score_frac: int, scale: float, exp_frac: int) -> np.ndarray:
    """``round(exp(-i * 2**-score_frac * scale) * 2**exp_frac)`` for ``i`` in ``0..2**score_bits``.

    ``d = s - max(s)`` spans ``2**score_bits`` steps at most, so that many entries cover it.
    """
    idx = np.arange(2**score_bits, dtype=np.float64)
    return np.round(np.exp(-idx * 2.0**-score_frac * scale) * 2.0**exp_frac).astype(np.int64)


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
    total = tf.reduce_sum(e_raw, axis=-1, keepdims=True)
    p_raw = tf.math.floordiv(e_raw * (2**prob_frac), total)
    return tf.cast(p_raw, tf.float32) * 2.0**-prob_frac


def ste(forward, backward):
    """Value of ``forward`` with the gradient of ``backward`` (straight-through estimator)."""
    return backward + tf.stop_gradient(forward - backward)
