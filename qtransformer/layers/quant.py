"""Helpers shared by our layers for QKeras quantizers given as strings.

Layers store quantizers as their QKeras string form (``"quantized_bits(8,3,alpha=1)"``) so
``get_config`` round-trips through JSON and h5 files; ``None`` means float.
"""

from __future__ import annotations

from qkeras.quantizers import get_quantizer


def make_quantizer(spec: str | None):
    """Return a QKeras quantizer object for ``spec`` (or ``None`` for float)."""
    if spec is None or spec == "" or spec == "float":
        return None
    return get_quantizer(spec)


def apply(quantizer, x):
    """Apply an optional quantizer."""
    return x if quantizer is None else quantizer(x)


def quantizer_bits(spec: str | None) -> int:
    """Width in bits of a quantizer string; float counts 32."""
    q = make_quantizer(spec)
    if q is None:
        return 32
    return int(getattr(q, "bits", 32))
