"""Distillation from a (tiny, random) BERT teacher, and the length-bucketed batches that make
the teacher affordable on a CPU."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from qtransformer.build import main as build_main
from qtransformer.data.batching import LengthBatches, predict_bucketed, token_lengths
from qtransformer.distill.intermediate import layer_map
from qtransformer.errors import QTError

STUDENT = ["--bits", "ternary", "--seq-len", "10", "--d-model", "8", "--heads", "2",
           "--ff-dim", "16", "--layers", "2", "--epochs", "2", "--no-hls", "--quiet"]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """A two-class TSV written mostly in the tiny BERT's words."""
    good = ["a good film", "fun and charming", "a charming journey", "very good movie",
            "warm and fun", "it ' s good"]
    bad = ["a bad film", "dull and slow", "very slow movie", "bad , dull", "slow and boring",
           "it ' s bad"]
    path = tmp_path_factory.mktemp("reviews") / "reviews.tsv"
    rows = [f"{s}\t1" for s in good * 5] + [f"{s}\t0" for s in bad * 5]
    path.write_text("sentence\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def teacher(tiny_bert, reviews, tmp_path_factory):
    from qtransformer.bert.__main__ import main as bert_main

    out = tmp_path_factory.mktemp("t") / "teacher"
    assert bert_main(["finetune", str(tiny_bert), "--dataset", str(reviews), "--seq-len", "12",
                      "--epochs", "2", "--lr", "1e-3", "--output", str(out)]) == 0
    return out


def test_length_batches_cover_every_row_once_and_cut_to_the_longest():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 30, 200)
    x = np.zeros((200, 32), np.int32)
    for row, n in enumerate(lengths):
        x[row, :n] = rng.integers(1, 50, n)
    y = np.arange(200)
    np.testing.assert_array_equal(token_lengths(x, 0), lengths)
    batches = LengthBatches(x, y, batch_size=16, pad_id=0, seed=3, pool=4)
    first = batches.order.copy()
    assert sorted(first) == list(range(200))
    for i in range(len(batches)):
        xb, yb = batches[i]
        longest = lengths[yb].max()
        assert xb.shape[1] % 8 == 0 or xb.shape[1] == 32
        assert longest <= xb.shape[1] < longest + 8
        np.testing.assert_array_equal(xb, x[yb, : xb.shape[1]])
    batches.on_epoch_end()
    assert sorted(batches.order) == list(range(200)) and list(batches.order) != list(first)
    again = LengthBatches(x, y, batch_size=16, pad_id=0, seed=3, pool=4)
    np.testing.assert_array_equal(again.order, first)              # seeded
    full = LengthBatches(x, y, batch_size=16, pad_id=0, seed=3, multiple=32)
    assert all(full[i][0].shape[1] == 32 for i in range(len(full)))


def test_bucketed_prediction_equals_padded(tiny_bert):
    from qtransformer.bert import import_bert

    model, _ = import_bert(tiny_bert, seq_len=24, classes=2)
    rng = np.random.default_rng(1)
    x = np.zeros((40, 24), np.int32)
    for row, n in enumerate(rng.integers(3, 24, 40)):
        x[row, :n] = rng.integers(5, 20, n)
    padded = model.predict(x, verbose=0)
    np.testing.assert_allclose(predict_bucketed(model, x, 0, batch_size=8), padded, atol=1e-5)


def test_layer_map_is_tinybert_uniform():
    assert layer_map(2, 6) == [(0, 2), (1, 5)]
    assert layer_map(4, 2) == [(0, 0), (1, 0), (2, 1), (3, 1)]
    assert layer_map(3, 3) == [(0, 0), (1, 1), (2, 2)]


