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


def uses_stochastic(model) -> bool:
    """Whether any layer of ``model`` (wrapped or not) has a QKeras stochastic quantizer."""
    return "stochastic_" in model.to_json()


def enable_stochastic_training(model, inner=None) -> bool:
    """Make QKeras' stochastic quantizers sample while ``model`` trains.

    QKeras chooses the sampled branch from ``K.learning_phase()``, which TF2's ``fit`` never
    sets, so without this a ``stochastic_ternary`` model trains exactly like ``ternary``.
    Only the train step is traced under learning phase 1; validation, ``predict`` and the
    HLS conversion keep the deterministic quantizer. Returns whether the model needed it.
    ``inner``: the model whose layers to inspect when ``model`` wraps it (a distiller).
    """
    if not uses_stochastic(inner or model):
        return False
    import types
    import warnings

    import tensorflow as tf

    base = type(model).train_step

    def train_step(self, data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # learning_phase_scope is marked deprecated
            with tf.keras.backend.learning_phase_scope(1):
                return base(self, data)

    model.train_step = types.MethodType(train_step, model)
    return True
