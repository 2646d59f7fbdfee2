"""BERT as our own layers (post-LN blocks), so an imported checkpoint can be quantized,
pruned and distilled with the rest of the flow.

``token_type_embeddings[0]`` is folded into the position table (single-segment inputs), and
the position table is cut to ``seq_len`` rows. Padding is masked inside the model
(:class:`PadMask`), so the model keeps the one token-id input our training loop feeds. The
input length is variable (up to ``seq_len``): padding is masked, so a batch cut to its longest
sentence gives the same outputs as one padded to ``seq_len``, at a fraction of the cost.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
from qkeras import QDense

from ..config import QuantConfig
from ..errors import QTError
from ..layers import (
    ClsPooling,
    MaskedMeanPooling,
    PadMask,
    QLayerNorm,
    QMultiHeadSelfAttention,
    QPositionEmbedding,
    QTokenEmbedding,
)
from ..quantize import LayerQuantizers, layer_quantizers
from .activations import ACTIVATIONS
from .checkpoint import BertSpec, embedding_tables


def _norm(eps: float, q: LayerQuantizers, name: str) -> QLayerNorm:
    return QLayerNorm(epsilon=eps, param_quantizer=q.norm_param, output_quantizer=q.activation,
                      name=name)


HW_OPS = ("softmax", "layernorm")


def _with_hw_ops(q: LayerQuantizers, hw_ops: tuple[str, ...]):
    """(attention quantizers, LayerNorm quantizers): ``q`` with the HLS path's fixed-point
    softmax (``"softmax"``: 10-bit scores, 9-bit probabilities, exp table) or integer
    LayerNorm (``"layernorm"``: 8-bit parameters and output) swapped in, the rest unchanged;
    so the accuracy cost of each operator form can be measured on its own."""
    unknown = set(hw_ops) - set(HW_OPS)
    if unknown:
        raise QTError(f"unknown operator form(s) {', '.join(sorted(unknown))}; known: "
                      f"{', '.join(HW_OPS)}")
    hw = layer_quantizers(QuantConfig(bits="8"))
    attn, norm = q, q
    if "softmax" in hw_ops:
        attn = dataclasses.replace(q, score=hw.score, prob_bits=hw.prob_bits,
                                   exp_bits=hw.exp_bits)
    if "layernorm" in hw_ops:
        norm = dataclasses.replace(q, norm_param=hw.norm_param, activation=hw.activation)
    return attn, norm


def build_bert(spec: BertSpec, seq_len: int, quant: QuantConfig | None = None,
               classes: int | None = None, pooling: str = "cls",
               activation: str | None = None, hw_ops: tuple[str, ...] = ()) -> tf.keras.Model:
    """Encoder outputs hidden states ``(batch, seq, hidden)``; with ``classes``, logits.
    ``hw_ops`` swaps in the HLS forms of softmax / LayerNorm alone (see :func:`_with_hw_ops`)."""
    if seq_len > spec.max_position_embeddings:
        raise QTError(f"seq_len {seq_len} exceeds max_position_embeddings "
                      f"{spec.max_position_embeddings}")
    q = layer_quantizers(quant or QuantConfig(bits="float"))
    qa, qn = _with_hw_ops(q, tuple(hw_ops))
    act = ACTIVATIONS[activation or spec.hidden_act]
    h, eps = spec.hidden_size, spec.layer_norm_eps
    ids = tf.keras.Input((None,), dtype="int32", name="tokens")
    mask = PadMask(spec.pad_token_id, name="pad_mask")(ids)
    x = QTokenEmbedding(spec.vocab_size, h, q.embedding, name="embedding")(ids)
    x = QPositionEmbedding(q.embedding, max_len=seq_len, name="position")(x)
    x = _norm(eps, qn, "embedding_ln")(x)
    for i in range(spec.num_hidden_layers):
        a = QMultiHeadSelfAttention(h, spec.num_attention_heads, qa.kernel, qa.bias,
                                    qa.activation, qa.score, qa.prob_bits, qa.exp_bits,
                                    name=f"block{i}_attn")(x, attention_mask=mask)
        x = _norm(eps, qn, f"block{i}_ln1")(tf.keras.layers.Add(name=f"block{i}_attn_add")([x, a]))
        f = QDense(spec.intermediate_size, kernel_quantizer=q.kernel, bias_quantizer=q.bias,
                   name=f"block{i}_ffn1")(x)
        f = tf.keras.layers.Activation(act, name=f"block{i}_ffn1_act")(f)
        f = QDense(h, kernel_quantizer=q.kernel, bias_quantizer=q.bias, name=f"block{i}_ffn2")(f)
        x = _norm(eps, qn, f"block{i}_ln2")(tf.keras.layers.Add(name=f"block{i}_ffn_add")([x, f]))
    if classes is None:
        return tf.keras.Model(ids, x, name="bert_encoder")
    pooled = ClsPooling(name="pool")(x) if pooling == "cls" else \
        MaskedMeanPooling(name="pool")([x, mask])
    out = tf.keras.layers.Dense(classes, name="classifier")(pooled)
    return tf.keras.Model(ids, out, name="bert_classifier")


def _linear(w: dict, name: str) -> list[np.ndarray]:
    return [w[f"{name}.weight"].T, w[f"{name}.bias"]]


def _ln(w: dict, name: str) -> list[np.ndarray]:
    return [w[f"{name}.weight"], w[f"{name}.bias"]]


def load_bert_weights(model: tf.keras.Model, spec: BertSpec, weights: dict) -> None:
    """Copy checkpoint tensors into the model built by :func:`build_bert`."""
    seq_len = int(model.get_layer("position").positions.shape[0])
    try:
        e = "embeddings"
        tokens, pos = embedding_tables(weights)
        model.get_layer("embedding").set_weights([tokens])
        model.get_layer("position").set_weights([pos[:seq_len]])
        model.get_layer("embedding_ln").set_weights(_ln(weights, f"{e}.LayerNorm"))
        for i in range(spec.num_hidden_layers):
            p = f"encoder.layer.{i}"
            attn = []
            for part in ("query", "key", "value"):
                attn += _linear(weights, f"{p}.attention.self.{part}")
            attn += _linear(weights, f"{p}.attention.output.dense")
            parts = {"attn": attn, "ln1": _ln(weights, f"{p}.attention.output.LayerNorm"),
                     "ffn1": _linear(weights, f"{p}.intermediate.dense"),
                     "ffn2": _linear(weights, f"{p}.output.dense"),
                     "ln2": _ln(weights, f"{p}.output.LayerNorm")}
            for part, values in parts.items():
                model.get_layer(f"block{i}_{part}").set_weights(values)
    except KeyError as exc:
        raise QTError(f"checkpoint is missing tensor {exc.args[0]}") from None
    except ValueError as exc:
        raise QTError(f"checkpoint tensor has the wrong shape ({exc})") from None
