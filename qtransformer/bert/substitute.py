"""The accuracy cost of each hardware-friendly substitution on a fine-tuned BERT, without
retraining: the FFN activation (GELU -> piecewise-linear or ReLU) and the HLS forms of softmax
(fixed-point, exp table) and LayerNorm (integer), each swapped in alone.

``finetune`` reports these for the model it trains; ``python -m qtransformer.bert substitute
TEACHER_DIR --test-file F`` measures them for a teacher fine-tuned earlier.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

ACTIVATION_SWAPS = ("gelu_pwl", "relu")
OPERATOR_SWAPS = ("softmax", "layernorm")
OPERATOR_LABELS = {"softmax": "softmax -> HLS fixed-point softmax (10-bit scores, 9-bit probs)",
                   "layernorm": "LayerNorm -> HLS integer LayerNorm (8-bit params and output)"}


def substitution_accuracy(model, spec, info: dict, x: np.ndarray, y: np.ndarray,
                          printer=print, activations=ACTIVATION_SWAPS,
                          operators=OPERATOR_SWAPS) -> dict:
    """``{"activation": {name: acc}, "operator": {name: acc}}`` for ``model`` (built by
    ``build_bert`` from ``spec``; ``info`` holds its seq_len, pooling, activation, bits)."""
    from ..config import QuantConfig
    from ..data.batching import predict_bucketed
    from .encoder import build_bert

    quant = None if info["bits"] == "float" else QuantConfig(bits=info["bits"])
    classes = int(model.output.shape[-1])

    def accuracy(activation, hw_ops=()) -> float:
        other = build_bert(spec, int(info["seq_len"]), quant, classes, info["pooling"],
                           activation, hw_ops)
        other.set_weights(model.get_weights())
        logits = predict_bucketed(other, x, spec.pad_token_id)
        return float((logits.argmax(-1) == y).mean())

    out = {"activation": {}, "operator": {}}
    for act in activations:
        out["activation"][act] = accuracy(act)
        printer(f"[substitute] FFN activation {act}: test accuracy "
                f"{out['activation'][act]:.4f} (fine-tuned weights, no retraining)", flush=True)
    for op in operators:
        out["operator"][op] = accuracy(info["activation"], (op,))
        printer(f"[substitute] {OPERATOR_LABELS[op]}: test accuracy "
                f"{out['operator'][op]:.4f} (no retraining)", flush=True)
    return out


def teacher_spec(info: dict):
    """The encoder spec of a teacher run (``teacher.json``; older runs: its checkpoint)."""
    from .checkpoint import BertSpec, read_spec

    if "spec" in info:
        return BertSpec(**info["spec"])
    spec = read_spec(Path(info["checkpoint"]))
    return dataclasses.replace(spec, num_hidden_layers=int(info["layers"]))


def substitution_costs(teacher_dir: str | Path, test_file: str | Path,
                       text_column: str | None = None, label_column: str | None = None,
                       printer=print) -> dict:
    """The substitution costs of a teacher run directory on a labelled text file."""
    from ..data.text import _encode_labels
    from ..data.textfile import read_labelled_text
    from ..data.tokenize import encode
    from ..distill.teacher import load_teacher

    model, tok, info = load_teacher(teacher_dir)
    texts, labels = read_labelled_text(test_file, text_column, label_column)
    y = _encode_labels(labels, info["class_names"], str(test_file))
    x = encode(tok, texts, int(info["seq_len"]))
    base = float((model.predict(x, batch_size=128, verbose=0).argmax(-1) == y).mean())
    printer(f"[substitute] {teacher_dir}: test accuracy {base:.4f} on {len(y)} examples",
            flush=True)
    return {"accuracy": base, "examples": len(y),
            **substitution_accuracy(model, teacher_spec(info), info, x, y, printer)}
