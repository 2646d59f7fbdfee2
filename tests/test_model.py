import numpy as np
import pytest
import tensorflow as tf

from qtransformer.config import ModelConfig, QuantConfig
from qtransformer.evaluate import model_costs
from qtransformer.layers import pad_mask_of
from qtransformer.layers.intmath import RECIP_BITS, RECIP_FRAC, recip_table
from qtransformer.layers.softmax import exp_table, fixed_softmax
from qtransformer.model import build_model, load_model

TINY = dict(d_model=8, heads=2, ff_dim=16, layers=1, seq_len=4, classes=3)


def _x(n=5, seed=0):
    return np.random.default_rng(seed).integers(0, 17, (n, 4, 6)).astype("float32") / 16


@pytest.mark.parametrize("bits", ["float", "binary", "ternary", "4", "8", "po2-4",
                                  "binary-noscale", "stochastic-binary", "stochastic-ternary"])
def test_build_save_load_same_outputs(tmp_path, bits):
    tf.keras.utils.set_random_seed(0)
    m = build_model(ModelConfig(**TINY), QuantConfig(bits=bits), features=6)
    x = _x()
    m.save(tmp_path / "m.h5")
    back = load_model(tmp_path / "m.h5")
    np.testing.assert_array_equal(m.predict(x, verbose=0), back.predict(x, verbose=0))
    assert m.output_shape == (None, 3)


def test_token_model_and_cls_pooling():
    tf.keras.utils.set_random_seed(0)
    m = build_model(ModelConfig(**TINY, vocab_size=50, pooling="cls"), QuantConfig(), None)
    out = m.predict(np.array([[2, 7, 9, 3]], dtype="int32"), verbose=0)
    assert out.shape == (1, 3)


@pytest.mark.parametrize("ode", [None, 2])
def test_padding_is_masked(tmp_path, ode):
    """A token model masks [PAD] (attention keys, the mean): a text's logits do not depend on
    how much padding follows it (the same weights at 8 and at 5 tokens), also after an h5
    round trip (ODE); without the mask they do."""
    cfg = dict(TINY, seq_len=8, vocab_size=50, ode_steps=ode)

    def model(seq: int, mask: bool) -> tf.keras.Model:
        tf.keras.utils.set_random_seed(0)
        return build_model(ModelConfig(**{**cfg, "seq_len": seq}, mask_padding=mask),
                           QuantConfig(bits="8"), None)

    ids = np.array([[2, 7, 9, 3, 0, 0, 0, 0], [2, 5, 3, 0, 0, 0, 0, 0]], dtype="int32")
    for mask in (True, False) if ode is None else (True,):   # (the ODE case: the mask only)
        long, short = model(8, mask), model(5, mask)
        for layer in long.layers:   # the position table's first 5 rows, the rest as they are
            weights = layer.get_weights()
            if layer.name == "position":
                weights = [w[:5] for w in weights]
            short.get_layer(layer.name).set_weights(weights)
        same = np.allclose(long.predict(ids, verbose=0), short.predict(ids[:, :5], verbose=0),
                           atol=1e-6)
        assert same == mask
        kinds = {type(layer).__name__ for layer in long.layers}
        assert ({"PadMask", "MaskedMeanPooling"} <= kinds) == mask
        assert (pad_mask_of(long) is not None) == mask
    if ode is None:
        return
    long.save(tmp_path / "m.h5")
    back = load_model(tmp_path / "m.h5")
    np.testing.assert_array_equal(back.predict(ids, verbose=0), long.predict(ids, verbose=0))


