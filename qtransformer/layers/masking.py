"""Padding masks computed inside the model, so it keeps a single token-id input."""

from __future__ import annotations

import tensorflow as tf

from ..errors import QTError


class PadMask(tf.keras.layers.Layer):
    """``(batch, seq)`` token ids -> float mask, 1 for tokens and 0 for ``pad_id``."""

    def __init__(self, pad_id: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.pad_id = pad_id

    def call(self, ids):
        return tf.cast(tf.not_equal(tf.cast(ids, tf.int32), self.pad_id), tf.float32)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(pad_id=self.pad_id)
        return cfg


def pad_mask_of(model: tf.keras.Model) -> PadMask | None:
    """The model's padding mask layer, or None when it attends to every position (image
    models, ``--no-pad-mask``): one answer for the distiller, layer drop and the bundle."""
    masks = [layer for layer in model.layers if isinstance(layer, PadMask)]
    if len(masks) > 1:
        raise QTError(f"model {model.name} has {len(masks)} padding masks; expected one")
    return masks[0] if masks else None


class KeptMask(tf.keras.layers.Layer):
    """The padding mask of the ``keep`` tokens a token-pruning attention keeps: ``(batch,
    seq)`` -> ``(batch, keep)``, so the blocks after it and the mean still skip padding.

    The pruning layer ranks padding below every token and gives equal scores to the lower
    position, so which tokens it keeps depends on attention, but whether each kept row is a
    token does not: its rows are the tokens (all of them, or ``keep`` by rank), then, when
    there are fewer than ``keep``, the first padding positions, in their original order. So
    row ``j`` is a token when ``mask[j]`` is, or when the tokens plus the padding before ``j``
    reach ``keep``: integer counts, as the IP computes them (``qt_kept_mask``).
    """

    def __init__(self, keep: int, **kwargs):
        super().__init__(**kwargs)
        self.keep = keep

    def call(self, mask):
        valid = tf.cast(tf.not_equal(mask, 0), tf.int32)
        reach = tf.reduce_sum(valid, axis=-1, keepdims=True) + \
            tf.cumsum(1 - valid, axis=-1, exclusive=True)
        kept = tf.logical_or(valid > 0, reach >= self.keep)[:, : self.keep]
        return tf.cast(kept, mask.dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.keep)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(keep=self.keep)
        return cfg


class MaskedMeanPooling(tf.keras.layers.Layer):
    """Mean over the tokens whose mask is 1 (sentence-transformers' pooling)."""

    def call(self, inputs):
        x, mask = inputs
        m = tf.cast(mask, x.dtype)[..., None]
        return tf.reduce_sum(x * m, axis=1) / tf.maximum(tf.reduce_sum(m, axis=1), 1e-9)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][-1])
