"""Block-circulant dense (``QCirculantDense``): costs of the defining vectors; in hardware, for
now, the expanded matrix as an ordinary Dense plan.

Parameters and bits count what is stored (the vectors, ``b`` times fewer than dense); MACs
count what the hardware computes, a dense product. The plan is the Dense kind's, built from the
quantized expanded matrix, so every later stage (fusion, the streamed per-token kernel, reuse
factors, estimate, C++) treats it as a Dense and the C simulation stays bit-exact; the estimate
then charges dense storage, which is what that hardware stores. The direct form (each block's
vector stored once, ``w[(j - i) mod b]`` picked by index) and the FFT form are still to come.
"""

from __future__ import annotations

import numpy as np

from ..layers.quant import make_quantizer
from . import register
from .base import qbits, tokens_of
from .dense import Dense, dense_plan


@register
class CirculantDense(Dense):
    name = "circulant"
    keras_classes = ("QCirculantDense",)
    prunable = False   # TF-MOT would prune the vectors' entries b times over; not offered yet
    shrink = ("a larger --circulant block, fewer weights (--d-model, --ff-dim) or narrower "
              "ones (--bits)")

    def weight_bits(self, layer, weight_name):
        spec = layer.kernel_quantizer if "vectors" in weight_name else layer.bias_quantizer
        return qbits(make_quantizer(spec))

    def macs(self, layer):
        return [(tokens_of(layer.input_shape) * int(layer.input_shape[-1]) * layer.units, "w")]

    def kernels(self, layer):
        return [np.asarray(layer.quantized_kernel(), np.float64)]

    def stored_values(self, layer):
        return _stored(layer, self.kernels(layer)[0])

    def plan(self, layer, name, inputs, xins):
        w = self.kernels(layer)[0]
        return dense_plan(name, inputs, xins[0], w, _stored(layer, w)["bias"],
                          tokens_of(layer.input_shape))


def _stored(layer, w: np.ndarray) -> dict[str, np.ndarray]:
    """What is stored: each block's first row is its defining vector (the quantized matrix
    ``w`` stays circulant), and the quantized bias."""
    bias = np.asarray(layer.bias if layer._bq is None else layer._bq(layer.bias), np.float64)
    return {"vectors": w[::layer.block, :], "bias": bias}
