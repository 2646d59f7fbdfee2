"""BERT WordPiece tokenisation in plain Python, for the board's ARM cores.

The build tokenises with Hugging Face ``tokenizers`` (``BertWordPieceTokenizer(lowercase=True)``,
see :mod:`qtransformer.data.tokenize`), which has no wheel for the PYNQ-Z2's 32-bit ARM image.
This is the same algorithm, step for step as that library applies it: clean the text (drop
NUL, U+FFFD and control characters, whitespace to spaces), space out CJK ideographs, strip
accents (NFD, drop non-spacing marks), lower-case; split on whitespace and around punctuation;
greedy longest-match WordPiece with ``##`` continuations, ``[UNK]`` for a word that cannot be
covered or is longer than 100 characters; ``[CLS] ... [SEP]``, truncated and padded to the
sequence length. As in that library, a special token written in the text itself (``[PAD]``,
``[SEP]``, ... exactly, case included) is taken out first and keeps its id, so a literal
``[PAD]`` is padding to the mask on the board as it was in training. Tests check it against
``tokenizers`` id for id.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

MAX_WORD_CHARS = 100
# The special tokens BertWordPieceTokenizer registers (those the vocabulary has): it matches
# them in the raw text, before normalising, wherever they stand. data/tokenize.SPECIAL is the
# same list, but that module needs ``tokenizers``, which the board lacks: a test keeps the two
# equal.
SPECIAL = ("[UNK]", "[SEP]", "[CLS]", "[PAD]", "[MASK]")
# Unicode White_Space (what Rust's char::is_whitespace tests) among characters that survive
# the control-character filter.
_WHITESPACE = frozenset(" \t\n\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                        "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_control(c: str) -> bool:
    return c not in "\t\n\r" and unicodedata.category(c) in ("Cc", "Cf", "Cn", "Co", "Cs")


def _is_punctuation(c: str) -> bool:
    return (c.isascii() and not c.isalnum() and 33 <= ord(c) <= 126) or \
        unicodedata.category(c).startswith("P")


def _is_cjk(c: str) -> bool:
    cp = ord(c)
    return any(lo <= cp <= hi for lo, hi in _CJK)


def normalize(text: str) -> str:
    """BertNormalizer(lowercase=True): clean, space out CJK, strip accents, lower-case."""
    out = []
    for c in text:
        if c in ("\0", "\ufffd") or _is_control(c):
            continue
        if c in _WHITESPACE or c.isspace():
            out.append(" ")
        elif _is_cjk(c):
            out.append(f" {c} ")
        else:
            out.append(c)
    text = unicodedata.normalize("NFD", "".join(out))
    return "".join(c for c in text if unicodedata.category(c) != "Mn").lower()


def pre_tokenize(text: str) -> list[str]:
    """BertPreTokenizer: words split at whitespace, each punctuation character its own word."""
    words, cur = [], []
    for c in text:
        if c.isspace() or c in _WHITESPACE:
            if cur:
                words.append("".join(cur))
            cur = []
        elif _is_punctuation(c):
            if cur:
                words.append("".join(cur))
            words.append(c)
            cur = []
        else:
            cur.append(c)
    if cur:
        words.append("".join(cur))
    return words


class WordPiece:
    """``encode(texts, seq_len)`` -> token ids, as the build's tokenizer gives them."""

    def __init__(self, vocab: list[str]):
        self.vocab = {w: i for i, w in enumerate(vocab)}
        self.pad, self.unk = self.vocab["[PAD]"], self.vocab["[UNK]"]
        self.cls, self.sep = self.vocab["[CLS]"], self.vocab["[SEP]"]
        specials = [t for t in SPECIAL if t in self.vocab]
        self._special = re.compile("(" + "|".join(map(re.escape, specials)) + ")")

    @classmethod
    def from_file(cls, path: Path) -> WordPiece:
        # one token a line; tokenizers reads it the same way (a line's whitespace stripped)
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        return cls([ln.strip() for ln in lines])

    def word_ids(self, word: str) -> list[int]:
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            else:
                return [self.unk]
            start = end
        return ids

    def text_ids(self, text: str) -> list[int]:
        """The ids of ``text``'s pieces (no ``[CLS]``/``[SEP]`` added, no length)."""
        out: list[int] = []
        for k, part in enumerate(self._special.split(text)):
            if k % 2:                       # a special token, as written
                out.append(self.vocab[part])
            else:
                out += [i for w in pre_tokenize(normalize(part)) for i in self.word_ids(w)]
        return out

    def ids(self, text: str, seq_len: int) -> list[int]:
        body = self.text_ids(text)
        ids = [self.cls, *body[:max(seq_len - 2, 0)], self.sep][:seq_len]
        return ids + [self.pad] * (seq_len - len(ids))

    def encode(self, texts: list[str], seq_len: int) -> list[list[int]]:
        return [self.ids(t, seq_len) for t in texts]
