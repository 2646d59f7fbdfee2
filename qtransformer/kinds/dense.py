"""Dense (QKeras ``QDense`` or Keras ``Dense``): hls4ml's own Dense kernels, per token on a
sequence (a pointwise Conv1D in hls4ml), Latency strategy or Resource with a reuse factor."""

from __future__ import annotations

import math

import numpy as np

from ..fixed import exact_fx, signed_fx
from . import register
from .base import (
    IO_TYPES,
    LayerEstimate,
    LayerKind,
    LayerPlan,
    depth,
    qbits,
    resource_strategy,
    tokens_of,
)
from .resources import density, mac_block, po2_levels, rom_lut


def _quantized(layer, which: str) -> np.ndarray:
    q = getattr(layer, f"{which}_quantizer_internal", None)
    value = getattr(layer, which)
    return np.asarray(q(value) if q else value.numpy(), np.float64)


def dense_plan(name: str, inputs: list[str], xin, w: np.ndarray, b: np.ndarray,
               tokens: int) -> LayerPlan:
    """The plan of ``x @ w + b`` (quantized constants): exact weight, bias and accumulator
    types from the values and the input type. Shared with the kinds that are a Dense in
    hardware (block-circulant)."""
    wfx, bfx = exact_fx(w), exact_fx(b)
    frac = max(xin.frac + wfx.frac, bfx.frac)
    bound = xin.max_abs() * float(np.abs(w).sum(axis=0).max()) + float(np.abs(b).max())
    acc = signed_fx(bound, frac)
    return LayerPlan(name, "dense", inputs, acc, {"weight": wfx, "bias": bfx, "accum": acc},
                     {"kernel": w, "bias": b}, macs=tokens * w.size)


def valid_dense_reuse(n_in: int, n_out: int, per_token: bool) -> list[int]:
    """Reuse factors hls4ml 1.3.0 accepts for a Dense layer (its FPGA backend's rule).

    A Dense on a sequence becomes a pointwise Conv1D, whose Resource kernel also needs
    ``rf <= n_in`` (it asserts this in C simulation).
    """
    out = []
    for rf in range(1, n_in * n_out + 1):
        mult_limit = math.ceil(n_in * n_out / min(n_in, rf))
        ok = (mult_limit % n_out == 0 or rf >= n_in) and (rf % n_in == 0 or rf < n_in)
        ok = ok and (n_in * n_out) % rf == 0 and (not per_token or rf <= n_in)
        if ok:
            out.append(rf)
    return out


def stream_kernel_estimate(p: LayerPlan, in_width: int, weight_rom) -> LayerEstimate:
    """A streamed Dense kernel, one token a beat at II = reuse: ``n_in n_out / reuse``
    multipliers with their accumulator adders (a zero weight keeps its multiplier unless fully
    unrolled), the weights read a cycle's products at a time from ``weight_rom(width, depth)``
    -> (LUT, BRAM36), the output cast per element (a fused quantizer's, or a fused ReLU's
    clamp). Shared by hls4ml's kernel (``dense``) and ours (``seqdense``)."""
    rf = max(1, p.reuse)
    w = p.types["weight"].width
    kernel = p.consts["kernel"]
    n_w, n_in, n_out = int(kernel.size), int(kernel.shape[0]), int(kernel.shape[1])
    live = math.ceil(n_w * density(kernel)) if rf == 1 else n_w
    par, dsp, lut, ff, _ = mac_block(live, in_width, w, p.types["accum"].width, 0, rf,
                                     po2_levels(kernel) if rf == 1 else 0, const=rf == 1)
    bram = 0.0
    if rf > 1:
        rom_luts, bram = weight_rom(par * w, rf)
        lut += rom_luts
    if p.out.quantizing:
        lut += n_out * (p.out.width + 1)
    elif p.params.get("relu"):
        lut += n_out * p.out.width
    cycles = p.beats * rf + depth(n_in)
    return LayerEstimate(p.name, p.kind, rf, n_w * p.beats, par, dsp, lut, ff, bram, cycles)


