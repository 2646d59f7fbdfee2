"""Block-circulant dense (``QCirculantDense``): costs of the defining vectors; in hardware the
direct form, each block's vector stored once.

Parameters and bits count what is stored (the vectors, ``b`` times fewer than dense); MACs
count what the hardware computes, a dense product. The plan is the Dense kind's, built from the
quantized expanded matrix (exact types, fusion, reuse factors and the estimate's multipliers are
a Dense's), with ``circ_block`` and the stored ``vectors`` added:

* io_stream (``seqcirc``, :class:`SeqCirculant`): our per-token kernel in its circulant fold
  (``qt_dense_stream`` with ``circ_block``): rows are (block row, diagonal) pairs, so a cycle
  reads one ROM word of ``M / b`` stored values (one, when a cycle's outputs are fewer than a
  block) and each feeds up to ``b`` multipliers; the weight ROM is ``b`` times smaller. The
  weights are never rotated: the rotation is in which input a multiplier selects, still one of
  ``reuse`` inputs per multiplier (the estimate charges such a select per folded multiplier
  for the dense fold too), but up to ``b`` different ones a cycle where the dense fold shares
  one across a row's outputs.
* io_parallel: hls4ml's Dense on the expanded matrix. Fully unrolled, its weights are constants
  inside the multipliers, so there is nothing stored to shrink; folded (Resource strategy), its
  ROM is the dense one, and the estimate charges that.

The FFT form (CirCNN's O(b log b) per block) is not built: ``benchmarks/circulant_fft.py``
measured that it needs multipliers where ternary/binary weights need none, and that its rounded
spectra break bit-exactness above ``b = 4`` (docs/benchmarks.md).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import QTError
from ..layers.circulant import circulant_index
from ..layers.quant import make_quantizer
from . import register
from .base import LayerPlan, qbits, tokens_of
from .dense import Dense, dense_plan, stream_kernel_estimate
from .resources import rom
from .seqdense import SeqDense, seq_dense_reuse


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

    def circulant(self, layer):
        return layer.block

    def macs(self, layer):
        return [(tokens_of(layer.input_shape) * int(layer.input_shape[-1]) * layer.units, "w")]

    def kernels(self, layer):
        return [np.asarray(layer.quantized_kernel(), np.float64)]

    def stored_values(self, layer):
        return _stored(layer, self.kernels(layer)[0])

    def plan(self, layer, name, inputs, xins):
        w = self.kernels(layer)[0]
        p = dense_plan(name, inputs, xins[0], w, _stored(layer, w)["bias"],
                       tokens_of(layer.input_shape))
        p.params["circ_block"] = layer.block
        p.consts["vectors"] = diagonal_rows(w, layer.block)
        return p


def first_rows(w: np.ndarray, block: int, name: str) -> np.ndarray:
    """Each block's first row (``n_in / b x n_out``, flattened: the defining vectors
    ``[p][q][d]``) of a quantized matrix that must still be block-circulant; one that is not
    (a quantizer that treats the copies of a value differently) is an error here rather than a
    mismatch in C simulation."""
    first = w[::block]
    if not np.array_equal(first.ravel()[circulant_index(*w.shape, block)], w):
        raise QTError(f"layer {name}: its quantized weights are not block-circulant "
                      f"(block {block}); its weight quantizer breaks the blocks")
    return first


def diagonal_rows(w: np.ndarray, block: int) -> np.ndarray:
    """The stored values of a block-circulant ``w`` (``n_in x n_out``) in the streamed kernel's
    order: row ``t = p b + d`` holds diagonal ``d`` of block row ``p`` for every block column
    ``q``, ``v[p][q][d] = w[p b][q b + d]`` (``n_in x n_out / b``)."""
    n_in, n_out = w.shape
    first = first_rows(w, block, "").reshape(n_in // block, n_out // block, block)  # [p][q][d]
    return first.transpose(0, 2, 1).reshape(n_in, n_out // block)


def _stored(layer, w: np.ndarray) -> dict[str, np.ndarray]:
    """What is stored: each block's first row is its defining vector (the quantized matrix
    ``w`` stays circulant), and the quantized bias."""
    bias = np.asarray(layer.bias if layer._bq is None else layer._bq(layer.bias), np.float64)
    return {"vectors": first_rows(w, layer.block, layer.name), "bias": bias}


@register
class SeqCirculant(SeqDense):
    """A block-circulant Dense on a token sequence in io_stream: ``qt_dense_stream`` in its
    circulant fold (module docstring), the ``vectors`` stored instead of the kernel. The
    ``StreamDense`` pass rewrites a ``dense`` plan with ``circ_block`` > 1 into this kind."""

    name = "seqcirc"
    ir_class = "QtTokenCirculant"
    fixed_consts = ("vectors", "bias")
    args = ("vectors", "bias")
    unsigned = SeqDense.unsigned + ("circ_block",)
    shrink = CirculantDense.shrink

    @staticmethod
    def from_dense(p: LayerPlan) -> None:
        SeqDense.from_dense(p)
        p.kind = SeqCirculant.name
        p.types = {**p.types, "vectors": p.types["weight"]}

    def check_plan(self, plan, io_type):
        super().check_plan(plan, io_type)
        n_in, n_out = plan.consts["kernel"].shape
        if plan.reuse not in circulant_reuse(n_in, n_out, self.block(plan.params)):
            raise QTError(f"layer {plan.name}: reuse factor {plan.reuse} splits a circulant "
                          f"block across ROM words ({n_in} x {n_out}, block "
                          f"{self.block(plan.params)}); valid: "
                          f"{circulant_reuse(n_in, n_out, self.block(plan.params))}")

    def next_reuse(self, p):
        n_in, n_out = p.consts["kernel"].shape
        higher = [rf for rf in circulant_reuse(n_in, n_out, self.block(p.params))
                  if rf > p.reuse]
        return higher[0] if higher else None

    def estimate_stream(self, p, in_width):
        """The streamed Dense's multipliers, accumulators and input selects; the weight ROM
        holds ``1 / b`` of the values, a cycle's word ``M / b`` of them (at least one)."""
        b, w = self.block(p.params), p.types["weight"].width
        n_stored = int(p.consts["kernel"].size) // b

        def weight_rom(width: int, depth: int) -> tuple[int, float]:
            values = max(1, width // w // b)
            return rom(values * w, math.ceil(n_stored / values))

        return stream_kernel_estimate(p, in_width, weight_rom)


def circulant_reuse(n_in: int, n_out: int, block: int) -> list[int]:
    """The streamed kernel's reuse factors (:func:`~.seqdense.seq_dense_reuse`) at which each
    cycle reads one ROM word of the stored vectors: past ``n_in``, a cycle's outputs (``n_out /
    (reuse / n_in)``) are whole blocks or a part of one block."""
    def aligned(rf: int) -> bool:
        per = n_out // (rf // n_in) if rf > n_in else block
        return per % block == 0 or block % per == 0

    return [rf for rf in seq_dense_reuse(n_in, n_out) if aligned(rf)]
