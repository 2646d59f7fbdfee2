"""The in-memory data set every later stage reads."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..windows import Windows, mean_scores, softmax


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
    # split -> where its rows come from, when long texts were cut into windows (rows are then
    # windows, ``y_*`` their texts' labels)
    windows: dict[str, Windows] | None = field(default=None, repr=False)

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

    def per_text(self, split: str, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(labels, scores) per example of ``split`` for its rows' ``logits``: where texts were
        cut into windows, each text's windows' softmax scores averaged (argmax = its class);
        otherwise the labels and logits as they are."""
        y = {"train": self.y_train, "val": self.y_val, "test": self.y_test}[split]
        w = (self.windows or {}).get(split)
        if w is None:
            return y, np.asarray(logits)
        return w.y, mean_scores(softmax(np.asarray(logits, np.float64)), w.doc,
                                w.weight, w.texts)

    def summary(self) -> dict:
        """Sizes in examples (texts); ``windows``: rows per split where texts were cut."""
        w = self.windows or {}
        n = {k: w[k].texts if k in w else len(y) for k, y in
             (("train", self.y_train), ("val", self.y_val), ("test", self.y_test))}
        return {"name": self.name, "kind": self.kind, "seq_len": self.seq_len,
                "classes": self.classes, "class_names": self.class_names, **n,
                "windows": {k: len(v.doc) for k, v in w.items()} or None,
                "vocab_size": self.vocab_size, "seq_note": self.seq_note}
