"""Neural-ODE encoder (issue #19): the block equals the explicit Euler loop of its shared
block (float and quantized); config, h5 and step-count round trips; costs count the shared
weights once and the multiplies N times; bit-exact conversion in both io types with one block
instance in the project; pruning works on it; bad --ode-steps and refused combinations are
one line."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from qtransformer.build import main
from qtransformer.config import ModelConfig, QuantConfig
from qtransformer.errors import QTError
from qtransformer.evaluate.costs import model_costs
from qtransformer.layers.ode import H_FRAC, QODEBlock, with_steps
from qtransformer.model import build_model, load_model
from tests.test_hls_convert import PART, TINY, _x, padded_ids

QUANT = dict(kernel_quantizer="quantized_bits(8,0,alpha=1)",
             bias_quantizer="quantized_bits(8,3,alpha=1)",
             activation_quantizer="quantized_bits(8,3,alpha=1)",
             ffn_act_quantizer="quantized_relu(8,3)", norm_quantizer="quantized_bits(8,3,alpha=1)",
             score_quantizer="quantized_bits(10,5,alpha=1)", prob_bits=9,
             state_quantizer="quantized_bits(15,6,alpha=1)")


def _block(quantized: bool, steps: int = 3) -> QODEBlock:
    tf.keras.utils.set_random_seed(0)
    block = QODEBlock(8, 2, 16, steps, **(QUANT if quantized else {}), name="ode")
    block.build((None, 4, 8))
    return block


def _explicit_loop(block: QODEBlock, x: np.ndarray) -> np.ndarray:
    """The Euler loop written out with numpy around the block's own layers."""
    def q(v):
        if block.state_grid is None:
            return v
        frac, lo, hi = block.state_grid
        return np.clip(np.round(v * 2.0**frac), lo, hi) / 2.0**frac   # half to even

    h = 1.0 / block.steps if block.state_grid is None else \
        round(2**H_FRAC / block.steps) / 2**H_FRAC
    assert block.state_grid is None or (block.steps, h) != (3, 1 / 3) and h == 85 / 256
    state = q(x.astype(np.float64))
    for _ in range(block.steps):
        xs = state.astype(np.float32)
        a = block.attn(block.ln1(xs)).numpy()
        m = block.ffn2(block.ffn1_act(block.ffn1(block.ln2(xs + a))))
        m = (block.ffn2_act(m) if block.ffn2_act is not None else m).numpy()
        state = q(state + h * (a.astype(np.float64) + m))
    return state.astype(np.float32)


@pytest.mark.parametrize("quantized", [False, True])
def test_block_is_the_explicit_euler_loop_of_one_shared_block(quantized):
    block = _block(quantized)
    x = np.random.default_rng(0).uniform(-2, 2, (5, 4, 8)).astype("float32")
    x[0, 0, :2] = (80.0, -80.0)     # beyond the state's range (+-64): saturates
    if quantized:
        x = np.round(x * 16) / 16
    got = block(x).numpy()
    want = _explicit_loop(block, x)
    if quantized:   # on the state grid, and exactly the loop's
        frac = block.state_grid[0]
        assert np.array_equal(got * 2**frac, np.round(got * 2**frac))
        assert np.array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert len(block.trainable_weights) == 16   # one block's weights, whatever the steps
    if quantized:
        assert got[0, 0].max() <= 64 - 2**-8 and got[0, 0].min() >= -64


def test_one_step_is_the_stacked_block():
    """N = 1 (h = 1) with a state type wide enough is exactly the stacked pre-LN block with
    the same weights: what is iterated is the model's own block."""
    x = _x(n=8)
    tf.keras.utils.set_random_seed(0)
    ode = build_model(ModelConfig(**TINY, ode_steps=1, dropout=0.0), QuantConfig(), features=6)
    stacked = build_model(ModelConfig(**TINY, dropout=0.0), QuantConfig(), features=6)
    ode(x), stacked(x)
    for layer in ode.layers:
        if layer.name == "block0_ode":
            for role, sub in layer.sublayers.items():
                if sub.weights:
                    stacked.get_layer(f"block0_{role}").set_weights(sub.get_weights())
        elif layer.weights:
            stacked.get_layer(layer.name).set_weights(layer.get_weights())
    assert np.array_equal(ode(x).numpy(), stacked(x).numpy())


