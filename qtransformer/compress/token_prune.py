"""Token pruning (PoWER-BERT / SpAtten style): later blocks run on the top-k tokens.

After quantization-aware training the model is rebuilt with ``ModelConfig.token_keep`` set:
block ``token_block``'s attention layer then keeps the tokens that received the most
attention (see :mod:`qtransformer.layers.attention`). Every weight keeps its shape (the
position table is applied before pruning), so the trained weights are copied over and the
pruned model is fine-tuned briefly.
"""

from __future__ import annotations

import copy

import tensorflow as tf

from ..config import ModelConfig, QuantConfig
from ..errors import QTError


def keep_count(keep: float, seq_len: int) -> int:
    """Tokens kept: ``keep`` < 1 is a fraction of ``seq_len`` (rounded, at least 1), else a
    count."""
    k = max(1, round(keep * seq_len)) if keep < 1 else int(keep)
    if not 1 <= k < seq_len:
        raise QTError(f"cannot keep {k} of {seq_len} tokens: expected 1 <= keep < {seq_len}")
    return k


def copy_weights(src: tf.keras.Model, dst: tf.keras.Model) -> None:
    """Copy every weighted layer of ``dst`` from the layer of the same name in ``src``."""
    for layer in dst.layers:
        if layer.weights:
            layer.set_weights(src.get_layer(layer.name).get_weights())


def prune_tokens(model: tf.keras.Model, cfg: ModelConfig, quant: QuantConfig, keep: float,
                 block: int, features: int | None) -> tuple[tf.keras.Model, ModelConfig]:
    """The same model keeping ``keep`` tokens after block ``block``'s attention."""
    from ..model import build_model

    new_cfg = copy.deepcopy(cfg)
    new_cfg.token_keep, new_cfg.token_block = keep_count(keep, cfg.seq_len), block
    pruned = build_model(new_cfg, quant, features, name=model.name)
    copy_weights(model, pruned)
    return pruned, new_cfg
