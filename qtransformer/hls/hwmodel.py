"""The "hardware clone": a Keras model hls4ml can parse, built from the layer plans.

hls4ml's QKeras path would re-derive weight types, factor ``auto_po2`` alphas into extra layers
and truncate instead of round. The clone instead holds plain ``Dense`` layers with the already
quantized weights, ``Activation`` layers whose HLS type is the quantizer's (round half even,
saturate), and one :class:`QtHwLayer` per custom layer carrying its integer constants and
parameters in its config; our own hls4ml handler turns those into IR layers. Layer names are
the original model's, so per-layer traces line up. The clone is never trained or evaluated for
its values (custom layers output zeros in Keras); Keras-side numbers come from the original.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..errors import QTError
from .precision import PASS_THROUGH, LayerPlan

CUSTOM_KINDS = ("posembed", "layernorm", "attention", "meanpool", "clspool")


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


def _custom(plan: LayerPlan, out_shape: list) -> QtHwLayer:
    return QtHwLayer(plan.kind, out_shape, plan.out.hls(),
                     {k: _jsonable(v) for k, v in plan.params.items()},
                     {k: _jsonable(v) for k, v in plan.consts.items()},
                     {k: v.hls() for k, v in plan.types.items()}, name=plan.name)


def hardware_model(model: tf.keras.Model, plans: dict[str, LayerPlan]) -> tf.keras.Model:
    """Rebuild ``model`` from plain Dense/Activation/Add and :class:`QtHwLayer` layers.

    A token model's embedding lookup stays on the host: the clone's input is the embedded
    ``(seq, d_model)`` sequence, an input layer named like the embedding layer.
    """
    tensors: dict[str, tf.Tensor] = {}
    inputs: list[tf.Tensor] = []
    dense: list[tuple[tf.keras.layers.Dense, LayerPlan]] = []
    for layer in model.layers:
        plan = plans[layer.name]
        if plan.kind == "input":
            continue
        if plan.kind == "embedding":
            t = tf.keras.Input(tuple(layer.output_shape[1:]), name=layer.name)
            inputs.append(t)
            tensors[layer.name] = t
            continue
        srcs = []
        for name in plan.inputs:
            if name not in tensors and plans[name].kind == "input":
                t = tf.keras.Input(tuple(model.get_layer(name).output_shape[0][1:]), name=name)
                inputs.append(t)
                tensors[name] = t
            srcs.append(tensors[name])
        x = srcs[0]
        if plan.kind in PASS_THROUGH:
            tensors[layer.name] = x
            continue
        if plan.kind == "dense":
            new = tf.keras.layers.Dense(plan.consts["kernel"].shape[1], name=layer.name)
            dense.append((new, plan))
        elif plan.kind == "act":
            new = tf.keras.layers.Activation(plan.params["activation"], name=layer.name)
        elif plan.kind == "add":
            new = tf.keras.layers.Add(name=layer.name)
            x = srcs
        elif plan.kind in CUSTOM_KINDS:
            new = _custom(plan, list(layer.output_shape[1:]))
            x = srcs if len(srcs) > 1 else x     # token-pruning attention: [LN(x), x]
        else:
            raise QTError(f"layer {layer.name}: no hardware mapping for kind {plan.kind}")
        tensors[layer.name] = new(x)
    outputs = [tensors[t._keras_history.layer.name] for t in model.outputs]
    clone = tf.keras.Model(inputs, outputs, name=f"{model.name}_hw")
    for new, plan in dense:
        new.set_weights([plan.consts["kernel"].astype(np.float32),
                         plan.consts["bias"].astype(np.float32)])
    return clone
