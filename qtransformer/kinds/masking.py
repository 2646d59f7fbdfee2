"""The padding mask of a token model (``PadMask``: 1 for a token, 0 for ``[PAD]``).

It is computed on the host from the token ids, like the embedding lookup, and enters the IP
as a second input of ``seq_len`` one-bit values; the attention kind (``masked`` plans) and
the masked mean pool (kinds/pooling.py) read it.
"""

from __future__ import annotations

from ..fixed import Fx
from . import register
from .host import HostKind

MASK_FX = Fx(1, 1, False)   # 0 or 1: ap_ufixed<1,1>


@register
class PadMask(HostKind):
    name = "padmask"
    keras_classes = ("PadMask",)

    def out_bits(self, layer, in_bits):
        return MASK_FX.width

    def out_fx(self, layer, xins):
        return MASK_FX


def is_masked(xins: list[Fx], inputs_without_mask: int) -> bool:
    """Whether a layer's inputs end with a padding mask (its ``xins`` has one more than
    ``inputs_without_mask``, and the last is the mask's type)."""
    if len(xins) == inputs_without_mask:
        return False
    if len(xins) == inputs_without_mask + 1 and xins[-1] == MASK_FX:
        return True
    raise ValueError(f"{len(xins)} inputs where {inputs_without_mask} (+ a padding mask) "
                     "were expected")
