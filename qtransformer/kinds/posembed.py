"""Learned position embedding (``QPositionEmbedding``): ``x + table``, our C++ template,
unrolled over the whole ``(seq, d_model)`` tensor in io_parallel."""

from __future__ import annotations

import numpy as np

from ..fixed import add_fx, exact_fx
from . import register
from .base import FLOAT_BITS, IO_TYPES, CustomKind, LayerEstimate, LayerPlan, qbits
from .resources import elementwise_lut, ram36, rom_lut


@register
class PositionEmbedding(CustomKind):
    name = "posembed"
    keras_classes = ("QPositionEmbedding",)
    io_types = IO_TYPES
    shrink = ("fewer tokens (--seq-len), --d-model, or --io stream (io_parallel unrolls "
              "it over every element)")
    ir_class, function, config_base = "QtPosEmbed", "qt_posembed", "qt_posembed_config"
    fixed_consts = args = ("table",)

    def weight_bits(self, layer, weight_name):
        return qbits(layer.quantizer)

    def out_bits(self, layer, in_bits):
        return min(max(in_bits) + 1, FLOAT_BITS) if in_bits else FLOAT_BITS

    def plan(self, layer, name, inputs, xins):
        table = np.asarray(layer._q(layer.positions) if layer._q else layer.positions,
                           np.float64)
        tfx = exact_fx(table)
        return LayerPlan(name, self.name, inputs, add_fx(xins[0], tfx), {"table": tfx},
                         {"table": table})

    def extra_config(self, node):
        n = int(np.prod(node.get_attr("out_shape")))
        return [f"    static const unsigned n_elem = {n};",
                f"    typedef {node.get_weights('table').type.name} table_t;"]

    def estimate_parallel(self, p, in_width):
        return LayerEstimate(p.name, p.kind, 1, 0, 0, 0, elementwise_lut(p.elems, p.out.width),
                             0, 0.0, 1)

    def estimate_stream(self, p, in_width):
        """One token's adders a beat; the table is read a row a beat (ROM)."""
        table_bits = p.elems * p.types["table"].width
        lut = elementwise_lut(p.word, p.out.width) + (0 if ram36(table_bits) else
                                                      rom_lut(table_bits))
        return LayerEstimate(p.name, p.kind, 1, 0, 0, 0, lut, 0, ram36(table_bits),
                             p.beats + 1)
