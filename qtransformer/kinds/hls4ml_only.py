"""hls4ml layers our flow never generates but the calibration set's projects have
(``hls/calibrate.py``): each kind is estimated the way hls4ml 1.x builds it, so that a public
project's report can be compared with our estimator as a whole. No Keras class maps to them
(``keras_classes`` is empty), so a model of ours never plans one.

In io_parallel a kind handles all ``elems`` values at once, in io_stream one token's ``word``
a beat.
"""

from __future__ import annotations

from . import register
from .base import IO_TYPES, LayerEstimate, LayerKind, LayerPlan
from .resources import mult


class _Hls4mlOnly(LayerKind):
    io_types = IO_TYPES
    shrink = "(an hls4ml layer of a calibration record)"

    def per_value(self, p: LayerPlan) -> tuple[int, int, float]:
        """(LUT, DSP, BRAM36) per value handled in parallel (plus :meth:`fixed`)."""
        raise NotImplementedError

    def fixed(self, p: LayerPlan) -> float:
        """BRAM36 of the layer as a whole (its tables)."""
        return 0.0

    def _estimate(self, p: LayerPlan, n: int, cycles: int) -> LayerEstimate:
        lut, dsp, bram = self.per_value(p)
        return LayerEstimate(p.name, p.kind, 1, 0, n * dsp, n * dsp, n * lut, 0,
                             n * bram + self.fixed(p), cycles)

    def estimate_parallel(self, p, in_width):
        return self._estimate(p, p.elems, 2)

    def estimate_stream(self, p, in_width):
        return self._estimate(p, p.word if p.beats > 1 else p.elems, p.beats + 2)


@register
class TableActivation(_Hls4mlOnly):
    """``sigmoid`` / ``tanh``: a 1024-entry table read per value (a dual-port BRAM18 serves
    two values)."""
    name = "hls4ml_table_act"

    def per_value(self, p):
        return p.out.width, 0, 0.25


@register
class Softmax(_Hls4mlOnly):
    """hls4ml's softmax: an exp table read per value, the sum's inverse from a second table,
    one multiply per value."""
    name = "hls4ml_softmax"

    def per_value(self, p):
        dsp, lut = mult(18, 18)
        return 2 * p.out.width + lut, dsp, 0.25

    def fixed(self, p):
        return 0.5


@register
class Pool(_Hls4mlOnly):
    """Max / average pooling: a comparator or adder per value."""
    name = "hls4ml_pool"

    def per_value(self, p):
        return p.out.width, 0, 0.0


@register
class BatchNorm(_Hls4mlOnly):
    """hls4ml's BatchNormalization: a constant scale multiply and a bias add per value."""
    name = "hls4ml_batchnorm"

    def per_value(self, p):
        dsp, lut = mult(p.out.width, p.out.width, const=True)
        return lut + p.out.width, dsp, 0.0


@register
class Wiring(LayerKind):
    """Flatten, zero padding, reshape, concatenation: wiring (or a counter) only."""
    name = "hls4ml_wiring"
    io_types = IO_TYPES
    pass_through = True


KINDS_OF_RECORD = {"sigmoid": "hls4ml_table_act", "tanh": "hls4ml_table_act",
                   "softmax": "hls4ml_softmax", "pool": "hls4ml_pool",
                   "batchnorm": "hls4ml_batchnorm"}
