"""The placeholder Keras layer that stands for a custom HLS layer in the hardware clone."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .base import LayerPlan


class QtHwLayer(tf.keras.layers.Layer):
    """Placeholder for a custom HLS layer; its config is everything the HLS template needs."""

    def __init__(self, kind: str, out_shape: list, out_type: str, params: dict,
                 consts: dict, types: dict, **kwargs):
        super().__init__(**kwargs)
        self.kind, self.out_shape, self.out_type = kind, list(out_shape), out_type
        self.params, self.consts, self.types = dict(params), dict(consts), dict(types)

    def call(self, x):
        x = x[0] if isinstance(x, list) else x
        return tf.zeros([tf.shape(x)[0], *self.out_shape], dtype=x.dtype)

    def compute_output_shape(self, input_shape):
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        return (first[0], *self.out_shape)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(kind=self.kind, out_shape=self.out_shape, out_type=self.out_type,
                   params=self.params, consts=self.consts, types=self.types)
        return cfg


def _jsonable(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.integer):
        return int(v)
    return v


def custom_layer(plan: LayerPlan, out_shape: list) -> QtHwLayer:
    """The placeholder carrying ``plan``'s parameters, constants and types."""
    return QtHwLayer(plan.kind, out_shape, plan.out.hls(),
                     {k: _jsonable(v) for k, v in plan.params.items()},
                     {k: _jsonable(v) for k, v in plan.consts.items()},
                     {k: v.hls() for k, v in plan.types.items()}, name=plan.name)