@register
class Dense(LayerKind):
    name = "dense"
    keras_classes = ("QDense", "Dense")
    io_types = IO_TYPES
    reusable = True
    prunable = True
    shrink = ("fewer weights (--d-model, --ff-dim) or narrower ones (--bits); its reuse factor "
              "is raised as far as hls4ml allows")

    def weight_bits(self, layer, weight_name):
        if type(layer).__name__ == "Dense":
            return 32
        q = layer.kernel_quantizer_internal if "kernel" in weight_name else \
            layer.bias_quantizer_internal
        return qbits(q)

    def macs(self, layer):
        return [(tokens_of(layer.input_shape) * int(layer.input_shape[-1]) * layer.units, "w")]

    def kernels(self, layer):
        return [_quantized(layer, "kernel")]

    def stored_values(self, layer):
        values = {"kernel": _quantized(layer, "kernel")}
        if layer.use_bias:
            values["bias"] = _quantized(layer, "bias")
        return values

    def plan(self, layer, name, inputs, xins):
        return dense_plan(name, inputs, xins[0], _quantized(layer, "kernel"),
                          _quantized(layer, "bias"), tokens_of(layer.input_shape))

    def clone(self, plan, srcs, out_shape):
        import tensorflow as tf

        layer = tf.keras.layers.Dense(plan.consts["kernel"].shape[1], name=plan.name)
        out = layer(srcs[0])
        layer.set_weights([plan.consts["kernel"].astype(np.float32),
                           plan.consts["bias"].astype(np.float32)])
        return out

    def hls_config(self, plan, strategy):
        t = plan.types
        return {plan.name: {"Precision": {"result": plan.out.hls(), "weight": t["weight"].hls(),
                                          "bias": t["bias"].hls(), "accum": t["accum"].hls()},
                            "ReuseFactor": plan.reuse,
                            "Strategy": strategy if plan.reuse == 1 else "Resource"},
                f"{plan.name}_linear": {"Precision": {"result": plan.out.hls()}}}

    def estimate_parallel(self, p, in_width):
        """hls4ml's io_parallel Dense. Latency strategy (reuse 1, or ``params["strategy"]``
        latency with a reuse factor, as other hls4ml projects use it): constant weights, a
        zero weight has no multiplier (hls4ml lowers the allocation by ``n_zeros / reuse``);
        with a reuse factor the multipliers are shared, so their weights are selected, not
        constant.
        Resource strategy (what a reuse factor above 1 gets here): the weights are a ROM read
        by ``n_w / reuse`` multipliers, zeros included. The outputs are registered."""
        rf = max(1, p.reuse)
        w = p.types["weight"].width
        kernel = p.consts["kernel"]
        n_w, n_in = int(kernel.size), int(kernel.shape[0])
        seq = max(1, p.macs // max(n_w, 1))
        latency = not resource_strategy(p)
        macs = p.macs if rf == 1 else n_w  # folded: tokens go through one kernel in turn
        live = math.ceil(macs * density(kernel)) if latency else macs
        par, dsp, lut, ff, bram = mac_block(live, in_width, w, p.types["accum"].width,
                                            0 if latency else n_w * w, rf,
                                            po2_levels(kernel) if latency else 0,
                                            const=rf == 1, binding=p.params.get("binding"))
        ff += p.elems * p.out.width if rf == 1 else int(kernel.shape[1]) * p.out.width
        cycles = depth(n_in) if rf == 1 else seq * (rf + depth(n_in))
        if p.out.quantizing:  # a fused output quantizer: one token's casts, or all at rf 1
            lut += (p.elems if rf == 1 else int(kernel.shape[1])) * (p.out.width + 1)
        return LayerEstimate(p.name, p.kind, rf, p.macs, par, dsp, lut, ff, bram, cycles)

    def estimate_stream(self, p, in_width):
        """hls4ml's streamed pointwise Conv1D (or Dense on the pooled vector): one token a beat
        at II = reuse; its weights are partitioned into logic (LUT ROM, no BRAM), and under
        the Resource strategy (reuse > 1) a zero weight keeps its multiplier."""
        return stream_kernel_estimate(p, in_width, lambda width, depth:
                                      (rom_lut(width * depth), 0.0))

    def next_reuse(self, p: LayerPlan):
        n_in, n_out = p.consts["kernel"].shape
        seq = p.macs // (n_in * n_out)
        higher = [rf for rf in valid_dense_reuse(n_in, n_out, seq > 1) if rf > p.reuse]
        return higher[0] if higher else None
