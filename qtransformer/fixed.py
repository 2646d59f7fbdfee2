"""Fixed-point type arithmetic: QKeras quantizer -> HLS type, exact types of constant arrays.

Every type in the HLS project is a :class:`Fx`. Types that a quantizer fixes round half to even
and saturate (``AP_RND_CONV``, ``AP_SAT``), because that is what QKeras' ``quantized_bits`` /
``quantized_relu`` do (``tf.round`` and a clip); types derived from bit growth are exact, so they
never round and need no saturation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import QTError
from .layers.quant import make_quantizer

MAX_FRAC = 32


@dataclass(frozen=True)
class Fx:
    """A fixed-point type: ``width`` bits, ``integer`` of them integer bits (sign included)."""

    width: int
    integer: int
    signed: bool = True
    quantizing: bool = False  # rounds half-even and saturates (a quantizer's output type)

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def lsb(self) -> float:
        return 2.0 ** -self.frac

    def raw_range(self) -> tuple[int, int]:
        if self.signed:
            return -(2 ** (self.width - 1)), 2 ** (self.width - 1) - 1
        return 0, 2**self.width - 1

    def max_abs(self) -> float:
        lo, hi = self.raw_range()
        return max(abs(lo), hi) * self.lsb

    def hls(self) -> str:
        base = "ap_fixed" if self.signed else "ap_ufixed"
        modes = ",AP_RND_CONV,AP_SAT" if self.quantizing else ""
        return f"{base}<{self.width},{self.integer}{modes}>"

    def __str__(self) -> str:
        return self.hls()


def signed_fx(max_abs: float, frac: int) -> Fx:
    """Smallest exact signed type holding ``[-max_abs, max_abs]`` at ``frac`` fractional bits."""
    raw = int(math.ceil(max_abs * 2.0**frac - 1e-9)) if max_abs > 0 else 0
    width = max(2, raw.bit_length() + 1)
    return Fx(width, width - frac)


def frac_bits(values: np.ndarray, limit: int = MAX_FRAC) -> int:
    """Fewest fractional bits that represent every value exactly (QTError past ``limit``)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    for f in range(-8, limit + 1):
        scaled = v * 2.0**f
        if np.all(scaled == np.round(scaled)):
            return max(f, 0)
    raise QTError(f"values are not on a binary grid of <= {limit} fractional bits")


def exact_fx(values: np.ndarray) -> Fx:
    """Exact signed type of a constant array (quantized weights, biases, tables)."""
    v = np.asarray(values, dtype=np.float64)
    f = frac_bits(v)
    return signed_fx(float(np.abs(v).max()) if v.size else 0.0, f)


def to_raw(values: np.ndarray, frac: int) -> np.ndarray:
    """Integer raw values of grid-exact ``values`` at ``frac`` fractional bits."""
    raw = np.round(np.asarray(values, dtype=np.float64) * 2.0**frac)
    return raw.astype(np.int64)


def quantizer_fx(spec) -> Fx | None:
    """HLS type of a QKeras activation quantizer (``quantized_bits``/``quantized_relu``/
    hard ``quantized_tanh``)."""
    q = make_quantizer(spec) if isinstance(spec, str | dict) or spec is None else spec
    if q is None:
        return None
    name = type(q).__name__
    if name == "quantized_bits":
        if getattr(q, "alpha", None) not in (None, 1, 1.0) or q.symmetric:
            raise QTError(f"activation quantizer {spec!r}: only alpha=1, non-symmetric is "
                          "supported in HLS")
        bits, integer = int(q.bits), int(q.integer)
        if q.keep_negative:
            return Fx(bits, integer + 1, True, True)
        return Fx(bits, integer, False, True)
    if name == "quantized_relu":
        if float(getattr(q, "negative_slope", 0.0) or 0.0) != 0.0:
            raise QTError(f"activation quantizer {spec!r}: leaky relu is not supported in HLS")
        return Fx(int(q.bits), int(q.integer), False, True)
    if name == "quantized_tanh":
        # Hard tanh (QKeras' default hard sigmoid): clip(x, -1, 1) then round to bits-1
        # fractional bits, i.e. a saturating ap_fixed<bits,1> cast.
        from qkeras import quantizers

        if q.use_real_tanh or q.symmetric or q.use_stochastic_rounding \
                or quantizers._sigmoid is not quantizers.hard_sigmoid:
            raise QTError(f"activation quantizer {spec!r}: only the hard, non-symmetric "
                          "quantized_tanh is supported in HLS")
        return Fx(int(q.bits), 1, True, True)
    raise QTError(f"activation quantizer {spec!r} ({name}) is not supported in HLS")


def add_fx(a: Fx, b: Fx) -> Fx:
    """Exact type of ``a + b``."""
    frac = max(a.frac, b.frac)
    return signed_fx(a.max_abs() + b.max_abs(), frac)
