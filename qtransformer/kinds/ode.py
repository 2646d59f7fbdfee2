"""A Neural-ODE block (``QODEBlock``): one shared transformer block's datapath, iterated.

The hardware is one instance of the block (LayerNorm, attention, LayerNorm, two Dense, the
Euler update) inside a loop of ``steps`` iterations with the state fed back
(``nnet::qt_ode`` in ``qt_layers.h``; ``qt_ode_stream`` buffers the sequence around it in an
io_stream project): the weights are stored once, the resources are one block's plus its
buffers, the latency ``steps`` times one block's. The loop is never unrolled: the kind asks
for hls4ml's Resource strategy, so the io_parallel top is a DATAFLOW region rather than one
PIPELINE (which would unroll every loop under it into ``steps`` copies).

The block's layers are planned by their own kinds (their types, constants and C++ configs:
``parts`` of the plan, a nested config struct each), so the block computes exactly what the
stacked block computes, step by step; the costs are theirs with the weights counted once and
the multiplies ``steps`` times.
"""

from __future__ import annotations

import dataclasses
import math

from ..errors import QTError
from ..fixed import add_fx, quantizer_fx, signed_fx
from ..layers.ode import H_FRAC, step_raw
from . import get_kind, register
from .base import IO_TYPES, CustomKind, LayerEstimate, LayerPlan, qbits
from .dense import stream_kernel_estimate
from .resources import ram, rom

NORMS, DENSES = ("ln1", "ln2"), ("ffn1", "ffn2")
KIND_OF = {"ln1": "layernorm", "attn": "attention", "ln2": "layernorm", "ffn1": "dense",
           "ffn2": "dense"}
_ATTN = get_kind("attention")
_LN = get_kind("layernorm")


def _prefixed(role: str, names) -> tuple[str, ...]:
    return tuple(f"{role}_{n}" for n in names)


class Shaped:
    """A layer of the block seen with the input shape it is called on: layers called inside
    another layer's ``call`` have no inbound nodes, and the kinds read ``input_shape``."""

    def __init__(self, layer, input_shape):
        self._layer, self.input_shape = layer, input_shape

    def __getattr__(self, key):
        return getattr(self._layer, key)


def part_limit(role: str, params: dict, d_model: int, ff_dim: int) -> int:
    """The largest reuse factor a part's kind folds to (LayerNorm 3 n, attention
    2 S d + d^2, a Dense n_in n_out); ``params``: the part's plan parameters."""
    if role in NORMS:
        return 3 * params["n_in"]
    if role == "attn":
        return 2 * params["seq_len"] * params["d_model"] + params["d_model"] ** 2
    return d_model * ff_dim


def part_reuse(limit: int, reuse: int) -> int:
    """A part's reuse factor under the block's ``reuse`` (a power of two): the same, capped at
    the largest power of two not above its ``limit``."""
    return min(reuse, 2 ** (limit.bit_length() - 1))


class SubNode:
    """An hls4ml node seen as one of its block's layers, for that layer kind's config
    template: its parameters, reuse factor, shape, types and (prefixed) weights."""

    def __init__(self, node, role: str, params: dict, reuse: int):
        self.node, self.role = node, role
        self.index, self.name = f"{node.index}_{role}", f"{node.name}_{role}"
        self.attrs = {"qt_params": params, "reuse_factor": reuse,
                      "out_shape": node.get_attr("out_shape")}

    def get_attr(self, key, default=None):
        return self.attrs.get(key, default)

    def get_weights(self, name):
        return self.node.get_weights(f"{self.role}_{name}")


