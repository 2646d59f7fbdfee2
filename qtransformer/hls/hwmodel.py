"""The "hardware clone": a Keras model hls4ml can parse, built from the layer plans.

hls4ml's QKeras path would re-derive weight types, factor ``auto_po2`` alphas into extra layers
and truncate instead of round. The clone instead holds plain ``Dense`` layers with the already
quantized weights, ``Activation`` layers whose HLS type is the quantizer's (round half even,
saturate), and one :class:`~qtransformer.kinds.hwlayer.QtHwLayer` per custom layer carrying its
integer constants and parameters in its config; our own hls4ml handler turns those into IR
layers. Each kind builds its own part (``LayerKind.clone``). Layer names are the original
model's, so per-layer traces line up. The clone is never trained or evaluated for its values
(custom layers output zeros in Keras); Keras-side numbers come from the original.
"""

from __future__ import annotations

import tensorflow as tf

from ..kinds import LayerPlan, get_kind
from ..kinds.hwlayer import QtHwLayer

__all__ = ["QtHwLayer", "hardware_model"]


def _shape(layer) -> tuple:
    shape = layer.output_shape
    return tuple((shape[0] if isinstance(shape, list) else shape)[1:])


def hardware_model(model: tf.keras.Model, plans: dict[str, LayerPlan]) -> tf.keras.Model:
    """Rebuild ``model`` from the kinds' hls4ml-parsable layers.

    Host layers (the model input, a token model's embedding lookup) become inputs of the clone
    where an HLS layer first reads them: a token model's clone takes the embedded
    ``(seq, d_model)`` sequence, an input layer named like the embedding layer.
    """
    tensors: dict[str, tf.Tensor] = {}
    inputs: list[tf.Tensor] = []
    for layer in model.layers:
        plan = plans[layer.name]
        if plan.host:
            continue
        srcs = []
        for name in plan.inputs:
            if name not in tensors:   # a host layer: the clone's input
                t = tf.keras.Input(_shape(model.get_layer(name)), name=name)
                inputs.append(t)
                tensors[name] = t
            srcs.append(tensors[name])
        tensors[layer.name] = get_kind(plan.kind).clone(plan, srcs, list(_shape(layer)))
    outputs = [tensors[t._keras_history.layer.name] for t in model.outputs]
    return tf.keras.Model(inputs, outputs, name=f"{model.name}_hw")
