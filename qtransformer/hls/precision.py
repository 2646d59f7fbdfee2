"""Derive every HLS type of a QKeras transformer from its quantizers and from bit growth.

Quantizers fix weights, biases, activations, LayerNorm/attention outputs, scores and
probabilities. Everything else (Dense accumulators, residual Add outputs, position-embedding
sums, pooling) gets the *exact* type of its operation: fractional bits are the sum/max of the
operands', integer bits come from a worst-case bound (input range x L1 norm of a weight column
+ bias, or the sum of the Add operands' ranges), so nothing rounds or overflows. Calibration data
only sizes the model input type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from ..errors import QTError
from ..layers.norm import LN_INV_BITS, LN_M_BITS, LN_SQRT_BITS, ln_eps_raw
from .fixed import Fx, add_fx, exact_fx, frac_bits, quantizer_fx, signed_fx, to_raw

DEFAULT_INPUT = Fx(16, 6, True, True)


# Plan kinds with no HLS layer of their own: a dropout passes its input through, and a
# "fused" activation is the cast of the Dense before it (see fuse_output_quantizers).
PASS_THROUGH = ("dropout", "fused")


@dataclass
class LayerPlan:
    """One layer as the HLS project implements it."""

    name: str
    kind: str                       # dense | act | add | posembed | layernorm | attention ...
    inputs: list[str]
    out: Fx
    types: dict[str, Fx] = field(default_factory=dict)
    consts: dict[str, np.ndarray] = field(default_factory=dict)   # quantized values / raw ints
    params: dict = field(default_factory=dict)
    reuse: int = 1
    host: bool = False              # runs on the host (token embedding lookup)
    macs: int = 0                   # multiplies per inference (resource estimate)
    elems: int = 0                  # output elements per inference (resource estimate)

    def row(self) -> dict:
        """A row of the precision table in the report."""
        return {"name": self.name, "type": self.kind, "output": self.out.hls(),
                **{k: v.hls() for k, v in self.types.items()}, "reuse_factor": self.reuse}


def input_fx(calibration_x: np.ndarray | None) -> Fx:
    """Model input type: exact for the calibration data's grid and range, else ap_fixed<16,6>."""
    if calibration_x is None:
        return DEFAULT_INPUT
    x = np.asarray(calibration_x, dtype=np.float64)
    try:
        f = frac_bits(x, limit=16)
    except QTError:
        f = 10
    fx = signed_fx(float(np.abs(x).max()) * 2, f)   # x2: headroom for unseen inputs
    return Fx(fx.width, fx.integer, True, True)


def _inbound(layer) -> list[str]:
    node = layer._inbound_nodes[0]
    inb = node.inbound_layers
    inb = inb if isinstance(inb, list | tuple) else [inb]
    return [x.name for x in inb]


def _dense(layer, name, inputs, xin: Fx) -> LayerPlan:
    w = np.asarray(layer.kernel_quantizer_internal(layer.kernel), np.float64) \
        if layer.kernel_quantizer_internal else layer.kernel.numpy().astype(np.float64)
    b = np.asarray(layer.bias_quantizer_internal(layer.bias), np.float64) \
        if layer.bias_quantizer_internal else layer.bias.numpy().astype(np.float64)
    wfx, bfx = exact_fx(w), exact_fx(b)
    frac = max(xin.frac + wfx.frac, bfx.frac)
    bound = xin.max_abs() * float(np.abs(w).sum(axis=0).max()) + float(np.abs(b).max())
    acc = signed_fx(bound, frac)
    seq = int(np.prod(layer.input_shape[1:-1])) if len(layer.input_shape) > 2 else 1
    return LayerPlan(name, "dense", inputs, acc, {"weight": wfx, "bias": bfx, "accum": acc},
                     {"kernel": w, "bias": b}, macs=seq * w.size)


def _posembed(layer, name, inputs, xin: Fx) -> LayerPlan:
    table = np.asarray(layer._q(layer.positions) if layer._q else layer.positions, np.float64)
    tfx = exact_fx(table)
    return LayerPlan(name, "posembed", inputs, add_fx(xin, tfx), {"table": tfx},
                     {"table": table})


def _layernorm(layer, name, inputs, xin: Fx) -> LayerPlan:
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
        raise QTError(f"layer {name}: the integer LayerNorm of {n} features with input type "
                      f"{xin.hls()} could overflow 64 bits; use fewer activation bits")
    seq = int(layer.input_shape[1])
    return LayerPlan(name, "layernorm", inputs, out, {"param": pfx}, {"gamma": g, "beta": b},
                     params, macs=seq * n * 3)


def _attention(layer, name, inputs, xin: Fx, resid: Fx | None = None) -> LayerPlan:
    if not layer.fixed or layer._aq is None:
        raise QTError(f"layer {name}: HLS needs quantized attention (score/prob quantizers)")
    w = {k: v.numpy().astype(np.float64) for k, v in layer.quantized_weights().items()}
    kernels = np.concatenate([w[f"{p}_kernel"].ravel() for p in ("query", "key", "value",
                                                                 "output")])
    biases = np.concatenate([w[f"{p}_bias"] for p in ("query", "key", "value", "output")])
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
        params.update(keep=int(layer.keep_tokens), resid_frac=resid.frac, out_frac=out.frac,
                      recv_bits=recv)
        types["resid"] = resid
    return LayerPlan(name, "attention", inputs, out, types, consts, params, macs=macs)


