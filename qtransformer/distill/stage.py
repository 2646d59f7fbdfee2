"""The build's training stage when a teacher is given: embedding transfer, then either logit
distillation on precomputed teacher logits (cheap, any student vocabulary) or logit + hidden +
attention distillation with the teacher on the fly (the teacher's vocabulary)."""

from __future__ import annotations

import dataclasses

from ..config import BuildConfig
from ..data import Dataset
from ..train import TrainResult, train


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
    if not t.intermediate_distillation():
        logits = teacher_logits(teacher, tokenizer, info, data, printer=printer)
        return train(student, data, t, verbose, teacher=logits), section
    from .intermediate import distill_intermediate

    t = dataclasses.replace(
        t, distill_hidden_weight=t.distill_hidden_weight if "hidden" in t.distill else 0.0,
        distill_attention_weight=t.distill_attention_weight if "attention" in t.distill else 0.0)
    result, pairs = distill_intermediate(student, teacher, data, t, int(info.get("pad_id", 0)),
                                         verbose, printer)
    section.update(hidden_weight=t.distill_hidden_weight,
                   attention_weight=t.distill_attention_weight, layer_map=pairs)
    return result, section
