"""Kinds that run on the host, outside the HLS project: the model input, and a token model's
embedding lookup (so the HLS project's input is the embedded ``(seq, d_model)`` sequence, an
input named like the embedding layer)."""

from __future__ import annotations

from ..fixed import Fx, quantizer_fx
from . import register
from .base import FLOAT_BITS, IO_TYPES, LayerKind, LayerPlan, qbits


class HostKind(LayerKind):
    io_types = IO_TYPES
    host = True

    def out_fx(self, layer, xins: list[Fx]) -> Fx:
        raise NotImplementedError

    def plan(self, layer, name, inputs, xins):
        return LayerPlan(name, self.name, inputs, self.out_fx(layer, xins), host=True)


@register
class Input(HostKind):
    """The model input: its type (sized on calibration data) is the HLS input type."""

    name = "input"
    keras_classes = ("InputLayer",)

    def out_bits(self, layer, in_bits):
        return in_bits[0] if in_bits else FLOAT_BITS

    def out_fx(self, layer, xins):
        return xins[0]


@register
class TokenEmbedding(HostKind):
    name = "embedding"
    keras_classes = ("QTokenEmbedding",)

    def weight_bits(self, layer, weight_name):
        return qbits(layer.quantizer)

    def out_bits(self, layer, in_bits):
        return qbits(layer.quantizer)

    def out_fx(self, layer, xins):
        return quantizer_fx(layer.quantizer)
