"""Knowledge distillation from a fine-tuned teacher (e.g. an imported BERT) into the
board-sized student: loss = alpha * CE(labels) + (1 - alpha) * T^2 * KL(teacher_T || student_T)
on logits, as in Hinton et al. / TinyBERT's prediction-layer loss.

The teacher runs once over the training and validation texts (on the host, float); its logits
travel packed next to the labels, so the student trains with the ordinary Keras ``fit``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from .data import Dataset
from .data.tokenize import encode, load_tokenizer
from .errors import QTError


def load_teacher(directory: str | Path):
    """A fine-tuned teacher run directory (``python -m qtransformer.bert finetune``)."""
    from .model import load_model

    directory = Path(directory)
    meta = directory / "teacher.json"
    if not (directory / "model.h5").is_file() or not meta.is_file():
        raise QTError(f"{directory}: not a fine-tuned teacher (expected model.h5 and "
                      "teacher.json from 'python -m qtransformer.bert finetune')")
    info = json.loads(meta.read_text())
    return load_model(directory / "model.h5"), load_tokenizer(directory / "vocab.txt"), info


def teacher_logits(directory: str | Path, data: Dataset, batch_size: int = 128,
                   printer=print) -> dict[str, np.ndarray]:
    """Teacher logits for the train and val texts of a text Dataset."""
    if data.texts is None:
        raise QTError("distillation needs a text data set (the teacher reads the raw text)")
    model, tok, info = load_teacher(directory)
    if info["class_names"] != data.class_names:
        raise QTError(f"teacher classes {info['class_names']} differ from the data's "
                      f"{data.class_names}")
    out = {}
    for split in ("train", "val"):
        ids = encode(tok, list(data.texts[split]), int(info["seq_len"]))
        printer(f"[distill] teacher logits for {len(ids)} {split} examples", flush=True)
        out[split] = model.predict(ids, batch_size=batch_size, verbose=0)
    return out


def pack(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """``(n, 1 + classes)``: the label, then the teacher's logits."""
    return np.concatenate([labels[:, None].astype(np.float32), logits.astype(np.float32)], 1)


def distill_loss(alpha: float = 0.5, temperature: float = 2.0):
    def loss(packed, logits):
        labels = tf.cast(packed[:, 0], tf.int32)
        teacher = packed[:, 1:]
        ce = tf.keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        kl = tf.keras.losses.kl_divergence(tf.nn.softmax(teacher / temperature),
                                           tf.nn.softmax(logits / temperature))
        return alpha * ce + (1 - alpha) * temperature**2 * kl
    return loss


def packed_accuracy(packed, logits):
    labels = tf.cast(packed[:, 0], tf.int64)
    return tf.cast(tf.equal(tf.argmax(logits, -1), labels), tf.float32)


packed_accuracy.__name__ = "accuracy"
