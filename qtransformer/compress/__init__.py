"""Compression stages: quantization presets (and, later, pruning and search)."""
