"""Intermediate-layer distillation (TinyBERT, TernaryBERT): the student's hidden states and
attention maps learn from the teacher's, alongside the logit loss.

"Where shapes allow": both models must read the same token ids (the student uses the teacher's
vocabulary), so position ``t`` means the same WordPiece in both. Widths and head counts may
differ:

* hidden states: student block ``i`` (its output, the residual stream) goes through a learnt
  linear map to the teacher's width and is compared with teacher layer ``g(i)`` by MSE over
  real tokens, relative to the teacher's mean square (so the weight is scale-free);
* attention: both sides' probabilities are averaged over heads (the student has 4 heads, a
  MiniLM teacher 12) and compared by squared error summed over keys, averaged over real
  queries (TinyBERT uses MSE on attention too);
* ``g(i) = round((i + 1) * L_teacher / L_student) - 1``: TinyBERT's uniform layer map.

The teacher runs on the fly, each batch cut to its longest sentence (batches are grouped by
length), because caching its hidden states for 60k sentences would take gigabytes.
"""

from __future__ import annotations

import tensorflow as tf

from ..errors import QTError
from ..layers import pad_mask_of
from .losses import logit_loss


def layer_map(student_layers: int, teacher_layers: int) -> list[tuple[int, int]]:
    """``[(student block, teacher layer), ...]``, TinyBERT's uniform map."""
    return [(i, max(0, round((i + 1) * teacher_layers / student_layers) - 1))
            for i in range(student_layers)]


def _block_output(model: tf.keras.Model, i: int):
    """The tensor leaving student block ``i`` (the last layer named ``block{i}_*``)."""
    names = [layer.name for layer in model.layers if layer.name.startswith(f"block{i}_")]
    if not names:
        raise QTError(f"student has no block {i}")
    return model.get_layer(names[-1]).output


def _teacher_layers(teacher: tf.keras.Model) -> int:
    return sum(1 for layer in teacher.layers if layer.name.endswith("_attn"))


