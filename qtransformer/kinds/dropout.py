"""Dropout: the identity at inference, so no HLS layer of its own."""

from __future__ import annotations

from . import register
from .base import IO_TYPES, LayerKind, LayerPlan


@register
class Dropout(LayerKind):
    name = "dropout"
    keras_classes = ("Dropout",)
    io_types = IO_TYPES
    pass_through = True

    def plan(self, layer, name, inputs, xins):
        return LayerPlan(name, self.name, inputs, xins[0])

    def clone(self, plan, srcs, out_shape):
        return srcs[0]