@register
class OdeBlock(CustomKind):
    name = "ode"
    keras_classes = ("QODEBlock",)
    io_types = IO_TYPES
    reusable = True
    prunable = True
    dataflow = True
    shrink = "fewer channels (--d-model, --ff-dim) or tokens (--seq-len); steps cost latency"
    ir_class, function, config_base = "QtOde", "qt_ode", "qt_ode_config"
    int_groups = tuple(_prefixed(r, g) for r in NORMS[:1] for g in _LN.int_groups) + \
        tuple(_prefixed("attn", g) for g in _ATTN.int_groups) + \
        tuple(_prefixed(r, g) for r in NORMS[1:] for g in _LN.int_groups)
    fixed_consts = _prefixed("ffn1", ("kernel", "bias")) + _prefixed("ffn2", ("kernel", "bias"))
    args = _prefixed("ln1", _LN.args) + _prefixed("attn", _ATTN.args) + \
        _prefixed("ln2", _LN.args) + fixed_consts
    unsigned = ("seq_len", "d_model", "ff_dim", "steps", "sum_bits")
    skip_params = ("parts",)

    # ---- costs: the block's layers, weights once, multiplies ``steps`` times
    def _parts(self, layer) -> dict:
        seq = tuple(layer.input_shape)
        ff = seq[:-1] + (layer.ff_dim,)
        return {"ln1": Shaped(layer.ln1, seq), "attn": Shaped(layer.attn, seq),
                "ln2": Shaped(layer.ln2, seq), "ffn1": Shaped(layer.ffn1, seq),
                "ffn2": Shaped(layer.ffn2, ff)}

    def _owner(self, layer, weight_name: str):
        """(role, kind, part) of the block layer holding ``weight_name`` (a weight's name or
        a ``role/name`` key of :meth:`stored_values`)."""
        parts = self._parts(layer)
        role = weight_name.split("/")[0]
        if role in parts:
            return role, get_kind(KIND_OF[role]), parts[role]
        for role, part in parts.items():
            if any(w.name == weight_name for w in part.weights):
                return role, get_kind(KIND_OF[role]), part
        raise QTError(f"layer {layer.name}: weight {weight_name} belongs to none of its layers")

    def weight_bits(self, layer, weight_name):
        _, kind, part = self._owner(layer, weight_name)
        return kind.weight_bits(part, weight_name.split("/")[-1])

    def out_bits(self, layer, in_bits):
        return qbits(layer.state_quantizer)

    def macs(self, layer):
        return [(count * layer.steps, mac) for role, part in self._parts(layer).items()
                for count, mac in get_kind(KIND_OF[role]).macs(part)]

    def mac_terms(self, layer, a_bits):
        """Each layer's own terms (its kernels' non-zero share, its operand widths: every
        layer of the block reads a quantized activation), ``steps`` times."""
        act = qbits(layer.activation_quantizer)
        return [(count * layer.steps, live * layer.steps, w, x)
                for role, part in self._parts(layer).items()
                for count, live, w, x in get_kind(KIND_OF[role]).mac_terms(part, act)]

    def kernels(self, layer):
        return [k for role, part in self._parts(layer).items()
                for k in get_kind(KIND_OF[role]).kernels(part)]

    def stored_values(self, layer):
        return {f"{role}/{name}": v for role, part in self._parts(layer).items()
                for name, v in get_kind(KIND_OF[role]).stored_values(part).items()}

    # ---- plan
    def plan(self, layer, name, inputs, xins):
        state = quantizer_fx(layer.state_quantizer) if layer.state_quantizer else None
        act = quantizer_fx(layer.activation_quantizer) if layer.activation_quantizer else None
        hidden = quantizer_fx(layer.ffn_act_quantizer) if layer.ffn_act_quantizer else None
        if state is None or act is None or hidden is None:
            raise QTError(f"layer {name}: HLS needs a quantized ODE block (state, activation "
                          "and FFN quantizers)")
        src = self._parts(layer)
        seq, d, f = int(layer.input_shape[1]), layer.d_model, layer.ff_dim
        parts = {"ln1": _LN.plan(src["ln1"], "ln1", [], [state])}
        parts["attn"] = _ATTN.plan(src["attn"], "attn", [], [parts["ln1"].out])
        y = add_fx(state, parts["attn"].out)
        parts["ln2"] = _LN.plan(src["ln2"], "ln2", [], [y])
        dense = get_kind("dense")
        parts["ffn1"] = dense.plan(src["ffn1"], "ffn1", [], [parts["ln2"].out])
        parts["ffn1"].out = hidden           # the FFN's activations fused into its Dense
        parts["ffn2"] = dense.plan(src["ffn2"], "ffn2", [], [hidden])
        parts["ffn2"].out = act
        for role, part in parts.items():
            part.shape = (seq, f if role == "ffn1" else d)
            part.elems = seq * part.shape[1]
        fx = add_fx(parts["attn"].out, act)                     # f(x) = a + m
        h = step_raw(layer.steps)
        upd = max(state.frac, fx.frac + H_FRAC)                 # x + h f, exact
        total = signed_fx(state.max_abs() + fx.max_abs() * h * 2.0**-H_FRAC, upd)
        lo, hi = state.raw_range()
        params = {"seq_len": seq, "d_model": d, "ff_dim": f, "steps": layer.steps, "h_raw": h,
                  "h_frac": H_FRAC, "state_frac": state.frac, "a_frac": parts["attn"].out.frac,
                  "m_frac": act.frac, "f_frac": fx.frac, "upd_frac": upd, "sum_bits": total.width,
                  "state_min": lo, "state_max": hi}
        consts = {f"{role}_{k}": v for role, part in parts.items()
                  for k, v in part.consts.items()}
        types = {"state": state, "y": y, "f": fx,
                 **{role: part.out for role, part in parts.items()},
                 **{f"{role}_{w}": parts[role].types[t] for role in DENSES
                    for w, t in (("kernel", "weight"), ("bias", "bias"), ("accum", "accum"))}}
        macs = layer.steps * sum(p.macs for p in parts.values())
        return LayerPlan(name, self.name, inputs, state, types, consts, params, macs=macs,
                         parts=parts)

    def clone(self, plan, srcs, out_shape):
        """The placeholder carries the parts' parameters too (their config structs)."""
        from .hwlayer import custom_layer

        parts = {role: {k: int(v) for k, v in part.params.items()}
                 for role, part in plan.parts.items() if role not in DENSES}
        view = dataclasses.replace(plan, params={**plan.params, "parts": parts})
        return custom_layer(view, out_shape)(srcs[0])

    def hls_config(self, plan, strategy):
        return {plan.name: {"Precision": {"result": plan.out.hls()}, "ReuseFactor": plan.reuse,
                            "Strategy": "Resource"}}

    # ---- C++
    def config_text(self, node):
        """The block's layers' config structs (their kinds' templates, on :class:`SubNode`
        views), then the block's own, naming them."""
        rf = int(node.get_attr("reuse_factor", 1))
        q = node.get_attr("qt_params")
        text = ""
        for role in ("ln1", "attn", "ln2"):
            part = q["parts"][role]
            reuse = part_reuse(part_limit(role, part, q["d_model"], q["ff_dim"]), rf)
            text += get_kind(KIND_OF[role]).config_text(SubNode(node, role, part, reuse))
        types = node.get_attr("types")
        for role, n_in, n_out in (("ffn1", q["d_model"], q["ff_dim"]),
                                  ("ffn2", q["ff_dim"], q["d_model"])):
            reuse = part_reuse(n_in * n_out, rf)
            text += (f"struct config{node.index}_{role} : nnet::qt_ode_dense_config {{\n"
                     f"    static const unsigned seq_len = {q['seq_len']}, n_in = {n_in}, "
                     f"n_out = {n_out};\n"
                     f"    static const unsigned reuse_factor = {reuse};\n"
                     f"    static const unsigned multipliers = {math.ceil(n_in * n_out / reuse)};\n"
                     f"    typedef {node.get_weights(role + '_kernel').type.name} weight_t;\n"
                     f"    typedef {node.get_weights(role + '_bias').type.name} bias_t;\n"
                     f"    typedef {types[role + '_accum']} accum_t;\n}};\n")
        return text + super().config_text(node)

    def extra_config(self, node):
        types = node.get_attr("types")
        return [f"    typedef {types[t]} {t}_t;"
                for t in ("state", "y", "f", "ln1", "attn", "ln2", "ffn1", "ffn2")] + \
            [f"    typedef config{node.index}_{role} {role}_config;" for role in KIND_OF]

    # ---- estimate
    def estimate_parallel(self, p, in_width):
        """One block's layers at their reuse factors (their kinds' estimates: LayerNorm and
        attention as in io_parallel, each Dense a token loop at II = reuse with its weights
        a ROM, as ``qt_ode_dense`` builds it), the buffers between them (S x d values each,
        S x ff for the hidden layer: RAM), the update's multiply-add per value, and
        ``steps`` times one block's cycles."""
        rows, in_w = [], p.types["state"].width
        for role, part in p.parts.items():
            part.reuse = part_reuse(self._limit(p, role), max(1, p.reuse))
            if role in DENSES:
                rows.append(stream_kernel_estimate(part, in_w, rom))
            else:
                rows.append(get_kind(KIND_OF[role]).estimate_parallel(part, in_w))
            in_w = part.out.width
        q = p.params
        s, d = q["seq_len"], q["d_model"]
        lut = sum(r.lut for r in rows)
        bram = sum(r.bram36 for r in rows)
        for name in ("state", "ln1", "attn", "y", "ln2", "ffn1", "ffn2"):
            buf = ram(p.types[name].width, s * (q["ff_dim"] if name == "ffn1" else d))
            lut, bram = lut + buf[0], bram + buf[1]
        lut += 2 * q["sum_bits"] + p.types["f"].width * (H_FRAC + 1) // 2
        cycles = q["steps"] * (sum(r.cycles for r in rows) + s * d) + 2 * s * d
        return LayerEstimate(p.name, p.kind, p.reuse, p.macs, sum(r.multipliers for r in rows),
                             sum(r.dsp for r in rows), lut,
                             sum(r.ff for r in rows) + 2 * q["sum_bits"], float(bram), cycles)

    def estimate_stream(self, p, in_width):
        """The parallel form between a read of the whole sequence and its write: a barrier."""
        row = self.estimate_parallel(p, in_width)
        row.barrier, row.in_cycles = True, p.params["seq_len"]
        return row

    @staticmethod
    def _limit(p: LayerPlan, role: str) -> int:
        return part_limit(role, p.parts[role].params, p.params["d_model"], p.params["ff_dim"])

    def next_reuse(self, p):
        limit = max(self._limit(p, role) for role in p.parts)
        return p.reuse * 2 if p.reuse * 2 <= limit else None


__all__ = ["OdeBlock", "Shaped", "SubNode", "part_limit", "part_reuse"]