def test_config_h5_and_step_count_round_trip(tmp_path):
    cfg = ModelConfig(**TINY, ode_steps=3)
    tf.keras.utils.set_random_seed(0)
    model = build_model(cfg, QuantConfig(), features=6)
    x = _x(n=8)
    path = tmp_path / "m.h5"
    model.save(path)
    again = load_model(path)
    assert np.array_equal(model(x).numpy(), again(x).numpy())
    assert again.get_layer("block0_ode").get_config()["steps"] == 3
    two = with_steps(model, 2)
    assert two.get_layer("block0_ode").steps == 2
    assert two.count_params() == model.count_params()
    assert not np.array_equal(two(x).numpy(), model(x).numpy())


def test_costs_count_shared_weights_once_and_macs_n_times():
    x = _x(n=8)
    tf.keras.utils.set_random_seed(0)
    ode = build_model(ModelConfig(**TINY, ode_steps=3), QuantConfig(), features=6)
    stacked = build_model(ModelConfig(**TINY), QuantConfig(), features=6)
    ode(x), stacked(x)
    shared = ode.get_layer("block0_ode")
    for role, layer in shared.sublayers.items():   # the same weights: the same zeros
        if layer.weights:
            stacked.get_layer(f"block0_{role}").set_weights(layer.get_weights())
    c_ode = {r["name"]: r for r in model_costs(ode, 5)["layers"]}
    c_one = {r["name"]: r for r in model_costs(stacked, 5)["layers"]}
    block = [r for n, r in c_one.items() if n.startswith("block0")]
    assert c_ode["block0_ode"]["params"] == sum(r["params"] for r in block) == 600
    assert c_ode["block0_ode"]["bits"] == sum(r["bits"] for r in block)
    assert c_ode["block0_ode"]["macs"] == 3 * sum(r["macs"] for r in block)
    assert c_ode["block0_ode"]["bops"] == 3 * sum(r["bops"] for r in block)


def _random(cfg: ModelConfig, bits: str = "8") -> tf.keras.Model:
    """A model with random weights and LayerNorm parameters (no training: the conversion is
    what is tested)."""
    tf.keras.utils.set_random_seed(0)
    m = build_model(cfg, QuantConfig(bits=bits), features=6)
    rng = np.random.default_rng(2)
    m.set_weights([w + rng.uniform(-0.3, 0.3, w.shape).astype("float32")
                   for w in m.get_weights()])
    return m


@pytest.mark.parametrize("io_type,bits,tokens", [("io_parallel", "ternary", False),
                                                 ("io_stream", "8", True)])
def test_ode_model_converts_bit_exact_as_one_block(tmp_path, io_type, bits, tokens):
    """One ``qt_ode`` call, its weights defined once, ``steps = 3`` in its config, under a
    DATAFLOW top; bit-exact (ternary weights on patches in one; 8-bit on padded text, the
    padding masked in every step and in the mean, in the other)."""
    from qtransformer.hls.convert import convert_model
    from qtransformer.hls.coverify import coverify
    from qtransformer.hls.estimate import is_dataflow

    x = padded_ids() if tokens else _x()
    m = _random(ModelConfig(**TINY, ode_steps=3, vocab_size=30 if tokens else None), bits)
    conv = convert_model(m, PART, 100.0, tmp_path / "prj", calibration_x=x, io_type=io_type)
    fw = tmp_path / "prj" / "firmware"
    top = (fw / "myproject.cpp").read_text()
    assert top.count("nnet::qt_ode") == 1 and "#pragma HLS DATAFLOW" in top
    assert top.count("_masked<") == (2 if tokens else 0)   # the ODE block and the mean
    assert "static const unsigned steps = 3;" in (fw / "parameters.h").read_text()
    headers = [p.name for p in (fw / "weights").glob("*.h")]
    assert sum(h.startswith("ffn1_kernel") for h in headers) == 1   # stored once
    conv.hls_model.compile()
    r = coverify(m, conv, x)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0
    assert is_dataflow(conv.plans)    # the estimate knows: the loop is not under a PIPELINE


