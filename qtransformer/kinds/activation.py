"""Activations (QKeras ``QActivation`` or Keras ``Activation``): hls4ml's io_parallel
activation, unrolled over every element; a quantizer's output type rounds half even and
saturates. A linear quantizer right after a Dense becomes kind ``fused`` (see
``hls/passes.py``): the Dense casts, and this layer has no HLS layer of its own."""

from __future__ import annotations

from ..errors import QTError
from ..fixed import quantizer_fx
from . import register
from .base import IO_TYPES, LayerEstimate, LayerKind, LayerPlan, qbits
from .resources import elementwise_lut


@register
class Activation(LayerKind):
    name = "act"
    keras_classes = ("QActivation", "Activation")
    io_types = IO_TYPES
    shrink = ("fewer tokens (--seq-len), --ff-dim, or --io stream (io_parallel unrolls "
              "it over every element)")

    def out_bits(self, layer, in_bits):
        if type(layer).__name__ == "QActivation":
            return qbits(layer.quantizer)
        return super().out_bits(layer, in_bits)

    def plan(self, layer, name, inputs, xins):
        spec = layer.get_config()["activation"]
        if isinstance(spec, dict) or "quantized" in str(spec):
            out = quantizer_fx(spec)
            fn = "relu" if "relu" in str(spec) else "linear"
        elif spec in ("relu", "linear"):
            out, fn = xins[0], spec
        else:
            raise QTError(f"layer {name}: activation {spec!r} is not supported in HLS")
        return LayerPlan(name, self.name, inputs, out, params={"activation": fn})

    def clone(self, plan, srcs, out_shape):
        import tensorflow as tf

        return tf.keras.layers.Activation(plan.params["activation"], name=plan.name)(srcs[0])

    def per_element(self, p) -> int:
        width = p.out.width
        return width + 1 if p.out.quantizing else (width if p.params["activation"] == "relu"
                                                   else 0)

    def estimate_parallel(self, p, in_width):
        return LayerEstimate(p.name, p.kind, 1, 0, 0, 0,
                             elementwise_lut(p.elems, self.per_element(p)), 0, 0.0, 1)

    def estimate_stream(self, p, in_width):
        """One token's word a beat: the elementwise hardware of one token."""
        return LayerEstimate(p.name, p.kind, 1, 0, 0, 0,
                             elementwise_lut(p.word, self.per_element(p)), 0, 0.0, p.beats + 1)


@register
class Fused(LayerKind):
    """A linear quantizer folded into the Dense before it: the plan stays (its name maps to a
    Keras layer for traces), the hardware is the Dense's cast."""

    name = "fused"
    io_types = IO_TYPES
    pass_through = True

    def clone(self, plan, srcs, out_shape):
        return srcs[0]
