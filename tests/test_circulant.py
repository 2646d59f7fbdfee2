"""Block-circulant dense layer (the start of the circulant issue): equal to the dense layer of
its expanded matrix, float and quantized; still circulant after quantization; trained through
its defining vectors; config and h5 round trip; impossible block sizes refused in one line."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from qtransformer.errors import QTError
from qtransformer.layers import QCirculantDense, custom_objects
from qtransformer.layers.circulant import circulant_index

PRESETS = [None, "quantized_bits(8,0,alpha='auto_po2')", "ternary(alpha='auto_po2')",
           "binary(alpha='auto_po2')"]


def _layer(quantizer, block=4, n_in=8, units=12, seed=0):
    tf.keras.utils.set_random_seed(seed)
    layer = QCirculantDense(units, block, kernel_quantizer=quantizer,
                            bias_quantizer=None if quantizer is None else "quantized_bits(8,3)")
    layer.build((None, n_in))
    layer.bias.assign(np.random.default_rng(seed).uniform(-1, 1, units))
    return layer


def test_index_places_vector_entries_as_circulant_blocks():
    idx = circulant_index(4, 4, 2)   # 2x2 blocks of 2x2, vectors (2, 2, 2) flattened
    assert idx.tolist() == [[0, 1, 2, 3], [1, 0, 3, 2], [4, 5, 6, 7], [5, 4, 7, 6]]


@pytest.mark.parametrize("quantizer", PRESETS)
def test_equals_the_dense_layer_of_its_matrix(quantizer):
    layer = _layer(quantizer)
    w = layer.quantized_kernel().numpy()
    b = 4
    for p in range(8 // b):   # every block circulant: row i is row 0 rotated by i
        for q in range(12 // b):
            blk = w[p * b:(p + 1) * b, q * b:(q + 1) * b]
            for i in range(b):
                assert np.array_equal(blk[i], np.roll(blk[0], i))
    if quantizer and "ternary" in quantizer:
        assert max(len(np.unique(col)) for col in w.T) <= 3
    dense = tf.keras.layers.Dense(12)
    dense.build((None, 8))
    bias = layer.bias.numpy() if quantizer is None else layer._bq(layer.bias).numpy()
    dense.set_weights([w, bias])
    x = np.random.default_rng(1).normal(size=(5, 3, 8)).astype("float32")
    np.testing.assert_allclose(layer(x).numpy(), dense(x).numpy(), rtol=1e-6, atol=1e-6)


def test_gradients_reach_the_defining_vectors():
    layer = _layer("quantized_bits(8,0,alpha=1)")
    x = tf.constant(np.random.default_rng(2).normal(size=(4, 8)), tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    grad = tape.gradient(loss, layer.vectors)
    assert layer.trainable_weights[0] is layer.vectors and grad is not None
    assert grad.shape == (2, 3, 4) and float(tf.reduce_max(tf.abs(grad))) > 0
    assert layer.count_params() == 2 * 3 * 4 + 12   # b = 4 times fewer weights than 8 x 12


def test_config_and_h5_round_trip(tmp_path):
    inp = tf.keras.Input((3, 8))
    out = QCirculantDense(16, 8, kernel_quantizer=PRESETS[1], name="circ")(inp)
    model = tf.keras.Model(inp, out)
    path = tmp_path / "m.h5"
    model.save(path)
    again = tf.keras.models.load_model(path, custom_objects=custom_objects(), compile=False)
    x = np.random.default_rng(3).normal(size=(2, 3, 8)).astype("float32")
    assert np.array_equal(model(x).numpy(), again(x).numpy())
    assert again.get_layer("circ").get_config()["block"] == 8


@pytest.mark.parametrize("block,n_in,units,message", [
    (3, 8, 8, "not a power of two"), (128, 128, 128, "not a power of two"),
    (8, 12, 16, "does not divide its shape (12 x 16)"), (4, 8, 6, "(8 x 6)")])
def test_impossible_block_is_one_line_naming_the_layer(block, n_in, units, message):
    layer = QCirculantDense(units, block, name="block0_ffn1")
    with pytest.raises(QTError) as err:
        layer.build((None, n_in))
    assert str(err.value).startswith("block0_ffn1:") and message in str(err.value)


def test_stochastic_presets_refused():
    with pytest.raises(QTError, match="stochastic"):
        QCirculantDense(8, 4, kernel_quantizer="stochastic_ternary(alpha='auto_po2')")


# --- in a model: FFN in circulant form, costs, bit-exact HLS in both io types -------------

def test_diagonal_rows_store_each_block_once():
    """The streamed kernel's order: row t = p b + d holds v[p][q][d] for every q, and
    W[p b + (j - d) mod b][j] = v[p][j / b][d] for every output j (what the C++ reads)."""
    from qtransformer.kinds.circulant import diagonal_rows

    b, n_in, n_out = 4, 8, 12
    vec = np.arange(n_in * n_out // b) + 1.0
    w = vec[circulant_index(n_in, n_out, b)]
    rows = diagonal_rows(w, b)
    assert rows.shape == (n_in, n_out // b) and sorted(rows.ravel()) == sorted(vec)
    for t in range(n_in):
        p, d = divmod(t, b)
        for j in range(n_out):
            assert w[p * b + (j - d) % b, j] == rows[t, j // b]


@pytest.mark.parametrize("io_type,bits,block,keep", [("io_parallel", "8", 4, None),
                                                     ("io_parallel", "ternary", 2, 0.5)])
def test_circulant_model_converts_bit_exact(tmp_path, io_type, bits, block, keep):
    """Attention and FFN circulant in io_parallel: the attention stores the vectors (its
    index arithmetic picks w[(j - i) mod b]), the FFN is hls4ml's Dense on the expanded
    matrix. The second model is token-pruned (the pruned attention, circulant)."""
    from qtransformer.compress.token_prune import prune_tokens
    from qtransformer.config import ModelConfig, QuantConfig
    from qtransformer.evaluate.costs import model_costs
    from qtransformer.hls.convert import convert_model
    from qtransformer.hls.coverify import coverify
    from tests.test_hls_convert import PART, TINY, _trained, _x

    x = _x()
    cfg = ModelConfig(**TINY, circulant=block)
    m = _trained(cfg, bits, 6, x)
    if keep:
        m, pruned = prune_tokens(m, cfg, QuantConfig(bits=bits), keep, 0, 6)
        assert pruned.token_keep == 2 and m.get_layer("block0_attn").circulant == block
    ffn1 = m.get_layer("block0_ffn1")
    assert isinstance(ffn1, QCirculantDense) and ffn1.count_params() == 8 * 16 // block + 16
    costs = {r["name"]: r for r in model_costs(m, 5)["layers"]}
    assert costs["block0_ffn1"]["params"] == 8 * 16 // block + 16
    tokens = 2 if keep else 4
    assert costs["block0_ffn1"]["macs"] == tokens * 8 * 16      # the hardware's dense product
    conv = convert_model(m, PART, 100.0, tmp_path / "prj", calibration_x=x, io_type=io_type)
    attn = conv.plans["block0_attn"]
    assert attn.params["circ_block"] == block and attn.consts["query_kernel"].size == 64 // block
    conv.hls_model.compile()
    r = coverify(m, conv, x)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0


@pytest.mark.parametrize("bits, block, reuse", [
    # ffn1 8x16 at 2: 4 rows a cycle (more than b); ffn2 16x8 at 32: 2 output blocks of 4
    # outputs (more than b) per row; attention folded
    ("8", 2, {"block0_ffn1": 2, "block0_ffn2": 32, "block0_attn": 4}),
    # ffn1 at 8 = n_in: one row a cycle (fewer than b); ffn2 at 128: one output a cycle
    # (fewer than b)
    ("ternary", 4, {"block0_ffn1": 8, "block0_ffn2": 128}),
])
def test_streamed_circulant_kernel_is_bit_exact_folded(tmp_path, bits, block, reuse):
    """io_stream: the FFN runs the circulant fold of qt_dense_stream, its ROM the stored
    vectors only (n_in n_out / b values, M / b a word), at reuse factors on both sides of
    n_in and of the block; bit-exact."""
    from qtransformer.config import ModelConfig
    from qtransformer.hls.convert import convert_model
    from qtransformer.hls.coverify import coverify
    from tests.test_hls_convert import PART, TINY, _trained, _x

    x = _x()
    m = _trained(ModelConfig(**TINY, circulant=block), bits, 6, x)
    conv = convert_model(m, PART, 100.0, tmp_path / "prj", calibration_x=x, io_type="io_stream",
                         reuse=reuse)
    for name in ("block0_ffn1", "block0_ffn2"):
        plan = conv.plans[name]
        assert plan.kind == "seqcirc" and plan.consts["vectors"].size == 8 * 16 // block
    params = (tmp_path / "prj" / "firmware" / "parameters.h").read_text()
    assert f"circ_block = {block};" in params
    words = {8 * 16 // reuse[n] // block for n in ("block0_ffn1", "block0_ffn2")}
    assert all(f"rom_word = {max(1, n)};" in params for n in words)
    conv.hls_model.compile()
    r = coverify(m, conv, x)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0


def test_circulant_reuse_reads_one_rom_word_a_cycle():
    """Past n_in a cycle's outputs must be whole blocks or part of one: 12 x 24 at block 4
    cannot fold to 48 (6 outputs a cycle); the fit never offers it, a forced one is one line."""
    from qtransformer.fixed import Fx
    from qtransformer.kinds import get_kind
    from qtransformer.kinds.base import LayerPlan
    from qtransformer.kinds.circulant import circulant_reuse
    from qtransformer.kinds.seqdense import seq_dense_reuse

    assert 48 in seq_dense_reuse(12, 24) and 48 not in circulant_reuse(12, 24, 4)
    assert {12, 24, 36, 72} <= set(circulant_reuse(12, 24, 4))   # 24, 12, 8, 3 outputs
    w = np.zeros((12, 24))
    plan = LayerPlan("block0_ffn1", "seqcirc", ["x"], Fx(8, 1), {}, {"kernel": w},
                     {"circ_block": 4}, reuse=48)
    with pytest.raises(QTError, match=r"^layer block0_ffn1: reuse factor 48 splits a circulant"):
        get_kind("seqcirc").check_plan(plan, "io_stream")
    plan.reuse = 36
    assert get_kind("seqcirc").next_reuse(plan) == 72


def test_non_circulant_weights_are_refused_when_planned():
    from qtransformer.kinds.circulant import first_rows

    w = np.arange(16.0).reshape(4, 4)
    with pytest.raises(QTError, match="not block-circulant"):
        first_rows(w, 2, "block0_ffn1")


def test_circulant_estimate_stores_one_value_per_block_diagonal():
    """The streamed estimate: same multipliers as the dense fold, a ROM b times smaller."""
    from qtransformer.fixed import Fx
    from qtransformer.kinds import get_kind
    from qtransformer.kinds.base import LayerPlan
    from qtransformer.kinds.circulant import diagonal_rows

    rng = np.random.default_rng(0)
    n_in, n_out, b = 64, 128, 8
    w = (rng.integers(-127, 128, n_in * n_out // b) / 128)[circulant_index(n_in, n_out, b)]
    t8, acc = Fx(8, 1), Fx(24, 10)

    def plan(kind, extra):
        p = LayerPlan("ffn", kind, ["x"], t8, {"weight": t8, "bias": t8, "accum": acc,
                                               "kernel": t8, "vectors": t8},
                      {"kernel": w, "bias": np.zeros(n_out), **extra},
                      {"seq_len": 48, "n_in": n_in, "n_out": n_out, "relu": 1,
                       "circ_block": b}, reuse=256, elems=48 * n_out, shape=(48, n_out))
        return get_kind(kind).estimate(p, 8, "io_stream")

    dense = plan("seqdense", {})
    circ = plan("seqcirc", {"vectors": diagonal_rows(w, b)})
    assert circ.multipliers == dense.multipliers == n_in * n_out // 256
    # 64 kbit of dense weights: 4 RAMB36 (256-bit words); the vectors, 8 kbit: one
    assert (dense.bram36, circ.bram36) == (4.0, 1.0) and circ.lut == dense.lut


def test_impossible_circulant_block_for_the_model():
    from qtransformer.config import ModelConfig, QuantConfig
    from qtransformer.model import build_model

    with pytest.raises(QTError, match=r"does not divide its shape \(8 x 12\)"):
        build_model(ModelConfig(d_model=8, heads=2, ff_dim=12, layers=1, seq_len=4, classes=3,
                                circulant=8), QuantConfig(bits="8"), features=6)


# --- circulant attention projections, --circulant and its per-layer overrides ------------

def test_circulant_attention_equals_attention_with_the_expanded_kernels():
    from qtransformer.layers import QMultiHeadSelfAttention

    q = ("quantized_bits(8,0,alpha='auto_po2')", "quantized_bits(8,3)", "quantized_bits(8,3)",
         "quantized_bits(10,5)", 9)
    tf.keras.utils.set_random_seed(0)
    circ = QMultiHeadSelfAttention(8, 2, *q, circulant=4)
    dense = QMultiHeadSelfAttention(8, 2, *q)
    x = np.random.default_rng(4).normal(size=(3, 4, 8)).astype("float32")
    circ(x), dense(x)
    assert circ.count_params() == 4 * (8 * 8 // 4 + 8)
    w = circ.quantized_weights()
    for name in ("query", "key", "value", "output"):
        k = w[f"{name}_kernel"].numpy()
        assert np.array_equal(k[1], np.roll(k[0][:4], 1).tolist() + np.roll(k[0][4:], 1).tolist())
        dense.get_weights()   # same order: kernel, bias per projection
    dense.set_weights([w[f"{n}_{t}"].numpy() if t == "kernel" else getattr(circ, f"{n}_bias")
                       .numpy() for n in ("query", "key", "value", "output")
                       for t in ("kernel", "bias")])
    np.testing.assert_allclose(circ(x).numpy(), dense(x).numpy(), atol=1e-6)
    again = QMultiHeadSelfAttention.from_config(circ.get_config())
    assert again.circulant == 4


def test_circulant_flag_and_overrides_choose_layers():
    from qtransformer.config import ModelConfig, QuantConfig
    from qtransformer.evaluate.costs import model_costs
    from qtransformer.model import build_model

    cfg = ModelConfig(d_model=8, heads=2, ff_dim=16, layers=2, seq_len=4, classes=4,
                      circulant=4, circulant_overrides={"block1_*": 1, "classifier": 2})
    m = build_model(cfg, QuantConfig(bits="ternary"), features=6)
    assert m.get_layer("block0_attn").circulant == 4
    assert isinstance(m.get_layer("block0_ffn2"), QCirculantDense)
    assert m.get_layer("block1_attn").circulant == 1
    assert not isinstance(m.get_layer("block1_ffn1"), QCirculantDense)
    assert m.get_layer("classifier").block == 2
    assert not isinstance(m.get_layer("patch_proj"), QCirculantDense)
    costs = {r["name"]: r for r in model_costs(m, 5)["layers"]}
    assert costs["block0_attn"]["params"] == 4 * (8 * 8 // 4 + 8)
    assert costs["block0_attn"]["bits"] == 4 * (16 * 2 + 8 * 8)   # ternary vectors, 8-bit bias
    assert costs["block0_attn"]["dense_params"] == 4 * (8 * 8 + 8)
    assert costs["classifier"]["dense_params"] == 8 * 4 + 4 and costs["classifier"]["params"] == 20
    with pytest.raises(QTError, match=r"circulant_overrides 'classifier' 3"):
        ModelConfig(circulant_overrides={"classifier": 3}).validate()
    with pytest.raises(QTError, match=r"^classifier: circulant block 8 does not divide its "
                                      r"shape \(8 x 4\)"):
        build_model(ModelConfig(d_model=8, heads=2, ff_dim=16, layers=1, seq_len=4, classes=4,
                                circulant_overrides={"classifier": 8}), QuantConfig(), 6)


# --- layer drop keeps working on circulant models (token pruning: the conversion test above) --

def test_layer_drop_keeps_the_circulant_vectors():
    from qtransformer.compress.layer_drop import choose, drop_modules, importance
    from qtransformer.config import ModelConfig, QuantConfig
    from qtransformer.model import build_model

    tf.keras.utils.set_random_seed(0)
    cfg = ModelConfig(d_model=8, heads=2, ff_dim=16, layers=2, seq_len=4, classes=3,
                      circulant=4)
    quant = QuantConfig(bits="ternary")
    model = build_model(cfg, quant, features=6)
    x = np.random.default_rng(0).uniform(0, 1, (16, 4, 6)).astype("float32")
    attn, mlp = choose(importance(model, cfg, x), "joint", 1)
    smaller, _ = drop_modules(model, cfg, quant, attn, mlp, 6)
    kept = [layer for layer in smaller.layers if isinstance(layer, QCirculantDense)
            or getattr(layer, "circulant", 1) > 1]
    # two attentions and two FFNs of two layers each, less the module dropped
    assert len(attn) + len(mlp) == 1 and len(kept) == 6 - len(attn) - 2 * len(mlp)
    for layer in kept:
        assert all(np.array_equal(a, b) for a, b in
                   zip(layer.get_weights(), model.get_layer(layer.name).get_weights()))
    np.testing.assert_array_equal(smaller.predict(x, verbose=0).shape, (16, 3))
