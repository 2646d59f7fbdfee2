"""Fine-tune an imported BERT with a classification head on a user's text file.

The result is a teacher run directory (model.h5, vocab.txt, teacher.json, report.json,
report.md) that ``python -m qtransformer.build --teacher DIR`` distils from. After training,
the fine-tuned weights are also evaluated with each hardware-friendly FFN activation swapped in
(no retraining), which is the accuracy cost of that substitution.

Shrinking and compressing the imported encoder: ``keep_layers`` keeps the first N layers;
``drop_layers`` drops the N layers that change their input least (He et al. 2024, block drop:
importance ``1 - cos(X, Y)`` of each layer's input X and output Y, averaged over the
non-padding tokens of calibration texts, measured on the pretrained weights before
fine-tuning); ``bits`` fine-tunes with our quantizers (QAT) instead of in float.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..config import DataConfig, TrainConfig
from ..errors import QTError
from .activations import ACTIVATIONS
from .substitute import ACTIVATION_SWAPS, OPERATOR_LABELS, OPERATOR_SWAPS, substitution_accuracy


@dataclass
class FinetuneConfig:
    checkpoint: str
    output: str
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=2, batch_size=32, learning_rate=3e-5, patience=1))
    seq_len: int = 64
    pooling: str = "cls"
    activation: str | None = None        # None: the checkpoint's hidden_act
    keep_layers: int | None = None       # shrink: keep the first N encoder layers
    drop_layers: int = 0                 # then drop the N least important layers
    bits: str = "float"                  # weight quantization while fine-tuning (QAT)
    prune: str | None = None             # then magnitude | block pruning (TF-MOT), fine-tuned
    sparsity: float = 0.5
    prune_epochs: int = 1
    compare_activations: tuple[str, ...] = ACTIVATION_SWAPS
    compare_operators: tuple[str, ...] = OPERATOR_SWAPS      # HLS forms, one at a time
    force: bool = False


def _shrunk(spec, keep: int | None):
    if keep is None:
        return spec
    if not 1 <= keep <= spec.num_hidden_layers:
        raise QTError(f"keep_layers {keep} must be between 1 and {spec.num_hidden_layers}")
    return dataclasses.replace(spec, num_hidden_layers=keep)


def _model(spec, weights: dict, cfg: FinetuneConfig, classes: int, activation: str | None):
    from ..config import QuantConfig
    from .encoder import build_bert, load_bert_weights

    quant = None if cfg.bits == "float" else QuantConfig(bits=cfg.bits)
    model = build_bert(spec, cfg.seq_len, quant, classes, cfg.pooling, activation)
    load_bert_weights(model, spec, weights)
    return model


def layer_importance(spec, weights: dict, seq_len: int, x) -> dict[int, float]:
    """``1 - cos(X, Y)`` per encoder layer (X its input, Y its output hidden states),
    averaged over non-padding tokens of ``x``: a low score means the layer barely changes
    its input, so dropping it costs little."""
    import numpy as np
    import tensorflow as tf

    from ..compress.layer_drop import cosine_importance
    from .encoder import build_bert, load_bert_weights

    enc = build_bert(spec, seq_len)
    load_bert_weights(enc, spec, weights)
    names = ["embedding_ln"] + [f"block{i}_ln2" for i in range(spec.num_hidden_layers)]
    probe = tf.keras.Model(enc.input, [enc.get_layer(n).output for n in names])
    states = [np.asarray(s, np.float64) for s in probe.predict(x, batch_size=64, verbose=0)]
    keep = np.asarray(x) != spec.pad_token_id
    return {i: cosine_importance(states[i][keep], states[i + 1][keep])
            for i in range(spec.num_hidden_layers)}


def drop_layers(spec, weights: dict, scores: dict[int, float], count: int):
    """The spec and checkpoint tensors without the ``count`` lowest-scoring layers (the kept
    layers renumbered in order)."""
    if not 0 <= count < spec.num_hidden_layers:
        raise QTError(f"cannot drop {count} of {spec.num_hidden_layers} layers: at least one "
                      "must stay")
    dropped = sorted(sorted(scores, key=scores.get)[:count])
    kept = [i for i in range(spec.num_hidden_layers) if i not in dropped]
    out = {k: v for k, v in weights.items() if not k.startswith("encoder.layer.")}
    for new, old in enumerate(kept):
        prefix = f"encoder.layer.{old}."
        out.update({f"encoder.layer.{new}.{k[len(prefix):]}": v for k, v in weights.items()
                    if k.startswith(prefix)})
    return dataclasses.replace(spec, num_hidden_layers=len(kept)), out, dropped


def _prune(model, data, cfg: FinetuneConfig, pad_id: int, printer):
    """TF-MOT magnitude / block pruning of the fine-tuned encoder's projections and FFN
    (the classifier stays dense), fine-tuned ``prune_epochs`` with the quantizers on."""
    from ..compress.prune import prune_and_finetune
    from ..config import PruneConfig

    pcfg = PruneConfig(method=cfg.prune, sparsity=cfg.sparsity, epochs=cfg.prune_epochs)
    pruned, report = prune_and_finetune(model, data, pcfg, cfg.train, printer=printer,
                                        pad_id=pad_id)
    printer(f"[compress] {cfg.prune} pruning: {100 * report['sparsity']:.1f}% of the encoder's "
            "weights are zero", flush=True)
    return pruned, report


def finetune(cfg: FinetuneConfig, out: Path, printer=print) -> dict:
    """Train into ``out`` (a staging directory) and return the report."""
    from ..data import load_dataset
    from ..data.batching import predict_bucketed
    from ..evaluate import classification_metrics
    from ..train import seed_everything, train
    from .checkpoint import read_checkpoint

    for act in (cfg.activation, *cfg.compare_activations):
        if act is not None and act not in ACTIVATIONS:
            raise QTError(f"unknown activation {act!r}; known: {', '.join(ACTIVATIONS)}")
    t0 = time.time()
    seed_everything(cfg.train.seed)
    ckpt = read_checkpoint(cfg.checkpoint)
    cfg.data.vocab_file, cfg.data.seq_len = str(ckpt.vocab), cfg.seq_len
    cfg.data.windows = 1   # a teacher labels whole texts, cut at its sequence (teacher.py)
    data = load_dataset(cfg.data, cfg.train.seed)
    printer(f"[data] {len(data.y_train)} train / {len(data.y_val)} val / {len(data.y_test)} "
            f"test, {data.classes} classes, sequence {cfg.seq_len}", flush=True)
    spec, weights = _shrunk(ckpt.spec, cfg.keep_layers), ckpt.weights
    importance, dropped = {}, []
    if cfg.drop_layers:
        importance = layer_importance(spec, weights, cfg.seq_len, data.x_train[:512])
        spec, weights, dropped = drop_layers(spec, weights, importance, cfg.drop_layers)
        printer("[compress] layer importance " + ", ".join(
            f"{i}: {v:.4f}" for i, v in importance.items()) + f"; dropping layers {dropped}",
            flush=True)
    model = _model(spec, weights, cfg, data.classes, cfg.activation)
    printer(f"[model] BERT {spec.hidden_size} x {spec.num_hidden_layers} layers, weights "
            f"{cfg.bits}, {model.count_params():,} parameters; fine-tuning up to "
            f"{cfg.train.epochs} epochs", flush=True)
    result = train(model, data, cfg.train, verbose=True, pad_id=spec.pad_token_id)
    pruning = None
    if cfg.prune:
        model, pruning = _prune(model, data, cfg, spec.pad_token_id, printer)
    logits = predict_bucketed(model, data.x_test, spec.pad_token_id)
    metrics = classification_metrics(data.y_test, logits, data.class_names)
    printer(f"[evaluate] test accuracy {metrics['accuracy']:.4f}", flush=True)
    info = {"checkpoint": str(cfg.checkpoint), "seq_len": cfg.seq_len,
            "class_names": data.class_names, "activation": cfg.activation or ckpt.spec.hidden_act,
            "keep_layers": cfg.keep_layers, "pooling": cfg.pooling, "bits": cfg.bits,
            "layers": spec.num_hidden_layers, "dropped_layers": dropped,
            "pad_id": spec.pad_token_id, "spec": dataclasses.asdict(spec),
            "prune": cfg.prune, "sparsity": pruning["sparsity"] if pruning else 0.0,
            "layer_importance": {str(k): v for k, v in importance.items()}}
    swaps = substitution_accuracy(model, spec, info, data.x_test, data.y_test, printer,
                                  cfg.compare_activations, cfg.compare_operators)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(out / "model.h5")
    shutil.copy(ckpt.vocab, out / "vocab.txt")
    (out / "teacher.json").write_text(json.dumps(info, indent=2) + "\n")
    report = {"accuracy": metrics["accuracy"], "precision": metrics["precision"],
              "recall": metrics["recall"], "f1": metrics["f1"], "teacher": info,
              "activation_substitution": swaps["activation"],
              "operator_substitution": swaps["operator"], "pruning": pruning, "test": metrics,
              "training": dataclasses.asdict(result) if dataclasses.is_dataclass(result)
              else vars(result), "seconds": time.time() - t0}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# Fine-tuned teacher from `{cfg.checkpoint}`", "",
             f"- test accuracy **{100 * metrics['accuracy']:.2f}%**, macro-F1 "
             f"{100 * metrics['f1']:.2f}% on {metrics['n']} examples",
             f"- FFN activation {info['activation']}, sequence {cfg.seq_len}, "
             f"{result.epochs_run} epochs in {result.seconds:.0f} s",
             f"- {spec.num_hidden_layers} encoder layers (dropped {dropped or 'none'}), "
             f"weights {cfg.bits}"
             + (f", {cfg.prune} pruning to {100 * info['sparsity']:.1f}% zeros" if cfg.prune
                else ""), "",
             "| swapped in (fine-tuned weights, no retraining) | test accuracy |", "|---|---|",
             f"| nothing (the fine-tuned model) | {100 * metrics['accuracy']:.2f}% |"]
    lines += [f"| FFN activation {k} | {100 * v:.2f}% |" for k, v in swaps["activation"].items()]
    lines += [f"| {OPERATOR_LABELS[k]} | {100 * v:.2f}% |" for k, v in swaps["operator"].items()]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return report
