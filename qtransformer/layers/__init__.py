"""Our Keras layers; each owns its ``get_config`` so saved models load again."""

from __future__ import annotations

from .attention import QMultiHeadSelfAttention
from .circulant import QCirculantDense
from .embedding import ClsPooling, QPositionEmbedding, QTokenEmbedding
from .masking import KeptMask, MaskedMeanPooling, PadMask, pad_mask_of
from .norm import QLayerNorm
from .ode import QODEBlock

LAYERS = (QMultiHeadSelfAttention, QLayerNorm, QTokenEmbedding, QPositionEmbedding, ClsPooling,
          PadMask, KeptMask, MaskedMeanPooling, QCirculantDense, QODEBlock)


def custom_objects() -> dict:
    """Everything ``tf.keras.models.load_model`` needs: our layers plus QKeras'."""
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {cls.__name__: cls for cls in LAYERS}
    _add_supported_quantized_objects(objects)
    return objects


__all__ = ["LAYERS", "custom_objects", "ClsPooling", "KeptMask", "MaskedMeanPooling", "PadMask",
           "QCirculantDense", "QLayerNorm",
           "QMultiHeadSelfAttention", "QODEBlock", "QPositionEmbedding", "QTokenEmbedding",
           "pad_mask_of"]
