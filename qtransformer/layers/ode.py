"""A Neural-ODE encoder block: one weight-shared transformer block iterated as Euler steps.

After Okubo et al. (IEEE Access 2024), who iterate one block "while reusing the same
parameters" to keep every weight on chip: the block's function is that of a pre-LN block,
``f(x) = a + m(x + a)`` with ``a = MHSA(LN1(x))`` and ``m(y) = FFN(LN2(y))`` (so one step with
``h = 1`` is exactly the stacked block), and the layer runs ``steps`` explicit Euler steps::

    x_0 = Q(x),   x_{k+1} = Q(x_k + h f(x_k)),   h = round(2**H_FRAC / steps) / 2**H_FRAC

``h`` is ``1 / steps`` on a grid of ``H_FRAC`` fractional bits (exact for a power of two; the
hardware multiplies by an integer and shifts), fixed rather than learned, so a model trained
at ``N`` steps can be evaluated at any other ``N`` (:func:`with_steps`). ``Q`` is the state
quantizer (``state_quantizer``, a signed ``quantized_bits`` with ``alpha=1``): it maps the state
onto one fixed type, so the hardware's loop has one state type whatever the step. The update is
computed in float64, where every value is exact, and rounded half to even and clipped as
``AP_RND_CONV, AP_SAT`` does (gradient straight through). Without quantizers the block is a
float Neural ODE (``h = 1 / steps`` unrounded).

Images: the seed paper's hybrid is an ODE backbone followed by MHSA; here the iterated block
already holds the attention, so an image model is the patch projection, the ODE block(s) over
the patch sequence (digits-patches: 16 tokens of 2x2 pixels), the final LayerNorm, pooling and
the classifier, the same layout as a text model.

The sub-layers (``{name}_ln1``, ``{name}_attn``, ``{name}_ln2``, ``{name}_ffn1``,
``{name}_ffn1_act``, ``{name}_ffn2``, ``{name}_ffn2_act``) are our and QKeras' layers, held by
this one Keras layer: a model has one layer per ODE block, which the layer-kind registry plans
as one hardware block (``kinds/ode.py``), never as ``steps`` copies.
"""

from __future__ import annotations

import tensorflow as tf
from qkeras import QActivation, QDense

from .attention import QMultiHeadSelfAttention
from .norm import QLayerNorm, quantizer_grid
from .quant import make_quantizer

H_FRAC = 8          # fractional bits of the step size h
MAX_STEPS = 64      # more steps only lengthen the latency; beyond this it is a typo


def step_raw(steps: int) -> int:
    """``h`` of ``steps`` Euler steps as an integer over ``2**H_FRAC`` (at least 1)."""
    return max(1, round(2**H_FRAC / steps))


