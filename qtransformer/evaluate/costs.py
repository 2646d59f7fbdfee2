"""Model size in bits and bit operations (BOPs), from the quantizers in the graph.

* size: every stored parameter at its quantizer's width (binary 1, ternary 2, float 32);
  per-channel po2 scales of binary/ternary/low-bit presets are not counted (a shift each).
* non-zero bits: the same, counting only parameters that are non-zero after quantization
  (what pruning saves; sparse-index overhead not counted).
* effective MACs: multiplies whose (quantized) weight is non-zero; pruned and ternary-zero
  weights need no multiplier.
* BOPs: sum over the effective multiplies of ``b_w * b_a`` (weight width times
  input-activation width; for ``Q K^T`` and ``P V`` both operands are activations).
  Accumulations are not counted, as in the simplified BOPs of Baskin et al.; the figure is
  for comparing configurations.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from qkeras import QActivation, QDense

from ..layers import QLayerNorm, QMultiHeadSelfAttention, QPositionEmbedding, QTokenEmbedding
from ..layers.quant import quantizer_bits

FLOAT_BITS = 32


def _qbits(q) -> int:
    """Width of a QKeras quantizer object (or string/None)."""
    if q is None:
        return FLOAT_BITS
    if isinstance(q, str):
        return quantizer_bits(q)
    return int(getattr(q, "bits", FLOAT_BITS))


def weight_bits(layer, weight_name: str) -> int:
    """Bit width of one stored parameter of ``layer``."""
    if isinstance(layer, QDense):
        q = layer.kernel_quantizer_internal if "kernel" in weight_name else \
            layer.bias_quantizer_internal
        return _qbits(q)
    if isinstance(layer, QMultiHeadSelfAttention):
        return _qbits(layer.kernel_quantizer if "kernel" in weight_name else layer.bias_quantizer)
    if isinstance(layer, QLayerNorm):
        return _qbits(layer.param_quantizer)
    if isinstance(layer, (QTokenEmbedding, QPositionEmbedding)):
        return _qbits(layer.quantizer)
    return FLOAT_BITS


def _out_bits(layer, in_bits: list[int]) -> int:
    """Width of a layer's output, following the quantizers through the graph."""
    widest = max(in_bits) if in_bits else FLOAT_BITS
    if isinstance(layer, QActivation):
        return _qbits(layer.quantizer)
    if isinstance(layer, QLayerNorm):
        return _qbits(layer.output_quantizer)
    if isinstance(layer, QMultiHeadSelfAttention):
        return _qbits(layer.activation_quantizer)
    if isinstance(layer, QTokenEmbedding):
        return _qbits(layer.quantizer)
    if isinstance(layer, (tf.keras.layers.Add, QPositionEmbedding)):
        return min(widest + 1, FLOAT_BITS)
    return widest


def _input_bits(layer) -> int:
    # Digits pixels are k/16 with k in 0..16: unsigned, 1 integer + 4 fraction bits.
    return 5 if layer.dtype == "float32" else FLOAT_BITS


def _macs(layer, shape_in, shape_out) -> list[tuple[int, str]]:
    """(MAC count, kind) pairs; kind 'w' multiplies by weights, 'qk'/'pv' by activations."""
    if isinstance(layer, QDense):
        tokens = int(np.prod(shape_in[1:-1])) if len(shape_in) > 2 else 1
        return [(tokens * int(shape_in[-1]) * layer.units, "w")]
    if isinstance(layer, QMultiHeadSelfAttention):
        if isinstance(shape_in, list):       # token pruning: [LN(x), x]
            shape_in = shape_in[0]
        seq, d = int(shape_in[1]), int(shape_in[2])
        return [(3 * seq * d * layer.d_model + seq * layer.d_model * layer.d_model, "w"),
                (layer.heads * seq * seq * layer.d_head, "qk"),
                (layer.heads * seq * seq * layer.d_head, "pv")]
    return []


