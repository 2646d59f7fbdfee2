"""Token and position embeddings with quantized tables.

The token table is a lookup (no multiplies); the position table is added to every sequence.
Both are quantized with the activation quantizer so their sum lies on a known fixed-point grid.
"""

from __future__ import annotations

import tensorflow as tf

from .quant import apply, make_quantizer


class QTokenEmbedding(tf.keras.layers.Layer):
    """``(batch, seq)`` int token ids -> ``(batch, seq, d_model)``."""

    def __init__(self, vocab_size: int, d_model: int, quantizer: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.d_model, self.quantizer = vocab_size, d_model, quantizer
        self._q = make_quantizer(quantizer)

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.vocab_size, self.d_model),
            initializer=tf.keras.initializers.RandomUniform(-0.1, 0.1))
        super().build(input_shape)

    def call(self, ids):
        return tf.gather(apply(self._q, self.embeddings), tf.cast(ids, tf.int32))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.d_model,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(vocab_size=self.vocab_size, d_model=self.d_model, quantizer=self.quantizer)
        return cfg


class QPositionEmbedding(tf.keras.layers.Layer):
    """Adds a learned ``(seq, d_model)`` table to its input.

    With ``max_len`` the table has ``max_len`` rows and a shorter input gets its first rows:
    a model with a variable sequence length (the BERT teacher) can then run each batch only
    as long as its longest sentence. Without it the table matches the (fixed) input length,
    as the HLS path expects.
    """

    def __init__(self, quantizer: str | None = None, max_len: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.quantizer, self.max_len = quantizer, max_len
        self._q = make_quantizer(quantizer)

    def build(self, input_shape):
        rows = self.max_len or int(input_shape[-2])
        self.positions = self.add_weight(
            name="positions", shape=(rows, int(input_shape[-1])),
            initializer=tf.keras.initializers.RandomUniform(-0.1, 0.1))
        super().build(input_shape)

    def call(self, x):
        table = apply(self._q, self.positions)
        if self.max_len:
            table = table[: tf.shape(x)[1]]
        return x + table

    def get_config(self):
        cfg = super().get_config()
        cfg.update(quantizer=self.quantizer, max_len=self.max_len)
        return cfg


class ClsPooling(tf.keras.layers.Layer):
    """Takes the first token (``[CLS]``) of a ``(batch, seq, d)`` sequence."""

    def call(self, x):
        return x[:, 0, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
