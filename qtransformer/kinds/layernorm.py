"""LayerNorm (``QLayerNorm``, integer forward): our C++ template, pipelined over tokens."""

from __future__ import annotations

import math

import numpy as np

from ..errors import QTError
from ..fixed import quantizer_fx, signed_fx, to_raw
from ..layers.intmath import RSQRT_BITS, RSQRT_FRAC, rsqrt_table, shift_of
from ..layers.norm import LN_Z_FRAC, ln_eps_raw
from . import register
from .base import IO_TYPES, CustomKind, LayerEstimate, LayerPlan, depth, qbits
from .resources import mac_block


def ln_widths(n: int, x_bits: int, eps_raw: int) -> dict[str, int]:
    """Exact widths of every integer in the LayerNorm of ``n`` values of ``x_bits`` (signed):
    ``D = n X - sum(X)`` needs ``d_bits``; ``V = sum(D**2)`` and ``M = n (V + E)`` are bounded
    by ``|D| < n 2**x_bits``; the reciprocal square root at the fixed scale of the largest
    ``M`` needs ``inv_bits``; ``z`` (``Z`` fractional bits, ``|z| <= sqrt(n)`` in value) needs
    ``z_bits``. ``k_max`` (the largest ``s / 2``) and ``z_shift`` fix that scale."""
    n_bits = n.bit_length() + 1
    d_max = n * 2 ** x_bits
    m_max = n * (n * d_max**2 + eps_raw)
    m_bits = max(m_max.bit_length(), RSQRT_BITS)
    k_max = shift_of(m_bits, RSQRT_BITS, True) // 2
    k_min = shift_of((n * eps_raw).bit_length(), RSQRT_BITS, True) // 2
    z_max = math.ceil(1.01 * math.sqrt(n) * 2**LN_Z_FRAC) + 1
    return {"x_bits": x_bits, "n_bits": n_bits, "sum_bits": x_bits + n_bits,
            "d_bits": d_max.bit_length() + 1, "v_bits": (n * d_max**2).bit_length(),
            "m_bits": m_bits, "k_max": k_max, "inv_bits": 18 + k_max - k_min,
            "z_bits": z_max.bit_length() + 1, "z_frac": LN_Z_FRAC,
            "z_shift": RSQRT_FRAC + k_max - LN_Z_FRAC, "rsqrt_bits": RSQRT_BITS,
            "rom_size": 3 * 2 ** (RSQRT_BITS - 2)}


def ln_lane_blocks(q: dict, n: int, param_bits: int, reuse: int) -> list[tuple]:
    """The ``mac_block`` figures of a token's ``n`` elements (widths ``q`` of
    :func:`ln_widths`): ``D**2`` into ``V``, ``D n inv`` into ``z``, ``z gamma``."""
    return [mac_block(n, q["d_bits"], q["d_bits"], q["v_bits"], 0, reuse),
            mac_block(n, q["d_bits"] + q["n_bits"], q["inv_bits"], q["z_bits"], 0, reuse),
            mac_block(n, q["z_bits"], param_bits, q["z_bits"] + param_bits, 0, reuse)]


def ln_scalar_lut(q: dict) -> int:
    """LUTs of the per-token scalar part: the priority encoder and normalising shift of
    ``M``, the ``inv`` shift (the rsqrt ROM is a BRAM18, charged apart)."""
    return 3 * q["m_bits"] + 2 * q["inv_bits"]


def ln_multipliers(node) -> int:
    """The ALLOCATION limit: the D**2, D n inv and z gamma products of a token (3 n_in) over
    the reuse factor."""
    rf = max(1, int(node.get_attr("reuse_factor", 1)))
    return math.ceil(3 * int(node.get_attr("qt_params")["n_in"]) / rf)


@register
class LayerNorm(CustomKind):
    name = "layernorm"
    keras_classes = ("QLayerNorm",)
    io_types = IO_TYPES
    shrink = "fewer channels (--d-model) or activation bits (--act-bits)"
    reusable = True
    ir_class, function, config_base = "QtLayerNorm", "qt_layernorm", "qt_layernorm_config"
    int_groups = (("gamma", "beta"), ("rsqrt_table",))
    args = ("gamma", "beta", "rsqrt_table")
    unsigned = ("n_in", "x_bits", "d_bits", "n_bits", "sum_bits", "v_bits", "m_bits",
                "inv_bits", "z_bits", "rsqrt_bits", "rom_size")

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
        eps = ln_eps_raw(layer.epsilon, n, of)
        params = {"n_in": n, "in_shift": xin.frac - of, "param_frac": pf, "out_frac": of,
                  "out_min": lo, "out_max": hi, "eps_raw": eps,
                  **ln_widths(n, xin.width + max(0, of - xin.frac) + 1, eps)}
        if params["m_bits"] > 62:
            raise QTError(f"layer {name}: the integer LayerNorm of {n} features with input "
                          f"type {xin.hls()} could overflow 64 bits; use fewer activation bits")
        seq = int(layer.input_shape[1])
        return LayerPlan(name, self.name, inputs, out, {"param": pfx},
                         {"gamma": g, "beta": b, "rsqrt_table": rsqrt_table()}, params,
                         macs=seq * n * 3)

    def extra_config(self, node):
        return [f"    static const unsigned seq_len = {node.get_attr('out_shape')[0]};",
                f"    typedef {node.get_weights('gamma').type.name} param_t;",
                f"    typedef {node.get_weights('rsqrt_table').type.name} rom_t;",
                f"    static const unsigned multipliers = {ln_multipliers(node)};"]

    def estimate_parallel(self, p, in_width):
        """One token's datapath pipelined over the tokens at II = reuse: the ``D**2``, ``D n
        inv`` and ``z gamma`` multipliers folded by the reuse factor (with their adders), the
        per-token scalar part (priority encoder, normalising and ``inv`` shifts: LUTs), the
        rsqrt ROM (768 x 17 bits: one BRAM18), the output rounding per element."""
        rf = max(1, p.reuse)
        q = p.params
        n = q["n_in"]
        parts = ln_lane_blocks(q, n, p.types["param"].width, rf)
        par, dsp, lut, ff = (sum(x[i] for x in parts) for i in range(4))
        lut += ln_scalar_lut(q) + math.ceil(n / rf) * (p.out.width + 2)
        ff += q["m_bits"] + q["inv_bits"] + q["v_bits"]
        seq = max(1, p.macs // (3 * n))
        cycles = seq * rf + 2 * depth(n) + 6   # one token per II (= reuse) + pipeline depth
        return LayerEstimate(p.name, p.kind, rf, p.macs, par, dsp, lut, ff, 0.5, cycles)

    def estimate_stream(self, p, in_width):
        """The parallel form already builds one token's datapath, pipelined over tokens."""
        return self.estimate_parallel(p, in_width)

    def next_reuse(self, p):
        limit = 3 * p.params["n_in"]
        return p.reuse * 2 if p.reuse * 2 <= limit else None
