"""Resource ESTIMATE per layer (DSP/LUT/FF/BRAM36) and a reuse-factor chooser for a board.

This is an analytical estimate, not a synthesis result: multipliers = MACs / reuse factor;
a multiply goes to a DSP when both operands are wider than 4 bits and the product is wider
than 16 bits (what Vivado infers), otherwise to LUTs (~ w_a * w_b / 2 LUTs; binary/ternary
weights cost an adder only); every parallel MAC adds an accumulator-wide adder (LUTs) and
register (FFs). With reuse > 1 (Resource strategy) the weights read per cycle come from BRAM36
(72 bits wide); softmax exp tables are ROMs, one BRAM18 per parallel lookup. Custom layers are
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
from dataclasses import asdict, dataclass

import numpy as np

from ..boards import Board
from .precision import PASS_THROUGH, LayerPlan

BRAM_BITS = 36 * 1024


@dataclass
class LayerEstimate:
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


def _mult(wa: int, wb: int, shifts: int = 0) -> tuple[int, int]:
    """(DSPs, LUTs) of one ``wa x wb`` multiplier; ``shifts`` > 0: the weights are signed
    powers of two with that many distinct exponents (po2, and binary/ternary with a po2 scale),
    so the multiply is a shift: free wiring when the weight is a constant (``shifts`` 1), else
    a barrel shifter."""
    if shifts:
        return 0, 0 if shifts == 1 else wa * math.ceil(math.log2(shifts))
    if min(wa, wb) > 4 and wa + wb > 16:
        return math.ceil(wa / 25) * math.ceil(wb / 18), 0
    if min(wa, wb) <= 2:
        return 0, 0  # sign flip / shift: folded into the adder
    return 0, max(1, wa * wb // 2)


def _mac_block(n: int, wa: int, wb: int, acc: int, weights_bits: int, reuse: int,
               shifts: int = 0):
    par = max(1, math.ceil(n / reuse))
    dsp1, lut1 = _mult(wa, wb, 1 if shifts and reuse == 1 else shifts)
    bram = math.ceil(par * wb / 72) if reuse > 1 and weights_bits > 2048 else 0
    return par, par * dsp1, par * (lut1 + acc), par * acc, float(bram)


def _density(*arrays) -> float:
    """Fraction of non-zero entries (pruned and ternary zeros need no multiplier)."""
    size = sum(int(np.size(a)) for a in arrays)
    return sum(int(np.count_nonzero(a)) for a in arrays) / size if size else 1.0


def _po2_levels(*arrays) -> int:
    """Distinct exponents when every non-zero weight is +-2^k (0 when not)."""
    values = np.abs(np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays]))
    values = values[values > 0]
    if not values.size:
        return 0
    exps = np.log2(values)
    return int(np.unique(exps).size) if np.all(exps == np.round(exps)) else 0


def _depth(n: int) -> int:
    """Adder-tree depth of an ``n``-input sum, plus multiply and register stages."""
    return math.ceil(math.log2(max(n, 2))) + 2


def estimate_layer(p: LayerPlan, in_width: int) -> LayerEstimate:
    """Estimate one layer (``in_width``: bits of its input type)."""
    rf = max(1, p.reuse)
    if p.kind == "dense":
        w = p.types["weight"].width
        kernel = p.consts["kernel"]
        n_w, n_in = int(kernel.size), int(kernel.shape[0])
        seq = max(1, p.macs // max(n_w, 1))
        macs = p.macs if rf == 1 else n_w  # Resource: tokens go through one kernel in turn
        live = math.ceil(macs * _density(kernel))
        par, dsp, lut, ff, bram = _mac_block(live, in_width, w, p.types["accum"].width,
                                             n_w * w, rf, _po2_levels(kernel))
        cycles = _depth(n_in) if rf == 1 else seq * (rf + _depth(n_in))
        if p.out.quantizing:  # a fused output quantizer: one token's casts, or all at rf 1
            lut += (p.elems if rf == 1 else int(kernel.shape[1])) * (p.out.width + 1)
        return LayerEstimate(p.name, p.kind, rf, p.macs, par, dsp, lut, ff, bram, cycles)
    if p.kind == "attention":
        q = p.params
        s, d_in, d, act = q["seq_len"], q["d_in"], q["d_model"], q["act_bits"]
        w = p.types["weight"].width
        acc = act + w + math.ceil(math.log2(max(d_in, 2)))
        proj = (3 * d_in * d + d * d)                      # per token
        mm = 2 * s * d                                      # QK^T and PV per token
        kernels = [p.consts[f"{n}_kernel"] for n in ("query", "key", "value", "output")]
        live = math.ceil(proj * _density(*kernels))
        a = _mac_block(live, act, w, acc, (3 * d_in + d) * d * w, rf, _po2_levels(*kernels))
        b = _mac_block(mm, act, act + 2, 2 * act + 4, 0, rf)
        heads_rows = max(1, math.ceil(q["heads"] * s / rf))
        divider_lut = heads_rows * 30 * 30                 # p = e * 2^f / sum, ~30-bit
        table_bram = 0.5 * heads_rows * max(1, math.ceil(q["table_size"] *
                                                         p.types["exp"].width / 18432))
        # projections per token, then a score/softmax/context row per (head, token), then
        # the output projection per token; each pipelined at II = reuse
        cycles = (2 * s + q["heads"] * s) * rf + 3 * _depth(d_in) + 32
        select_lut = 0
        if "keep" in q:  # token pruning: S x S rank comparators, then the residual adds
            select_lut = s * s * q["recv_bits"] // rf + s * d * p.out.width // rf
            cycles += s
        return LayerEstimate(p.name, p.kind, rf, p.macs, a[0] + b[0], a[1] + b[1],
                             a[2] + b[2] + divider_lut + select_lut, a[3] + b[3],
                             a[4] + table_bram, cycles)
    if p.kind == "layernorm":
        n = p.params["n_in"]
        par, dsp, lut, ff, bram = _mac_block(3 * n, 24, 24, 48, 0, rf)
        seq = max(1, p.macs // (3 * n))
        cycles = seq * rf + 40      # one token per II (= reuse); + sqrt / divide depth
        return LayerEstimate(p.name, p.kind, rf, p.macs, par, dsp, lut + 2500 // rf, ff,
                             bram, cycles)
    if p.kind == "meanpool":
        # qt_meanpool is folded: n_in exact accumulators take one token per cycle, then one
        # shared divider (a 64-bit divide by the constant seq_len) takes one channel per cycle
        n, seq, acc = p.params["n_in"], p.params["seq_len"], p.params["sum_bits"]
        dsp, lut = _mult(64, 64)
        return LayerEstimate(p.name, p.kind, 1, 0, 1, dsp, n * acc + lut, n * acc + 64, 0.0,
                             seq + n + _depth(2))
    return LayerEstimate(p.name, p.kind, rf, 0, 0, 0, _elementwise_lut(p), 0, 0.0, 1)


def _elementwise_lut(p: LayerPlan) -> int:
    """hls4ml's io_parallel add and activation, and our position embedding, are unrolled over
    every element (no reuse factor folds them). Per element, as yosys ``synth_xilinx`` maps
    them (`benchmarks/elementwise_yosys.py`): an add or a ReLU about one LUT per output bit, a
    quantizing activation (round half even, saturate) one more; a plain linear is wiring."""
    width = p.out.width
    per = {"add": width, "posembed": width}.get(p.kind, 0)
    if p.kind == "act":
        per = width + 1 if p.out.quantizing else (width if p.params["activation"] == "relu"
                                                  else 0)
    return p.elems * per


def estimate(plans: dict[str, LayerPlan]) -> list[LayerEstimate]:
    """Per-layer estimates of the HLS layers (host-side layers excluded)."""
    rows = []
    for p in plans.values():
        if p.host or p.kind in (*PASS_THROUGH, "input", "embedding"):
            continue
        in_w = plans[p.inputs[0]].out.width if p.inputs else 16
        rows.append(estimate_layer(p, in_w))
    return rows


def totals(rows: list[LayerEstimate]) -> dict:
    return {"dsp": sum(r.dsp for r in rows), "lut": sum(r.lut for r in rows),
            "ff": sum(r.ff for r in rows), "bram36": math.ceil(sum(r.bram36 for r in rows)),
            "cycles": sum(r.cycles for r in rows)}


def utilization(total: dict, board: Board) -> dict:
    budget = {"dsp": board.dsp, "lut": board.lut, "ff": board.ff, "bram36": board.bram36}
    return {k: total[k] / budget[k] for k in budget}


def fits(total: dict, board: Board, margin: float = 0.8) -> bool:
    """Whether the estimate stays under ``margin`` of every budget (routing needs slack)."""
    return all(u <= margin for u in utilization(total, board).values())


def valid_dense_reuse(n_in: int, n_out: int, per_token: bool) -> list[int]:
    """Reuse factors hls4ml 1.3.0 accepts for a Dense layer (its FPGA backend's rule).

    A Dense on a sequence becomes a pointwise Conv1D, whose Resource kernel also needs
    ``rf <= n_in`` (it asserts this in C simulation).
    """
    out = []
    for rf in range(1, n_in * n_out + 1):
        mult_limit = math.ceil(n_in * n_out / min(n_in, rf))
        ok = (mult_limit % n_out == 0 or rf >= n_in) and (rf % n_in == 0 or rf < n_in)
        ok = ok and (n_in * n_out) % rf == 0 and (not per_token or rf <= n_in)
        if ok:
            out.append(rf)
    return out


def _next_reuse(p: LayerPlan) -> int | None:
    """Next reuse factor hls4ml accepts (dense), else doubling (custom layers)."""
    if p.kind == "dense":
        n_in, n_out = p.consts["kernel"].shape
        seq = p.macs // (n_in * n_out)
        higher = [rf for rf in valid_dense_reuse(n_in, n_out, seq > 1) if rf > p.reuse]
        return higher[0] if higher else None
    if p.kind in ("attention", "layernorm"):
        limit = 3 * p.params.get("d_in", p.params.get("n_in", 1)) * p.params.get("d_model", 1)
        return p.reuse * 2 if p.reuse * 2 <= limit else None
    return None


def choose_reuse(plans: dict[str, LayerPlan], board: Board, margin: float = 0.8,
                 max_steps: int = 500) -> dict:
    """Raise reuse factors (largest consumer first) until the estimate fits ``board``.

    Mutates ``plans[...].reuse``; returns ``{"fits", "reuse", "strategy", "total",
    "utilization", "layers"}``. Strategy becomes Resource once any reuse factor exceeds 1.
    """
    for _ in range(max_steps):
        rows = estimate(plans)
        total = totals(rows)
        if fits(total, board, margin):
            break
        util = utilization(total, board)
        worst = max(util, key=util.get)
        budget = {"dsp": board.dsp, "lut": board.lut, "ff": board.ff, "bram36": board.bram36}
        candidates = sorted(rows, key=lambda r: -getattr(r, worst) / budget[worst])
        moved = False
        for r in candidates:
            nxt = _next_reuse(plans[r.name])
            if nxt is not None and getattr(r, worst) > 0:
                plans[r.name].reuse = nxt
                moved = True
                break
        if not moved:
            break
    rows = estimate(plans)
    total = totals(rows)
    reuse = {p.name: p.reuse for p in plans.values() if p.kind in ("dense", "attention",
                                                                   "layernorm")}
    return {"fits": fits(total, board, margin), "reuse": reuse,
            "strategy": "Resource" if any(v > 1 for v in reuse.values()) else "Latency",
            "total": total, "utilization": utilization(total, board),
            "layers": [asdict(r) for r in rows], "label": "estimate (analytical, not synthesis)"}


def over_budget(fit: dict, top: int = 3) -> str:
    """One line for a design that does not fit: its largest consumers of the scarcest
    resource, so the user sees what to shrink (an unrolled elementwise layer has no reuse
    factor to raise: fewer tokens or channels, or a streaming design, are what shrink it)."""
    worst = max(fit["utilization"], key=fit["utilization"].get)
    rows = sorted(fit["layers"], key=lambda r: -r[worst])[:top]
    names = ", ".join(f"{r['name']} ({r['kind']}, {r[worst]:,})" for r in rows)
    return (f"does not fit: {worst.upper()} at {fit['utilization'][worst]:.0%} of the board "
            f"after raising the reuse factors; largest users: {names}")
