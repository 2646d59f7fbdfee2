"""Build the quantized encoder-only transformer classifier.

Layout (pre-LayerNorm blocks, the form whose modules layer drop can score one by one)::

    tokens -> QTokenEmbedding            | patches -> QDense -> QActivation
           -> QPositionEmbedding
              (tokens: PadMask(tokens) masks [PAD] keys in every attention, and the mean)
           -> N x [ x + QMHSA(LN(x)) ;  x + FFN(LN(x)) ]     FFN = QDense-relu-QDense
              (--ode-steps: N x QODEBlock, one such block iterated as Euler steps)
              (token pruning: block ``token_block``'s attention also keeps the top-k tokens)
           -> LN -> mean/CLS pool -> QActivation -> QDense(classes) = logits

Layer names are stable (``block{i}_attn``, ``block{i}_ffn1``...) because later stages
(pruning, layer drop, HLS conversion) address layers by name.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf
from qkeras import QActivation, QDense

from .config import ModelConfig, QuantConfig
from .errors import QTError
from .layers import (
    ClsPooling,
    KeptMask,
    MaskedMeanPooling,
    PadMask,
    QCirculantDense,
    QLayerNorm,
    QMultiHeadSelfAttention,
    QODEBlock,
    QPositionEmbedding,
    QTokenEmbedding,
)
from .layers.circulant import check_block
from .layers.quant import quantizer_bits
from .quantize import LayerQuantizers, layer_quantizers

Quantizers = Callable[[str], LayerQuantizers]  # layer name -> its quantizers (overrides)
PAD_ID = 0   # [PAD]: first of data.tokenize.SPECIAL, and BERT's
MAX_EXACT_BITS = 24   # a float32 mantissa: wider fixed-point values are not exact in Keras


def _dense(x, units: int, qz: Quantizers, name: str, circulant: int = 1):
    """A quantized dense layer applied to ``x``; ``circulant`` > 1: block-circulant weights of
    that block (checked here against the layer's shape: one line naming it)."""
    q = qz(name)
    if circulant > 1:
        check_block(circulant, int(x.shape[-1]), units, name)
        return QCirculantDense(units, circulant, kernel_quantizer=q.kernel,
                               bias_quantizer=q.bias, name=name)(x)
    return QDense(units, kernel_quantizer=q.kernel, bias_quantizer=q.bias, name=name,
                  kernel_initializer="glorot_uniform")(x)


def _act(x, quantizer: str | None, name: str):
    return x if quantizer is None else QActivation(quantizer, name=name)(x)


def _norm(x, qz: Quantizers, name: str):
    q = qz(name)
    return QLayerNorm(param_quantizer=q.norm_param, output_quantizer=q.activation, name=name)(x)


def _ode_block(x, i: int, cfg: ModelConfig, qz: Quantizers, mask=None):
    """ODE block ``i``: one shared pre-LN block iterated as ``cfg.ode_steps`` Euler steps
    (layers/ode.py); its quantizers are those of ``block{i}_ode`` (quant overrides name it)."""
    q = qz(f"block{i}_ode")
    if q.state and quantizer_bits(q.state) > MAX_EXACT_BITS:
        raise QTError(f"block{i}_ode: an ODE state of {quantizer_bits(q.state)} bits (the "
                      "activation's + 7) is not exact in float32 training; use --act-bits "
                      f"{MAX_EXACT_BITS - 7} or fewer")
    return QODEBlock(cfg.d_model, cfg.heads, cfg.ff_dim, cfg.ode_steps,
                     kernel_quantizer=q.kernel, bias_quantizer=q.bias,
                     activation_quantizer=q.activation, ffn_act_quantizer=q.ffn_act,
                     norm_quantizer=q.norm_param, score_quantizer=q.score,
                     prob_bits=q.prob_bits, exp_bits=q.exp_bits, state_quantizer=q.state,
                     dropout=cfg.dropout, name=f"block{i}_ode")(x, attention_mask=mask)


def _block(x, i: int, cfg: ModelConfig, qz: Quantizers, mask=None):
    """One pre-LN block; a module listed in ``drop_attention``/``drop_mlp`` is left out."""
    if i not in cfg.drop_attention:
        x = _attention(x, i, cfg, qz, mask)
    if i not in cfg.drop_mlp:
        x = _mlp(x, i, cfg, qz)
    return x


def _attention(x, i: int, cfg: ModelConfig, qz: Quantizers, mask=None):
    h = _norm(x, qz, f"block{i}_ln1")
    q = qz(f"block{i}_attn")
    prune = cfg.token_keep if cfg.token_keep and i == cfg.token_block else None
    block = cfg.circulant_for(f"block{i}_attn")
    if block > 1:
        check_block(block, cfg.d_model, cfg.d_model, f"block{i}_attn")
    layer = QMultiHeadSelfAttention(cfg.d_model, cfg.heads, q.kernel, q.bias, q.activation,
                                    q.score, q.prob_bits, q.exp_bits, keep_tokens=prune,
                                    circulant=block, name=f"block{i}_attn")
    if prune:  # residual add and top-k token selection inside the layer (no dropout here)
        return layer([h, x], attention_mask=mask)
    a = layer(h, attention_mask=mask)
    if cfg.dropout:
        a = tf.keras.layers.Dropout(cfg.dropout, name=f"block{i}_attn_drop")(a)
    return tf.keras.layers.Add(name=f"block{i}_attn_add")([x, a])


def _mlp(x, i: int, cfg: ModelConfig, qz: Quantizers):
    h = _norm(x, qz, f"block{i}_ln2")
    f = _dense(h, cfg.ff_dim, qz, f"block{i}_ffn1", cfg.circulant_for(f"block{i}_ffn1"))
    act = qz(f"block{i}_ffn1_act").ffn_act
    f = _act(f, act, f"block{i}_ffn1_act") if act else \
        tf.keras.layers.Activation("relu", name=f"block{i}_ffn1_act")(f)
    f = _dense(f, cfg.d_model, qz, f"block{i}_ffn2", cfg.circulant_for(f"block{i}_ffn2"))
    f = _act(f, qz(f"block{i}_ffn2_act").activation, f"block{i}_ffn2_act")
    if cfg.dropout:
        f = tf.keras.layers.Dropout(cfg.dropout, name=f"block{i}_ffn_drop")(f)
    return tf.keras.layers.Add(name=f"block{i}_ffn_add")([x, f])


def _stem(cfg: ModelConfig, qz: Quantizers, features: int | None):
    if cfg.vocab_size:
        inp = tf.keras.Input((cfg.seq_len,), dtype="int32", name="tokens")
        x = QTokenEmbedding(cfg.vocab_size, cfg.d_model, qz("embedding").embedding,
                            name="embedding")(inp)
    else:
        inp = tf.keras.Input((cfg.seq_len, features), name="patches")
        x = _dense(inp, cfg.d_model, qz, "patch_proj", cfg.circulant_for("patch_proj"))
        x = _act(x, qz("patch_proj_act").activation, "patch_proj_act")
    return inp, QPositionEmbedding(qz("position").embedding, name="position")(x)


def _pool(x, cfg: ModelConfig, mask=None):
    """Mean (over the valid tokens when ``mask`` is given) or CLS pooling."""
    if cfg.pooling == "cls":
        return ClsPooling(name="pool")(x)
    if mask is not None:
        return MaskedMeanPooling(name="pool")([x, mask])
    return tf.keras.layers.GlobalAveragePooling1D(name="pool")(x)


def build_model(cfg: ModelConfig, quant: QuantConfig, features: int | None = None,
                name: str = "qtransformer") -> tf.keras.Model:
    """The Keras model; it outputs class logits. ``quant.overrides`` set per-layer widths."""
    cfg.validate()
    quant.validate()

    def qz(layer_name: str) -> LayerQuantizers:
        return layer_quantizers(quant.for_layer(layer_name))

    inp, x = _stem(cfg, qz, features)
    mask = PadMask(PAD_ID, name="pad_mask")(inp) if cfg.vocab_size and cfg.mask_padding \
        else None
    for i in range(cfg.layers):
        x = _ode_block(x, i, cfg, qz, mask) if cfg.ode_steps is not None else \
            _block(x, i, cfg, qz, mask)
        if cfg.token_keep and i == cfg.token_block and mask is not None:
            mask = KeptMask(cfg.token_keep, name=f"block{i}_kept_mask")(mask)
    x = _norm(x, qz, "final_ln")
    x = _pool(x, cfg, mask)
    x = _act(x, qz("pool_act").activation, "pool_act")
    out = _dense(x, cfg.classes, qz, "classifier", cfg.circulant_for("classifier"))
    return tf.keras.Model(inp, out, name=name)


def load_model(path) -> tf.keras.Model:
    """Load a saved model (h5 or .keras) with our layers and QKeras' registered."""
    from .layers import custom_objects

    return tf.keras.models.load_model(str(path), custom_objects=custom_objects(), compile=False)
