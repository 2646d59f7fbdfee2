"""Length-bucketed batches for token-id models whose sequence length is variable (the BERT
teacher).

SST-2's training phrases average ~13 WordPiece tokens; padded to 64, most of every batch is
padding, and a transformer's cost is linear (or worse) in the padded length. Grouping examples
of similar length and cutting each batch to its longest sequence (rounded up to a multiple of
8, so Keras sees a handful of shapes) makes fine-tuning and teacher inference several times
faster with the same results, since the model masks padding anyway.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def token_lengths(x: np.ndarray, pad_id: int) -> np.ndarray:
    """Length of each right-padded row: one past its last non-pad token."""
    real = np.asarray(x) != pad_id
    return np.where(real.any(1), real.shape[1] - np.argmax(real[:, ::-1], axis=1), 0)


class LengthBatches(tf.keras.utils.Sequence):
    """Batches of similar-length rows, each cut to its longest row.

    With ``seed`` (training) every epoch draws a new permutation, sorts it by length within
    pools of ``pool`` batches and shuffles the batch order, all from ``seed + epoch``; without
    it (prediction, validation) the rows go in length order. ``order`` lists the rows in the
    order the batches hold them.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray | None = None, batch_size: int = 32,
                 pad_id: int = 0, seed: int | None = None, multiple: int = 8, pool: int = 50):
        super().__init__()
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.multiple, self.pool, self.epoch = multiple, pool, 0
        self.lengths = np.maximum(token_lengths(x, pad_id), 1)
        self._plan()

    def _plan(self) -> None:
        n, b = len(self.x), self.batch_size
        if self.seed is None:
            order = np.argsort(self.lengths, kind="stable")
            self.batches = [order[i:i + b] for i in range(0, n, b)]
        else:
            rng = np.random.default_rng(self.seed + self.epoch)
            perm, size = rng.permutation(n), b * self.pool
            self.batches = []
            for start in range(0, n, size):
                chunk = perm[start:start + size]
                chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
                self.batches += [chunk[i:i + b] for i in range(0, len(chunk), b)]
            self.batches = [self.batches[i] for i in rng.permutation(len(self.batches))]
        self.order = np.concatenate(self.batches) if self.batches else np.zeros(0, int)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        idx = self.batches[i]
        cut = -(-int(self.lengths[idx].max()) // self.multiple) * self.multiple
        xb = self.x[idx, : min(cut, self.x.shape[1])]
        return (xb,) if self.y is None else (xb, self.y[idx])

    def on_epoch_end(self) -> None:
        if self.seed is not None:
            self.epoch += 1
            self._plan()


def predict_bucketed(model: tf.keras.Model, x: np.ndarray, pad_id: int = 0,
                     batch_size: int = 128) -> np.ndarray:
    """``model.predict(x)`` in length order with each batch cut to its longest row, returned
    in ``x``'s order (for a model with a variable sequence length that masks padding)."""
    batches = LengthBatches(x, None, batch_size, pad_id)
    out = np.asarray(model.predict(batches, verbose=0))
    result = np.empty_like(out)
    result[batches.order] = out
    return result
