"""Does CirCNN's FFT form pay at our widths? A numpy measurement, not synthesis.

For one block-circulant layer (8-bit inputs, 8-bit or ternary weights, block b) it compares the
direct form (each output a sum of ``n_in`` weight products, as the C++ computes it today) with the
FFT form (per input block an FFT, per block pair an element-wise product with the stored weight
spectrum, per output block one inverse FFT; real-input FFTs, Gauss' 3-multiply complex product):

* multiplies: count and operand widths, and LUTs from the yosys per-operator coefficients in
  ``qtransformer/kinds/operators.json`` (constant multiplies; a ternary weight needs none);
* error: the FFT form in fixed point (spectra and twiddles rounded to ``F`` fractional bits)
  against the exact integer result, and how many outputs then round to a different 8-bit
  activation (any one breaks bit-exactness against the integer definition).

It then looks at the designs the flow actually fits to the board (``fitted``): there the
multipliers are folded and few, so what the FFT form could save is bounded by their LUTs.

    python benchmarks/circulant_fft.py   # seconds; writes results/circulant_fft.{json,md}
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
OPS = json.loads((HERE.parent / "qtransformer/kinds/operators.json").read_text())
N_IN, N_OUT = 32, 64            # the default FFN's first layer (d_model 32, ff_dim 64)


def direct(b: int, w_bits: int, ternary: bool) -> dict:
    mults = N_IN * N_OUT
    lut = 0 if ternary else mults * OPS["mult_const_lut_per_bit2"] * 8 * w_bits
    return {"multiplies": 0 if ternary else mults, "lut_multipliers": round(lut),
            "stored_values": N_IN * N_OUT // b}


def fft_counts(b: int, spec_bits: int) -> dict:
    """Real multiplies of the FFT form: per (input block, output block) the product with a
    constant spectrum (b/2 - 1 complex bins at 3 real multiplies, 2 real bins at 1), per FFT
    and inverse FFT the radix-2 twiddles that are not trivial (b/2 log2 b - b + 1 complex,
    roughly; counted at 3 real multiplies)."""
    p, q = N_IN // b, N_OUT // b
    prod = p * q * (3 * (b // 2 - 1) + 2)
    tw = max(0, b // 2 * int(math.log2(b)) - b + 1) * 3
    ffts = (p + q) * tw
    x_bits = 8 + int(math.log2(b))                    # an FFT bin of 8-bit inputs grows log2 b
    lut = OPS["mult_const_lut_per_bit2"] * (prod * x_bits * spec_bits + ffts * x_bits * spec_bits)
    return {"multiplies": prod + ffts, "lut_multipliers": round(lut),
            "stored_values": p * q * b, "operand_bits": [x_bits, spec_bits]}


def fft_error(b: int, frac: int, ternary: bool, rng) -> dict:
    """The FFT form with spectra rounded to ``frac`` fractional bits (the products exact, the
    inverse FFT exact), against the exact integer product; outputs then rounded to 8 bits."""
    p, q = N_IN // b, N_OUT // b
    levels = np.array([-1, 0, 1]) if ternary else np.arange(-127, 128)
    v = rng.choice(levels, size=(p, q, b)).astype(float) / (1 if ternary else 128)
    x = rng.integers(-128, 128, size=(256, p, b)).astype(float) / 16
    # exact: y[q, j] = sum_p sum_i x[p, i] v[p, q, (j - i) mod b]  (the C++'s direct form)
    idx = (np.arange(b)[None, :] - np.arange(b)[:, None]) % b          # [i, j]
    y = np.einsum("npi,pqij->nqj", x, v[:, :, idx])
    # FFT form: y[q] = IFFT(sum_p FFT(x[p]) * FFT(v[p, q])), a circular convolution per block
    spec = np.fft.fft(v, axis=-1)
    spec_q = (np.round(spec.real * 2**frac) + 1j * np.round(spec.imag * 2**frac)) / 2**frac
    xf = np.fft.fft(x, axis=-1)
    y_fft = np.fft.ifft(np.einsum("npk,pqk->nqk", xf, spec_q), axis=-1).real
    exact_check = np.allclose(np.fft.ifft(np.einsum("npk,pqk->nqk", xf, spec), axis=-1).real,
                              y, atol=1e-6)
    lsb = 2.0 ** -4                                                    # an 8-bit ap_fixed<8,4>
    differ = np.mean(np.round(y_fft / lsb) != np.round(y / lsb))
    return {"max_abs_error": float(np.abs(y_fft - y).max()), "outputs_off_by_an_lsb": float(differ),
            "fft_identity_checked": bool(exact_check)}


# the board-fitted streamed designs of the benchmark's two models (circulant_bench.py)
FITTED = {"digits": (dict(d_model=32, heads=4, ff_dim=64, layers=2, seq_len=8, classes=10), 8),
          "sst2": (dict(d_model=64, heads=4, ff_dim=128, layers=2, seq_len=48, classes=2,
                        vocab_size=8000), None)}
BLOCK_PAIR = {"direct": (16, 8, 8), "fft": (5, 10, 10)}   # b = 4: multiplies, operand bits


def fitted(name: str, block: int = 4) -> dict:
    """In the design the flow fits to the PYNQ-Z2 (io_stream, 8-bit weights, circulant
    ``block``, untrained: the estimate depends on the weights only through widths and zeros),
    the LUTs of the multipliers that multiply by weights (FFN and attention projections; the
    FFT form changes nothing else) against the whole design, and what the exact b = 4 FFT form
    would change: per block pair 5 multiplies of 10 x 10 bits (2 real bins, one complex bin by
    Gauss' 3) instead of 16 of 8 x 8 (both at the yosys LUT coefficient of a variable
    multiply, whatever the DSP binding), and per token a 4-point FFT of each input block (6
    adders of 10 bits) and an inverse FFT of each output block (8 adders as wide as the
    spectral sums), at 1 LUT a bit (the yosys figure of an add): either unrolled (every add of
    a token its own adder) or folded over the layer's reuse factor like its products (each
    shared adder then selects its operands, :func:`mux_lut`)."""
    import tensorflow as tf

    from qtransformer.boards import get_board
    from qtransformer.config import ModelConfig, QuantConfig
    from qtransformer.hls.flow import board_estimate
    from qtransformer.kinds.resources import mux_lut
    from qtransformer.model import build_model

    shape, features = FITTED[name]
    tf.keras.utils.set_random_seed(0)
    model = build_model(ModelConfig(**shape, circulant=block), QuantConfig(bits="8"), features)
    x = (np.random.default_rng(0).integers(0, 17, (64, shape["seq_len"], features)) / 16
         if features else np.random.default_rng(0).integers(0, 8000, (64, shape["seq_len"])))
    fit = board_estimate(model, get_board("pynq-z2"), x, "stream")
    d, ff = shape["d_model"], shape["ff_dim"]
    shapes = {}                     # weight layer -> its (n_in, n_out) matrices
    for k in range(shape["layers"]):
        shapes |= {f"block{k}_ffn1": [(d, ff)], f"block{k}_ffn2": [(ff, d)],
                   f"block{k}_attn": [(d, d)] * 4}
    per_bit2 = OPS["mult_var_lut_per_bit2"]
    weight_mults = unrolled = folded = 0
    for r in fit["layers"]:
        for n_in, n_out in shapes.get(r["name"], []):
            weight_mults += math.ceil(n_in * n_out / r["reuse"])
            spectral = 20 + math.ceil(math.log2(n_in // block))
            for count, width in ((n_in // block * 6, 10), (n_out // block * 8, spectral)):
                unrolled += count * width
                folded += math.ceil(count / r["reuse"]) * (width + mux_lut(width, r["reuse"]))
    n, a, b = BLOCK_PAIR["fft"]
    m, c, e = BLOCK_PAIR["direct"]
    lut_direct = round(weight_mults * per_bit2 * c * e)
    saving = lut_direct * (1 - n * a * b / (m * c * e))
    return {"model": name, "block": block, "fits": fit["fits"], "design_lut": fit["total"]["lut"],
            "cycles": fit["total"]["cycles"], "weight_multipliers": weight_mults,
            "weight_multiplier_lut": lut_direct, "fft_multiplier_saving_lut": round(saving),
            "fft_adders_lut_unrolled": unrolled, "fft_adders_lut_folded": folded,
            **{f"fft_net_pct_of_design_{k}": round(100 * (saving - a) / fit["total"]["lut"], 1)
               for k, a in (("unrolled", unrolled), ("folded", folded))}}


def main() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for weights in ("8-bit", "ternary"):
        tern = weights == "ternary"
        for b in (4, 8, 16):
            d = direct(b, 8, tern)
            for frac in (8, 12, 16):
                f = fft_counts(b, frac + 2)
                e = fft_error(b, frac, tern, rng)
                rows.append({"weights": weights, "block": b, "spectrum_frac_bits": frac,
                             "direct": d, "fft": f, "fft_error": e})
    designs = [fitted(name) for name in FITTED]
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "circulant_fft.json").write_text(json.dumps({"layer": [N_IN, N_OUT], "rows": rows,
                                                        "fitted": designs}, indent=2))
    lines = [f"# Circulant FFT form vs direct form ({N_IN}x{N_OUT} layer, 8-bit inputs; numpy "
             "and yosys per-operator coefficients, not synthesis)", "",
             "| weights | b | spectrum frac bits | direct mults | direct mult LUT | FFT mults | "
             "FFT mult LUT | stored (direct / FFT) | outputs off by >= 1 LSB | FFT identity |",
             "|---" * 10 + "|"]
    for r in rows:
        d, f, e = r["direct"], r["fft"], r["fft_error"]
        lines.append(f"| {r['weights']} | {r['block']} | {r['spectrum_frac_bits']} | "
                     f"{d['multiplies']:,} | {d['lut_multipliers']:,} | {f['multiplies']:,} | "
                     f"{f['lut_multipliers']:,} | {d['stored_values']:,} / {f['stored_values']:,}"
                     f" | {100 * e['outputs_off_by_an_lsb']:.2f}% | {e['fft_identity_checked']} |")
    lines += ["", "## In the designs that fit the PYNQ-Z2 (io_stream, 8-bit weights, b = 4; "
              "the estimate)", "",
              "| model | fits | design LUT | cycles | weight multipliers | their LUT | "
              "FFT form: multiplier LUT saved | FFT adders unrolled / folded | net, of the "
              "design: unrolled / folded |", "|---" * 9 + "|"]
    for r in designs:
        lines.append(f"| {r['model']} | {r['fits']} | {r['design_lut']:,} | {r['cycles']:,} | "
                     f"{r['weight_multipliers']:,} | {r['weight_multiplier_lut']:,} | "
                     f"{r['fft_multiplier_saving_lut']:,} | {r['fft_adders_lut_unrolled']:,} / "
                     f"{r['fft_adders_lut_folded']:,} | {r['fft_net_pct_of_design_unrolled']}% / "
                     f"{r['fft_net_pct_of_design_folded']}% |")
    (out / "circulant_fft.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
