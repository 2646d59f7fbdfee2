"""Quantizer presets: one registry entry per weight-quantizer family.

A preset turns a width into a QKeras quantizer string. :func:`layer_quantizers` expands a
:class:`~qtransformer.config.QuantConfig` into the strings every layer of the model takes, so
the model builder never spells a quantizer itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .config import QuantConfig

WEIGHT_PRESETS: dict[str, Callable[[int], str | None]] = {}


def register_weight_preset(name: str):
    def deco(fn: Callable[[int], str | None]):
        WEIGHT_PRESETS[name] = fn
        return fn
    return deco


@register_weight_preset("float")
def _float(bits: int) -> None:
    return None


@register_weight_preset("binary")
def _binary(bits: int) -> str:
    # A power-of-two scale per output keeps +-1 weights from saturating the next quantizer
    # and stays a shift in hardware.
    return 'binary(alpha="auto_po2")'


@register_weight_preset("binary-noscale")
def _binary_noscale(bits: int) -> str:
    # Plain +-1 (XNOR-net style); LayerNorm and the activation quantizers absorb the scale.
    return "binary(alpha=1)"


@register_weight_preset("stochastic-binary")
def _stochastic_binary(bits: int) -> str:
    # Sampled signs while training (an unbiased straight-through estimate), the plain
    # deterministic binary at inference, so the hardware sees fixed weights.
    return 'stochastic_binary(alpha="auto_po2")'


@register_weight_preset("stochastic-ternary")
def _stochastic_ternary(bits: int) -> str:
    return 'stochastic_ternary(alpha="auto_po2")'


@register_weight_preset("ternary")
def _ternary(bits: int) -> str:
    return 'ternary(alpha="auto_po2")'


@register_weight_preset("int")
def _int(bits: int) -> str:
    # Below 4 bits a fixed [-1, 1) range wastes most levels; a po2 scale recovers them.
    alpha = "1" if bits >= 4 else '"auto_po2"'
    return f"quantized_bits({bits},0,alpha={alpha})"


@register_weight_preset("po2")
def _po2(bits: int) -> str:
    # Power-of-two weights: every multiply becomes a shift in hardware.
    return f"quantized_po2({bits},1)"


BIAS_PRESETS: dict[str, Callable[[int, int], str]] = {
    "bits": lambda bits, integer: f"quantized_bits({bits},{integer},alpha=1)",
    # Power-of-two biases up to 2**integer: an add of a shifted one in hardware.
    "po2": lambda bits, integer: f"quantized_po2({bits},{2 ** integer})",
}
FFN_ACT_PRESETS: dict[str, Callable[[int, int], str]] = {
    "relu": lambda bits, integer: f"quantized_relu({bits},{integer})",
    # Hard tanh, clip(x, -1, 1) on a bits-wide grid (QKeras' default hard sigmoid), the
    # activation of binary/ternary nets; in hardware a saturating ap_fixed<bits,1> cast.
    "hardtanh": lambda bits, integer: f"quantized_tanh({bits})",
}


@dataclass(frozen=True)
class LayerQuantizers:
    """The quantizer strings (None = float) for each role in the encoder."""

    kernel: str | None
    bias: str | None
    activation: str | None
    ffn_act: str | None
    embedding: str | None
    norm_param: str | None
    score: str | None
    prob_bits: int | None
    exp_bits: int
    state: str | None = None     # an ODE block's state between Euler steps


def state_quantizer(act_bits: int, act_int: int) -> str:
    """The ODE state's quantizer: the activation's range with 3 more integer bits (the
    residual stream grows) and 4 more fractional bits (an Euler update ``h f`` is ``f`` times
    ``1/N``): at N <= 16 an update of one activation LSB still moves the state; smaller ones,
    or more steps, round to the state's grid."""
    return f"quantized_bits({act_bits + 7},{act_int + 3},alpha=1)"


def layer_quantizers(q: QuantConfig) -> LayerQuantizers:
    """Expand a QuantConfig into per-role quantizer strings."""
    family, width = q.weight_family()
    if family == "float":
        return LayerQuantizers(None, None, None, None, None, None, None, None, q.exp_bits)
    act = f"quantized_bits({q.act_bits},{q.act_int},alpha=1)"
    bias = BIAS_PRESETS[q.bias](q.bias_bits, q.bias_int)
    return LayerQuantizers(
        kernel=WEIGHT_PRESETS[family](width),
        bias=bias,
        activation=act,
        ffn_act=FFN_ACT_PRESETS[q.ffn_act](q.act_bits, q.act_int),
        embedding=act,
        norm_param=f"quantized_bits({q.bias_bits},{q.bias_int},alpha=1)",
        score=f"quantized_bits({q.score_bits},{q.score_int},alpha=1)",
        prob_bits=q.prob_bits,
        exp_bits=q.exp_bits,
        state=state_quantizer(q.act_bits, q.act_int),
    )
