"""The in-memory data set every later stage reads."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """Train/val/test arrays plus what the model needs to know about them.

    ``x`` is ``(n, seq, features)`` float for patch inputs, ``(n, seq)`` int32 for token ids.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    kind: str                       # "patches" or "tokens"
    vocab_size: int | None = None   # tokens only
    tokenizer: object | None = field(default=None, repr=False)
    texts: dict[str, np.ndarray] | None = field(default=None, repr=False)  # raw text per split
    seq_note: str | None = None     # how the sequence length was chosen (text)

    @property
    def seq_len(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def features(self) -> int | None:
        """Values per patch (patch inputs); None for token ids."""
        return int(self.x_train.shape[-1]) if self.kind == "patches" else None

    @property
    def classes(self) -> int:
        return len(self.class_names)

    def summary(self) -> dict:
        return {"name": self.name, "kind": self.kind, "seq_len": self.seq_len,
                "classes": self.classes, "class_names": self.class_names,
                "train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test),
                "vocab_size": self.vocab_size, "seq_note": self.seq_note}
