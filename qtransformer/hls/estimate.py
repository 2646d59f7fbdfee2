"""Resource ESTIMATE per layer (DSP/LUT/FF/BRAM36) and a reuse-factor chooser for a board.

This is an analytical estimate, not a synthesis result. Each layer's figures come from its
kind (``qtransformer/kinds``; the shared multiplier/adder/BRAM rules are in
``kinds/resources.py``): multipliers = MACs / reuse factor; with reuse > 1 (Resource strategy)
the weights read per cycle come from BRAM36; softmax exp tables are ROMs; custom layers are
assumed pipelined over tokens (one token's hardware, divided by the reuse factor).

Pruned weights count: a multiply by a constant zero is not built. With the Latency strategy
(and in our pipelined custom layers, whose loops unroll over constant weights) HLS folds it
away; with Resource, hls4ml lowers the multiplier allocation by ``n_zeros / reuse``. So only
non-zero weights get multipliers here.

Latency is estimated in clock cycles per inference, layers one after another (io_parallel):
a fully parallel layer costs its adder-tree depth; a folded one ``reuse`` cycles per pass, and
a folded per-token layer one pass per token.
"""

from __future__ import annotations

import math
from dataclasses import asdict

from ..boards import Board
from ..kinds import IO_PARALLEL, IO_STREAM, LayerEstimate, LayerPlan, get_kind, in_hls
from ..kinds.base import resource_strategy
from ..kinds.resources import stream_fifo
from ..kinds.dense import valid_dense_reuse
from .bands import KEYS as BAND_KEYS, band_text, calibrated
from .passes import readers_of

MARGIN = 0.8   # of every resource: routing needs slack
# What the io_stream chooser aims at first (then MARGIN): logic and registers with room for
# routing, block RAM and DSPs up to the verdict's budget.
TARGET = {"lut": 0.7, "ff": 0.7, "bram36": MARGIN, "dsp": MARGIN}

__all__ = ["MARGIN", "TARGET", "LayerEstimate", "choose_reuse", "estimate", "estimate_layer",
           "fits", "headline", "over_budget", "totals", "utilization", "valid_dense_reuse",
           "verdict"]


def estimate_layer(p: LayerPlan, in_width: int, io_type: str = IO_PARALLEL) -> LayerEstimate:
    """Estimate one layer (``in_width``: bits of its input type) through its kind."""
    return get_kind(p.kind).estimate(p, in_width, io_type)


def estimate(plans: dict[str, LayerPlan], io_type: str = IO_PARALLEL) -> list[LayerEstimate]:
    """Per-layer estimates of the HLS layers (host-side and pass-through layers excluded).

    An io_parallel DATAFLOW top (:func:`is_dataflow`) holds each layer's output array in
    registers between the layer processes (one FF a bit). In io_stream each layer's row also
    carries its output FIFO and, for an output read by
    several layers, hls4ml's clone's FIFO per reader, at the depths the project sets
    (:func:`~.convert.fifo_depth`: the copy to a residual add holds the sequence, others two
    words; a plan's ``fifo_depth`` parameter overrides, as hls4ml's own default of one
    feature map does in the calibration records)."""
    rows = []
    readers = readers_of(plans)
    dataflow = io_type == IO_PARALLEL and is_dataflow(plans)
    for p in plans.values():
        if not in_hls(p):
            continue
        in_w = plans[p.inputs[0]].out.width if p.inputs else 16
        row = estimate_layer(p, in_w, io_type)
        if dataflow:   # its fully partitioned output array: a channel of registers
            row.ff += p.elems * p.out.width
        if io_type == IO_STREAM:
            fifos = [stream_fifo(p.word * p.out.width, p.params.get("fifo_depth", 2))]
            if len(readers.get(p.name, [])) > 1:   # hls4ml's clone: one copy per reader
                fifos += [stream_fifo(p.word * p.out.width,
                                      p.beats if plans[r].kind == "add" else 2)
                          for r in readers[p.name]]
            fifos += host_clone_fifos(plans, readers, p.name)
            row.lut += sum(f[0] for f in fifos)
            row.ff += sum(f[1] for f in fifos)
            row.bram36 += sum(f[2] for f in fifos)
        rows.append(row)
    return rows


def host_clone_fifos(plans: dict[str, LayerPlan], readers: dict[str, list[str]],
                     name: str) -> list[tuple[int, int, float]]:
    """io_stream: hls4ml's clone of a top-level input that several layers read (the padding
    mask, read by every attention and the mean), one FIFO of two words per reader, charged
    to ``name`` when it is that input's first reader."""
    out = []
    for src, names in readers.items():
        p = plans[src]
        if p.host and len(names) > 1 and names[0] == name:
            out += [stream_fifo(p.word * p.out.width, 2) for _ in names]
    return out


