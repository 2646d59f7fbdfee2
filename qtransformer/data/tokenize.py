"""WordPiece tokenisation (Hugging Face ``tokenizers``).

The vocabulary is trained on the training split (``vocab_size`` entries) or read from a
user's BERT ``vocab.txt``. Sequences are ``[CLS] tokens [SEP]`` padded/truncated to
``seq_len``. Where it runs: tokenisation and the embedding-table lookup run on the host (the
Zynq's ARM cores); the FPGA takes the embedded ``(seq_len, d_model)`` sequence, so the vocabulary
size costs host memory, not LUTs or BRAM.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tokenizers import BertWordPieceTokenizer

from ..errors import QTError

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_tokenizer(texts: list[str], vocab_size: int) -> BertWordPieceTokenizer:
    """Train a WordPiece vocabulary on ``texts``; the same texts give the same vocabulary."""
    if vocab_size < len(SPECIAL) + 1:
        raise QTError(f"vocab_size {vocab_size} too small (needs > {len(SPECIAL)})")
    tok = BertWordPieceTokenizer(lowercase=True)
    # tokenizers (<= 0.23.3 at least) numbers the "##x" word-continuation tokens in hash-map
    # order, and those ids break ties between equally frequent merges, so every training gave
    # a slightly different vocabulary (huggingface/tokenizers#1794). Registering them up front,
    # sorted, fixes their ids and with them the merges.
    tok.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2,
                            special_tokens=SPECIAL + _continuations(tok, texts),
                            show_progress=False)
    # Rebuilt from the plain vocabulary: the "##x" entries become ordinary WordPieces again
    # (not special tokens), and BERT's "[CLS] ... [SEP]" template is installed, as for a
    # loaded vocab.txt.
    return BertWordPieceTokenizer(tok.get_vocab(), lowercase=True)


def _continuations(tok: BertWordPieceTokenizer, texts: list[str]) -> list[str]:
    """The "##x" tokens training will create: every character seen after a word's first."""
    words = {w for t in texts
             for w, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(t))}
    return ["##" + c for c in sorted({c for w in words for c in w[1:]})]


def load_tokenizer(vocab_file: str | Path) -> BertWordPieceTokenizer:
    path = Path(vocab_file)
    if not path.is_file():
        raise QTError(f"vocabulary file not found: {path}")
    words = path.read_text(encoding="utf-8", errors="replace").split()
    missing = [s for s in ("[PAD]", "[UNK]", "[CLS]", "[SEP]") if s not in words]
    if missing:
        raise QTError(f"{path}: not a BERT WordPiece vocabulary (missing {', '.join(missing)})")
    if words[0] != "[PAD]":   # the padding mask (model.PAD_ID) and the IP take [PAD] as id 0
        raise QTError(f"{path}: [PAD] must be the first entry (id 0), not {words[0]!r}")
    return BertWordPieceTokenizer(str(path), lowercase=True)


def encode(tok: BertWordPieceTokenizer, texts: list[str], seq_len: int) -> np.ndarray:
    """Token ids ``(n, seq_len)`` int32, padded with ``[PAD]``."""
    tok.enable_truncation(seq_len)
    tok.enable_padding(length=seq_len, pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
    return np.array([e.ids for e in tok.encode_batch(texts)], dtype=np.int32)


def token_bodies(tok: BertWordPieceTokenizer, texts: list[str]) -> list[list[int]]:
    """Each text's token ids without ``[CLS]``/``[SEP]``, untruncated (to cut into windows)."""
    tok.no_truncation()
    tok.no_padding()
    return [e.ids[1:-1] for e in tok.encode_batch(texts)]
