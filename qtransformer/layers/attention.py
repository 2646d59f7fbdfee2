"""Quantized multi-head self-attention (hls4ml has no handler for Keras' MultiHeadAttention).

Every tensor the hardware stores has a QKeras quantizer:

* Q/K/V/output projection kernels and biases: ``kernel_quantizer`` / ``bias_quantizer``;
* projected Q, K, V, the per-head context and the layer output: ``activation_quantizer``;
* raw scores ``Q K^T`` (before the ``1/sqrt(d_head)`` scale, which lives in the exp table):
  ``score_quantizer``;
* probabilities: :func:`fixed_softmax` with ``prob_frac`` fractional bits.

With all quantizers ``None`` the layer is an ordinary float attention layer.

Block-circulant projections (``circulant=b`` > 1): each projection is trained as its defining
vectors ``{name}_vectors`` (see :mod:`.circulant`); the kernel the layer computes with is the
expanded matrix, quantized (still circulant), so everything downstream sees ordinary kernels.

Token pruning (``keep_tokens=k``, after PoWER-BERT / SpAtten): the layer is called on
``[LN(x), x]``, adds its output to the residual ``x`` and keeps the ``k`` tokens that
received the most attention (probabilities summed over heads and the token queries, padding
rows' queries left out so that their values never steer the choice; ties go to the lower
position), in their original order, so every later layer runs on ``k`` tokens. The
residual add lives in this layer because the ranking comes from its probabilities: one HLS
function computes both, and hls4ml layers have a single output.
"""

from __future__ import annotations

import math

import tensorflow as tf

from .circulant import add_vectors, check_block, check_quantizer, expand
from .quant import apply, make_quantizer
from .softmax import exp_table, fixed_softmax, ste


