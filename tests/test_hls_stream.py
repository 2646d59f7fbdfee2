"""The streamed (io_stream) form: bit-exact at every weight preset, token models with padding
and an odd sequence length, FIFO depths, the estimate's totals, what is refused."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from qtransformer.boards import get_board
from qtransformer.config import ModelConfig, QuantConfig
from qtransformer.errors import QTError
from qtransformer.hls.convert import convert_model, fifo_depth
from qtransformer.hls.coverify import coverify
from qtransformer.hls.estimate import estimate, totals
from qtransformer.hls.flow import board_estimate
from qtransformer.hls.precision import plan_model
from qtransformer.model import build_model
from tests.test_hls_convert import PART, TINY, _trained, _x

# One conversion covers the four weight presets: 8-bit by default, and per-layer overrides put
# ternary weights in the attention, 4-bit in the first FFN layer, binary in the second.
MIXED = {"block0_attn": {"bits": "ternary"}, "block0_ffn1": {"bits": "4"},
         "block0_ffn2": {"bits": "binary"}}


def test_streamed_conversion_is_bit_exact(tmp_path):
    x, overrides = _x(), MIXED
    m = _trained(ModelConfig(**TINY), "8", 6, x, overrides=dict(overrides))
    conv = convert_model(m, PART, 100.0, tmp_path / "prj", calibration_x=x, io_type="io_stream")
    top = (tmp_path / "prj" / "firmware" / "myproject.cpp").read_text()
    assert "qt_attention_stream" in top and "qt_layernorm_stream" in top
    levels = {"ternary": 3, "4": 16, "binary": 2}
    for name, change in overrides.items():   # each preset really is in the project
        consts = conv.plans[name].consts
        kernel = consts.get("kernel", consts.get("query_kernel"))
        assert max(len(np.unique(col)) for col in kernel.T) <= levels[change["bits"]]
    conv.hls_model.compile()
    r = coverify(m, conv, x)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0


@pytest.mark.parametrize("shape, reuse, multipliers", [
    ({}, {"block0_ffn1": 4, "block0_ffn2": 32, "block0_attn": 8, "block0_ln1": 2},
     (32, 4)),                                          # 8x16 / 4 and 16x8 / 32
    ({"d_model": 12, "ff_dim": 24}, {"block0_ffn1": 3, "block0_ffn2": 96, "block0_attn": 3},
     (96, 3)),                                          # 12x24 / 3 and 24x12 / (24 x 4)
])
def test_streamed_folded_layers_are_bit_exact(tmp_path, shape, reuse, multipliers):
    """Reuse factors above 1: our per-token Dense folded both ways (a divisor of n_in, and n_in
    times a divisor of n_out; powers of two and not), attention and LayerNorm folded; still
    bit-exact. A reuse the kernel cannot fold evenly is never offered."""
    from qtransformer.kinds.seqdense import seq_dense_reuse

    x = _x()
    m = _trained(ModelConfig(**{**TINY, **shape}), "8", 6, x)
    conv = convert_model(m, PART, 100.0, tmp_path / "prj", calibration_x=x, io_type="io_stream",
                         reuse=reuse)
    top = (tmp_path / "prj" / "firmware" / "myproject.cpp").read_text()
    assert top.count("qt_dense_stream") == 3   # patches and FFN; the classifier: hls4ml
    params = (tmp_path / "prj" / "firmware" / "parameters.h").read_text()
    assert all(f"multipliers = {n};" in params for n in multipliers)
    assert "relu = 1;" in params and "// block0_ffn1_act" not in top   # the ReLU is fused
    conv.hls_model.compile()
    r = coverify(m, conv, x)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0
    assert 5 not in seq_dense_reuse(12, 24) and seq_dense_reuse(12, 24)[-1] == 12 * 24


def test_streamed_token_model_with_padding_and_odd_length(tmp_path):
    """Token ids (the embedding on the host), 5 tokens, trailing [PAD] (id 0) in most rows."""
    rng = np.random.default_rng(0)
    ids = rng.integers(4, 30, (48, 5)).astype("int32")
    for row, n in zip(ids, rng.integers(2, 6, len(ids))):
        row[n:] = 0
    cfg = ModelConfig(**{**TINY, "seq_len": 5}, vocab_size=30, pooling="cls")
    m = _trained(cfg, "8", None, ids)
    conv = convert_model(m, PART, 100.0, tmp_path / "prj", io_type="io_stream")
    conv.hls_model.compile()
    r = coverify(m, conv, ids)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0


def test_fifo_depths_skip_paths_hold_the_sequence(tmp_path):
    x = _x()
    m = _trained(ModelConfig(**TINY), "8", 6, x)
    conv = convert_model(m, PART, 100.0, tmp_path / "prj", calibration_x=x, io_type="io_stream")
    depths = {}
    for layer in conv.hls_model.get_layers():
        for name in layer.outputs:
            var = layer.get_output_variable(name)
            depths[(layer.class_name, name)] = var.pragma[1]
    clone_depths = sorted(d for (cls, _), d in depths.items() if cls == "Clone")
    assert clone_depths == [2, 2, 4, 4]       # two residuals: the copy to the add holds 4 tokens
    assert all(d == 2 for (cls, name), d in depths.items()
               if cls != "Clone" and name not in conv.hls_model.outputs)
    assert fifo_depth("Clone", "Merge", 48) == 48 and fifo_depth("Dense", "Merge", 48) == 2


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_estimate_totals_are_the_sum_of_the_layers(io_type):
    tf.keras.utils.set_random_seed(0)
    m = build_model(ModelConfig(**TINY), QuantConfig(bits="8"), features=6)
    rows = estimate(plan_model(m, io_type=io_type), io_type)
    t = totals(rows, io_type)
    for key in ("lut", "ff", "dsp"):
        assert t[key] == sum(getattr(r, key) for r in rows) > 0
    assert t["bram36"] == int(np.ceil(sum(r.bram36 for r in rows)))
    if io_type == "io_parallel":
        assert t["cycles"] == sum(r.cycles for r in rows)
    else:   # the token pipeline: slowest layer between barriers, plus the barriers
        assert [r.name for r in rows if r.barrier] == ["block0_attn", "pool"]
        assert max(r.cycles for r in rows) <= t["cycles"] < sum(r.cycles for r in rows)


def test_auto_picks_the_form_that_fits_with_lower_latency():
    tf.keras.utils.set_random_seed(0)
    m = build_model(ModelConfig(**{**TINY, "seq_len": 48, "d_model": 64, "ff_dim": 128,
                                   "heads": 4, "layers": 2}, vocab_size=100),
                    QuantConfig(bits="ternary"))
    board = get_board("pynq-z2")
    fit = board_estimate(m, board, None, "auto")
    alt = fit["alternatives"]
    assert set(alt) == {"io_parallel", "io_stream"}
    assert alt["io_parallel"]["fits"] is False          # unrolled (48, 64) tensors
    assert fit["io_type"] == "io_stream" and fit["fits"] is True
    assert fit["total"] == alt["io_stream"]["total"]


def test_stream_chooser_folds_to_one_target_ii():
    """On a board too small for the unfolded design, every reusable layer takes the largest
    reuse factor not above one target II, the design fits within the 70% LUT/FF target, and a
    bigger board gets a smaller target (lower latency)."""
    from qtransformer.boards import Board
    from qtransformer.hls.estimate import TARGET, choose_reuse, fits
    from qtransformer.kinds import get_kind

    tf.keras.utils.set_random_seed(0)
    m = build_model(ModelConfig(**{**TINY, "d_model": 16, "ff_dim": 32, "seq_len": 8}),
                    QuantConfig(bits="8"), features=6)
    results = {}
    for lut in (12_000, 40_000):
        board = Board("small", PART, 100.0, lut=lut, ff=10**6, bram36=1000, dsp=1000)
        plans = plan_model(m, io_type="io_stream")
        fit = choose_reuse(plans, board, io_type="io_stream")
        assert fit["fits"] and fits(fit["total"], board, TARGET)
        reuse = fit["reuse"]
        target = max(reuse.values())
        for name, rf in reuse.items():   # the largest rung not above the target
            ladder = get_kind(plans[name].kind).reuse_ladder(plans[name])
            assert rf == max(r for r in ladder if r <= target)
        results[lut] = (target, fit["total"]["cycles"])
    assert results[40_000][0] < results[12_000][0] and results[40_000][1] < results[12_000][1]


def test_token_pruning_is_refused_streamed_with_one_line():
    tf.keras.utils.set_random_seed(0)
    cfg = ModelConfig(**{**TINY, "seq_len": 8}, token_keep=4, token_block=0)
    m = build_model(cfg, QuantConfig(bits="8"), features=6)
    with pytest.raises(QTError, match=r"^layer block0_attn: token pruning .* use --io parallel"):
        board_estimate(m, get_board("pynq-z2"), None, "stream")
    assert board_estimate(m, get_board("pynq-z2"), None, "auto")["io_type"] == "io_parallel"


@pytest.mark.parametrize("io_type", ["io_stream", "io_parallel"])
def test_vitis_backend_is_bit_exact(tmp_path, io_type):
    """The project a build generates where vitis_hls is the tool (``--backend auto``): hls4ml's
    Vitis backend, folded layers under the Resource strategy, still bit-exact in g++."""
    x = _x()
    m = _trained(ModelConfig(**TINY), "8", 6, x)
    reuse = {"block0_ffn1": 4, "block0_attn": 8} if io_type == "io_stream" else \
        {"block0_ffn1": 2, "block0_ffn2": 2}
    conv = convert_model(m, PART, 100.0, tmp_path / "prj", backend="Vitis",
                         calibration_x=x, io_type=io_type, reuse=reuse, strategy="Resource")
    assert "Backend: Vitis" in (tmp_path / "prj" / "hls4ml_config.yml").read_text()
    conv.hls_model.compile()
    r = coverify(m, conv, x)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0
