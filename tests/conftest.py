"""Shared fixtures: tiny model configs and small data files (tests stay fast on 2 cores)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SST2 = SHARED / "data" / "sst2"

TINY_FLAGS = ["--d-model", "8", "--heads", "2", "--ff-dim", "16", "--layers", "1",
              "--epochs", "2", "--quiet", "--no-hls"]


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    """A small two-class TSV with a header (SST-2 layout)."""
    good = ["a fine , warm film", "great fun and moving", "a charming delight", "smart and funny",
            "beautifully made", "wonderful acting"]
    bad = ["dull and lifeless", "a boring mess", "painfully slow", "flat , tired jokes",
           "an ugly failure", "tedious and dumb"]
    rows = [f"{s}\t1" for s in good * 4] + [f"{s}\t0" for s in bad * 4]
    path = tmp_path / "reviews.tsv"
    path.write_text("sentence\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


TINY_BERT_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "film", "good", "bad",
                   "movie", "it", "'", "s", ",", ".", "the", "and", "very", "slow", "charming",
                   "journey", "##s", "fun", "dull", "warm", "boring"]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT (hidden 16, 4 heads) written with transformers:
    config.json, model.safetensors, vocab.txt. Needs torch (the test extra)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    d = tmp_path_factory.mktemp("tiny_bert")
    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=len(TINY_BERT_WORDS), hidden_size=16,
                                  num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=32, max_position_embeddings=64)
    transformers.BertModel(cfg).save_pretrained(d)
    (d / "vocab.txt").write_text("\n".join(TINY_BERT_WORDS) + "\n")
    return d
