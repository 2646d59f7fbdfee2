"""Quantization-aware training with Keras ``fit``: seeded, early-stopped, with progress.

QAT needs nothing special here: the QKeras quantizers in every layer apply the
straight-through estimator, so ``fit`` trains the quantized model directly.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .config import TrainConfig
from .data import Dataset


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TF and make TF ops deterministic (same seed, same metrics)."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class EpochLog(tf.keras.callbacks.Callback):
    """One line per epoch (Keras' bar is unreadable in CI logs), and within an epoch that runs
    longer (a BERT teacher's: ~9 minutes here) a line at most every ``interval_s`` seconds."""

    def __init__(self, epochs: int, printer=print, interval_s: float = 60.0):
        super().__init__()
        self.epochs, self.printer, self.t0 = epochs, printer, time.time()
        self.interval_s, self.last = interval_s, self.t0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        now = time.time()
        if now - self.last < self.interval_s:
            return
        self.last = now
        steps = (self.params or {}).get("steps")
        of = f"/{steps} ({100 * (batch + 1) / steps:.0f}%)" if steps else ""
        self.printer(f"  epoch {self.epoch + 1:3d}/{self.epochs}  batch {batch + 1}{of}  "
                     f"loss {(logs or {}).get('loss', 0):.4f}  ({now - self.t0:.0f}s)",
                     flush=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.printer(f"  epoch {epoch + 1:3d}/{self.epochs}  loss {logs.get('loss', 0):.4f}  "
                     f"acc {logs.get('accuracy', 0):.4f}  val_loss {logs.get('val_loss', 0):.4f}  "
                     f"val_acc {logs.get('val_accuracy', 0):.4f}  ({time.time() - self.t0:.0f}s)",
                     flush=True)
        self.last = time.time()


class CosineLR(tf.keras.callbacks.Callback):
    """Sets the learning rate before every batch from Keras' ``CosineDecay`` over ``epochs`` x
    the steps of one epoch (to 0 at the end). A callback rather than the optimizer's schedule
    because only ``fit`` knows the steps per epoch, and so every ``fit`` here, the distillers'
    included, gets it without rebuilding its optimizer."""

    def __init__(self, learning_rate: float, epochs: int):
        super().__init__()
        self.learning_rate, self.epochs, self.epoch, self.schedule = learning_rate, epochs, 0, None

    def on_train_begin(self, logs=None):
        self.steps = max(int(self.params.get("steps") or 1), 1)
        self.schedule = tf.keras.optimizers.schedules.CosineDecay(self.learning_rate,
                                                                  self.epochs * self.steps)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(self.schedule(self.epoch * self.steps + batch))


class TextValidation(tf.keras.callbacks.Callback):
    """Validation accuracy per text where long texts were cut into windows: after each epoch
    the val windows are predicted and each text's class taken from their mean scores
    (:meth:`Dataset.per_text`), as the test metrics and the board's host do. It replaces
    ``val_accuracy`` in the epoch's logs before early stopping reads it (Keras' own per-window
    figure stays as ``val_window_accuracy``), so the epoch kept is the best one per text, not
    the one that scores a 40-window post forty times."""

    def __init__(self, data: Dataset, batch_size: int = 256):
        super().__init__()
        self.data, self.batch_size = data, batch_size

    @staticmethod
    def needed(data: Dataset) -> bool:
        """Only where some val text has more than one window (otherwise rows are texts)."""
        w = (data.windows or {}).get("val")
        return w is not None and len(w.doc) > w.texts

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logits = self.model.predict(self.data.x_val, batch_size=self.batch_size, verbose=0)
        y, scores = self.data.per_text("val", logits)
        logs["val_window_accuracy"] = logs.get("val_accuracy", 0.0)
        logs["val_accuracy"] = float(np.mean(np.argmax(scores, -1) == y))


@dataclass
class Objective:
    """What ``fit`` optimises: targets for the train and val splits, a loss and a metric named
    ``accuracy`` (early stopping watches ``val_accuracy``). The default is cross-entropy on the
    labels; distillation supplies its own (``distill/losses.py``) without this module knowing
    it."""

    y_train: np.ndarray
    y_val: np.ndarray
    loss: object = None
    metric: object = None


@dataclass
class TrainResult:
    epochs_run: int
    best_epoch: int
    best_val_accuracy: float
    seconds: float
    history: dict


PATIENCE_TOKENS, PATIENCE_MIN, PATIENCE_MAX = 200_000, 3, 20


def auto_patience(n_train: int, seq_len: int) -> int:
    """Default early-stopping patience: the epochs that train on ``PATIENCE_TOKENS`` tokens
    (examples x sequence length: an epoch's compute), within 3..20. Digits (~1,170 images of 8
    rows): 20 epochs, as before; text sets: 3 (SST-2's 60k phrases, a 2,000-article set at 256
    tokens). On the text benchmark's recorded curves 3 picked the same best epoch as 20
    (docs/benchmarks.md, text sets), where 20 had spent most of each run waiting."""
    per_epoch = max(n_train, 1) * max(seq_len, 1)
    return int(np.clip(-(-PATIENCE_TOKENS // per_epoch), PATIENCE_MIN, PATIENCE_MAX))


def compile_model(model: tf.keras.Model, learning_rate: float, loss=None, metric=None) -> None:
    """Adam + (distillation or cross-entropy) loss; stochastic quantizers sample in training."""
    from .layers.quant import enable_stochastic_training

    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate),
                  loss=loss or tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[metric or "accuracy"])
    enable_stochastic_training(model)


def train(model: tf.keras.Model, data: Dataset, cfg: TrainConfig, verbose: bool = True,
          extra_callbacks: list | None = None, objective: Objective | None = None,
          pad_id: int | None = None) -> TrainResult:
    """Fit with early stopping on validation accuracy, restoring the best weights.

    ``objective``: targets, loss and metric (default: the labels, cross-entropy, accuracy).
    With ``pad_id`` (token-id input, a model with a variable sequence length that masks
    padding) batches are grouped by length and cut to their longest sequence.
    """
    obj = objective or Objective(data.y_train, data.y_val)
    y_train, y_val = obj.y_train, obj.y_val
    compile_model(model, cfg.learning_rate, obj.loss, obj.metric)
    if pad_id is None:
        per_text = TextValidation(data) if objective is None and TextValidation.needed(data) \
            else None
        return fit(model, (data.x_train, y_train), (data.x_val, y_val), cfg, verbose,
                   extra_callbacks, validation=per_text)
    from .data.batching import LengthBatches

    return fit(model, LengthBatches(data.x_train, y_train, cfg.batch_size, pad_id, cfg.seed),
               LengthBatches(data.x_val, y_val, 256, pad_id), cfg, verbose, extra_callbacks)


def fit(model: tf.keras.Model, train_data, val_data, cfg: TrainConfig, verbose: bool = True,
        extra_callbacks: list | None = None, stop_early: bool = True,
        validation: tf.keras.callbacks.Callback | None = None) -> TrainResult:
    """``model.fit`` on a compiled model with early stopping on ``val_accuracy`` (the best
    weights restored; ``stop_early=False``: every epoch runs and the last weights stay) and,
    when ``verbose``, one line per epoch. ``train_data`` / ``val_data`` are ``(x, y)``
    arrays, shuffled here, or a :class:`tf.keras.utils.Sequence` that batches itself.
    ``validation`` (e.g. :class:`TextValidation`) runs first at each epoch's end, so what it
    writes into the logs is what early stopping and the history see."""
    stopper = None
    if stop_early:
        if cfg.patience is None:
            raise ValueError("TrainConfig.patience is unresolved (pipeline.adopt_data sets it)")
        stopper = tf.keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=cfg.patience, restore_best_weights=True,
            mode="max")
    callbacks = [c for c in (validation, stopper) if c is not None]
    if cfg.lr_schedule == "cosine":
        callbacks.append(CosineLR(cfg.learning_rate, cfg.epochs))
    if verbose:
        callbacks.append(EpochLog(cfg.epochs))
    callbacks += extra_callbacks or []
    t0 = time.time()
    if isinstance(train_data, tuple):
        hist = model.fit(*train_data, validation_data=val_data, epochs=cfg.epochs,
                         batch_size=cfg.batch_size, shuffle=True, verbose=0, callbacks=callbacks)
    else:
        hist = model.fit(train_data, validation_data=val_data, epochs=cfg.epochs, shuffle=False,
                         verbose=0, callbacks=callbacks)
    if stopper is not None and stopper.best_weights is not None:
        # Keras 2.14 restores the best weights only when patience ran out; a run that reaches
        # its epoch limit would otherwise keep the last epoch's weights.
        model.set_weights(stopper.best_weights)
    val = np.asarray(hist.history.get("val_accuracy", [0.0]))
    return TrainResult(len(val), int(val.argmax()) + 1, float(val.max()), time.time() - t0,
                       {k: [float(v) for v in vs] for k, vs in hist.history.items()})
