"""Measure the operators the resource estimate composes (yosys ``synth_xilinx``, not Vivado).

The estimate (`qtransformer/kinds/resources.py`) charges LUTs for multipliers Vivado does not
put on DSPs, FIFOs between streamed layers, and our LayerNorm / softmax / attention datapaths.
This benchmark writes RTL equivalents of them (Verilog written here, at the widths our planner
generates), maps them to 7-series cells with yosys' `synth_xilinx`, and fits the per-bit
coefficients the estimate reads from `qtransformer/kinds/operators.json`:

- ``mult_var``: LUTs of a variable x variable multiplier, per ``wa * wb`` (``-nodsp``);
- ``mult_const``: LUTs of a multiply by a quantized constant (random seeded weights of ``wb``
  bits, the Latency strategy's constant kernels), per ``wa * wb``;
- ``fifo``: an ``hls::stream`` of depth 2 as HLS builds small channels, a shift-register FIFO
  (SRL16 per bit, read address and flags): LUTs and FFs per bit and per FIFO;
- ``barrel``: a variable right shift (po2 weights read from a ROM), per bit per stage; ``lzc``:
  a leading-one detector, recorded beside the LayerNorm / softmax scalar parts it belongs to;
- whole datapaths (LayerNorm lane + per-token scalar part, softmax lane + row reciprocal,
  attention MAC lane) at the SST-2 build's widths: the estimate's composition of the
  coefficients above is compared with them (``check`` in the JSON).

Vivado packs differently (LUT combining, DSP cascades, its own SRL mapping); this is the
open-source measurement we can make here. Run: ``python benchmarks/ops_yosys.py``.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
OPERATORS = ROOT / "qtransformer" / "kinds" / "operators.json"
SEED = 0

CELL = re.compile(r"^\s+(\d+)\s+([A-Z][A-Z0-9_]+)\s*$", re.M)


def synth(source: str, nodsp: bool = True) -> dict[str, int]:
    """Cell counts of ``source`` (top module ``top``) after ``synth_xilinx -family xc7``."""
    from pyosys import libyosys as ys

    with tempfile.TemporaryDirectory() as tmp:
        src, stat = Path(tmp) / "top.v", Path(tmp) / "stat.txt"
        src.write_text(source)
        design = ys.Design()
        flags = " -nodsp" if nodsp else ""
        ys.run_pass(f"tee -q -o /dev/null read_verilog {src}", design)
        ys.run_pass(f"tee -q -o /dev/null synth_xilinx -family xc7 -top top -flatten{flags}",
                    design)
        ys.run_pass(f"tee -q -o {stat} stat", design)
        text = stat.read_text()
    return {cell: int(n) for n, cell in CELL.findall(text)}


def usage(cells: dict[str, int]) -> dict[str, int]:
    """LUT (logic, SRL and LUTRAM), FF, CARRY4, DSP of a cell count."""
    lut = sum(n for c, n in cells.items() if re.fullmatch(r"LUT\d", c))
    lut += cells.get("SRL16E", 0) + cells.get("SRLC32E", 0) + 2 * cells.get("RAM64X1D", 0)
    ff = sum(n for c, n in cells.items() if re.fullmatch(r"FD[A-Z]+", c))
    return {"lut": lut, "ff": ff, "carry4": cells.get("CARRY4", 0),
            "dsp": cells.get("DSP48E1", 0)}


# ---- RTL generators (registered inputs and outputs so nothing folds into the ports) ------
def _regs(ports: list[tuple[str, int, bool]], outs: list[tuple[str, int, bool]], body: str
          ) -> str:
    decl = ["input clk"] + [f"input {'signed ' if s else ''}[{w - 1}:0] {n}_i"
                            for n, w, s in ports]
    decl += [f"output reg {'signed ' if s else ''}[{w - 1}:0] {n}_o" for n, w, s in outs]
    regs = "".join(f"  reg {'signed ' if s else ''}[{w - 1}:0] {n};\n" for n, w, s in ports)
    wires = "".join(f"  wire {'signed ' if s else ''}[{w - 1}:0] {n};\n" for n, w, s in outs)
    seq = "".join(f"    {n} <= {n}_i;\n" for n, _, _ in ports)
    seq += "".join(f"    {n}_o <= {n};\n" for n, _, _ in outs)
    return (f"module top({', '.join(decl)});\n{regs}{wires}{body}\n"
            f"  always @(posedge clk) begin\n{seq}  end\nendmodule\n")


def mult_var(wa: int, wb: int, copies: int = 4) -> str:
    ports = [(f"a{i}", wa, True) for i in range(copies)] + \
        [(f"b{i}", wb, True) for i in range(copies)]
    outs = [(f"y{i}", wa + wb, True) for i in range(copies)]
    body = "".join(f"  assign y{i} = a{i} * b{i};\n" for i in range(copies))
    return _regs(ports, outs, body)


def mult_const(wa: int, wb: int, consts: list[int]) -> str:
    ports = [(f"a{i}", wa, True) for i in range(len(consts))]
    outs = [(f"y{i}", wa + wb, True) for i in range(len(consts))]
    body = "".join(f"  assign y{i} = a{i} * {wb}'sd{c};\n" if c >= 0 else
                   f"  assign y{i} = -(a{i} * {wb}'sd{-c});\n" for i, c in enumerate(consts))
    return _regs(ports, outs, body)


def barrel(width: int, shift_bits: int, copies: int = 4) -> str:
    ports = [(f"a{i}", width, True) for i in range(copies)] + \
        [(f"s{i}", shift_bits, False) for i in range(copies)]
    outs = [(f"y{i}", width, True) for i in range(copies)]
    body = "".join(f"  assign y{i} = a{i} >>> s{i};\n" for i in range(copies))
    return _regs(ports, outs, body)


def lzc(width: int, copies: int = 4) -> str:
    out_w = max(1, (width).bit_length())
    ports = [(f"a{i}", width, False) for i in range(copies)]
    outs = [(f"y{i}", out_w, False) for i in range(copies)]
    body = ""
    for i in range(copies):
        body += (f"  reg [{out_w - 1}:0] l{i}; integer k{i};\n"
                 f"  always @* begin l{i} = 0; for (k{i} = 0; k{i} < {width}; k{i} = k{i} + 1)"
                 f" if (a{i}[k{i}]) l{i} = k{i} + 1; end\n  assign y{i} = l{i};\n")
    return _regs(ports, outs, body)


def fifo(width: int, copies: int = 4) -> str:
    """A depth-2 shift-register FIFO (SRL per data bit, a 1-bit read address, full/empty),
    the form HLS gives a small ``hls::stream`` channel."""
    mods = (f"module fifo2(input clk, input rst, input [{width - 1}:0] din, input wr, input rd,"
            f" output [{width - 1}:0] dout, output empty, output full);\n"
            f"  reg [{width - 1}:0] sr0, sr1; reg [1:0] cnt;\n"
            "  always @(posedge clk) if (wr && !full) begin sr0 <= din; sr1 <= sr0; end\n"
            "  always @(posedge clk) if (rst) cnt <= 0; else cnt <= cnt + (wr && !full) - "
            "(rd && !empty);\n"
            "  assign dout = (cnt == 2) ? sr1 : sr0;\n"
            "  assign empty = cnt == 0; assign full = cnt == 2;\nendmodule\n")
    decl = ["input clk", "input rst"] + [f"input [{width - 1}:0] d{i}" for i in range(copies)]
    decl += [f"input w{i}, input r{i}, output [{width - 1}:0] q{i}, output e{i}, output f{i}"
             for i in range(copies)]
    inst = "".join(f"  fifo2 u{i}(clk, rst, d{i}, w{i}, r{i}, q{i}, e{i}, f{i});\n"
                   for i in range(copies))
    return mods + f"module top({', '.join(decl)});\n{inst}endmodule\n"


def rom_decl(name: str, depth: int, width: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    vals = rng.integers(0, 2 ** width, depth)
    init = "".join(f"    {name}[{i}] = {width}'d{int(v)};\n" for i, v in enumerate(vals))
    return (f"  reg [{width - 1}:0] {name} [0:{depth - 1}];\n  integer {name}_k;\n"
            f"  initial begin\n{init}  end\n")


def ln_lane(q: dict, pw: int, out_w: int) -> str:
    """One LayerNorm element: ``d = n x - sum``, ``d*d`` accumulated into ``V``, then
    ``z = (d n inv) >> z_shift``, ``y = clip(round(z gamma + beta))``."""
    n_shift = q["n_bits"] - 1
    ports = [("x", q["x_bits"], True), ("sum", q["sum_bits"], True),
             ("inv", q["inv_bits"], False), ("g", pw, True), ("b", pw, True)]
    outs = [("v", q["v_bits"], False), ("y", out_w, True)]
    zt = q["z_bits"] + pw
    body = (f"  wire signed [{q['d_bits'] - 1}:0] d = (x <<< {n_shift}) - sum;\n"
            f"  reg [{q['v_bits'] - 1}:0] acc; always @(posedge clk) acc <= acc + d * d;\n"
            f"  assign v = acc;\n"
            f"  wire signed [{q['d_bits'] + q['inv_bits']}:0] t = d * $signed({{1'b0, inv}});\n"
            f"  reg signed [{q['z_bits'] - 1}:0] z; always @(posedge clk) z <= t >>> "
            f"{q['z_shift']};\n"
            f"  wire signed [{zt}:0] u = z * g + (b <<< {q['z_frac']});\n"
            f"  wire signed [{zt - q['z_frac']}:0] r = (u + ({zt + 1}'sd1 <<< {q['z_frac'] - 1}))"
            f" >>> {q['z_frac']};\n"
            f"  assign y = (r > {2 ** (out_w - 1) - 1}) ? {out_w}'sd{2 ** (out_w - 1) - 1} : "
            f"(r < -{2 ** (out_w - 1)}) ? -{out_w}'sd{2 ** (out_w - 1)} : r[{out_w - 1}:0];\n")
    return _regs(ports, outs, body)


def ln_scalar(q: dict) -> str:
    """Per token: ``M = n (V + E)``, its leading one, the ROM index, ``inv = ROM << (k_max -
    k)``."""
    m, r = q["m_bits"], q["rsqrt_bits"]
    lz = m.bit_length()
    ports = [("vv", q["v_bits"], False)]
    outs = [("inv", q["inv_bits"], False)]
    body = (rom_decl("rom", q["rom_size"], 17, SEED) +
            f"  wire [{m - 1}:0] mm = (vv + 5) * {2 ** (q['n_bits'] - 2)};\n"
            f"  reg [{lz - 1}:0] l; integer k;\n"
            f"  always @* begin l = 0; for (k = 0; k < {m}; k = k + 1) if (mm[k]) l = k + 1; end\n"
            f"  wire [{lz - 1}:0] s = (l > {r}) ? ((l - {r} + 1) & ~{lz}'d1) : 0;\n"
            f"  wire [{r - 1}:0] idx = mm >> s;\n"
            f"  reg [16:0] rv; always @(posedge clk) rv <= rom[idx];\n"
            f"  reg [{lz - 1}:0] sh; always @(posedge clk) sh <= {q['k_max']} - (s >> 1);\n"
            f"  assign inv = {{{{{q['inv_bits'] - 17}{{1'b0}}}}, rv}} << sh;\n")
    return _regs(ports, outs, body)


def softmax_lane(table: int, exp_w: int, rec_bits: int, score_bits: int, prob_bits: int,
                 shift_bits: int) -> str:
    """One softmax element: the exp table read (LUT ROM), the row sum's adder, then ``p =
    min((e rec) >> s, 2^f)``."""
    ports = [("sc", score_bits, False), ("rec", rec_bits, False), ("s", shift_bits, False),
             ("den", exp_w + 8, False)]
    outs = [("p", prob_bits + 1, False), ("dn", exp_w + 8, False)]
    idx = max(1, (table - 1).bit_length())
    body = (rom_decl("et", table, exp_w, SEED + 1) +
            f"  wire [{exp_w - 1}:0] e = et[sc[{idx - 1}:0]];\n"
            f"  assign dn = den + e;\n"
            f"  wire [{exp_w + rec_bits - 1}:0] t = e * rec;\n"
            f"  wire [{exp_w + rec_bits - 1}:0] u = t >> s;\n"
            f"  assign p = (u > {2 ** prob_bits}) ? {prob_bits + 1}'d{2 ** prob_bits} : "
            f"u[{prob_bits}:0];\n")
    return _regs(ports, outs, body)


def recip_row(den_bits: int, rec_bits: int) -> str:
    """Per softmax row: the sum's leading one, the 512 x 17 reciprocal ROM, the shift."""
    lz = den_bits.bit_length()
    ports = [("den", den_bits, False)]
    outs = [("rec", rec_bits, False)]
    body = (rom_decl("rr", 512, 17, SEED + 2) +
            f"  reg [{lz - 1}:0] l; integer k;\n"
            f"  always @* begin l = 0; for (k = 0; k < {den_bits}; k = k + 1) if (den[k]) "
            f"l = k + 1; end\n"
            f"  wire [{lz - 1}:0] s = (l > 10) ? l - 10 : 0;\n"
            f"  wire [8:0] idx = den >> s;\n"
            f"  reg [16:0] rv; always @(posedge clk) rv <= rr[idx];\n"
            f"  reg [{lz - 1}:0] sh; always @(posedge clk) sh <= {lz}'d{2 ** lz - 1} - s;\n"
            f"  assign rec = {{{{{max(rec_bits - 17, 0)}{{1'b0}}}}, rv}} << sh;\n")
    return _regs(ports, outs, body)


