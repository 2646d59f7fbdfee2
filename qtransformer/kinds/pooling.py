"""Pooling over tokens: mean (Keras ``GlobalAveragePooling1D``, exact sum then one rounding
divide), the mean over the valid tokens (``MaskedMeanPooling``: the padding mask as second input,
the divisor the valid count) and CLS (``ClsPooling``, the first token), our C++ templates."""

from __future__ import annotations

import math

from ..fixed import signed_fx
from . import register
from .base import IO_TYPES, CustomKind, LayerEstimate, LayerPlan, depth
from .resources import divider, mult


def _shape(layer) -> tuple[int, int]:
    shape = layer.input_shape
    shape = shape[0] if isinstance(shape, list) else shape   # masked: [x, mask]
    return int(shape[1]), int(shape[2])


class PoolKind(CustomKind):
    """Pooling over tokens: one C++ config struct, both io forms."""

    io_types = IO_TYPES
    config_base = "qt_pool_config"


@register
class MeanPool(PoolKind):
    name, keras_classes = "meanpool", ("GlobalAveragePooling1D",)
    ir_class, function = "QtMeanPool", "qt_meanpool"
    unsigned = ("seq_len", "n_in", "sum_bits", "count_bits")

    masked = False   # divides by the valid tokens' count (a variable) instead of seq_len

    def plan(self, layer, name, inputs, xins):
        xin = xins[0]
        seq, n = _shape(layer)
        # the quotient's extra fractional bits: exact for a power-of-two divisor, else 16
        # more than the divisor's bits, so its rounding never crosses a rounding boundary
        # of the quantizer after it where Keras' float32 quotient does not
        exact = seq & (seq - 1) == 0 and not self.masked
        extra = int(math.log2(seq)) if exact else math.ceil(math.log2(max(seq, 2))) + 16
        out = signed_fx(xin.max_abs(), xin.frac + extra)
        lo, hi = out.raw_range()
        sum_bits = xin.width + (0 if xin.signed else 1) + math.ceil(math.log2(max(seq, 2)))
        params = {"seq_len": seq, "n_in": n, "in_frac": xin.frac, "out_frac": out.frac,
                  "out_min": lo, "out_max": hi, "sum_bits": sum_bits,
                  "count_bits": seq.bit_length()}   # the divisor, 1..seq_len
        if self.masked:
            params["masked"] = 1
        return LayerPlan(name, self.name, inputs, out, params=params)

    def estimate_parallel(self, p, in_width):
        # qt_meanpool is folded: n_in exact accumulators take one token per cycle, then one
        # shared divider (a 64-bit divide by the constant seq_len) takes one channel per cycle
        n, seq, acc = p.params["n_in"], p.params["seq_len"], p.params["sum_bits"]
        dsp, lut = mult(64, 64)
        row = LayerEstimate(p.name, p.kind, 1, 0, 1, dsp, n * acc + lut, n * acc + 64, 0.0,
                            seq + n + depth(2))
        if self.masked:   # the divisor is a variable: a pipelined divider, a stage per
            # quotient bit (measured with yosys; the constant divide above stays as it was)
            num = acc + p.params["out_frac"] - p.params["in_frac"]
            lut, ff = divider(num, p.params["count_bits"] + 2)
            row.lut += lut
            row.ff += ff
            row.cycles += num
        return row

    def estimate_stream(self, p, in_width):
        """The same folded datapath, a token a beat; the mean needs every token (a barrier):
        it takes a token a cycle, then divides a channel a cycle."""
        e = self.estimate_parallel(p, in_width)
        e.barrier, e.in_cycles = True, p.params["seq_len"] + depth(2)
        e.cycles = p.params["n_in"] + depth(2)
        return e


@register
class MaskedMeanPool(MeanPool):
    """Keras ``MaskedMeanPooling([x, mask])``: ``qt_meanpool_masked`` adds the valid tokens
    and divides by their count through the same shared divider."""

    name, keras_classes = "masked_meanpool", ("MaskedMeanPooling",)
    ir_class = "QtMaskedMeanPool"
    masked = True


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
