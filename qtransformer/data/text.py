"""A user's text classification file -> token-id Dataset."""

from __future__ import annotations

import numpy as np

from ..config import DataConfig
from ..errors import QTError
from ..windows import MAX_WINDOWS, Windows, encode_windows
from .dataset import Dataset
from .split import split
from .textfile import read_labelled_text
from .tokenize import load_tokenizer, token_bodies, train_tokenizer

# Without --seq-len the sequence covers SEQ_PERCENTILE % of the training texts (in tokens,
# [CLS] and [SEP] included), rounded up to a multiple of SEQ_ROUND (the attention's score
# buffers and the estimate step in whole tokens; 8 keeps the lengths few and comparable), at
# least SEQ_MIN and at most SEQ_CAP. At 256 tokens the default design still fits the PYNQ-Z2
# by the estimate (so does 512, at an estimated 15.7 ms), and on BBC News' articles (95th
# percentile 986 tokens) macro-F1 rose from 89.8% at 64 to 95.6% (docs/benchmarks.md, text
# sets); the price is latency (~4 ms at 256, estimated) and training time, which grow with
# the length.
SEQ_PERCENTILE, SEQ_ROUND, SEQ_MIN, SEQ_CAP = 95, 8, 8, 256


def _label_index(labels: list[str]) -> list[str]:
    names = sorted(set(labels))
    try:  # numeric labels keep numeric order (0, 1, 2, 10 rather than 0, 1, 10, 2)
        names = sorted(names, key=float)
    except ValueError:
        pass
    return names


def _encode_labels(labels: list[str], names: list[str], where: str) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise QTError(f"{where}: labels {unknown[:5]} do not occur in the training file")
    return np.array([index[v] for v in labels], dtype=np.int64)


def load(cfg: DataConfig, seed: int) -> Dataset:
    read = lambda p: read_labelled_text(p, cfg.text_column, cfg.label_column, cfg.header)  # noqa: E731
    texts, labels = read(cfg.dataset)
    names = _label_index(labels)
    if len(names) < 2:
        raise QTError(f"{cfg.dataset}: only one class ({names[0]!r}); a classifier needs at "
                      "least two")
    y = _encode_labels(labels, names, cfg.dataset)
    x = np.array(texts, dtype=object)
    if cfg.test_file:
        tt, tl = read(cfg.test_file)
        x_test, y_test = np.array(tt, dtype=object), _encode_labels(tl, names, cfg.test_file)
    else:
        x, y, x_test, y_test = split(x, y, cfg.test_fraction, seed)
    if cfg.val_file:
        vt, vl = read(cfg.val_file)
        x_val, y_val = np.array(vt, dtype=object), _encode_labels(vl, names, cfg.val_file)
    else:
        x, y, x_val, y_val = split(x, y, cfg.val_fraction, seed)
    if cfg.max_examples:
        x, y = x[: cfg.max_examples], y[: cfg.max_examples]
    tok = load_tokenizer(cfg.vocab_file) if cfg.vocab_file else \
        train_tokenizer(list(x), cfg.vocab_size)
    bodies = {k: token_bodies(tok, list(t)) for k, t in
              (("train", x), ("val", x_val), ("test", x_test))}
    lengths = np.array([len(b) + 2 for b in bodies["train"]])   # [CLS] and [SEP] included
    seq_len, why = (cfg.seq_len, "--seq-len") if cfg.seq_len else \
        data_seq_len(lengths, cfg.max_seq_len)
    cut = float(np.mean(lengths > seq_len))
    most = cfg.windows or MAX_WINDOWS
    note = f"{why}; {cut:.1%} of training texts " + (
        "truncated" if most == 1 else f"longer, cut into up to {most} windows")
    special = [tok.token_to_id(s) for s in ("[CLS]", "[SEP]", "[PAD]")]
    enc, windows = {}, {}
    for k, lab in (("train", y), ("val", y_val), ("test", y_test)):
        ids, doc, weight = encode_windows(bodies[k], seq_len, most, *special)
        enc[k], windows[k] = (ids, lab[doc]), Windows(doc, weight, lab, most)
    windows = windows if most > 1 else None   # one window each: the texts, truncated
    return Dataset(cfg.dataset, *enc["train"], *enc["val"], *enc["test"], names,
                   "tokens", vocab_size=tok.get_vocab_size(), tokenizer=tok,
                   texts={"train": x, "val": x_val, "test": x_test},
                   seq_note=note, windows=windows)


def data_seq_len(lengths: np.ndarray, cap: int | None = None) -> tuple[int, str]:
    """The default sequence length for training texts of ``lengths`` tokens, and why;
    ``cap`` (e.g. a teacher's length) lowers SEQ_CAP."""
    cap = min(SEQ_CAP, cap or SEQ_CAP)
    p = int(np.ceil(np.percentile(lengths, SEQ_PERCENTILE)))
    n = min(cap, max(SEQ_MIN, -(-p // SEQ_ROUND) * SEQ_ROUND))
    why = f"{SEQ_PERCENTILE}th percentile of training lengths {p}, rounded up to {SEQ_ROUND}"
    return n, why + (f", capped at {cap}" if n == cap and p > cap else "")