def test_kept_mask_is_the_mask_of_the_rows_token_pruning_keeps():
    """KeptMask sees the mask only; the pruning layer ranks by received attention, padding
    last. For random scores and masks with [PAD] inside texts too, the mask gathered at the
    rows the layer keeps equals KeptMask's."""
    from qtransformer.layers import KeptMask
    from qtransformer.layers.attention import received_attention, select_tokens

    rng = np.random.default_rng(0)
    mask = (rng.random((400, 8)) < 0.6).astype("float32")
    mask[:, 0] = 1                                   # [CLS]
    mask[:100, 5:] = 0                               # short texts: padding kept at keep 5
    probs = rng.integers(0, 64, (400, 2, 8, 8)).astype("float32") / 64
    scores = received_attention(probs, mask)
    for keep in (1, 3, 5, 7):
        kept = select_tokens(mask[..., None], scores, keep)[..., 0].numpy()
        np.testing.assert_array_equal(KeptMask(keep)(mask).numpy(), kept)
    assert (KeptMask(5)(mask).numpy() == 0).any()    # some kept rows are padding


def test_blocks_after_token_pruning_still_skip_padding():
    """With token pruning, the later block and the mean read the kept rows' mask: the logits
    do not depend on how much padding follows a text."""
    cfg = dict(TINY, layers=2, vocab_size=50, token_keep=3, token_block=0)

    def model(seq: int) -> tf.keras.Model:
        tf.keras.utils.set_random_seed(0)
        return build_model(ModelConfig(**{**cfg, "seq_len": seq}), QuantConfig(bits="8"), None)

    long, short = model(8), model(5)
    for layer in long.layers:
        weights = layer.get_weights()
        short.get_layer(layer.name).set_weights([w[:5] for w in weights]
                                                if layer.name == "position" else weights)
    ids = np.array([[2, 7, 3, 0, 0, 0, 0, 0], [2, 5, 0, 0, 0, 0, 0, 0]], dtype="int32")
    np.testing.assert_allclose(long.predict(ids, verbose=0),
                               short.predict(ids[:, :5], verbose=0), atol=1e-6)
    assert long.get_layer("block0_kept_mask").output_shape == (None, 3)


def test_fixed_softmax_is_integer_exact_and_normalised():
    frac, prob_frac = 4, 8
    table = exp_table(10, frac, 0.5, 12)
    s = tf.constant(np.random.default_rng(1).integers(-512, 512, (3, 7)) / 2**frac, tf.float32)
    p = fixed_softmax(s, table, frac, prob_frac).numpy()
    raw = p * 2**prob_frac
    np.testing.assert_array_equal(raw, np.round(raw))       # on the 2**-8 grid
    assert (p.sum(-1) <= 1 + 1e-6).all() and (p.sum(-1) > 1 - 7 / 2**prob_frac).all()
    # The same integer recipe in NumPy gives the same numbers (this is what HLS computes):
    # one reciprocal per row from the ROM, indexed by the sum's leading 10 bits.
    s_raw = np.round(s.numpy() * 2**frac).astype(np.int64)
    e = table[np.minimum(s_raw.max(-1, keepdims=True) - s_raw, len(table) - 1)]
    total = e.sum(-1, keepdims=True)
    shift = np.array([[int(t).bit_length() - RECIP_BITS] for t in total[:, 0]])
    rec = recip_table()[(total >> shift) - 2 ** (RECIP_BITS - 1)]
    ref_raw = np.minimum((e * rec) >> (RECIP_FRAC + shift - prob_frac), 2**prob_frac)
    np.testing.assert_array_equal(raw, ref_raw)
    exact = e * 2**prob_frac // total                         # a divider's result
    assert np.abs(raw - exact).max() <= 1
    ref = tf.nn.softmax(s * 0.5).numpy()
    assert np.abs(p - ref).max() < 4 / 2**prob_frac
    # a row whose every key is masked: probabilities 0 (the ROM index stays in range)
    keep = tf.constant([[True] * 7, [False] * 7, [False] * 6 + [True]])
    p = fixed_softmax(s, table, frac, prob_frac, keep).numpy()
    assert (p[1] == 0).all() and (p[2, :6] == 0).all() and p[2, 6] > 0.99 and p[0].sum() > 0.9


def test_quantized_attention_trains():
    tf.keras.utils.set_random_seed(0)
    m = build_model(ModelConfig(**TINY), QuantConfig(bits="4"), features=6)
    attn = m.get_layer("block0_attn")
    x = tf.constant(_x(8))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(m(x) ** 2)
    grads = tape.gradient(loss, attn.trainable_weights)
    assert all(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)