def is_dataflow(plans: dict[str, LayerPlan]) -> bool:
    """Whether hls4ml makes an io_parallel top a DATAFLOW region (its ``pipeline_style``
    pass): once a layer has the Resource strategy (a reuse factor above 1 here, unless the
    plan says ``strategy`` latency), is a convolution over several partitions, or its kind
    holds a loop that must not be unrolled (``dataflow``: it asks for the Resource strategy)."""
    return any(p.params.get("conv") or resource_strategy(p) or get_kind(p.kind).dataflow
               for p in plans.values() if in_hls(p))


def totals(rows: list[LayerEstimate], io_type: str = IO_PARALLEL) -> dict:
    """Resources add up; so do cycles in io_parallel (one layer after another). In io_stream
    the layers between two barriers (layers that read the whole sequence first: attention,
    mean pool) run as one token pipeline, as long as its slowest layer (see
    :func:`stream_cycles`)."""
    return {"dsp": sum(r.dsp for r in rows), "lut": sum(r.lut for r in rows),
            "ff": sum(r.ff for r in rows), "bram36": math.ceil(sum(r.bram36 for r in rows)),
            "cycles": stream_cycles(rows) if io_type == IO_STREAM else
            sum(r.cycles for r in rows)}


def stream_cycles(rows: list[LayerEstimate]) -> int:
    """Latency of a dataflow token pipeline: the layers between two barriers run concurrently,
    as long as the slowest; a barrier takes its input within the segment before it
    (``in_cycles``) and emits its output within the segment after it (``cycles``), so the
    segments add up."""
    total, segment = 0, 0
    for r in rows:
        if r.barrier:
            total += max(segment, r.in_cycles)
            segment = r.cycles
        else:
            segment = max(segment, r.cycles)
    return total + segment


def utilization(total: dict, board: Board) -> dict:
    budget = {"dsp": board.dsp, "lut": board.lut, "ff": board.ff, "bram36": board.bram36}
    return {k: total[k] / budget[k] for k in budget}


def fits(total: dict, board: Board, margin: float | dict = MARGIN) -> bool:
    """Whether the estimate stays under ``margin`` of every budget (routing needs slack);
    ``margin`` is one share for all, or one per resource."""
    shares = margin if isinstance(margin, dict) else dict.fromkeys(("lut", "ff", "bram36",
                                                                     "dsp"), margin)
    return all(u <= shares[k] for k, u in utilization(total, board).items())


def choose_reuse(plans: dict[str, LayerPlan], board: Board, margin: float = MARGIN,
                 max_steps: int = 500, io_type: str = IO_PARALLEL) -> dict:
    """Reuse factors for ``board``: io_parallel raises them (largest consumer first) until the
    estimate fits; io_stream balances the token pipeline (:func:`_stream_reuse`).

    Mutates ``plans[...].reuse``; returns ``{"fits", "reuse", "strategy", "total",
    "utilization", "layers"}``. Strategy becomes Resource once any reuse factor exceeds 1.
    """
    if io_type == IO_STREAM:
        _stream_reuse(plans, board, margin)
        return _fitted(plans, board, margin, io_type)
    for _ in range(max_steps):
        rows = estimate(plans, io_type)
        total = totals(rows, io_type)
        if fits(total, board, margin):
            break
        util = utilization(total, board)
        worst = max(util, key=util.get)
        budget = {"dsp": board.dsp, "lut": board.lut, "ff": board.ff, "bram36": board.bram36}
        candidates = sorted(rows, key=lambda r: -getattr(r, worst) / budget[worst])
        moved = False
        for r in candidates:
            nxt = get_kind(r.kind).next_reuse(plans[r.name])
            if nxt is not None and getattr(r, worst) > 0:
                plans[r.name].reuse = nxt
                moved = True
                break
        if not moved:
            break
    return _fitted(plans, board, margin, io_type)


def _stream_reuse(plans: dict[str, LayerPlan], board: Board, margin: float) -> None:
    """Fold a token pipeline to one target II, as FINN folds a dataflow design to a target
    cycles-per-frame: every layer's II per token is its reuse factor, a segment runs at its
    slowest layer, so each layer takes the largest reuse factor not above the target ``T``,
    and ``T`` is the smallest that fits (within ``TARGET`` of the board if any does, else
    ``margin``: a design with room to route before one that is faster). Nothing fits: every
    layer at its largest reuse (the smallest design)."""
    ladders = {name: get_kind(p.kind).reuse_ladder(p) for name, p in plans.items()
               if in_hls(p) and get_kind(p.kind).reusable}

    def fold(target: int) -> dict:
        for name, ladder in ladders.items():
            plans[name].reuse = max(r for r in ladder if r <= target) if target >= ladder[0] \
                else ladder[0]
        return totals(estimate(plans, IO_STREAM), IO_STREAM)

    targets = sorted({r for ladder in ladders.values() for r in ladder})
    for budget in ({k: min(v, margin) for k, v in TARGET.items()}, margin):
        for target in targets:
            if fits(fold(target), board, budget):
                return
    fold(targets[-1] if targets else 1)


