"""Quantized multi-head self-attention (``QMultiHeadSelfAttention``): projections, ``Q K^T``,
the integer softmax and ``P V`` in our C++ template. With token pruning (``keep_tokens``) it
takes ``[LN(x), x]``, adds the residual and keeps the top-k tokens by received attention."""

from __future__ import annotations

import math

import numpy as np

from ..errors import QTError
from ..fixed import Fx, add_fx, exact_fx, quantizer_fx, to_raw
from ..layers.intmath import RECIP_BITS, RECIP_FRAC, recip_table, shift_of
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
from .circulant import first_rows
from .masking import is_masked
from .resources import density, mac_block, po2_levels, ram, rom_lut

PROJECTIONS = ("query", "key", "value", "output")


def kv_layout(seq: int, d: int, act_bits: int, reuse: int) -> tuple[int, int]:
    """How the streamed form stores Q, K and V: (values per memory word, memories K and V are
    each split over). A word is at most 72 bits (one RAMB36 port at its widest), so a token is
    ``d / word`` words; a row reads every token's words of K and of V within its II (``reuse``
    cycles), two reads per dual-port memory a cycle."""
    word = max(f for f in range(1, d + 1) if d % f == 0 and (f * act_bits <= 72 or f == 1))
    banks = max(1, math.ceil(seq * (d // word) / (2 * max(1, reuse))))
    return word, min(banks, seq)


def stream_multipliers(node) -> int:
    """The streamed form's ALLOCATION limit: a token's projections (3 d_in d products) and a
    query row's products (scores and context over every key, 2 S d, and the output projection,
    d**2), each over the reuse factor."""
    q, rf = node.get_attr("qt_params"), max(1, int(node.get_attr("reuse_factor", 1)))
    s, d_in, d = int(q["seq_len"]), int(q["d_in"]), int(q["d_model"])
    return math.ceil(3 * d_in * d / rf) + math.ceil((2 * s * d + d * d) / rf)


def attention_widths(seq: int, d_in: int, d_model: int, d_head: int, xin: Fx, act: Fx,
                     wfx: Fx, bfx: Fx, prob_frac: int, exp_one: int) -> dict[str, int]:
    """Exact widths of the attention's sums (no 64-bit arithmetic where the bounds are
    smaller): a projection's accumulator over ``d_in`` or ``d_model`` inputs with the bias
    aligned, ``Q K^T`` over ``d_head``, ``P V`` over ``seq`` keys, the softmax row's sum of
    ``seq`` exponentials (``exp_one`` = the table's first entry, the largest), and the
    reciprocal's fixed scale: ``rec = ROM[m] << (s_max - s)`` for sums from ``exp_one`` to
    ``seq exp_one``."""
    def acc(x_bits: int, x_frac: int, n: int) -> int:
        prod_frac = x_frac + wfx.frac
        align = max(prod_frac, bfx.frac)
        terms = (x_bits + wfx.width + n.bit_length()) + align - prod_frac
        return max(terms, bfx.width + align - bfx.frac) + 2

    s_min = shift_of(exp_one.bit_length(), RECIP_BITS, False)
    s_max = shift_of((seq * exp_one).bit_length(), RECIP_BITS, False)
    return {"proj_bits": max(acc(xin.width + 1, xin.frac, d_in),
                             acc(act.width, act.frac, d_model)),
            "qk_bits": 2 * act.width + d_head.bit_length() + 1,
            "ctx_bits": prob_frac + 2 + act.width + seq.bit_length() + 1,
            "den_bits": (seq * exp_one).bit_length() + 1, "recip_bits": RECIP_BITS,
            "rec_bits": 18 + s_max - s_min, "s_max": s_max,
            "p_shift": RECIP_FRAC + s_max - prob_frac, "recip_size": 2 ** (RECIP_BITS - 1)}


def recip_row_lut(q: dict) -> int:
    """LUTs of a softmax row's reciprocal besides its ROM: the priority encoder and shifts of
    the row sum (widths ``q`` of :func:`attention_widths`)."""
    return 3 * q["den_bits"] + 2 * q["rec_bits"]


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
                  tuple(f"{p}_bias" for p in PROJECTIONS), ("exp_table",), ("recip_table",))
    args = tuple(f"{p}_{w}" for p in PROJECTIONS for w in ("kernel", "bias")) + \
        ("exp_table", "recip_table")
    unsigned = ("seq_len", "d_in", "d_model", "heads", "d_head", "table_size", "in_bits",
                "act_bits", "score_bits", "exp_bits", "keep", "recv_bits", "proj_bits",
                "qk_bits", "ctx_bits", "den_bits", "recip_bits", "rec_bits", "recip_size",
                "circ_block")

    def is_prunable(self, layer):
        """Circulant projections have no kernels to prune (pruning refuses them)."""
        return layer.circulant == 1

    # ---- costs
    def circulant(self, layer):
        return layer.circulant

    def weight_bits(self, layer, weight_name):
        weight = "kernel" in weight_name or "vectors" in weight_name
        return qbits(layer.kernel_quantizer if weight else layer.bias_quantizer)

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
        """What is stored; a circulant projection stores its blocks' first rows (the
        quantized defining vectors), not the expanded kernel the hardware computes with."""
        b = layer.circulant
        return {k.replace("_kernel", "_vectors") if b > 1 else k:
                first_rows(np.asarray(v), b, layer.name) if k.endswith("kernel")
                else np.asarray(v) for k, v in layer.quantized_weights().items()}

    # ---- plan
    def plan(self, layer, name, inputs, xins):
        masked = is_masked(xins, 2 if layer.keep_tokens else 1)
        xin, resid = xins[0], (xins[1] if layer.keep_tokens else None)
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
        # circulant projections: each block's first row, its defining vector (qt_weight_index)
        b = layer.circulant
        consts = {k: to_raw(first_rows(v, b, name) if "kernel" in k else v,
                            wfx.frac if "kernel" in k else bfx.frac) for k, v in w.items()}
        consts["exp_table"], consts["recip_table"] = table, recip_table()
        shape = layer.input_shape[0] if layer.keep_tokens else layer.input_shape
        seq, d_in = int(shape[1]), int(shape[2])
        lo, hi = act.raw_range()
        params = {"seq_len": seq, "d_in": d_in, "d_model": layer.d_model, "heads": layer.heads,
                  "d_head": layer.d_head, "in_frac": xin.frac, "w_frac": wfx.frac,
                  "b_frac": bfx.frac, "act_frac": act.frac, "act_min": lo, "act_max": hi,
                  "score_frac": layer.score_frac, "score_min": s_lo, "score_max": s_hi,
                  "prob_frac": layer.prob_bits - 1, "table_size": int(table.size),
                  "in_bits": xin.width + 1, "act_bits": act.width, "score_bits": int(sq.bits),
                  "exp_bits": tfx.width, "circ_block": b,
                  **attention_widths(seq, d_in, layer.d_model, layer.d_head, xin, act, wfx, bfx,
                                     layer.prob_bits - 1, int(table[0]))}
        if masked:
            params["masked"] = 1
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
        rf, q = int(node.get_attr("reuse_factor", 1)), node.get_attr("qt_params")
        word, banks = kv_layout(int(q["seq_len"]), int(q["d_model"]), int(q["act_bits"]), rf)
        return [f"    typedef {node.get_weights(w).type.name} {alias};"
                for alias, w in (("weight_t", "query_kernel"), ("bias_t", "query_bias"),
                                 ("table_t", "exp_table"), ("recip_t", "recip_table"))] + \
            [f"    static const unsigned kv_word = {word};",
             f"    static const unsigned kv_banks = {banks};",
             f"    static const unsigned multipliers = {stream_multipliers(node)};"]

    def function_name(self, node):
        """Token pruning (``keep``): ``qt_attention_prune[_masked]``, on (LN(x), x[, mask])."""
        name = super().function_name(node)
        return name.replace(self.function, f"{self.function}_prune", 1) \
            if "keep" in node.get_attr("qt_params") else name

    # ---- estimate
    def estimate_parallel(self, p, in_width):
        rf = max(1, p.reuse)
        q = p.params
        s, d_in, d, act = q["seq_len"], q["d_in"], q["d_model"], q["act_bits"]
        w = p.types["weight"].width
        proj = (3 * d_in * d + d * d)                      # per token
        mm = 2 * s * d                                      # QK^T and PV per token
        kernels = [p.consts[f"{n}_kernel"] for n in PROJECTIONS]
        live = math.ceil(proj * density(*kernels))
        cb = q.get("circ_block", 1)     # circulant: 1 / cb of the weights stored
        a = mac_block(live, act, w, q["proj_bits"], (3 * d_in + d) * d * w // cb, rf,
                      po2_levels(*kernels), fanout=cb)
        b = mac_block(mm, act, act + 2, q["ctx_bits"], 0, rf)
        soft_lut = self._softmax(p, math.ceil(s / rf), 1)  # one row per II
        # projections per token, then a score/softmax/context row per (head, token), then
        # the output projection per token; each pipelined at II = reuse
        cycles = (2 * s + q["heads"] * s) * rf + 3 * depth(d_in) + 32
        select_lut = 0
        if "keep" in q:  # token pruning: S x S rank comparators, then the residual adds
            select_lut = s * s * q["recv_bits"] // rf + s * d * p.out.width // rf
            cycles += s
        return LayerEstimate(p.name, p.kind, rf, p.macs, a[0] + b[0], a[1] + b[1],
                             a[2] + b[2] + soft_lut + select_lut, a[3] + b[3],
                             a[4], cycles)

    @staticmethod
    def _softmax(p, lanes: int, rows: int) -> int:
        """LUTs of the softmax: ``lanes`` exp-table lookups a cycle, each its own copy of the
        table as LUT ROM (lookups of one cycle read different addresses), and ``rows``
        reciprocals a cycle, each a ROM read (512 x 17 bits) with the priority encoder and
        shifts of the row sum."""
        q = p.params
        exp_rom = rom_lut(q["table_size"] * p.types["exp"].width)
        per_row = rom_lut(q["recip_size"] * 18) + recip_row_lut(q)
        return lanes * exp_rom + rows * per_row

    def estimate_stream(self, p, in_width):
        """The streamed form (``qt_attention_stream``): a token's Q/K/V projections at II =
        reuse as it arrives (in the segment before), then one query token a row at II = reuse
        (all heads' scores, softmax and context, and the output projection; in the segment
        after). Weights are ROMs read by the folded multipliers, so zero weights keep theirs
        unless fully unrolled (block-circulant projections store ``1 / b`` of them, and are
        charged ``1 / b`` of the ROM ports, each value read feeding ``b`` multipliers: an
        assumption, as HLS schedules the projection's reads itself); Q, K, V are memories of
        words of at most 72 bits, K and V each over ``kv_banks`` memories
        (:func:`kv_layout`)."""
        rf = max(1, p.reuse)
        q = p.params
        s, d_in, d, act = q["seq_len"], q["d_in"], q["d_model"], q["act_bits"]
        w = p.types["weight"].width
        kernels = [p.consts[f"{n}_kernel"] for n in PROJECTIONS]
        dens = density(*kernels) if rf == 1 else 1.0
        shifts = po2_levels(*kernels) if rf == 1 else 0
        cb = q.get("circ_block", 1)     # circulant: 1 / cb of the weights stored
        blocks = [mac_block(math.ceil(3 * d_in * d * dens), in_width, w, q["proj_bits"],
                            3 * d_in * d * w // cb, rf, shifts, fanout=cb),
                  mac_block(math.ceil(d * d * dens), act, w, q["proj_bits"], d * d * w // cb,
                            rf, shifts, fanout=cb),
                  mac_block(s * d, act, act, q["qk_bits"], 0, rf),
                  mac_block(s * d, q["prob_frac"] + 1, act, q["ctx_bits"], 0, rf)]
        par, dsp, lut, ff, bram = (sum(x[i] for x in blocks) for i in range(5))
        soft_lut = self._softmax(p, math.ceil(q["heads"] * s / rf), math.ceil(q["heads"] / rf))
        word, banks = kv_layout(s, d, act, rf)
        per_token = d // word
        q_mem = ram(word * act, s * per_token)                 # Q: one memory
        kv_mem = ram(word * act, math.ceil(s / banks) * per_token)
        lut += q_mem[0] + 2 * banks * kv_mem[0]
        bram += q_mem[1] + 2 * banks * kv_mem[1]
        cycles = s * rf + depth(s) + depth(d) + 8
        return LayerEstimate(p.name, p.kind, rf, p.macs, par, dsp, lut + soft_lut, ff,
                             float(bram), cycles, barrier=True,
                             in_cycles=s * rf + depth(d_in))

    def check_plan(self, plan, io_type):
        super().check_plan(plan, io_type)
        if io_type == IO_STREAM and "keep" in plan.params:
            raise QTError(f"layer {plan.name}: token pruning (keep_tokens) has no io_stream "
                          "form yet; use --io parallel")

    def next_reuse(self, p):
        limit = 2 * p.params["seq_len"] * p.params["d_model"] + p.params["d_model"] ** 2
        return p.reuse * 2 if p.reuse * 2 <= limit else None
