"""Hugging Face BERT checkpoints in the QKeras flow: import, verify, fine-tune, distil."""

from __future__ import annotations

from .. import quiet_tensorflow  # noqa: F401  (first: TensorFlow loads quietly)
from .checkpoint import BertSpec, Checkpoint, read_checkpoint
from .encoder import build_bert, load_bert_weights

__all__ = ["BertSpec", "Checkpoint", "build_bert", "import_bert", "load_bert_weights",
           "read_checkpoint"]


def import_bert(directory, seq_len: int = 128, classes: int | None = None, quant=None,
                pooling: str = "cls", activation: str | None = None):
    """Read a checkpoint directory and return ``(keras_model, checkpoint)``."""
    ckpt = read_checkpoint(directory)
    model = build_bert(ckpt.spec, seq_len, quant, classes, pooling, activation)
    load_bert_weights(model, ckpt.spec, ckpt.weights)
    return model, ckpt