def _density(layer) -> float:
    """Fraction of non-zero kernel entries after quantization (pruned or quantized to 0):
    a multiply by a zero weight is not instantiated in hardware."""
    if isinstance(layer, QDense):
        q = layer.kernel_quantizer_internal
        kernels = [layer.kernel if q is None else q(layer.kernel)]
    elif isinstance(layer, QMultiHeadSelfAttention):
        kernels = [v for k, v in layer.quantized_weights().items() if k.endswith("kernel")]
    else:
        return 1.0
    values = [np.asarray(k) for k in kernels]
    return sum(int(np.count_nonzero(v)) for v in values) / sum(v.size for v in values)


def _nonzero_bits(layer) -> int:
    """Bits of the parameters that are non-zero after quantization (pruned or ternary zeros
    need no storage in a sparse / unrolled design; index overhead is not counted)."""
    if isinstance(layer, QDense):
        qk, qb = layer.kernel_quantizer_internal, layer.bias_quantizer_internal
        values = {"kernel": layer.kernel if qk is None else qk(layer.kernel)}
        if layer.use_bias:
            values["bias"] = layer.bias if qb is None else qb(layer.bias)
    elif isinstance(layer, QMultiHeadSelfAttention):
        values = layer.quantized_weights()
    else:
        values = {w.name: w for w in layer.weights}
    return sum(int(np.count_nonzero(np.asarray(v))) * weight_bits(layer, name)
               for name, v in values.items())


def _operand_bits(layer, kind: str, a_bits: int) -> tuple[int, int]:
    """Widths of the two operands of a multiply of the given kind."""
    if kind == "w":
        return weight_bits(layer, "kernel"), a_bits
    act = _qbits(layer.activation_quantizer)
    return (act, act) if kind == "qk" else (layer.prob_bits or FLOAT_BITS, act)


def model_costs(model: tf.keras.Model) -> dict:
    """Parameter count, size in bits, MACs and BOPs, in total and per layer."""
    bits_out: dict[str, int] = {}
    layers, total_bits, total_bops, total_macs, params = [], 0, 0, 0, 0
    total_effective = total_nonzero_bits = 0
    host = {"params": 0, "bits": 0, "nonzero_bits": 0}
    for layer in model.layers:
        inbound = [n.inbound_layers for n in layer._inbound_nodes]
        srcs = [s for group in inbound for s in (group if isinstance(group, list) else [group])]
        in_bits = [bits_out[s.name] for s in srcs if s.name in bits_out]
        if isinstance(layer, tf.keras.layers.InputLayer):
            bits_out[layer.name] = _input_bits(layer)
            continue
        a_bits = max(in_bits) if in_bits else FLOAT_BITS
        bits_out[layer.name] = _out_bits(layer, in_bits)
        size = sum(int(np.prod(w.shape)) * weight_bits(layer, w.name) for w in layer.weights)
        n_params = sum(int(np.prod(w.shape)) for w in layer.weights)
        bops = macs = effective = 0
        density = _density(layer)
        for count, kind in _macs(layer, layer.input_shape, layer.output_shape):
            w_bits, x_bits = _operand_bits(layer, kind, a_bits)
            live = round(count * density) if kind == "w" else count
            bops += live * w_bits * x_bits
            macs += count
            effective += live
        total_effective += effective
        params += n_params
        total_bits += size
        nonzero = _nonzero_bits(layer)
        total_nonzero_bits += nonzero
        if isinstance(layer, QTokenEmbedding):   # the lookup table stays on the host
            host = {"params": n_params, "bits": size, "nonzero_bits": nonzero}
        total_bops += bops
        total_macs += macs
        layers.append({"name": layer.name, "type": type(layer).__name__, "params": n_params,
                       "bits": size, "macs": macs, "effective_macs": effective, "bops": bops,
                       "output_bits": bits_out[layer.name]})
    return {"params": params, "model_bits": total_bits, "model_kib": total_bits / 8 / 1024,
            "nonzero_bits": total_nonzero_bits,
            # What the FPGA stores: everything but a token model's host-side lookup table.
            "device_params": params - host["params"], "device_bits": total_bits - host["bits"],
            "device_nonzero_bits": total_nonzero_bits - host["nonzero_bits"],
            "macs": total_macs, "effective_macs": total_effective, "bops": total_bops,
            "layers": layers}
