"""Layer normalisation over the feature axis with a quantized output.

hls4ml's own LayerNormalization needs axis 2 on 3-D input and careful table precisions; our
layer fixes the axis (last) and carries the output quantizer, so the HLS side knows the exact
output grid. ``gamma``/``beta`` are quantized with ``param_quantizer`` when given.
"""

from __future__ import annotations

import tensorflow as tf

from .quant import apply, make_quantizer


class QLayerNorm(tf.keras.layers.Layer):
    def __init__(self, epsilon: float = 1e-5, param_quantizer: str | None = None,
                 output_quantizer: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.param_quantizer, self.output_quantizer = param_quantizer, output_quantizer
        self._pq, self._oq = make_quantizer(param_quantizer), make_quantizer(output_quantizer)

    def build(self, input_shape):
        d = int(input_shape[-1])
        self.gamma = self.add_weight(name="gamma", shape=(d,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(d,), initializer="zeros")
        super().build(input_shape)

    def call(self, x):
        mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
        y = (x - mean) * tf.math.rsqrt(var + self.epsilon)
        y = y * apply(self._pq, self.gamma) + apply(self._pq, self.beta)
        return apply(self._oq, y)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(epsilon=self.epsilon, param_quantizer=self.param_quantizer,
                   output_quantizer=self.output_quantizer)
        return cfg
