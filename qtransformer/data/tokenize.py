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
from tokenizers.processors import BertProcessing

from ..errors import QTError

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_tokenizer(texts: list[str], vocab_size: int) -> BertWordPieceTokenizer:
    if vocab_size < len(SPECIAL) + 1:
        raise QTError(f"vocab_size {vocab_size} too small (needs > {len(SPECIAL)})")
    tok = BertWordPieceTokenizer(lowercase=True)
    tok.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2,
                            special_tokens=SPECIAL, show_progress=False)
    # Training does not install BERT's "[CLS] ... [SEP]" template; loading a vocab.txt does.
    tok.post_processor = BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                        ("[CLS]", tok.token_to_id("[CLS]")))
    return tok


def load_tokenizer(vocab_file: str | Path) -> BertWordPieceTokenizer:
    path = Path(vocab_file)
    if not path.is_file():
        raise QTError(f"vocabulary file not found: {path}")
    words = path.read_text(encoding="utf-8", errors="replace").split()
    missing = [s for s in ("[PAD]", "[UNK]", "[CLS]", "[SEP]") if s not in words]
    if missing:
        raise QTError(f"{path}: not a BERT WordPiece vocabulary (missing {', '.join(missing)})")
    return BertWordPieceTokenizer(str(path), lowercase=True)


def encode(tok: BertWordPieceTokenizer, texts: list[str], seq_len: int) -> np.ndarray:
    """Token ids ``(n, seq_len)`` int32, padded with ``[PAD]``."""
    tok.enable_truncation(seq_len)
    tok.enable_padding(length=seq_len, pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
    return np.array([e.ids for e in tok.encode_batch(texts)], dtype=np.int32)