class IntermediateDistiller(tf.keras.Model):
    """Trains ``student`` (a fixed-length token model) against a frozen ``teacher`` (our BERT
    with a variable sequence length). ``fit`` it on ``(token ids, labels)`` batches;
    ``evaluate`` reports the student's own loss and accuracy."""

    def __init__(self, student: tf.keras.Model, teacher: tf.keras.Model, pad_id: int,
                 alpha: float, temperature: float, hidden_weight: float,
                 attention_weight: float, **kwargs):
        super().__init__(**kwargs)
        self.student, self.teacher, self.pad_id = student, teacher, pad_id
        self.alpha, self.temperature = alpha, temperature
        self.hidden_weight, self.attention_weight = hidden_weight, attention_weight
        teacher.trainable = False
        self.pairs = tuple(self._pairs(student, teacher))     # a tuple: Keras wraps lists
        # the student's own attention hides [PAD] keys unless it was built with --no-pad-mask
        s_mask = pad_mask_of(student)   # the student's own id: its forward pass masks that one
        self.s_pad_id = None if s_mask is None else s_mask.pad_id
        self.s_probe = tf.keras.Model(student.input, [
            student.output, *[_block_output(student, i) for i, _ in self.pairs],
            *[student.get_layer(f"block{i}_ln1").output for i, _ in self.pairs]])
        self.t_probe = tf.keras.Model(teacher.input, [
            teacher.output, pad_mask_of(teacher).output,
            *[teacher.get_layer(f"block{j}_ln2").output for _, j in self.pairs],
            *[teacher.get_layer("embedding_ln" if j == 0 else f"block{j - 1}_ln2").output
              for _, j in self.pairs]])
        width = int(teacher.get_layer("embedding_ln").output.shape[-1])
        self.projections = []
        for i, _ in self.pairs:
            proj = tf.keras.layers.Dense(width, name=f"hidden_map{i}")
            proj.build((None, None, int(_block_output(student, i).shape[-1])))
            self.projections.append(proj)
        self.trackers = {n: tf.keras.metrics.Mean(name=n)
                         for n in ("loss", "logit_loss", "hidden_loss", "attention_loss")}
        self.accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    @staticmethod
    def _pairs(student, teacher) -> list[tuple[int, int]]:
        s_len = int(student.input.shape[1])
        t_len = int(teacher.get_layer("position").get_weights()[0].shape[0])
        if s_len > t_len:
            raise QTError(f"student sequence {s_len} is longer than the teacher's {t_len}; "
                          f"pass --seq-len {t_len} or less")
        s_layers = sum(1 for layer in student.layers
                       if layer.name.startswith("block") and layer.name.endswith("_attn"))
        pairs = layer_map(s_layers, _teacher_layers(teacher))
        for i, _ in pairs:
            if f"block{i}_ln1" not in {layer.name for layer in student.layers}:
                raise QTError(f"student block {i} has no attention (layer drop): "
                              "intermediate distillation needs every block's attention")
        return pairs

    @property
    def metrics(self):
        return [*self.trackers.values(), self.accuracy]

    def _teacher(self, x):
        """Teacher logits, mask, hidden states and head-averaged attention on ``x`` cut to its
        longest row."""
        length = tf.reduce_max(tf.reduce_sum(tf.cast(tf.not_equal(x, self.pad_id), tf.int32), 1))
        out = self.t_probe(x[:, : tf.maximum(length, 1)], training=False)
        n = len(self.pairs)
        logits, mask, hidden, att_in = out[0], out[1], out[2:2 + n], out[2 + n:]
        att = [tf.reduce_mean(self.teacher.get_layer(f"block{j}_attn").attention_probs(a, mask),
                              axis=1) for (_, j), a in zip(self.pairs, att_in)]
        return logits, mask, hidden, att

    def _distill_losses(self, y, x, training: bool):
        t_logits, mask, t_hidden, t_att = self._teacher(x)
        out = self.s_probe(x, training=training)
        n = len(self.pairs)
        logits, s_hidden, s_att_in = out[0], out[1:1 + n], out[1 + n:]
        length = tf.shape(mask)[1]
        tokens = tf.maximum(tf.reduce_sum(mask), 1.0)
        hidden = 0.0
        for proj, s, t in zip(self.projections, s_hidden, t_hidden):
            err = tf.reduce_mean(tf.square(proj(s[:, :length]) - t), -1)
            ref = tf.reduce_mean(tf.square(t), -1)
            hidden += tf.reduce_sum(err * mask) / tf.maximum(tf.reduce_sum(ref * mask), 1e-9)
        attention = 0.0
        s_mask = None if self.s_pad_id is None else \
            tf.cast(tf.not_equal(x, self.s_pad_id), tf.float32)
        for (i, _), a, t in zip(self.pairs, s_att_in, t_att):
            probs = self.student.get_layer(f"block{i}_attn").attention_probs(a, s_mask)
            s = tf.reduce_mean(probs, 1)
            err = tf.reduce_sum(tf.square(s[:, :length, :length] - t), -1)
            attention += tf.reduce_sum(err * mask) / tokens
        labels = tf.cast(y, tf.int32)
        logit = tf.reduce_mean(logit_loss(labels, t_logits, logits, self.alpha,
                                          self.temperature))
        total = logit + self.hidden_weight * hidden + self.attention_weight * attention
        return total, {"logit_loss": logit, "hidden_loss": hidden,
                       "attention_loss": attention}, logits

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            total, parts, logits = self._distill_losses(y, x, training=True)
        variables = self.student.trainable_variables + [
            v for p in self.projections for v in p.trainable_variables]
        self.optimizer.apply_gradients(zip(tape.gradient(total, variables), variables))
        return self._update(total, parts, y, logits)

    def test_step(self, data):
        x, y = data
        logits = self.student(x, training=False)
        loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
            tf.cast(y, tf.int32), logits, from_logits=True))
        self.trackers["loss"].update_state(loss)
        self.accuracy.update_state(y, logits)
        return {"loss": self.trackers["loss"].result(), "accuracy": self.accuracy.result()}

    def _update(self, total, parts, y, logits):
        self.trackers["loss"].update_state(total)
        for name, value in parts.items():
            self.trackers[name].update_state(value)
        self.accuracy.update_state(y, logits)
        return {m.name: m.result() for m in self.metrics}

    def call(self, x, training=False):
        return self.student(x, training=training)


def distill_intermediate(student, teacher, data, cfg, pad_id: int, verbose: bool = True,
                         printer=print):
    """Fit ``student`` on ``data`` with the logit + hidden + attention loss (``cfg`` a
    TrainConfig); the student ends with the best validation weights. Returns the training
    result and the layer map."""
    from ..data.batching import LengthBatches
    from ..layers.quant import enable_stochastic_training
    from ..train import fit

    seq = data.seq_len
    distiller = IntermediateDistiller(student, teacher, pad_id, cfg.distill_alpha,
                                      cfg.distill_temperature, cfg.distill_hidden_weight,
                                      cfg.distill_attention_weight)
    distiller.compile(optimizer=tf.keras.optimizers.Adam(cfg.learning_rate))
    enable_stochastic_training(distiller, student)
    printer(f"[distill] hidden states (weight {cfg.distill_hidden_weight}) and attention "
            f"(weight {cfg.distill_attention_weight}), student block -> teacher layer "
            f"{list(distiller.pairs)}; the teacher runs on every batch", flush=True)
    # Full-length batches (the student's input is fixed) grouped by length, so the teacher's
    # cut batches stay short.
    result = fit(distiller,
                 LengthBatches(data.x_train, data.y_train, cfg.batch_size, pad_id, cfg.seed,
                               multiple=seq),
                 LengthBatches(data.x_val, data.y_val, 256, pad_id, multiple=seq), cfg, verbose)
    return result, [list(p) for p in distiller.pairs]
