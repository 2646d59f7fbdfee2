"""Layer drop after "What Matters in Transformers? Not All Attention is Needed" (He et al.
2024): a module's importance is ``S = 1 - cos(X, Y)``, ``X`` its input and
``Y = X + module(LN(X))`` (residual included), averaged over calibration tokens. The least
important modules are removed from the graph (so they vanish from the HLS design too).

Modes: ``attention`` (Attention Drop), ``mlp`` (MLP Drop), ``block`` (whole blocks), and
``joint`` (attention and MLP scores ranked together, the lowest dropped).
"""

from __future__ import annotations

import copy

import numpy as np
import tensorflow as tf

from ..config import ModelConfig, QuantConfig
from ..errors import QTError
from ..layers import pad_mask_of


def cosine_importance(x: np.ndarray, y: np.ndarray) -> float:
    """``1 - mean cos(x, y)`` over tokens (rows of the last axis): how much a module changes
    its input; a low score means dropping it costs little (layer drop, BERT's too)."""
    x = x.reshape(-1, x.shape[-1]).astype(np.float64)
    y = y.reshape(-1, y.shape[-1]).astype(np.float64)
    cos = (x * y).sum(-1) / np.maximum(np.linalg.norm(x, axis=-1) * np.linalg.norm(y, axis=-1),
                                       1e-12)
    return float(1.0 - cos.mean())


def _io(model: tf.keras.Model, module: str, i: int):
    """(input, output) tensors of a module's residual branch in block ``i``."""
    if module == "attention":
        return model.get_layer(f"block{i}_ln1").input, model.get_layer(f"block{i}_attn_add").output
    return model.get_layer(f"block{i}_ln2").input, model.get_layer(f"block{i}_ffn_add").output


def importance(model: tf.keras.Model, cfg: ModelConfig, x_calib: np.ndarray) -> dict:
    """``{"attention": {i: S}, "mlp": {i: S}, "block": {i: S}}`` for modules still present."""
    probes, keys = [], []
    for i in range(cfg.layers):
        for module, dropped in (("attention", cfg.drop_attention), ("mlp", cfg.drop_mlp)):
            if i not in dropped:
                probes += list(_io(model, module, i))
                keys.append((module, i))
    outs = tf.keras.Model(model.inputs, probes).predict(x_calib, batch_size=256, verbose=0)
    valid = _valid_tokens(model, x_calib)
    scores: dict = {"attention": {}, "mlp": {}, "block": {}}
    ios = {}
    for n, (module, i) in enumerate(keys):
        x, y = outs[2 * n], outs[2 * n + 1]
        if valid is not None and x.shape[:2] == valid.shape:   # the tokens, not [PAD]
            x, y = x[valid], y[valid]
        scores[module][i] = cosine_importance(x, y)
        first, last = ios.get(i, (x, y))
        ios[i] = (first, y)
    for i, (x, y) in ios.items():
        scores["block"][i] = cosine_importance(x, y)
    return scores


def _valid_tokens(model: tf.keras.Model, x_calib: np.ndarray) -> np.ndarray | None:
    """``(n, seq)`` True for a token, False for ``[PAD]``, when the model masks padding (its
    padded rows never reach the output, so they say nothing of a module's importance)."""
    mask = pad_mask_of(model)
    return None if mask is None else np.asarray(x_calib) != mask.pad_id


def choose(scores: dict, mode: str, count: int) -> tuple[list[int], list[int]]:
    """Blocks whose attention / MLP to drop: the ``count`` lowest-scoring modules."""
    if mode == "joint":
        ranked = sorted([(s, "attention", i) for i, s in scores["attention"].items()]
                        + [(s, "mlp", i) for i, s in scores["mlp"].items()])
    elif mode == "block":
        ranked = sorted((s, "block", i) for i, s in scores["block"].items())
    else:
        ranked = sorted((s, mode, i) for i, s in scores[mode].items())
    if count > len(ranked):
        raise QTError(f"cannot drop {count} {mode} modules: the model has {len(ranked)}")
    attn, mlp = [], []
    for _, module, i in ranked[:count]:
        if module in ("attention", "block"):
            attn.append(i)
        if module in ("mlp", "block"):
            mlp.append(i)
    return sorted(attn), sorted(mlp)


def drop_modules(model: tf.keras.Model, cfg: ModelConfig, quant: QuantConfig,
                 attention: list[int], mlp: list[int],
                 features: int | None) -> tuple[tf.keras.Model, ModelConfig]:
    """Rebuild without the given modules and copy every remaining layer's weights by name."""
    from ..model import build_model
    from .token_prune import copy_weights

    new_cfg = copy.deepcopy(cfg)
    new_cfg.drop_attention = sorted(set(cfg.drop_attention) | set(attention))
    new_cfg.drop_mlp = sorted(set(cfg.drop_mlp) | set(mlp))
    smaller = build_model(new_cfg, quant, features, name=model.name)
    copy_weights(model, smaller)
    return smaller, new_cfg
