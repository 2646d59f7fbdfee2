"""Shared pieces of the resource ESTIMATE (analytical, not synthesis) that kinds build on.

A multiply by a constant weight (a fully unrolled kernel) goes to a DSP only when both operands
are wider than 10 bits: HLS builds narrower ones in LUTs (hls4ml reports of 8-bit-weight
networks show 0 DSPs, `benchmarks/calibration/records.json`); a multiply of two variables (ROM
weights under the Resource strategy, activations) goes to a DSP when both are wider than 4 bits
and the product is wider than 16. LUT multipliers cost what yosys measured for them
(`operators.json`, from `benchmarks/ops_yosys.py`): ~0.43 LUT per ``wa * wb`` by a constant,
~2.3 by a variable; binary/ternary weights cost an adder only. Every parallel MAC adds an
accumulator-wide adder (LUTs) and register (FFs). With reuse > 1 the weights read per cycle come
from BRAM36 (72 bits wide).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

# Per-operator figures measured with yosys synth_xilinx (7-series cells, not Vivado).
OPERATORS = json.loads((Path(__file__).with_name("operators.json")).read_text())
CONST_DSP_MIN_BITS = 10


def mult(wa: int, wb: int, shifts: int = 0, const: bool = False,
         binding: str | None = None) -> tuple[int, int]:
    """(DSPs, LUTs) of one ``wa x wb`` multiplier; ``const``: ``wb`` is a constant weight;
    ``shifts`` > 0: the weights are signed powers of two with that many distinct exponents
    (po2, and binary/ternary with a po2 scale), so the multiply is a shift: free wiring when
    the weight is a constant (``shifts`` 1), else a barrel shifter. ``binding`` ``dsp`` /
    ``lut``: a design that forces where multiplies go (otherwise the widths decide)."""
    if shifts:
        return 0, 0 if shifts == 1 else barrel_lut(wa, shifts)
    dsp_min = CONST_DSP_MIN_BITS if const else 4
    if binding == "dsp" and min(wa, wb) > 2 or binding is None and min(wa, wb) > dsp_min \
            and wa + wb > 16:
        return math.ceil(wa / 25) * math.ceil(wb / 18), 0
    if min(wa, wb) <= 2:
        return 0, 0  # sign flip / shift: folded into the adder
    per = OPERATORS["mult_const_lut_per_bit2" if const else "mult_var_lut_per_bit2"]
    return 0, max(1, round(per * wa * wb))


def divider(num_bits: int, den_bits: int) -> tuple[int, int]:
    """(LUTs, FFs) of a pipelined divider by a variable, a stage per quotient bit (a masked
    mean's divide by the valid count), as yosys measured our RTL of it
    (`benchmarks/divider_yosys.py`): a ``den``-bit subtract and select per stage, the delay
    lines of the divisor and the quotient partly in shift-register LUTs."""
    fit = OPERATORS["divider"]
    return (round(fit["lut_per_num_den"] * num_bits * den_bits),
            round(fit["ff_per_num_num_den"] * num_bits * (num_bits + den_bits)))


def barrel_lut(width: int, positions: int) -> int:
    """LUTs of a variable shift of ``width`` bits over ``positions`` places (yosys)."""
    return math.ceil(OPERATORS["barrel_lut_per_bit_stage"] * width *
                     math.ceil(math.log2(max(positions, 2))))


def mac_block(n: int, wa: int, wb: int, acc: int, weights_bits: int, reuse: int,
              shifts: int = 0, const: bool | None = None, binding: str | None = None,
              fanout: int = 1) -> tuple[int, int, int, int, float]:
    """(multipliers, DSP, LUT, FF, BRAM36) of ``n`` MACs folded by ``reuse``; the weights are
    constants (``const``, by default when fully unrolled and ``weights_bits`` are stored);
    ``fanout``: multipliers each stored weight read feeds (block-circulant weights: the block).

    Folded (reuse > 1): each multiplier accumulates into an ``acc``-bit register and selects
    its input among ``reuse`` values a cycle (a ``reuse``:1 mux per input bit). Unrolled: an
    adder tree, registered every few levels (about a quarter of ``acc`` FFs per product, as
    the calibration set's fully unrolled hls4ml layers show)."""
    par = max(1, math.ceil(n / reuse))
    const = reuse == 1 and weights_bits > 0 if const is None else const
    dsp1, lut1 = mult(wa, wb, 1 if shifts and reuse == 1 else shifts, const, binding)
    bram = math.ceil(par * wb / fanout / 72) if reuse > 1 and weights_bits > 2048 else 0
    if reuse == 1:
        return par, par * dsp1, par * (lut1 + acc), par * math.ceil(acc / 4), float(bram)
    return (par, par * dsp1, par * (lut1 + acc + mux_lut(wa, reuse)), par * acc,
            float(bram))


MUX_WAYS = 16


def mux_lut(width: int, ways: int) -> int:
    """LUTs of the operand select of a folded multiplier: a ``ways``:1 multiplexer of
    ``width`` bits (a LUT6 is a 4:1 mux), up to :data:`MUX_WAYS` registers; a deeper fold
    reads its operands from a memory the kind charges already (weight ROMs, Q/K/V RAMs), so
    its select stops growing."""
    ways = min(ways, MUX_WAYS)
    return width * math.ceil((ways - 1) / 3) if ways > 1 else 0


def density(*arrays) -> float:
    """Fraction of non-zero entries (pruned and ternary zeros need no multiplier)."""
    size = sum(int(np.size(a)) for a in arrays)
    return sum(int(np.count_nonzero(a)) for a in arrays) / size if size else 1.0


def po2_levels(*arrays) -> int:
    """Distinct exponents when every non-zero weight is +-2^k (0 when not)."""
    values = np.abs(np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays]))
    values = values[values > 0]
    if not values.size:
        return 0
    exps = np.log2(values)
    return int(np.unique(exps).size) if np.all(exps == np.round(exps)) else 0


