"""A Neural-ODE block (``QODEBlock``): one shared transformer block's datapath, iterated.

The hardware is one instance of the block (LayerNorm, attention, LayerNorm, the FFN's two
Dense, the Euler update) inside a loop of ``steps`` iterations with the state fed back
(``nnet::qt_ode`` / ``qt_ode_stream`` in ``qt_layers_stream.h``): the weights are stored once,
the resources are one block's plus its sequence buffers, the latency ``steps`` times one
block's. The loop is never unrolled: the kind asks for hls4ml's Resource strategy, so the
io_parallel top is a DATAFLOW region rather than one PIPELINE (which would unroll every loop
under it into ``steps`` copies).

The block's layers are planned, configured and estimated by their own kinds (``parts`` of the
plan, a nested config struct each; the FFN's Dense as ``seqdense``, the streamed kernel, one
token a word), so the block computes exactly what the stacked block computes, step by step;
each part takes the largest reuse factor of its own ladder up to the block's. The costs are
the parts' with the weights counted once and the multiplies ``steps`` times.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import QTError
from ..fixed import add_fx, quantizer_fx, signed_fx
from ..layers.ode import H_FRAC, step_raw
from . import get_kind, register
from .base import IO_TYPES, CustomKind, LayerEstimate, LayerPlan, qbits
from .masking import is_masked
from .resources import mult, ram, stream_fifo
from .seqdense import SeqDense

NORMS, DENSES = ("ln1", "ln2"), ("ffn1", "ffn2")
KIND_OF = {"ln1": "layernorm", "attn": "attention", "ln2": "layernorm", "ffn1": "dense",
           "ffn2": "dense"}       # the Keras layers' kinds (the FFN's plans become seqdense)
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


def part_reuse(part: LayerPlan, reuse: int) -> int:
    """A part's reuse factor under the block's ``reuse``: the largest its own kind folds to
    that is not above it."""
    return max(r for r in get_kind(part.kind).reuse_ladder(part) if r <= max(1, reuse))


class SubNode:
    """An hls4ml node seen as one of its block's layers, for that layer kind's config
    template: its parameters, reuse factor, shape, types and (prefixed) weights."""

    def __init__(self, node, role: str, part: dict):
        self.node, self.role = node, role
        self.index, self.name = f"{node.index}_{role}", f"{node.name}_{role}"
        types = node.get_attr("types")
        self.attrs = {"qt_params": part["params"], "reuse_factor": part["reuse"],
                      "out_shape": [node.get_attr("qt_params")["seq_len"], part["width"]],
                      "types": {k.removeprefix(f"{role}_"): v for k, v in types.items()
                                if k.startswith(f"{role}_")}}

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
    int_groups = tuple(_prefixed("ln1", g) for g in _LN.int_groups) + \
        tuple(_prefixed("attn", g) for g in _ATTN.int_groups) + \
        tuple(_prefixed("ln2", g) for g in _LN.int_groups)
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

    def mac_terms(self, layer, a_bits):
        """Each layer's own terms (its kernels' non-zero share, its operand widths: the
        second Dense reads the FFN activation, the others an activation), ``steps`` times."""
        act = qbits(layer.activation_quantizer)
        ins = {"ffn2": qbits(layer.ffn_act_quantizer)}
        return [(count * layer.steps, live * layer.steps, w, x)
                for role, part in self._parts(layer).items()
                for count, live, w, x in get_kind(KIND_OF[role]).mac_terms(part,
                                                                          ins.get(role, act))]

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
        masked = is_masked(xins, 1)
        shape = layer.input_shape[0] if isinstance(layer.input_shape, list) else \
            layer.input_shape
        seq, d, f = int(shape[1]), layer.d_model, layer.ff_dim
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
        for role in DENSES:              # one token a word through the streamed kernel
            SeqDense.from_dense(parts[role])
        fx = add_fx(parts["attn"].out, act)                     # f(x) = a + m
        h = step_raw(layer.steps)
        upd = max(state.frac, fx.frac + H_FRAC)                 # x + h f, exact
        total = signed_fx(state.max_abs() + fx.max_abs() * h * 2.0**-H_FRAC, upd)
        lo, hi = state.raw_range()
        params = {"seq_len": seq, "d_model": d, "ff_dim": f, "steps": layer.steps, "h_raw": h,
                  "h_frac": H_FRAC, "state_frac": state.frac, "a_frac": parts["attn"].out.frac,
                  "m_frac": act.frac, "f_frac": fx.frac, "upd_frac": upd, "sum_bits": total.width,
                  "state_min": lo, "state_max": hi}
        if masked:
            params["masked"] = 1
        consts = {f"{role}_{k}": v for role, part in parts.items()
                  for k, v in part.consts.items()}
        types = {"state": state, "y": y, "f": fx,
                 **{role: part.out for role, part in parts.items()},
                 **{f"{role}_{t}": parts[role].types[t] for role in DENSES
                    for t in ("kernel", "bias", "accum")}}
        macs = layer.steps * sum(p.macs for p in parts.values())
        return LayerPlan(name, self.name, inputs, state, types, consts, params, macs=macs,
                         parts=parts)

    def clone(self, plan, srcs, out_shape):
        """The placeholder carries each part's parameters, reuse factor (under the block's,
        now chosen) and output width: its config struct."""
        from .hwlayer import custom_layer

        parts = {role: {"kind": part.kind, "reuse": part_reuse(part, plan.reuse),
                        "width": part.word,
                        "params": {k: int(v) for k, v in part.params.items()
                                   if isinstance(v, int | np.integer)}}
                 for role, part in plan.parts.items()}
        view = dataclasses.replace(plan, params={**plan.params, "parts": parts})
        return custom_layer(view, out_shape)(srcs if len(srcs) > 1 else srcs[0])

    def hls_config(self, plan, strategy):
        return {plan.name: {"Precision": {"result": plan.out.hls()}, "ReuseFactor": plan.reuse,
                            "Strategy": "Resource"}}

    # ---- C++
    def config_text(self, node):
        """The block's layers' config structs (their kinds' templates, on :class:`SubNode`
        views), then the block's own, naming them."""
        parts = node.get_attr("qt_params")["parts"]
        text = "".join(get_kind(part["kind"]).config_text(SubNode(node, role, part))
                       for role, part in parts.items())
        return text + super().config_text(node)

    def extra_config(self, node):
        types = node.get_attr("types")
        return [f"    typedef {types[t]} {t}_t;"
                for t in ("state", "y", "f", "ln1", "attn", "ln2", "ffn1", "ffn2")] + \
            [f"    typedef config{node.index}_{role} {role}_config;" for role in KIND_OF]

    # ---- estimate
    def estimate_parallel(self, p, in_width):
        """One block's layers at their reuse factors (their kinds' estimates, the FFN's Dense
        the streamed kernel's), the buffers between them (one token a word: ``x``, LN1, the
        attention, ``y``, LN2; the FFN's streams ``seq_len`` words deep), the update (a
        token's values a cycle), and ``steps`` times one step's cycles (each layer in turn,
        plus the residual, stream and update passes of ``seq_len`` cycles each) with the
        sequence's way in and out."""
        q, t = p.params, p.types
        s, d = q["seq_len"], q["d_model"]
        widths = {"ln1": t["state"].width, "attn": t["ln1"].width, "ln2": t["y"].width,
                  "ffn1": t["ln2"].width, "ffn2": t["ffn1"].width}
        rows = []
        for role, part in p.parts.items():
            part.reuse = part_reuse(part, p.reuse)
            kind = get_kind(part.kind)
            rows.append(kind.estimate_stream(part, widths[role]) if role in DENSES
                        else kind.estimate_parallel(part, widths[role]))
        lut, ff = sum(r.lut for r in rows), sum(r.ff for r in rows)
        bram = sum(r.bram36 for r in rows)
        for name in ("state", "ln1", "attn", "y", "ln2"):
            buf = ram(t[name].width * d, s)
            lut, bram = lut + buf[0], bram + buf[1]
        for name, width in (("ln2", d), ("ffn1", q["ff_dim"]), ("ffn2", d)):
            fifo = stream_fifo(t[name].width * width, s)
            lut, ff, bram = lut + fifo[0], ff + fifo[1], bram + fifo[2]
        mul = mult(t["f"].width, H_FRAC + 1, const=True)
        lut += d * (2 * q["sum_bits"] + mul[1])
        cycles = q["steps"] * (sum(r.cycles for r in rows) + 3 * s) + 2 * s
        return LayerEstimate(p.name, p.kind, p.reuse, p.macs, sum(r.multipliers for r in rows),
                             sum(r.dsp for r in rows) + d * mul[0], lut, ff, float(bram),
                             cycles)

    def estimate_stream(self, p, in_width):
        """The parallel form between a read of the whole sequence and its write: a barrier."""
        row = self.estimate_parallel(p, in_width)
        row.barrier, row.in_cycles = True, p.params["seq_len"]
        return row

    def next_reuse(self, p):
        """Doubling, as long as some part has a higher reuse factor to take."""
        top = max(max(get_kind(part.kind).reuse_ladder(part)) for part in p.parts.values())
        return p.reuse * 2 if p.reuse < top else None


__all__ = ["OdeBlock", "Shaped", "SubNode", "part_reuse"]