def mac_lane(wa: int, wb: int, acc: int) -> str:
    ports = [("a", wa, True), ("b", wb, True)]
    outs = [("y", acc, True)]
    body = (f"  reg signed [{acc - 1}:0] s; always @(posedge clk) s <= s + a * b;\n"
            "  assign y = s;\n")
    return _regs(ports, outs, body)


# ---- measurements --------------------------------------------------------------------
def fit_per_bit(points: list[tuple[float, float]]) -> float:
    """Least-squares ``y = c x`` through the origin."""
    x = np.array([p[0] for p in points], float)
    y = np.array([p[1] for p in points], float)
    return float((x @ y) / (x @ x))


def measure_mults() -> tuple[dict, dict]:
    rng = np.random.default_rng(SEED)
    var, const = [], []
    for wa, wb in ((4, 4), (8, 4), (8, 8), (12, 8), (16, 8), (12, 12), (16, 16)):
        u = usage(synth(mult_var(wa, wb)))
        var.append({"wa": wa, "wb": wb, "lut": u["lut"] / 4, "carry4": u["carry4"] / 4})
        print(f"mult var {wa}x{wb}: {u['lut'] / 4:.1f} LUT", flush=True)
    for wa, wb in ((8, 4), (8, 8), (16, 4), (16, 8), (12, 6)):
        consts = [int(c) for c in rng.integers(-(2 ** (wb - 1)) + 1, 2 ** (wb - 1), 16)]
        u = usage(synth(mult_const(wa, wb, consts)))
        const.append({"wa": wa, "wb": wb, "lut": u["lut"] / 16})
        print(f"mult const {wa}x{wb}: {u['lut'] / 16:.1f} LUT", flush=True)
    return ({"per_bit2": fit_per_bit([(p["wa"] * p["wb"], p["lut"]) for p in var]),
             "points": var},
            {"per_bit2": fit_per_bit([(p["wa"] * p["wb"], p["lut"]) for p in const]),
             "points": const})