class QMultiHeadSelfAttention(tf.keras.layers.Layer):
    """Self-attention over a ``(batch, seq, d_model)`` sequence."""

    def __init__(self, d_model: int, heads: int, kernel_quantizer: str | None = None,
                 bias_quantizer: str | None = None, activation_quantizer: str | None = None,
                 score_quantizer: str | None = None, prob_bits: int | None = None,
                 exp_bits: int = 12, keep_tokens: int | None = None, circulant: int = 1,
                 **kwargs):
        super().__init__(**kwargs)
        if d_model % heads:
            raise ValueError(f"d_model={d_model} is not divisible by heads={heads}")
        self.d_model, self.heads, self.d_head = d_model, heads, d_model // heads
        self.kernel_quantizer, self.bias_quantizer = kernel_quantizer, bias_quantizer
        self.activation_quantizer, self.score_quantizer = activation_quantizer, score_quantizer
        self.prob_bits, self.exp_bits = prob_bits, exp_bits
        self.keep_tokens = keep_tokens
        self.circulant = int(circulant)
        if self.circulant > 1:
            check_quantizer(kernel_quantizer, self.name)
        self.scale = 1.0 / math.sqrt(self.d_head)
        self._kq, self._bq = make_quantizer(kernel_quantizer), make_quantizer(bias_quantizer)
        self._aq, self._sq = make_quantizer(activation_quantizer), make_quantizer(score_quantizer)
        self.fixed = self._sq is not None and prob_bits is not None
        if self.fixed:
            self.score_bits = int(self._sq.bits)
            self.score_frac = int(self._sq.bits) - int(self._sq.integer) - 1
            self.exp_table = exp_table(self.score_bits, self.score_frac, self.scale, exp_bits)

    def build(self, input_shape):
        if self.keep_tokens:
            input_shape = input_shape[0]
        d = int(input_shape[-1])
        b = self.circulant
        self._index = {}
        for name, n_in in (("query", d), ("key", d), ("value", d), ("output", self.d_model)):
            if b > 1:
                check_block(b, n_in, self.d_model, f"{self.name} ({name} projection)")
                vectors, self._index[name] = add_vectors(self, f"{name}_vectors", n_in,
                                                         self.d_model, b)
                setattr(self, f"{name}_vectors", vectors)
            else:
                setattr(self, f"{name}_kernel",
                        self.add_weight(name=f"{name}_kernel", shape=(n_in, self.d_model),
                                        initializer="glorot_uniform"))
            setattr(self, f"{name}_bias",
                    self.add_weight(name=f"{name}_bias", shape=(self.d_model,),
                                    initializer="zeros"))
        super().build(input_shape)

    def get_prunable_weights(self) -> list:
        """TF-MOT's PrunableLayer hook: the four projection kernels (biases stay dense);
        circulant projections are not pruned (magnitude/block pruning refuses them)."""
        if self.circulant > 1:
            return []
        return [self.query_kernel, self.key_kernel, self.value_kernel, self.output_kernel]

    def kernel(self, name: str) -> tf.Tensor:
        """Projection ``name``'s float kernel (a circulant one expanded from its vectors)."""
        if self.circulant > 1:
            return expand(getattr(self, f"{name}_vectors"), self._index[name])
        return getattr(self, f"{name}_kernel")

    def quantized_weights(self) -> dict[str, tf.Tensor]:
        """The weights as the hardware sees them (after their quantizers)."""
        out = {}
        for name in ("query", "key", "value", "output"):
            out[f"{name}_kernel"] = apply(self._kq, self.kernel(name))
            out[f"{name}_bias"] = apply(self._bq, getattr(self, f"{name}_bias"))
        return out

    def _project(self, x, w, name):
        y = tf.einsum("bsd,de->bse", x, w[f"{name}_kernel"]) + w[f"{name}_bias"]
        return apply(self._aq, y)

    def _split(self, x):
        b, s = tf.shape(x)[0], tf.shape(x)[1]
        return tf.transpose(tf.reshape(x, (b, s, self.heads, self.d_head)), (0, 2, 1, 3))

    def attention_probs(self, x, attention_mask=None):
        """Per-head probabilities ``(batch, heads, seq, seq)``; token pruning reads these."""
        w = self.quantized_weights()
        q = self._split(self._project(x, w, "query"))
        k = self._split(self._project(x, w, "key"))
        return self._probs(q, k, attention_mask)

    def _probs(self, q, k, attention_mask=None):
        scores = tf.einsum("bhqd,bhkd->bhqk", q, k)
        keep = None
        if attention_mask is not None:  # (batch, seq) of 1 = token, 0 = padding
            keep = tf.cast(attention_mask, tf.bool)[:, None, None, :]
        if self.fixed:
            scores = self._sq(scores)
        logits = scores * self.scale
        if keep is not None:
            logits = tf.where(keep, logits, tf.float32.min)
        soft = tf.nn.softmax(logits, axis=-1)
        if not self.fixed:
            return soft
        prob_frac = self.prob_bits - 1
        return ste(fixed_softmax(scores, self.exp_table, self.score_frac, prob_frac, keep), soft)

    def call(self, inputs, attention_mask=None):
        """``attention_mask`` (optional, ``(batch, seq)``, 1 = attend) hides padding keys.
        With ``keep_tokens``, ``inputs`` is ``[LN(x), x]`` (see the module docstring)."""
        x, resid = inputs if self.keep_tokens else (inputs, None)
        w = self.quantized_weights()
        q = self._split(self._project(x, w, "query"))
        k = self._split(self._project(x, w, "key"))
        v = self._split(self._project(x, w, "value"))
        probs = self._probs(q, k, attention_mask)
        ctx = apply(self._aq, tf.einsum("bhqk,bhkd->bhqd", probs, v))
        b, s = tf.shape(x)[0], tf.shape(x)[1]
        ctx = tf.reshape(tf.transpose(ctx, (0, 2, 1, 3)), (b, s, self.d_model))
        out = self._project(ctx, w, "output")
        if not self.keep_tokens:
            return out
        return select_tokens(resid + out, received_attention(probs, attention_mask),
                             self.keep_tokens)

    def compute_output_shape(self, input_shape):
        if self.keep_tokens:
            return (input_shape[0][0], self.keep_tokens, self.d_model)
        return tuple(input_shape[:-1]) + (self.d_model,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(d_model=self.d_model, heads=self.heads, kernel_quantizer=self.kernel_quantizer,
                   bias_quantizer=self.bias_quantizer,
                   activation_quantizer=self.activation_quantizer,
                   score_quantizer=self.score_quantizer, prob_bits=self.prob_bits,
                   exp_bits=self.exp_bits, keep_tokens=self.keep_tokens,
                   circulant=self.circulant)
        return cfg


def received_attention(probs, attention_mask=None):
    """Attention each token receives: ``probs`` (batch, heads, query, key) summed over heads
    and queries -> (batch, key). Exact in float32 for fixed-point probabilities (a sum of at
    most heads x seq multiples of 2^-prob_frac). Padding keys rank last."""
    probs = tf.stop_gradient(probs)
    if attention_mask is None:
        return tf.reduce_sum(probs, axis=[1, 2])
    valid = tf.cast(attention_mask, tf.bool)
    # only the tokens' queries: a padding row's query (its values are whatever the host
    # sent) would otherwise move the ranking of the tokens
    received = tf.reduce_sum(tf.where(valid[:, None, :, None], probs, 0.0), axis=[1, 2])
    return tf.where(valid, received, -1.0)


def select_tokens(x, scores, keep: int):
    """The ``keep`` rows of ``x`` (batch, seq, d) with the highest ``scores`` (batch, seq), in
    their original order; equal scores go to the lower position (``top_k`` is stable)."""
    idx = tf.sort(tf.math.top_k(scores, k=keep, sorted=True).indices, axis=-1)
    return tf.gather(x, idx, batch_dims=1)
