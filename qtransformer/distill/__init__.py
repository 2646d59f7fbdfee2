"""Distillation from a fine-tuned teacher (an imported BERT) into the board-sized student.

* ``teacher``: the teacher run directory, checked before training; its logits on the texts;
* ``losses``: the prediction-layer (logit) loss on precomputed teacher logits;
* ``embedding``: the student's token/position tables from the teacher's (closed-form PCA);
* ``intermediate``: hidden-state and attention distillation with the teacher on the fly;
* ``stage``: the build's training stage with a teacher, choosing among the above.

Submodules are imported where used: the CLI checks a teacher before TensorFlow loads.
"""