def _pool(layer, name, inputs, xin: Fx, cls: bool) -> LayerPlan:
    seq, n = int(layer.input_shape[1]), int(layer.input_shape[2])
    if cls:
        return LayerPlan(name, "clspool", inputs, xin, params={"seq_len": seq, "n_in": n})
    extra = int(math.log2(seq)) if seq & (seq - 1) == 0 else math.ceil(math.log2(seq)) + 16
    out = signed_fx(xin.max_abs(), xin.frac + extra)
    lo, hi = out.raw_range()
    sum_bits = xin.width + (0 if xin.signed else 1) + math.ceil(math.log2(max(seq, 2)))
    return LayerPlan(name, "meanpool", inputs, out, params={
        "seq_len": seq, "n_in": n, "in_frac": xin.frac, "out_frac": out.frac,
        "out_min": lo, "out_max": hi, "sum_bits": sum_bits})


def _activation(layer, name, inputs, xin: Fx) -> LayerPlan:
    spec = layer.get_config()["activation"]
    if isinstance(spec, dict) or "quantized" in str(spec):
        out = quantizer_fx(spec)
        fn = "relu" if "relu" in str(spec) else "linear"
    elif spec in ("relu", "linear"):
        out, fn = xin, spec
    else:
        raise QTError(f"layer {name}: activation {spec!r} is not supported in HLS")
    return LayerPlan(name, "act", inputs, out, params={"activation": fn})


def plan_model(model: tf.keras.Model, in_fx: Fx = DEFAULT_INPUT) -> dict[str, LayerPlan]:
    """Per-layer plan (types, quantized constants) in topological order."""
    plans: dict[str, LayerPlan] = {}
    for layer in model.layers:
        cls, name = type(layer).__name__, layer.name
        inputs = [] if cls == "InputLayer" else _inbound(layer)
        xin = plans[inputs[0]].out if inputs else in_fx
        if cls == "InputLayer":
            plan = LayerPlan(name, "input", [], in_fx, host=True)
        elif cls == "QTokenEmbedding":
            plan = LayerPlan(name, "embedding", inputs, quantizer_fx(layer.quantizer), host=True)
        elif cls in ("QDense", "Dense"):
            plan = _dense(layer, name, inputs, xin)
        elif cls in ("QActivation", "Activation"):
            plan = _activation(layer, name, inputs, xin)
        elif cls == "Add":
            out = plans[inputs[0]].out
            for other in inputs[1:]:
                out = add_fx(out, plans[other].out)
            plan = LayerPlan(name, "add", inputs, out)
        elif cls == "Dropout":
            plan = LayerPlan(name, "dropout", inputs, xin)
        elif cls == "QPositionEmbedding":
            plan = _posembed(layer, name, inputs, xin)
        elif cls == "QLayerNorm":
            plan = _layernorm(layer, name, inputs, xin)
        elif cls == "QMultiHeadSelfAttention":
            plan = _attention(layer, name, inputs, xin,
                              plans[inputs[1]].out if len(inputs) > 1 else None)
        elif cls in ("GlobalAveragePooling1D", "ClsPooling"):
            plan = _pool(layer, name, inputs, xin, cls == "ClsPooling")
        else:
            raise QTError(f"layer {name} ({cls}) has no HLS mapping")
        plan.elems = int(np.prod(layer.output_shape[1:]))
        plans[name] = plan
    return fuse_output_quantizers(plans)


def fuse_output_quantizers(plans: dict[str, LayerPlan]) -> dict[str, LayerPlan]:
    """Fold a linear quantizing activation into the Dense before it (the Dense's result type
    becomes the quantizer's, so the cast rounds and saturates there).

    Bit for bit the same (the Dense's own type is its exact accumulator), but cheaper: the
    Dense's Resource kernel casts one token's outputs at a time, whereas hls4ml's io_parallel
    activation is unrolled over the whole sequence. The activation's plan stays, as kind
    ``fused``, so its name still maps to a Keras layer; the Dense records it in
    ``params["fused"]`` (whose Keras output its HLS output now equals).
    """
    consumers: dict[str, int] = {}
    for p in plans.values():
        for name in p.inputs:
            consumers[name] = consumers.get(name, 0) + 1
    for p in plans.values():
        if p.kind != "act" or p.params.get("activation") != "linear" or not p.out.quantizing:
            continue
        src = plans[p.inputs[0]]
        if src.kind == "dense" and consumers.get(src.name) == 1:
            src.out, src.params["fused"], p.kind = p.out, p.name, "fused"
    return plans


def precision_table(plans: dict[str, LayerPlan]) -> list[dict]:
    """Rows for the report: name, type, every precision string, reuse factor."""
    return [p.row() for p in plans.values() if p.kind not in PASS_THROUGH]
