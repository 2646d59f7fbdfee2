"""BERT import on a tiny randomly initialised checkpoint written here (no download)."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest

from qtransformer.bert import import_bert, read_checkpoint
from qtransformer.bert.__main__ import main as bert_main
from qtransformer.bert.verify import verify
from qtransformer.errors import QTError

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_import_matches_transformers(tiny_bert):
    r = verify(tiny_bert, seq_len=16)
    assert r["max_abs_diff"] <= 1e-4 and r["tokens"] > 20


def test_verify_cli_last_line_is_max_diff(tiny_bert, capsys):
    assert bert_main(["verify", str(tiny_bert), "--seq-len", "16"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("max abs diff") and float(last.split()[-1]) <= 1e-4


def test_pytorch_bin_and_tf_h5_give_same_weights(tiny_bert, tmp_path):
    ref = read_checkpoint(tiny_bert).weights
    pt = _copy(tiny_bert, tmp_path / "pt")
    (pt / "model.safetensors").unlink()
    torch.save({k: torch.from_numpy(v) for k, v in ref.items()}, pt / "pytorch_model.bin")
    got = read_checkpoint(pt).weights
    assert set(got) == set(ref) and all(np.array_equal(got[k], ref[k]) for k in ref)
    # tf_model.h5 in the TFBertModel layout: kernels (in, out), gamma/beta, layer_._i.
    tf_dir = _copy(tiny_bert, tmp_path / "tf")
    (tf_dir / "model.safetensors").unlink()
    with h5py.File(tf_dir / "tf_model.h5", "w") as f:
        for k, v in ref.items():
            name = k.replace(".", "/").replace("encoder/layer/", "encoder/layer_._")
            name = name.replace("LayerNorm/weight", "LayerNorm/gamma")
            name = name.replace("LayerNorm/bias", "LayerNorm/beta")
            if "embeddings/" in name and name.endswith("_embeddings/weight"):
                name = name[: -len("weight")] + ("weight" if "word" in name else "embeddings")
            elif name.endswith("/weight"):
                name, v = name[: -len("weight")] + "kernel", v.T
            f.create_dataset(f"tf_bert_model/bert/{name}:0", data=v)
    got = read_checkpoint(tf_dir).weights
    for k in ref:
        if k != "embeddings.position_ids":
            np.testing.assert_array_equal(got[k], ref[k])


def test_quantizable_after_import(tiny_bert):
    from qtransformer.config import QuantConfig

    model, _ = import_bert(tiny_bert, seq_len=8, classes=2, quant=QuantConfig(bits="8"))
    out = model.predict(np.array([[2, 5, 6, 3, 0, 0, 0, 0]], dtype="int32"), verbose=0)
    assert out.shape == (1, 2) and np.isfinite(out).all()


@pytest.mark.parametrize("mutate,message", [
    (lambda d: (d / "config.json").unlink(), "no config.json"),
    (lambda d: (d / "config.json").write_text("{not json"), "corrupt JSON"),
    (lambda d: _edit(d, model_type="gpt2"), "field model_type"),
    (lambda d: _edit(d, hidden_act="swish"), "field hidden_act"),
    (lambda d: _edit(d, position_embedding_type="relative_key"), "position_embedding_type"),
    (lambda d: _edit(d, drop="hidden_size"), "missing field hidden_size"),
    (lambda d: (d / "model.safetensors").unlink(), "no weights file"),
    (lambda d: (d / "model.safetensors").write_bytes(b"\x00garbage" * 10), "corrupt safetensors"),
    (lambda d: (d / "vocab.txt").unlink(), "no vocab.txt"),
    (lambda d: _edit(d, num_hidden_layers=3), "missing tensor"),
])
def test_bad_checkpoints(tiny_bert, tmp_path, mutate, message):
    d = _copy(tiny_bert, tmp_path / "ckpt")
    mutate(d)
    with pytest.raises(QTError, match=message):
        import_bert(d, seq_len=8)


def _edit(d, drop=None, **changes):
    path = d / "config.json"
    cfg = json.loads(path.read_text())
    cfg.update(changes)
    cfg.pop(drop, None)
    path.write_text(json.dumps(cfg))


def test_missing_directory_cli(tmp_path, capsys):
    assert bert_main(["verify", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "not found" in err and len(err.splitlines()) == 1


def test_finetune_then_distil(tiny_bert, tmp_path, text_file):
    from qtransformer.build import main as build_main

    teacher = tmp_path / "teacher"
    assert bert_main(["finetune", str(tiny_bert), "--dataset", str(text_file), "--seq-len", "8",
                      "--epochs", "1", "--output", str(teacher)]) == 0
    report = json.loads((teacher / "report.json").read_text())
    assert set(report["activation_substitution"]) == {"gelu_pwl", "relu"}
    assert set(report["operator_substitution"]) == {"softmax", "layernorm"}
    assert {"model.h5", "vocab.txt", "teacher.json"} <= {p.name for p in teacher.iterdir()}
    out = tmp_path / "student"
    assert build_main(["--dataset", str(text_file), "--teacher", str(teacher), "--bits",
                       "ternary", "--seq-len", "8", "--vocab-size", "60", "--d-model", "8",
                       "--heads", "2", "--ff-dim", "16", "--layers", "1", "--epochs", "1",
                       "--output", str(out), "--quiet"]) == 0
    assert json.loads((out / "report.json").read_text())["config"]["teacher"] == str(teacher)


def test_teacher_must_be_a_teacher_dir(tmp_path, text_file, capsys):
    from qtransformer.build import main as build_main

    assert build_main(["--dataset", str(text_file), "--teacher", str(tmp_path), "--output",
                       str(tmp_path / "o"), "--quiet", "--epochs", "1"]) == 2
    assert "not a fine-tuned teacher" in capsys.readouterr().err


def test_finetune_drop_layers_and_qat(tiny_bert, tmp_path, text_file, capsys):
    """Block drop on the imported encoder (1 - cos importance), then quantized fine-tuning."""
    import numpy as np

    from qtransformer.bert.checkpoint import read_checkpoint
    from qtransformer.bert.finetune import drop_layers

    ckpt = read_checkpoint(tiny_bert)
    n = ckpt.spec.num_hidden_layers
    spec, weights, dropped = drop_layers(ckpt.spec, ckpt.weights, {0: 0.5, 1: 0.1}, 1)
    assert dropped == [1] and spec.num_hidden_layers == n - 1
    key = "attention.self.query.weight"
    np.testing.assert_array_equal(weights[f"encoder.layer.0.{key}"],
                                  ckpt.weights[f"encoder.layer.0.{key}"])
    assert not any(k.startswith(f"encoder.layer.{n - 1}.") for k in weights)

    teacher = tmp_path / "teacher"
    assert bert_main(["finetune", str(tiny_bert), "--dataset", str(text_file), "--seq-len", "8",
                      "--epochs", "1", "--drop-layers", "1", "--bits", "8",
                      "--prune", "magnitude", "--sparsity", "0.5",
                      "--output", str(teacher)]) == 0
    info = json.loads((teacher / "teacher.json").read_text())
    assert info["layers"] == n - 1 and len(info["dropped_layers"]) == 1
    assert info["prune"] == "magnitude" and abs(info["sparsity"] - 0.5) < 0.02
    assert set(info["layer_importance"]) == {str(i) for i in range(n)}
    assert "[compress] layer importance" in capsys.readouterr().out
    assert bert_main(["finetune", str(tiny_bert), "--dataset", str(text_file), "--drop-layers",
                      str(n), "--output", str(tmp_path / "t2")]) == 2
    assert f"cannot drop {n} of {n} layers" in capsys.readouterr().err
    assert not (tmp_path / "t2").exists()
    assert bert_main(["finetune", str(tiny_bert), "--dataset", str(text_file), "--bits",
                      "binary", "--prune", "magnitude", "--output", str(tmp_path / "t3")]) == 2
    assert "needs weights with a zero level" in capsys.readouterr().err


def test_hls_operator_forms_alone(tiny_bert):
    """``hw_ops`` swaps in the HLS integer LayerNorm / fixed-point softmax and nothing else."""
    import tensorflow as tf

    from qtransformer.bert.encoder import build_bert, load_bert_weights

    ckpt = read_checkpoint(tiny_bert)
    x = np.array([[2, 5, 6, 7, 9, 3, 0, 0]], dtype="int32")

    def encoder(*ops):
        model = build_bert(ckpt.spec, 8, hw_ops=ops)
        load_bert_weights(model, ckpt.spec, ckpt.weights)
        return model

    ref = encoder().predict(x, verbose=0)
    ln = encoder("layernorm").predict(x, verbose=0)
    np.testing.assert_array_equal(ln * 16, np.round(ln * 16))      # quantized_bits(8, 3) grid
    assert not np.array_equal(ln, ref) and np.isfinite(ln).all()
    soft = encoder("softmax")
    probe = tf.keras.Model(soft.input, [soft.get_layer("embedding_ln").output,
                                        soft.get_layer("pad_mask").output])
    h, mask = probe(x)
    probs = soft.get_layer("block0_attn").attention_probs(h, mask).numpy()
    np.testing.assert_array_equal(probs * 256, np.round(probs * 256))  # 9-bit probabilities
    assert not np.array_equal(soft.predict(x, verbose=0), ref)
    with pytest.raises(QTError, match="unknown operator form"):
        build_bert(ckpt.spec, 8, hw_ops=("gelu",))
