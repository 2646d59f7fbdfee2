"""What a layer kind is: one class holding everything the flow knows of it.

A kind answers, for its Keras layers, the model costs (stored bits, MACs, BOPs, non-zero bits),
the HLS plan (types and quantized constants, :class:`LayerPlan`), its place in the hardware clone
hls4ml parses, its hls4ml per-layer config, its resource/latency estimate per io type and how its
reuse factor steps. Custom kinds (:class:`CustomKind`) add our hls4ml IR class and their C++
config/call templates. hls4ml keeps one handler and one template class per layer in the same
spirit; here they sit together so that a new kind is one module (plus its C++), and a missing
answer is an error naming the kind, never a silent zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import QTError
from ..fixed import Fx
from ..layers.quant import quantizer_bits

FLOAT_BITS = 32
IO_PARALLEL = "io_parallel"
IO_STREAM = "io_stream"
IO_TYPES = (IO_PARALLEL, IO_STREAM)


@dataclass
class LayerPlan:
    """One layer as the HLS project implements it."""

    name: str
    kind: str                       # a registered kind's name (dense, act, attention, ...)
    inputs: list[str]
    out: Fx
    types: dict[str, Fx] = field(default_factory=dict)
    consts: dict[str, np.ndarray] = field(default_factory=dict)   # quantized values / raw ints
    params: dict = field(default_factory=dict)
    reuse: int = 1
    host: bool = False              # runs on the host (token embedding lookup)
    macs: int = 0                   # multiplies per inference (resource estimate)
    elems: int = 0                  # output elements per inference (resource estimate)
    shape: tuple = ()               # output shape without the batch (streams: beats x word)
    parts: dict = field(default_factory=dict)  # a composite's inner plans (an ODE block's)

    @property
    def word(self) -> int:
        """Values per stream beat: the last dimension (a token's channels)."""
        return int(self.shape[-1]) if self.shape else max(self.elems, 1)

    @property
    def beats(self) -> int:
        """Stream beats per inference: the tokens (1 for a pooled vector)."""
        return max(1, self.elems // self.word)

    def row(self) -> dict:
        """A row of the precision table in the report."""
        return {"name": self.name, "type": self.kind, "output": self.out.hls(),
                **{k: v.hls() for k, v in self.types.items()}, "reuse_factor": self.reuse}


@dataclass
class LayerEstimate:
    """Resource and latency ESTIMATE of one layer (analytical, not synthesis)."""

    name: str
    kind: str
    reuse: int
    macs: int
    multipliers: int
    dsp: int
    lut: int
    ff: int
    bram36: float
    cycles: int = 0
    barrier: bool = False   # io_stream: reads the whole sequence before its first output
    in_cycles: int = 0      # a barrier's cycles to take its input (``cycles``: to emit)


def qbits(q) -> int:
    """Width of a QKeras quantizer object (or string / None = float)."""
    if q is None:
        return FLOAT_BITS
    if isinstance(q, str):
        return quantizer_bits(q)
    return int(getattr(q, "bits", FLOAT_BITS))


def tokens_of(shape) -> int:
    """Tokens a per-token layer runs over: the product of the middle dimensions (1 if none)."""
    return int(np.prod(shape[1:-1])) if len(shape) > 2 else 1


class LayerKind:
    """One layer kind. Subclass, set ``name`` and ``keras_classes``, override what applies,
    and decorate with :func:`~qtransformer.kinds.register`.

    The defaults are those of a layer without parameters or multiplies; everything the
    hardware needs (``plan``, ``estimate``) raises until the kind defines it.
    """

    name: ClassVar[str] = ""
    keras_classes: ClassVar[tuple[str, ...]] = ()
    io_types: ClassVar[tuple[str, ...]] = (IO_PARALLEL,)
    host: ClassVar[bool] = False          # runs on the host, outside the HLS project
    pass_through: ClassVar[bool] = False  # no HLS layer of its own (output = its input)
    reusable: ClassVar[bool] = False      # has a reuse factor the fit chooser may raise
    prunable: ClassVar[bool] = False      # TF-MOT prunes its kernels
    shared_calls: ClassVar[bool] = False  # may be called more than once (weight sharing)
    # holds a loop HLS must not unroll (an ODE block's steps): the io_parallel top becomes a
    # DATAFLOW region, not one PIPELINE that would unroll it into copies
    dataflow: ClassVar[bool] = False
    # the knobs that shrink this kind's hardware, named when a design does not fit
    shrink: ClassVar[str] = "fewer tokens (--seq-len) or channels (--d-model)"

    # ---- model costs (from the Keras layer) -------------------------------------------
    def weight_bits(self, layer, weight_name: str) -> int:
        """Bit width of one stored parameter."""
        return FLOAT_BITS

    def out_bits(self, layer, in_bits: list[int]) -> int:
        """Width of the output, following the quantizers through the graph."""
        return max(in_bits) if in_bits else FLOAT_BITS

    def macs(self, layer) -> list[tuple[int, str]]:
        """(count, kind) pairs; kind ``w`` multiplies by weights, ``qk``/``pv`` by
        activations."""
        return []

    def operand_bits(self, layer, mac_kind: str, a_bits: int) -> tuple[int, int]:
        """Widths of the two operands of a multiply of ``mac_kind``."""
        return self.weight_bits(layer, "kernel"), a_bits

    def mac_terms(self, layer, a_bits: int) -> list[tuple[int, int, int, int]]:
        """(multiplies, effective multiplies, weight bits, input bits) for each of
        :meth:`macs`: a multiply by a zero weight (pruned, or quantized to 0) is not built, so
        weight multiplies count the kernels' non-zero share; ``a_bits``: the input's width."""
        from .resources import density

        live = density(*self.kernels(layer))
        out = []
        for count, mac_kind in self.macs(layer):
            w_bits, x_bits = self.operand_bits(layer, mac_kind, a_bits)
            out.append((count, round(count * live) if mac_kind == "w" else count,
                        w_bits, x_bits))
        return out

    def kernels(self, layer) -> list[np.ndarray]:
        """Quantized kernels (a multiply by a zero weight is not built); [] = no kernels."""
        return []

    def stored_values(self, layer) -> dict[str, np.ndarray]:
        """Stored parameters after quantization, by name (for non-zero bits)."""
        return {w.name: np.asarray(w) for w in layer.weights}

    def is_prunable(self, layer) -> bool:
        """Whether TF-MOT prunes this layer's kernels (``prunable``; a kind may refuse some
        configurations of its layer)."""
        return self.prunable

    def circulant(self, layer) -> int:
        """The circulant block of the layer's ``*_vectors`` weights (1: none)."""
        return 1

    def dense_params(self, layer) -> int:
        """Parameters of the layer with dense weights (the float32 reference a compression
        ratio is taken against): its own count, each circulant vector entry standing for
        ``b`` weights."""
        return sum(int(np.prod(w.shape)) * (self.circulant(layer) if "vectors" in w.name else 1)
                   for w in layer.weights)

    # ---- HLS plan ----------------------------------------------------------------------
    def plan(self, layer, name: str, inputs: list[str], xins: list[Fx]) -> LayerPlan:
        """Types and constants of the layer (``xins``: its inputs' types, in order)."""
        raise QTError(f"layer {name} ({type(layer).__name__}): kind {self.name!r} has no HLS "
                      "form")

    # ---- hardware clone (what hls4ml parses) -------------------------------------------
    def clone(self, plan: LayerPlan, srcs: list, out_shape: list):
        """Apply this kind's hls4ml-parsable layer to the clone's input tensors ``srcs``."""
        raise QTError(f"layer {plan.name}: kind {self.name!r} has no hardware mapping")

    def hls_config(self, plan: LayerPlan, strategy: str) -> dict[str, dict]:
        """hls4ml ``LayerName`` entries for this layer, every precision explicit."""
        return {plan.name: {"Precision": {"result": plan.out.hls()},
                            "ReuseFactor": plan.reuse}}

    # ---- estimate ----------------------------------------------------------------------
    def estimate(self, plan: LayerPlan, in_width: int, io_type: str = IO_PARALLEL
                 ) -> LayerEstimate:
        """Resources and cycles of the generated layer (``in_width``: its input's bits)."""
        self.check_io(plan.name, io_type)
        if io_type == IO_STREAM:
            return self.estimate_stream(plan, in_width)
        return self.estimate_parallel(plan, in_width)

    def estimate_parallel(self, plan: LayerPlan, in_width: int) -> LayerEstimate:
        raise QTError(f"layer {plan.name}: kind {self.name!r} has no resource estimate")

    def estimate_stream(self, plan: LayerPlan, in_width: int) -> LayerEstimate:
        raise QTError(f"layer {plan.name}: kind {self.name!r} has no io_stream estimate")

    def reuse_ladder(self, plan: LayerPlan) -> list[int]:
        """Every reuse factor this layer can take, ascending (1, then :meth:`next_reuse`)."""
        saved, out = plan.reuse, [1]
        plan.reuse = 1
        while (nxt := self.next_reuse(plan)) is not None:
            out.append(nxt)
            plan.reuse = nxt
        plan.reuse = saved
        return out

    def next_reuse(self, plan: LayerPlan) -> int | None:
        """The next reuse factor to try when the design does not fit (None: none higher)."""
        return None

    def check_io(self, layer_name: str, io_type: str) -> None:
        if io_type not in self.io_types:
            raise QTError(f"layer {layer_name}: kind {self.name!r} has no {io_type} form "
                          f"(it has {', '.join(self.io_types)})")

    def check_plan(self, plan: LayerPlan, io_type: str) -> None:
        """Refuse, with one line naming the layer, a plan this kind cannot build in
        ``io_type`` (the kind's form, or something particular to this layer)."""
        self.check_io(plan.name, io_type)


class CustomKind(LayerKind):
    """A kind implemented by our own C++ template: an hls4ml IR class registered through the
    extension API, one config template and one function-call template.

    ``int_groups``: integer constant arrays sharing one C++ type each; ``fixed_consts``:
    constants kept at their planned fixed-point type; ``args``: the constants passed to the
    C++ function, in order; ``unsigned``: parameters written as ``unsigned`` (sizes, widths),
    the others as ``long long``; ``cpp``: C++ source text of the template (None: it lives in
    ``hls/templates/qt_layers.h``).
    """

    ir_class: ClassVar[str] = ""
    function: ClassVar[str] = ""
    config_base: ClassVar[str] = ""
    int_groups: ClassVar[tuple[tuple[str, ...], ...]] = ()
    fixed_consts: ClassVar[tuple[str, ...]] = ()
    args: ClassVar[tuple[str, ...]] = ()
    unsigned: ClassVar[tuple[str, ...]] = ()
    cpp: ClassVar[str | None] = None
    cpp_name: ClassVar[str | None] = None     # header file name for ``cpp``
    skip_params: ClassVar[tuple[str, ...]] = ()  # plan parameters that are not C++ (names)

    def clone(self, plan: LayerPlan, srcs: list, out_shape: list):
        from .hwlayer import custom_layer

        return custom_layer(plan, out_shape)(srcs if len(srcs) > 1 else srcs[0])

    def config_lines(self, node) -> list[str]:
        """The C++ config struct's members: the plan's integer parameters, the reuse factor,
        and :meth:`extra_config` (typedefs, derived sizes)."""
        lines = []
        for key, value in node.get_attr("qt_params").items():
            if key in self.skip_params:
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise QTError(f"layer {node.name}: parameter {key}={value!r} is not an integer; "
                              "the C++ config holds integers only")
            if key in self.unsigned:
                lines.append(f"    static const unsigned {key} = {int(value)};")
            else:
                lines.append(f"    static const long long {key} = {int(value)}LL;")
        rf = int(node.get_attr("reuse_factor", 1))
        lines.append(f"    static const unsigned reuse_factor = {rf};")
        return lines + self.extra_config(node)

    def extra_config(self, node) -> list[str]:
        return []

    def config_text(self, node) -> str:
        body = "\n".join(self.config_lines(node))
        return f"struct config{node.index} : nnet::{self.config_base} {{\n{body}\n}};\n"

    def call_text(self, node) -> str:
        """``nnet::<function_name>`` called on the node's inputs in order (the data, then
        any others: a residual, the padding mask), its output and its weights."""
        ins = [node.get_input_variable(name) for name in node.inputs]
        out = node.get_output_variable()
        types = ", ".join(v.type.name for v in [*ins, out])
        args = [v.name for v in [*ins, out]] + [node.get_weights(w).name for w in self.args]
        return f"nnet::{self.function_name(node)}<{types}, config{node.index}>({', '.join(args)});"

    def function_name(self, node) -> str:
        """The C++ function: ``function``, ``_stream`` in io_stream, ``_masked`` when the
        plan reads a padding mask (its last input)."""
        masked = (node.get_attr("qt_params") or {}).get("masked")
        return self.function + ("_stream" if node_io_type(node) == IO_STREAM else "") + \
            ("_masked" if masked else "")


def node_io_type(node) -> str:
    """The io type of the hls4ml project an IR node belongs to."""
    return node.model.config.get_config_value("IOType")


def resource_strategy(plan: LayerPlan) -> bool:
    """Whether a layer is folded under hls4ml's Resource strategy: any reuse factor above 1
    in our builds; hls4ml projects may instead fold under the Latency strategy (``params``
    ``strategy`` latency: constant weights selected per cycle, zeros dropped)."""
    return plan.reuse > 1 and plan.params.get("strategy") != "latency"


def depth(n: int) -> int:
    """Adder-tree depth of an ``n``-input sum, plus multiply and register stages."""
    return math.ceil(math.log2(max(n, 2))) + 2
