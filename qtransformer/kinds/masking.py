"""The padding mask of a token model (``PadMask``: 1 for a token, 0 for ``[PAD]``).

It is computed on the host from the token ids, like the embedding lookup, and enters the IP
as a second input of ``seq_len`` one-bit values; the attention kind (``masked`` plans) and
the masked mean pool (kinds/pooling.py) read it. After a token-pruning attention, ``KeptMask``
(in the IP) gives the kept rows' mask to the blocks after it and the mean.
"""

from __future__ import annotations

from ..errors import QTError
from ..fixed import Fx
from . import register
from .base import CustomKind, LayerEstimate, LayerPlan, depth
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


@register
class KeptMask(CustomKind):
    """``KeptMask(keep)``: the mask of the rows a token-pruning attention keeps, computed
    from the mask alone (the rule and why: layers/masking.KeptMask); C++ ``qt_kept_mask``."""

    name = "keptmask"
    keras_classes = ("KeptMask",)
    ir_class, function, config_base = "QtKeptMask", "qt_kept_mask", "qt_kept_mask_config"
    unsigned = ("seq_len", "keep", "count_bits")
    shrink = "fewer tokens (--seq-len, --keep-tokens)"

    def out_bits(self, layer, in_bits):
        return MASK_FX.width

    def plan(self, layer, name, inputs, xins):
        if len(xins) != 1 or not isinstance(xins[0], MaskFx):
            raise QTError(f"layer {name}: KeptMask reads the padding mask, got inputs {xins}")
        seq = int(layer.input_shape[1])
        return LayerPlan(name, self.name, inputs, MASK_FX,
                         params={"seq_len": seq, "keep": int(layer.keep),
                                 "count_bits": seq.bit_length()})

    def estimate_parallel(self, p, in_width):
        """Unrolled: the tokens' count (an adder tree of ``seq_len`` bits, about a LUT each),
        then per kept row one running-count increment and one compare (``count_bits`` each)."""
        q = p.params
        lut = q["seq_len"] + 2 * q["keep"] * q["count_bits"]
        return LayerEstimate(p.name, p.kind, 1, 0, 0, 0, lut, q["keep"], 0.0,
                             depth(q["seq_len"]))


def is_masked(xins: list[Fx], inputs_without_mask: int) -> bool:
    """Whether a layer's inputs end with a padding mask (the planner's type of the
    :class:`PadMask` and :class:`KeptMask` kinds' outputs); a mask anywhere else, or a count
    other than ``inputs_without_mask`` (+ the mask), is an error."""
    masks = [i for i, x in enumerate(xins) if isinstance(x, MaskFx)]
    if not masks and len(xins) == inputs_without_mask:
        return False
    if masks == [inputs_without_mask] and len(xins) == inputs_without_mask + 1:
        return True
    raise QTError(f"{len(xins)} inputs (padding masks at {masks}) where "
                  f"{inputs_without_mask} (+ a padding mask last) were expected")