def measure_fifo() -> dict:
    pts = []
    for w in (8, 32, 128, 512):
        u = usage(synth(fifo(w), nodsp=True))
        pts.append({"width": w, "lut": u["lut"] / 4, "ff": u["ff"] / 4})
        print(f"fifo d2 w{w}: {u['lut'] / 4:.1f} LUT {u['ff'] / 4:.1f} FF", flush=True)
    a = np.array([[1.0, p["width"]] for p in pts])
    lut = np.linalg.lstsq(a, np.array([p["lut"] for p in pts]), rcond=None)[0]
    ff = np.linalg.lstsq(a, np.array([p["ff"] for p in pts]), rcond=None)[0]
    return {"lut_base": float(lut[0]), "lut_per_bit": float(lut[1]), "ff_base": float(ff[0]),
            "ff_per_bit": float(ff[1]), "points": pts}


def measure_shifts() -> tuple[dict, dict]:
    bar, lz = [], []
    for w, s in ((16, 4), (32, 5), (48, 6)):
        u = usage(synth(barrel(w, s)))
        bar.append({"width": w, "shift_bits": s, "lut": u["lut"] / 4})
    for w in (16, 32, 48):
        u = usage(synth(lzc(w)))
        lz.append({"width": w, "lut": u["lut"] / 4})
    print(f"barrel {bar}\nlzc {lz}", flush=True)
    return ({"per_bit_stage": fit_per_bit([(p["width"] * p["shift_bits"], p["lut"])
                                           for p in bar]), "points": bar},
            {"per_bit": fit_per_bit([(p["width"], p["lut"]) for p in lz]), "points": lz})


