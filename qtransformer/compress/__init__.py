"""Compression after QAT: the method registry (``methods.py``: magnitude and block pruning,
token pruning, layer drop) and their implementations (``prune.py``, ``token_prune.py``,
``layer_drop.py``). Quantizer presets are part of defining a model (``qtransformer/quantize.py``);
the bit-width search is ``qtransformer/search``."""
