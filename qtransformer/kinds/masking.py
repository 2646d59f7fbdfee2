"""The padding mask of a token model (``PadMask``: 1 for a token, 0 for ``[PAD]``).

It is computed on the host from the token ids, like the embedding lookup, and enters the IP
as a second input of ``seq_len`` one-bit values; the attention kind (``masked`` plans) and
the masked mean pool (kinds/pooling.py) read it.
"""

from __future__ import annotations

from ..errors import QTError
from ..fixed import Fx
from . import register
from .host import HostKind


class MaskFx(Fx):
    """The mask's type, ``ap_ufixed<1,1>`` (0 or 1). A class of its own, so that a kind reading
    its inputs' types knows a padding mask by what produced it (dataclass equality compares
    classes): a one-bit activation is never taken for a mask."""


MASK_FX = MaskFx(1, 1, False)


@register
class PadMask(HostKind):
    name = "padmask"
    keras_classes = ("PadMask",)

    def out_bits(self, layer, in_bits):
        return MASK_FX.width

    def out_fx(self, layer, xins):
        return MASK_FX


def is_masked(xins: list[Fx], inputs_without_mask: int) -> bool:
    """Whether a layer's inputs end with the padding mask (the planner's type of the
    :class:`PadMask` kind's output); a mask anywhere else, or a count other than
    ``inputs_without_mask`` (+ the mask), is an error."""
    masks = [i for i, x in enumerate(xins) if isinstance(x, MaskFx)]
    if not masks and len(xins) == inputs_without_mask:
        return False
    if masks == [inputs_without_mask] and len(xins) == inputs_without_mask + 1:
        return True
    raise QTError(f"{len(xins)} inputs (padding masks at {masks}) where "
                  f"{inputs_without_mask} (+ a padding mask last) were expected")