def test_embedding_transfer_is_the_teachers_pca(tiny_bert):
    from qtransformer.bert import import_bert
    from qtransformer.config import ModelConfig, QuantConfig
    from qtransformer.distill.embedding import pca_basis, transfer_embeddings
    from qtransformer.model import build_model

    teacher, ckpt = import_bert(tiny_bert, seq_len=12, classes=2)
    vocab = ckpt.spec.vocab_size
    cfg = ModelConfig(d_model=8, heads=2, ff_dim=16, layers=1, seq_len=10, classes=2,
                      vocab_size=vocab)
    student = build_model(cfg, QuantConfig(bits="ternary"))
    info = transfer_embeddings(student, teacher)
    table = teacher.get_layer("embedding").get_weights()[0].astype(np.float64)
    mean, basis, kept = pca_basis(table, 8)
    np.testing.assert_allclose(basis.T @ basis, np.eye(8), atol=1e-8)
    expected = (table - mean) @ basis * info["scale"]
    np.testing.assert_allclose(student.get_layer("embedding").get_weights()[0], expected,
                               rtol=1e-5, atol=1e-6)
    assert 0 < kept == info["variance_kept"] < 1 and info["position"]
    wrong = build_model(ModelConfig(d_model=8, heads=2, ff_dim=16, layers=1, seq_len=10,
                                    classes=2, vocab_size=vocab + 1), QuantConfig(bits="8"))
    with pytest.raises(QTError, match="teacher's vocab.txt"):
        transfer_embeddings(wrong, teacher)


def test_distil_hidden_attention_embedding_cli(teacher, reviews, tmp_path, capsys):
    out = tmp_path / "student"
    assert build_main(["--dataset", str(reviews), "--teacher", str(teacher), "--distill",
                       "logits,embedding,hidden,attention", *STUDENT, "--output",
                       str(out)]) == 0
    r = json.loads((out / "report.json").read_text())
    d = r["distillation"]
    assert d["parts"] == ["logits", "embedding", "hidden", "attention"]
    assert d["layer_map"] == [[0, 0], [1, 1]] and d["embedding"]["variance_kept"] > 0
    assert r["config"]["data"]["vocab_file"] == str(teacher / "vocab.txt")   # teacher's ids
    h = r["training"]["history"]
    assert h["hidden_loss"][-1] < h["hidden_loss"][0]       # the student moves to the teacher
    assert h["attention_loss"][0] > 0 and len(h["val_accuracy"]) == 2
    assert "[distill] hidden states" in capsys.readouterr().out


def test_distil_logits_any_vocabulary_with_transfer_set(teacher, reviews, tmp_path, capsys):
    out = tmp_path / "student"
    assert build_main(["--dataset", str(reviews), "--teacher", str(teacher), *STUDENT,
                       "--vocab-size", "40", "--distill-augment", "1.5", "--output",
                       str(out)]) == 0
    r = json.loads((out / "report.json").read_text())
    assert r["distillation"]["parts"] == ["logits"] and r["data"]["vocab_size"] != 26
    assert r["distillation"]["transfer_set"] == round(1.5 * r["data"]["train"])
    assert "transfer set" in capsys.readouterr().out


def test_transfer_set_is_seeded_and_mixes_texts():
    from qtransformer.distill.augment import MASK, augment_texts

    texts = [f"w{i} x{i} y{i}" for i in range(50)]
    a = augment_texts(texts, 400, seed=1)
    assert a == augment_texts(texts, 400, seed=1) and a != augment_texts(texts, 400, seed=2)
    words = [w for t in a for w in t.split()]
    assert 0.05 < words.count(MASK) / len(words) < 0.15                 # masking p = 0.1
    assert sum(len(t.split()) > 3 for t in a) > 100                     # concatenations
    assert sum(len(t.split()) < 3 for t in a) > 30                      # n-grams


def _corrupt_model(d):
    (d / "model.h5").write_bytes(b"not hdf5")


