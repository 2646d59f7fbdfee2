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
