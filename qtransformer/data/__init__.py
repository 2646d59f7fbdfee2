"""Data stage: a built-in data set by name, or a user's text file, as a :class:`Dataset`.

Built-ins are a registry (name -> loader); anything else is read as a labelled text file.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from ..config import DataConfig
from ..errors import QTError
from . import digits, text
from .dataset import Dataset

BUILTIN: dict[str, Callable[[DataConfig, int], Dataset]] = {
    "digits": partial(digits.load, patch=0),
    "digits-patches": partial(digits.load, patch=2),
}


def load_dataset(cfg: DataConfig, seed: int) -> Dataset:
    """Load ``cfg.dataset`` (a built-in name or a file path) with a seeded split."""
    if not 0 < cfg.test_fraction < 1 or not 0 < cfg.val_fraction < 1:
        raise QTError("val_fraction and test_fraction must lie strictly between 0 and 1")
    if cfg.dataset in BUILTIN:
        return BUILTIN[cfg.dataset](cfg, seed)
    if not Path(cfg.dataset).exists() and "/" not in cfg.dataset and "." not in cfg.dataset:
        raise QTError(f"unknown dataset {cfg.dataset!r}: built-ins are "
                      f"{', '.join(sorted(BUILTIN))}, or pass a TSV/CSV file path")
    return text.load(cfg, seed)


__all__ = ["BUILTIN", "Dataset", "load_dataset"]
