"""Block-circulant dense layer (CirCNN, Ding et al. 2017; FTRANS, Li et al. 2020).

The ``(n_in, units)`` weight matrix is made of ``b x b`` circulant blocks, each defined by one
``b``-vector: ``W[p*b + i, q*b + j] = w[p, q, (j - i) mod b]``. Only the vectors are weights, so
training updates them directly (the expansion is a gather, and gradients flow back through it)
and storage is ``b`` times smaller than dense.

The weight quantizer is applied to the expanded matrix, and that keeps it circulant: every
column of block-column ``q`` holds the same multiset of values (all of ``w[:, q, :]``), so a
per-column scale (``alpha="auto_po2"``), threshold (ternary) or rounding is the same for the
``b`` columns of a block, and the quantized matrix is the expansion of quantized vectors.
Stochastic quantizers draw per element and would break that; they are refused.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..errors import QTError
from .quant import apply, make_quantizer

BLOCK_SIZES = (2, 4, 8, 16, 32, 64)


def check_block(block: int, n_in: int, units: int, name: str) -> None:
    """One clear line for a block size the layer cannot take."""
    if block not in BLOCK_SIZES:
        raise QTError(f"{name}: circulant block {block} is not a power of two in 2..64")
    if n_in % block or units % block:
        raise QTError(f"{name}: circulant block {block} does not divide its shape "
                      f"({n_in} x {units})")


def check_quantizer(kernel_quantizer: str | None, name: str) -> None:
    """Stochastic quantizers draw per element, which would break the circulant blocks."""
    if kernel_quantizer and "stochastic" in kernel_quantizer:
        raise QTError(f"{name}: stochastic weight quantizers draw per element and would "
                      "break the circulant blocks; choose a deterministic preset")


def circulant_index(n_in: int, units: int, block: int) -> np.ndarray:
    """``(n_in, units)`` indices into the flattened ``(n_in/b, units/b, b)`` vectors."""
    r, c = np.arange(n_in)[:, None], np.arange(units)[None, :]
    p, i, q, j = r // block, r % block, c // block, c % block
    return ((p * (units // block) + q) * block + (j - i) % block).astype(np.int32)


def add_vectors(layer: tf.keras.layers.Layer, name: str, n_in: int, units: int, block: int):
    """Add the defining vectors of an ``(n_in, units)`` circulant matrix to ``layer`` (the
    dense layer's Glorot range: each entry plays one dense weight's part); returns them and
    the gather index that expands them."""
    limit = float(np.sqrt(6.0 / (n_in + units)))
    vectors = layer.add_weight(name=name, shape=(n_in // block, units // block, block),
                               initializer=tf.keras.initializers.RandomUniform(-limit, limit))
    return vectors, tf.constant(circulant_index(n_in, units, block))


def expand(vectors, index) -> tf.Tensor:
    """The float matrix the vectors define (a gather: gradients flow back to the vectors)."""
    return tf.gather(tf.reshape(vectors, [-1]), index)


class QCirculantDense(tf.keras.layers.Layer):
    """``x @ W + bias`` with block-circulant ``W`` (see the module docstring); quantizers as
    QKeras strings, like our other layers."""

    def __init__(self, units: int, block: int, kernel_quantizer: str | None = None,
                 bias_quantizer: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.block = int(units), int(block)
        self.kernel_quantizer, self.bias_quantizer = kernel_quantizer, bias_quantizer
        check_quantizer(kernel_quantizer, self.name)
        self._kq, self._bq = make_quantizer(kernel_quantizer), make_quantizer(bias_quantizer)

    def build(self, input_shape):
        n_in = int(input_shape[-1])
        check_block(self.block, n_in, self.units, self.name)
        self.vectors, self._index = add_vectors(self, "vectors", n_in, self.units, self.block)
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        super().build(input_shape)

    def expanded_kernel(self) -> tf.Tensor:
        """The float ``(n_in, units)`` matrix the vectors define."""
        return expand(self.vectors, self._index)

    def quantized_kernel(self) -> tf.Tensor:
        """The matrix the layer computes with: expanded, then quantized (still circulant)."""
        return apply(self._kq, self.expanded_kernel())

    def call(self, x):
        return tf.matmul(x, self.quantized_kernel()) + apply(self._bq, self.bias)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(units=self.units, block=self.block, kernel_quantizer=self.kernel_quantizer,
                   bias_quantizer=self.bias_quantizer)
        return cfg
