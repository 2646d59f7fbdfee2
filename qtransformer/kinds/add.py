"""Residual add (Keras ``Add``): hls4ml's merge layer, exact output type (no rounding),
unrolled over every element in io_parallel."""

from __future__ import annotations

from ..fixed import add_fx
from . import register
from .base import FLOAT_BITS, IO_TYPES, LayerEstimate, LayerKind, LayerPlan
from .resources import elementwise_lut


@register
class Add(LayerKind):
    name = "add"
    keras_classes = ("Add",)
    io_types = IO_TYPES
    shrink = ("fewer tokens (--seq-len), --d-model, or --io stream (io_parallel unrolls "
              "it over every element)")

    def out_bits(self, layer, in_bits):
        return min(max(in_bits) + 1, FLOAT_BITS) if in_bits else FLOAT_BITS

    def plan(self, layer, name, inputs, xins):
        out = xins[0]
        for other in xins[1:]:
            out = add_fx(out, other)
        return LayerPlan(name, self.name, inputs, out)

    def clone(self, plan, srcs, out_shape):
        import tensorflow as tf

        return tf.keras.layers.Add(name=plan.name)(srcs)

    def hls_config(self, plan, strategy):
        entry = super().hls_config(plan, strategy)
        entry[plan.name]["Precision"]["accum"] = plan.out.hls()
        return entry

    def estimate_parallel(self, p, in_width):
        return LayerEstimate(p.name, p.kind, 1, 0, 0, 0, elementwise_lut(p.elems, p.out.width),
                             0, 0.0, 1)

    def estimate_stream(self, p, in_width):
        return LayerEstimate(p.name, p.kind, 1, 0, 0, 0, elementwise_lut(p.word, p.out.width),
                             0, 0.0, p.beats + 1)
