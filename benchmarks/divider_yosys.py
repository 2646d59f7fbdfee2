"""Measure the masked mean's divider (yosys ``synth_xilinx``, not Vivado).

A masked mean (``qt_meanpool_masked``) divides each channel's sum by the count of valid
tokens, a variable: ``num / d`` and ``num % d`` at ``PIPELINE II=1``, one channel a cycle, then
the floor and round-half-even fix-ups (``qt_meanpool_divide``). HLS builds a pipelined divider
for it, one stage per quotient bit. This writes that structure in Verilog (a restoring divider
of the numerator's magnitude, a register stage per quotient bit, the sign and the rounding
after it) at the widths our planner gives masked means, maps it to 7-series cells with yosys,
and fits the two coefficients the estimate reads from ``qtransformer/kinds/operators.json``
(key ``divider``): LUTs per ``num_bits * den_bits`` and flip-flops per
``num_bits * (num_bits + den_bits)``. Other keys of that file are left as they are
(``benchmarks/ops_yosys.py`` writes them).

Run: ``python benchmarks/divider_yosys.py`` (needs pyosys, in the bench extra).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from ops_yosys import OPERATORS, RESULTS, _regs, fit_per_bit, synth, usage


def divider(num: int, den: int, out: int) -> str:
    """``round_half_even(num / d)`` clipped to ``out`` signed bits; ``num`` signed, ``d``
    positive (``den`` bits); a restoring stage per quotient bit, registered."""
    rem = den + 1
    body = [
        f"  wire neg0 = num[{num - 1}];",
        f"  wire [{num - 1}:0] mag0 = neg0 ? -num : num;",
        # stage k holds the remainder, the dividend bits not yet used, the quotient so far
        f"  reg [{rem - 1}:0] r [0:{num}];",
        f"  reg [{num - 1}:0] a [0:{num}];",
        f"  reg [{num - 1}:0] q [0:{num}];",
        f"  reg [{den - 1}:0] dd [0:{num}];",
        f"  reg ng [0:{num}];",
        "  always @* begin r[0] = 0; a[0] = mag0; q[0] = 0; dd[0] = d; ng[0] = neg0; end",
        "  genvar k;",
        f"  generate for (k = 0; k < {num}; k = k + 1) begin : st",
        f"    wire [{rem}:0] t = {{r[k], a[k][{num - 1}]}};",
        "    wire ge = t >= {1'b0, dd[k]};",
        f"    wire [{rem}:0] s = ge ? t - {{1'b0, dd[k]}} : t;",
        "    always @(posedge clk) begin",
        f"      r[k + 1] <= s[{rem - 1}:0];",
        "      a[k + 1] <= a[k] << 1;",
        f"      q[k + 1] <= {{q[k][{num - 2}:0], ge}};",
        "      dd[k + 1] <= dd[k]; ng[k + 1] <= ng[k];",
        "    end",
        "  end endgenerate",
        # C semantics (toward zero), then floor and round half to even, then clip
        f"  wire signed [{num}:0] qt = ng[{num}] ? -$signed({{1'b0, q[{num}]}}) : "
        f"$signed({{1'b0, q[{num}]}});",
        f"  wire signed [{rem}:0] rt = ng[{num}] ? -$signed({{1'b0, r[{num}]}}) : "
        f"$signed({{1'b0, r[{num}]}});",
        "  wire fl = rt < 0;",
        f"  wire signed [{num}:0] q1 = fl ? qt - 1 : qt;",
        f"  wire signed [{rem + 1}:0] r1 = fl ? rt + $signed({{1'b0, dd[{num}]}}) : rt;",
        f"  wire signed [{rem + 2}:0] r2 = r1 <<< 1;",
        f"  wire signed [{rem + 2}:0] dn = $signed({{1'b0, dd[{num}]}});",
        "  wire up = (r2 > dn) || (r2 == dn && q1[0]);",
        f"  wire signed [{num}:0] q2 = up ? q1 + 1 : q1;",
        f"  localparam signed [{num}:0] HI = {2 ** (out - 1) - 1}, LO = -{2 ** (out - 1)};",
        f"  assign y = q2 > HI ? HI[{out - 1}:0] : q2 < LO ? LO[{out - 1}:0] : q2[{out - 1}:0];",
    ]
    return _regs([("num", num, True), ("d", den, False)], [("y", out, True)],
                 "\n".join(body) + "\n")


def simulate(num: int, den: int, out: int, n: int = 3000) -> int | None:
    """Mismatches of the RTL against Python's floor division, round half to even and clip, on
    ``n`` seeded random (numerator, count) pairs, simulated with iverilog (None: not
    installed)."""
    if not (shutil.which("iverilog") and shutil.which("vvp")):
        return None
    rng = np.random.default_rng(0)
    nums = rng.integers(-(2 ** (num - 1)), 2 ** (num - 1), n)
    nums[:100] = rng.integers(-1000, 1000, 100)
    counts = rng.integers(1, 2 ** (den - 2), n)
    step = '#1 clk = 1; #1 clk = 0; $fdisplay(f, "%d", y_o);'
    lines = [f"module tb; reg clk = 0; reg signed [{num - 1}:0] num_i; reg [{den - 1}:0] d_i;",
             f"wire signed [{out - 1}:0] y_o; top dut(.clk(clk), .num_i(num_i), .d_i(d_i), "
             ".y_o(y_o)); integer f;", 'initial begin f = $fopen("out.txt", "w");']
    lines += [f"  num_i = {'-' if a < 0 else ''}{num}'sd{abs(int(a))}; d_i = {den}'d{b}; {step}"
              for a, b in zip(nums, counts)]
    lines += [f"  {step}"] * (num + 2) + ["  $fclose(f); $finish; end endmodule"]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "top.v").write_text(divider(num, den, out))
        Path(tmp, "tb.v").write_text("\n".join(lines))
        subprocess.run(["iverilog", "-g2005", "-o", "sim", "top.v", "tb.v"], cwd=tmp, check=True)
        subprocess.run(["vvp", "-n", "sim"], cwd=tmp, check=True, capture_output=True)
        got = Path(tmp, "out.txt").read_text().split()[num + 1:]   # latency: num + 1 cycles

    def want(a: int, b: int) -> int:
        q, r = divmod(a, b)
        q += 1 if 2 * r > b or (2 * r == b and q & 1) else 0
        return max(-(2 ** (out - 1)), min(2 ** (out - 1) - 1, q))

    return sum(g != str(want(int(a), int(b))) for g, a, b in zip(got, nums, counts))


# (numerator, divisor, output) bits of masked means of 8-bit activations at 32, 64, 128 and
# 256 tokens (kinds/pooling.py: sum_bits + log2(seq) + 16 fractional bits; count_bits + 2)
POINTS = ((34, 8, 29), (36, 9, 30), (38, 10, 31), (40, 11, 32))


def main() -> int:
    try:
        import pyosys  # noqa: F401
    except ImportError:
        print("needs pyosys: pip install pyosys (in .[bench])", file=sys.stderr)
        return 2
    pts = []
    for num, den, out in POINTS:
        u = usage(synth(divider(num, den, out)))
        bad = simulate(num, den, out)
        pts.append({"num_bits": num, "den_bits": den, "out_bits": out, **u,
                    "simulated_mismatches": bad})
        print(f"divider {num}/{den}: {u['lut']} LUT, {u['ff']} FF, {u['carry4']} CARRY4; "
              f"iverilog: {'not installed' if bad is None else f'{bad} of 3000 wrong'}",
              flush=True)
    lut = fit_per_bit([(p["num_bits"] * p["den_bits"], p["lut"]) for p in pts])
    ff = fit_per_bit([(p["num_bits"] * (p["num_bits"] + p["den_bits"]), p["ff"]) for p in pts])
    ops = json.loads(OPERATORS.read_text())
    ops["divider"] = {"made_by": "python benchmarks/divider_yosys.py",
                      "lut_per_num_den": round(lut, 4), "ff_per_num_num_den": round(ff, 4)}
    OPERATORS.write_text(json.dumps(ops, indent=1) + "\n")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "divider_yosys.json").write_text(json.dumps(
        {"tool": "yosys synth_xilinx -family xc7 (not Vivado)", "fit": ops["divider"],
         "points": pts}, indent=1) + "\n")
    lines = ["# The masked mean's divider, measured with yosys synth_xilinx (7-series cells; not "
             "Vivado)", "", "`python benchmarks/divider_yosys.py`: a restoring divider, one "
             "registered stage per quotient bit, then the sign, floor and round-half-even "
             "fix-ups and the clip (`qt_meanpool_divide`).", "",
             "| numerator / divisor bits | LUT | FF | CARRY4 | LUT per num x den | FF per "
             "num x (num + den) | iverilog, 3,000 random divides |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {p['num_bits']} / {p['den_bits']} | {p['lut']} | {p['ff']} | {p['carry4']} | "
              f"{p['lut'] / (p['num_bits'] * p['den_bits']):.2f} | "
              f"{p['ff'] / (p['num_bits'] * (p['num_bits'] + p['den_bits'])):.2f} | "
              + ("not run" if p["simulated_mismatches"] is None
                 else f"{p['simulated_mismatches']} wrong") + " |" for p in pts]
    lines += ["", f"Fit (through the origin): {lut:.3f} LUT per num x den, {ff:.3f} FF per "
              "num x (num + den); the estimate (kinds/pooling.py) reads them from "
              "`qtransformer/kinds/operators.json`, key `divider`."]
    (RESULTS / "divider_yosys.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
