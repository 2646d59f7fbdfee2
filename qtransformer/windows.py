"""Long texts as windows: each window is one pass of the IP, a text's scores are their mean.

A text longer than the sequence is cut into consecutive windows of ``seq_len - 2`` tokens, each
framed ``[CLS] ... [SEP]`` as a short text is. Training sees every window with its text's label;
the text's class is the argmax of its windows' softmax scores averaged with the windows' token
counts as weights (a short last window counts little). The board design does not change: the
host calls the IP once per window. Before windows a long text was cut at the sequence length,
and everything after it was lost (BBC News: 86% of articles cut at 256 tokens).

Shared by the build (:mod:`qtransformer.data.text`) and the board's host
(:mod:`qtransformer.deploy`), so both cut a text the same way; numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Windows per text at most when --windows is not given (a text build without a teacher). At 256
# tokens, 8 windows hold all but 7 of BBC News' 1,557 training articles whole (98% of their
# tokens; 20 Newsgroups: 66%, a few posts run to 46,000 tokens); a text beyond is cut after its
# 8th window, and the training set grows 2.4x on BBC, 1.9x on 20 Newsgroups.
MAX_WINDOWS = 8
LIMIT = 64   # --windows accepts 1 (cut at the sequence, as before) .. LIMIT


@dataclass
class Windows:
    """Where a split's rows come from when its texts were cut into windows."""

    doc: np.ndarray      # (rows,) the text (its index in the file) each window belongs to
    weight: np.ndarray   # (rows,) tokens in the window, [CLS] and [SEP] included
    y: np.ndarray        # (texts,) each text's label
    most: int            # windows per text at most (the build's --windows)

    @property
    def texts(self) -> int:
        return len(self.y)


def split_windows(body: Sequence[int], width: int, max_windows: int) -> list[list[int]]:
    """``body`` (a text's token ids, no ``[CLS]``/``[SEP]``) cut into consecutive windows of at
    most ``width`` ids, at most ``max_windows`` of them; an empty text is one empty window."""
    n = max(1, min(max_windows, -(-len(body) // width)))
    return [list(body[i * width:(i + 1) * width]) for i in range(n)]


def frame(window: Sequence[int], seq_len: int, cls: int, sep: int, pad: int) -> list[int]:
    """``[CLS] window [SEP]`` padded to ``seq_len``, as a short text is encoded."""
    ids = [cls, *window, sep]
    return ids + [pad] * (seq_len - len(ids))


def encode_windows(bodies: Sequence[Sequence[int]], seq_len: int, max_windows: int,
                   cls: int, sep: int, pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token ids ``(rows, seq_len)`` of every window of every body, each window's text index
    and its token count."""
    rows, doc, weight = [], [], []
    for d, body in enumerate(bodies):
        for w in split_windows(body, seq_len - 2, max_windows):
            rows.append(frame(w, seq_len, cls, sep, pad))
            doc.append(d)
            weight.append(len(w) + 2)
    return (np.array(rows, dtype=np.int32).reshape(-1, seq_len), np.array(doc, np.int64),
            np.array(weight, np.float64))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in numpy (the board's Python may lack scipy)."""
    z = np.exp(logits - logits.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def mean_scores(scores: np.ndarray, doc: np.ndarray, weight: np.ndarray,
                texts: int) -> np.ndarray:
    """Per-text scores ``(texts, classes)``: the token-weighted mean of its windows' rows of
    ``scores`` (softmax probabilities)."""
    out = np.zeros((texts, scores.shape[-1]))
    np.add.at(out, doc, scores * weight[:, None])
    total = np.zeros(texts)
    np.add.at(total, doc, weight)
    return out / total[:, None]
