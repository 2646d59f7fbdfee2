"""QKeras transformer -> hls4ml: bit-exact co-verification, csim, Tcl, synth without tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from qtransformer.boards import get_board
from qtransformer.config import ModelConfig, QuantConfig
from qtransformer.hls.convert import convert_model
from qtransformer.hls.coverify import coverify, trace_compare, write_tb_data
from qtransformer.hls.estimate import choose_reuse, estimate, totals
from qtransformer.hls.precision import plan_model
from qtransformer.model import build_model
from qtransformer.train import compile_model

REPO = Path(__file__).resolve().parents[1]
VIVADO = REPO / "vivado"
PART = "xc7z020clg400-1"
TINY = dict(d_model=8, heads=2, ff_dim=16, layers=1, seq_len=4, classes=3)


def _x(n=48, seq=4, feat=6, seed=0):
    return np.random.default_rng(seed).integers(0, 17, (n, seq, feat)).astype("float32") / 16


def padded_ids(n=32, seq=4, vocab=30, seed=0) -> np.ndarray:
    """Token ids of varying length, [PAD] (0) after each; some [PAD]s inside a text too, as a
    literal "[PAD]" in a user's text tokenizes."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, (n, seq))
    for i, length in enumerate(rng.integers(1, seq + 1, n)):
        x[i, length:] = 0
    x[0, 1] = 0
    return x.astype("int32")


def _trained(cfg: ModelConfig, bits: str, features: int | None, x, epochs: int = 2, **quant):
    """A model with non-trivial weights (a few epochs on random labels, random LN params)."""
    tf.keras.utils.set_random_seed(0)
    m = build_model(cfg, QuantConfig(bits=bits, **quant), features=features)
    y = np.random.default_rng(1).integers(0, cfg.classes, len(x))
    compile_model(m, 1e-3)
    m.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    rng = np.random.default_rng(2)
    for layer in m.layers:
        if type(layer).__name__ == "QLayerNorm":
            layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape))
            layer.beta.assign(rng.uniform(-0.3, 0.3, layer.beta.shape))
    return m


@pytest.fixture(scope="module")
def conv8(tmp_path_factory):
    x = _x()
    m = _trained(ModelConfig(**TINY), "8", 6, x)
    out = tmp_path_factory.mktemp("hls8") / "prj"
    conv = convert_model(m, PART, 100.0, out, calibration_x=x, trace=True)
    conv.hls_model.compile()
    return m, conv, x


def test_attention_8bit_bit_exact(conv8):
    m, conv, x = conv8
    r = coverify(m, conv, x)
    assert r == {"argmax_agreement": 1.0, "max_abs_error": 0.0, "max_error_lsb": 0.0,
                 "n": len(x)}


@pytest.mark.slow
def test_trace_locates_no_mismatch(conv8):
    m, conv, x = conv8
    rows = trace_compare(m, conv, x[:8])
    names = [r["layer"] for r in rows]
    assert "block0_attn" in names and "block0_ln1" in names
    assert all(r["max_abs_error"] == 0.0 for r in rows)


def test_precision_table_has_every_layer(conv8):
    _, conv, _ = conv8
    table = conv.precision_table()
    by_name = {r["name"]: r for r in table}
    assert by_name["block0_attn"]["score"].startswith("ap_fixed<10,6")
    assert "AP_RND_CONV" in by_name["block0_ffn1_act"]["output"]
    assert all("reuse_factor" in r for r in table)


def test_linear_quantizer_fused_into_dense(conv8):
    """The FFN's output quantizer casts inside the Dense (folded over tokens), not in an
    unrolled hls4ml linear layer; test_attention_8bit_bit_exact covers the values."""
    _, conv, _ = conv8
    plans = conv.plans
    assert plans["block0_ffn2_act"].kind == "fused"
    assert plans["block0_ffn2"].params["fused"] == "block0_ffn2_act"
    assert plans["block0_ffn2"].out == plans["block0_ffn2_act"].out
    assert plans["block0_ffn2"].out.quantizing and "AP_RND_CONV" in plans["block0_ffn2"].out.hls()
    cpp = (conv.output_dir / "firmware" / "myproject.cpp").read_text()
    assert "// block0_ffn2_act" not in cpp and "// block0_ffn2\n" in cpp
    assert plans["block0_ffn1_act"].kind == "act"  # a ReLU stays an hls4ml layer


@pytest.mark.slow
@pytest.mark.parametrize("bits,quant", [
    ("binary", {}), ("ternary", {}), ("4", {}), ("po2-4", {}),
    ("binary-noscale", {"ffn_act": "hardtanh", "bias": "po2", "bias_bits": 5}),
    ("stochastic-ternary", {"act_bits": 4, "act_int": 2}),
    ("stochastic-binary", {"ffn_act": "hardtanh", "act_bits": 6}),
])
def test_presets_bit_exact(tmp_path, bits, quant):
    """Every weight preset, bias and FFN-activation preset converts bit for bit."""
    x = _x(32)
    m = _trained(ModelConfig(**TINY), bits, 6, x, **quant)
    conv = convert_model(m, PART, 100.0, tmp_path / "prj")
    conv.hls_model.compile()
    r = coverify(m, conv, x)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("extra", [dict(pooling="mean"), dict(pooling="cls"),
                                   dict(token_keep=3, layers=2)],
                         ids=["masked-mean", "cls", "token-pruning"])
