"""A transfer set for distillation: new inputs made from the training texts and labelled by
the teacher (Tang et al. 2019, "Distilling Task-Specific Knowledge from BERT into Simple Neural
Networks"; TinyBERT's data augmentation).

Why: a teacher's soft labels on the training texts alone add little when the student already
fits them. SST-2 trains on phrases (~13 tokens) and tests on sentences (~25 tokens, several
clauses), a gap gold labels cannot cover because no labels exist for new inputs: the teacher
supplies them. Each new example is one of

* a concatenation of 2-3 training texts (sentence-like length, mixed clauses), or
* one training text,

then every word is replaced by ``[MASK]`` with probability 0.1 and, with probability 0.25, an
n-gram (1-5 words) is cut from it (Tang et al.'s masking and n-gram sampling). Seeded.
"""

from __future__ import annotations

import numpy as np

MASK = "[MASK]"
P_CONCAT, P_MASK, P_NGRAM = 0.5, 0.1, 0.25


def augment_texts(texts: list[str], count: int, seed: int) -> list[str]:
    """``count`` new texts built from ``texts`` (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    words = [t.split() for t in texts]
    words = [w for w in words if w] or [["."]]
    out = []
    for _ in range(count):
        parts = 1 + int(rng.integers(1, 3)) if rng.random() < P_CONCAT else 1
        seq = [w for i in rng.integers(0, len(words), parts) for w in words[i]]
        seq = [MASK if rng.random() < P_MASK else w for w in seq]
        if len(seq) > 1 and rng.random() < P_NGRAM:
            n = int(rng.integers(1, min(5, len(seq)) + 1))
            start = int(rng.integers(0, len(seq) - n + 1))
            seq = seq[start:start + n]
        out.append(" ".join(seq))
    return out