def _fitted(plans: dict[str, LayerPlan], board: Board, margin: float, io_type: str) -> dict:
    rows = estimate(plans, io_type)
    total = totals(rows, io_type)
    reuse = {p.name: p.reuse for p in plans.values() if get_kind(p.kind).reusable}
    return {"fits": fits(total, board, margin), "reuse": reuse,
            "strategy": "Resource" if any(v > 1 for v in reuse.values()) else "Latency",
            "total": total, "utilization": utilization(total, board),
            "layers": [asdict(r) for r in rows], "io_type": io_type,
            "label": "estimate (analytical; not synthesis)"}


def verdict(fit: dict, board: Board, macs: int, io_type: str = IO_PARALLEL, top: int = 3
            ) -> dict:
    """The fit verdict of a fitted estimate (:func:`choose_reuse`): FITS or not, each resource
    (calibrated: :func:`~.bands.calibrated`, with its error band) and its share of ``board``,
    latency in cycles and microseconds at the board clock, and the physical bound it compares
    with (``macs`` multiplies on every DSP at once, one per cycle: ``ceil(macs / DSPs)``
    cycles). Both verdicts are given: at the estimate (``fits``, the exit status) and at the
    pessimistic end of every band (``fits_pessimistic``: each resource plus its 90th-percentile
    error). A design that does not fit names its ``top`` largest users of the scarcest
    resource and the knobs that shrink each."""
    cal = calibrated(fit["total"])
    total = {k: cal[k]["value"] for k in BAND_KEYS}
    high = {k: cal[k]["pessimistic"] for k in BAND_KEYS}
    fits_now, util = fits(total, board), utilization(total, board)
    largest = largest_users(fit, top)
    return {"fits": fits_now, "fits_pessimistic": fits(high, board), "io_type": io_type,
            **total, "utilization": util,
            "pessimistic": high, "utilization_pessimistic": utilization(high, board),
            "calibration": cal, "cycles": fit["total"]["cycles"],
            "resource_text": {k: band_text(k, cal[k], util[k]) for k in BAND_KEYS},
            "latency_us": fit["total"]["cycles"] / board.clock_mhz, "clock_mhz": board.clock_mhz,
            "bound_cycles": math.ceil(macs / max(board.dsp, 1)), "margin": MARGIN,
            "largest": largest if not fits_now else [],
            "label": f"estimate, {cal['label']}; not synthesis"}


def headline(v: dict, board_name: str) -> list[str]:
    """The verdict as the lines a build ends with (and report.md starts with): the estimate
    with its error bands, the verdict at the pessimistic end, the latency."""
    u = v["utilization"]
    words = "FITS" if v["fits"] else "DOES NOT FIT"
    resources = ", ".join(v["resource_text"][k] if "resource_text" in v else
                          f"{k.upper()} {v[k]:,} ({u[k]:.0%})" for k in BAND_KEYS)
    lines = [f"{words} {board_name} ({v['io_type']}, {v['label']}): {resources}; budget "
             f"{v['margin']:.0%} of each"]
    if "fits_pessimistic" in v:
        up = v["utilization_pessimistic"]
        lines.append(("FITS" if v["fits_pessimistic"] else "DOES NOT FIT")
                     + " at the pessimistic end (each resource + its 90th-percentile error): "
                     + ", ".join(f"{k.upper()} {v['pessimistic'][k]:,} ({up[k]:.0%})"
                                 for k in BAND_KEYS))
    lines.append(f"latency {v['cycles']:,} cycles = {v['latency_us']:,.1f} us at "
                 f"{v['clock_mhz']:g} MHz ({v['cycles'] / max(v['bound_cycles'], 1):,.1f}x the "
                 f"bound of {v['bound_cycles']:,} cycles: MACs / DSPs)")
    for r in v["largest"]:
        lines.append(f"  {r['name']} ({r['kind']}): {r['amount']:,} {r['resource'].upper()}; "
                     f"shrink with {r['shrink']}")
    return lines


def largest_users(fit: dict, top: int = 3) -> list[dict]:
    """The ``top`` layers using most of the scarcest resource, with the knobs that shrink each
    (their kind's ``shrink``: an unrolled elementwise layer has no reuse factor to raise)."""
    worst = max(fit["utilization"], key=fit["utilization"].get)
    rows = sorted(fit["layers"], key=lambda r: -r[worst])[:top]
    return [{"name": r["name"], "kind": r["kind"], "resource": worst, "amount": r[worst],
             "shrink": get_kind(r["kind"]).shrink} for r in rows]


def over_budget(fit: dict, top: int = 3) -> str:
    """One line for a design that does not fit: its largest users of the scarcest resource."""
    rows = largest_users(fit, top)
    worst = rows[0]["resource"]
    names = ", ".join(f"{r['name']} ({r['kind']}, {r['amount']:,})" for r in rows)
    return (f"does not fit: {worst.upper()} at {fit['utilization'][worst]:.0%} of the board "
            f"after raising the reuse factors; largest users: {names}")
