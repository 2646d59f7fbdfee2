"""A Dense on a token sequence in io_stream (``seqdense``): our own per-token kernel.

Why not hls4ml's: a Dense on a sequence becomes hls4ml's pointwise Conv1D, whose Resource
kernel needs ``reuse <= n_in``; at that reuse an 8-bit FFN of a d_model 64 encoder keeps 128
LUT multipliers per layer, which alone overflows a PYNQ-Z2 budget. Here one token is read per
beat and its ``n_in x n_out`` products are folded over ``reuse`` cycles (any reuse that
divides the work evenly, up to ``n_in * n_out``: :func:`seq_dense_reuse`), with the same
fixed-point types as hls4ml's kernel: the products and sums at the planned exact accumulator
type, the result cast to the planned output type (a fused quantizer's rounding and
saturation), so C simulation stays bit-exact.

No Keras class maps here: the ``StreamDense`` pass (``hls/passes.py``) turns each ``dense``
plan on a sequence into this kind when the project is io_stream.
"""

from __future__ import annotations

from . import register
from .base import IO_STREAM, CustomKind, LayerPlan
from .dense import Dense, stream_kernel_estimate
from .resources import rom


@register
class SeqDense(CustomKind):
    name = "seqdense"
    keras_classes = ()
    io_types = (IO_STREAM,)
    reusable = True
    shrink = Dense.shrink.replace("as far as hls4ml allows", "up to n_in x n_out")
    # not "...Dense...": hls4ml's passes match layer classes by that substring (Vitis'
    # resource-strategy check then asks for attributes an hls4ml Dense has)
    ir_class, function, config_base = "QtTokenLinear", "qt_dense", "qt_dense_config"
    fixed_consts = ("kernel", "bias")
    args = ("kernel", "bias")
    unsigned = ("seq_len", "n_in", "n_out", "relu")
    skip_params = ("fused",)

    @staticmethod
    def from_dense(p: LayerPlan) -> None:
        """Rewrite a ``dense`` plan on a sequence into this kind (in place)."""
        n_in, n_out = p.consts["kernel"].shape
        p.kind = SeqDense.name
        p.types = {**p.types, "kernel": p.types["weight"]}
        p.params = {**p.params, "seq_len": p.beats, "n_in": int(n_in), "n_out": int(n_out),
                    "relu": 0}

    def extra_config(self, node):
        q, rf = node.get_attr("qt_params"), max(1, int(node.get_attr("reuse_factor", 1)))
        mults = q["n_in"] * q["n_out"] // rf
        return [f"    static const unsigned multipliers = {mults};",
                f"    static const unsigned rom_word = {max(1, mults // self.block(q))};",
                f"    typedef {node.get_weights(self.args[0]).type.name} weight_t;",
                f"    typedef {node.get_weights('bias').type.name} bias_t;",
                f"    typedef {node.get_attr('types')['accum']} accum_t;"]

    @staticmethod
    def block(params: dict) -> int:
        """The circulant block of a plan's parameters (1: dense)."""
        return int(params.get("circ_block", 1))

    def estimate_stream(self, p, in_width):
        """The shared streamed-kernel estimate, the weights a ROM of ``reuse`` words (LUT ROM
        when shallow, else BRAM)."""
        return stream_kernel_estimate(p, in_width, rom)

    def next_reuse(self, p):
        higher = [rf for rf in seq_dense_reuse(*p.consts["kernel"].shape) if rf > p.reuse]
        return higher[0] if higher else None


def seq_dense_reuse(n_in: int, n_out: int) -> list[int]:
    """The reuse factors ``qt_dense_stream`` folds evenly, ascending: a divisor of ``n_in``
    (each cycle a share of the inputs for every output), or ``n_in`` times a divisor of
    ``n_out`` (each cycle one input for a block of the outputs)."""
    return sorted({rf for rf in range(1, n_in + 1) if n_in % rf == 0}
                  | {n_in * b for b in range(1, n_out + 1) if n_out % b == 0})
