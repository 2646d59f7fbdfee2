"""Weight pruning with TF-MOT: top-k magnitude (unstructured) and block-structured.

Both wrap every quantized dense layer (attention projections included, through
``QMultiHeadSelfAttention.get_prunable_weights``) with ``prune_low_magnitude``, fine-tune with
a polynomial schedule to the target sparsity while the QKeras quantizers keep training
(QAT), then ``strip_pruning``. Which layers are prunable is their kind's
(``qtransformer/kinds``); the methods are entries of the compression registry
(``compress/methods.py``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
from tensorflow_model_optimization.python.core.sparsity.keras.pruning_wrapper import (
    PruneLowMagnitude,
)

from ..config import PruneConfig
from ..kinds import prunable
from ..layers import custom_objects


def _schedule(cfg: PruneConfig, steps_per_epoch: int):
    end = max(1, int(steps_per_epoch * cfg.epochs * 0.7))  # the last 30% fine-tunes the mask
    return tfmot.sparsity.keras.PolynomialDecay(0.0, cfg.sparsity, 0, end, frequency=max(
        1, steps_per_epoch // 4))


def wrap_for_pruning(model: tf.keras.Model, cfg: PruneConfig, steps_per_epoch: int,
                     block: tuple[int, int] = (1, 1)) -> tf.keras.Model:
    """Clone ``model`` with every prunable layer (except ``cfg.skip``) wrapped."""
    schedule = _schedule(cfg, steps_per_epoch)

    def wrap(layer):
        fresh = layer.__class__.from_config(layer.get_config())  # never share the original
        if prunable(layer) and layer.name not in cfg.skip:
            return tfmot.sparsity.keras.prune_low_magnitude(
                fresh, pruning_schedule=schedule, block_size=block)
        return fresh

    with tf.keras.utils.custom_object_scope(custom_objects()):
        pruned = tf.keras.models.clone_model(model, clone_function=wrap)
    for src, dst in zip(model.layers, pruned.layers):
        # The wrappers add mask/threshold variables, so copy layer by layer.
        inner = dst.layer if isinstance(dst, PruneLowMagnitude) else dst
        inner.set_weights(src.get_weights())
    return pruned


def strip(model: tf.keras.Model) -> tf.keras.Model:
    """Remove the wrappers and rebuild from config: the stripped layers keep the wrapped
    graph's call history, which would confuse graph walkers (HLS conversion, costs)."""
    with tf.keras.utils.custom_object_scope(custom_objects()):
        stripped = tfmot.sparsity.keras.strip_pruning(model)
        clean = tf.keras.Model.from_config(stripped.get_config())
    clean.set_weights(stripped.get_weights())
    return clean


def sparsity_report(model: tf.keras.Model) -> dict:
    """Zero fraction of the prunable kernels, per layer and overall."""
    per_layer, zeros, total = {}, 0, 0
    for layer in model.layers:
        if not prunable(layer):
            continue
        kernels = [w.numpy() for w in layer.weights if "kernel" in w.name]
        z = sum(int((k == 0).sum()) for k in kernels)
        n = sum(k.size for k in kernels)
        per_layer[layer.name] = z / n if n else 0.0
        zeros, total = zeros + z, total + n
    return {"sparsity": zeros / total if total else 0.0, "zero_weights": zeros,
            "prunable_weights": total, "per_layer": per_layer}


def block_size(cfg: PruneConfig) -> tuple[int, int]:
    """(1, 1) for unstructured magnitude pruning, else the configured block."""
    return (1, 1) if cfg.method == "magnitude" else tuple(cfg.block)  # type: ignore[return-value]


def prune_and_finetune(model: tf.keras.Model, data, cfg: PruneConfig, train_cfg,
                       verbose: bool = True, printer=print,
                       pad_id: int | None = None) -> tuple[tf.keras.Model, dict]:
    """Wrap, fine-tune to the target sparsity (with QAT), strip; return model and report.
    The fine-tune is the training loop's ``fit`` at half the learning rate, for all
    ``cfg.epochs`` (no early stopping: the sparsity schedule must reach its target), one line
    per epoch when ``verbose``. ``pad_id``: batches grouped by length and cut to their longest
    row (variable-length models, the imported BERT)."""
    from ..train import compile_model, fit

    steps = int(np.ceil(len(data.y_train) / train_cfg.batch_size))
    wrapped = wrap_for_pruning(model, cfg, steps, block_size(cfg))
    tune = dataclasses.replace(train_cfg, epochs=cfg.epochs, learning_rate=train_cfg.learning_rate
                               / 2, lr_schedule="constant")
    compile_model(wrapped, tune.learning_rate)
    printer(f"[prune] {cfg.method} to sparsity {cfg.sparsity:.2f}"
            + (f", blocks {cfg.block[0]}x{cfg.block[1]}" if cfg.method == "block" else "")
            + f", fine-tuning {cfg.epochs} epochs", flush=True)
    if pad_id is None:
        train_data, val_data = (data.x_train, data.y_train), (data.x_val, data.y_val)
    else:
        from ..data.batching import LengthBatches

        train_data = LengthBatches(data.x_train, data.y_train, tune.batch_size, pad_id,
                                   tune.seed)
        val_data = LengthBatches(data.x_val, data.y_val, 256, pad_id)
    fit(wrapped, train_data, val_data, tune, verbose,
        [tfmot.sparsity.keras.UpdatePruningStep()], stop_early=False)
    pruned = strip(wrapped)
    return pruned, sparsity_report(pruned)
