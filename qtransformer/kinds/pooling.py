"""Pooling over tokens: mean (Keras ``GlobalAveragePooling1D``, exact sum then one rounding
divide) and CLS (``ClsPooling``, the first token), our C++ templates."""

from __future__ import annotations

import math

from ..fixed import signed_fx
from . import register
from .base import IO_TYPES, CustomKind, LayerEstimate, LayerPlan, depth
from .resources import mult


def _shape(layer) -> tuple[int, int]:
    return int(layer.input_shape[1]), int(layer.input_shape[2])


class PoolKind(CustomKind):
    """Pooling over tokens: one C++ config struct, both io forms."""

    io_types = IO_TYPES
    config_base = "qt_pool_config"


@register
class MeanPool(PoolKind):
    name, keras_classes = "meanpool", ("GlobalAveragePooling1D",)
    ir_class, function = "QtMeanPool", "qt_meanpool"
    unsigned = ("seq_len", "n_in", "sum_bits")

    def plan(self, layer, name, inputs, xins):
        xin = xins[0]
        seq, n = _shape(layer)
        extra = int(math.log2(seq)) if seq & (seq - 1) == 0 else math.ceil(math.log2(seq)) + 16
        out = signed_fx(xin.max_abs(), xin.frac + extra)
        lo, hi = out.raw_range()
        sum_bits = xin.width + (0 if xin.signed else 1) + math.ceil(math.log2(max(seq, 2)))
        return LayerPlan(name, self.name, inputs, out, params={
            "seq_len": seq, "n_in": n, "in_frac": xin.frac, "out_frac": out.frac,
            "out_min": lo, "out_max": hi, "sum_bits": sum_bits})

    def estimate_parallel(self, p, in_width):
        # qt_meanpool is folded: n_in exact accumulators take one token per cycle, then one
        # shared divider (a 64-bit divide by the constant seq_len) takes one channel per cycle
        n, seq, acc = p.params["n_in"], p.params["seq_len"], p.params["sum_bits"]
        dsp, lut = mult(64, 64)
        return LayerEstimate(p.name, p.kind, 1, 0, 1, dsp, n * acc + lut, n * acc + 64, 0.0,
                             seq + n + depth(2))

    def estimate_stream(self, p, in_width):
        """The same folded datapath, a token a beat; the mean needs every token (a barrier):
        it takes a token a cycle, then divides a channel a cycle."""
        e = self.estimate_parallel(p, in_width)
        e.barrier, e.in_cycles = True, p.params["seq_len"] + depth(2)
        e.cycles = p.params["n_in"] + depth(2)
        return e


@register
class ClsPool(PoolKind):
    name, keras_classes = "clspool", ("ClsPooling",)
    ir_class, function = "QtClsPool", "qt_clspool"
    unsigned = ("seq_len", "n_in")

    def plan(self, layer, name, inputs, xins):
        seq, n = _shape(layer)
        return LayerPlan(name, self.name, inputs, xins[0], params={"seq_len": seq, "n_in": n})

    def estimate_parallel(self, p, in_width):
        return LayerEstimate(p.name, p.kind, 1, 0, 0, 0, 0, 0, 0.0, 1)

    def estimate_stream(self, p, in_width):
        return LayerEstimate(p.name, p.kind, 1, 0, 0, 0, 0, 0, 0.0, p.params["seq_len"])
