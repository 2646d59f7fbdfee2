"""The model input: on the host; its type is the HLS project's input type."""

from __future__ import annotations

from . import register
from .base import FLOAT_BITS, LayerKind, LayerPlan


@register
class Input(LayerKind):
    name = "input"
    keras_classes = ("InputLayer",)
    host = True

    def out_bits(self, layer, in_bits):
        return in_bits[0] if in_bits else FLOAT_BITS

    def plan(self, layer, name, inputs, xins):
        return LayerPlan(name, self.name, [], xins[0], host=True)
