"""Quantized multi-head self-attention (``QMultiHeadSelfAttention``): projections, ``Q K^T``,
the integer softmax and ``P V`` in our C++ template. With token pruning (``keep_tokens``) it
takes ``[LN(x), x]``, adds the residual and keeps the top-k tokens by received attention."""

from __future__ import annotations

import math

import numpy as np

from ..errors import QTError
from ..fixed import Fx, add_fx, exact_fx, quantizer_fx, to_raw
from . import register
from .base import (
    FLOAT_BITS,
    IO_STREAM,
    IO_TYPES,
    CustomKind,
    LayerEstimate,
    LayerPlan,
    depth,
    qbits,
)
from .resources import density, mac_block, po2_levels, ram36

PROJECTIONS = ("query", "key", "value", "output")


@register
class Attention(CustomKind):
    name = "attention"
    keras_classes = ("QMultiHeadSelfAttention",)
    io_types = IO_TYPES
    reusable = True
    prunable = True
    shrink = "fewer tokens (--seq-len, --prune token), --d-model or --heads"
    ir_class, function, config_base = "QtAttention", "qt_attention", "qt_attention_config"
    int_groups = (tuple(f"{p}_kernel" for p in PROJECTIONS),
                  tuple(f"{p}_bias" for p in PROJECTIONS), ("exp_table",))
    args = tuple(f"{p}_{w}" for p in PROJECTIONS for w in ("kernel", "bias")) + ("exp_table",)
    unsigned = ("seq_len", "d_in", "d_model", "heads", "d_head", "table_size", "in_bits",
                "act_bits", "score_bits", "exp_bits", "keep", "recv_bits")

    # ---- costs
    def weight_bits(self, layer, weight_name):
        return qbits(layer.kernel_quantizer if "kernel" in weight_name else layer.bias_quantizer)

    def out_bits(self, layer, in_bits):
        return qbits(layer.activation_quantizer)

    def macs(self, layer):
        shape = layer.input_shape
        if isinstance(shape, list):       # token pruning: [LN(x), x]
            shape = shape[0]
        seq, d = int(shape[1]), int(shape[2])
        qk = layer.heads * seq * seq * layer.d_head
        return [(3 * seq * d * layer.d_model + seq * layer.d_model * layer.d_model, "w"),
                (qk, "qk"), (qk, "pv")]

    def operand_bits(self, layer, mac_kind, a_bits):
        if mac_kind == "w":
            return super().operand_bits(layer, mac_kind, a_bits)
        act = qbits(layer.activation_quantizer)
        return (act, act) if mac_kind == "qk" else (layer.prob_bits or FLOAT_BITS, act)

    def kernels(self, layer):
        return [np.asarray(v) for k, v in layer.quantized_weights().items()
                if k.endswith("kernel")]

    def stored_values(self, layer):
        return {k: np.asarray(v) for k, v in layer.quantized_weights().items()}

    # ---- plan
    def plan(self, layer, name, inputs, xins):
        xin, resid = xins[0], (xins[1] if len(xins) > 1 else None)
        if not layer.fixed or layer._aq is None:
            raise QTError(f"layer {name}: HLS needs quantized attention (score/prob quantizers)")
        w = {k: v.numpy().astype(np.float64) for k, v in layer.quantized_weights().items()}
        kernels = np.concatenate([w[f"{p}_kernel"].ravel() for p in PROJECTIONS])
        biases = np.concatenate([w[f"{p}_bias"] for p in PROJECTIONS])
        wfx, bfx = exact_fx(kernels), exact_fx(biases)
        act = quantizer_fx(layer.activation_quantizer)
        sq = layer._sq
        s_lo, s_hi = -(2 ** (int(sq.bits) - 1)), 2 ** (int(sq.bits) - 1) - 1
        table = np.asarray(layer.exp_table, np.int64)
        tfx = Fx(int(table.max()).bit_length() + 1, int(table.max()).bit_length() + 1)
        consts = {k: to_raw(v, wfx.frac if "kernel" in k else bfx.frac) for k, v in w.items()}
        consts["exp_table"] = table
        shape = layer.input_shape[0] if layer.keep_tokens else layer.input_shape
        seq, d_in = int(shape[1]), int(shape[2])
        lo, hi = act.raw_range()
        params = {"seq_len": seq, "d_in": d_in, "d_model": layer.d_model, "heads": layer.heads,
                  "d_head": layer.d_head, "in_frac": xin.frac, "w_frac": wfx.frac,
                  "b_frac": bfx.frac, "act_frac": act.frac, "act_min": lo, "act_max": hi,
                  "score_frac": layer.score_frac, "score_min": s_lo, "score_max": s_hi,
                  "prob_frac": layer.prob_bits - 1, "table_size": int(table.size),
                  "in_bits": xin.width + 1, "act_bits": act.width, "score_bits": int(sq.bits),
                  "exp_bits": tfx.width}
        score = Fx(int(sq.bits), int(sq.bits) - layer.score_frac, True, True)
        prob = Fx(layer.prob_bits + 1, 1, False, True)
        macs = seq * d_in * layer.d_model * 3 + 2 * seq * seq * layer.d_model + \
            seq * layer.d_model**2
        out, types = act, {"weight": wfx, "bias": bfx, "score": score, "prob": prob, "exp": tfx}
        if layer.keep_tokens:
            # residual + output (exact), then the top-k rows by received attention
            out = add_fx(resid, act)
            recv = (params["prob_frac"] + 1) + int(layer.heads * seq).bit_length()
            params.update(keep=int(layer.keep_tokens), resid_frac=resid.frac,
                          out_frac=out.frac, recv_bits=recv)
            types["resid"] = resid
        return LayerPlan(name, self.name, inputs, out, types, consts, params, macs=macs)

    # ---- C++
    def extra_config(self, node):
        return [f"    typedef {node.get_weights(w).type.name} {alias};"
                for alias, w in (("weight_t", "query_kernel"), ("bias_t", "query_bias"),
                                 ("table_t", "exp_table"))]

    def call_text(self, node):
        if len(node.inputs) == 1:
            return super().call_text(node)
        # token pruning: (LN(x), x) -> top-k of x + attn
        inp, out = node.get_input_variable(), node.get_output_variable()
        resid = node.get_input_variable(node.inputs[1])
        args = [inp.name, resid.name, out.name] + [node.get_weights(w).name for w in self.args]
        return (f"nnet::{self.function}_prune<{inp.type.name}, {resid.type.name}, "
                f"{out.type.name}, config{node.index}>({', '.join(args)});")

    # ---- estimate
    def estimate_parallel(self, p, in_width):
        rf = max(1, p.reuse)
        q = p.params
        s, d_in, d, act = q["seq_len"], q["d_in"], q["d_model"], q["act_bits"]
        w = p.types["weight"].width
        acc = act + w + math.ceil(math.log2(max(d_in, 2)))
        proj = (3 * d_in * d + d * d)                      # per token
        mm = 2 * s * d                                      # QK^T and PV per token
        kernels = [p.consts[f"{n}_kernel"] for n in PROJECTIONS]
        live = math.ceil(proj * density(*kernels))
        a = mac_block(live, act, w, acc, (3 * d_in + d) * d * w, rf, po2_levels(*kernels))
        b = mac_block(mm, act, act + 2, 2 * act + 4, 0, rf)
        heads_rows = max(1, math.ceil(q["heads"] * s / rf))
        divider_lut = heads_rows * 30 * 30                 # p = e * 2^f / sum, ~30-bit
        table_bram = 0.5 * heads_rows * max(1, math.ceil(q["table_size"] *
                                                         p.types["exp"].width / 18432))
        # projections per token, then a score/softmax/context row per (head, token), then
        # the output projection per token; each pipelined at II = reuse
        cycles = (2 * s + q["heads"] * s) * rf + 3 * depth(d_in) + 32
        select_lut = 0
        if "keep" in q:  # token pruning: S x S rank comparators, then the residual adds
            select_lut = s * s * q["recv_bits"] // rf + s * d * p.out.width // rf
            cycles += s
        return LayerEstimate(p.name, p.kind, rf, p.macs, a[0] + b[0], a[1] + b[1],
                             a[2] + b[2] + divider_lut + select_lut, a[3] + b[3],
                             a[4] + table_bram, cycles)

    def estimate_stream(self, p, in_width):
        """The parallel form's datapath on the sequence stored on chip: the input and output
        buffers and the Q, K, V, context arrays in BRAM, store and emit loops a token a
        cycle; it reads every token before its first output (a barrier in the dataflow)."""
        e = self.estimate_parallel(p, in_width)
        q = p.params
        s, d = q["seq_len"], q["d_model"]
        bits = s * q["d_in"] * in_width + 4 * s * d * q["act_bits"] + s * d * p.out.width
        e.bram36 += ram36(bits)
        e.cycles += 2 * s
        e.barrier = True
        return e

    def check_plan(self, plan, io_type):
        super().check_plan(plan, io_type)
        if io_type == IO_STREAM and "keep" in plan.params:
            raise QTError(f"layer {plan.name}: token pruning (keep_tokens) has no io_stream "
                          "form yet; use --io parallel")

    def next_reuse(self, p):
        limit = 3 * p.params["d_in"] * p.params["d_model"]
        return p.reuse * 2 if p.reuse * 2 <= limit else None
