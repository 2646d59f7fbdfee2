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

from ..errors import QTError
from ..fixed import frac_bits
from ..kinds import FLOAT_BITS, kind_of, model_nodes

__all__ = ["FLOAT_BITS", "data_bits", "model_costs", "weight_bits"]


def weight_bits(layer, weight_name: str) -> int:
    """Bit width of one stored parameter of ``layer`` (its kind says)."""
    return kind_of(layer).weight_bits(layer, weight_name)


def data_bits(x) -> int:
    """Bits of an input array's values on their grid: e.g. digits pixels k/16 with k in 0..16
    are 5 bits unsigned. Values not on a grid of at most 16 fraction bits count as float."""
    x = np.asarray(x, np.float64)
    if not x.size:
        return FLOAT_BITS
    try:
        f = frac_bits(x, limit=16)
    except QTError:   # not on a fixed-point grid
        return FLOAT_BITS
    peak = int(np.abs(np.round(x * 2.0**f)).max())
    return min(FLOAT_BITS, max(1, peak.bit_length()) + int(bool((x < 0).any())))


def _nonzero_bits(kind, layer) -> int:
    """Bits of the parameters that are non-zero after quantization (pruned or ternary zeros
    need no storage in a sparse / unrolled design; index overhead is not counted)."""
    return sum(int(np.count_nonzero(v)) * kind.weight_bits(layer, name)
               for name, v in kind.stored_values(layer).items())


def model_costs(model: tf.keras.Model, input_bits: int = FLOAT_BITS) -> dict:
    """Parameter count, size in bits, MACs and BOPs, in total and per layer.

    ``input_bits``: width of the model's input values (:func:`data_bits` of the training
    data; token ids feed a lookup and multiply nothing)."""
    bits_out: dict[str, int] = {}
    layers, total_bits, total_bops, total_macs, params = [], 0, 0, 0, 0
    total_effective = total_nonzero_bits = total_dense = 0
    host = {"params": 0, "bits": 0, "nonzero_bits": 0, "dense_params": 0}
    for layer in model.layers:
        kind = kind_of(layer)
        inbound = [n.inbound_layers for n in model_nodes(model, layer)]
        srcs = [s for group in inbound for s in (group if isinstance(group, list) else [group])]
        in_bits = [bits_out[s.name] for s in srcs if s.name in bits_out]
        if kind.name == "input":
            bits_out[layer.name] = kind.out_bits(layer, [input_bits])
            continue
        a_bits = max(in_bits) if in_bits else FLOAT_BITS
        bits_out[layer.name] = kind.out_bits(layer, in_bits)
        size = sum(int(np.prod(w.shape)) * kind.weight_bits(layer, w.name)
                   for w in layer.weights)
        n_params = sum(int(np.prod(w.shape)) for w in layer.weights)
        dense = kind.dense_params(layer)
        total_dense += dense
        bops = macs = effective = 0
        for count, live, w_bits, x_bits in kind.mac_terms(layer, a_bits):
            bops += live * w_bits * x_bits
            macs += count
            effective += live
        total_effective += effective
        params += n_params
        total_bits += size
        nonzero = _nonzero_bits(kind, layer)
        total_nonzero_bits += nonzero
        if kind.host:   # a token model's lookup table (and its padding mask) stay on the host
            for key, value in (("params", n_params), ("bits", size), ("nonzero_bits", nonzero),
                               ("dense_params", dense)):
                host[key] += value
        total_bops += bops
        total_macs += macs
        layers.append({"name": layer.name, "type": type(layer).__name__, "params": n_params,
                       "dense_params": dense,
                       "bits": size, "macs": macs, "effective_macs": effective, "bops": bops,
                       "output_bits": bits_out[layer.name]})
    return {"params": params, "model_bits": total_bits, "model_kib": total_bits / 8 / 1024,
            "nonzero_bits": total_nonzero_bits,
            # What the FPGA stores: everything but a token model's host-side lookup table.
            "device_params": params - host["params"], "device_bits": total_bits - host["bits"],
            # the same shapes with dense weights: the float32 reference of a compression ratio
            "device_dense_params": total_dense - host["dense_params"],
            "device_nonzero_bits": total_nonzero_bits - host["nonzero_bits"],
            "macs": total_macs, "effective_macs": total_effective, "bops": total_bops,
            "layers": layers}
