"""Accuracy, per-class and macro precision / recall / F1, confusion matrix."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def classification_metrics(y_true: np.ndarray, logits: np.ndarray,
                           class_names: list[str]) -> dict:
    """Metrics of ``argmax(logits)`` against ``y_true``; macro averages are the headline."""
    y_pred = np.asarray(logits).argmax(axis=-1)
    labels = list(range(len(class_names)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                    average="macro", zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(mp),
        "recall": float(mr),
        "f1": float(mf),
        "per_class": {name: {"precision": float(p[i]), "recall": float(r[i]),
                             "f1": float(f[i]), "support": int(s[i])}
                      for i, name in enumerate(class_names)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "n": int(len(y_true)),
    }


def accuracy_on_test(model, data, batch_size: int = 256) -> float:
    """Accuracy of ``model`` on ``data``'s test split (a quick before/after figure), per text
    where texts were cut into windows."""
    y, scores = data.per_text("test", model.predict(data.x_test, batch_size=batch_size,
                                                    verbose=0))
    return float((np.asarray(scores).argmax(-1) == y).mean())
