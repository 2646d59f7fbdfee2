"""The build's training stage when a teacher is given: embedding transfer, an optional transfer
set of augmented texts labelled by the teacher, then either logit distillation on precomputed
teacher logits (cheap, any student vocabulary) or logit + hidden + attention distillation with
the teacher on the fly (the teacher's vocabulary)."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import BuildConfig
from ..data import Dataset
from ..train import Objective, TrainResult, train


def logit_objective(data: Dataset, logits: dict[str, np.ndarray], t) -> Objective:
    """Labels packed with the teacher's logits, the distillation loss, packed accuracy."""
    from .losses import distill_loss, pack, packed_accuracy

    return Objective(pack(data.y_train, logits["train"]), pack(data.y_val, logits["val"]),
                     distill_loss(t.distill_alpha, t.distill_temperature), packed_accuracy)


def distill_student(student, data: Dataset, cfg: BuildConfig, verbose: bool = True,
                    printer=print) -> tuple[TrainResult, dict]:
    """Train ``student`` from ``cfg.teacher``; returns the training result and the report's
    ``distillation`` section."""
    from .teacher import check_classes, load_teacher, teacher_logits

    t = cfg.train
    teacher, tokenizer, info = load_teacher(cfg.teacher)
    check_classes(info, data)
    section = {"teacher": str(cfg.teacher), "parts": list(t.distill), "alpha": t.distill_alpha,
               "temperature": t.distill_temperature}
    printer(f"[distill] from {cfg.teacher}: {', '.join(t.distill)}; alpha {t.distill_alpha}, "
            f"temperature {t.distill_temperature}", flush=True)
    if "embedding" in t.distill:
        from .embedding import transfer_embeddings

        e = section["embedding"] = transfer_embeddings(student, teacher)
        printer(f"[distill] embedding tables = the teacher's in its top {cfg.model.d_model} "
                f"principal directions ({100 * e['variance_kept']:.1f}% of its variance)",
                flush=True)
    extra = None
    if t.distill_augment:
        extra = _transfer_set(data, teacher, tokenizer, info, t, printer)
        section["transfer_set"] = len(extra[1])
    if not t.intermediate_distillation():
        logits = teacher_logits(teacher, tokenizer, info, data, printer=printer)
        if extra:
            data, logits["train"] = _extended(data, *extra), np.concatenate(
                [logits["train"], extra[2]])
        return train(student, data, t, verbose, objective=logit_objective(data, logits, t)), \
            section
    if extra:
        data = _extended(data, *extra)
    from .intermediate import distill_intermediate

    t = dataclasses.replace(
        t, distill_hidden_weight=t.distill_hidden_weight if "hidden" in t.distill else 0.0,
        distill_attention_weight=t.distill_attention_weight if "attention" in t.distill else 0.0)
    result, pairs = distill_intermediate(student, teacher, data, t, int(info.get("pad_id", 0)),
                                         verbose, printer)
    section.update(hidden_weight=t.distill_hidden_weight,
                   attention_weight=t.distill_attention_weight, layer_map=pairs)
    return result, section


def _transfer_set(data: Dataset, teacher, tokenizer, info: dict, t, printer):
    """(student ids, texts, teacher logits) of ``t.distill_augment`` x the training set of
    augmented texts (:mod:`.augment`)."""
    from ..data.batching import predict_bucketed
    from ..data.tokenize import encode
    from ..errors import QTError
    from .augment import augment_texts

    if data.texts is None or data.tokenizer is None:
        raise QTError("--distill-augment needs a text data set")
    count = int(round(t.distill_augment * len(data.y_train)))
    texts = augment_texts([str(s) for s in data.texts["train"]], count, t.seed)
    printer(f"[distill] transfer set: {count} augmented texts (concatenated, masked, n-gram) "
            "labelled by the teacher", flush=True)
    logits = predict_bucketed(teacher, encode(tokenizer, texts, int(info["seq_len"])),
                              int(info.get("pad_id", 0)))
    return encode(data.tokenizer, texts, data.seq_len), texts, logits


def _extended(data: Dataset, x, texts, logits) -> Dataset:
    """``data`` with the transfer set appended to its training split (hard labels: the
    teacher's argmax, for the label part of the loss)."""
    return dataclasses.replace(
        data, x_train=np.concatenate([data.x_train, x]),
        y_train=np.concatenate([data.y_train, logits.argmax(-1).astype(data.y_train.dtype)]),
        texts={**data.texts, "train": np.concatenate([data.texts["train"], texts])})