def elementwise_lut(elems: int, per_element: int) -> int:
    """hls4ml's io_parallel add and activation, and our position embedding, are unrolled over
    every element (no reuse factor folds them). Per element, as yosys ``synth_xilinx`` maps
    them (`benchmarks/elementwise_yosys.py`): an add or a ReLU about one LUT per output bit, a
    quantizing activation (round half even, saturate) one more; a plain linear is wiring."""
    return elems * per_element


def stream_fifo(word_bits: int, depth: int) -> tuple[int, int, float]:
    """(LUT, FF, BRAM36) of one hls::stream FIFO of ``depth`` words of ``word_bits``: up to
    depth 2 two registers and a read mux per bit with its flags (as yosys maps it:
    `operators.json` ``fifo_d2``), shift-register LUTs (SRL32) up to 64 words, else BRAM36
    (72 bits x 512 words each)."""
    if depth <= 2:
        f = OPERATORS["fifo_d2"]
        return (math.ceil(f["lut_base"] + f["lut_per_bit"] * word_bits),
                math.ceil(f["ff_base"] + f["ff_per_bit"] * word_bits), 0.0)
    if depth <= 64:
        return word_bits * math.ceil(depth / 32), word_bits, 0.0
    return 0, word_bits, float(math.ceil(word_bits / 72) * math.ceil(depth / 512))


def rom_lut(bits: int) -> int:
    """LUTs of a constant table read combinationally (64 bits per LUT6 as a ROM)."""
    return math.ceil(bits / 64)


def ram36(bits: int) -> float:
    """BRAM36 of an on-chip buffer of ``bits`` (small ones go to LUTRAM: 0 here)."""
    return float(math.ceil(bits / 36864)) if bits > 4096 else 0.0


BRAM36_SHAPES = ((512, 72), (1024, 36), (2048, 18), (4096, 9), (8192, 4), (16384, 2),
                 (32768, 1))   # the aspect ratios of a 7-series RAMB36 (depth, width)


def bram36(width: int, depth: int) -> float:
    """RAMB36 of ``depth`` words of ``width`` bits, in their best aspect ratio."""
    return float(min(math.ceil(width / w) * math.ceil(depth / d) for d, w in BRAM36_SHAPES))


def ram(width: int, depth: int) -> tuple[int, float]:
    """(LUT, BRAM36) of a dual-port RAM of ``depth`` words of ``width`` bits: LUTRAM (two LUTs
    per bit per 64 words: RAM64X1D) when 64 words or fewer, else RAMB36 in their best aspect
    ratio."""
    if depth <= 64:
        return 2 * width * math.ceil(depth / 64), 0.0
    return 0, bram36(width, depth)


def rom(width: int, depth: int) -> tuple[int, float]:
    """(LUT, BRAM36) of a ROM read one ``width``-bit word a cycle from ``depth`` words: LUT ROM
    when shallow (64 words or fewer, or 4 kbit in all), else RAMB36 in their best aspect
    ratio."""
    if depth <= 64 or width * depth <= 4096:
        return rom_lut(width * depth), 0.0
    return 0, bram36(width, depth)
