"""The fine-tuned teacher (``python -m qtransformer.bert finetune``): loading it, checking it
fits the student's data, and its logits on the training and validation texts.

For logit distillation the teacher runs once over the texts (on the host, float, batches cut
to their longest sentence) with its own tokenizer, so the student may use any vocabulary.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import QTError, read_json_object

if TYPE_CHECKING:
    import numpy as np

    from ..config import BuildConfig
    from ..data import Dataset

TEACHER_VOCAB_PARTS = ("embedding", "hidden", "attention")   # need the same token ids


def teacher_info(directory: str | Path) -> dict:
    """``teacher.json`` of a teacher run directory, after checking the directory holds one."""
    directory = Path(directory)
    meta = directory / "teacher.json"
    if not directory.is_dir():
        raise QTError(f"teacher directory not found: {directory}")
    missing = [f for f in ("model.h5", "teacher.json", "vocab.txt")
               if not (directory / f).is_file()]
    if missing:
        raise QTError(f"{directory}: not a fine-tuned teacher (missing {', '.join(missing)}; "
                      "make one with 'python -m qtransformer.bert finetune')")
    info = read_json_object(meta)
    for key in ("seq_len", "class_names"):
        if key not in info:
            raise QTError(f"{meta}: missing field {key}")
    return info


def resolve_teacher(cfg: BuildConfig) -> None:
    """Check ``cfg.teacher`` and ``cfg.embedding_from`` before any training, and give the
    student their vocabulary where the same token ids are needed."""
    if cfg.embedding_from:
        _resolve_embedding_from(cfg)
    if not cfg.teacher:
        if cfg.train.distill != ["logits"] or cfg.train.distill_augment:
            raise QTError("--distill / --distill-augment need --teacher")
        return
    info = teacher_info(cfg.teacher)
    # the teacher labels whole texts (and the transfer set is of whole texts): one row each
    if (cfg.data.windows or 1) > 1:
        raise QTError(f"--windows {cfg.data.windows} with --teacher: distillation labels "
                      "whole texts; leave --windows out (1 with a teacher)")
    cfg.data.windows = 1
    if {"hidden", "attention"} & set(cfg.train.distill):
        # the student's positions pair with the teacher's: no longer than its sequence
        cap = int(info["seq_len"])
        cfg.data.max_seq_len = min(cfg.data.max_seq_len or cap, cap)
    if set(TEACHER_VOCAB_PARTS) & set(cfg.train.distill):
        _use_vocab(cfg, Path(cfg.teacher) / "vocab.txt",
                   f"--distill {','.join(cfg.train.distill)} needs the teacher's vocabulary")


def _resolve_embedding_from(cfg: BuildConfig) -> None:
    from ..bert.checkpoint import check_checkpoint

    if cfg.teacher and "embedding" in cfg.train.distill:
        raise QTError("--embedding-from and --distill embedding both set the embedding tables: "
                      "give one")
    try:
        spec, vocab = check_checkpoint(cfg.embedding_from)
    except QTError as exc:
        raise QTError(f"--embedding-from: {exc}") from None
    if cfg.model.d_model > spec.hidden_size:
        raise QTError(f"--embedding-from: d_model {cfg.model.d_model} exceeds the checkpoint's "
                      f"hidden size {spec.hidden_size} (its principal directions)")
    _use_vocab(cfg, vocab, "--embedding-from needs the checkpoint's vocabulary")


def _use_vocab(cfg: BuildConfig, vocab: Path, why: str) -> None:
    """Tokenize with ``vocab``; a different ``--vocab-file`` is an error."""
    if cfg.data.vocab_file is None:
        cfg.data.vocab_file = str(vocab)
    elif not Path(cfg.data.vocab_file).is_file():
        raise QTError(f"vocabulary file not found: {cfg.data.vocab_file}")
    elif Path(cfg.data.vocab_file).read_bytes() != vocab.read_bytes():
        raise QTError(f"{why} ({vocab}), not {cfg.data.vocab_file}")


def load_teacher(directory: str | Path):
    """``(keras model, tokenizer, teacher.json)`` of a teacher run directory."""
    from ..data.tokenize import load_tokenizer
    from ..model import load_model

    info = teacher_info(directory)
    try:
        model = load_model(Path(directory) / "model.h5")
    except (OSError, ValueError, KeyError) as exc:
        raise QTError(f"{directory}/model.h5: cannot load the teacher ({exc})") from None
    return model, load_tokenizer(Path(directory) / "vocab.txt"), info


def check_classes(info: dict, data: Dataset) -> None:
    if info["class_names"] != data.class_names:
        raise QTError(f"teacher classes {info['class_names']} differ from the data's "
                      f"{data.class_names}")


def teacher_logits(model, tok, info: dict, data: Dataset, batch_size: int = 128,
                   printer=print) -> dict[str, np.ndarray]:
    """Teacher logits for the train and val texts of a text Dataset (``model``, ``tok``,
    ``info`` as :func:`load_teacher` returns them), each text in the teacher's tokenization."""
    from ..data.batching import predict_bucketed
    from ..data.tokenize import encode

    if data.texts is None:
        raise QTError("distillation needs a text data set (the teacher reads the raw text)")
    out = {}
    for split in ("train", "val"):
        ids = encode(tok, list(data.texts[split]), int(info["seq_len"]))
        printer(f"[distill] teacher logits for {len(ids)} {split} examples", flush=True)
        out[split] = predict_bucketed(model, ids, int(info.get("pad_id", 0)), batch_size)
    return out
