"""The embedded default: scikit-learn's bundled 8x8 digits (1,797 images, 10 classes).

It ships inside scikit-learn, so the default run needs no download. Each image becomes a
token sequence: its 8 rows (8 pixels each) or its 16 2x2 patches (4 pixels each). Pixels are
0..16, scaled by 1/16, so inputs are exact on a 4-fractional-bit grid.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from ..config import DataConfig
from ..errors import QTError
from .dataset import Dataset
from .split import split


def _tokens(images: np.ndarray, patch: int) -> np.ndarray:
    n = images.shape[0]
    if patch == 0:  # rows
        return images.reshape(n, 8, 8)
    grid = images.reshape(n, 8 // patch, patch, 8 // patch, patch).transpose(0, 1, 3, 2, 4)
    return grid.reshape(n, (8 // patch) ** 2, patch * patch)


def load(cfg: DataConfig, seed: int, patch: int = 0) -> Dataset:
    bunch = load_digits()
    x = _tokens(bunch.images.astype(np.float32) / 16.0, patch)
    y = bunch.target.astype(np.int64)
    name = "digits" if patch == 0 else "digits-patches"
    if cfg.seq_len not in (None, x.shape[1]):
        raise QTError(f"--seq-len {cfg.seq_len}: {name} images are {x.shape[1]} tokens each; "
                      "--seq-len applies to text files")
    x, y, x_test, y_test = split(x, y, cfg.test_fraction, seed)
    x_train, y_train, x_val, y_val = split(x, y, cfg.val_fraction / (1 - cfg.test_fraction), seed)
    if cfg.max_examples:
        x_train, y_train = x_train[: cfg.max_examples], y_train[: cfg.max_examples]
    return Dataset(name, x_train, y_train, x_val, y_val, x_test, y_test,
                   [str(i) for i in range(10)], "patches")
