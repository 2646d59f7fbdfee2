"""LayerNorm (``QLayerNorm``, integer forward): our C++ template, pipelined over tokens."""

from __future__ import annotations

import numpy as np

from ..errors import QTError
from ..fixed import quantizer_fx, signed_fx, to_raw
from ..layers.norm import LN_INV_BITS, LN_M_BITS, LN_SQRT_BITS, ln_eps_raw
from . import register
from .base import IO_TYPES, CustomKind, LayerEstimate, LayerPlan, qbits
from .resources import mac_block


@register
class LayerNorm(CustomKind):
    name = "layernorm"
    keras_classes = ("QLayerNorm",)
    io_types = IO_TYPES
    shrink = "fewer channels (--d-model) or activation bits (--act-bits)"
    reusable = True
    ir_class, function, config_base = "QtLayerNorm", "qt_layernorm", "qt_layernorm_config"
    int_groups = (("gamma", "beta"),)
    args = ("gamma", "beta")
    unsigned = ("n_in", "x_bits", "d_bits")

    def weight_bits(self, layer, weight_name):
        return qbits(layer.param_quantizer)

    def out_bits(self, layer, in_bits):
        return qbits(layer.output_quantizer)

    def plan(self, layer, name, inputs, xins):
        xin = xins[0]
        if not layer.fixed:
            raise QTError(f"layer {name}: HLS needs quantized_bits param/output quantizers")
        pf = layer.param_grid[0]
        of, lo, hi = layer.out_grid
        g = to_raw(layer._pq(layer.gamma).numpy(), pf)
        b = to_raw(layer._pq(layer.beta).numpy(), pf)
        n = int(layer.gamma.shape[0])
        pfx = signed_fx(float(max(np.abs(g).max(), np.abs(b).max())) * 2.0**-pf, pf)
        out = quantizer_fx(layer.output_quantizer)
        x_bits = xin.width + max(0, of - xin.frac) + 1
        params = {"n_in": n, "in_shift": xin.frac - of, "x_bits": x_bits,
                  "d_bits": x_bits + int(n).bit_length() + 1, "param_frac": pf, "out_frac": of,
                  "out_min": lo, "out_max": hi, "eps_raw": ln_eps_raw(layer.epsilon, n, of),
                  "sqrt_bits": LN_SQRT_BITS, "inv_bits": LN_INV_BITS, "m_bits": LN_M_BITS}
        x_max = int(round(xin.max_abs() * 2.0**of)) + 1
        if n * (n * (2 * n * x_max) ** 2 + params["eps_raw"]) >= 2**62:
            raise QTError(f"layer {name}: the integer LayerNorm of {n} features with input "
                          f"type {xin.hls()} could overflow 64 bits; use fewer activation bits")
        seq = int(layer.input_shape[1])
        return LayerPlan(name, self.name, inputs, out, {"param": pfx}, {"gamma": g, "beta": b},
                         params, macs=seq * n * 3)

    def extra_config(self, node):
        return [f"    static const unsigned seq_len = {node.get_attr('out_shape')[0]};",
                f"    typedef {node.get_weights('gamma').type.name} param_t;"]

    def estimate_parallel(self, p, in_width):
        rf = max(1, p.reuse)
        n = p.params["n_in"]
        par, dsp, lut, ff, bram = mac_block(3 * n, 24, 24, 48, 0, rf)
        seq = max(1, p.macs // (3 * n))
        cycles = seq * rf + 40      # one token per II (= reuse); + sqrt / divide depth
        return LayerEstimate(p.name, p.kind, rf, p.macs, par, dsp, lut + 2500 // rf, ff,
                             bram, cycles)

    def estimate_stream(self, p, in_width):
        """The parallel form already builds one token's datapath, pipelined over tokens."""
        return self.estimate_parallel(p, in_width)

    def next_reuse(self, p):
        limit = 3 * p.params["n_in"]
        return p.reuse * 2 if p.reuse * 2 <= limit else None