def test_token_model_padding_masked_bit_exact(tmp_path, extra):
    """Padding masked in the IP (its second input): attention keys and the mean (with token
    pruning: [PAD] ranked last, and the kept rows' mask for the next block and the mean),
    bit-exact; the values of padded tokens never reach the output: garbage there gives the
    same logits."""
    from qtransformer.hls.convert import hls_inputs

    # and a row of padding only (no [CLS]: a host of the user's own may send one): every key
    # masked, probabilities 0, the mean of nothing 0, in Keras and in the IP
    x = np.vstack([padded_ids(seq=6), np.zeros((1, 6), "int32")])
    m = _trained(ModelConfig(**{**TINY, "seq_len": 6, **extra}, vocab_size=30), "6", None, x)
    conv = convert_model(m, PART, 100.0, tmp_path / "prj")
    top = (tmp_path / "prj" / "firmware" / "myproject.cpp").read_text()
    masked = {"pooling": 2 if extra.get("pooling") == "mean" else 1, "token_keep": 3}
    assert top.count("_masked<") == masked[next(iter(extra))]
    assert top.count("qt_kept_mask<") == ("token_keep" in extra)
    conv.hls_model.compile()
    r = coverify(m, conv, x)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0
    emb, mask = (a.reshape(len(x), -1) for a in hls_inputs(m, x))
    assert mask.tolist() == (x != 0).astype(int).tolist()
    pad = np.repeat(mask == 0, emb.shape[1] // mask.shape[1], axis=1)
    noise = np.random.default_rng(3).integers(-8, 8, emb.shape) / 16
    garbage = np.ascontiguousarray(np.where(pad, noise, emb), np.float32)
    predict = conv.hls_model.predict
    same = predict([garbage, np.ascontiguousarray(mask, np.float32)]) == \
        predict([np.ascontiguousarray(emb, np.float32), np.ascontiguousarray(mask, np.float32)])
    assert same[:-1].all()   # the padding-only row: CLS pooling reads its first row as it is
    if extra.get("pooling") == "mean" and shutil.which("g++"):
        _axi_wrapper_matches_keras(m, conv, x, tmp_path / "prj")


def _axi_wrapper_matches_keras(m, conv, x, prj: Path) -> None:
    """The io_parallel board wrapper with the mask's words first: its C testbench (compiled
    as ``make csim`` does) reproduces the Keras logits."""
    from qtransformer.hls.axi_wrapper import write_axi

    write_tb_data(m, x, prj)
    write_axi(conv.hls_model, prj)
    inc = [f"-I{d}" for d in (prj, prj / "firmware", prj / "axi", prj / "firmware" / "ap_types")]
    subprocess.run(["g++", "-O1", "-std=c++14", "-w", *inc, '-DWEIGHTS_DIR="firmware/weights"',
                    "firmware/myproject.cpp", "axi/myproject_axi.cpp", "axi/axi_test.cpp",
                    "-o", "axi_tb"], cwd=prj, check=True)
    run = subprocess.run(["./axi_tb"], cwd=prj, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
    got = np.loadtxt(prj / "tb_data" / "axi_csim_results.log", ndmin=2)
    assert np.array_equal(got, m.predict(x, verbose=0).astype(np.float64))


@pytest.mark.slow
def test_broken_precision_is_caught(tmp_path, conv8):
    m, _, x = conv8
    conv = convert_model(m, PART, 100.0, tmp_path / "prj",
                         overrides={"block0_ffn1": {"accum": "ap_fixed<6,2>",
                                                    "result": "ap_fixed<6,2>"}})
    conv.hls_model.compile()
    r = coverify(m, conv, x)
    assert r["max_error_lsb"] > 1


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_make_csim_matches_keras(conv8):
    m, conv, x = conv8
    write_tb_data(m, x[:10], conv.output_dir)
    run = subprocess.run(["make", "-s", "-C", str(VIVADO), "csim", f"PRJ={conv.output_dir}",
                          f"PYTHON={sys.executable}"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "csim OK" in run.stdout
    # a corrupted reference must fail
    ref = conv.output_dir / "tb_data" / "tb_output_predictions.dat"
    y = np.loadtxt(ref)
    y[0, 0] += 1.0
    np.savetxt(ref, y, fmt="%.17g")
    run = subprocess.run(["make", "-s", "-C", str(VIVADO), "csim", f"PRJ={conv.output_dir}",
                          f"PYTHON={sys.executable}"], capture_output=True, text=True)
    assert run.returncode != 0 and "MISMATCH" in run.stdout


@pytest.mark.skipif(shutil.which("tclsh") is None, reason="needs tclsh")
def test_tcl_scripts_parse():
    scripts = sorted((REPO / "qtransformer" / "vivado").glob("*.tcl"))
    assert {"hls_synth.tcl", "vivado_synth.tcl", "hls_csim.tcl"} <= {s.name for s in scripts}
    for script in scripts:
        run = subprocess.run(["tclsh", str(script.parent / "tcl_syntax.tcl"), str(script)],
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr


def test_make_synth_without_tools_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("VITIS_HLS", "VIVADO_HLS",
                                                            "VIVADO")}
    env["PATH"] = "/usr/bin:/bin"
    run = subprocess.run(["make", "-s", "-C", str(VIVADO), "synth", f"PRJ={tmp_path}"],
                         capture_output=True, text=True, env=env)
    lines = [ln for ln in (run.stdout + run.stderr).splitlines() if ln.strip()
             and not ln.startswith("make: Entering") and not ln.startswith("make: Leaving")]
    assert run.returncode != 0
    assert len(lines) == 1 and "vitis_hls" in lines[0] and "VITIS_HLS=" in lines[0]


def test_estimate_and_reuse_chooser_fit_pynq():
    m = build_model(ModelConfig(d_model=16, heads=2, ff_dim=32, layers=1, seq_len=8,
                                classes=10), QuantConfig(bits="8"), features=8)
    plans = plan_model(m)
    before = totals(estimate(plans))
    board = get_board("pynq-z2")
    r = choose_reuse(plans, board)
    assert r["fits"] and "estimate" in r["label"]
    assert r["total"]["dsp"] <= before["dsp"] and r["total"]["dsp"] <= 0.8 * board.dsp
    assert any(v > 1 for v in r["reuse"].values()) and r["strategy"] == "Resource"


def test_estimate_counts_unrolled_elementwise_layers():
    """io_parallel adds and activations are unrolled over every element (no reuse factor folds
    them); the mean pool is folded over tokens, so its cost barely grows with them."""
    def rows(seq):
        m = build_model(ModelConfig(d_model=16, heads=2, ff_dim=32, layers=1, seq_len=seq,
                                    classes=2), QuantConfig(bits="8"), features=8)
        plans = plan_model(m)
        choose_reuse(plans, get_board("pynq-z2"))
        return {r.name: r for r in estimate(plans)}
    short, long = rows(8), rows(32)
    elementwise = [n for n, r in short.items()  # on the sequence, i.e. before the pool
                   if r.kind in ("add", "act", "posembed") and not n.startswith("pool")]
    assert elementwise and all(short[n].lut > 0 for n in elementwise)
    assert all(long[n].lut == 4 * short[n].lut for n in elementwise)
    pool = next(n for n, r in short.items() if r.kind == "meanpool")
    assert long[pool].lut - short[pool].lut == 2 * 16  # two more sum bits per channel


def test_integer_layernorm_close_to_float():
    from qtransformer.layers.norm import QLayerNorm

    q = "quantized_bits(8,3,alpha=1)"
    fixed, flt = QLayerNorm(param_quantizer=q, output_quantizer=q), QLayerNorm()
    for scale in (0.05, 2.0, 7.0):   # the rsqrt ROM's index shift differs with the variance
        x = (np.random.default_rng(0).normal(0, scale, (4, 8, 16)) * 16).round() / 16
        y, yf = fixed(x.astype("float32")).numpy(), flt(x.astype("float32")).numpy()
        assert np.abs(y - yf).max() <= 1 / 16 + 1e-6      # within one output LSB
        assert np.all(y * 16 == np.round(y * 16))          # on the output grid
        rounded = np.clip(np.round(yf * 16), -128, 127) / 16
        assert np.mean(y != rounded) < 0.02                # mostly the float's own rounding


def test_token_pruning_bit_exact(tmp_path):
    """Top-k tokens by received attention: the selection varies per input, the C++ top-k
    picks the same rows bit for bit, and later layers are planned on the shorter sequence."""
    from qtransformer.layers.attention import received_attention

    x = _x(48, seq=8)
    cfg = ModelConfig(d_model=8, heads=2, ff_dim=16, layers=2, seq_len=8, classes=3,
                      token_keep=3)
    m = _trained(cfg, "8", 6, x)
    h = tf.keras.Model(m.input, m.get_layer("block0_ln1").output).predict(x, verbose=0)
    received = received_attention(m.get_layer("block0_attn").attention_probs(h)).numpy()
    chosen = {tuple(sorted(np.argsort(-r, kind="stable")[:3])) for r in received}
    assert len(chosen) > 3
    conv = convert_model(m, PART, 100.0, tmp_path / "prj")
    conv.hls_model.compile()
    r = coverify(m, conv, x)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0
    assert conv.plans["block0_attn"].params["keep"] == 3
    assert conv.plans["block1_attn"].params["seq_len"] == 3