def sst2_widths() -> dict:
    """The widths of the SST-2 8-bit build (d_model 64, 16 x 4 heads, 8-bit activations):
    the LayerNorm's from :func:`ln_widths`, the softmax's from the built model's
    parameters."""
    from qtransformer.kinds.layernorm import ln_widths
    from qtransformer.layers.norm import ln_eps_raw

    return {"ln": ln_widths(64, 11, ln_eps_raw(1e-3, 64, 4)), "param_bits": 9, "out_bits": 8,
            "table": 578, "exp_bits": 17, "rec_bits": 24, "den_bits": 24, "score_bits": 10,
            "prob_bits": 8, "act_bits": 8, "qk_bits": 21, "ctx_bits": 27}


def measure_datapaths(w: dict) -> dict:
    out = {}
    for name, src in (("ln_lane", ln_lane(w["ln"], w["param_bits"], w["out_bits"])),
                      ("ln_scalar", ln_scalar(w["ln"])),
                      ("softmax_lane", softmax_lane(w["table"], w["exp_bits"], w["rec_bits"],
                                                    w["score_bits"], w["prob_bits"], 5)),
                      ("recip_row", recip_row(w["den_bits"], w["rec_bits"])),
                      ("qk_lane", mac_lane(w["act_bits"], w["act_bits"], w["qk_bits"])),
                      ("pv_lane", mac_lane(w["prob_bits"] + 1, w["act_bits"], w["ctx_bits"]))):
        out[name] = {"nodsp": usage(synth(src)), "dsp": usage(synth(src, nodsp=False))}
        print(f"{name}: {out[name]}", flush=True)
    return out


