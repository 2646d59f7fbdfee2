"""Plan-to-plan rewrites, run in order after planning (as FINN's transformations): each pass
is one small object whose ``apply`` rewrites the plans in place and says whether it changed
anything, so a later pass (circulant expansion, stream cloning) is one more object in
:data:`PASSES`."""

from __future__ import annotations

from dataclasses import dataclass

from ..kinds import IO_STREAM, LayerPlan, passes_through
from ..kinds.circulant import SeqCirculant
from ..kinds.seqdense import SeqDense


class PlanPass:
    """One rewrite of the plans."""

    name = ""

    def apply(self, plans: dict[str, LayerPlan]) -> bool:
        raise NotImplementedError


def readers_of(plans: dict[str, LayerPlan]) -> dict[str, list[str]]:
    """The HLS layers that read each layer's output in hardware: a pass-through plan (dropout,
    a fused quantizer) is no reader, and its readers read its source."""
    out: dict[str, list[str]] = {}
    for p in plans.values():
        if passes_through(p.kind):
            continue
        for name in p.inputs:
            while passes_through(plans[name].kind) and plans[name].inputs:
                name = plans[name].inputs[0]
            out.setdefault(name, []).append(p.name)
    return out


def consumers(plans: dict[str, LayerPlan]) -> dict[str, int]:
    """How many plans read each plan's output."""
    count: dict[str, int] = {}
    for p in plans.values():
        for name in p.inputs:
            count[name] = count.get(name, 0) + 1
    return count


@dataclass
class FuseOutputQuantizers(PlanPass):
    """Fold a linear quantizing activation into the Dense before it (the Dense's result type
    becomes the quantizer's, so the cast rounds and saturates there).

    Bit for bit the same (the Dense's own type is its exact accumulator), but cheaper: the
    Dense's Resource kernel casts one token's outputs at a time, whereas hls4ml's io_parallel
    activation is unrolled over the whole sequence. The activation's plan stays, as kind
    ``fused``, so its name still maps to a Keras layer; the Dense records it in
    ``params["fused"]`` (whose Keras output its HLS output now equals).
    """

    name = "fuse-output-quantizers"

    def apply(self, plans):
        return fuse_activations(plans, ("dense",),
                                lambda a: a.params.get("activation") == "linear" and
                                a.out.quantizing)


def fuse_activations(plans: dict[str, LayerPlan], into: tuple[str, ...], accepts,
                     extra: dict | None = None) -> bool:
    """Fold each activation that ``accepts`` and that alone reads a plan of a kind in
    ``into`` into that plan: the plan's output type becomes the activation's, it records the
    activation in ``params["fused"]`` (whose Keras output its HLS output now equals) plus
    ``extra``, and the activation stays as kind ``fused``. A plan takes one activation."""
    readers, changed = consumers(plans), False
    for p in plans.values():
        if p.kind != "act" or not accepts(p):
            continue
        src = plans[p.inputs[0]]
        if src.kind in into and readers.get(src.name) == 1 and "fused" not in src.params:
            src.out, src.params["fused"], p.kind = p.out, p.name, "fused"
            src.params.update(extra or {})
            changed = True
    return changed


@dataclass
class StreamDense(PlanPass):
    """io_stream: a Dense on a token sequence becomes our per-token kernel (kind
    ``seqdense``, or ``seqcirc`` with circulant blocks), which folds to any reuse factor;
    hls4ml's streamed pointwise Conv1D stops at ``reuse = n_in``. A Dense on the pooled vector (one beat) stays hls4ml's."""

    name = "stream-dense"

    def apply(self, plans):
        changed = False
        for p in plans.values():
            if p.kind == "dense" and p.beats > 1:
                (SeqCirculant if SeqDense.block(p.params) > 1 else SeqDense).from_dense(p)
                changed = True
        return changed


@dataclass
class FuseStreamRelu(PlanPass):
    """io_stream: a ReLU that alone reads a streamed Dense is fused into it (the kernel casts
    ``max(acc, 0)`` to the ReLU's type, as hls4ml's ReLU does): one FIFO of accumulator-wide
    words and one token-wide activation fewer."""

    name = "fuse-stream-relu"

    def apply(self, plans):
        return fuse_activations(plans, (SeqDense.name, SeqCirculant.name),
                                lambda a: a.params.get("activation") == "relu", {"relu": 1})


PASSES: list[PlanPass] = [FuseOutputQuantizers()]
STREAM_PASSES: list[PlanPass] = [StreamDense(), FuseStreamRelu()]   # after PASSES, io_stream


def passes_for(io_type: str) -> list[PlanPass]:
    """The passes of a project in ``io_type``."""
    return PASSES + (STREAM_PASSES if io_type == IO_STREAM else [])


def run_passes(plans: dict[str, LayerPlan], passes: list[PlanPass] | None = None
               ) -> dict[str, LayerPlan]:
    """Apply each pass once, in order; returns the (rewritten) plans."""
    for p in PASSES if passes is None else passes:
        p.apply(plans)
    return plans