def check_steps(steps, where: str = "--ode-steps") -> int:
    """``steps`` as a valid step count, else ValueError naming ``where``."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"invalid {where} {steps!r}: expected an integer in 1..{MAX_STEPS} "
                         "(Euler steps of the shared block; each adds one block's latency)")
    return steps


class QODEBlock(tf.keras.layers.Layer):
    """``steps`` Euler steps of one shared pre-LN transformer block (module docstring)."""

    def __init__(self, d_model: int, heads: int, ff_dim: int, steps: int,
                 kernel_quantizer: str | None = None, bias_quantizer: str | None = None,
                 activation_quantizer: str | None = None, ffn_act_quantizer: str | None = None,
                 norm_quantizer: str | None = None, score_quantizer: str | None = None,
                 prob_bits: int | None = None, exp_bits: int = 12,
                 state_quantizer: str | None = None, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.d_model, self.heads, self.ff_dim = d_model, heads, ff_dim
        self.steps = check_steps(steps, f"{self.name} steps")
        self.kernel_quantizer, self.bias_quantizer = kernel_quantizer, bias_quantizer
        self.activation_quantizer, self.ffn_act_quantizer = activation_quantizer, ffn_act_quantizer
        self.norm_quantizer, self.score_quantizer = norm_quantizer, score_quantizer
        self.prob_bits, self.exp_bits, self.dropout = prob_bits, exp_bits, dropout
        self.state_quantizer = state_quantizer
        self.state_grid = quantizer_grid(make_quantizer(state_quantizer))
        if state_quantizer and self.state_grid is None:
            raise ValueError(f"{self.name}: the state quantizer must be a signed "
                             f"quantized_bits with alpha=1, not {state_quantizer!r}")
        n = self.name
        self.ln1 = QLayerNorm(param_quantizer=norm_quantizer,
                              output_quantizer=activation_quantizer, name=f"{n}_ln1")
        self.attn = QMultiHeadSelfAttention(d_model, heads, kernel_quantizer, bias_quantizer,
                                            activation_quantizer, score_quantizer, prob_bits,
                                            exp_bits, name=f"{n}_attn")
        self.ln2 = QLayerNorm(param_quantizer=norm_quantizer,
                              output_quantizer=activation_quantizer, name=f"{n}_ln2")
        self.ffn1 = QDense(ff_dim, kernel_quantizer=kernel_quantizer,
                           bias_quantizer=bias_quantizer, name=f"{n}_ffn1")
        self.ffn1_act = QActivation(ffn_act_quantizer, name=f"{n}_ffn1_act") \
            if ffn_act_quantizer else tf.keras.layers.Activation("relu", name=f"{n}_ffn1_act")
        self.ffn2 = QDense(d_model, kernel_quantizer=kernel_quantizer,
                           bias_quantizer=bias_quantizer, name=f"{n}_ffn2")
        self.ffn2_act = QActivation(activation_quantizer, name=f"{n}_ffn2_act") \
            if activation_quantizer else None
        self.drop = tf.keras.layers.Dropout(dropout, name=f"{n}_drop") if dropout else None

    @property
    def sublayers(self) -> dict[str, tf.keras.layers.Layer]:
        """The block's layers by role, in data-flow order."""
        out = {"ln1": self.ln1, "attn": self.attn, "ln2": self.ln2, "ffn1": self.ffn1,
               "ffn1_act": self.ffn1_act, "ffn2": self.ffn2}
        if self.ffn2_act is not None:
            out["ffn2_act"] = self.ffn2_act
        return out

    @property
    def h(self) -> float:
        """The step size (module docstring)."""
        if self.state_grid is None:
            return 1.0 / self.steps
        return step_raw(self.steps) / 2**H_FRAC

    def build(self, input_shape):
        seq_shape = tf.TensorShape(input_shape)
        ff_shape = seq_shape[:-1].concatenate([self.ff_dim])
        for layer, shape in ((self.ln1, seq_shape), (self.attn, seq_shape),
                             (self.ln2, seq_shape), (self.ffn1, seq_shape),
                             (self.ffn2, ff_shape)):
            with tf.name_scope(layer.name):
                layer.build(shape)
        super().build(input_shape)

    def get_prunable_weights(self) -> list:
        """TF-MOT's PrunableLayer hook: the attention projections and the FFN kernels."""
        return self.attn.get_prunable_weights() + [self.ffn1.kernel, self.ffn2.kernel]

    def quantize_state(self, v, dtype):
        """``Q`` of float64 values ``v`` (exact): round half to even onto the state grid and
        saturate, as ``AP_RND_CONV, AP_SAT`` does; the gradient passes straight through."""
        exact = tf.cast(v, dtype)
        if self.state_grid is None:
            return exact
        frac, lo, hi = self.state_grid
        raw = tf.clip_by_value(tf.round(v * 2.0**frac), lo, hi)
        return exact + tf.stop_gradient(tf.cast(raw * 2.0**-frac, dtype) - exact)

    def branches(self, x, training=None, attention_mask=None):
        """``a`` and ``m`` of one step (their sum is ``f(x)``); ``attention_mask`` (batch,
        seq), 1 = token, hides padding keys."""
        a = self.attn(self.ln1(x), attention_mask=attention_mask)
        if self.drop is not None:
            a = self.drop(a, training=training)
        m = self.ffn2(self.ffn1_act(self.ffn1(self.ln2(x + a))))
        if self.ffn2_act is not None:
            m = self.ffn2_act(m)
        if self.drop is not None:
            m = self.drop(m, training=training)
        return a, m

    def step(self, x, training=None, attention_mask=None):
        """One Euler step ``Q(x + h f(x))``, the sum exact in float64 before ``Q``."""
        a, m = self.branches(x, training, attention_mask)
        f = tf.cast(a, tf.float64) + tf.cast(m, tf.float64)
        return self.quantize_state(tf.cast(x, tf.float64) + self.h * f, x.dtype)

    def call(self, x, training=None, attention_mask=None):
        x = self.quantize_state(tf.cast(x, tf.float64), x.dtype)
        for _ in range(self.steps):
            x = self.step(x, training, attention_mask)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        cfg = super().get_config()
        cfg.update(d_model=self.d_model, heads=self.heads, ff_dim=self.ff_dim,
                   steps=self.steps, kernel_quantizer=self.kernel_quantizer,
                   bias_quantizer=self.bias_quantizer,
                   activation_quantizer=self.activation_quantizer,
                   ffn_act_quantizer=self.ffn_act_quantizer,
                   norm_quantizer=self.norm_quantizer, score_quantizer=self.score_quantizer,
                   prob_bits=self.prob_bits, exp_bits=self.exp_bits,
                   state_quantizer=self.state_quantizer, dropout=self.dropout)
        return cfg


def with_steps(model: tf.keras.Model, steps: int) -> tf.keras.Model:
    """A copy of ``model`` whose ODE blocks run ``steps`` Euler steps (same weights: a model
    trained at one ``N`` evaluated at another, the speed / accuracy trade-off)."""
    check_steps(steps, "steps")
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "QODEBlock":
            layer["config"]["steps"] = steps
    from . import custom_objects

    clone = tf.keras.Model.from_config(config, custom_objects=custom_objects())
    clone.set_weights(model.get_weights())
    return clone


__all__ = ["H_FRAC", "MAX_STEPS", "QODEBlock", "check_steps", "step_raw", "with_steps"]