def test_costs_follow_quantizers():
    tf.keras.utils.set_random_seed(0)
    cfg = ModelConfig(**TINY)
    f = model_costs(build_model(cfg, QuantConfig(bits="float"), features=6))
    q8 = model_costs(build_model(cfg, QuantConfig(bits="8"), features=6))
    b = model_costs(build_model(cfg, QuantConfig(bits="binary"), features=6))
    assert f["model_bits"] == 32 * f["params"]
    assert f["params"] == q8["params"] == b["params"]
    assert q8["model_bits"] == 8 * q8["params"]           # weights, biases and tables at 8 bits
    assert b["model_bits"] < q8["model_bits"] < f["model_bits"]
    assert f["macs"] == q8["macs"] > 0
    assert b["bops"] < q8["bops"] < f["bops"]
    attn = next(x for x in q8["layers"] if x["name"] == "block0_attn")
    # 4 projections of 4x8x8 plus QK^T and PV (2 heads x 4 x 4 x 4 each)
    assert attn["macs"] == 4 * 4 * 8 * 8 + 2 * (2 * 4 * 4 * 4)


def test_per_layer_overrides():
    q = QuantConfig(bits="8", overrides={"block*_attn": {"bits": "ternary"},
                                         "classifier": {"bits": "po2-4", "bias_bits": 6}})
    m = build_model(ModelConfig(**TINY), q, features=6)
    assert m.get_layer("block0_attn").kernel_quantizer.startswith("ternary")
    assert "quantized_bits(8" in str(m.get_layer("block0_ffn1").kernel_quantizer_internal)
    assert "quantized_po2(4" in str(m.get_layer("classifier").kernel_quantizer_internal)
    bits = {x["name"]: x["bits"] for x in model_costs(m)["layers"]}
    assert bits["block0_attn"] == 4 * 8 * 8 * 2 + 4 * 8 * 8
    assert bits["classifier"] == 8 * 3 * 4 + 3 * 6


@pytest.mark.parametrize("overrides,message", [
    ({"block*": {"bits": "33"}}, "invalid bits"), ({"x": {"colour": 1}}, "quant override"),
    ({"x": {"act_bits": 1}}, "act_bits")])
def test_bad_overrides(overrides, message):
    from qtransformer.errors import QTError

    with pytest.raises(QTError, match=message):
        QuantConfig(overrides=overrides).validate()


def test_stochastic_presets_sample_only_in_training():
    """QKeras picks its sampled branch from K.learning_phase(), which TF2 fit never sets;
    compile_model makes the train step sample while predict stays deterministic."""
    from qtransformer.train import compile_model

    x = _x(64)
    y = np.random.default_rng(0).integers(0, 3, 64)
    losses = {}
    for bits in ("ternary", "stochastic-ternary"):
        tf.keras.utils.set_random_seed(0)
        m = build_model(ModelConfig(**TINY, dropout=0.0), QuantConfig(bits=bits), features=6)
        compile_model(m, 1e-9)   # weights (almost) frozen: loss changes only by sampling
        h = m.fit(x, y, epochs=3, batch_size=64, verbose=0, validation_data=(x, y))
        losses[bits] = h.history
        np.testing.assert_array_equal(m.predict(x, verbose=0), m.predict(x, verbose=0))
    assert np.ptp(losses["ternary"]["loss"]) < 1e-5
    assert np.ptp(losses["stochastic-ternary"]["loss"]) > 1e-3
    assert np.ptp(losses["stochastic-ternary"]["val_loss"]) < 1e-5


def test_bias_and_ffn_act_presets():
    m = build_model(ModelConfig(**TINY), QuantConfig(bits="4", bias="po2", bias_bits=4,
                                                    ffn_act="hardtanh"), features=6)
    assert "quantized_tanh(8)" in str(m.get_layer("block0_ffn1_act").get_config())
    assert m.get_layer("block0_ffn1").get_config()["bias_quantizer"]["class_name"] == \
        "quantized_po2"