def composed(w: dict) -> dict:
    """What the estimate charges for the same datapaths (``kinds/resources.py`` and the kinds'
    own composition), to set beside the yosys figures: DSP form (both operands wide)."""
    from qtransformer.kinds.attention import recip_row_lut
    from qtransformer.kinds.layernorm import ln_lane_blocks, ln_scalar_lut
    from qtransformer.kinds.resources import mac_block

    lane = ln_lane_blocks(w["ln"], 1, w["param_bits"], 1)
    return {"ln_lane": {"lut": sum(x[2] for x in lane) + w["out_bits"] + 2,
                        "dsp": sum(x[1] for x in lane)},
            "ln_scalar": {"lut": ln_scalar_lut(w["ln"]), "dsp": 0},
            "recip_row": {"lut": recip_row_lut({"den_bits": w["den_bits"],
                                                "rec_bits": w["rec_bits"]}), "dsp": 0},
            "qk_lane": dict(zip(("dsp", "lut"), mac_block(
                1, w["act_bits"], w["act_bits"], w["qk_bits"], 0, 1)[1:3])),
            "pv_lane": dict(zip(("dsp", "lut"), mac_block(
                1, w["prob_bits"] + 1, w["act_bits"], w["ctx_bits"], 0, 1)[1:3]))}


