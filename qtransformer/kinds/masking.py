"""Padding mask and masked mean pooling (the imported BERT's variable-length forms): costs
only; they have no HLS form yet, so planning one is an error naming the layer."""

from __future__ import annotations

from . import register
from .base import LayerKind


@register
class PadMask(LayerKind):
    name = "padmask"
    keras_classes = ("PadMask",)


@register
class MaskedMeanPool(LayerKind):
    name = "masked_meanpool"
    keras_classes = ("MaskedMeanPooling",)
