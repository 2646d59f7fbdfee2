"""Long texts cut into windows (qtransformer.windows): the build's rows, the per-text scores."""

from __future__ import annotations

import numpy as np
import pytest

from qtransformer.config import DataConfig
from qtransformer.data import load_dataset
from qtransformer.data.tokenize import encode
from qtransformer.windows import encode_windows, mean_scores, split_windows


def test_split_windows_keeps_every_token_up_to_the_cap():
    body = [11, 12, 13, 14, 15, 16, 17]
    assert split_windows(body, 3, 8) == [[11, 12, 13], [14, 15, 16], [17]]
    assert split_windows(body, 3, 2) == [[11, 12, 13], [14, 15, 16]]   # cut after the 2nd
    assert split_windows(body, 7, 8) == [body]
    assert split_windows([], 3, 8) == [[]]                             # an empty text: a row


def test_encode_windows_frames_and_weighs_each_window():
    ids, doc, weight = encode_windows([[7, 8, 9, 10], [5]], 4, 8, cls=2, sep=3, pad=0)
    assert ids.tolist() == [[2, 7, 8, 3], [2, 9, 10, 3], [2, 5, 3, 0]]
    assert doc.tolist() == [0, 0, 1] and weight.tolist() == [4, 4, 3]


def test_mean_scores_weighs_windows_by_their_tokens():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    got = mean_scores(scores, np.array([0, 0, 1]), np.array([3.0, 1.0, 5.0]), 2)
    np.testing.assert_allclose(got, [[0.725, 0.275], [0.4, 0.6]])


@pytest.fixture
def long_file(tmp_path):
    rows = [f"{'a fine warm film that moves ' * (1 + i % 4)}\t1" for i in range(12)] + \
           [f"{'a dull boring mess of a film ' * (1 + i % 4)}\t0" for i in range(12)]
    p = tmp_path / "long.tsv"
    p.write_text("text\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_long_texts_become_windows_and_no_text_is_lost(long_file):
    cfg = DataConfig(dataset=str(long_file), vocab_size=60, seq_len=8)
    d = load_dataset(cfg, seed=0)
    s = d.summary()
    assert s["train"] + s["val"] + s["test"] == 24 and "cut into up to 8 windows" in d.seq_note
    for split, x, y in (("train", d.x_train, d.y_train), ("test", d.x_test, d.y_test)):
        w = d.windows[split]
        assert len(x) == len(y) == len(w.doc) == s["windows"][split] > w.texts == s[split]
        assert set(w.doc.tolist()) == set(range(w.texts))        # every text has a window
        assert np.array_equal(y, w.y[w.doc])                      # each window: its label
        assert (x[:, 0] == d.tokenizer.token_to_id("[CLS]")).all()
    labels, scores = d.per_text("test", np.zeros((len(d.x_test), 2)))
    assert np.array_equal(labels, d.windows["test"].y) and scores.shape == (s["test"], 2)


def test_one_window_is_the_truncated_encoding(long_file):
    one = load_dataset(DataConfig(dataset=str(long_file), vocab_size=60, seq_len=8,
                                  windows=1), seed=0)
    assert one.windows is None and "truncated" in one.seq_note
    assert np.array_equal(one.x_test, encode(one.tokenizer, list(one.texts["test"]), 8))
    many = load_dataset(DataConfig(dataset=str(long_file), vocab_size=60, seq_len=8), seed=0)
    first = np.unique(many.windows["test"].doc, return_index=True)[1]
    assert np.array_equal(many.x_test[first], one.x_test)        # window 1 = the cut text


def _windowed(logits_val, doc, weight, y_texts):
    """A Dataset whose val rows are windows; the rows are the logits themselves."""
    from qtransformer.data import Dataset
    from qtransformer.windows import Windows

    x = np.asarray(logits_val, np.float32)
    y = np.asarray(y_texts)[np.asarray(doc)]
    return Dataset("w", x, y, x, y, x, y, ["no", "yes"], "patches",
                   windows={"val": Windows(np.asarray(doc), np.asarray(weight, float),
                                           np.asarray(y_texts), 8)})


def test_text_validation_scores_texts_not_windows():
    import tensorflow as tf

    from qtransformer.train import TextValidation

    # text 0 (label 0): one long confident window for 0, two short ones for 1; text 1: one
    # window for 1. Per window 2 of 4 are right; per text both are.
    d = _windowed([[5, 0], [0, 1], [0, 1], [0, 3]], [0, 0, 0, 1], [10, 2, 2, 5], [0, 1])
    assert TextValidation.needed(d)
    cb = TextValidation(d)
    cb.set_model(tf.keras.Sequential([tf.keras.layers.Lambda(lambda t: t, input_shape=(2,))]))
    logs = {"val_accuracy": 0.5}
    cb.on_epoch_end(0, logs)
    assert logs == {"val_window_accuracy": 0.5, "val_accuracy": 1.0}
    one = _windowed([[5, 0], [0, 3]], [0, 1], [10, 5], [0, 1])   # a window per text
    assert not TextValidation.needed(one)


def test_training_on_windows_stops_on_texts(long_file):
    from qtransformer.config import ModelConfig, QuantConfig, TrainConfig
    from qtransformer.model import build_model
    from qtransformer.train import train

    d = load_dataset(DataConfig(dataset=str(long_file), vocab_size=60, seq_len=8), seed=0)
    model = build_model(ModelConfig(d_model=8, heads=2, ff_dim=16, layers=1,
                                    vocab_size=d.vocab_size, seq_len=d.seq_len,
                                    classes=d.classes), QuantConfig())
    r = train(model, d, TrainConfig(epochs=2, patience=1, seed=0), verbose=False)
    assert len(r.history["val_window_accuracy"]) == r.epochs_run
    y, scores = d.per_text("val", model.predict(d.x_val, verbose=0))
    per_text = r.history["val_accuracy"]
    assert r.best_val_accuracy == max(per_text)
    assert np.mean(scores.argmax(-1) == y) in per_text    # the kept weights' own figure
