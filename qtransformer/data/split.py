"""Deterministic stratified splits (same seed, same split, on any machine)."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split


def split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """Return ``(x_keep, y_keep, x_out, y_out)`` with ``fraction`` of the rows held out."""
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    xa, xb, ya, yb = train_test_split(x, y, test_size=fraction, random_state=seed,
                                      stratify=stratify)
    return xa, ya, xb, yb