@pytest.mark.parametrize("extra,mutate,message", [
    (["--distill", "hidden"], None, "includes logits"),
    (["--distill", "logits,gossip"], None, "invalid distill"),
    (["--distill", "logits,hidden", "--vocab-size", "40", "--vocab-file", "{reviews}"], None,
     "needs the teacher's vocabulary"),
    ([], lambda d: (d / "teacher.json").write_text("{oops"), "corrupt JSON"),
    ([], lambda d: (d / "vocab.txt").unlink(), "missing vocab.txt"),
    ([], _corrupt_model, "cannot load the teacher"),
    ([], lambda d: shutil.rmtree(d), "teacher directory not found"),
    (["--windows", "2"], None, "--windows 2 with --teacher: distillation labels whole texts"),
])
def test_bad_distillation_inputs(teacher, reviews, tmp_path, capsys, extra, mutate, message):
    t = tmp_path / "teacher"
    shutil.copytree(teacher, t)
    if mutate:
        mutate(t)
    out = tmp_path / "o"
    args = [e.format(reviews=reviews) for e in extra]
    assert build_main(["--dataset", str(reviews), "--teacher", str(t), *args, *STUDENT,
                       "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("error:") and not out.exists()


@pytest.mark.parametrize("flags,message", [
    (["--distill", "logits,embedding"], "need --teacher"),
    (["--distill-augment", "1"], "need --teacher"),
    (["--distill-augment", "-1"], "invalid distill_augment"),
])
def test_distill_flags_need_a_teacher(reviews, tmp_path, capsys, flags, message):
    assert build_main(["--dataset", str(reviews), *flags, *STUDENT,
                       "--output", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_embedding_from_a_checkpoint_without_teacher(tiny_bert, reviews, tmp_path, capsys):
    """--embedding-from starts the tables from the checkpoint's PCA and tokenizes with its
    vocabulary; the tables the build trained from are that projection, not random."""
    from qtransformer.distill.embedding import checkpoint_tables, pca_basis

    out = tmp_path / "student"
    assert build_main(["--dataset", str(reviews), "--embedding-from", str(tiny_bert), *STUDENT,
                       "--epochs", "1", "--lr", "1e-9", "--output", str(out)]) == 0
    r = json.loads((out / "report.json").read_text())
    assert r["config"]["embedding_from"] == str(tiny_bert)
    assert r["config"]["data"]["vocab_file"] == str(tiny_bert / "vocab.txt")
    assert "embedding tables from" in capsys.readouterr().out
    from qtransformer.model import load_model

    table = load_model(out / "model.h5").get_layer("embedding").get_weights()[0]
    tokens, _ = checkpoint_tables(tiny_bert)
    mean, basis, _ = pca_basis(tokens.astype(np.float64), table.shape[1])
    expected = (tokens - mean) @ basis
    expected *= 0.5 / expected.std()
    np.testing.assert_allclose(table, expected, atol=1e-4)   # lr 1e-9: still the projection


@pytest.mark.parametrize("extra,mutate,message", [
    ([], lambda d: (d / "vocab.txt").unlink(), "has no vocab.txt"),
    ([], lambda d: shutil.rmtree(d), "checkpoint directory not found"),
    (["--vocab-file", "{reviews}"], None, "needs the checkpoint's vocabulary"),
    (["--teacher", "{teacher}", "--distill", "logits,embedding"], None, "give one"),
    (["--d-model", "32", "--heads", "4"], None, "exceeds the checkpoint's hidden size 16"),
    ([], lambda d: (d / "config.json").unlink(), "no config.json"),
    ([], lambda d: (d / "model.safetensors").unlink(), "has no weights file"),
])
def test_bad_embedding_from(tiny_bert, teacher, reviews, tmp_path, capsys, extra, mutate,
                            message):
    d = tmp_path / "ckpt"
    shutil.copytree(tiny_bert, d)
    if mutate:
        mutate(d)
    args = [e.format(reviews=reviews, teacher=teacher) for e in extra]
    out = tmp_path / "o"
    assert build_main(["--dataset", str(reviews), "--embedding-from", str(d), *STUDENT, *args,
                       "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("error:") and not out.exists()


def test_substitute_cli(teacher, reviews, tmp_path, capsys):
    from qtransformer.bert.__main__ import main as bert_main

    assert bert_main(["substitute", str(teacher), "--test-file", str(reviews)]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(r["activation"]) == {"gelu_pwl", "relu"}
    assert set(r["operator"]) == {"softmax", "layernorm"} and r["examples"] == 60
    bad = tmp_path / "bad.tsv"
    bad.write_text("sentence\tlabel\na film\tmaybe\n")
    assert bert_main(["substitute", str(teacher), "--test-file", str(bad)]) == 2
    assert "do not occur" in capsys.readouterr().err