def test_estimate_is_one_block_and_n_blocks_latency():
    """At the same reuse factor the ODE block costs about the stacked block's resources, the
    same at N = 1 and N = 4 (one instance), and N times one step's cycles; both io types."""
    from qtransformer.hls.estimate import estimate
    from qtransformer.hls.precision import input_fx, plan_model

    x = _x()
    models = {}
    for steps in (1, 4, None):
        tf.keras.utils.set_random_seed(0)
        models[steps] = build_model(ModelConfig(**TINY, ode_steps=steps), QuantConfig(),
                                    features=6)
    for io_type in ("io_parallel", "io_stream"):
        rows = {}
        for steps, m in models.items():
            plans = plan_model(m, input_fx(x), io_type=io_type)
            for p in plans.values():
                p.reuse = 4 if p.name.startswith("block") else p.reuse
            rows[steps] = [r for r in estimate(plans, io_type) if r.name.startswith("block")]
        (one,), (four,), stacked = rows[1], rows[4], rows[None]
        lut = sum(r.lut for r in stacked)
        assert four.kind == "ode" and 0.5 * lut < four.lut < 1.5 * lut
        assert (four.lut, four.ff, four.dsp, four.bram36) == \
            (one.lut, one.ff, one.dsp, one.bram36)
        io = 2 * TINY["seq_len"]        # the sequence's way in and out, once
        assert four.cycles - io == 4 * (one.cycles - io)


def test_pruning_an_ode_block():
    """Magnitude pruning wraps the ODE block (its attention and FFN kernels) and reaches the
    target; the stripped model is an ODE model again."""
    from qtransformer.compress.prune import sparsity_report, strip, wrap_for_pruning
    from qtransformer.config import PruneConfig
    from qtransformer.train import compile_model

    x = _x()
    tf.keras.utils.set_random_seed(0)
    m = build_model(ModelConfig(**TINY, ode_steps=2), QuantConfig(), features=6)
    cfg = PruneConfig(method="magnitude", sparsity=0.5, epochs=1)
    wrapped = wrap_for_pruning(m, cfg, 6)
    compile_model(wrapped, 1e-3)
    import tensorflow_model_optimization as tfmot

    y = np.random.default_rng(1).integers(0, 3, len(x))
    wrapped.fit(x, y, epochs=1, batch_size=8, verbose=0,
                callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    pruned = strip(wrapped)
    assert isinstance(pruned.get_layer("block0_ode"), QODEBlock)
    report = sparsity_report(pruned)
    assert report["per_layer"]["block0_ode"] >= 0.45


@pytest.mark.parametrize("flags,message", [
    (["--ode-steps", "0"], "invalid --ode-steps 0: expected an integer in 1..64"),
    (["--ode-steps", "-2"], "invalid --ode-steps -2"),
    (["--ode-steps", "1000"], "invalid --ode-steps 1000"),
    (["--ode-steps", "2", "--prune", "layer-drop"], "not offered on an ODE encoder"),
    (["--ode-steps", "2", "--prune", "token"], "not offered on an ODE encoder"),
    (["--ode-steps", "2", "--circulant", "2"], "--ode-steps with --circulant"),
])
def test_bad_ode_steps_is_one_line(tmp_path, capsys, flags, message):
    from tests.conftest import TINY_FLAGS

    assert main(["--output", str(tmp_path / "o"), *TINY_FLAGS, *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "o").exists()


def test_float_ode_is_refused_by_hls_in_one_line():
    from qtransformer.hls.precision import plan_model

    tf.keras.utils.set_random_seed(0)
    m = build_model(ModelConfig(**TINY, ode_steps=2), QuantConfig(bits="float"), features=6)
    with pytest.raises(QTError, match="block0_ode: HLS needs a quantized ODE block"):
        plan_model(m)
