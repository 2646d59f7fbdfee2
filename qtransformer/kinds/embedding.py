"""Token embedding (``QTokenEmbedding``): the lookup runs on the host, so the HLS project's
input is the embedded ``(seq, d_model)`` sequence, named like this layer."""

from __future__ import annotations

from ..fixed import quantizer_fx
from . import register
from .base import LayerKind, LayerPlan, qbits


@register
class TokenEmbedding(LayerKind):
    name = "embedding"
    keras_classes = ("QTokenEmbedding",)
    host = True

    def weight_bits(self, layer, weight_name):
        return qbits(layer.quantizer)

    def out_bits(self, layer, in_bits):
        return qbits(layer.quantizer)

    def plan(self, layer, name, inputs, xins):
        return LayerPlan(name, self.name, inputs, quantizer_fx(layer.quantizer), host=True)