def main() -> int:
    try:
        import pyosys  # noqa: F401
    except ImportError:
        print("needs pyosys: pip install pyosys (in .[bench])", file=sys.stderr)
        return 2
    var, const = measure_mults()
    fifo_fit = measure_fifo()
    bar, lz = measure_shifts()
    widths = sst2_widths()
    paths = measure_datapaths(widths)
    ours = composed(widths)
    ops = {"tool": "yosys synth_xilinx -family xc7 (not Vivado)",
           "made_by": "python benchmarks/ops_yosys.py",
           "mult_var_lut_per_bit2": round(var["per_bit2"], 4),
           "mult_const_lut_per_bit2": round(const["per_bit2"], 4),
           "fifo_d2": {k: round(v, 3) for k, v in fifo_fit.items() if k != "points"},
           "barrel_lut_per_bit_stage": round(bar["per_bit_stage"], 4),
           "lzc_lut_per_bit": round(lz["per_bit"], 4),
           "datapaths": {k: v["nodsp"] | {"dsp_form": v["dsp"]} for k, v in paths.items()},
           "estimate_of_datapaths": ours,
           "widths": widths}
    OPERATORS.write_text(json.dumps(ops, indent=1) + "\n")
    RESULTS.mkdir(parents=True, exist_ok=True)
    full = {"ops": ops, "mult_var": var, "mult_const": const, "fifo": fifo_fit,
            "barrel": bar, "lzc": lz}
    (RESULTS / "ops_yosys.json").write_text(json.dumps(full, indent=1) + "\n")
    lines = ["# Operators measured with yosys synth_xilinx (7-series cells; not Vivado)", "",
             "| operator | fit | points (LUT each) |", "|---|---|---|",
             f"| multiplier, variable x variable | {var['per_bit2']:.3f} LUT per wa*wb | "
             + ", ".join(f"{p['wa']}x{p['wb']}: {p['lut']:.0f}" for p in var["points"]) + " |",
             f"| multiplier by a constant (random seeded weights) | {const['per_bit2']:.3f} LUT "
             "per wa*wb | " + ", ".join(f"{p['wa']}x{p['wb']}: {p['lut']:.1f}"
                                        for p in const["points"]) + " |",
             f"| FIFO depth 2 (shift register) | {fifo_fit['lut_base']:.1f} + "
             f"{fifo_fit['lut_per_bit']:.2f}/bit LUT, {fifo_fit['ff_base']:.1f} + "
             f"{fifo_fit['ff_per_bit']:.2f}/bit FF | "
             + ", ".join(f"w{p['width']}: {p['lut']:.0f} LUT {p['ff']:.0f} FF"
                         for p in fifo_fit["points"]) + " |",
             f"| barrel shift | {bar['per_bit_stage']:.3f} LUT per bit per stage | "
             + ", ".join(f"{p['width']}b/{p['shift_bits']}: {p['lut']:.0f}"
                         for p in bar["points"]) + " |",
             f"| leading-one detector | {lz['per_bit']:.3f} LUT per bit | "
             + ", ".join(f"{p['width']}b: {p['lut']:.0f}" for p in lz["points"]) + " |", "",
             "| datapath (SST-2 widths) | LUT (no DSP) | FF | LUT with DSPs | DSP | estimate: "
             "LUT | estimate: DSP |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {k} | {v['nodsp']['lut']} | {v['nodsp']['ff']} | {v['dsp']['lut']} | "
              f"{v['dsp']['dsp']} | {ours[k]['lut'] if k in ours else '—'} | "
              f"{ours[k]['dsp'] if k in ours else '—'} |" for k, v in paths.items()]
    lines += ["", "The softmax lane is not composed as one piece in the estimate (its exp table "
              "is charged per lane as a LUT ROM, its multiply as above). The scalar parts' ROMs "
              "map to block RAM in yosys (a registered read) and are charged as such (LayerNorm) "
              "or as LUT ROM (the reciprocal)."]
    (RESULTS / "ops_yosys.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
