"""Measure what one element of an unrolled io_parallel layer costs (yosys, not Vivado).

The resource estimate (`qtransformer/hls/estimate.py`) charges every element of hls4ml's
io_parallel activations and residual adds, which no reuse factor folds. This benchmark is
where its per-element LUT figures come from: each operator is written in Verilog the way
`ap_fixed` assignment defines it (round half to even, saturate), 16 copies side by side, and
mapped to 7-series cells with yosys' `synth_xilinx`. Vivado may pack differently; this is the
open-source measurement we can make here.

    pip install pyosys                  # the full yosys as a Python module (in `.[bench]`)
    python benchmarks/elementwise_yosys.py
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
COPIES = 16

# name -> (what, Verilog body of one element: input x (and b), output y)
OPERATORS = {
    "quantizing-relu": (
        "ap_fixed<14,7> -> ap_ufixed<8,3,AP_RND_CONV,AP_SAT> (ReLU + quantized_relu(8,3))",
        "input signed [13:0] x, output [7:0] y",
        "wire up = x[1] & (x[0] | x[2]);\n"
        "wire signed [12:0] r = (x >>> 2) + up;\n"
        "assign y = (r < 0) ? 8'd0 : ((r > 255) ? 8'd255 : r[7:0]);"),
    "quantizing-linear": (
        "ap_fixed<16,8> -> ap_fixed<8,4,AP_RND_CONV,AP_SAT> (quantized_bits(8,4))",
        "input signed [15:0] x, output [7:0] y",
        "wire up = x[3] & ((|x[2:0]) | x[4]);\n"
        "wire signed [12:0] r = (x >>> 4) + up;\n"
        "assign y = (r < -128) ? 8'h80 : ((r > 127) ? 8'h7f : r[7:0]);"),
    "relu": ("ap_fixed<8,4> -> ap_fixed<8,4> ReLU", "input signed [7:0] x, output [7:0] y",
             "assign y = x[7] ? 8'd0 : x;"),
    "add": ("ap_fixed<9,5> + ap_fixed<9,5> -> ap_fixed<10,6> (residual add)",
            "input signed [8:0] x, input signed [8:0] b, output signed [9:0] y",
            "assign y = x + b;"),
}


def verilog(ports: str, body: str) -> str:
    inputs = re.findall(r"input (signed )?\[(\d+):0\] (\w+)", ports)
    out_w = int(re.search(r"output (?:signed )?\[(\d+):0\]", ports).group(1)) + 1
    top_ports = [f"input [{int(hi) + 1} * {COPIES} - 1:0] {n}" for _, hi, n in inputs]
    top_ports.append(f"output [{out_w} * {COPIES} - 1:0] y")
    conns = ", ".join(f".{n}({n}[i * {int(hi) + 1} +: {int(hi) + 1}])" for _, hi, n in inputs)
    return (f"module elem({ports});\n{body}\nendmodule\n"
            f"module top({', '.join(top_ports)});\n  genvar i;\n"
            f"  for (i = 0; i < {COPIES}; i = i + 1) begin : g\n"
            f"    elem u({conns}, .y(y[i * {out_w} +: {out_w}]));\n  end\nendmodule\n")


def synth(source: str) -> dict[str, int]:
    from pyosys import libyosys as ys

    with tempfile.TemporaryDirectory() as tmp:
        src, stat = Path(tmp) / "top.v", Path(tmp) / "stat.txt"
        src.write_text(source)
        design = ys.Design()
        ys.run_pass(f"tee -q -o /dev/null read_verilog {src}", design)
        ys.run_pass("tee -q -o /dev/null synth_xilinx -family xc7 -top top -flatten", design)
        ys.run_pass(f"tee -q -o {stat} stat", design)
        text = stat.read_text()
    return {cell: int(n) for n, cell in re.findall(r"^\s+(\d+)\s+(LUT\d|CARRY4|MUXF\d)\s*$",
                                                   text, re.M)}


def main() -> None:
    rows = {}
    for name, (what, ports, body) in OPERATORS.items():
        cells = synth(verilog(ports, body))
        luts = sum(v for k, v in cells.items() if k.startswith("LUT"))
        rows[name] = {"what": what, "cells": cells, "lut_per_element": luts / COPIES,
                      "carry4_per_element": cells.get("CARRY4", 0) / COPIES}
        print(f"{name}: {luts / COPIES:.2f} LUT, {cells.get('CARRY4', 0) / COPIES:.2f} CARRY4 "
              "per element", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "elementwise_yosys.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["| operator | what | LUT / element | CARRY4 / element |", "|---|---|---|---|"]
    lines += [f"| {n} | {r['what']} | {r['lut_per_element']:.2f} | {r['carry4_per_element']:.2f} |"
              for n, r in rows.items()]
    (RESULTS / "elementwise_yosys.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
