"""FFN activations: BERT's GELU and the hardware-friendly substitutes.

* ``gelu``: exact (erf) GELU, as BERT was trained;
* ``gelu_new`` / ``gelu_pytorch_tanh``: the tanh approximation;
* ``gelu_pwl``: ``x * clip(0.5 + 0.4255 x, 0, 1)``, GELU's ``x * sigmoid(1.702 x)`` with the
  sigmoid replaced by its tangent line at 0 clipped to [0, 1]: two comparators and a multiply
  in hardware, no table;
* ``relu``: the cheapest swap (needs fine-tuning to recover accuracy).
"""

from __future__ import annotations

import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="qtransformer")
def gelu(x):
    return tf.nn.gelu(x, approximate=False)


@tf.keras.utils.register_keras_serializable(package="qtransformer")
def gelu_tanh(x):
    return tf.nn.gelu(x, approximate=True)


@tf.keras.utils.register_keras_serializable(package="qtransformer")
def gelu_pwl(x):
    return x * tf.clip_by_value(0.5 + (1.702 / 4.0) * x, 0.0, 1.0)


ACTIVATIONS = {"gelu": gelu, "gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh,
               "gelu_pwl": gelu_pwl, "relu": tf.nn.relu}
