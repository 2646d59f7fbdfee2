"""Layer normalisation over the feature axis with a quantized output.

hls4ml's own LayerNormalization needs axis 2 on 3-D input and careful table precisions; our
layer fixes the axis (last) and carries the output quantizer, so the HLS side knows the exact
output grid. ``gamma``/``beta`` are quantized with ``param_quantizer`` when given.

Why integer math: a float ``rsqrt`` cannot be reproduced bit for bit by HLS, so outputs near a
rounding boundary of the output grid would flip. With both quantizers set (and
``quantized_bits``), the forward value is computed on integers exactly as the HLS template
computes it (:func:`integer_layernorm`); the gradient is the float layer norm's (straight
through). Without quantizers the layer is an ordinary float layer norm.
"""

from __future__ import annotations

import tensorflow as tf

from .intmath import RSQRT_BITS, RSQRT_FRAC, normalize_shift, rsqrt_table, shift_floor
from .quant import apply, make_quantizer
from .softmax import ste

# Fixed-point constant shared with the HLS template (qtransformer/hls/templates/qt_layers.h):
# z = (x - mean) / sqrt(var + eps) is kept with LN_Z_FRAC fractional bits before gamma/beta.
LN_Z_FRAC = 24


def quantizer_grid(quantizer) -> tuple[int, int, int] | None:
    """(frac bits, min raw, max raw) of a signed ``quantized_bits(..., alpha=1)``; else None."""
    if quantizer is None or type(quantizer).__name__ != "quantized_bits":
        return None
    alpha = getattr(quantizer, "alpha", None)
    if alpha not in (None, 1, 1.0) or not quantizer.keep_negative or quantizer.symmetric:
        return None
    bits, integer = int(quantizer.bits), int(quantizer.integer)
    return bits - integer - 1, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def ln_eps_raw(epsilon: float, n: int, frac: int) -> int:
    """``epsilon`` on the grid of the integer variance ``V`` (scale ``n**3 * 4**frac``)."""
    return max(1, int(round(epsilon * n**3 * 4.0**frac)))


def round_shift(v, s: int):
    """``v / 2**s`` rounded half to even (int64 tensors), as ``AP_RND_CONV`` rounds."""
    if s <= 0:
        return v * (2 ** -s)
    q = tf.math.floordiv(v, 2**s)
    r = v - q * 2**s
    half = 2 ** (s - 1)
    up = tf.logical_or(r > half, tf.logical_and(r == half, tf.math.floormod(q, 2) == 1))
    return q + tf.cast(up, tf.int64)


def integer_layernorm(x, gamma_raw, beta_raw, param_frac: int, out_frac: int, out_min: int,
                      out_max: int, epsilon: float):
    """Layer norm on integers; returns output raw values (int64), ``out_frac`` fractional bits.

    ``X = round(x * 2**F)`` (F = ``out_frac``), ``D = n X - sum(X)``, ``V = sum(D**2)``,
    ``M = n (V + E)``; then ``(x - mean) / sqrt(var + eps) = D n / sqrt(M)``. ``1/sqrt(M)``
    comes from the ROM of :func:`~.intmath.rsqrt_table`: ``M = m 4**k`` with ``m`` of
    ``RSQRT_BITS`` bits, ``1/sqrt(M) ~ r 2**-(RSQRT_FRAC + k)`` (``r = ROM[m]``), so
    ``z = floor(D n r / 2**(RSQRT_FRAC + k - Z))`` carries ``Z`` = ``LN_Z_FRAC`` fractional bits;
    ``y = z gamma + beta 2**Z`` is rounded (half to even) to the output grid and clipped.
    One ROM read and one shift per token; no divider, no square root.
    """
    n = int(x.shape[-1])
    xr = tf.cast(tf.round(tf.cast(x, tf.float64) * 2.0**out_frac), tf.int64)
    d = n * xr - tf.reduce_sum(xr, axis=-1, keepdims=True)
    v = tf.reduce_sum(d * d, axis=-1, keepdims=True)
    m = n * (v + ln_eps_raw(epsilon, n, out_frac))
    s = normalize_shift(m, RSQRT_BITS, even=True)
    r = tf.gather(tf.constant(rsqrt_table(), tf.int64),
                  shift_floor(m, s) - 2 ** (RSQRT_BITS - 2))
    z = shift_floor(d * n * r, RSQRT_FRAC + s // 2 - LN_Z_FRAC)
    y = z * gamma_raw + beta_raw * 2**LN_Z_FRAC          # scale 2**(Z + param_frac)
    y = round_shift(y, LN_Z_FRAC + param_frac - out_frac)
    return tf.clip_by_value(y, out_min, out_max)


class QLayerNorm(tf.keras.layers.Layer):
    def __init__(self, epsilon: float = 1e-5, param_quantizer: str | None = None,
                 output_quantizer: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.param_quantizer, self.output_quantizer = param_quantizer, output_quantizer
        self._pq, self._oq = make_quantizer(param_quantizer), make_quantizer(output_quantizer)
        self.param_grid, self.out_grid = quantizer_grid(self._pq), quantizer_grid(self._oq)
        self.fixed = self.param_grid is not None and self.out_grid is not None

    def build(self, input_shape):
        d = int(input_shape[-1])
        self.gamma = self.add_weight(name="gamma", shape=(d,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(d,), initializer="zeros")
        super().build(input_shape)

    def _float(self, x):
        mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
        y = (x - mean) * tf.math.rsqrt(var + self.epsilon)
        return y * apply(self._pq, self.gamma) + apply(self._pq, self.beta)

    def call(self, x):
        if not self.fixed:
            return apply(self._oq, self._float(x))
        pf = self.param_grid[0]
        of, lo, hi = self.out_grid
        g = tf.cast(tf.round(tf.cast(self._pq(self.gamma), tf.float64) * 2.0**pf), tf.int64)
        b = tf.cast(tf.round(tf.cast(self._pq(self.beta), tf.float64) * 2.0**pf), tf.int64)
        y = integer_layernorm(x, g, b, pf, of, lo, hi, self.epsilon)
        y = tf.cast(tf.cast(y, tf.float64) * 2.0**-of, x.dtype)
        return ste(y, self._float(x))

    def get_config(self):
        cfg = super().get_config()
        cfg.update(epsilon=self.epsilon, param_quantizer=self.param_quantizer,
                   output_quantizer=self.output_quantizer)
        return cfg


__all__ = ["LN_Z_FRAC", "QLayerNorm", "integer_layernorm", "ln_eps_raw", "quantizer_grid",
           "round_shift"]
