import numpy as np
import pytest
import tensorflow as tf

from qtransformer.config import TrainConfig
from qtransformer.errors import QTError
from qtransformer.train import auto_patience, compile_model, fit


class _Rates(tf.keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate.numpy()))


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_lr_schedule(schedule):
    tf.keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    m = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    compile_model(m, 0.01)
    rates = _Rates()
    cfg = TrainConfig(epochs=2, batch_size=4, patience=5, learning_rate=0.01,
                      lr_schedule=schedule)
    fit(m, (x, y), (x, y), cfg, verbose=False, extra_callbacks=[rates])
    steps = np.arange(8)
    want = 0.01 * (0.5 * (1 + np.cos(np.pi * steps / 8)) if schedule == "cosine" else 1)
    np.testing.assert_allclose(rates.rates, want * np.ones(8), rtol=1e-5)


def test_unknown_lr_schedule():
    with pytest.raises(QTError, match="invalid lr_schedule 'linear'"):
        TrainConfig(lr_schedule="linear").validate()


@pytest.mark.parametrize("n_train,seq,patience", [(1168, 8, 20), (1168, 16, 11), (3901, 48, 3),
                                                  (1557, 256, 3), (60614, 40, 3), (0, 0, 20)])
def test_default_patience_follows_the_training_compute(n_train, seq, patience):
    assert auto_patience(n_train, seq) == patience


def test_a_long_epoch_shows_progress_within_it():
    """EpochLog prints a batch line once ``interval_s`` has passed (0 here: every batch) and
    the epoch line; a BERT teacher's epoch takes minutes."""
    from qtransformer.train import EpochLog

    tf.keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    m = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    compile_model(m, 0.01)
    lines = []
    log = EpochLog(1, printer=lambda text, flush=False: lines.append(text), interval_s=0)
    m.fit(x, (x[:, 0] > 0).astype("int32"), validation_data=(x, x[:, 0] > 0), batch_size=4,
          epochs=1, verbose=0, callbacks=[log])
    assert [line.split("loss")[0].split() for line in lines[:4]] == \
        [["epoch", "1/1", "batch", f"{b}/4", f"({25 * b}%)"] for b in range(1, 5)]
    assert "val_acc" in lines[4] and len(lines) == 5
