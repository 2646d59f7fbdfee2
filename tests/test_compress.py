"""Pruning and layer drop on a tiny model (hardware effect: effective MACs must fall)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from qtransformer.boards import get_board
from qtransformer.compress.layer_drop import choose, drop_modules, importance
from qtransformer.compress.prune import prune_and_finetune, sparsity_report
from qtransformer.config import DataConfig, ModelConfig, PruneConfig, QuantConfig, TrainConfig
from qtransformer.data import load_dataset
from qtransformer.errors import QTError
from qtransformer.evaluate import model_costs
from qtransformer.hls.flow import board_estimate
from qtransformer.model import build_model

CFG = dict(d_model=16, heads=2, ff_dim=32, seq_len=8, classes=10)


@pytest.fixture(scope="module")
def digits():
    d = load_dataset(DataConfig(max_examples=256), seed=0)
    d.x_test, d.y_test = d.x_test[:64], d.y_test[:64]
    return d


@pytest.mark.parametrize("method,block", [("magnitude", [1, 1]), ("block", [4, 4])])
def test_pruning_reaches_sparsity_and_cuts_macs(digits, method, block):
    tf.keras.utils.set_random_seed(0)
    model = build_model(ModelConfig(**CFG, layers=1), QuantConfig(bits="8"), features=8)
    cfg = PruneConfig(method=method, sparsity=0.75, block=block, epochs=2)
    pruned, rep = prune_and_finetune(model, digits, cfg, TrainConfig(batch_size=64),
                                     printer=lambda *a, **k: None)
    attn = pruned.get_layer("block0_attn").query_kernel.numpy()
    assert abs((attn == 0).mean() - 0.75) < 0.02
    if method == "block":  # zeros come in whole 4x4 blocks
        tiles = (attn == 0).reshape(4, 4, 4, 4).transpose(0, 2, 1, 3).reshape(16, 16)
        assert set(tiles.mean(axis=1)) <= {0.0, 1.0}
    assert rep["per_layer"]["block0_ffn1"] > 0.7 and rep["per_layer"]["classifier"] == 0.0
    before, after = model_costs(model), model_costs(pruned)
    assert after["macs"] == before["macs"]
    assert after["effective_macs"] < 0.5 * before["effective_macs"]
    assert sparsity_report(pruned)["sparsity"] == rep["sparsity"]
    # zero weights get no multiplier: the fully parallel LUT/DSP estimate falls, and the
    # board-fitted design needs less folding (fewer cycles)
    hw = {k: board_estimate(m, get_board("pynq-z2"), digits.x_train[:64])
          for k, m in (("before", model), ("after", pruned))}
    lut = [hw[k]["parallel"]["lut"] + 100 * hw[k]["parallel"]["dsp"] for k in hw]
    assert lut[1] < 0.75 * lut[0]
    assert hw["after"]["total"]["cycles"] <= hw["before"]["total"]["cycles"]


def test_layer_drop_scores_and_removes_modules(digits):
    tf.keras.utils.set_random_seed(0)
    cfg = ModelConfig(**CFG, layers=3)
    model = build_model(cfg, QuantConfig(bits="8"), features=8)
    scores = importance(model, cfg, digits.x_train[:64])
    assert set(scores["attention"]) == set(scores["mlp"]) == {0, 1, 2}
    # 1 - cos: 0 for a module that changes nothing, up to 2; a random module changes its input
    assert all(0 < s < 2 for m in scores.values() for s in m.values())
    attn, mlp = choose(scores, "joint", 2)
    assert len(attn) + len(mlp) == 2
    lowest = sorted((s, m, i) for m in ("attention", "mlp") for i, s in scores[m].items())[:2]
    assert {(m, i) for _, m, i in lowest} == {("attention", i) for i in attn} | \
        {("mlp", i) for i in mlp}
    smaller, new_cfg = drop_modules(model, cfg, QuantConfig(bits="8"), attn, mlp, 8)
    names = {layer.name for layer in smaller.layers}
    assert all(f"block{i}_attn" not in names for i in attn)
    assert all(f"block{i}_ffn1" not in names for i in mlp)
    assert model_costs(smaller)["macs"] < model_costs(model)["macs"]
    kept = next(n for n in names if n.endswith("_ffn1"))
    np.testing.assert_array_equal(smaller.get_layer(kept).get_weights()[0],
                                  model.get_layer(kept).get_weights()[0])
    a, m = choose(scores, "block", 1)
    assert a == m and len(a) == 1
    with pytest.raises(QTError, match="cannot drop"):
        choose(scores, "attention", 4)


def test_layer_drop_scores_only_tokens_when_padding_is_masked():
    """A masked text model's module scores come from its tokens' rows, not [PAD]'s (which
    never reach the output)."""
    from qtransformer.compress.layer_drop import cosine_importance

    tf.keras.utils.set_random_seed(0)
    cfg = ModelConfig(d_model=8, heads=2, ff_dim=16, layers=1, seq_len=6, classes=3,
                      vocab_size=30)
    m = build_model(cfg, QuantConfig(bits="8"), None)
    x = np.random.default_rng(0).integers(1, 30, (16, 6)).astype("int32")
    x[:, 3:] = 0
    probe = tf.keras.Model(m.inputs, [m.get_layer("block0_ln1").input,
                                      m.get_layer("block0_attn_add").output])
    a, b = probe.predict(x, verbose=0)
    got = importance(m, cfg, x)["attention"][0]
    assert got == pytest.approx(cosine_importance(a[:, :3], b[:, :3]))
    assert got != pytest.approx(cosine_importance(a, b))


def test_unknown_pruning_method_is_refused_by_the_registry():
    from qtransformer.compress.methods import check_config
    from qtransformer.config import BuildConfig

    with pytest.raises(QTError, match="unknown pruning method 'random'; known: magnitude, block"):
        check_config(BuildConfig(prune=PruneConfig(method="random")))


@pytest.mark.parametrize("kwargs,message", [
    (dict(sparsity=1.0), "invalid sparsity"),
    (dict(block=[0, 4]), "invalid block"), (dict(drop="heads"), "layer-drop mode"),
])
def test_prune_config_errors(kwargs, message):
    with pytest.raises(QTError, match=message):
        PruneConfig(**kwargs).validate()


def test_cli_prune_reports_sparsity(tmp_path, capsys):
    import json

    from qtransformer.build import main
    from tests.conftest import TINY_FLAGS

    out = tmp_path / "p"
    # the pruned model goes through HLS; not --quiet: the epochs of both fits print (with
    # --quiet neither does: tests/test_sweep.py)
    flags = [f for f in TINY_FLAGS if f not in ("--no-hls", "--quiet")]
    assert main(["--prune", "block", "--block", "1x4", "--sparsity", "0.5", "--prune-epochs",
                 "1", "--max-examples", "256", "--output", str(out), *flags]) == 0
    assert capsys.readouterr().out.count("  epoch ") == 2 + 1   # training, then pruning
    r = json.loads((out / "report.json").read_text())
    assert 0.3 < r["sparsity"] < 0.6
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0
    c = r["compression"]
    assert c["method"] == "block" and c["effective_macs_after"] < c["effective_macs_before"]
    hw = c["hardware_estimate"]
    assert hw["after"]["parallel"]["lut"] < hw["before"]["parallel"]["lut"]
    assert "latency, cycles" in (out / "report.md").read_text()
    assert "## Compression: block" in (out / "report.md").read_text()


def test_cli_token_pruning(tmp_path):
    import json

    from qtransformer.build import main
    from tests.conftest import TINY_FLAGS

    out = tmp_path / "t"
    assert main(["--prune", "token", "--keep-tokens", "0.5", "--prune-epochs", "1",
                 "--max-examples", "256", "--output", str(out), *TINY_FLAGS]) == 0
    r = json.loads((out / "report.json").read_text())
    c = r["compression"]
    assert c["tokens_before"] == 8 and c["tokens_kept"] == 4
    assert c["effective_macs_after"] < 0.85 * c["effective_macs_before"]  # FFN on 4 tokens
    assert c["hardware_estimate"]["after"]["parallel"]["lut"] < \
        c["hardware_estimate"]["before"]["parallel"]["lut"]


@pytest.mark.parametrize("flags,message", [
    (["--keep-tokens", "8"], "cannot keep 8 of 8 tokens"),
    (["--pooling", "cls"], "token pruning needs mean pooling"),
    (["--token-block", "5"], "invalid token_block 5"),
    (["--io", "stream"], "--prune token has no streamed HLS form yet"),
])
def test_cli_token_pruning_bad_input(tmp_path, capsys, flags, message):
    from qtransformer.build import main
    from tests.conftest import TINY_FLAGS

    out = tmp_path / "t"
    assert main(["--prune", "token", *flags, "--output", str(out), *TINY_FLAGS]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_cli_prune_binary_refused(tmp_path, capsys):
    from qtransformer.build import main

    assert main(["--bits", "binary", "--prune", "magnitude", "--output", str(tmp_path / "b")]) == 2
    assert "binary has none" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_cli_bad_block(tmp_path, capsys):
    from qtransformer.build import main

    assert main(["--prune", "block", "--block", "4by4", "--output", str(tmp_path / "o")]) == 2
    assert "invalid --block" in capsys.readouterr().err
