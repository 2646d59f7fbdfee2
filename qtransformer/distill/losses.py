"""Prediction-layer distillation (Hinton et al.; TinyBERT's prediction loss) on precomputed
teacher logits: ``alpha * CE(labels) + (1 - alpha) * T^2 * KL(teacher_T || student_T)``.

The teacher's logits travel packed next to the labels, so the student trains with the
ordinary Keras ``fit``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def pack(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """``(n, 1 + classes)``: the label, then the teacher's logits."""
    return np.concatenate([labels[:, None].astype(np.float32), logits.astype(np.float32)], 1)


def logit_loss(labels, teacher, logits, alpha: float, temperature: float):
    """Per-example ``alpha * CE + (1 - alpha) * T^2 * KL`` (labels int, logits float)."""
    ce = tf.keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    kl = tf.keras.losses.kl_divergence(tf.nn.softmax(teacher / temperature),
                                       tf.nn.softmax(logits / temperature))
    return alpha * ce + (1 - alpha) * temperature**2 * kl


def distill_loss(alpha: float = 0.5, temperature: float = 2.0):
    """A Keras loss on ``pack``-ed targets."""
    def loss(packed, logits):
        return logit_loss(tf.cast(packed[:, 0], tf.int32), packed[:, 1:], logits, alpha,
                          temperature)
    return loss


def packed_accuracy(packed, logits):
    labels = tf.cast(packed[:, 0], tf.int64)
    return tf.cast(tf.equal(tf.argmax(logits, -1), labels), tf.float32)


packed_accuracy.__name__ = "accuracy"
